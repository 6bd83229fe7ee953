//! Turns the raw lines `bench/run.sh` collects into a markdown report and
//! an SVG chart.
//!
//!   bench-report RESULTS --md OUT.md --svg OUT.svg [--summary SUMMARY.md]
//!
//! RESULTS holds one record a line, `key=value` words (values with spaces
//! in double quotes, Rust-escaped): `kind=meta ...` lines describe the
//! run; `kind=echo|client|idle|isolation server=native|ours|ref ...` lines
//! are measurements (ws-loadgen's or client.tcl's RESULT words), or
//! `skipped="why"`, or `error=...`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs;

type Rec = HashMap<String, String>;

const SERVERS: [&str; 3] = ["native", "ours", "ref"];
const COLORS: [&str; 3] = ["#7f7f7f", "#1f77b4", "#ff7f0e"];
const NAMES: [&str; 3] = [
    "native (Rust, tungstenite)",
    "ours (tclsh + this package)",
    "reference (tclsh + tcllib 1.6)",
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut input = None;
    let (mut md, mut svg, mut summary) = (None, None, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--md" => md = it.next().cloned(),
            "--svg" => svg = it.next().cloned(),
            "--summary" => summary = it.next().cloned(),
            _ if input.is_none() => input = Some(a.clone()),
            _ => {
                eprintln!(
                    "usage: bench-report RESULTS --md OUT.md --svg OUT.svg [--summary OUT.md]"
                );
                std::process::exit(2);
            }
        }
    }
    let Some(input) = input else {
        eprintln!("usage: bench-report RESULTS --md OUT.md --svg OUT.svg [--summary OUT.md]");
        std::process::exit(2);
    };
    let text = fs::read_to_string(&input).unwrap_or_else(|e| {
        eprintln!("bench-report: {input}: {e}");
        std::process::exit(1)
    });
    let recs: Vec<Rec> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(parse_line)
        .collect();
    let r = Report::new(&recs);
    let sum = r.summary();
    let full = r.markdown(&sum, svg.as_deref());
    print!("{sum}");
    if let Some(p) = md {
        write(&p, &full);
    }
    if let Some(p) = summary {
        write(&p, &sum);
    }
    if let Some(p) = svg {
        write(&p, &r.svg());
    }
}

fn write(path: &str, body: &str) {
    if let Err(e) = fs::write(path, body) {
        eprintln!("bench-report: {path}: {e}");
        std::process::exit(1);
    }
}

/// Splits `a=1 b="x y" c=z` into a map; quoted values are unescaped.
fn parse_line(line: &str) -> Rec {
    let mut rec = Rec::new();
    let mut chars = line.trim().chars().peekable();
    loop {
        while chars.peek() == Some(&' ') {
            chars.next();
        }
        let mut key = String::new();
        for c in chars.by_ref() {
            if c == '=' {
                break;
            }
            key.push(c);
        }
        if key.is_empty() {
            break;
        }
        let mut val = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            val.push(match n {
                                'n' => ' ',
                                't' => ' ',
                                other => other,
                            });
                        }
                    }
                    '"' => break,
                    other => val.push(other),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ' ' {
                    break;
                }
                val.push(c);
                chars.next();
            }
        }
        rec.insert(key, val);
    }
    rec
}

fn num(r: &Rec, k: &str) -> Option<f64> {
    r.get(k)?.parse().ok()
}

fn size_label(bytes: usize) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} B")
    }
}

