//! WebSocket load generator for `make bench`, built on tungstenite (an
//! implementation independent of the package under test) and mio.
//!
//! Echo mode (the default): N connections, each keeping K messages of S
//! bytes in flight against an echo server, for a warm-up then a measured
//! window; prints one `RESULT key=value ...` line with messages/s, MiB/s
//! (echoed payload, one direction) and round-trip latency percentiles.
//!
//!   ws-loadgen --url ws://127.0.0.1:PORT/echo [--conns N] [--size S]
//!              [--inflight K] [--mode binary|text] [--duration SECS]
//!              [--warmup SECS] [--threads T] [--max-msgs M]
//!              [--stall-bytes B] [--stall-size S] [--pending-as-latency]
//!
//! The connections are spread over `--threads` threads (default: 4, or
//! fewer connections), each with its own poller; `bench/run.sh` checks
//! that the native server's figure does not rise with more.
//!
//! `--stall-bytes B` adds one more connection that sends B bytes of
//! `--stall-size` messages and never reads: the server keeps sending its
//! echoes to a peer that does not read (the isolation test). With
//! `--pending-as-latency` the messages still unanswered at the end count
//! in the percentiles with their age, so a frozen server shows.
//!
//! `--cpu-pid PID` adds the CPU time per message, over the measured window,
//! of process PID (the server) and of the generator itself, and the share
//! of the machine's CPU left idle (`server_cpu_us`, `gen_cpu_us`,
//! `idle_pct`): where the two share the cores, the server's CPU per message
//! bounds its rate.
//!
//! Idle mode: `--idle N --rss-pid PID` opens one connection and echoes a
//! message (so the server has done its one-time set-up), reads PID's RSS,
//! opens N idle connections, waits `--settle` seconds, reads the RSS again
//! and prints the difference per connection.
//!
//! Every loop is bounded: by the duration, by `--max-msgs` sends in all,
//! and by connect/handshake timeouts.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Bytes, Error, Message, Utf8Bytes, WebSocket};

mod hist;
use hist::Histogram;

#[derive(Clone, Debug)]
struct Opts {
    url: String,
    conns: usize,
    size: usize,
    inflight: usize,
    text: bool,
    duration: Duration,
    warmup: Duration,
    threads: usize,
    max_msgs: u64,
    stall_bytes: usize,
    stall_size: usize,
    pending_as_latency: bool,
    idle: usize,
    rss_pid: Option<u32>,
    cpu_pid: Option<u32>,
    settle: Duration,
    connect_timeout: Duration,
}

