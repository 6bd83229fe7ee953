//! Tcl's event machinery as the package uses it: events queued into a
//! thread ([`ThreadId::queue`]), idle callbacks, and the hooks Tcl calls
//! when an interpreter is deleted, a thread exits or the process exits.
//! Every function Tcl calls here is a thin trampoline into a safe Rust
//! function, under [`guard`].

use std::ffi::{c_int, c_void};

use tcl_sys::{tcl, Tcl_Event, Tcl_Interp, Tcl_ThreadId};

use super::guard::guard;
use super::interp::Interp;

/// What services the events queued into a thread.
pub trait EventSource {
    /// What it is, for the message should it panic.
    const WHAT: &'static str;
    /// Tcl services one of our queued events (file events are being
    /// handled).
    fn service();
}

/// A hook with nothing to be told: thread exit, process exit.
pub trait Hook {
    /// What it is, for the message should it panic.
    const WHAT: &'static str;
    /// Runs the hook.
    fn run();
}

/// A hook for an interpreter being deleted.
pub trait InterpHook {
    /// What it is, for the message should it panic.
    const WHAT: &'static str;
    /// Runs the hook for `interp`.
    fn run(interp: Interp);
}

/// A Tcl thread, which any thread may queue events into.
#[derive(Clone, Copy, Debug)]
pub struct ThreadId(Tcl_ThreadId);

// SAFETY: a Tcl_ThreadId is an opaque identifier; Tcl_ThreadQueueEvent and
// Tcl_ThreadAlert are meant to be called with it from any thread (the
// mailbox stops calling once the thread's exit handler closed it).
unsafe impl Send for ThreadId {}
// SAFETY: as above; it holds no mutable state.
unsafe impl Sync for ThreadId {}

impl ThreadId {
    /// The calling thread.
    pub fn current() -> ThreadId {
        // SAFETY: plain call on a Tcl thread.
        ThreadId(unsafe { tcl!(tcl_GetCurrentThread()) })
    }

    /// Queues an event into the thread, serviced by `S`; `alert` wakes
    /// its notifier (not needed for the calling thread, which services its
    /// queue before it waits). The thread must be alive.
    pub fn queue<S: EventSource>(self, alert: bool) {
        // SAFETY: Tcl_Alloc'ed event of the right size, handed over to Tcl
        // (which frees it); the target thread is alive (see Mailbox::close).
        unsafe {
            let ev = tcl_sys::tclsys_alloc(std::mem::size_of::<Tcl_Event>()).cast::<Tcl_Event>();
            (*ev).proc_ = Some(event_proc::<S>);
            (*ev).nextPtr = std::ptr::null_mut();
            tcl_sys::tclsys_thread_queue_event(
                self.0,
                ev,
                tcl_sys::TCL_QUEUE_POSITION_TAIL,
                alert as c_int,
            );
        }
    }
}

/// Tcl services one of our events: only with file events (not in
/// `update idletasks` and the like).
unsafe extern "C" fn event_proc<S: EventSource>(_ev: *mut Tcl_Event, flags: c_int) -> c_int {
    if flags & tcl_sys::TCL_FILE_EVENTS as c_int == 0 {
        return 0; // not now
    }
    guard(S::WHAT, S::service);
    1
}

/// Runs `H` when the calling thread exits.
pub fn on_thread_exit<H: Hook>() {
    // SAFETY: registers a plain function; no data.
    unsafe {
        tcl!(tcl_CreateThreadExitHandler(
            Some(hook_proc::<H>),
            std::ptr::null_mut()
        ))
    };
}

/// Runs `H` when the process exits.
pub fn on_process_exit<H: Hook>() {
    // SAFETY: registers a plain function; no data.
    unsafe {
        tcl!(tcl_CreateExitHandler(
            Some(hook_proc::<H>),
            std::ptr::null_mut()
        ))
    };
}

unsafe extern "C" fn hook_proc<H: Hook>(_data: *mut c_void) {
    guard(H::WHAT, H::run);
}

/// Runs `H` when `interp` is deleted.
pub fn on_interp_delete<H: InterpHook>(interp: Interp) {
    // SAFETY: live interpreter; the data is the interpreter pointer itself.
    unsafe {
        tcl!(tcl_CallWhenDeleted(
            interp.as_ptr(),
            Some(interp_proc::<H>),
            interp.as_ptr().cast()
        ))
    }
}

unsafe extern "C" fn interp_proc<H: InterpHook>(data: *mut c_void, _interp: *mut Tcl_Interp) {
    // SAFETY: the data is the interpreter being deleted, still live while
    // its deletion callbacks run.
    let interp = unsafe { Interp::from_raw(data.cast()) };
    guard(H::WHAT, || H::run(interp));
}

/// Runs `f` once the thread is idle (`Tcl_DoWhenIdle`).
pub fn when_idle(f: Box<dyn FnOnce()>) {
    let data = Box::into_raw(Box::new(f));
    // SAFETY: a plain function; the box is taken back exactly once, by
    // `idle_proc`, which Tcl calls once.
    unsafe { tcl!(tcl_DoWhenIdle(Some(idle_proc), data.cast())) };
}

unsafe extern "C" fn idle_proc(data: *mut c_void) {
    // SAFETY: the box made in `when_idle`.
    let f = unsafe { Box::from_raw(data.cast::<Box<dyn FnOnce()>>()) };
    guard("idle callback", f);
}
