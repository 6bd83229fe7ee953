//! The Tcl channel that names a WebSocket whose socket the engine owns:
//! one opened by `::websocket::open`, or a TCP socket a script handed to
//! `upgrade`/`takeover` (which replaces Tcl's channel by one of these under
//! the same name, so the engine's descriptor is the only one left). The
//! channel gives the connection a name Tcl knows (`chan names`,
//! `close $sock`, `fconfigure $sock -peername`), unique for as long as it
//! lives: `open` names it "sock<hex address of its instance data>", the way
//! Tcl names its own TCP sockets, so it can never collide with one of them.
//!
//! Reading or writing it fails with EINVAL. Closing it runs the close
//! handler the package registers (`Channel::watch_close`), which aborts the
//! connection in the engine; when the package itself closes it (the
//! WebSocket ended) that handler is removed first and the close procedure
//! only frees the instance data.

use std::cell::{OnceCell, RefCell};
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::OnceLock;

use tcl_sys::{tcl, Tcl_ChannelType, Tcl_DString, Tcl_Interp};

/// Tcl's ClientData (not a named type in Tcl 9's headers).
type ClientData = *mut c_void;

use super::channel::Channel;
use super::ffi::{Interp, Obj, TCL_ERROR, TCL_OK};
use crate::engine::ConnId;

/// One end of a connection: its address, and its host name, looked up
/// when first asked for (as Tcl's TCP channels do) unless already known.
#[derive(Clone, Debug)]
pub struct End {
    addr: SocketAddr,
    host: OnceCell<String>,
}

impl End {
    pub fn new(addr: SocketAddr, host: Option<String>) -> End {
        let cell = OnceCell::new();
        if let Some(h) = host {
            let _ = cell.set(h);
        }
        End { addr, host: cell }
    }

    pub fn ip(&self) -> String {
        self.addr.ip().to_string()
    }

    /// The host name, or the address when it has none.
    pub fn host(&self) -> &str {
        self.host.get_or_init(|| {
            super::netdb::reverse_lookup(self.addr.ip()).unwrap_or_else(|| self.ip())
        })
    }
}

/// What the Tcl side keeps about the connection a channel names.
pub struct ChannelInfo {
    /// The connection `open` started: its opening state is forgotten when
    /// the channel closes.
    pub id: ConnId,
    /// The URL given to `open`, for the handler's messages (empty for a
    /// socket taken over).
    pub url: String,
    /// Peer and local ends, once connected.
    pub ends: RefCell<Option<(End, End)>>,
}

struct Instance {
    info: Rc<ChannelInfo>,
    /// The channel itself, once created.
    chan: std::cell::Cell<Option<Channel>>,
}

struct ChanType(Tcl_ChannelType);

// SAFETY: the record is written once, before any use, and then only read
// by Tcl; the pointers in it are static strings and functions.
unsafe impl Sync for ChanType {}
// SAFETY: as above.
unsafe impl Send for ChanType {}

static TYPE: OnceLock<ChanType> = OnceLock::new();

fn channel_type() -> *const Tcl_ChannelType {
    &TYPE
        .get_or_init(|| {
            ChanType(Tcl_ChannelType {
                typeName: c"websocket".as_ptr(),
                version: std::ptr::without_provenance_mut(5), // TCL_CHANNEL_VERSION_5
                #[cfg(not(tcl9))]
                closeProc: Some(close_proc),
                close2Proc: Some(close2_proc),
                inputProc: Some(input_proc),
                outputProc: Some(output_proc),
                getOptionProc: Some(get_option_proc),
                watchProc: Some(watch_proc),
                getHandleProc: Some(get_handle_proc),
                blockModeProc: Some(block_mode_proc),
                threadActionProc: Some(thread_action_proc),
                ..Default::default()
            })
        })
        .0
}