impl Default for Opts {
    fn default() -> Self {
        Opts {
            url: String::new(),
            conns: 1,
            size: 16,
            inflight: 1,
            text: false,
            duration: Duration::from_secs(2),
            warmup: Duration::from_millis(500),
            threads: 0,
            max_msgs: 20_000_000,
            stall_bytes: 0,
            stall_size: 64 * 1024,
            pending_as_latency: false,
            idle: 0,
            rss_pid: None,
            cpu_pid: None,
            settle: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

const USAGE: &str = "usage: ws-loadgen --url ws://HOST:PORT/PATH [--conns N] [--size S] \
[--inflight K] [--mode binary|text] [--duration SECS] [--warmup SECS] [--threads T] \
[--max-msgs M] [--stall-bytes B] [--stall-size S] [--pending-as-latency] \
[--idle N --rss-pid PID [--settle SECS]] [--cpu-pid PID] [--connect-timeout SECS]";

fn main() {
    let opts = match parse_args(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("ws-loadgen: {e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let code = if opts.idle > 0 {
        idle(&opts)
    } else {
        echo(&opts)
    };
    std::process::exit(code);
}

fn parse_size(s: &str) -> Result<usize, String> {
    let lower = s.to_ascii_lowercase();
    let (num, mult) = if let Some(n) = lower
        .strip_suffix("kib")
        .or_else(|| lower.strip_suffix('k'))
    {
        (n, 1024)
    } else if let Some(n) = lower
        .strip_suffix("mib")
        .or_else(|| lower.strip_suffix('m'))
    {
        (n, 1024 * 1024)
    } else {
        (lower.as_str(), 1)
    };
    num.trim()
        .parse::<usize>()
        .map(|n| n * mult)
        .map_err(|_| format!("bad size {s:?}"))
}

fn parse_secs(s: &str) -> Result<Duration, String> {
    s.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0 && *v <= 3600.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("bad duration {s:?}"))
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Opts, String> {
    let mut o = Opts::default();
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--url" => o.url = val()?,
            "--conns" => o.conns = val()?.parse().map_err(|_| "bad --conns")?,
            "--size" => o.size = parse_size(&val()?)?,
            "--inflight" => o.inflight = val()?.parse().map_err(|_| "bad --inflight")?,
            "--mode" => {
                o.text = match val()?.as_str() {
                    "text" => true,
                    "binary" => false,
                    m => return Err(format!("bad --mode {m:?}")),
                }
            }
            "--duration" => o.duration = parse_secs(&val()?)?,
            "--warmup" => o.warmup = parse_secs(&val()?)?,
            "--threads" => o.threads = val()?.parse().map_err(|_| "bad --threads")?,
            "--max-msgs" => o.max_msgs = val()?.parse().map_err(|_| "bad --max-msgs")?,
            "--stall-bytes" => o.stall_bytes = parse_size(&val()?)?,
            "--stall-size" => o.stall_size = parse_size(&val()?)?,
            "--pending-as-latency" => o.pending_as_latency = true,
            "--idle" => o.idle = val()?.parse().map_err(|_| "bad --idle")?,
            "--rss-pid" => o.rss_pid = Some(val()?.parse().map_err(|_| "bad --rss-pid")?),
            "--cpu-pid" => o.cpu_pid = Some(val()?.parse().map_err(|_| "bad --cpu-pid")?),
            "--settle" => o.settle = parse_secs(&val()?)?,
            "--connect-timeout" => o.connect_timeout = parse_secs(&val()?)?,
            "-h" | "--help" => return Err("help".into()),
            _ => return Err(format!("unknown option {a}")),
        }
    }
    if o.url.is_empty() {
        return Err("--url is required".into());
    }
    if o.conns == 0 || o.conns > 10_000 || o.idle > 10_000 {
        return Err("--conns and --idle must be 1..10000".into());
    }
    if o.inflight == 0 || o.inflight > 1024 || o.stall_size == 0 {
        return Err("--inflight must be 1..1024, --stall-size positive".into());
    }
    if o.size > 64 << 20 {
        return Err("--size at most 64 MiB".into());
    }
    Ok(o)
}

/// The `host:port` of a `ws://` URL.
fn url_addr(url: &str) -> Result<SocketAddr, String> {
    let rest = url
        .strip_prefix("ws://")
        .ok_or_else(|| format!("not a ws:// URL: {url}"))?;
    let hostport = rest.split('/').next().unwrap_or(rest);
    let hostport = if hostport.contains(':') {
        hostport.to_string()
    } else {
        format!("{hostport}:80")
    };
    hostport
        .to_socket_addrs()
        .map_err(|e| format!("{hostport}: {e}"))?
        .next()
        .ok_or_else(|| format!("{hostport}: no address"))
}

fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(64 << 20))
        .max_frame_size(Some(64 << 20))
}

/// Opens one WebSocket with a blocking, time-bounded handshake.
fn connect(o: &Opts, addr: SocketAddr) -> Result<WebSocket<TcpStream>, String> {
    let stream = TcpStream::connect_timeout(&addr, o.connect_timeout)
        .map_err(|e| format!("connect {addr}: {e}"))?;
    let _ = stream.set_nodelay(true);
    stream
        .set_read_timeout(Some(o.connect_timeout))
        .and_then(|_| stream.set_write_timeout(Some(o.connect_timeout)))
        .map_err(|e| e.to_string())?;
    let (ws, _resp) =
        tungstenite::client::client_with_config(o.url.as_str(), stream, Some(ws_config()))
            .map_err(|e| format!("handshake with {}: {e}", o.url))?;
    Ok(ws)
}

