//! Where the I/O thread leaves events for one Tcl thread: one ordered
//! queue per thread. The Tcl side is woken by one queued Tcl event at a
//! time: `scheduled` says one is waiting in Tcl's queue.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, Weak};

use super::opened::{ConnectFailure, Connected};
use super::types::ConnId;

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
    Connected(Box<Connected>),
    /// A client's connection did not become a WebSocket.
    ConnectFailed(ConnectFailure),
    /// A bridged connection: bytes to write to its Tcl channel (counted
    /// in `Shared::bridge_out` until they leave the channel's buffers).
    Output(Vec<u8>),
    /// A bridged connection: the engine consumed what was forwarded, the
    /// Tcl thread may read the channel again.
    ReadMore,
    /// A bridged connection ended in the engine: nothing more will be
    /// written, the channel may be closed once the script let go of it.
    Finished,
    /// The I/O thread failed (the reason): every connection of the thread
    /// has ended. Sent once per thread, with connection id 0.
    EngineFailed(String),
    /// A diagnostic of the engine (`log` crate) for the owning thread's
    /// `::websocket::Log` (src/tcl/log.rs); connection id 0 for none.
    Log(log::Level, String),
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
            | Event::Finished
            | Event::EngineFailed(_)
            | Event::Log(..) => 0,
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

/// The notifier and whether it may still be called, under a lock of their
/// own: the owner, woken, takes the queue's lock at once, and must not find
/// it held by the thread that is still waking it.
struct Waker {
    notifier: Box<dyn Notify>,
    alive: bool,
}

/// Every thread's mailbox (see [`Mailbox::all`]).
static ALL: Mutex<Vec<Weak<Mailbox>>> = Mutex::new(Vec::new());

pub struct Mailbox {
    inner: Mutex<Inner>,
    /// Events the owner took from `inner` in one go and delivers one at a
    /// time: only the owner touches it, so a delivery does not contend
    /// with the I/O thread's pushes for `inner`'s lock.
    front: Mutex<Front>,
    waker: Mutex<Waker>,
}

#[derive(Default)]
struct Front {
    events: VecDeque<(ConnId, Event)>,
    /// The owner queued itself a wake-up that has not been serviced yet.
    armed: bool,
}

impl Mailbox {
    pub fn new(notifier: Box<dyn Notify>) -> Arc<Mailbox> {
        let mb = Arc::new(Mailbox {
            inner: Mutex::new(Inner {
                events: VecDeque::new(),
                scheduled: false,
                alive: true,
            }),
            front: Mutex::new(Front::default()),
            waker: Mutex::new(Waker {
                notifier,
                alive: true,
            }),
        });
        let mut all = ALL.lock().unwrap();
        all.retain(|m| m.strong_count() > 0);
        all.push(Arc::downgrade(&mb));
        mb
    }

    /// Every mailbox still in use, for news that concerns all threads.
    pub fn all() -> Vec<Arc<Mailbox>> {
        ALL.lock()
            .unwrap()
            .iter()
            .filter_map(Weak::upgrade)
            .collect()
    }

    /// Adds events; wakes the owner only if no wake-up is pending.
    pub fn push_all(&self, batch: impl IntoIterator<Item = (ConnId, Event)>) {
        let wake = {
            let mut inner = self.inner.lock().unwrap();
            if !inner.alive {
                return;
            }
            let before = inner.events.len();
            inner.events.extend(batch);
            let wake = inner.events.len() > before && !inner.scheduled;
            inner.scheduled |= wake;
            wake
        };
        if wake {
            // Under the waker's lock, so `close` cannot free the owner's
            // thread between the check and the call.
            let waker = self.waker.lock().unwrap();
            if waker.alive {
                waker.notifier.notify();
            }
        }
    }

    /// The owner's queued wake-up is being serviced: the next push, or
    /// [`Mailbox::pop`] finding more, must queue another.
    pub fn woken(&self) {
        self.front.lock().unwrap().armed = false;
        self.inner.lock().unwrap().scheduled = false;
    }

