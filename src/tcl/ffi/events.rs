//! Tcl's event machinery as the package uses it: an event source polled
//! in Tcl's check phase ([`Polled`]), idle callbacks, and the hooks Tcl
//! calls when an interpreter is deleted, a thread exits or the process
//! exits.
//! Every function Tcl calls here is a thin trampoline into a safe Rust
//! function, under [`guard`].

use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tcl_sys::{tcl, Tcl_Event, Tcl_Interp, Tcl_ThreadId, Tcl_Time};

use super::guard::guard;
use super::interp::Interp;

/// What services the events queued into a thread.
pub trait EventSource {
    /// What it is, for the message should it panic.
    const WHAT: &'static str;
    /// Tcl services one of our queued events (file events are being
    /// handled).
    fn service();

    /// The thread is about to wait for events with the flag down; it may
    /// watch the flag a little first.
    fn before_wait(_flag: &Flag) {}
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

    /// Wakes the thread's notifier (`Tcl_ThreadAlert`), from any thread:
    /// it runs its event sources' check procedures. The thread must be
    /// alive.
    pub fn alert(self) {
        // SAFETY: meant to be called from any thread; the target thread is
        // alive (see Mailbox::close).
        unsafe { tcl!(tcl_ThreadAlert(self.0)) }
    }
}

/// What asks for a [`Polled`] source to be serviced.
#[derive(Default)]
pub struct Flag {
    up: AtomicBool,
    /// The owner is watching `up` (see [`Flag::watching`]).
    watched: AtomicBool,
}

impl Flag {
    /// Raises the flag, from another thread. Returns whether the owner
    /// must be alerted ([`ThreadId::alert`]): not while it watches the
    /// flag. The alert is a write to a file the owner must then read
    /// (Tcl 9), or a condition variable signalled under the notifier's
    /// mutex, which the owner takes too (Tcl 8.6); an owner that sees the
    /// flag up does not wait (see `setup_proc`).
    pub fn raise(&self) -> bool {
        self.up.store(true, Ordering::SeqCst);
        !self.watched.load(Ordering::SeqCst)
    }

    /// Whether it is up.
    pub fn is_up(&self) -> bool {
        // SeqCst: after `watching`, pairs with `raise` (either the raiser
        // sees the owner no longer watching, or the owner sees it up).
        self.up.load(Ordering::SeqCst)
    }

    /// Runs `f`, which watches the flag on the owner's thread, telling
    /// raisers meanwhile that no alert is needed.
    pub fn watching<T>(&self, f: impl FnOnce() -> T) -> T {
        self.watched.store(true, Ordering::SeqCst);
        let r = f();
        self.watched.store(false, Ordering::SeqCst);
        r
    }
}

/// An event source of this thread, serviced by an [`EventSource`], that
/// any thread asks for by raising a [`Flag`] ([`Polled::flag`]; from
/// another thread, then [`ThreadId::alert`] unless the raise says the
/// thread is watching). Tcl queues its event in the check phase of
/// `Tcl_DoOneEvent`, as it does for timers and channels, and services it
/// after theirs: however much it has to do, they get their turns (an
/// event queued while the last one is serviced would be serviced before
/// Tcl ever looks at timers and channels again). Dropped on this thread,
/// which removes the source.
pub struct Polled {
    /// Also the source's client data, alive as long as the source.
    flag: Arc<Flag>,
    setup: SourceProc,
    check: SourceProc,
}

/// A setup or check procedure of an event source.
type SourceProc = unsafe extern "C" fn(*mut c_void, c_int);

impl Polled {
    /// Adds a source serviced by `S` to the calling thread.
    pub fn install<S: EventSource>() -> Polled {
        let flag = Arc::new(Flag::default());
        // SAFETY: plain functions; the data is the flag, which `Polled`
        // keeps until `drop` has removed the source.
        unsafe {
            tcl!(tcl_CreateEventSource(
                Some(setup_proc::<S>),
                Some(check_proc::<S>),
                Arc::as_ptr(&flag).cast_mut().cast()
            ))
        };
        Polled {
            flag,
            setup: setup_proc::<S>,
            check: check_proc::<S>,
        }
    }

    /// The flag that asks for the source to be serviced, for another
    /// thread (which then alerts this one if [`Flag::raise`] says so).
    pub fn flag(&self) -> Arc<Flag> {
        self.flag.clone()
    }

    /// Asks, from this thread, for the source to be serviced again (the
    /// thread runs its check phase before it waits).
    pub fn raise(&self) {
        self.flag.up.store(true, Ordering::Release);
    }
}

impl Drop for Polled {
    fn drop(&mut self) {
        // SAFETY: removes the source `install` added on this thread, with
        // the same procedures and data, before the flag goes.
        unsafe {
            tcl!(tcl_DeleteEventSource(
                Some(self.setup),
                Some(self.check),
                Arc::as_ptr(&self.flag).cast_mut().cast()
            ))
        }
    }
}

/// Before the thread waits: no waiting while the flag is up.
unsafe extern "C" fn setup_proc<S: EventSource>(data: *mut c_void, flags: c_int) {
    if flags & tcl_sys::TCL_FILE_EVENTS as c_int == 0 {
        return;
    }
    // SAFETY: the flag `Polled::install` registered, alive until the
    // source is deleted.
    let flag = unsafe { &*data.cast::<Flag>() };
    if !flag.is_up() && flags & tcl_sys::TCL_DONT_WAIT as c_int == 0 {
        guard(S::WHAT, || S::before_wait(flag));
    }
    if flag.is_up() {
        // Tcl 8.6's notifier makes a zero wait a round trip through its
        // notifier thread, and a 1 µs wait a timed sleep (some 50 µs of
        // timer slack) unless the thread was alerted: alerted, it returns
        // at once, and the alert costs no system call. Tcl 9's notifiers
        // take 1 µs for a poll.
        #[cfg(not(tcl9))]
        ThreadId::current().alert();
        let soon = Tcl_Time { sec: 0, usec: 1 };
        // SAFETY: a Tcl time Tcl copies.
        unsafe { tcl!(tcl_SetMaxBlockTime(&soon)) };
    }
}

/// After the thread waited: the flag up queues one event for `S`.
unsafe extern "C" fn check_proc<S: EventSource>(data: *mut c_void, flags: c_int) {
    if flags & tcl_sys::TCL_FILE_EVENTS as c_int == 0 {
        return;
    }
    // SAFETY: as in `setup_proc`.
    let flag = unsafe { &*data.cast::<Flag>() };
    if !flag.up.swap(false, Ordering::AcqRel) {
        return;
    }
    // SAFETY: Tcl_Alloc'ed event of the right size, handed over to Tcl
    // (which frees it), queued into the calling thread.
    unsafe {
        let ev = tcl_sys::tclsys_alloc(std::mem::size_of::<Tcl_Event>()).cast::<Tcl_Event>();
        (*ev).proc_ = Some(event_proc::<S>);
        (*ev).nextPtr = std::ptr::null_mut();
        tcl_sys::tclsys_thread_queue_event(
            tcl!(tcl_GetCurrentThread()),
            ev,
            tcl_sys::TCL_QUEUE_POSITION_TAIL,
            0,
        );
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
