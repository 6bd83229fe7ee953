//! Name lookups for `::websocket::open` (host names, and the peer's and
//! our own names for `-peername`/`-sockname`): blocking C library calls,
//! run on a small fixed pool of threads, so that many `open`s at once
//! queue their lookups instead of starting a thread each.

use std::fmt;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock};

/// Lookups running at once, at most; the others wait their turn.
pub const THREADS: usize = 4;

type Job = Box<dyn FnOnce() + Send>;

static POOL: OnceLock<Option<Mutex<Sender<Job>>>> = OnceLock::new();

/// Why a lookup cannot be run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unavailable {
    /// No thread of the pool could be started.
    NoThread,
    /// The pool's threads are gone.
    Stopped,
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Unavailable::NoThread => "cannot start a thread for name lookups",
            Unavailable::Stopped => "name lookups stopped",
        })
    }
}

impl std::error::Error for Unavailable {}

/// Runs `job` on the pool; Err when no thread could be started.
pub fn submit(job: impl FnOnce() + Send + 'static) -> Result<(), Unavailable> {
    let pool = POOL.get_or_init(|| {
        let (tx, rx) = channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let started = (0..THREADS)
            .filter(|_| {
                let rx = rx.clone();
                std::thread::Builder::new()
                    .name("websocket-dns".into())
                    .spawn(move || work(&rx))
                    .is_ok()
            })
            .count();
        (started > 0).then(|| Mutex::new(tx))
    });
    let Some(tx) = pool else {
        return Err(Unavailable::NoThread);
    };
    tx.lock()
        .unwrap()
        .send(Box::new(job))
        .map_err(|_| Unavailable::Stopped)
}

fn work(rx: &Mutex<Receiver<Job>>) {
    loop {
        // The lock is held only while waiting for the next job.
        let job = match rx.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        // A panicking lookup must not take the thread down with it.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::sync::mpsc::channel;

    #[test]
    fn many_jobs_few_threads() {
        let (tx, rx) = channel();
        for i in 0..50 {
            let tx = tx.clone();
            submit(move || {
                let name = std::thread::current().name().map(str::to_owned);
                let _ = tx.send((i, name));
            })
            .unwrap();
        }
        let got: Vec<_> = (0..50)
            .map(|_| rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap())
            .collect();
        let ids: HashSet<_> = got.iter().map(|(i, _)| *i).collect();
        assert_eq!(ids.len(), 50);
        assert!(got
            .iter()
            .all(|(_, n)| n.as_deref() == Some("websocket-dns")));
    }
}
