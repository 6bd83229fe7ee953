//! Tcl channels: the one under a WebSocket (taking its socket over,
//! closing it when the WebSocket ends), non-blocking I/O on a bridged one,
//! and the handlers Tcl calls on them ([`ChannelCallback`]).

use std::ffi::{c_int, c_void, CString};
use std::net::TcpStream;
use std::os::fd::RawFd;

use tcl_sys::{tcl, Tcl_Channel, Tcl_DString, Tcl_Size};

use super::guard::guard;
use super::interp::{cstr, nul_terminated, Interp, TCL_OK};
use super::obj::Obj;
use super::os;
use crate::engine::ConnId;
use crate::tcl::error::TclError;

/// What Tcl calls back on a channel for a connection: a readable or
/// writable handler, or a close handler. Each implementing type is one
/// handler (Tcl tells handlers apart by their function).
pub trait ChannelCallback {
    /// What it is, for the message should it panic.
    const WHAT: &'static str;
    /// Runs for connection `id`.
    fn call(id: ConnId);
}

/// A handler or close handler of Tcl's signature, calling `C`.
unsafe extern "C" fn channel_proc<C: ChannelCallback>(data: *mut c_void, _mask: c_int) {
    guard(C::WHAT, || C::call(ConnId(data as usize as u64)));
}

/// A close handler of Tcl's signature, calling `C`.
unsafe extern "C" fn close_proc<C: ChannelCallback>(data: *mut c_void) {
    guard(C::WHAT, || C::call(ConnId(data as usize as u64)));
}

fn id_data(id: ConnId) -> *mut c_void {
    id.0 as usize as *mut c_void
}

/// A channel of this thread, by handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Channel(Tcl_Channel);

/// What taking a socket over yields.
pub struct Taken {
    /// The socket, the engine's own duplicate.
    pub stream: TcpStream,
    /// Bytes Tcl had read and buffered but nobody consumed.
    pub buffered: Vec<u8>,
    /// Tcl may have swallowed a CR and be waiting to drop the LF after it.
    pub may_skip_lf: bool,
}

impl Channel {
    /// A handle Tcl just gave out.
    ///
    /// # Safety
    /// `chan` is a live channel of this thread for as long as the handle is
    /// used.
    pub(super) unsafe fn from_raw(chan: Tcl_Channel) -> Channel {
        Channel(chan)
    }

    /// Registered in more than one interpreter (closing it here would not
    /// close it).
    pub fn is_shared(self) -> bool {
        // SAFETY: live channel.
        unsafe { tcl!(tcl_IsChannelShared(self.0)) != 0 }
    }

    /// The channel `name` in `interp`; Err is Tcl's own error.
    pub fn lookup(interp: Interp, name: &Obj) -> Result<Channel, TclError> {
        let cname = nul_terminated(name.tcl_utf());
        let mut mode: c_int = 0;
        // SAFETY: live interpreter, NUL-terminated name.
        let chan = unsafe { tcl!(tcl_GetChannel(interp.as_ptr(), cname.as_ptr(), &mut mode)) };
        if chan.is_null() {
            return Err(interp.error_left());
        }
        Ok(Channel(chan))
    }

    /// The type of the channel the script sees: the top of its stack
    /// ("tcp" for a plain socket; a `tls::socket` is a "tls" channel
    /// stacked on a "tcp" one).
    pub fn type_name(self) -> String {
        // SAFETY: a live channel; its top channel's type record is static.
        unsafe {
            let top = tcl!(tcl_GetTopChannel(self.0));
            cstr((*tcl!(tcl_GetChannelType(top))).typeName)
        }
    }

    /// Open for both reading and writing.
    pub fn is_read_write(self) -> bool {
        let both = (tcl_sys::TCL_READABLE | tcl_sys::TCL_WRITABLE) as c_int;
        // SAFETY: live channel.
        unsafe { tcl!(tcl_GetChannelMode(self.0)) & both == both }
    }