/// Creates a channel for a client WebSocket and registers it in
/// `interp`; returns its name.
pub fn create(interp: Interp, info: Rc<ChannelInfo>) -> Obj {
    let inst = Box::into_raw(Box::new(Instance {
        info,
        chan: Default::default(),
    }));
    let name = format!("sock{:x}", inst as usize);
    register(interp, &name, inst);
    Obj::from_str(&name)
}

/// Creates a channel named `name` (free in `interp`) and registers it.
pub fn create_named(interp: Interp, name: &str, info: Rc<ChannelInfo>) -> Channel {
    let inst = Box::into_raw(Box::new(Instance {
        info,
        chan: Default::default(),
    }));
    register(interp, name, inst)
}

fn register(interp: Interp, name: &str, inst: *mut Instance) -> Channel {
    let cname = CString::new(name).unwrap_or_default();
    let mask = (tcl_sys::TCL_READABLE | tcl_sys::TCL_WRITABLE) as c_int;
    // SAFETY: a static channel type, a NUL-terminated name Tcl copies, and
    // instance data owned by the channel from now on (freed by its close
    // procedure); the interpreter is live.
    unsafe {
        let chan = tcl!(tcl_CreateChannel(
            channel_type(),
            cname.as_ptr(),
            inst.cast(),
            mask
        ));
        tcl!(tcl_RegisterChannel(interp.0, chan));
        (*inst).chan.set(Some(Channel::from_raw(chan)));
        Channel::from_raw(chan)
    }
}

fn free(data: ClientData) {
    // SAFETY: `data` is the Box made in `create`, given back exactly once
    // (Tcl calls the close procedure once per channel).
    let inst = unsafe { Box::from_raw(data.cast::<Instance>()) };
    super::client::forget(inst.info.id);
}

#[cfg(not(tcl9))]
unsafe extern "C" fn close_proc(data: ClientData, _interp: *mut Tcl_Interp) -> c_int {
    super::events::guard("channel close procedure", || free(data));
    0
}

unsafe extern "C" fn close2_proc(
    data: ClientData,
    _interp: *mut Tcl_Interp,
    flags: c_int,
) -> c_int {
    if flags != 0 {
        return libc::EINVAL; // half-closing means nothing here
    }
    super::events::guard("channel close procedure", || free(data));
    0
}

/// `thread::transfer` cuts the channel out of this thread: the WebSocket
/// cannot follow it (its handler and state belong to an interpreter here),
/// so it ends as if the script had closed the channel, with an error
/// logged; the other thread gets a channel that only names a closed
/// connection, which it may close.
unsafe extern "C" fn thread_action_proc(data: ClientData, action: c_int) {
    if action != tcl_sys::TCL_CHANNEL_THREAD_REMOVE as c_int {
        return;
    }
    super::events::guard("channel thread action", || {
        // SAFETY: the instance data lives until the close procedure runs.
        let inst = unsafe { &*data.cast::<Instance>() };
        // Only the channel keeps the instance's data from here on.
        super::client::forget(inst.info.id);
        if let Some(chan) = inst.chan.get() {
            super::events::channel_moved_away(chan);
        }
    })
}

unsafe extern "C" fn input_proc(
    _data: ClientData,
    _buf: *mut c_char,
    _to_read: c_int,
    error: *mut c_int,
) -> c_int {
    // SAFETY: Tcl passes a valid pointer for the error code.
    unsafe { *error = libc::EINVAL };
    -1
}

unsafe extern "C" fn output_proc(
    _data: ClientData,
    _buf: *const c_char,
    _to_write: c_int,
    error: *mut c_int,
) -> c_int {
    // SAFETY: Tcl passes a valid pointer for the error code.
    unsafe { *error = libc::EINVAL };
    -1
}

unsafe extern "C" fn watch_proc(_data: ClientData, _mask: c_int) {}

unsafe extern "C" fn get_handle_proc(
    _data: ClientData,
    _direction: c_int,
    _handle: *mut ClientData,
) -> c_int {
    TCL_ERROR
}

