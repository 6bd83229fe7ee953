//! The I/O thread's loop: poll, dispatch socket readiness, run commands
//! from Tcl threads, fire timers.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};

use super::conn::Conn;
use super::connect::{Connecting, Done};
use super::mailbox::Event;
use super::queue::{Cmd, Queue, BATCH_POLL, WAKER};
use super::request::Registration;
use super::timers::Timers;
use super::transport::{TlsSession, Transport};
use super::types::{ConnId, Shared, Stream};
use crate::protocol::close;

const READ_BUF: usize = 64 * 1024;
/// After the number of connections fell to half of a peak of at least
/// this many, the engine gives memory back ...
const RELEASE_PEAK: usize = 256;
/// ... this long after (Tcl threads free their part meanwhile).
const RELEASE_DELAY: Duration = Duration::from_secs(2);
/// The timer id of that release (connection ids start at 1).
const RELEASE: ConnId = ConnId(0);

static RELEASE_MEMORY: OnceLock<fn()> = OnceLock::new();

/// How the engine gives freed memory back to the system once many
/// connections have ended (the allocator keeps it otherwise). The Tcl
/// layer supplies it, as it calls into the C library.
pub fn set_release_memory(f: fn()) {
    let _ = RELEASE_MEMORY.set(f);
}

struct Loop {
    poll: Poll,
    conns: HashMap<ConnId, Conn>,
    timers: Timers,
    buf: Vec<u8>,
    /// Connections whose read budget ran out: read again without waiting.
    again: Vec<ConnId>,
    /// Connections given frames by the current batch of commands.
    dirty: Vec<ConnId>,
    /// Client connections still opening (`::websocket::open`).
    connecting: Connecting,
    /// Most connections served at once since memory was last released.
    peak: usize,
    release_armed: bool,
}

/// Runs the loop until a `Shutdown` command, taking commands from `queue`.
pub(super) fn run(poll: Poll, queue: &'static Queue) {
    let mut lp = Loop {
        poll,
        conns: HashMap::new(),
        timers: Timers::default(),
        buf: vec![0; READ_BUF],
        again: Vec::new(),
        dirty: Vec::new(),
        connecting: Connecting::new(queue),
        peak: 0,
        release_armed: false,
    };
    let mut events = Events::with_capacity(1024);
    let mut cmds = Vec::new();
    let mut expired = Vec::new();
    let mut again = Vec::new();
    loop {
        let before = Instant::now();
        let batching = queue.batching(before);
        let timeout = if !lp.again.is_empty() {
            Some(Duration::ZERO)
        } else if batching {
            let t = lp.timers.next_timeout(before);
            Some(t.map_or(BATCH_POLL, |t| t.min(BATCH_POLL)))
        } else {
            lp.timers.next_timeout(before)
        };
        #[cfg(feature = "fault-injection")]
        let polled = match super::fault::poll_result() {
            Some(e) => Err(e),
            None => lp.poll.poll(&mut events, timeout),
        };
        #[cfg(not(feature = "fault-injection"))]
        let polled = lp.poll.poll(&mut events, timeout);
        if let Err(e) = polled {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            log::error!("I/O thread: poll failed: {e}");
            panic!("websocket I/O poll failed: {e}");
        }
        let now = Instant::now();
        let mut woken = false;
        for ev in events.iter() {
            if ev.token() == WAKER {
                woken = true;
                continue;
            }
            let id = ConnId(ev.token().0 as u64);
            let closing = ev.is_read_closed() || ev.is_error();
            let readable = ev.is_readable() || closing;
            let writable = ev.is_writable();
            if lp.connecting.has(id) {
                let reg = lp.poll.registry();
                let done = lp
                    .connecting
                    .ready(id, readable, writable, now, reg, &mut lp.timers);
                lp.connected(done, now);
                continue;
            }
            lp.with(id, |c, lp| {
                if closing {
                    c.peer_closing();
                }
                if writable {
                    c.flush();
                }
                if readable && c.on_readable(now, &mut lp.buf) {
                    lp.again.push(id);
                }
            });
        }
        std::mem::swap(&mut again, &mut lp.again);
        for id in again.drain(..) {
            lp.with(id, |c, lp| {
                if c.on_readable(now, &mut lp.buf) {
                    lp.again.push(id);
                }
            });
        }
        if woken || batching || queue.batching(now) {
            queue.take_cmds(&mut cmds);
            for cmd in cmds.drain(..) {
                if lp.command(cmd, now) {
                    lp.shutdown();
                    return;
                }
            }
            let mut dirty = std::mem::take(&mut lp.dirty);
            for id in dirty.drain(..) {
                lp.with(id, |_, _| {}); // flushes
            }
            lp.dirty = dirty;
        }
        lp.timers.expired(now, &mut expired);
        for id in expired.drain(..) {
            if id == RELEASE {
                lp.release_memory();
                continue;
            }
            if lp.connecting.has(id) {
                let done = lp
                    .connecting
                    .timer(id, now, lp.poll.registry(), &mut lp.timers);
                lp.connected(done, now);
                continue;
            }
            lp.with(id, |c, _| c.on_timer(now));
        }
    }
}

