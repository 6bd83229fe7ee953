//! Faults a test-only build (cargo feature `fault-injection`) can inject
//! into the I/O thread, to prove its supervision: a frame whose payload
//! ends with `fault:panic` makes the thread panic when it takes the frame;
//! one ending with `fault:poll` makes its next poll fail. Normal builds do
//! not contain this module.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};

static POLL_FAILS: AtomicBool = AtomicBool::new(false);

/// Looks at a frame handed over by a Tcl thread.
pub fn on_send(frame: &[u8]) {
    if frame.ends_with(b"fault:panic") {
        panic!("injected fault");
    }
    if frame.ends_with(b"fault:poll") {
        POLL_FAILS.store(true, Ordering::SeqCst);
    }
}

/// The result the next poll gives instead of its own, if any.
pub fn poll_result() -> Option<io::Error> {
    POLL_FAILS
        .swap(false, Ordering::SeqCst)
        .then(|| io::Error::other("injected poll failure"))
}
