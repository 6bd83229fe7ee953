//! Where the I/O thread leaves events for one Tcl thread. The Tcl side is
//! woken once per batch: `scheduled` stays set until it has drained.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use super::ConnId;

/// Something a connection's handler must hear about.
#[derive(Debug)]
pub enum Event {
    Text(Vec<u8>),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    /// The connection ended: the handler gets `close {code reason}` (or an
    /// empty close when `code` is None) and then `disconnect`.
    Closed {
        code: Option<u16>,
        reason: String,
    },
    /// A client's opening handshake succeeded (`::websocket::open`).
    Connected(Box<super::connect::Connected>),
    /// A client's connection did not become a WebSocket.
    ConnectFailed(super::connect::ConnectFailure),
    /// A bridged connection: bytes to write to its Tcl channel (counted
    /// in `Shared::bridge_out` until they leave the channel's buffers).
    Output(Vec<u8>),
    /// A bridged connection: the engine consumed what was forwarded, the
    /// Tcl thread may read the channel again.
    ReadMore,
    /// A bridged connection ended in the engine: nothing more will be
    /// written, the channel may be closed once the script let go of it.
    Finished,
}

impl Event {
    /// Bytes this event holds, for the inbound bound.
    pub fn weight(&self) -> usize {
        match self {
            Event::Text(b) | Event::Binary(b) | Event::Ping(b) | Event::Pong(b) => b.len(),
            Event::Closed { .. }
            | Event::Connected(_)
            | Event::ConnectFailed(_)
            | Event::Output(_)
            | Event::ReadMore
            | Event::Finished => 0,
        }
    }
}

/// Wakes the owning thread: the Tcl layer queues one Tcl event.
pub trait Notify: Send + Sync {
    fn notify(&self);
}

struct Inner {
    events: VecDeque<(ConnId, Event)>,
    /// A wake-up is on its way and has not yet drained the queue.
    scheduled: bool,
    /// The owning thread is gone: drop everything.
    alive: bool,
}

pub struct Mailbox {
    inner: Mutex<Inner>,
    notifier: Box<dyn Notify>,
}

impl Mailbox {
    pub fn new(notifier: Box<dyn Notify>) -> Arc<Mailbox> {
        Arc::new(Mailbox {
            inner: Mutex::new(Inner {
                events: VecDeque::new(),
                scheduled: false,
                alive: true,
            }),
            notifier,
        })
    }

    /// Adds events; wakes the owner only if no wake-up is pending.
    pub fn push_all(&self, batch: impl IntoIterator<Item = (ConnId, Event)>) {
        let mut inner = self.inner.lock().unwrap();
        if !inner.alive {
            return;
        }
        let before = inner.events.len();
        inner.events.extend(batch);
        if inner.events.len() > before && !inner.scheduled {
            inner.scheduled = true;
            // Notify under the lock so `close` cannot free the owner's
            // thread between the check and the call.
            self.notifier.notify();
        }
    }

    /// Takes up to `max` events. When the queue is left empty the next push
    /// wakes the owner again; otherwise the caller must reschedule itself.
    pub fn take(&self, max: usize, out: &mut Vec<(ConnId, Event)>) -> bool {
        let mut inner = self.inner.lock().unwrap();
        let n = inner.events.len().min(max);
        out.extend(inner.events.drain(..n));
        let more = !inner.events.is_empty();
        if !more {
            inner.scheduled = false;
        }
        more
    }

    /// The owner will not drain any more (thread exit): drop what is queued
    /// and refuse new events.
    pub fn close(&self) {
        let mut inner = self.inner.lock().unwrap();
        inner.alive = false;
        inner.events.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Count(Arc<AtomicUsize>);
    impl Notify for Count {
        fn notify(&self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn one_wakeup_per_batch() {
        let n = Arc::new(AtomicUsize::new(0));
        let mb = Mailbox::new(Box::new(Count(n.clone())));
        mb.push_all([(ConnId(1), Event::Pong(vec![]))]);
        mb.push_all([(ConnId(1), Event::Pong(vec![]))]);
        assert_eq!(n.load(Ordering::SeqCst), 1);
        let mut out = Vec::new();
        assert!(mb.take(1, &mut out));
        assert!(!mb.take(10, &mut out));
        assert_eq!(out.len(), 2);
        mb.push_all([(ConnId(1), Event::Pong(vec![]))]);
        assert_eq!(n.load(Ordering::SeqCst), 2);
        mb.close();
        mb.push_all([(ConnId(1), Event::Pong(vec![]))]);
        assert_eq!(n.load(Ordering::SeqCst), 2);
    }
}
