//! Delivery of engine events to handlers, on the thread that owns their
//! interpreter. One way, three steps:
//!
//! 1. [`Delivery::service`]: Tcl services the event the mailbox queued
//!    into the thread (`Tcl_ThreadQueueEvent`); the thread's events are
//!    taken from its mailbox in order, each removed before its handler
//!    runs;
//! 2. [`route`]: one event finds its connection (and releases the inbox's
//!    flow control);
//! 3. [`to_handler`]: the event becomes the handler call tcllib makes.
//!
//! A handler that enters the event loop (`update`, `vwait`) gets here
//! again through the delivery its event source was asked for, and carries
//! on where this call stopped; this call then goes on after it.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::disconnect::closed;
use super::ffi::events::{EventSource, Flag, Polled, ThreadId};
use super::ffi::{Interp, Obj, Preserved};
use super::handler::run_handler;
use super::{bridge, busy_poll, log, open_outcome, state, teardown};
use crate::engine::{self, options::INBOX_HIGH_WATER, ConnId, Event, Mailbox, Notify};

/// Events handled per Tcl event at most, so timers and other channels get
/// turns (the rest waits for the source's next check phase, already asked
/// for).
const BATCH: usize = 256;

/// Wakes one Tcl thread: raises the flag of its delivery source, which
/// its next check phase turns into a queued event, and alerts the thread
/// unless it is watching the flag (src/tcl/ffi/events.rs, busy_poll.rs).
struct ThreadNotifier {
    thread: ThreadId,
    flag: Arc<Flag>,
}

impl Notify for ThreadNotifier {
    fn notify(&self) {
        if self.flag.raise() {
            self.thread.alert();
        }
    }
}

/// Sets up this thread's registry, mailbox and hooks, once per thread.
pub fn init_thread() {
    if state::has_registry() {
        return;
    }
    let source = Polled::install::<Delivery>();
    let notifier = ThreadNotifier {
        thread: ThreadId::current(),
        flag: source.flag(),
    };
    state::install(|| state::Registry {
        mailbox: Mailbox::new(Box::new(notifier)),
        interps: Default::default(),
        by_id: Default::default(),
        moved: Default::default(),
        kinds: state::Kinds::new(),
        source,
    });
    teardown::install_exit_hooks();
}

/// The event source of this thread's mailbox.
struct Delivery;

impl EventSource for Delivery {
    const WHAT: &'static str = "event procedure";

    fn before_wait(flag: &Flag) {
        busy_poll::before_wait(flag);
    }

    /// Delivers this thread's engine events in order, each removed from
    /// the queue before its handler runs.
    fn service() {
        if !state::has_registry() {
            return;
        }
        let mailbox = state::with(|r| r.mailbox.clone());
        mailbox.woken();
        let _batch = engine::running().map(|e| e.batch());
        // Declared after `_batch`, so dropped first: a handler's deletion of
        // its interpreter completes (teardown.rs) before the batch ends.
        let mut keep = Keep::default();
        for _ in 0..BATCH {
            let (next, rearm) = mailbox.pop();
            if rearm {
                // One more delivery in this thread, after Tcl's timers and
                // channels have had their turn (or in a nested event loop).
                state::with(|r| r.source.raise());
            }
            let Some((id, ev)) = next else { break };
            route(id, ev, &mut keep);
            if !state::has_registry() {
                break; // the thread's exit handler ran meanwhile
            }
        }
    }
}

/// The interpreter a batch's handlers last ran in, held (`Tcl_Preserve`)
/// until the batch is over or another one's turn comes: one preserve per
/// batch instead of one per message (it takes a process-wide mutex).
#[derive(Default)]
struct Keep(Option<Preserved>);

impl Keep {
    fn of(&mut self, interp: Interp) -> &Preserved {
        match self.0.take() {
            Some(held) if held.interp() == interp => self.0.insert(held),
            old => {
                // The old guard goes first: a deleted interpreter's
                // teardown need not wait for the next one's messages.
                drop(old);
                self.0.insert(interp.preserve())
            }
        }
    }
}

