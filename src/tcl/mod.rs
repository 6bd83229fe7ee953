//! The Tcl binding: `Websocket_Init`, command registration, and the glue
//! between Tcl's event loop and the engine.

mod bridge;
mod channel;
mod client;
mod client_extra;
mod commands;
mod events;
mod ffi;
mod log;
mod netdb;
mod state;
mod text;
mod ws_channel;

use std::ffi::{c_int, c_void, CString};

use tcl_sys::{tcl, Tcl_Interp, Tcl_Obj};

use ffi::{Interp, TCL_ERROR, TCL_OK};

/// The script half of the package (ensemble, logging).
const SCRIPT: &str = include_str!("../../tcl/websocket.tcl");

pub const VERSION: &str = "1.6";

unsafe extern "C" fn dispatch(
    data: *mut c_void,
    interp: *mut Tcl_Interp,
    objc: c_int,
    objv: *const *mut Tcl_Obj,
) -> c_int {
    // SAFETY: the client data is the command's function pointer, stored
    // below; Tcl passes `objc` valid objects.
    let (cmd, args) = unsafe {
        let cmd: commands::Command = std::mem::transmute::<*mut c_void, commands::Command>(data);
        (cmd, std::slice::from_raw_parts(objv, objc as usize))
    };
    let interp = Interp(interp);
    // A panic must not unwind into C: report it as a Tcl error.
    match std::panic::catch_unwind(|| run(cmd, interp, args)) {
        Ok(rc) => rc,
        Err(_) => interp.error("internal error in the websocket package", &["INTERNAL"]),
    }
}

/// Commands that need the I/O thread.
const ENGINE_COMMANDS: [&str; 6] = ["open", "send", "close", "configure", "upgrade", "takeover"];

fn run(cmd: commands::Command, interp: Interp, args: &[*mut Tcl_Obj]) -> c_int {
    if let Some(why) = crate::engine::running().and_then(|e| e.failure()) {
        let needs_engine = commands::COMMANDS
            .iter()
            .any(|(name, c)| *c as usize == cmd as usize && ENGINE_COMMANDS.contains(name));
        if needs_engine {
            return interp.error(why, &["ENGINE", "FAILED"]);
        }
    }
    cmd(interp, args)
}

/// Package entry point, called by `load`.
///
/// # Safety
/// Called by Tcl with a live interpreter.
#[no_mangle]
pub unsafe extern "C" fn Websocket_Init(interp: *mut Tcl_Interp) -> c_int {
    // SAFETY: must come first; fills the stubs table every call relies on.
    if unsafe { tcl_sys::tclsys_init_stubs(interp, c"8.6-".as_ptr(), 0) }.is_null() {
        return TCL_ERROR;
    }
    let interp = Interp(interp);
    match std::panic::catch_unwind(|| init(interp)) {
        Ok(rc) => rc,
        Err(_) => interp.error("internal error in the websocket package", &["INTERNAL"]),
    }
}

fn init(interp: Interp) -> c_int {
    events::init_thread();
    crate::engine::set_release_memory(release_memory);
    let fresh = state::with(|r| {
        if r.interps.contains_key(&interp) {
            return false;
        }
        r.interps.insert(
            interp,
            state::InterpState {
                conns: Default::default(),
                servers: Default::default(),
                clients: Default::default(),
                level: log::Level::ERROR,
                defaults: crate::engine::Options::server_default(),
            },
        );
        true
    });
    if fresh {
        events::watch_interp(interp);
        log::level_added(log::Level::ERROR);
    }
    log::install_logger();
    for (name, cmd) in commands::COMMANDS {
        let full = CString::new(format!("::websocket::{name}")).expect("no NUL");
        // SAFETY: the function pointer is passed as client data and only
        // turned back into the same type in `dispatch`.
        unsafe {
            tcl!(tcl_CreateObjCommand(
                interp.0,
                full.as_ptr(),
                Some(dispatch),
                *cmd as *mut c_void,
                None
            ))
        };
    }
    if interp.eval_script(SCRIPT) != TCL_OK {
        return TCL_ERROR;
    }
    let v = CString::new(VERSION).expect("no NUL");
    // SAFETY: live interpreter, NUL-terminated strings.
    unsafe { tcl_sys::tclsys_pkg_provide(interp.0, c"websocket".as_ptr(), v.as_ptr()) }
}

/// Gives the C allocator's free memory back to the system, for the engine
/// once many connections have ended.
fn release_memory() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Safe interpreters get the package too: it only talks to sockets the
/// interpreter already holds.
///
/// # Safety
/// Called by Tcl with a live interpreter.
#[no_mangle]
pub unsafe extern "C" fn Websocket_SafeInit(interp: *mut Tcl_Interp) -> c_int {
    // SAFETY: same contract as Websocket_Init.
    unsafe { Websocket_Init(interp) }
}
