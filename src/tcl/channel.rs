//! The Tcl channel under a WebSocket: taking its socket over, and closing
//! it when the WebSocket ends.

use std::ffi::{c_int, c_void, CString};
use std::net::TcpStream;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, RawFd};

use tcl_sys::{tcl, Tcl_Channel, Tcl_DString, Tcl_Size};

use super::events::guard;
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
    /// A handle Tcl just gave out.
    pub fn from_raw(chan: Tcl_Channel) -> Channel {
        Channel(chan)
    }

    /// Registered in more than one interpreter (closing it here would not
    /// close it).
    pub fn is_shared(self) -> bool {
        // SAFETY: live channel.
        unsafe { tcl!(tcl_IsChannelShared(self.0)) != 0 }
    }

    /// The channel `name` in `interp`; on failure Tcl's own message is left
    /// in the interpreter.
    pub fn lookup(interp: Interp, name: &Obj) -> Option<Channel> {
        let cname = super::ffi::nul_terminated(name.tcl_utf());
        let mut mode: c_int = 0;
        // SAFETY: live interpreter, NUL-terminated name.
        let chan = unsafe { tcl!(tcl_GetChannel(interp.0, cname.as_ptr(), &mut mode)) };
        (!chan.is_null()).then_some(Channel(chan))
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

    pub fn set_option(self, interp: Interp, name: &str, value: &str) -> bool {
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
    /// duplicates the socket for the engine. The channel is never read or
    /// written again; the caller closes it ([`Channel::close`]) or, when
    /// another interpreter shares it, keeps it until the WebSocket ends.
    pub fn take_over(self, interp: Interp) -> Result<Taken, String> {
        let translation = self.option("-translation").map(|o| o.to_string_lossy());
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
        // As tcllib does; it also frees the channel's encoding stage buffer.
        self.set_option(interp, "-translation", "binary");
        let fd = self
            .socket_fd()
            .ok_or("cannot get the socket of the channel")?;
        let owned = duplicate_high(fd).map_err(|e| format!("cannot duplicate the socket: {e}"))?;
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
    Readable,
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

    /// Installs (or removes) a bridged connection's handler.
    pub fn watch(self, which: Watch, id: ConnId, on: bool) {
        let (mask, proc_): (c_int, unsafe extern "C" fn(*mut c_void, c_int)) = match which {
            Watch::Readable => (tcl_sys::TCL_READABLE as c_int, bridge_readable),
            Watch::Writable => (tcl_sys::TCL_WRITABLE as c_int, bridge_writable),
        };
        let data = id.0 as usize as *mut c_void;
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

    /// Calls back when the channel of a bridged connection closes.
    pub fn watch_bridge_close(self, id: ConnId, on: bool) {
        let data = id.0 as usize as *mut c_void;
        // SAFETY: live channel; same handler and data both ways.
        unsafe {
            if on {
                tcl!(tcl_CreateCloseHandler(self.0, Some(bridge_closed), data))
            } else {
                tcl!(tcl_DeleteCloseHandler(self.0, Some(bridge_closed), data))
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
        unsafe { tcl!(tcl_UnregisterChannel(interp.0, self.0)) };
        interp.set_result(saved);
    }
}

unsafe extern "C" fn bridge_readable(data: *mut c_void, _mask: c_int) {
    guard("channel handler", || {
        super::bridge::readable(ConnId(data as usize as u64))
    });
}

unsafe extern "C" fn bridge_writable(data: *mut c_void, _mask: c_int) {
    guard("channel handler", || {
        super::bridge::writable(ConnId(data as usize as u64))
    });
}

unsafe extern "C" fn bridge_closed(data: *mut c_void) {
    guard("close handler", || {
        super::bridge::closed(ConnId(data as usize as u64))
    });
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
            // SAFETY: both descriptors are open; dup2 swaps what the
            // channel's descriptor number refers to, and Tcl watches no
            // events on it (takeover removed them).
            unsafe { libc::dup2(spare.as_raw_fd(), fd) };
        }
    }
}

/// Tcl 8.6 watches descriptors with select(), which cannot go past
/// FD_SETSIZE (1024): the engine's duplicates take numbers from there up
/// when the limit allows, leaving the low ones to Tcl's own sockets.
fn duplicate_high(fd: RawFd) -> std::io::Result<std::os::fd::OwnedFd> {
    const FIRST_HIGH_FD: RawFd = 1024;
    // SAFETY: `fd` is open (the channel holds it); F_DUPFD_CLOEXEC makes a
    // new descriptor that we own from here on.
    let high = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, FIRST_HIGH_FD) };
    if high >= 0 {
        // SAFETY: `high` was just created and is owned by nobody else.
        return Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(high) });
    }
    // SAFETY: as above; the plain duplicate when high numbers are not allowed.
    unsafe { BorrowedFd::borrow_raw(fd) }.try_clone_to_owned()
}

unsafe extern "C" fn channel_closed(data: *mut c_void) {
    guard("close handler", || {
        super::events::channel_closed(ConnId(data as usize as u64))
    });
}
