//! Logging as tcllib does it: messages at or above an interpreter's level
//! go to `::websocket::Log` (logger, or stderr).

use super::error::TclError;
use super::ffi::{Interp, Obj};
pub use super::level::Level;
use super::state;

/// Logs `msg` in `interp` if its level lets it through.
pub fn log(interp: Interp, level: Level, msg: impl FnOnce() -> String) {
    if interp.is_deleted() || level < state::log_level(interp) {
        return;
    }
    let words = [
        Obj::from_str("::websocket::Log"),
        Obj::from_str(level.name()),
        Obj::from_str(&msg()),
    ];
    let saved = interp.result();
    let _ = interp.eval_global(&words);
    interp.set_result(saved);
}

/// tcllib's answer to a name that is not (or no more) a WebSocket: a
/// warning logged, and the error to raise.
pub fn not_a_websocket(interp: Interp, sock: &str) -> TclError {
    log(interp, Level::WARN, || {
        format!("{sock} is not a WebSocket connection anymore")
    });
    TclError::ws(format!("{sock} is not a WebSocket"), &[])
}

// ------------------------------------------------------------------------
// The engine's diagnostics (`log` crate records of this library): a logger
// that never calls Tcl. It leaves each record in a mailbox as an event;
// the owning thread hands it to `::websocket::Log` like its own messages
// (docs/logging.md).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once};

use super::level::LEVELS;
use crate::engine::{ConnId, Event, Mailbox};

/// Forwards this library's records to the Tcl threads.
struct Forward;

static FORWARD: Forward = Forward;
/// Our logger is the process's (another one may have been set first).
static INSTALLED: AtomicBool = AtomicBool::new(false);
/// Interpreters per level, over all threads: `log`'s max level follows the
/// most verbose one, so a record below every level costs one atomic load.
static LEVEL_COUNTS: Mutex<[usize; LEVELS.len()]> = Mutex::new([0; LEVELS.len()]);

impl log::Log for Forward {
    fn enabled(&self, m: &log::Metadata) -> bool {
        m.target()
            .starts_with(module_path!().split("::").next().unwrap_or(""))
    }

    fn log(&self, record: &log::Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let conn = record
            .key_values()
            .get(log::kv::Key::from_str("conn"))
            .and_then(|v| v.to_u64());
        let text = record.args().to_string();
        match conn {
            // The owner is the thread whose registry knows the id; the
            // others drop it (see `deliver`).
            Some(id) => {
                for mb in Mailbox::all() {
                    mb.push_all([(ConnId(id), Event::Log(record.level(), text.clone()))]);
                }
            }
            // The first thread that loaded the package (and still runs).
            None => {
                if let Some(mb) = Mailbox::all().into_iter().find(|m| m.is_alive()) {
                    mb.push_all([(ConnId(0), Event::Log(record.level(), text))]);
                }
            }
        }
    }

    fn flush(&self) {}
}

/// Installs the forwarding logger, once per process.
pub fn install_logger() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if log::set_logger(&FORWARD).is_ok() {
            INSTALLED.store(true, Ordering::Release);
        }
    });
    sync_max_level(|_| {});
}

/// Our level for a record's.
pub fn from_record(level: log::Level) -> Level {
    match level {
        log::Level::Error => Level::ERROR,
        log::Level::Warn => Level::WARN,
        log::Level::Info => Level::INFO,
        log::Level::Debug | log::Level::Trace => Level::DEBUG,
    }
}

/// The most verbose record level that `level` lets through.
fn filter_for(level: Level) -> log::LevelFilter {
    match level.0 {
        0 => log::LevelFilter::Trace,
        1 => log::LevelFilter::Info,
        2 | 3 => log::LevelFilter::Warn,
        4 => log::LevelFilter::Error,
        _ => log::LevelFilter::Off,
    }
}

/// Updates the counts of interpreters per level, then `log`'s max level.
fn sync_max_level(update: impl FnOnce(&mut [usize; LEVELS.len()])) {
    let mut counts = LEVEL_COUNTS.lock().unwrap_or_else(|e| e.into_inner());
    update(&mut counts);
    if INSTALLED.load(Ordering::Acquire) {
        let most = counts.iter().position(|&n| n > 0).map(Level);
        log::set_max_level(most.map_or(log::LevelFilter::Off, filter_for));
    }
}

/// An interpreter with this level appeared.
pub fn level_added(level: Level) {
    sync_max_level(|c| c[level.0] += 1);
}

/// An interpreter with this level is gone.
pub fn level_removed(level: Level) {
    sync_max_level(|c| c[level.0] = c[level.0].saturating_sub(1));
}

/// `websocket::loglevel` changed an interpreter's level.
pub fn level_changed(old: Level, new: Level) {
    sync_max_level(|c| {
        c[old.0] = c[old.0].saturating_sub(1);
        c[new.0] += 1;
    });
}

/// A record reached this thread: log it in the interpreter of its
/// connection, if the connection is this thread's, or (connection id 0)
/// in every interpreter of the thread, each at its own level.
pub fn deliver(id: ConnId, level: log::Level, text: String) {
    let targets: Vec<(Interp, String)> = state::with(|r| {
        if id == ConnId(0) {
            return r.interps.keys().map(|i| (*i, text.clone())).collect();
        }
        let entry = r.by_id.get(&id).or_else(|| r.by_id.get(r.moved.get(&id)?));
        match entry {
            Some((interp, name)) => vec![(*interp, format!("WebSocket {name}: {text}"))],
            None => Vec::new(),
        }
    });
    let level = from_record(level);
    for (interp, msg) in targets {
        log(interp, level, || msg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `log`'s max level lets through exactly the records an interpreter
    /// at that level logs: none is made for nothing, none is lost.
    #[test]
    fn max_level_matches_the_tcl_levels() {
        for (l, name) in LEVELS.iter().enumerate() {
            let filter = filter_for(Level(l));
            for r in [
                log::Level::Error,
                log::Level::Warn,
                log::Level::Info,
                log::Level::Debug,
                log::Level::Trace,
            ] {
                assert_eq!(r <= filter, from_record(r) >= Level(l), "{name} {r}");
            }
        }
    }
}
