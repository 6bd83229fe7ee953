//! The command queue from Tcl threads (and connect.rs's helper threads) to
//! the I/O thread: the commands, the `Waker` that rouses the thread, and
//! the batching of event deliveries that spares most wake-ups (see
//! [`Batch`]). The I/O loop is given the queue ([`super::io`]); Tcl threads
//! reach it through the [`Engine`](super::Engine).

use std::cell::Cell;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use mio::{Token, Waker};

use super::options::Options;
use super::request::{ConnectRequest, Registration};
use super::types::{ConnId, Shared};

/// What a Tcl thread (or a helper thread) asks of the I/O thread.
pub(crate) enum Cmd {
    Register(ConnId, Arc<Shared>, Box<Registration>),
    /// A whole frame, already counted in `Shared::queued`.
    Send(ConnId, Vec<u8>),
    /// A payload to frame (and compress) on this thread: fin, opcode, the
    /// payload (its length counted in `Shared::queued`).
    SendData(ConnId, bool, u8, Vec<u8>),
    /// Start the closing handshake with this close payload; the Tcl side
    /// has already said goodbye to the handler.
    Close(ConnId, Vec<u8>),
    Configure(ConnId, Box<Options>),
    /// The Tcl side is gone (channel closed, interpreter deleted): end now.
    Abort(ConnId),
    /// The Tcl side has handled the end the engine announced.
    Release(ConnId),
    /// The Tcl side drained its inbox below the high-water mark.
    Resume(ConnId),
    /// Bytes a bridged connection's Tcl thread read from the channel
    /// (already counted in `Shared::bridge_in`), and whether it reached
    /// the end.
    Input(ConnId, Vec<u8>, bool),
    /// Output of a bridged connection left the Tcl channel's buffers:
    /// there is room to hand over more.
    Wrote(ConnId),
    /// Open a client WebSocket (`::websocket::open`).
    Connect(ConnId, Arc<Shared>, Box<ConnectRequest>),
    /// A helper thread's result for a connection being opened.
    Connecting(ConnId, Input),
    Shutdown,
}

/// Results of the helper threads of connect.rs, posted back to the loop.
pub(crate) enum Input {
    Resolved {
        target: io::Result<Vec<SocketAddr>>,
        local: Option<io::Result<Vec<SocketAddr>>>,
    },
    Named {
        peer: Option<String>,
        local: Option<String>,
    },
}

/// The poll token of the queue's `Waker`.
pub(super) const WAKER: Token = Token(usize::MAX);

/// The queue, with what wakes the I/O thread for it.
pub(crate) struct Queue {
    cmds: Mutex<Vec<Cmd>>,
    waker: Waker,
    wake_pending: AtomicBool,
    /// When a Tcl thread last started a batch of event deliveries (see
    /// [`Queue::batch`]), in microseconds since `epoch`.
    batch_at: AtomicU64,
    epoch: Instant,
    /// Why the I/O thread failed, once it has: commands are refused from
    /// then on.
    failure: OnceLock<String>,
}

thread_local! {
    /// This thread's batch of event deliveries: when it started, and
    /// whether it has woken the I/O thread yet.
    static BATCH: Cell<Option<(Instant, bool)>> = const { Cell::new(None) };
}

/// For this long after a batch starts, the frames its handlers send after
/// the first do not wake the I/O thread ...
const BATCH_DEFER: Duration = Duration::from_millis(1);
/// ... which, for this long after any batch started, looks for commands
/// on its own ...
pub(crate) const BATCH_WINDOW: Duration = Duration::from_millis(3);
/// ... this often (mio rounds it up to a millisecond when it has nothing
/// else to do). A frame is never held back longer than that, however long
/// a handler runs.
pub(crate) const BATCH_POLL: Duration = Duration::from_micros(50);

/// A Tcl thread's batch of event deliveries; ends when dropped.
pub struct Batch {
    queue: &'static Queue,
    /// The batch this one is nested in (a handler ran the event loop).
    outer: Option<(Instant, bool)>,
}

impl Drop for Batch {
    fn drop(&mut self) {
        BATCH.set(self.outer);
        if !self.queue.cmds.lock().unwrap().is_empty() {
            self.queue.wake();
        }
    }
}

impl Queue {
    /// An empty queue whose commands wake the I/O thread through `waker`
    /// (registered with [`WAKER`]).
    pub(super) fn new(waker: Waker) -> Queue {
        Queue {
            cmds: Mutex::new(Vec::new()),
            waker,
            wake_pending: AtomicBool::new(false),
            batch_at: AtomicU64::new(0),
            epoch: Instant::now(),
            failure: OnceLock::new(),
        }
    }

    /// Queues a command and wakes the I/O thread unless a batch allows
    /// it to pick it up by itself.
    #[inline]
    pub(super) fn push(&self, cmd: Cmd) {
        if self.failure.get().is_some() {
            return; // nobody would ever take it
        }
        self.cmds.lock().unwrap().push(cmd);
        match BATCH.get() {
            // Early in a batch that woke the I/O thread already: it picks
            // this up by itself (every frame a handler sends would
            // otherwise cost a syscall and a thread wake-up).
            Some((start, true)) if start.elapsed() < BATCH_DEFER => {}
            Some((start, _)) => {
                BATCH.set(Some((start, true)));
                self.wake();
            }
            None => self.wake(),
        }
    }

    /// Starts a batch of event deliveries on this Tcl thread (see
    /// [`BATCH_DEFER`]); it ends when the result is dropped, waking the
    /// I/O thread for what is still queued.
    pub(super) fn batch(&'static self) -> Batch {
        let now = Instant::now();
        let at = now.saturating_duration_since(self.epoch).as_micros() as u64;
        self.batch_at.fetch_max(at, Ordering::AcqRel);
        Batch {
            queue: self,
            outer: BATCH.replace(Some((now, false))),
        }
    }

    /// Whether a Tcl thread may have queued commands without waking us
    /// (a batch started less than [`BATCH_WINDOW`] ago).
    pub(crate) fn batching(&self, now: Instant) -> bool {
        let at = Duration::from_micros(self.batch_at.load(Ordering::Acquire));
        at > Duration::ZERO && now.saturating_duration_since(self.epoch) < at + BATCH_WINDOW
    }

    /// Wakes the I/O thread.
    fn wake(&self) {
        // One wake-up covers every command queued until the thread drains.
        if !self.wake_pending.swap(true, Ordering::AcqRel) {
            let _ = self.waker.wake();
        }
    }

    /// Takes every queued command (the I/O thread, once woken).
    pub(crate) fn take_cmds(&self, out: &mut Vec<Cmd>) {
        self.wake_pending.store(false, Ordering::Release);
        std::mem::swap(&mut *self.cmds.lock().unwrap(), out);
    }

    /// Why the I/O thread failed, if it did.
    pub fn failure(&self) -> Option<&str> {
        self.failure.get().map(String::as_str)
    }

    /// The I/O thread failed: refuse commands from now on and drop those
    /// queued. False if it had failed already.
    pub(super) fn fail(&self, why: String) -> bool {
        if self.failure.set(why).is_err() {
            return false;
        }
        self.cmds.lock().unwrap().clear();
        true
    }
}
