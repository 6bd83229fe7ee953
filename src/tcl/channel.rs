//! The Tcl channel under a WebSocket: taking its socket over, and closing
//! it when the WebSocket ends.

use std::ffi::{c_int, c_void, CString};
use std::net::TcpStream;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};

use tcl_sys::{tcl, Tcl_Channel, Tcl_DString, Tcl_Size};

use super::ffi::{cstr, Interp, Obj, TCL_OK};
use crate::engine::ConnId;

/// A channel of this thread, by handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Channel(Tcl_Channel);

/// What taking a socket over yields.
pub struct Taken {
    pub stream: TcpStream,
    /// Bytes Tcl had read and buffered but nobody consumed.
    pub buffered: Vec<u8>,
    /// Tcl may have swallowed a CR and be waiting to drop the LF after it.
    pub may_skip_lf: bool,
}

impl Channel {
    /// The channel `name` in `interp`; on failure Tcl's own message is left
    /// in the interpreter.
    pub fn lookup(interp: Interp, name: &Obj) -> Option<Channel> {
        let cname = super::ffi::nul_terminated(name.tcl_utf());
        let mut mode: c_int = 0;
        // SAFETY: live interpreter, NUL-terminated name.
        let chan = unsafe { tcl!(tcl_GetChannel(interp.0, cname.as_ptr(), &mut mode)) };
        (!chan.is_null()).then_some(Channel(chan))
    }

    pub fn type_name(self) -> String {
        // SAFETY: a live channel's type record is static.
        unsafe { cstr((*tcl!(tcl_GetChannelType(self.0))).typeName) }
    }

    pub fn option(self, interp: Interp, name: &str) -> Option<Obj> {
        let cname = CString::new(name).ok()?;
        let mut ds = Tcl_DString::default();
        // SAFETY: `ds` is initialised by the call and freed after copying.
        unsafe {
            tcl!(tcl_DStringInit(&mut ds));
            let rc = tcl!(tcl_GetChannelOption(
                std::ptr::null_mut(),
                self.0,
                cname.as_ptr(),
                &mut ds
            ));
            let _ = interp;
            let bytes = std::slice::from_raw_parts(ds.string.cast::<u8>(), ds.length as usize);
            let obj = (rc == TCL_OK).then(|| Obj::from_tcl_utf(bytes));
            tcl!(tcl_DStringFree(&mut ds));
            obj
        }
    }

    fn set_option(self, interp: Interp, name: &str, value: &str) -> bool {
        let (n, v) = (CString::new(name).unwrap(), CString::new(value).unwrap());
        // SAFETY: live channel and interpreter, NUL-terminated strings.
        unsafe {
            tcl!(tcl_SetChannelOption(
                interp.0,
                self.0,
                n.as_ptr(),
                v.as_ptr()
            )) == TCL_OK
        }
    }

    /// Flushes what the script wrote, takes the bytes Tcl buffered, and
    /// duplicates the socket for the engine. The channel stays open (for
    /// `fconfigure -peername`) but is never read or written again.
    pub fn take_over(self, interp: Interp) -> Result<Taken, String> {
        let translation = self
            .option(interp, "-translation")
            .map(|o| o.to_string_lossy());
        if !self.set_option(interp, "-blocking", "1") {
            return Err(interp.result().to_string_lossy());
        }
        // SAFETY: live channel; a blocking flush of the script's output.
        unsafe { tcl!(tcl_Flush(self.0)) };
        // SAFETY: live channel; reading exactly what is buffered never
        // touches the socket.
        let buffered = unsafe {
            let n = tcl!(tcl_InputBuffered(self.0)).max(0) as usize;
            let mut buf = vec![0u8; n];
            let got = if n > 0 {
                tcl!(tcl_ReadRaw(self.0, buf.as_mut_ptr().cast(), n as Tcl_Size)).max(0) as usize
            } else {
                0
            };
            buf.truncate(got);
            buf
        };
        let mut handle: *mut c_void = std::ptr::null_mut();
        // SAFETY: live channel; for a "tcp" channel the handle is its fd.
        let rc = unsafe {
            tcl!(tcl_GetChannelHandle(
                self.0,
                tcl_sys::TCL_READABLE as c_int,
                &mut handle
            ))
        };
        if rc != TCL_OK {
            return Err("cannot get the socket of the channel".into());
        }
        let fd = handle as isize as RawFd;
        // SAFETY: `fd` is open for as long as the channel is, which outlives
        // this call; we only duplicate it.
        let owned = unsafe { BorrowedFd::borrow_raw(fd) }
            .try_clone_to_owned()
            .map_err(|e| format!("cannot duplicate the socket: {e}"))?;
        // Only "auto" input translation turns a CR at the very end of what
        // was read into a pending "drop the next LF", and then nothing is
        // left buffered (crlf mode keeps a lone trailing CR buffered).
        let input = translation
            .as_deref()
            .and_then(|t| t.split_whitespace().next());
        let may_skip_lf = input == Some("auto") && buffered.is_empty();
        Ok(Taken {
            stream: TcpStream::from(owned),
            buffered,
            may_skip_lf,
        })
    }

    /// Calls back when the script closes the channel itself.
    pub fn watch_close(self, id: ConnId) {
        // SAFETY: live channel; the id is passed by value as the client data.
        unsafe {
            tcl!(tcl_CreateCloseHandler(
                self.0,
                Some(channel_closed),
                id.0 as usize as *mut c_void
            ))
        }
    }

    pub fn unwatch_close(self, id: ConnId) {
        // SAFETY: same handler and data as registered in `watch_close`.
        unsafe {
            tcl!(tcl_DeleteCloseHandler(
                self.0,
                Some(channel_closed),
                id.0 as usize as *mut c_void
            ))
        }
    }

    /// Closes the channel as the `close` command would (errors ignored),
    /// leaving the socket to the engine, which may still be in its closing
    /// handshake: Tcl 9 shuts the read side of a socket down before closing
    /// it, and that would reach the engine's duplicate too. So the
    /// channel's descriptor is first pointed at a spare local socket.
    pub fn close(self, interp: Interp) {
        if self.type_name() == "tcp" {
            self.detach_socket();
        }
        let saved = interp.result();
        // SAFETY: the channel is registered in `interp`; after this call
        // the handle is not used again.
        unsafe { tcl!(tcl_UnregisterChannel(interp.0, self.0)) };
        interp.set_result(saved);
    }
}

impl Channel {
    fn detach_socket(self) {
        let mut handle: *mut c_void = std::ptr::null_mut();
        // SAFETY: live channel; for a "tcp" channel the handle is its fd.
        let rc = unsafe {
            tcl!(tcl_GetChannelHandle(
                self.0,
                tcl_sys::TCL_READABLE as c_int,
                &mut handle
            ))
        };
        let Ok((spare, _other_end)) = std::os::unix::net::UnixStream::pair() else {
            return;
        };
        if rc == TCL_OK {
            // SAFETY: both descriptors are open; dup2 swaps what the
            // channel's descriptor number refers to, and Tcl watches no
            // events on it (takeover removed them).
            unsafe { libc::dup2(spare.as_raw_fd(), handle as isize as RawFd) };
        }
    }
}

unsafe extern "C" fn channel_closed(data: *mut c_void) {
    super::events::channel_closed(ConnId(data as usize as u64));
}