unsafe extern "C" fn block_mode_proc(_data: ClientData, _mode: c_int) -> c_int {
    0
}

/// Appends one list element to a DString.
fn append_element(ds: *mut Tcl_DString, s: &str) {
    let c = CString::new(s).unwrap_or_default();
    // SAFETY: a live DString from Tcl and a NUL-terminated string it copies.
    unsafe { tcl!(tcl_DStringAppendElement(ds, c.as_ptr())) };
}

fn append_end(ds: *mut Tcl_DString, end: &End) {
    append_element(ds, &end.ip());
    append_element(ds, end.host());
    append_element(ds, &end.addr.port().to_string());
}

/// `fconfigure`'s options of ours, as Tcl's TCP sockets have them:
/// -peername and -sockname ({ip host port}, abbreviations allowed), plus
/// -connecting and -error.
unsafe extern "C" fn get_option_proc(
    data: ClientData,
    interp: *mut Tcl_Interp,
    name: *const c_char,
    ds: *mut Tcl_DString,
) -> c_int {
    super::events::guard("channel option procedure", || {
        // SAFETY: as Tcl calls a channel's option procedure.
        unsafe { get_option(data, interp, name, ds) }
    })
}

/// `fconfigure` on the channel (see `get_option_proc`).
unsafe fn get_option(
    data: ClientData,
    interp: *mut Tcl_Interp,
    name: *const c_char,
    ds: *mut Tcl_DString,
) -> c_int {
    // SAFETY: the instance data lives until the close procedure runs.
    let inst = unsafe { &*data.cast::<Instance>() };
    let ends = inst.info.ends.borrow();
    let name: &[u8] = if name.is_null() {
        b""
    } else {
        // SAFETY: Tcl passes a NUL-terminated option name.
        unsafe { CStr::from_ptr(name) }.to_bytes()
    };
    let is = |full: &[u8]| name.len() > 1 && full.starts_with(name);
    if name.is_empty() {
        append_element(ds, "-connecting");
        append_element(ds, if ends.is_some() { "0" } else { "1" });
        append_element(ds, "-error");
        append_element(ds, "");
        if let Some((peer, sock)) = &*ends {
            for (opt, end) in [("-peername", peer), ("-sockname", sock)] {
                append_element(ds, opt);
                // SAFETY: live DString; sublists are balanced.
                unsafe { tcl!(tcl_DStringStartSublist(ds)) };
                append_end(ds, end);
                // SAFETY: as above.
                unsafe { tcl!(tcl_DStringEndSublist(ds)) };
            }
        }
        return TCL_OK;
    }
    if is(b"-connecting") {
        append_element(ds, if ends.is_some() { "0" } else { "1" });
        return TCL_OK;
    }
    if is(b"-error") {
        append_element(ds, "");
        return TCL_OK;
    }
    let which = if is(b"-peername") {
        Some(("peername", 0))
    } else if is(b"-sockname") {
        Some(("sockname", 1))
    } else {
        None
    };
    match (which, &*ends) {
        (Some((_, i)), Some((peer, sock))) => {
            append_end(ds, if i == 0 { peer } else { sock });
            TCL_OK
        }
        (Some((what, _)), None) => {
            if !interp.is_null() {
                Interp(interp).set_result(Obj::from_str(&format!(
                    "can't get {what}: socket is not connected"
                )));
            }
            // SAFETY: plain call.
            unsafe { tcl!(tcl_SetErrno(libc::ENOTCONN)) };
            TCL_ERROR
        }
        (None, _) => {
            let cname = CString::new(name).unwrap_or_default();
            // SAFETY: Tcl formats the standard "bad option" message.
            unsafe {
                tcl!(tcl_BadChannelOption(
                    interp,
                    cname.as_ptr(),
                    c"connecting error peername sockname".as_ptr()
                ))
            }
        }
    }
}
