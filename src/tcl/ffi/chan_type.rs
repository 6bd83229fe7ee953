//! The channel type "websocket": Tcl's side of a channel that only names
//! a connection (see `ws_channel.rs`). Its driver procedures are thin
//! trampolines into a [`ChannelDriver`]; reading or writing fails with
//! EINVAL.

use std::cell::Cell;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::sync::OnceLock;

use tcl_sys::{tcl, Tcl_ChannelType, Tcl_DString, Tcl_Interp};

use super::channel::Channel;
use super::guard::guard;
use super::interp::{Interp, TCL_ERROR, TCL_OK};
use super::obj::Obj;

/// Tcl's ClientData (not a named type in Tcl 9's headers).
type ClientData = *mut c_void;

/// What a channel of this type does, on its thread.
pub trait ChannelDriver {
    /// The channel is closed: the last call.
    fn closed(self: Box<Self>);
    /// `thread::transfer` cuts the channel `chan` out of this thread.
    fn moved_away(&self, chan: Channel);
    /// `fconfigure` asks for option `name` ("" for all).
    fn option(&self, name: &[u8]) -> OptionReply;
}

/// The answer to `fconfigure`.
pub enum OptionReply {
    /// The value, as list elements.
    Value(Vec<OptionWord>),
    /// An error: the message, with errno ENOTCONN.
    NotConnected(String),
    /// Not an option of ours: Tcl's "bad option" message naming these.
    Unknown(&'static CStr),
}

/// One element of an option's value.
pub enum OptionWord {
    /// A word.
    Word(String),
    /// A sublist of words.
    Sublist(Vec<String>),
}

struct Instance {
    driver: Box<dyn ChannelDriver>,
    /// The channel itself, once created.
    chan: Cell<Option<Channel>>,
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

/// Creates a channel of this type, driven by `driver`, and registers it in
/// `interp`. Named `name` (free in `interp`), or, without one,
/// "sock<hex address of its instance data>" as Tcl names its TCP sockets.
pub fn create(
    interp: Interp,
    name: Option<&str>,
    driver: Box<dyn ChannelDriver>,
) -> (Channel, Obj) {
    let inst = Box::into_raw(Box::new(Instance {
        driver,
        chan: Cell::new(None),
    }));
    let name = match name {
        Some(n) => n.to_owned(),
        None => format!("sock{:x}", inst as usize),
    };
    let cname = CString::new(name.as_str()).unwrap_or_default();
    let mask = (tcl_sys::TCL_READABLE | tcl_sys::TCL_WRITABLE) as c_int;
    // SAFETY: a static channel type, a NUL-terminated name Tcl copies, and
    // instance data owned by the channel from now on (freed by its close
    // procedure); the interpreter is live.
    let chan = unsafe {
        let raw = tcl!(tcl_CreateChannel(
            channel_type(),
            cname.as_ptr(),
            inst.cast(),
            mask
        ));
        tcl!(tcl_RegisterChannel(interp.as_ptr(), raw));
        let chan = Channel::from_raw(raw);
        (*inst).chan.set(Some(chan));
        chan
    };
    (chan, Obj::from_str(&name))
}

fn free(data: ClientData) {
    // SAFETY: `data` is the Box made in `create`, given back exactly once
    // (Tcl calls the close procedure once per channel).
    let inst = unsafe { Box::from_raw(data.cast::<Instance>()) };
    inst.driver.closed();
}

#[cfg(not(tcl9))]
unsafe extern "C" fn close_proc(data: ClientData, _interp: *mut Tcl_Interp) -> c_int {
    guard("channel close procedure", || free(data));
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
    guard("channel close procedure", || free(data));
    0
}

unsafe extern "C" fn thread_action_proc(data: ClientData, action: c_int) {
    if action != tcl_sys::TCL_CHANNEL_THREAD_REMOVE as c_int {
        return;
    }
    guard("channel thread action", || {
        // SAFETY: the instance data lives until the close procedure runs.
        let inst = unsafe { &*data.cast::<Instance>() };
        if let Some(chan) = inst.chan.get() {
            inst.driver.moved_away(chan);
        }
    })
}

unsafe extern "C" fn input_proc(
    _data: ClientData,
    _buf: *mut c_char,
    _to_read: c_int,
    error: *mut c_int,
) -> c_int {
    guard("channel input procedure", || {
        // SAFETY: Tcl passes a valid pointer for the error code.
        unsafe { *error = libc::EINVAL };
        -1
    })
}

unsafe extern "C" fn output_proc(
    _data: ClientData,
    _buf: *const c_char,
    _to_write: c_int,
    error: *mut c_int,
) -> c_int {
    guard("channel output procedure", || {
        // SAFETY: Tcl passes a valid pointer for the error code.
        unsafe { *error = libc::EINVAL };
        -1
    })
}

/// Nothing to watch: the channel is never readable or writable.
unsafe extern "C" fn watch_proc(_data: ClientData, _mask: c_int) {}

unsafe extern "C" fn get_handle_proc(
    _data: ClientData,
    _direction: c_int,
    _handle: *mut ClientData,
) -> c_int {
    TCL_ERROR // no descriptor of ours: the engine owns the socket
}

/// Any mode will do: the channel never blocks.
unsafe extern "C" fn block_mode_proc(_data: ClientData, _mode: c_int) -> c_int {
    0
}

/// Appends one list element to a DString.
///
/// # Safety
/// `ds` is a live DString.
unsafe fn append_element(ds: *mut Tcl_DString, s: &str) {
    let c = CString::new(s).unwrap_or_default();
    // SAFETY: a live DString (the caller's promise) and a NUL-terminated
    // string Tcl copies.
    unsafe { tcl!(tcl_DStringAppendElement(ds, c.as_ptr())) };
}

unsafe extern "C" fn get_option_proc(
    data: ClientData,
    interp: *mut Tcl_Interp,
    name: *const c_char,
    ds: *mut Tcl_DString,
) -> c_int {
    guard("channel option procedure", || {
        // SAFETY: the instance data lives until the close procedure runs;
        // Tcl passes a NUL-terminated option name (or null for all).
        let (inst, name) = unsafe {
            let name: &[u8] = if name.is_null() {
                b""
            } else {
                CStr::from_ptr(name).to_bytes()
            };
            (&*data.cast::<Instance>(), name)
        };
        match inst.driver.option(name) {
            OptionReply::Value(words) => {
                for w in words {
                    // SAFETY: Tcl's live DString; sublists are balanced.
                    unsafe {
                        match w {
                            OptionWord::Word(s) => append_element(ds, &s),
                            OptionWord::Sublist(l) => {
                                tcl!(tcl_DStringStartSublist(ds));
                                for s in l {
                                    append_element(ds, &s);
                                }
                                tcl!(tcl_DStringEndSublist(ds));
                            }
                        }
                    }
                }
                TCL_OK
            }
            OptionReply::NotConnected(msg) => {
                if !interp.is_null() {
                    // SAFETY: Tcl's live interpreter for this call.
                    unsafe { Interp::from_raw(interp) }.set_result(Obj::from_str(&msg));
                }
                // SAFETY: plain call.
                unsafe { tcl!(tcl_SetErrno(libc::ENOTCONN)) };
                TCL_ERROR
            }
            OptionReply::Unknown(known) => {
                let cname = CString::new(name).unwrap_or_default();
                // SAFETY: Tcl formats the standard "bad option" message.
                unsafe { tcl!(tcl_BadChannelOption(interp, cname.as_ptr(), known.as_ptr())) }
            }
        }
    })
}