    /// The value of a channel option (`fconfigure $chan name`).
    pub fn option(self, name: &str) -> Option<Obj> {
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
            let bytes = std::slice::from_raw_parts(ds.string.cast::<u8>(), ds.length as usize);
            let obj = (rc == TCL_OK).then(|| Obj::from_tcl_utf(bytes));
            tcl!(tcl_DStringFree(&mut ds));
            obj
        }
    }

    /// Sets a channel option; Err is Tcl's error.
    pub fn set_option(self, interp: Interp, name: &str, value: &str) -> Result<(), TclError> {
        let (n, v) = (CString::new(name).unwrap(), CString::new(value).unwrap());
        // SAFETY: live channel and interpreter, NUL-terminated strings.
        let rc = unsafe {
            tcl!(tcl_SetChannelOption(
                interp.as_ptr(),
                self.0,
                n.as_ptr(),
                v.as_ptr()
            ))
        };
        if rc != TCL_OK {
            return Err(interp.error_left());
        }
        Ok(())
    }

    /// Flushes what the script wrote, takes the bytes Tcl buffered, and
    /// duplicates the socket for the engine. The channel is never read or
    /// written again; the caller closes it ([`Channel::close`]) or, when
    /// another interpreter shares it, keeps it until the WebSocket ends.
    /// Err: the reason, in words.
    pub fn take_over(self, interp: Interp) -> Result<Taken, TclError> {
        let translation = self.option("-translation").map(|o| o.to_string_lossy());
        self.set_option(interp, "-blocking", "1")
            .map_err(|e| TclError::reason(e.msg))?;
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
        // As tcllib does; it also frees the channel's encoding stage buffer.
        let _ = self.set_option(interp, "-translation", "binary");
        let fd = self
            .socket_fd()
            .ok_or_else(|| TclError::reason("cannot get the socket of the channel"))?;
        // SAFETY: the channel holds `fd` open.
        let owned = unsafe { os::duplicate_high(fd) }
            .map_err(|e| TclError::reason(format!("cannot duplicate the socket: {e}")))?;
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

    /// Calls `C` for connection `id` when the channel closes (`on`), or
    /// no more (`!on`).
    pub fn watch_close<C: ChannelCallback>(self, id: ConnId, on: bool) {
        let data = id_data(id);
        // SAFETY: live channel; the id is passed by value as client data,
        // and the same (proc, data) pair identifies the handler to delete.
        unsafe {
            if on {
                tcl!(tcl_CreateCloseHandler(self.0, Some(close_proc::<C>), data))
            } else {
                tcl!(tcl_DeleteCloseHandler(self.0, Some(close_proc::<C>), data))
            }
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
        unsafe { tcl!(tcl_UnregisterChannel(interp.as_ptr(), self.0)) };
        interp.set_result(saved);
    }
}

/// How a non-blocking read ([`Channel::read_available`]) stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadEnd {
    /// The budget is used up; more may be there.
    Budget,
    /// Nothing more for now.
    Blocked,
    /// The channel reached its end.
    Eof,
    /// Reading failed (the reason in words).
    Failed(String),
}

/// The channel handlers of a bridged connection (see `bridge.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Watch {
    /// The channel has bytes to read.
    Readable,
    /// The channel can take more output.
    Writable,
}

/// Size of one read of a bridged channel.
const READ_CHUNK: usize = 64 * 1024;

