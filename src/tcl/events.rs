//! Delivery of engine events into the owning thread's event loop, and the
//! teardown hooks: channel closed by the script, interpreter deleted,
//! thread exit, process exit.

use std::ffi::{c_int, c_void};
use std::sync::atomic::Ordering;
use std::sync::Once;
use std::time::Duration;

use tcl_sys::{tcl, Tcl_Event, Tcl_Interp, Tcl_ThreadId};

use super::ffi::Interp;
use super::state;
use crate::engine::{self, options::INBOX_HIGH_WATER, ConnId, Event, Mailbox, Notify};

/// Events handled per Tcl event, so timers and other channels get turns.
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
        // SAFETY: Tcl_Alloc'ed event of the right size, handed over to Tcl
        // (which frees it); the target thread is alive (see Mailbox::close).
        unsafe {
            let ev = tcl_sys::tclsys_alloc(std::mem::size_of::<Tcl_Event>()).cast::<Tcl_Event>();
            (*ev).proc_ = Some(event_proc);
            (*ev).nextPtr = std::ptr::null_mut();
            tcl_sys::tclsys_thread_queue_event(self.0, ev, tcl_sys::TCL_QUEUE_POSITION_TAIL, 1);
        }
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

unsafe extern "C" fn event_proc(_ev: *mut Tcl_Event, flags: c_int) -> c_int {
    if flags & tcl_sys::TCL_FILE_EVENTS as c_int == 0 {
        return 0; // not now: `update idletasks` and the like
    }
    if !state::has_registry() {
        return 1;
    }
    let mailbox = state::with(|r| r.mailbox.clone());
    let mut batch = Vec::with_capacity(BATCH);
    let more = mailbox.take(BATCH, &mut batch);
    if more {
        // Still marked scheduled: this thread must come back for the rest.
        ThreadNotifierHandle::requeue();
    }
    let _batch = engine::running().map(|e| e.batch());
    for (id, ev) in batch {
        dispatch(id, ev);
    }
    1
}

struct ThreadNotifierHandle;

impl ThreadNotifierHandle {
    fn requeue() {
        // SAFETY: queueing into our own thread.
        let tid = unsafe { tcl!(tcl_GetCurrentThread()) };
        ThreadNotifier(tid).notify();
    }
}

/// Hands one engine event to its handler.
fn dispatch(id: ConnId, ev: Event) {
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

unsafe extern "C" fn interp_deleted(data: *mut c_void, _interp: *mut Tcl_Interp) {
    let interp = Interp(data.cast());
    if !state::has_registry() {
        return;
    }
    let gone = state::with(|r| {
        let st = r.interps.remove(&interp)?;
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
    if let Some(reg) = state::take() {
        reg.mailbox.close();
        for id in reg.by_id.keys() {
            engine::engine().abort(*id);
        }
    }
}

unsafe extern "C" fn process_exit(_data: *mut c_void) {
    if let Some(e) = engine::running() {
        e.shutdown(Duration::from_millis(500));
        // What the engine handed over for bridged channels of this thread.
        if state::has_registry() {
            let mailbox = state::with(|r| r.mailbox.clone());
            super::bridge::flush_at_exit(&mailbox);
        }
    }
}