fn payload(o: &Opts, size: usize) -> Message {
    let bytes: Vec<u8> = (0..size).map(|i| b'a' + (i % 26) as u8).collect();
    if o.text {
        Message::Text(Utf8Bytes::try_from(bytes).expect("ASCII is UTF-8"))
    } else {
        Message::Binary(Bytes::from(bytes))
    }
}

fn is_would_block(e: &Error) -> bool {
    matches!(e, Error::Io(io) if io.kind() == io::ErrorKind::WouldBlock)
}

// ---------------------------------------------------------------- echo

struct Conn {
    ws: WebSocket<TcpStream>,
    /// Send times of the messages not yet echoed, oldest first.
    pending: VecDeque<Instant>,
    /// Messages to hand to tungstenite as soon as its buffer drains.
    to_send: usize,
    sent: u64,
    cap: u64,
    /// A connection that sends and never reads.
    stall: bool,
    stall_left: usize,
    dead: bool,
}

#[derive(Default)]
struct Stats {
    msgs: u64,
    bytes: u64,
    errors: u64,
    pending: u64,
    hist: Histogram,
    first_error: Option<String>,
}

impl Stats {
    fn error(&mut self, e: String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(e);
        }
    }

    fn merge(&mut self, o: Stats) {
        self.msgs += o.msgs;
        self.bytes += o.bytes;
        self.errors += o.errors;
        self.pending += o.pending;
        self.hist.merge(&o.hist);
        if self.first_error.is_none() {
            self.first_error = o.first_error;
        }
    }
}

struct Window {
    warm_end: Instant,
    end: Instant,
}

fn echo(o: &Opts) -> i32 {
    let addr = match url_addr(&o.url) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("ws-loadgen: {e}");
            return 1;
        }
    };
    let total = o.conns + usize::from(o.stall_bytes > 0);
    let mut conns = Vec::with_capacity(total);
    for i in 0..total {
        match connect(o, addr) {
            Ok(ws) => conns.push((i, ws)),
            Err(e) => {
                println!("RESULT error=connect conns_ok={i} detail={:?}", e);
                return 1;
            }
        }
    }
    let threads = if o.threads == 0 {
        total.min(4)
    } else {
        o.threads.min(total)
    };
    let cap = (o.max_msgs / o.conns as u64).max(1);
    let mut groups: Vec<Vec<Conn>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, ws) in conns {
        let stall = i >= o.conns;
        groups[i % threads].push(Conn {
            ws,
            pending: VecDeque::new(),
            to_send: if stall { 0 } else { o.inflight },
            sent: 0,
            cap,
            stall,
            stall_left: if stall { o.stall_bytes } else { 0 },
            dead: false,
        });
    }
    let msg = payload(o, o.size);
    let stall_msg = payload(o, o.stall_size);
    let start = Instant::now();
    let win = Window {
        warm_end: start + o.warmup,
        end: start + o.warmup + o.duration,
    };
    let mut stats = Stats::default();
    let mut cpu = None;
    std::thread::scope(|s| {
        let w = &win;
        let sampler = o.cpu_pid.map(|pid| s.spawn(move || cpu_window(pid, w)));
        let handles: Vec<_> = groups
            .into_iter()
            .map(|g| {
                let (msg, stall_msg, win) = (&msg, &stall_msg, &win);
                s.spawn(move || worker(o, g, msg, stall_msg, win))
            })
            .collect();
        for h in handles {
            match h.join() {
                Ok(st) => stats.merge(st),
                Err(_) => stats.error("worker panicked".into()),
            }
        }
        cpu = sampler.and_then(|h| h.join().ok().flatten());
    });
    let secs = o.duration.as_secs_f64();
    let mut line = format!(
        "RESULT conns={} size={} inflight={} mode={} secs={:.3} msgs={} msgs_s={:.1} mib_s={:.3} \
         p50_us={} p99_us={} max_us={} pending={} errors={}",
        o.conns,
        o.size,
        o.inflight,
        if o.text { "text" } else { "binary" },
        secs,
        stats.msgs,
        stats.msgs as f64 / secs,
        stats.bytes as f64 / secs / (1024.0 * 1024.0),
        stats.hist.quantile(0.50),
        stats.hist.quantile(0.99),
        stats.hist.max(),
        stats.pending,
        stats.errors,
    );
    if let (Some(c), true) = (cpu, stats.msgs > 0) {
        let per_msg = |ticks: u64| ticks as f64 * TICK_US / stats.msgs as f64;
        line.push_str(&format!(
            " server_cpu_us={:.2} gen_cpu_us={:.2} idle_pct={:.1}",
            per_msg(c.server),
            per_msg(c.gen),
            c.idle * 100.0
        ));
    }
    if let Some(e) = &stats.first_error {
        line.push_str(&format!(" first_error={e:?}"));
    }
    println!("{line}");
    i32::from(stats.msgs == 0)
}

