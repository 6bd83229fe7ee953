//! The plain types every part of the engine shares: a connection's id, the
//! counters (and the lock of direct writes) it shares with its Tcl thread,
//! and where its bytes come from. A leaf: it imports no other file of the
//! engine.

use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

/// Identifies a connection across threads (never reused).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// Counters a connection shares with its Tcl side.
#[derive(Default, Debug)]
pub struct Shared {
    /// Bytes accepted for sending and not yet written to the socket.
    pub queued: AtomicUsize,
    /// Bytes of events in the mailbox not yet handled by Tcl.
    pub inbox: AtomicUsize,
    /// A bridged connection ([`Stream::Bridge`]): bytes the Tcl thread
    /// read from the channel and forwarded, not yet consumed by the engine.
    pub bridge_in: AtomicUsize,
    /// A bridged connection: bytes handed to the Tcl thread for writing
    /// that have not yet left the channel's buffers.
    pub bridge_out: AtomicUsize,
    /// The socket while the Tcl thread may write to it itself, and the
    /// lock every writer holds
    /// ([`Engine::write_direct`](super::Engine::write_direct)).
    direct: Mutex<Direct>,
    /// Something under that lock is the I/O thread's to write (the end of
    /// a frame, or gathered frames handed over): it must look even when it
    /// has nothing of its own to write.
    direct_turn: AtomicBool,
}

impl Shared {
    /// Bytes accepted for sending and not yet written out: the engine's
    /// queue, plus, for a bridged connection, what the Tcl channel holds.
    pub fn pending(&self) -> usize {
        self.queued.load(Ordering::Acquire) + self.bridge_out.load(Ordering::Acquire)
    }

    /// The lock every writer of the connection's socket holds.
    pub(super) fn direct(&self) -> MutexGuard<'_, Direct> {
        self.direct.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the I/O thread must take something from under the lock.
    pub(super) fn direct_turn(&self) -> bool {
        self.direct_turn.load(Ordering::Acquire)
    }

    /// Asks the I/O thread to take what is under the lock.
    pub(super) fn give_turn(&self) {
        self.direct_turn.store(true, Ordering::Release);
    }
}

/// What a Tcl thread needs to write to a connection's socket (see
/// direct.rs, which writes with it).
#[derive(Default, Debug)]
pub struct Direct {
    /// The socket, while the Tcl thread may write to it.
    pub(super) socket: Option<Arc<mio::net::TcpStream>>,
    /// The end of a frame the socket did not take (counted in
    /// `Shared::queued`): it goes out before anything else.
    pub(super) rest: Vec<u8>,
    /// When a Tcl thread last wrote (keepalive counts it as activity).
    pub(super) wrote_at: Option<Instant>,
    /// Frames of a burst not yet written (counted in `Shared::queued`).
    pub(super) gathered: Vec<u8>,
    /// How much the last burst gathered: the next one starts with room
    /// for as much, instead of growing (and copying) its way there.
    pub(super) last_burst: usize,
}

impl Direct {
    /// Lets Tcl threads write to this socket.
    pub(super) fn arm(&mut self, socket: Arc<mio::net::TcpStream>) {
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
    pub(super) fn take_rest(&mut self, shared: &Shared) -> Option<Vec<u8>> {
        shared.direct_turn.store(false, Ordering::Release);
        if !self.gathered.is_empty() {
            self.last_burst = self.gathered.len();
        }
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

/// Where a connection's bytes come from and go to.
pub enum Stream {
    /// A socket the engine reads and writes itself.
    Tcp(TcpStream),
    /// A Tcl channel that only its thread can read and write (a
    /// `tls::socket`, a reflected channel, a transform): the Tcl thread
    /// forwards what it reads
    /// ([`Engine::bridge_input`](super::Engine::bridge_input)) and writes
    /// what the engine hands it ([`Event::Output`](super::Event::Output)).
    Bridge,
    /// The socket (and unsent output) of this connection, which starts
    /// afresh under a new id: a script took over a WebSocket again.
    Adopt(ConnId),
}