/// Hands one engine event to its connection's handler.
fn route(id: ConnId, ev: Event, keep: &mut Keep) {
    if let Event::EngineFailed(why) = ev {
        return end_all(&why);
    }
    if let Event::Log(level, text) = ev {
        return log::deliver(id, level, text);
    }
    if matches!(ev, Event::Output(_) | Event::ReadMore | Event::Finished) {
        // A bridged channel's I/O, which outlives the handler's part.
        bridge::on_event(id, ev);
        return;
    }
    // One lookup gives all a message needs (this runs once per message).
    let Some((interp, shared, handler, sock, kind, moved, poll)) = state::with(|r| {
        let ((interp, name), moved) = match r.by_id.get(&id) {
            Some(entry) => (entry, false),
            None => (r.by_id.get(r.moved.get(&id)?)?, true),
        };
        let c = r.interps.get(interp)?.conns.get(name)?;
        let kind = match ev {
            Event::Text(_) => Some(r.kinds.text.clone()),
            Event::Binary(_) => Some(r.kinds.binary.clone()),
            _ => None,
        };
        Some((
            *interp,
            c.shared.clone(),
            c.handler.clone(),
            c.name.clone(),
            kind,
            moved,
            c.options.busy_poll,
        ))
    }) else {
        return; // closed meanwhile
    };
    busy_poll::handled(poll);
    if moved {
        // Read before the socket moved: messages go to the new handler;
        // the old connection's end is no news (the new one reports its own).
        if matches!(ev, Event::Closed { .. }) {
            return;
        }
        return to_handler(keep, interp, &handler, sock, kind, ev);
    }
    let w = ev.weight();
    if w > 0 {
        let before = shared.inbox.fetch_sub(w, Ordering::AcqRel);
        if before > INBOX_HIGH_WATER && before - w <= INBOX_HIGH_WATER {
            engine::engine().resume(id);
            bridge::update(id);
        }
    }
    to_handler(keep, interp, &handler, sock, kind, ev);
    if w > 0 && shared.inbox.load(Ordering::Acquire) == 0 {
        // The burst's last message is handled: out with what its
        // handlers sent (src/engine/direct.rs).
        engine::engine().flush_gathered(id, &shared);
    }
}

/// The I/O thread failed: every WebSocket of this thread ends with
/// `close {1011 reason}` and `disconnect`, oldest first.
fn end_all(why: &str) {
    let mut all: Vec<ConnId> = state::with(|r| {
        let conns = r.interps.values().flat_map(|st| st.conns.values());
        conns.map(|c| c.id).collect()
    });
    all.sort();
    // The engine will write nothing more to bridged channels: they may
    // close once their handlers said goodbye.
    for id in &all {
        bridge::on_event(*id, Event::Finished);
    }
    let mut keep = Keep::default();
    for id in all {
        let ev = Event::Closed {
            code: Some(1011),
            reason: why.to_owned(),
        };
        route(id, ev, &mut keep);
    }
}

/// Makes an event of `sock` the handler call tcllib makes (`kind`: the
/// shared word of a text or binary message).
fn to_handler(
    keep: &mut Keep,
    interp: Interp,
    handler: &Obj,
    sock_obj: Obj,
    kind: Option<Obj>,
    ev: Event,
) {
    if interp.is_deleted() {
        return;
    }
    // A handler may delete its interpreter: its memory stays while `keep`
    // holds it, and its deletion callback (teardown.rs) runs then.
    let keep = keep.of(interp);
    let mut kind = kind;
    let mut word = |k: &str| kind.take().unwrap_or_else(|| Obj::from_str(k));
    match ev {
        Event::Text(b) => {
            let msg = Obj::from_utf8(&b);
            engine::pool::give(b);
            run_handler(keep, handler, sock_obj, word("text"), msg)
        }
        Event::Binary(b) => {
            let msg = Obj::from_bytes(&b);
            engine::pool::give(b);
            run_handler(keep, handler, sock_obj, word("binary"), msg)
        }
        Event::Ping(b) => run_handler(keep, handler, sock_obj, word("ping"), Obj::from_bytes(&b)),
        Event::Pong(b) => run_handler(keep, handler, sock_obj, word("pong"), Obj::from_bytes(&b)),
        ev => state_change(interp, &sock_obj.to_string_lossy(), ev),
    }
}

/// Events that change the connection's state (and look it up by name).
fn state_change(interp: Interp, sock: &str, ev: Event) {
    match ev {
        Event::Closed { code, reason } => {
            let msg = match code {
                Some(c) => Obj::list(&[Obj::from_int(c as i64), Obj::from_str(&reason)]),
                None => Obj::from_str(""),
            };
            closed(interp, sock, msg);
        }
        ev @ (Event::Connected(_) | Event::ConnectFailed(_)) => {
            open_outcome::deliver(interp, sock, ev)
        }
        // Messages went to the handler above; the bridge's I/O never
        // reaches here (see `route`).
        Event::Text(_) | Event::Binary(_) | Event::Ping(_) | Event::Pong(_) => {}
        Event::Output(_) | Event::ReadMore | Event::Finished | Event::EngineFailed(_) => {}
        // Records go to the log in `route`.
        Event::Log(..) => {}
    }
}
