//! Frames a Tcl thread writes to the socket itself, without waking the I/O
//! thread: the round trip of a request/response exchange then costs one
//! thread hop less (see docs/performance.md).
//!
//! Only while the connection is open on a plain socket without compression
//! (TLS records and compressed frames are made on the I/O thread), and
//! nothing the I/O thread must write is queued for it (`Shared::queued`
//! counts no more than the frames gathered here). While more of the
//! connection's messages wait for their handler (`Shared::inbox` is not
//! zero: a burst), the frames their handlers send are gathered here and
//! handed to the I/O thread in one go with the burst's last frame, or when
//! the burst's last message has been handled
//! ([`Engine::flush_gathered`](super::Engine::flush_gathered)): a burst
//! means the Tcl thread is behind, and the I/O thread's `writev` (the
//! kernel's work on the bytes) then runs beside it instead of in its turn.
//! Every write to the socket, the I/O thread's included, holds the lock of
//! [`Direct`](super::types::Direct) (in types.rs, beside the `Shared` that
//! holds it); the I/O thread takes the socket away (under that lock)
//! before it writes a close frame, so nothing follows one.

use std::io::{self, IoSlice, Write};
use std::sync::atomic::Ordering;
use std::sync::MutexGuard;
use std::time::Instant;

use super::queue::{Cmd, Queue};
use super::types::{ConnId, Direct, Shared};

/// The most a burst gathers before it is handed to the I/O thread.
const GATHER_MAX: usize = 256 * 1024;

impl Queue {
    /// Writes a frame, `head` then `payload`, to the connection's socket
    /// from the calling thread, if it may (see the module's comment): in a
    /// burst it is gathered (the burst's last frame hands what was gathered
    /// to the I/O thread), else it goes out in one `writev`, with no copy.
    /// True when the frame is taken (gathered, handed over, written, or its
    /// end handed to the I/O thread); false when the caller must queue it
    /// as usual ([`Engine::send`](super::Engine::send)).
    pub(super) fn write_direct(
        &self,
        id: ConnId,
        shared: &Shared,
        head: &[u8],
        payload: &[u8],
    ) -> bool {
        if self.failure().is_some() {
            return false;
        }
        #[cfg(feature = "fault-injection")]
        if [head, payload]
            .iter()
            .any(|b| b.ends_with(b"fault:panic") || b.ends_with(b"fault:poll"))
        {
            return false; // the faults are the I/O thread's to take
        }
        let burst = shared.inbox.load(Ordering::Acquire) != 0;
        let mut d = shared.direct();
        if d.socket.is_none() || shared.queued.load(Ordering::Acquire) != d.gathered.len() {
            return false;
        }
        let len = head.len() + payload.len();
        let gathering = !d.gathered.is_empty();
        if (burst && d.gathered.len() + len <= GATHER_MAX) || gathering {
            if !gathering {
                let room = d.last_burst.min(GATHER_MAX).max(len);
                d.gathered.reserve(room);
            }
            d.gathered.extend_from_slice(head);
            d.gathered.extend_from_slice(payload);
            shared.queued.fetch_add(len, Ordering::AcqRel);
            if !burst || d.gathered.len() >= GATHER_MAX {
                self.hand_over(id, shared, d);
            }
            return true;
        }
        self.write_now(id, shared, d, [head, payload])
    }

    /// Hands the frames a burst gathered to the I/O thread, once its last
    /// message has been handled.
    pub(super) fn flush_gathered(&self, id: ConnId, shared: &Shared) {
        let d = shared.direct();
        if !d.gathered.is_empty() {
            self.hand_over(id, shared, d);
        }
    }

    /// The I/O thread writes what was gathered, before anything else.
    fn hand_over(&self, id: ConnId, shared: &Shared, d: MutexGuard<'_, Direct>) {
        shared.give_turn();
        drop(d);
        self.push(Cmd::Wrote(id));
    }

    /// Writes `parts` in order (the lock held, nothing gathered); what the
    /// socket does not take is left, counted in `queued`, for the I/O
    /// thread.
    fn write_now(
        &self,
        id: ConnId,
        shared: &Shared,
        mut d: MutexGuard<'_, Direct>,
        parts: [&[u8]; 2],
    ) -> bool {
        let total: usize = parts.iter().map(|p| p.len()).sum();
        let Some(socket) = d.socket.as_ref() else {
            return false;
        };
        let mut written = 0;
        while written < total {
            let left = after(parts, written);
            let bufs = left.map(IoSlice::new);
            match (&**socket).write_vectored(&bufs) {
                Ok(k) => written += k,
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
            let rest = after(parts, written).concat();
            shared.queued.fetch_add(rest.len(), Ordering::AcqRel);
            d.rest = rest;
            self.hand_over(id, shared, d);
        }
        true
    }
}

/// What is left of `parts` once their first `skip` bytes are written.
fn after<const N: usize>(parts: [&[u8]; N], mut skip: usize) -> [&[u8]; N] {
    parts.map(|p| {
        let cut = skip.min(p.len());
        skip -= cut;
        &p[cut..]
    })
}
