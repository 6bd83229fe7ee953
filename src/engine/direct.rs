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
//! [`Direct`](super::types::Direct) (in types.rs, beside the `Shared` that
//! holds it); the I/O thread takes the socket away (under that lock)
//! before it writes a close frame, so nothing follows one.

use std::io::{self, IoSlice, Write};
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::queue::{Cmd, Queue};
use super::types::{ConnId, Shared};

impl Queue {
    /// Writes a frame, `head` then `payload`, to the connection's socket
    /// from the calling thread, if it may (see the module's comment): one
    /// `writev`, no copy. True when the frame is taken (all written, or
    /// its end handed to the I/O thread); false when the caller must queue
    /// it as usual ([`Engine::send`](super::Engine::send)).
    pub(super) fn write_direct(
        &self,
        id: ConnId,
        shared: &Shared,
        head: &[u8],
        payload: &[u8],
    ) -> bool {
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
