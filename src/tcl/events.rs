//! Delivery of engine events into the owning thread's event loop, and the
//! teardown hooks: channel closed by the script, interpreter deleted,
//! thread exit, process exit.

use std::ffi::{c_int, c_void};
use std::sync::atomic::Ordering;
use std::sync::Once;
use std::time::Duration;

use tcl_sys::{tcl, Tcl_Event, Tcl_Interp, Tcl_ThreadId};

use super::channel::Channel;
use super::ffi::Interp;
use super::state;
use crate::engine::{self, options::INBOX_HIGH_WATER, ConnId, Event, Mailbox, Notify};

/// Events handled per Tcl event at most, so timers and other channels get
/// turns (the rest waits for the next wake-up, already queued).
const BATCH: usize = 256;

/// Wakes one Tcl thread by queueing a `Tcl_Event` into it.
struct ThreadNotifier(Tcl_ThreadId);

// SAFETY: a Tcl_ThreadId is an opaque identifier; Tcl_ThreadQueueEvent and
// Tcl_ThreadAlert are meant to be called with it from any thread, and the
// mailbox stops calling once the thread's exit handler closed it.
unsafe impl Send for ThreadNotifier {}
// SAFETY: as above; the notifier holds no mutable state.
unsafe impl Sync for ThreadNotifier {}

impl Notify for ThreadNotifier {
    fn notify(&self) {
        queue_event(self.0, true);
    }
}

/// Queues our event into a thread; `alert` wakes its notifier (not needed
/// for our own thread, which services its queue before it waits).
fn queue_event(tid: Tcl_ThreadId, alert: bool) {
    // SAFETY: Tcl_Alloc'ed event of the right size, handed over to Tcl
    // (which frees it); the target thread is alive (see Mailbox::close).
    unsafe {
        let ev = tcl_sys::tclsys_alloc(std::mem::size_of::<Tcl_Event>()).cast::<Tcl_Event>();
        (*ev).proc_ = Some(event_proc);
        (*ev).nextPtr = std::ptr::null_mut();
        tcl_sys::tclsys_thread_queue_event(
            tid,
            ev,
            tcl_sys::TCL_QUEUE_POSITION_TAIL,
            alert as c_int,
        );
    }
}

/// Sets up this thread's registry and hooks, once per thread.
pub fn init_thread() {
    if state::has_registry() {
        return;
    }
    // SAFETY: called on the thread whose id we record.
    let tid = unsafe { tcl!(tcl_GetCurrentThread()) };
    state::install(|| state::Registry {
        mailbox: Mailbox::new(Box::new(ThreadNotifier(tid))),
        interps: Default::default(),
        by_id: Default::default(),
        moved: Default::default(),
    });
    // SAFETY: registers a plain function; no data.
    unsafe {
        tcl!(tcl_CreateThreadExitHandler(
            Some(thread_exit),
            std::ptr::null_mut()
        ))
    };
    static PROCESS: Once = Once::new();
    // SAFETY: as above, once per process.
    PROCESS.call_once(|| unsafe {
        tcl!(tcl_CreateExitHandler(
            Some(process_exit),
            std::ptr::null_mut()
        ))
    });
}

/// Arranges to forget an interpreter's WebSockets when it is deleted.
pub fn watch_interp(interp: Interp) {
    // SAFETY: live interpreter; the data is the interpreter pointer itself.
    unsafe {
        tcl!(tcl_CallWhenDeleted(
            interp.0,
            Some(interp_deleted),
            interp.0.cast()
        ))
    }
}

/// Tcl services one of our queued events: deliver this thread's engine
/// events in order, each removed from the queue before its handler runs.
/// A handler that enters the event loop (`update`, `vwait`) gets here
/// again through the wake-up queued for the rest, and carries on where
/// this call stopped; this call then goes on after it.
unsafe extern "C" fn event_proc(_ev: *mut Tcl_Event, flags: c_int) -> c_int {
    if flags & tcl_sys::TCL_FILE_EVENTS as c_int == 0 {
        return 0; // not now: `update idletasks` and the like
    }
    guard("event procedure", || {
        if !state::has_registry() {
            return;
        }
        let mailbox = state::with(|r| r.mailbox.clone());
        mailbox.woken();
        let _batch = engine::running().map(|e| e.batch());
        for _ in 0..BATCH {
            let (next, rearm) = mailbox.pop();
            if rearm {
                requeue();
            }
            let Some((id, ev)) = next else { break };
            dispatch(id, ev);
            if !state::has_registry() {
                break; // the thread's exit handler ran meanwhile
            }
        }
    });
    1
}

/// Queues one more wake-up into this thread.
fn requeue() {
    // SAFETY: queueing into our own thread.
    let tid = unsafe { tcl!(tcl_GetCurrentThread()) };
    queue_event(tid, false);
}

/// Runs `f`, turning a panic into a logged error: no panic may unwind into
/// Tcl's C code.
pub fn guard<T: Default>(what: &str, f: impl FnOnce() -> T) -> T {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(_) => {
            eprintln!("websocket: internal error in the {what} (a bug; please report it)");
            T::default()
        }
    }
}