fn worker(
    o: &Opts,
    mut conns: Vec<Conn>,
    msg: &Message,
    stall_msg: &Message,
    win: &Window,
) -> Stats {
    let mut st = Stats::default();
    let mut poll = match Poll::new() {
        Ok(p) => p,
        Err(e) => {
            st.error(format!("poll: {e}"));
            return st;
        }
    };
    for (i, c) in conns.iter_mut().enumerate() {
        let sock = c.ws.get_mut();
        let fd = sock.as_raw_fd();
        let r = sock
            .set_read_timeout(None)
            .and_then(|_| sock.set_write_timeout(None))
            .and_then(|_| sock.set_nonblocking(true))
            .and_then(|_| {
                poll.registry().register(
                    &mut SourceFd(&fd),
                    Token(i),
                    Interest::READABLE | Interest::WRITABLE,
                )
            });
        if let Err(e) = r {
            st.error(format!("register: {e}"));
            c.dead = true;
        }
    }
    // Start everyone sending.
    let now = Instant::now();
    for c in conns.iter_mut() {
        pump(c, msg, stall_msg, now, win, &mut st);
    }
    let mut events = Events::with_capacity(256);
    loop {
        let now = Instant::now();
        // Done early once every connection sent its share (--max-msgs)
        // and heard every echo.
        let spent = |c: &Conn| c.dead || (!c.stall && c.sent >= c.cap && c.pending.is_empty());
        if now >= win.end || conns.iter().all(spent) {
            break;
        }
        let wait = (win.end - now).min(Duration::from_millis(100));
        if let Err(e) = poll.poll(&mut events, Some(wait)) {
            if e.kind() != io::ErrorKind::Interrupted {
                st.error(format!("poll: {e}"));
                break;
            }
        }
        for ev in events.iter() {
            let Some(c) = conns.get_mut(ev.token().0) else {
                continue;
            };
            if c.dead {
                continue;
            }
            if !c.stall {
                receive(o, c, win, &mut st);
            }
            if !c.dead {
                pump(c, msg, stall_msg, Instant::now(), win, &mut st);
            }
        }
    }
    let end = win.end;
    for c in conns.iter_mut() {
        if c.stall {
            continue;
        }
        st.pending += c.pending.len() as u64;
        if o.pending_as_latency {
            for t in &c.pending {
                st.hist.record(end.saturating_duration_since(*t));
            }
        }
        // Best effort goodbye; nobody waits for the answer.
        if !c.dead {
            let _ = c.ws.close(None);
            let _ = c.ws.flush();
        }
    }
    st
}