fn fmt_rate(v: f64) -> String {
    if v >= 100_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else if v >= 10_000.0 {
        format!("{:.1}k", v / 1000.0)
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn fmt_us(us: f64) -> String {
    if us >= 1_000_000.0 {
        format!("{:.2} s", us / 1e6)
    } else if us >= 1000.0 {
        format!("{:.1} ms", us / 1000.0)
    } else {
        format!("{us:.0} µs")
    }
}

fn fmt_bytes(b: f64) -> String {
    if b.abs() >= 1024.0 * 1024.0 {
        format!("{:.1} MiB", b / 1048576.0)
    } else if b.abs() >= 1024.0 {
        format!("{:.1} KiB", b / 1024.0)
    } else {
        format!("{b:.0} B")
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 && a >= 0.0 => {
            let r = a / b;
            if r >= 100.0 {
                format!("{r:.0}×")
            } else if r >= 10.0 {
                format!("{r:.1}×")
            } else if r >= 0.1 || r == 0.0 {
                format!("{r:.2}×")
            } else {
                // Three significant digits: 0.0312×, 0.00146×.
                let digits = (-r.log10()).floor() as usize + 3;
                format!("{r:.digits$}×")
            }
        }
        _ => "–".into(),
    }
}

/// One measured cell: a value, or why there is none.
enum Cell {
    Val(Rec),
    Skipped(String),
    Failed(String),
    Missing,
}

impl Cell {
    fn get(&self, k: &str) -> Option<f64> {
        match self {
            Cell::Val(r) => num(r, k),
            _ => None,
        }
    }

    fn show(&self, k: &str, f: impl Fn(f64) -> String) -> String {
        match self {
            Cell::Val(r) => num(r, k).map(f).unwrap_or_else(|| "–".into()),
            Cell::Skipped(_) => "skipped".into(),
            Cell::Failed(_) => "failed".into(),
            Cell::Missing => "–".into(),
        }
    }
}

fn cell(r: Option<&Rec>) -> Cell {
    match r {
        None => Cell::Missing,
        Some(r) => {
            if let Some(s) = r.get("skipped") {
                Cell::Skipped(s.clone())
            } else if let Some(e) = r.get("error") {
                let detail = r
                    .get("detail")
                    .map(|d| format!(": {d}"))
                    .unwrap_or_default();
                Cell::Failed(format!("{e}{detail}"))
            } else {
                Cell::Val(r.clone())
            }
        }
    }
}

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Case {
    conns: usize,
    size: usize,
    mode: String,
    inflight: usize,
}

impl Case {
    fn of(r: &Rec) -> Option<Case> {
        Some(Case {
            conns: r.get("conns")?.parse().ok()?,
            size: r.get("size")?.parse().ok()?,
            mode: r.get("mode")?.clone(),
            inflight: r.get("inflight")?.parse().ok()?,
        })
    }

    fn label(&self) -> String {
        format!(
            "{} × {} {} × {}",
            self.conns,
            size_label(self.size),
            self.mode,
            self.inflight
        )
    }

    fn short(&self) -> String {
        let s = size_label(self.size).replace(' ', "").replace("iB", "");
        format!(
            "{}c {} {} k{}",
            self.conns,
            s,
            &self.mode[..3],
            self.inflight
        )
    }
}

struct Report<'a> {
    meta: Rec,
    recs: &'a [Rec],
}

impl<'a> Report<'a> {
    fn new(recs: &'a [Rec]) -> Self {
        let mut meta = Rec::new();
        for r in recs
            .iter()
            .filter(|r| r.get("kind").map(String::as_str) == Some("meta"))
        {
            for (k, v) in r {
                meta.insert(k.clone(), v.clone());
            }
        }
        Report { meta, recs }
    }

    fn of_kind(&self, kind: &str) -> impl Iterator<Item = &Rec> {
        let kind = kind.to_string();
        self.recs
            .iter()
            .filter(move |r| r.get("kind") == Some(&kind))
    }

    /// Cases of a kind, in the order first seen, with a cell per server.
    fn table(&self, kind: &str, who: &str) -> Vec<(Case, [Cell; 3])> {
        let mut order: Vec<Case> = Vec::new();
        let mut by: HashMap<(Case, String), Rec> = HashMap::new();
        for r in self.of_kind(kind) {
            let Some(c) = Case::of(r) else { continue };
            let Some(s) = r.get(who) else { continue };
            if !order.contains(&c) {
                order.push(c.clone());
            }
            by.insert((c, s.clone()), r.clone());
        }
        order
            .into_iter()
            .map(|c| {
                let cells = SERVERS.map(|s| cell(by.get(&(c.clone(), s.to_string()))));
                (c, cells)
            })
            .collect()
    }

    fn single(&self, kind: &str, server: &str, extra: Option<(&str, &str)>) -> Cell {
        cell(self.of_kind(kind).find(|r| {
            r.get("server").map(String::as_str) == Some(server)
                && extra.is_none_or(|(k, v)| r.get(k).map(String::as_str) == Some(v))
        }))
    }

    /// Our client one message at a time with and without `-busypoll`:
    /// rate, latency and the CPU each message costs.
    fn busy_poll(&self, s: &mut String) {
        let one = Case {
            conns: 1,
            size: 1024,
            mode: "binary".into(),
            inflight: 1,
        };
        let mut rows = Vec::new();
        for (tcl, v) in [("8.6", ""), ("9", "9")] {
            for (poll, kind) in [("50 (default)", "client"), ("0", "clientnopoll")] {
                let cells = self.find_case(&format!("{kind}{v}"), "client", &one);
                if !matches!(cells[1], Cell::Missing) {
                    rows.push((tcl, poll, cells));
                }
            }
        }
        if rows.is_empty() {
            return;
        }
        let _ = writeln!(
            s,
            "\n## Busy polling\n\nOur client, 1 × 1 KiB binary × 1, with a client's \
             default `-busypoll 50` (after a handled message the Tcl thread watches for the \
             next one for up to 50 µs before it sleeps) and with `-busypoll 0`; the servers \
             here do not watch (a server's default is 0). Each figure is \
             the median of three rounds, native, ours and ours with `-busypoll 0` in turn. CPU \
             is the client process's, all its threads, per message (from /proc, 10 ms \
             ticks).\n\n\
             | Tcl | -busypoll | ours msgs/s | native client msgs/s | ours ÷ native | ours p50 | CPU per message |\n\
             |---|---|---:|---:|---:|---:|---:|"
        );
        for (tcl, poll, cells) in rows {
            let _ = writeln!(
                s,
                "| {tcl} | {poll} | {} | {} | {} | {} | {} |",
                cells[1].show("msgs_s", fmt_rate),
                cells[0].show("msgs_s", fmt_rate),
                ratio(cells[1].get("msgs_s"), cells[0].get("msgs_s")),
                cells[1].show("p50_us", fmt_us),
                cells[1].show("cpu_us", |v| format!("{v:.1} µs")),
            );
        }
    }

    fn find_case(&self, kind: &str, who: &str, case: &Case) -> [Cell; 3] {
        self.table(kind, who)
            .into_iter()
            .find(|(c, _)| c == case)
            .map(|(_, cells)| cells)
            .unwrap_or([Cell::Missing, Cell::Missing, Cell::Missing])
    }

    fn header(&self) -> String {
        let m = |k: &str| self.meta.get(k).cloned().unwrap_or_else(|| "?".into());
        format!(
            "- Date: {}\n- Command: `{}` (run time {})\n- Machine: {}; load {}\n- Software: {}\n- Commit: {}\n",
            m("date"),
            m("command"),
            m("elapsed"),
            m("machine"),
            m("load"),
            m("software"),
            m("commit"),
        )
    }

    /// The headline figures, one row each.
    fn summary(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "| figure | native | ours | reference | ours ÷ native | ours ÷ reference |"
        );
        let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|");
        let mut row = |label: &str, cells: &[Cell; 3], key: &str, f: &dyn Fn(f64) -> String| {
            let v: Vec<Option<f64>> = cells.iter().map(|c| c.get(key)).collect();
            let _ = writeln!(
                s,
                "| {label} | {} | {} | {} | {} | {} |",
                cells[0].show(key, f),
                cells[1].show(key, f),
                cells[2].show(key, f),
                ratio(v[1], v[0]),
                ratio(v[1], v[2]),
            );
        };
        // The headline cases, on Tcl 8.6 (kinds echo, client) and Tcl 9
        // (echo9, client9): native measured alongside in each.
        for (tcl, v) in [("Tcl 8.6", ""), ("Tcl 9", "9")] {
            let echo = format!("echo{v}");
            for k in [1, 16] {
                let case = Case {
                    conns: 50,
                    size: 1024,
                    mode: "binary".into(),
                    inflight: k,
                };
                let cells = self.find_case(&echo, "server", &case);
                row(
                    &format!("{tcl}: server echo, 50 conns × 1 KiB binary, {k} in flight (msgs/s)"),
                    &cells,
                    "msgs_s",
                    &fmt_rate,
                );
                if k == 1 {
                    row(
                        &format!("{tcl}: the same, p50 round trip"),
                        &cells,
                        "p50_us",
                        &fmt_us,
                    );
                }
            }
            let big = Case {
                conns: 1,
                size: 1 << 20,
                mode: "binary".into(),
                inflight: 1,
            };
            let cells = self.find_case(&echo, "server", &big);
            row(
                &format!("{tcl}: server echo, 1 conn × 1 MiB binary, 1 in flight (MiB/s)"),
                &cells,
                "mib_s",
                &|v| format!("{v:.1}"),
            );
            for (case, cells) in self.table(&format!("client{v}"), "client") {
                if v.is_empty() && case.size != 1024 {
                    continue; // the other sizes: in the client table below
                }
                row(
                    &format!(
                        "{tcl}: client, {} (msgs/s; native: a Rust client)",
                        case.label()
                    ),
                    &cells,
                    "msgs_s",
                    &fmt_rate,
                );
            }
            for (case, cells) in self.table(&format!("clientnopoll{v}"), "client") {
                row(
                    &format!(
                        "{tcl}: client, {}, ours with `-busypoll 0` (msgs/s)",
                        case.label()
                    ),
                    &cells,
                    "msgs_s",
                    &fmt_rate,
                );
            }
        }
        let idle = SERVERS.map(|sv| self.single("idle", sv, None));
        let held: Vec<String> = idle
            .iter()
            .zip(SERVERS)
            .filter_map(|(c, sv)| Some(format!("{sv} {:.0}", c.get("opened")?)))
            .collect();
        row(
            &format!(
                "RSS per idle connection (connections held: {})",
                held.join(", ")
            ),
            &idle,
            "per_conn_bytes",
            &|v| fmt_bytes(v),
        );
        let iso = SERVERS.map(|sv| self.single("isolation", sv, Some(("stall", "yes"))));
        row(
            "p99 round trip of 20 clients beside a stalled reader",
            &iso,
            "p99_us",
            &fmt_us,
        );
        let notes: Vec<String> = SERVERS
            .iter()
            .filter_map(|sv| {
                let n = self
                    .of_kind("idle")
                    .find(|r| r.get("server").map(String::as_str) == Some(sv))?
                    .get("note")?;
                Some(format!("- idle memory, {sv}: {}\n", md_esc(n)))
            })
            .collect();
        if !notes.is_empty() {
            s.push('\n');
            s.extend(notes);
        }
        s
    }

    /// The native server under the generator with more threads: the
    /// figures must not rise, else the generator set the pace.
    fn loadcheck(&self) -> String {
        let recs: Vec<&Rec> = self.of_kind("loadcheck").collect();
        if recs.is_empty() {
            return String::new();
        }
        let mut s = String::from(
            "## Is the load generator the bottleneck?\n\nThe native server measured again with \
             the generator given more threads (`--threads`; the cases above use the first \
             figure). If the native figure rose with more threads, the generator, not the \
             server, would set the pace of every case.\n\n\
             | case | generator threads | native msgs/s | p50 | ÷ first |\n|---|---:|---:|---:|---:|\n",
        );
        let mut first: HashMap<Case, f64> = HashMap::new();
        for r in recs {
            let Some(case) = Case::of(r) else { continue };
            let c = cell(Some(r));
            let v = c.get("msgs_s");
            let base = *first.entry(case.clone()).or_insert(v.unwrap_or(0.0));
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} |",
                case.label(),
                r.get("threads").map(String::as_str).unwrap_or("?"),
                c.show("msgs_s", fmt_rate),
                c.show("p50_us", fmt_us),
                ratio(v, Some(base)),
            );
        }
        s.push('\n');
        s
    }

    /// CPU per message of the server and of the generator in the headline
    /// cases (those run on both Tcl versions), and the CPU left idle.
    fn cpu(&self) -> String {
        let headline: Vec<(Case, [Cell; 3])> = self.table("echo9", "server");
        if headline.is_empty() {
            return String::new();
        }
        let mut s = String::from(
            "## CPU per message\n\nServer echo, the headline cases: CPU time per echoed \
             message over the measured window (from /proc, all threads, 10 ms ticks) of the \
             server and of the load generator that drove it, and the share of the 2 cores \
             left idle. Server and generator share the cores, so the rate of a case is at \
             most 2 cores ÷ (server + generator CPU per message): a server that spends more \
             per message is slower even where it is never the only thing running \
             (docs/performance.md, \"Why 16 in flight stays below native\").\n\n\
             | case | Tcl | native server | ours | generator, native / ours | idle, native / ours |\n\
             |---|---|---:|---:|---:|---:|\n",
        );
        let us = |v: f64| {
            if v >= 100.0 {
                format!("{v:.0} µs")
            } else {
                format!("{v:.2} µs")
            }
        };
        let pct = |v: f64| format!("{v:.0}%");
        for (tcl, kind) in [("8.6", "echo"), ("9", "echo9")] {
            for (case, _) in &headline {
                let cells = self.find_case(kind, "server", case);
                if cells[0].get("server_cpu_us").is_none()
                    && cells[1].get("server_cpu_us").is_none()
                {
                    continue;
                }
                let _ = writeln!(
                    s,
                    "| {} | {tcl} | {} | {} | {} / {} | {} / {} |",
                    case.label(),
                    cells[0].show("server_cpu_us", us),
                    cells[1].show("server_cpu_us", us),
                    cells[0].show("gen_cpu_us", us),
                    cells[1].show("gen_cpu_us", us),
                    cells[0].show("idle_pct", pct),
                    cells[1].show("idle_pct", pct),
                );
            }
        }
        s.push('\n');
        s
    }

    fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        for r in self.recs {
            let kind = r.get("kind").map(String::as_str).unwrap_or("");
            if kind == "meta" {
                continue;
            }
            let who = r
                .get("client")
                .or(r.get("server"))
                .cloned()
                .unwrap_or_default();
            let mut head = kind.to_string();
            if let Some(c) = Case::of(r) {
                head = format!("{head} {}", c.label());
            }
            let head = format!("{head}, {who}");
            match cell(Some(r)) {
                Cell::Skipped(why) => notes.push(format!("{head}: skipped: {why}")),
                Cell::Failed(why) => notes.push(format!("{head}: failed: {why}")),
                _ => {}
            }
            if let Some(n) = r.get("note") {
                notes.push(format!("{head}: {n}"));
            }
        }
        notes
    }

    fn markdown(&self, summary: &str, svg: Option<&str>) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# Benchmark results\n");
        s.push_str(&self.header());
        let _ = writeln!(
            s,
            "\nProduced by `bench/run.sh` (see its header for the method). Every figure is from \
             this one run; ratios compare figures of the same run. Servers: **native** is \
             `bench/native` (Rust, tungstenite, a thread per connection: the practical limit \
             here), **ours** is `bench/echo_server.tcl` on tclsh with this package, **reference** \
             is the same script with tcllib's pure-Tcl websocket 1.6. The load comes from \
             `bench/loadgen` (tungstenite + mio, its connections spread over several threads, on \
             the same 2 cores, over loopback; see the generator check below). The Tcl 9 rows \
             run the same scripts on tclsh9.0 with this package built against Tcl 9. msgs/s \
             counts echoes received in the measured window; MiB/s is echoed payload (one \
             direction); latency is the round trip of each message as the client sees it, \
             including its wait behind the other messages in flight.\n"
        );
        let _ = writeln!(
            s,
            "Reading the figures: the native server flushes once per batch of input (the \
             echoes of one read go out in one write), so with 16 in flight it shows what \
             write coalescing gives on this machine. Cases with one connection and one message \
             in flight measure thread wake-up latency more than anything else and vary up to 2-3× \
             from run to run on a 2-core machine shared with other work (the load average is \
             above). The native server's idle memory is a thread (stack) and tungstenite's \
             128 KiB read buffer per connection: it is the practical limit for speed, not for \
             memory. The reference is skipped where conns × in flight × size exceeds 4 MiB (at its \
             ~10-25 MiB/s one round would take most of the window).\n"
        );
        if let Some(svg) = svg {
            let name = std::path::Path::new(svg)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let _ = writeln!(s, "![benchmark chart]({name})\n");
        }
        let _ = writeln!(s, "## Summary\n\n{summary}");
        s.push_str(&self.loadcheck());
        s.push_str(&self.cpu());

        let _ = writeln!(s, "## Server echo: throughput\n");
        let _ = writeln!(
            s,
            "conns × message size × type × messages in flight per connection.\n\n\
             | case | native msgs/s | ours msgs/s | reference msgs/s | ours ÷ native | ours ÷ reference | reference ÷ native | native MiB/s | ours MiB/s | reference MiB/s |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        let echo = self.table("echo", "server");
        let mib = |v: f64| {
            if v >= 10.0 {
                format!("{v:.0}")
            } else {
                format!("{v:.2}")
            }
        };
        for (c, cells) in &echo {
            let m: Vec<Option<f64>> = cells.iter().map(|c| c.get("msgs_s")).collect();
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                c.label(),
                cells[0].show("msgs_s", fmt_rate),
                cells[1].show("msgs_s", fmt_rate),
                cells[2].show("msgs_s", fmt_rate),
                ratio(m[1], m[0]),
                ratio(m[1], m[2]),
                ratio(m[2], m[0]),
                cells[0].show("mib_s", mib),
                cells[1].show("mib_s", mib),
                cells[2].show("mib_s", mib),
            );
        }
        let _ = writeln!(s, "\n## Server echo: round-trip latency (p50 / p99)\n");
        let _ = writeln!(
            s,
            "| case | native | ours | reference | ours p99 ÷ native p99 | ours p99 ÷ reference p99 |\n|---|---:|---:|---:|---:|---:|"
        );
        for (c, cells) in &echo {
            let lat = |c: &Cell| match (c.get("p50_us"), c.get("p99_us")) {
                (Some(a), Some(b)) => format!("{} / {}", fmt_us(a), fmt_us(b)),
                _ => c.show("p99_us", fmt_us),
            };
            let p: Vec<Option<f64>> = cells.iter().map(|c| c.get("p99_us")).collect();
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} |",
                c.label(),
                lat(&cells[0]),
                lat(&cells[1]),
                lat(&cells[2]),
                ratio(p[1], p[0]),
                ratio(p[1], p[2]),
            );
        }

        let client = self.table("client", "client");
        if !client.is_empty() {
            let _ = writeln!(
                s,
                "\n## Client side\n\n`bench/client.tcl` (`websocket::open`, K messages in flight on one \
                 connection) against the native echo server; the native column is `bench/loadgen` \
                 doing the same.\n\n\
                 | case | native client msgs/s | ours msgs/s | reference msgs/s | ours ÷ native | ours ÷ reference | ours p50 / p99 | reference p50 / p99 |\n\
                 |---|---:|---:|---:|---:|---:|---:|---:|"
            );
            for (c, cells) in &client {
                let m: Vec<Option<f64>> = cells.iter().map(|c| c.get("msgs_s")).collect();
                let lat = |c: &Cell| match (c.get("p50_us"), c.get("p99_us")) {
                    (Some(a), Some(b)) => format!("{} / {}", fmt_us(a), fmt_us(b)),
                    _ => c.show("p99_us", fmt_us),
                };
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} | {} | {} | {} |",
                    c.label(),
                    cells[0].show("msgs_s", fmt_rate),
                    cells[1].show("msgs_s", fmt_rate),
                    cells[2].show("msgs_s", fmt_rate),
                    ratio(m[1], m[0]),
                    ratio(m[1], m[2]),
                    lat(&cells[1]),
                    lat(&cells[2]),
                );
            }
        }

        self.busy_poll(&mut s);

        let _ = writeln!(
            s,
            "\n## Idle memory\n\nRSS of the server process before and after it holds N idle \
             WebSockets (after one echo, so one-time set-up is not counted), and the \
             difference per connection.\n\n\
             | server | connections held | RSS before | RSS after | per connection | ÷ native | ÷ reference |\n\
             |---|---:|---:|---:|---:|---:|---:|"
        );
        let idle: Vec<Cell> = SERVERS
            .iter()
            .map(|sv| self.single("idle", sv, None))
            .collect();
        let per: Vec<Option<f64>> = idle.iter().map(|c| c.get("per_conn_bytes")).collect();
        for (i, sv) in SERVERS.iter().enumerate() {
            let c = &idle[i];
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} |",
                NAMES[i],
                c.show("opened", |v| format!("{v:.0}")),
                c.show("rss_before_kib", |v| fmt_bytes(v * 1024.0)),
                c.show("rss_after_kib", |v| fmt_bytes(v * 1024.0)),
                c.show("per_conn_bytes", fmt_bytes),
                if *sv == "native" {
                    "–".into()
                } else {
                    ratio(per[i], per[0])
                },
                if *sv == "ref" {
                    "–".into()
                } else {
                    ratio(per[i], per[2])
                },
            );
        }

        let _ = writeln!(
            s,
            "\n## Isolation: one client stops reading\n\n20 clients each keep one 1 KiB message \
             in flight while a 21st sends 32 MiB of 64 KiB messages and never reads, so the \
             server has megabytes of echoes to write to a peer that takes none. Messages still \
             unanswered at the end count with their age (a server that froze shows a p99 as \
             long as the run).\n\n\
             | server | msgs/s (20 clients) | p50 | p99 | unanswered at the end | p99 without the stalled reader | p99 ÷ native | p99 ÷ reference |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|"
        );
        let iso: Vec<Cell> = SERVERS
            .iter()
            .map(|sv| self.single("isolation", sv, Some(("stall", "yes"))))
            .collect();
        let base: Vec<Cell> = SERVERS
            .iter()
            .map(|sv| self.single("isolation", sv, Some(("stall", "no"))))
            .collect();
        let p: Vec<Option<f64>> = iso.iter().map(|c| c.get("p99_us")).collect();
        for (i, sv) in SERVERS.iter().enumerate() {
            let c = &iso[i];
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                NAMES[i],
                c.show("msgs_s", fmt_rate),
                c.show("p50_us", fmt_us),
                c.show("p99_us", fmt_us),
                c.show("pending", |v| format!("{v:.0}")),
                base[i].show("p99_us", fmt_us),
                if *sv == "native" {
                    "–".into()
                } else {
                    ratio(p[i], p[0])
                },
                if *sv == "ref" {
                    "–".into()
                } else {
                    ratio(p[i], p[2])
                },
            );
        }

        let notes = self.notes();
        if !notes.is_empty() {
            let _ = writeln!(s, "\n## Skipped, capped or failed\n");
            for n in notes {
                let _ = writeln!(s, "- {}", md_esc(&n));
            }
        }
        s
    }

    fn svg(&self) -> String {
        let echo: Vec<(String, [Option<f64>; 3])> = self
            .table("echo", "server")
            .into_iter()
            .map(|(c, cells)| (c.short(), [0, 1, 2].map(|i| cells[i].get("msgs_s"))))
            .collect();
        let client: Vec<(String, [Option<f64>; 3])> = self
            .table("client", "client")
            .into_iter()
            .map(|(c, cells)| (c.short(), [0, 1, 2].map(|i| cells[i].get("msgs_s"))))
            .collect();
        let slot = 14.0 * 3.0 + 12.0;
        let w1 = 90.0 + slot * echo.len().max(1) as f64 + 20.0;
        let w2 = 90.0 + slot * client.len().max(1) as f64 + 20.0;
        let width = w1.max(w2).max(900.0);
        let panel_h = 330.0;
        let height = 70.0 + panel_h * 2.0 + 30.0;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" \
             viewBox=\"0 0 {width:.0} {height:.0}\" font-family=\"sans-serif\" font-size=\"11\">"
        );
        let _ = writeln!(s, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
        let date = self.meta.get("date").cloned().unwrap_or_default();
        let _ = writeln!(
            s,
            "<text x=\"10\" y=\"20\" font-size=\"15\" font-weight=\"bold\">websocket benchmark: \
             messages echoed per second (log scale), {}</text>",
            esc(&date)
        );
        for (i, name) in NAMES.iter().enumerate() {
            let x = 10.0 + i as f64 * 230.0;
            let _ = writeln!(
                s,
                "<rect x=\"{x}\" y=\"32\" width=\"12\" height=\"12\" fill=\"{}\"/><text x=\"{}\" y=\"42\">{}</text>",
                COLORS[i],
                x + 16.0,
                esc(name)
            );
        }
        let _ = writeln!(
            s,
            "<text x=\"700\" y=\"42\">× under a group: not measured (skipped or failed; see the report)</text>"
        );
        panel(
            &mut s,
            60.0,
            panel_h,
            "Server echo (ws-loadgen → server): conns, size, type, in flight",
            &echo,
        );
        panel(
            &mut s,
            60.0 + panel_h + 10.0,
            panel_h,
            "Client side (client.tcl → native server; grey: ws-loadgen as client)",
            &client,
        );
        let _ = writeln!(s, "</svg>");
        s
    }
}

