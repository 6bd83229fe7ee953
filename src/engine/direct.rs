//! Frames a Tcl thread writes to the socket itself, without waking the I/O
//! thread: the round trip of a request/response exchange then costs one
//! thread hop less (see docs/performance.md).
//!
//! Only while the connection is open on a plain socket without compression
//! (TLS records and compressed frames are made on the I/O thread), nothing
//! is queued for it (`Shared::queued` is zero: no frame of the I/O
//! thread's or of an earlier `send` waits), and no more messages of the
//! connection wait for their handler (`Shared::inbox` is zero: their
//! answers follow, and the I/O thread gathers them into one `writev`).
//! Every write to the socket, the I/O thread's included, holds the lock of
//! [`Direct`]; the I/O thread takes the socket away (under that lock)
//! before it writes a close frame, so nothing follows one.

use std::io::{self, IoSlice, Write};
use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard};
use std::time::Instant;

use mio::net::TcpStream;

use super::{Cmd, ConnId, Engine, Shared};

/// What a Tcl thread needs to write to a connection's socket.
#[derive(Default, Debug)]
pub struct Direct {
    /// The socket, while the Tcl thread may write to it.
    socket: Option<Arc<TcpStream>>,
    /// The end of a frame the socket did not take (counted in
    /// `Shared::queued`): it goes out before anything else.
    rest: Vec<u8>,
    /// When a Tcl thread last wrote (keepalive counts it as activity).
    wrote_at: Option<Instant>,
}

impl Direct {
    /// Lets Tcl threads write to this socket.
    pub(super) fn arm(&mut self, socket: Arc<TcpStream>) {
        self.socket = Some(socket);
    }

    /// No more writes from Tcl threads (the connection is ending, or its
    /// socket moves elsewhere).
    pub(super) fn disarm(&mut self) {
        self.socket = None;
    }

    /// The unwritten end of a frame a Tcl thread began, if any: the I/O
    /// thread writes it first.
    pub(super) fn take_rest(&mut self) -> Option<Vec<u8>> {
        (!self.rest.is_empty()).then(|| std::mem::take(&mut self.rest))
    }

    /// When a Tcl thread last wrote, once.
    pub(super) fn take_wrote_at(&mut self) -> Option<Instant> {
        self.wrote_at.take()
    }
}

impl Shared {
    /// The lock every writer of the connection's socket holds.
    pub(super) fn direct(&self) -> MutexGuard<'_, Direct> {
        self.direct.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Engine {
    /// Writes a frame, `head` then `payload`, to the connection's socket
    /// from the calling thread, if it may (see the module's comment): one
    /// `writev`, no copy. True when the frame is taken (all written, or
    /// its end handed to the I/O thread); false when the caller must queue
    /// it as usual ([`Engine::send`]).
    pub fn write_direct(&self, id: ConnId, shared: &Shared, head: &[u8], payload: &[u8]) -> bool {
        if shared.inbox.load(Ordering::Acquire) != 0 || self.failure().is_some() {
            return false;
        }
        #[cfg(feature = "fault-injection")]
        if [head, payload]
            .iter()
            .any(|b| b.ends_with(b"fault:panic") || b.ends_with(b"fault:poll"))
        {
            return false; // the faults are the I/O thread's to take
        }
        let mut d = shared.direct();
        let Some(socket) = d.socket.as_ref() else {
            return false;
        };
        if shared.queued.load(Ordering::Acquire) != 0 {
            return false;
        }
        let total = head.len() + payload.len();
        let mut written = 0;
        while written < total {
            let res = if written < head.len() {
                let bufs = [IoSlice::new(&head[written..]), IoSlice::new(payload)];
                (&**socket).write_vectored(&bufs)
            } else {
                (&**socket).write(&payload[written - head.len()..])
            };
            match res {
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                // A broken connection: the I/O thread finds out by itself.
                Err(_) if written == 0 => return false,
                Err(_) => break,
            }
        }
        d.wrote_at = Some(Instant::now());
        if written < total {
            // The socket is full: the rest waits for the I/O thread, which
            // writes it before anything else.
            let mut rest = Vec::with_capacity(total - written);
            if written < head.len() {
                rest.extend_from_slice(&head[written..]);
                rest.extend_from_slice(payload);
            } else {
                rest.extend_from_slice(&payload[written - head.len()..]);
            }
            shared.queued.fetch_add(rest.len(), Ordering::AcqRel);
            d.rest = rest;
            drop(d);
            self.push(Cmd::Wrote(id));
        }
        true
    }
}