/// Reads every echo the socket has.
fn receive(o: &Opts, c: &mut Conn, win: &Window, st: &mut Stats) {
    loop {
        match c.ws.read() {
            Ok(Message::Text(t)) => echoed(o, c, t.len(), win, st),
            Ok(Message::Binary(b)) => echoed(o, c, b.len(), win, st),
            Ok(_) => {}
            Err(e) if is_would_block(&e) => return,
            Err(e) => {
                st.error(format!("read: {e}"));
                c.dead = true;
                return;
            }
        }
    }
}

fn echoed(o: &Opts, c: &mut Conn, len: usize, win: &Window, st: &mut Stats) {
    let now = Instant::now();
    let Some(sent) = c.pending.pop_front() else {
        st.error("an echo nobody asked for".into());
        return;
    };
    if len != o.size {
        st.error(format!("echo of {len} bytes, sent {}", o.size));
    }
    if now >= win.warm_end && now < win.end {
        st.msgs += 1;
        st.bytes += len as u64;
        st.hist.record(now - sent);
    }
    if now < win.end {
        c.to_send += 1;
    }
}

/// Hands tungstenite what this connection owes, then flushes once (the
/// stalling connection: one message per flush, so its buffer stays small).
fn pump(
    c: &mut Conn,
    msg: &Message,
    stall_msg: &Message,
    now: Instant,
    win: &Window,
    st: &mut Stats,
) {
    loop {
        loop {
            let m = if c.stall {
                if c.stall_left == 0 {
                    break;
                }
                c.stall_left = c.stall_left.saturating_sub(stall_msg.len());
                stall_msg.clone()
            } else {
                if c.to_send == 0 || c.sent >= c.cap || now >= win.end {
                    break;
                }
                c.to_send -= 1;
                c.sent += 1;
                c.pending.push_back(now);
                msg.clone()
            };
            match c.ws.write(m) {
                Ok(()) if c.stall => break,
                Ok(()) => {}
                // Buffered: the rest goes out when the socket is writable.
                Err(e) if is_would_block(&e) => return,
                Err(e) => {
                    st.error(format!("write: {e}"));
                    c.dead = true;
                    return;
                }
            }
        }
        match c.ws.flush() {
            Ok(()) if c.stall && c.stall_left > 0 => continue,
            Ok(()) => return,
            Err(e) if is_would_block(&e) => return,
            Err(e) => {
                st.error(format!("write: {e}"));
                c.dead = true;
                return;
            }
        }
    }
}

// ---------------------------------------------------------------- idle

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Linux's /proc counts CPU time in ticks of 10 ms (USER_HZ).
const TICK_US: f64 = 10_000.0;

/// CPU spent in the measured window: the server's and this process's, in
/// ticks, and the share of the machine's CPU time that was idle.
#[derive(Clone, Copy)]
struct CpuWindow {
    server: u64,
    gen: u64,
    idle: f64,
}