/// Non-blocking I/O on a channel the package serves through Tcl (a
/// stacked or reflected channel): the channel is in non-blocking binary
/// mode, so none of these ever waits.
impl Channel {
    /// Reads what the channel has (its buffers first, then its driver)
    /// into `out`, until it would block, ends, fails, or `budget` bytes
    /// were read.
    pub fn read_available(self, out: &mut Vec<u8>, budget: usize) -> ReadEnd {
        loop {
            if out.len() >= budget {
                return ReadEnd::Budget;
            }
            out.reserve(READ_CHUNK);
            let start = out.len();
            // SAFETY: live channel; `out` has room for READ_CHUNK more
            // bytes, of which Tcl fills the first n it returns.
            let n = unsafe {
                let n = tcl!(tcl_Read(
                    self.0,
                    out.as_mut_ptr().add(start).cast(),
                    READ_CHUNK as Tcl_Size
                ));
                if n > 0 {
                    out.set_len(start + n as usize);
                }
                n
            };
            if n < 0 {
                // SAFETY: plain call, right after the failing one.
                let errno = unsafe { tcl!(tcl_GetErrno()) };
                return ReadEnd::Failed(std::io::Error::from_raw_os_error(errno).to_string());
            }
            // SAFETY: live channel.
            if unsafe { tcl!(tcl_Eof(self.0)) } != 0 {
                return ReadEnd::Eof;
            }
            if (n as usize) < READ_CHUNK {
                return ReadEnd::Blocked;
            }
        }
    }

    /// Queues bytes for writing and starts a background flush; false when
    /// the channel failed.
    pub fn write_nonblocking(self, bytes: &[u8]) -> bool {
        // SAFETY: live channel; pointer and length describe `bytes`, which
        // Tcl copies into its buffers.
        unsafe {
            tcl!(tcl_Write(
                self.0,
                bytes.as_ptr().cast(),
                bytes.len() as Tcl_Size
            )) >= 0
                && tcl!(tcl_Flush(self.0)) == TCL_OK
        }
    }

    /// Bytes in the channel's output buffers, not yet handed to its driver.
    pub fn output_buffered(self) -> usize {
        // SAFETY: live channel.
        unsafe { tcl!(tcl_OutputBuffered(self.0)) }.max(0) as usize
    }

    /// Bytes read from the driver and buffered, not yet consumed.
    pub fn input_buffered(self) -> usize {
        // SAFETY: live channel.
        unsafe { tcl!(tcl_InputBuffered(self.0)) }.max(0) as usize
    }

    /// Installs (or removes) a bridged connection's handler, `C`.
    pub fn watch<C: ChannelCallback>(self, which: Watch, id: ConnId, on: bool) {
        let mask = match which {
            Watch::Readable => tcl_sys::TCL_READABLE as c_int,
            Watch::Writable => tcl_sys::TCL_WRITABLE as c_int,
        };
        let proc_ = channel_proc::<C>;
        let data = id_data(id);
        // SAFETY: live channel; the id is passed by value as client data,
        // and the same (proc, data) pair identifies the handler to delete.
        unsafe {
            if on {
                tcl!(tcl_CreateChannelHandler(self.0, mask, Some(proc_), data))
            } else {
                tcl!(tcl_DeleteChannelHandler(self.0, Some(proc_), data))
            }
        }
    }

    /// Closes a bridged connection's channel as the `close` command would
    /// (errors ignored): with output pending, Tcl flushes it in the
    /// background, then closes.
    pub fn close_bridged(self, interp: Interp) {
        let saved = interp.result();
        // SAFETY: the channel is registered in `interp`; after this call
        // the handle is not used again.
        unsafe { tcl!(tcl_UnregisterChannel(interp.as_ptr(), self.0)) };
        interp.set_result(saved);
    }
}

impl Channel {
    /// The descriptor under a "tcp" channel.
    fn socket_fd(self) -> Option<RawFd> {
        let mut handle: *mut c_void = std::ptr::null_mut();
        // SAFETY: live channel; for a "tcp" channel the handle is its fd.
        let rc = unsafe {
            tcl!(tcl_GetChannelHandle(
                self.0,
                tcl_sys::TCL_READABLE as c_int,
                &mut handle
            ))
        };
        (rc == TCL_OK).then_some(handle as isize as RawFd)
    }

    fn detach_socket(self) {
        let Ok((spare, _other_end)) = std::os::unix::net::UnixStream::pair() else {
            return;
        };
        if let Some(fd) = self.socket_fd() {
            // SAFETY: the channel holds `fd` open; Tcl watches no events
            // on it (takeover removed them), and only closes it later.
            unsafe { os::point_at(fd, &spare) };
        }
    }
}