impl Loop {
    /// Runs `f` on a connection, then delivers its events, arms its next
    /// deadline, and removes it if it died.
    fn with(&mut self, id: ConnId, f: impl FnOnce(&mut Conn, &mut Loop)) {
        let Some(mut c) = self.conns.remove(&id) else {
            return;
        };
        f(&mut c, self);
        c.flush();
        c.deliver();
        c.arm(&mut self.timers);
        if c.take_unblocked() {
            self.again.push(id);
        }
        if c.is_dead() {
            let _ = self.poll.registry().deregister(&mut c.stream);
            c.finish();
            drop(c);
            self.ended();
        } else {
            self.conns.insert(id, c);
        }
    }

    /// A connection ended: once many have, plan to give memory back.
    fn ended(&mut self) {
        if !self.release_armed && self.peak >= RELEASE_PEAK && self.conns.len() <= self.peak / 2 {
            self.release_armed = true;
            self.timers.add(Instant::now() + RELEASE_DELAY, RELEASE);
        }
    }

    /// Shrinks the tables to what is left, and has the allocator return
    /// its free memory to the system.
    fn release_memory(&mut self) {
        self.release_armed = false;
        self.conns.shrink_to(self.conns.len() * 2);
        self.timers.shrink();
        self.peak = self.conns.len();
        super::pool::clear();
        if let Some(f) = RELEASE_MEMORY.get() {
            f();
        }
    }