/// utime + stime of a process, all its threads, from its /proc/PID/stat.
fn proc_ticks(stat: &str) -> Option<u64> {
    // The fields after the command name (which may hold spaces and
    // parentheses): utime and stime are the 14th and 15th of the line.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// The machine's (idle + iowait, total) ticks over all CPUs, from
/// /proc/stat.
fn machine_ticks(stat: &str) -> Option<(u64, u64)> {
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<u64> = line
        .split_whitespace()
        .take(8)
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    (v.len() == 8).then(|| (v[3] + v[4], v.iter().sum()))
}

/// Samples the CPU counters as the window opens and as it closes (the
/// connections' set-up and warm-up are not in it).
fn cpu_window(pid: u32, win: &Window) -> Option<CpuWindow> {
    let server = format!("/proc/{pid}/stat");
    let read = |path: &str| std::fs::read_to_string(path).ok();
    let sample = || {
        Some((
            proc_ticks(&read(&server)?)?,
            proc_ticks(&read("/proc/self/stat")?)?,
            machine_ticks(&read("/proc/stat")?)?,
        ))
    };
    std::thread::sleep(win.warm_end.saturating_duration_since(Instant::now()));
    let (s0, g0, (i0, t0)) = sample()?;
    std::thread::sleep(win.end.saturating_duration_since(Instant::now()));
    let (s1, g1, (i1, t1)) = sample()?;
    Some(CpuWindow {
        server: s1.checked_sub(s0)?,
        gen: g1.checked_sub(g0)?,
        idle: (i1 - i0) as f64 / ((t1 - t0).max(1)) as f64,
    })
}

fn idle(o: &Opts) -> i32 {
    let addr = match url_addr(&o.url) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("ws-loadgen: {e}");
            return 1;
        }
    };
    // One echo first, so the server's one-time set-up is not counted.
    match connect(o, addr) {
        Ok(mut ws) => {
            let ok = ws.send(payload(o, 16)).is_ok() && ws.read().is_ok();
            let _ = ws.close(None);
            let _ = ws.flush();
            if !ok {
                println!("RESULT error=warmup");
                return 1;
            }
        }
        Err(e) => {
            println!("RESULT error=connect conns_ok=0 detail={e:?}");
            return 1;
        }
    }
    std::thread::sleep(o.settle);
    let before = o.rss_pid.and_then(rss_kib);
    let mut held = Vec::with_capacity(o.idle);
    let started = Instant::now();
    let mut failure = None;
    for i in 0..o.idle {
        match connect(o, addr) {
            Ok(ws) => held.push(ws),
            Err(e) => {
                failure = Some(format!("after {i}: {e}"));
                break;
            }
        }
    }
    let open_secs = started.elapsed().as_secs_f64();
    std::thread::sleep(o.settle);
    let after = o.rss_pid.and_then(rss_kib);
    // Still there? A live idle WebSocket has nothing to say.
    let mut alive = 0;
    for ws in held.iter_mut() {
        let s = ws.get_mut();
        if s.set_nonblocking(true).is_err() {
            continue;
        }
        let mut b = [0u8; 1];
        match s.read(&mut b) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => alive += 1,
            Ok(n) if n > 0 => alive += 1,
            _ => {}
        }
    }
    let (b, a) = (before.unwrap_or(0), after.unwrap_or(0));
    let per_conn = if held.is_empty() {
        0.0
    } else {
        (a as f64 - b as f64) * 1024.0 / held.len() as f64
    };
    let mut line = format!(
        "RESULT idle={} opened={} alive={} open_secs={:.2} rss_before_kib={} rss_after_kib={} per_conn_bytes={:.0}",
        o.idle,
        held.len(),
        alive,
        open_secs,
        b,
        a,
        per_conn
    );
    if let Some(f) = &failure {
        line.push_str(&format!(" error={f:?}"));
    }
    println!("{line}");
    for ws in held.iter_mut() {
        let _ = ws.get_mut().set_nonblocking(false);
        let _ = ws
            .get_mut()
            .set_write_timeout(Some(Duration::from_millis(100)));
        let _ = ws.close(None);
        let _ = ws.flush();
    }
    let _ = io::stdout().flush();
    i32::from(failure.is_some() || alive < o.idle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_ticks_reads_utime_and_stime_after_any_command_name() {
        let rest = "S 1 2 3 4 5 6 7 8 9 10 120 35 0 0 20 0 3 0";
        assert_eq!(proc_ticks(&format!("42 (tclsh) {rest}")), Some(155));
        assert_eq!(proc_ticks(&format!("42 (a (b) c) {rest}")), Some(155));
        assert_eq!(proc_ticks("42 (tclsh) S 1 2"), None);
        assert_eq!(proc_ticks("garbage"), None);
    }

    #[test]
    fn machine_ticks_sums_the_first_eight_counters() {
        let stat = "cpu  10 1 5 100 4 1 2 3 0 0\ncpu0 5 0 2 50 2 0 1 1 0 0\n";
        assert_eq!(machine_ticks(stat), Some((104, 126)));
        assert_eq!(machine_ticks("cpu  1 2 x 4 5 6 7 8\n"), None);
        assert_eq!(machine_ticks("intr 1 2\n"), None);
    }
}