    /// Removes the oldest event. Returns it and whether the owner must
    /// queue a wake-up for what is left (none is pending yet): a handler
    /// may run a nested event loop, which must find the rest.
    pub fn pop(&self) -> (Option<(ConnId, Event)>, bool) {
        let mut front = self.front.lock().unwrap();
        if front.events.is_empty() {
            // Everything queued so far, in one go (in order: the front is
            // always older than what `inner` holds).
            let mut inner = self.inner.lock().unwrap();
            std::mem::swap(&mut front.events, &mut inner.events);
        }
        let ev = front.events.pop_front();
        if front.events.is_empty() && ev.is_some() {
            // Pushed since: a wake-up for them may have been spared because
            // one was pending, which may be the one being serviced now.
            let mut inner = self.inner.lock().unwrap();
            std::mem::swap(&mut front.events, &mut inner.events);
        }
        // What is left here needs a wake-up from the owner (a handler may
        // run a nested event loop, which must find it).
        let rearm = !front.events.is_empty() && !front.armed;
        if rearm {
            front.armed = true;
            // That wake-up drains `inner` too: pushes need not wake again.
            self.inner.lock().unwrap().scheduled = true;
        }
        (ev, rearm)
    }

    /// Whether the owner still drains it (not closed at thread exit).
    pub fn is_alive(&self) -> bool {
        self.inner.lock().unwrap().alive
    }

    /// The owner will not drain any more (thread exit): drop what is queued
    /// and refuse new events.
    pub fn close(&self) {
        self.waker.lock().unwrap().alive = false;
        self.front.lock().unwrap().events.clear();
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
    fn events_pushed_while_a_wakeup_is_pending_are_not_stranded() {
        let n = Arc::new(AtomicUsize::new(0));
        let mb = Mailbox::new(Box::new(Count(n.clone())));
        mb.push_all([(ConnId(1), Event::Text(b"a".to_vec()))]);
        mb.push_all([(ConnId(1), Event::Text(b"b".to_vec()))]);
        mb.woken();
        let (a, rearm) = mb.pop();
        assert!(matches!(a, Some((_, Event::Text(ref t))) if t == b"a") && rearm);
        // The owner's wake-up is pending: this push wakes no one ...
        mb.push_all([(ConnId(1), Event::Text(b"c".to_vec()))]);
        assert_eq!(n.load(Ordering::SeqCst), 1);
        // ... and once that wake-up is serviced (a nested loop), taking "b"
        // must leave "c" findable, with a wake-up for it.
        mb.woken();
        let (b, rearm) = mb.pop();
        assert!(matches!(b, Some((_, Event::Text(ref t))) if t == b"b") && rearm);
        let (c, rearm) = mb.pop();
        assert!(matches!(c, Some((_, Event::Text(ref t))) if t == b"c") && !rearm);
        assert!(mb.pop().0.is_none());
    }

    #[test]
    fn one_wakeup_pending_at_a_time() {
        let n = Arc::new(AtomicUsize::new(0));
        let mb = Mailbox::new(Box::new(Count(n.clone())));
        mb.push_all([(ConnId(1), Event::Pong(vec![]))]);
        mb.push_all([(ConnId(1), Event::Pong(vec![]))]);
        assert_eq!(n.load(Ordering::SeqCst), 1);
        // Serviced: the first pop leaves one behind and asks for a
        // wake-up for it (a nested loop would find it), the second does not.
        mb.woken();
        let (a, rearm) = mb.pop();
        assert!(a.is_some() && rearm);
        let (b, rearm) = mb.pop();
        assert!(b.is_some() && !rearm);
        assert!(mb.pop().0.is_none());
        // The rearmed wake-up is still pending: no new notification ...
        mb.push_all([(ConnId(1), Event::Pong(vec![]))]);
        assert_eq!(n.load(Ordering::SeqCst), 1);
        // ... until it has been serviced.
        mb.woken();
        assert!(mb.pop().0.is_some());
        mb.push_all([(ConnId(1), Event::Pong(vec![]))]);
        assert_eq!(n.load(Ordering::SeqCst), 2);
        mb.close();
        mb.push_all([(ConnId(1), Event::Pong(vec![]))]);
        assert_eq!(n.load(Ordering::SeqCst), 2);
    }
}
