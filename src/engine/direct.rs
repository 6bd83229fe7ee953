//! Frames a Tcl thread writes to the socket itself, without waking the I/O
//! thread: the round trip of a request/response exchange then costs one
//! thread hop less (see docs/performance.md).
//!
//! Only while the connection is open on a plain socket without compression
//! (TLS records and compressed frames are made on the I/O thread), and
//! nothing the I/O thread must write is queued for it (`Shared::queued`
//! counts no more than the frames gathered here). While more of the
//! connection's messages wait for their handler (`Shared::inbox` is not
//! zero: a burst), the frames their handlers send are gathered here and go
//! out in one `writev` with the burst's last frame, or when the burst's
//! last message has been handled
//! ([`Engine::flush_gathered`](super::Engine::flush_gathered)).
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

/// The most a burst gathers before it is written.
const GATHER_MAX: usize = 256 * 1024;
/// The most a gather buffer keeps between bursts (an idle connection holds
/// no more than this).
const GATHER_KEEP: usize = 32 * 1024;

impl Queue {
    /// Writes a frame, `head` then `payload`, to the connection's socket
    /// from the calling thread, if it may (see the module's comment): in a
    /// burst it is gathered, else it goes out with what was gathered in
    /// one `writev`, with no copy. True when the frame is taken (gathered,
    /// written, or its end handed to the I/O thread); false when the
    /// caller must queue it as usual ([`Engine::send`](super::Engine::send)).
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
        if burst && d.gathered.len() + len <= GATHER_MAX {
            d.gathered.extend_from_slice(head);
            d.gathered.extend_from_slice(payload);
            shared.queued.fetch_add(len, Ordering::AcqRel);
            return true;
        }
        let gathered = std::mem::take(&mut d.gathered);
        shared.queued.fetch_sub(gathered.len(), Ordering::AcqRel);
        self.write_now(id, shared, d, gathered, [head, payload])
    }

    /// Writes the frames a burst gathered, once its last message has been
    /// handled (or hands them to the I/O thread if it may no longer).
    pub(super) fn flush_gathered(&self, id: ConnId, shared: &Shared) {
        let mut d = shared.direct();
        if d.gathered.is_empty() {
            return;
        }
        if d.socket.is_none() || shared.queued.load(Ordering::Acquire) != d.gathered.len() {
            // Something of the I/O thread's is queued: it writes them first.
            shared.give_turn();
            drop(d);
            self.push(Cmd::Wrote(id));
            return;
        }
        let gathered = std::mem::take(&mut d.gathered);
        shared.queued.fetch_sub(gathered.len(), Ordering::AcqRel);
        self.write_now(id, shared, d, gathered, [&[], &[]]);
    }

    /// Writes `gathered` then `frame` (the lock held); what the socket does
    /// not take is left, counted in `queued`, for the I/O thread. The
    /// gather buffer comes back, emptied, for the next burst.
    fn write_now(
        &self,
        id: ConnId,
        shared: &Shared,
        mut d: MutexGuard<'_, Direct>,
        mut gathered: Vec<u8>,
        frame: [&[u8]; 2],
    ) -> bool {
        let parts = [&gathered[..], frame[0], frame[1]];
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
                Err(_) if written == 0 && parts[0].is_empty() => return false,
                Err(_) => break,
            }
        }
        d.wrote_at = Some(Instant::now());
        let rest = (written < total).then(|| after(parts, written).concat());
        if gathered.capacity() <= GATHER_KEEP {
            gathered.clear();
            d.gathered = gathered;
        }
        if let Some(rest) = rest {
            // The socket is full: the rest waits for the I/O thread, which
            // writes it before anything else.
            shared.queued.fetch_add(rest.len(), Ordering::AcqRel);
            d.rest = rest;
            shared.give_turn();
            drop(d);
            self.push(Cmd::Wrote(id));
        }
        true
    }
}

/// What is left of `parts` once their first `skip` bytes are written.
fn after(parts: [&[u8]; 3], mut skip: usize) -> [&[u8]; 3] {
    parts.map(|p| {
        let cut = skip.min(p.len());
        skip -= cut;
        &p[cut..]
    })
}