/// Hands one engine event to its handler.
fn dispatch(id: ConnId, ev: Event) {
    if let Event::EngineFailed(why) = ev {
        return end_all(&why);
    }
    if let Event::Log(level, text) = ev {
        return super::log::deliver(id, level, text);
    }
    if matches!(ev, Event::Output(_) | Event::ReadMore | Event::Finished) {
        // A bridged channel's I/O, which outlives the handler's part.
        super::bridge::on_event(id, ev);
        return;
    }
    // One lookup gives all a message needs (this runs once per message).
    let Some((interp, shared, handler, sock, moved)) = state::with(|r| {
        let ((interp, name), moved) = match r.by_id.get(&id) {
            Some(entry) => (entry, false),
            None => (r.by_id.get(r.moved.get(&id)?)?, true),
        };
        let c = r.interps.get(interp)?.conns.get(name)?;
        Some((
            *interp,
            c.shared.clone(),
            c.handler.clone(),
            c.name.clone(),
            moved,
        ))
    }) else {
        return; // closed meanwhile
    };
    if moved {
        // Read before the socket moved: messages go to the new handler;
        // the old connection's end is no news (the new one reports its own).
        if matches!(ev, Event::Closed { .. }) {
            return;
        }
    } else {
        let w = ev.weight();
        if w > 0 {
            let before = shared.inbox.fetch_sub(w, Ordering::AcqRel);
            if before > INBOX_HIGH_WATER && before - w <= INBOX_HIGH_WATER {
                engine::engine().resume(id);
                super::bridge::update(id);
            }
        }
    }
    super::commands::deliver(interp, &handler, sock, ev);
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
        super::bridge::on_event(*id, Event::Finished);
    }
    for id in all {
        let ev = Event::Closed {
            code: Some(1011),
            reason: why.to_owned(),
        };
        dispatch(id, ev);
    }
}

/// The script closed the channel under a live WebSocket: drop it quietly.
pub fn channel_closed(id: ConnId) {
    if !state::has_registry() {
        return;
    }
    let gone = state::with(|r| {
        let (interp, name) = r.by_id.get(&id)?.clone();
        let gone = r.remove_conn(interp, &name);
        r.prune_moved();
        gone
    });
    if gone.is_some() {
        engine::engine().abort(id);
    }
}

/// A WebSocket's channel is being moved to another thread
/// (`thread::transfer`): the WebSocket ends here, as if the script had
/// closed the channel, and nothing of ours stays on the channel.
pub fn channel_moved_away(chan: Channel) {
    if !state::has_registry() {
        return;
    }
    let gone = state::with(|r| {
        let (interp, name) = r.interps.iter().find_map(|(i, st)| {
            st.conns
                .iter()
                .find(|(_, c)| c.channel == Some(chan))
                .map(|(n, _)| (*i, n.clone()))
        })?;
        let gone = r.remove_conn(interp, &name);
        r.prune_moved();
        gone.map(|c| (interp, c))
    });
    if let Some((interp, c)) = gone {
        chan.unwatch_close(c.id);
        engine::engine().abort(c.id);
        let msg = format!(
            "WebSocket {} moved to another thread: a WebSocket stays in its thread, connection ended",
            c.name.to_string_lossy()
        );
        // This runs inside `thread::transfer`, under the Thread package's
        // lock, where no script may run (a logger that sends to another
        // thread would deadlock): log once the thread is idle.
        let data = Box::into_raw(Box::new((interp, msg)));
        // SAFETY: a plain function; the box is taken back exactly once, by
        // `log_moved`, which Tcl calls once.
        unsafe { tcl!(tcl_DoWhenIdle(Some(log_moved), data.cast())) };
    }
}

unsafe extern "C" fn log_moved(data: *mut c_void) {
    // SAFETY: the box made in `channel_moved_away`.
    let b = unsafe { Box::from_raw(data.cast::<(Interp, String)>()) };
    let (interp, msg) = *b;
    guard("idle callback", || {
        // Still registered means not yet deleted and freed.
        if state::has_registry() && state::with(|r| r.interps.contains_key(&interp)) {
            super::log::log(interp, super::log::Level::ERROR, || msg);
        }
    });
}

unsafe extern "C" fn interp_deleted(data: *mut c_void, _interp: *mut Tcl_Interp) {
    guard("interpreter deletion callback", || {
        forget_interp(Interp(data.cast()))
    });
}

fn forget_interp(interp: Interp) {
    if !state::has_registry() {
        return;
    }
    let gone = state::with(|r| {
        let st = r.interps.remove(&interp)?;
        super::log::level_removed(st.level);
        for c in st.conns.values() {
            r.by_id.remove(&c.id);
        }
        r.prune_moved();
        Some(st)
    });
    if let Some(st) = gone {
        for c in st.conns.values() {
            if let Some(ch) = c.channel {
                ch.unwatch_close(c.id);
            }
            engine::engine().abort(c.id);
        }
    }
    super::bridge::forget_interp(interp);
}

unsafe extern "C" fn thread_exit(_data: *mut c_void) {
    guard("thread exit handler", end_thread);
}

fn end_thread() {
    if let Some(reg) = state::take() {
        reg.mailbox.close();
        for st in reg.interps.values() {
            super::log::level_removed(st.level);
        }
        for id in reg.by_id.keys() {
            engine::engine().abort(*id);
        }
    }
}

unsafe extern "C" fn process_exit(_data: *mut c_void) {
    guard("exit handler", end_process);
}

fn end_process() {
    if let Some(e) = engine::running() {
        e.shutdown(Duration::from_millis(500));
        // What the engine handed over for bridged channels of this thread.
        if state::has_registry() {
            let mailbox = state::with(|r| r.mailbox.clone());
            super::bridge::flush_at_exit(&mailbox);
        }
        // Tcl finalizes next: whatever the engine's threads still do (the
        // I/O thread if it did not stop in time, a name lookup), nothing
        // of theirs may reach Tcl any more.
        for mb in engine::Mailbox::all() {
            mb.close();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::guard;

    #[test]
    fn guard_turns_a_panic_into_the_default() {
        assert_eq!(guard("test", || 7), 7);
        assert_eq!(guard("test", || -> i32 { panic!("boom") }), 0);
    }
}
