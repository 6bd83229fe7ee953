//! The package's entry points, `<Pkg>_Init` and `<Pkg>_SafeInit`, which
//! `load` calls: [`package_entry!`] defines them around a safe function.

use std::ffi::c_int;

use tcl_sys::Tcl_Interp;

use super::interp::{Interp, TCL_ERROR, TCL_OK};
use crate::tcl::error::TclError;

/// Fills the stubs table, then runs `init` (a panic becomes an error).
///
/// # Safety
/// `interp` is the live interpreter Tcl passed to an `_Init` function.
pub unsafe fn run_init(interp: *mut Tcl_Interp, init: fn(Interp) -> Result<(), TclError>) -> c_int {
    // SAFETY: must come first; fills the stubs table every call relies on.
    if unsafe { tcl_sys::tclsys_init_stubs(interp, c"8.6-".as_ptr(), 0) }.is_null() {
        return TCL_ERROR;
    }
    // SAFETY: the caller's promise.
    let interp = unsafe { Interp::from_raw(interp) };
    let r = std::panic::catch_unwind(|| init(interp)).unwrap_or_else(|_| {
        Err(TclError::ws(
            "internal error in the websocket package",
            &["INTERNAL"],
        ))
    });
    match r {
        Ok(()) => TCL_OK,
        Err(e) => interp.finish(Err(e)),
    }
}

/// Defines the exported `$init` and `$safe_init` functions Tcl's `load`
/// calls, both running the safe function `$body`.
macro_rules! package_entry {
    ($init:ident, $safe_init:ident, $body:path) => {
        /// Package entry point, called by `load`.
        ///
        /// # Safety
        /// Called by Tcl with a live interpreter.
        #[no_mangle]
        pub unsafe extern "C" fn $init(interp: *mut tcl_sys::Tcl_Interp) -> std::ffi::c_int {
            // SAFETY: Tcl calls it with a live interpreter of this thread.
            unsafe { $crate::tcl::ffi::init::run_init(interp, $body) }
        }

        /// Safe interpreters get the package too: it only talks to sockets
        /// the interpreter already holds.
        ///
        /// # Safety
        /// Called by Tcl with a live interpreter.
        #[no_mangle]
        pub unsafe extern "C" fn $safe_init(interp: *mut tcl_sys::Tcl_Interp) -> std::ffi::c_int {
            // SAFETY: as for the `_Init` function.
            unsafe { $crate::tcl::ffi::init::run_init(interp, $body) }
        }
    };
}

pub(crate) use package_entry;