/// Markdown's emphasis and code marks, made literal.
fn md_esc(t: &str) -> String {
    t.replace('*', "\\*")
        .replace('_', "\\_")
        .replace('`', "\\`")
}

fn esc(t: &str) -> String {
    t.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// One bar chart with a log-scale y axis, 3 bars a group.
fn panel(s: &mut String, top: f64, h: f64, title: &str, groups: &[(String, [Option<f64>; 3])]) {
    let left = 70.0;
    let plot_top = top + 25.0;
    let plot_h = h - 25.0 - 70.0;
    let bw = 14.0;
    let slot = bw * 3.0 + 12.0;
    let max = groups
        .iter()
        .flat_map(|(_, v)| v.iter().flatten())
        .fold(1.0f64, |a, b| a.max(*b));
    let (lo, hi) = (0.0f64, max.log10().ceil().max(1.0));
    let y = |v: f64| plot_top + plot_h - (v.max(1.0).log10() - lo) / (hi - lo) * plot_h;
    let _ = writeln!(
        s,
        "<text x=\"10\" y=\"{}\" font-size=\"13\" font-weight=\"bold\">{}</text>",
        top + 12.0,
        esc(title)
    );
    let right = left + slot * groups.len().max(1) as f64;
    for e in 0..=(hi as i32) {
        let yy = y(10f64.powi(e));
        let label = match e {
            0..=2 => format!("{}", 10i64.pow(e as u32)),
            3..=5 => format!("{}k", 10i64.pow(e as u32 - 3)),
            _ => format!("{}M", 10i64.pow(e as u32 - 6)),
        };
        let _ = writeln!(
            s,
            "<line x1=\"{left}\" x2=\"{right}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"#ddd\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{label}</text>",
            left - 5.0,
            yy + 4.0
        );
    }
    for (gi, (label, vals)) in groups.iter().enumerate() {
        let x0 = left + gi as f64 * slot + 6.0;
        for (i, v) in vals.iter().enumerate() {
            let x = x0 + i as f64 * bw;
            match v {
                Some(v) if *v > 0.0 => {
                    let yy = y(*v);
                    let _ = writeln!(
                        s,
                        "<rect x=\"{x:.1}\" y=\"{yy:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\"><title>{}: {:.1} msgs/s</title></rect>",
                        bw - 1.0,
                        plot_top + plot_h - yy,
                        COLORS[i],
                        esc(label),
                        v
                    );
                }
                _ => {
                    let _ = writeln!(
                        s,
                        "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"9\" fill=\"{}\" text-anchor=\"middle\">×</text>",
                        x + bw / 2.0,
                        plot_top + plot_h - 3.0,
                        COLORS[i]
                    );
                }
            }
        }
        let lx = x0 + slot / 2.0 - 6.0;
        let ly = plot_top + plot_h + 8.0;
        let _ = writeln!(
            s,
            "<text x=\"{lx:.1}\" y=\"{ly:.1}\" transform=\"rotate(45 {lx:.1} {ly:.1})\" font-size=\"10\">{}</text>",
            esc(label)
        );
    }
    let _ = writeln!(
        s,
        "<line x1=\"{left}\" x2=\"{right}\" y1=\"{0:.1}\" y2=\"{0:.1}\" stroke=\"black\"/>\
         <line x1=\"{left}\" x2=\"{left}\" y1=\"{plot_top:.1}\" y2=\"{0:.1}\" stroke=\"black\"/>",
        plot_top + plot_h
    );
}
