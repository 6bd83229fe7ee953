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
//! last message has been handled ([`Engine::flush_gathered`]).
//! Every write to the socket, the I/O thread's included, holds the lock of
//! [`Direct`]; the I/O thread takes the socket away (under that lock)
//! before it writes a close frame, so nothing follows one.

use std::io::{self, IoSlice, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use mio::net::TcpStream;

use super::{Cmd, ConnId, Engine};

/// A connection's part for writers from Tcl threads (a field of
/// [`super::Shared`]).
#[derive(Default, Debug)]
pub struct Shared {
    lock: Mutex<Direct>,
    /// Something under the lock is the I/O thread's to write (the end of a
    /// frame, or gathered frames handed over): it must look even when it
    /// has nothing of its own to write.
    turn: AtomicBool,
}

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
    /// Frames of a burst not yet written (counted in `Shared::queued`).
    gathered: Vec<u8>,
}

/// The most a burst gathers before it is written.
const GATHER_MAX: usize = 256 * 1024;

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

    /// The unwritten end of a frame a Tcl thread began, then the frames
    /// it gathered, if any: the I/O thread writes them first (whenever it
    /// writes, so that they precede every frame queued after them).
    pub(super) fn take_rest(&mut self, shared: &super::Shared) -> Option<Vec<u8>> {
        shared.direct.turn.store(false, Ordering::Release);
        if self.rest.is_empty() {
            return (!self.gathered.is_empty()).then(|| std::mem::take(&mut self.gathered));
        }
        let mut rest = std::mem::take(&mut self.rest);
        rest.append(&mut self.gathered);
        Some(rest)
    }

    /// When a Tcl thread last wrote, once.
    pub(super) fn take_wrote_at(&mut self) -> Option<Instant> {
        self.wrote_at.take()
    }
}

impl super::Shared {
    /// The lock every writer of the connection's socket holds.
    pub(super) fn direct(&self) -> MutexGuard<'_, Direct> {
        self.direct.lock.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the I/O thread must take something from under the lock.
    pub(super) fn direct_turn(&self) -> bool {
        self.direct.turn.load(Ordering::Acquire)
    }

    fn give_turn(&self) {
        self.direct.turn.store(true, Ordering::Release);
    }
}

impl Engine {
    /// Writes a frame, `head` then `payload`, to the connection's socket
    /// from the calling thread, if it may (see the module's comment): in a
    /// burst it is gathered, else it goes out with what was gathered in
    /// one `writev`, with no copy. True when the frame is taken (gathered,
    /// written, or its end handed to the I/O thread); false when the
    /// caller must queue it as usual ([`Engine::send`]).
    pub fn write_direct(
        &self,
        id: ConnId,
        shared: &super::Shared,
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
        self.write_now(id, shared, d, [&gathered, head, payload])
    }

    /// Writes the frames a burst gathered, once its last message has been
    /// handled (or hands them to the I/O thread if it may no longer).
    pub fn flush_gathered(&self, id: ConnId, shared: &super::Shared) {
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
        self.write_now(id, shared, d, [&gathered, &[], &[]]);
    }

    /// Writes `parts` in order (the lock held); what the socket does not
    /// take is left, counted in `queued`, for the I/O thread.
    fn write_now(
        &self,
        id: ConnId,
        shared: &super::Shared,
        mut d: MutexGuard<'_, Direct>,
        parts: [&[u8]; 3],
    ) -> bool {
        let total: usize = parts.iter().map(|p| p.len()).sum();
        let Some(socket) = d.socket.as_ref() else {
            return false;
        };
        let mut written = 0;
        while written < total {
            // The parts from `written` on.
            let mut skip = written;
            let mut bufs = [IoSlice::new(&[]); 3];
            let mut n = 0;
            for p in parts {
                if skip >= p.len() {
                    skip -= p.len();
                    continue;
                }
                bufs[n] = IoSlice::new(&p[skip..]);
                skip = 0;
                n += 1;
            }
            match (&**socket).write_vectored(&bufs[..n]) {
                Ok(k) => written += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                // A broken connection: the I/O thread finds out by itself.
                Err(_) if written == 0 && parts[0].is_empty() => return false,
                Err(_) => break,
            }
        }
        d.wrote_at = Some(Instant::now());
        if written < total {
            // The socket is full: the rest waits for the I/O thread, which
            // writes it before anything else.
            let mut rest = Vec::with_capacity(total - written);
            let mut skip = written;
            for p in parts {
                if skip >= p.len() {
                    skip -= p.len();
                    continue;
                }
                rest.extend_from_slice(&p[skip..]);
                skip = 0;
            }
            shared.queued.fetch_add(rest.len(), Ordering::AcqRel);
            d.rest = rest;
            shared.give_turn();
            drop(d);
            self.push(Cmd::Wrote(id));
        }
        true
    }
}