    /// Runs one command; true for shutdown.
    fn command(&mut self, cmd: Cmd, now: Instant) -> bool {
        match cmd {
            Cmd::Register(id, shared, reg) => self.register(id, shared, *reg, None, now),
            // A connection already gone drops the frame; its Tcl side hears so.
            // Queued only; flushed after the whole batch (see `run`).
            Cmd::SendData(id, fin, opcode, payload) => {
                if let Some(c) = self.conns.get_mut(&id) {
                    c.send_data(fin, opcode, payload, now);
                    if self.dirty.last() != Some(&id) {
                        self.dirty.push(id);
                    }
                }
            }
            Cmd::Send(id, frame) => {
                #[cfg(feature = "fault-injection")]
                super::fault::on_send(&frame);
                if let Some(c) = self.conns.get_mut(&id) {
                    c.send(frame, now);
                    if self.dirty.last() != Some(&id) {
                        self.dirty.push(id);
                    }
                }
            }
            Cmd::Close(id, payload) => {
                self.connecting.abort(id, self.poll.registry());
                self.with(id, |c, _| c.close(payload, now))
            }
            Cmd::Configure(id, opts) if self.connecting.has(id) => {
                self.connecting.configure(id, *opts)
            }
            Cmd::Configure(id, opts) => self.with(id, |c, _| c.configure(*opts, now)),
            Cmd::Abort(id) => {
                self.connecting.abort(id, self.poll.registry());
                self.with(id, |c, _| c.abort())
            }
            Cmd::Connect(id, shared, req) => {
                let reg = self.poll.registry();
                self.connecting
                    .start(id, shared, req, now, reg, &mut self.timers);
            }
            Cmd::Connecting(id, input) => {
                let reg = self.poll.registry();
                let done = self.connecting.input(id, input, now, reg, &mut self.timers);
                self.connected(done, now);
            }
            Cmd::Release(id) => self.with(id, |c, _| c.release(now)),
            Cmd::Resume(id) => self.with(id, |c, lp| {
                if c.resume(now, &mut lp.buf) {
                    lp.again.push(id);
                }
            }),
            Cmd::Input(id, data, eof) => self.with(id, |c, lp| {
                c.bridge_input(&data, eof);
                if c.on_readable(now, &mut lp.buf) {
                    lp.again.push(id);
                }
            }),
            // `with` writes what now fits.
            Cmd::Wrote(id) => self.with(id, |_, _| {}),
            Cmd::Shutdown => return true,
        }
        false
    }

    /// Starts serving a connection (over TLS when a session is given).
    fn register(
        &mut self,
        id: ConnId,
        shared: Arc<Shared>,
        mut reg: Registration,
        tls: Option<Box<TlsSession>>,
        now: Instant,
    ) {
        let stream = std::mem::replace(&mut reg.stream, Stream::Bridge);
        let (transport, out) = match stream {
            Stream::Tcp(s) => match Conn::transport(s, tls) {
                Ok(t) => (t, VecDeque::new()),
                Err(e) => {
                    log::warn!(conn = id.0; "I/O thread cannot take the socket: {e}");
                    return;
                }
            },
            Stream::Bridge => (Transport::bridge(shared.clone()), VecDeque::new()),
            Stream::Adopt(old) => match self.conns.remove(&old) {
                Some(mut c) if c.movable() => {
                    let _ = self.poll.registry().deregister(&mut c.stream);
                    c.into_moved()
                }
                gone => {
                    // Ended meanwhile: the new connection ends as a
                    // vanished peer does.
                    if let Some(mut c) = gone {
                        let _ = self.poll.registry().deregister(&mut c.stream);
                        c.finish();
                    }
                    let closed = Event::Closed {
                        code: Some(1001),
                        reason: close::default_reason(1001),
                    };
                    reg.mailbox.push_all(vec![(id, closed)]);
                    return;
                }
            },
        };
        let mut conn = Conn::new(id, shared, reg, transport, out, now);
        let token = Token(id.0 as usize);
        if self
            .poll
            .registry()
            .register(
                &mut conn.stream,
                token,
                Interest::READABLE | Interest::WRITABLE,
            )
            .is_err()
        {
            log::warn!(conn = id.0; "I/O thread cannot poll the socket: connection dropped");
            conn.finish();
            return;
        }
        conn.schedule_keepalive(now);
        self.conns.insert(id, conn);
        self.peak = self.peak.max(self.conns.len());
        // Readiness is edge-triggered: read what is already there.
        self.with(id, |c, lp| {
            if c.on_readable(now, &mut lp.buf) {
                lp.again.push(id);
            }
        });
    }

    /// A client connection finished its handshake: serve it like any other.
    fn connected(&mut self, done: Option<Done>, now: Instant) {
        if let Some((id, shared, reg, tls)) = done {
            self.register(id, shared, *reg, tls, now);
        }
    }

    /// Process exit: push out what is queued, without waiting on anyone.
    fn shutdown(&mut self) {
        self.connecting.clear(self.poll.registry());
        for (_, mut c) in self.conns.drain() {
            c.unbound_bridge();
            c.flush();
            c.finish();
        }
    }
}
