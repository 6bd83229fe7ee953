//! What a connection reads from and writes to: a plain TCP socket, a
//! TLS session (rustls, client side) over one, or a bridge to a Tcl
//! channel that only its Tcl thread can read and write.
//!
//! Both are non-blocking and driven by the I/O loop's readiness events.
//! The plain case is a thin `match` around the socket's own calls (no
//! copy, no buffer). The TLS case keeps rustls's buffers:
//!
//! - `read` returns plaintext rustls already holds, else reads records from
//!   the socket and decrypts them; `WouldBlock` when the socket is empty,
//!   `Ok(0)` at the end (close_notify, or TCP EOF without it), and an
//!   `InvalidData` error wrapping the [`rustls::Error`] when the session
//!   fails (the alert is sent first);
//! - `write_vectored` first pushes out records still pending; while some
//!   remain it returns `WouldBlock` (back-pressure), else it encrypts what
//!   rustls accepts (up to its buffer limit), writes what the socket takes
//!   and reports the plaintext bytes accepted. Records left over go out
//!   with the next `write_vectored` or [`Transport::flush_pending`], which
//!   the connection calls once its own queue is empty;
//! - `shutdown` sends close_notify first; a half close (`Write`) of the TCP
//!   socket waits until every record is out.
//!
//! The bridge (a `tls::socket` taken over, a reflected channel...) has no
//! socket: `read` takes the bytes the Tcl thread forwarded (`WouldBlock`
//! when none wait, `Ok(0)` once it forwarded the end), `write_vectored`
//! collects bytes for the Tcl thread to write, up to [`BRIDGE_WINDOW`]
//! bytes not yet out of the channel (`WouldBlock` past it: the Tcl thread
//! says when some left). The connection hands what was collected to the
//! Tcl thread as [`Event::Output`](super::Event::Output) events.

use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use std::os::fd::AsRawFd;

use mio::event::Source;
use mio::net::TcpStream;
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

use super::options::{BRIDGE_IN_HIGH_WATER, BRIDGE_WINDOW};
use super::types::Shared;

/// A client TLS session.
pub type TlsSession = rustls::ClientConnection;

pub enum Transport {
    /// Shared with the connection's Tcl thread while it may write to the
    /// socket itself (see [`super::direct`]).
    Plain(Arc<TcpStream>),
    Tls(Box<Tls>),
    Bridge(Box<Bridge>),
}

/// The engine's end of a bridge to a Tcl channel.
pub struct Bridge {
    shared: Arc<Shared>,
    /// Forwarded bytes; those before `in_pos` are consumed.
    input: Vec<u8>,
    in_pos: usize,
    /// The Tcl thread forwarded the channel's end.
    in_eof: bool,
    /// Bytes for the Tcl thread to write, not yet handed over.
    outbox: Vec<u8>,
    /// Consumption brought `bridge_in` back under its bound.
    read_more: bool,
    /// No bound on what is handed over (process exit).
    unbounded: bool,
    /// The connection is over: nothing more is accepted.
    ended: bool,
}

impl Bridge {
    /// Bytes the Tcl thread read (and counted in `bridge_in`).
    pub fn push_input(&mut self, data: &[u8], eof: bool) {
        if self.in_pos > 0 {
            self.input.drain(..self.in_pos);
            self.in_pos = 0;
        }
        self.input.extend_from_slice(data);
        self.in_eof |= eof;
    }

    /// What to hand to the Tcl thread: bytes to write, and whether it may
    /// read again.
    pub fn take_signals(&mut self) -> (Vec<u8>, bool) {
        (
            std::mem::take(&mut self.outbox),
            std::mem::take(&mut self.read_more),
        )
    }

    pub fn set_unbounded(&mut self) {
        self.unbounded = true;
    }

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let avail = &self.input[self.in_pos..];
        if avail.is_empty() || buf.is_empty() {
            return if self.in_eof || buf.is_empty() {
                Ok(0)
            } else {
                Err(io::ErrorKind::WouldBlock.into())
            };
        }
        let n = avail.len().min(buf.len());
        buf[..n].copy_from_slice(&avail[..n]);
        self.in_pos += n;
        if self.in_pos == self.input.len() {
            self.input.clear();
            self.in_pos = 0;
        }
        let before = self.shared.bridge_in.fetch_sub(n, Ordering::AcqRel);
        if before > BRIDGE_IN_HIGH_WATER && before - n <= BRIDGE_IN_HIGH_WATER {
            self.read_more = true;
        }
        Ok(n)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        if self.ended {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        let held = self.shared.bridge_out.load(Ordering::Acquire);
        let mut room = if self.unbounded {
            usize::MAX
        } else if held >= BRIDGE_WINDOW {
            return Err(io::ErrorKind::WouldBlock.into());
        } else {
            BRIDGE_WINDOW - held
        };
        let mut n = 0;
        for b in bufs {
            let k = b.len().min(room);
            self.outbox.extend_from_slice(&b[..k]);
            n += k;
            room -= k;
            if room == 0 {
                break;
            }
        }
        self.shared.bridge_out.fetch_add(n, Ordering::AcqRel);
        Ok(n)
    }
}

pub struct Tls {
    pub session: TlsSession,
    pub tcp: TcpStream,
    /// The socket's read side reached its end.
    eof: bool,
    /// shutdown(Write) was asked for: do it once every record is out.
    shut_write: bool,
    /// The TCP write side is shut (or broken): nothing more goes out.
    write_done: bool,
}

impl Transport {
    pub fn plain(tcp: TcpStream) -> Transport {
        Transport::Plain(Arc::new(tcp))
    }

    pub fn tls(tcp: TcpStream, session: TlsSession) -> Transport {
        Transport::Tls(Box::new(Tls {
            session,
            tcp,
            eof: false,
            shut_write: false,
            write_done: false,
        }))
    }

    /// A bridge to a Tcl channel of the thread that `shared` belongs to.
    pub fn bridge(shared: Arc<Shared>) -> Transport {
        Transport::Bridge(Box::new(Bridge {
            shared,
            input: Vec::new(),
            in_pos: 0,
            in_eof: false,
            outbox: Vec::new(),
            read_more: false,
            unbounded: false,
            ended: false,
        }))
    }

    /// The TCP socket underneath (none for a bridge).
    pub fn tcp(&self) -> Option<&TcpStream> {
        match self {
            Transport::Plain(s) => Some(&**s),
            Transport::Tls(t) => Some(&t.tcp),
            Transport::Bridge(_) => None,
        }
    }

    /// The plain socket, to share with the Tcl thread (none for TLS or a
    /// bridge, whose bytes only the I/O thread can make).
    pub fn plain_socket(&self) -> Option<Arc<TcpStream>> {
        match self {
            Transport::Plain(s) => Some(s.clone()),
            _ => None,
        }
    }

    /// Whether a read shorter than the buffer means the socket is empty
    /// for now: true for a plain TCP socket on Linux, where data arriving
    /// later raises a new edge-triggered readiness event (tokio relies on
    /// this too); not for TLS, whose reads come from rustls's buffer.
    #[inline]
    pub fn drained_by_short_read(&self) -> bool {
        cfg!(target_os = "linux") && matches!(self, Transport::Plain(_))
    }

    pub fn bridge_mut(&mut self) -> Option<&mut Bridge> {
        match self {
            Transport::Bridge(b) => Some(b),
            _ => None,
        }
    }

    pub fn is_bridge(&self) -> bool {
        matches!(self, Transport::Bridge(_))
    }

    /// The socket and, for TLS, the session (to move them elsewhere).
    /// Only for the connections `connect` opens, never a bridge.
    pub fn into_parts(self) -> (TcpStream, Option<Box<TlsSession>>) {
        match self {
            // Only before the connection is served: nobody shares it yet.
            Transport::Plain(s) => match Arc::try_unwrap(s) {
                Ok(s) => (s, None),
                Err(_) => unreachable!("a socket being opened is not shared"),
            },
            Transport::Tls(t) => {
                let t = *t;
                (t.tcp, Some(Box::new(t.session)))
            }
            Transport::Bridge(_) => unreachable!("a bridge has no socket to move"),
        }
    }

    fn socket(&self) -> io::Result<&TcpStream> {
        self.tcp()
            .ok_or_else(|| io::Error::from(io::ErrorKind::Unsupported))
    }

    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.socket()?.peer_addr()
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket()?.local_addr()
    }

    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.socket()?.take_error()
    }

    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.socket()?.set_nodelay(on)
    }

    /// Drives a TLS handshake as far as the socket allows: true once it
    /// is complete (at once for a plain socket).
    pub fn handshake(&mut self) -> io::Result<bool> {
        match self {
            Transport::Plain(_) | Transport::Bridge(_) => Ok(true),
            Transport::Tls(t) => t.handshake(),
        }
    }

    /// Writes the TLS records already made (nothing for a plain socket);
    /// `WouldBlock` while some remain.
    #[inline]
    pub fn flush_pending(&mut self) -> io::Result<()> {
        match self {
            Transport::Plain(_) | Transport::Bridge(_) => Ok(()),
            Transport::Tls(t) => t.write_pending(),
        }
    }

    /// Shuts the connection down; for TLS, says close_notify first (a
    /// half close waits for the records still pending). A bridge accepts
    /// nothing more once its write side is shut: the Tcl thread closes
    /// the channel when the connection is finished.
    pub fn shutdown(&mut self, how: Shutdown) -> io::Result<()> {
        match self {
            Transport::Plain(s) => s.shutdown(how),
            Transport::Tls(t) => t.shutdown(how),
            Transport::Bridge(b) => {
                if how != Shutdown::Read {
                    b.ended = true;
                }
                Ok(())
            }
        }
    }
}

impl Read for Transport {
    #[inline]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => (&**s).read(buf),
            Transport::Tls(t) => t.read(buf),
            Transport::Bridge(b) => b.read(buf),
        }
    }
}

impl Write for Transport {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => (&**s).write(buf),
            Transport::Tls(t) => t.write_vectored(&[IoSlice::new(buf)]),
            Transport::Bridge(b) => b.write_vectored(&[IoSlice::new(buf)]),
        }
    }

    #[inline]
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => (&**s).write_vectored(bufs),
            Transport::Tls(t) => t.write_vectored(bufs),
            Transport::Bridge(b) => b.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_pending()
    }
}

impl Source for Transport {
    fn register(&mut self, r: &Registry, token: Token, interests: Interest) -> io::Result<()> {
        match self {
            Transport::Plain(s) => SourceFd(&s.as_raw_fd()).register(r, token, interests),
            Transport::Tls(t) => t.tcp.register(r, token, interests),
            // Nothing to poll: the Tcl thread's commands drive a bridge.
            Transport::Bridge(_) => Ok(()),
        }
    }

    fn reregister(&mut self, r: &Registry, token: Token, interests: Interest) -> io::Result<()> {
        match self {
            Transport::Plain(s) => SourceFd(&s.as_raw_fd()).reregister(r, token, interests),
            Transport::Tls(t) => t.tcp.reregister(r, token, interests),
            Transport::Bridge(_) => Ok(()),
        }
    }

    fn deregister(&mut self, r: &Registry) -> io::Result<()> {
        match self {
            Transport::Plain(s) => SourceFd(&s.as_raw_fd()).deregister(r),
            Transport::Tls(t) => t.tcp.deregister(r),
            Transport::Bridge(_) => Ok(()),
        }
    }
}

/// A failed TLS session as an I/O error (see [`tls_error`]).
fn session_error(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

/// The TLS failure behind an I/O error of a [`Transport`], if it is one.
pub fn tls_error(e: &io::Error) -> Option<&rustls::Error> {
    e.get_ref()?.downcast_ref::<rustls::Error>()
}

impl Tls {
    /// Reads records from the socket into rustls and processes them.
    /// Ok(false): the socket has nothing more for now.
    fn fill(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        loop {
            match self.session.read_tls(&mut self.tcp) {
                Ok(0) => {
                    self.eof = true;
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            break;
        }
        if let Err(e) = self.session.process_new_packets() {
            // Tell the peer why (the alert rustls queued), best effort.
            let _ = self.write_pending();
            return Err(session_error(e));
        }
        // Answers rustls owes (key updates...): out if the socket takes them.
        match self.write_pending() {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(_) => self.write_done = true,
        }
        Ok(true)
    }

    fn handshake(&mut self) -> io::Result<bool> {
        loop {
            match self.write_pending() {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            if !self.session.is_handshaking() {
                return Ok(true);
            }
            if self.eof {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the server closed the connection during the TLS handshake",
                ));
            }
            match self.fill() {
                Ok(true) => {}
                Ok(false) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(e),
            }
        }
    }

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.session.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // TCP ended without close_notify: an end all the same.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            }
            if self.eof {
                return Ok(0);
            }
            self.fill()?;
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.write_pending()?;
        let n = self.session.writer().write_vectored(bufs)?;
        if n == 0 && bufs.iter().any(|b| !b.is_empty()) {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        match self.write_pending() {
            Ok(()) => Ok(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(n),
            Err(e) => Err(e),
        }
    }

    /// Writes pending records; `WouldBlock` while some remain.
    fn write_pending(&mut self) -> io::Result<()> {
        if self.write_done {
            return if self.session.wants_write() {
                Err(io::ErrorKind::BrokenPipe.into())
            } else {
                Ok(())
            };
        }
        while self.session.wants_write() {
            match self.session.write_tls(&mut self.tcp) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if self.shut_write {
            self.write_done = true;
            let _ = self.tcp.shutdown(Shutdown::Write);
        }
        Ok(())
    }

    fn shutdown(&mut self, how: Shutdown) -> io::Result<()> {
        if !self.shut_write && !self.write_done {
            self.session.send_close_notify();
        }
        match how {
            Shutdown::Read => self.tcp.shutdown(how),
            Shutdown::Write => {
                self.shut_write = true;
                match self.write_pending() {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
                    r => r,
                }
            }
            Shutdown::Both => {
                // Best effort: the end does not wait for a slow peer.
                let _ = self.write_pending();
                self.write_done = true;
                self.tcp.shutdown(how)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bridge() -> (Transport, Arc<Shared>) {
        let shared = Arc::new(Shared::default());
        (Transport::bridge(shared.clone()), shared)
    }

    #[test]
    fn bridge_reads_what_was_forwarded_then_the_end() {
        let (mut t, shared) = bridge();
        let mut buf = [0u8; 4];
        assert_eq!(
            t.read(&mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        shared.bridge_in.fetch_add(6, Ordering::AcqRel);
        t.bridge_mut().unwrap().push_input(b"abcdef", true);
        assert_eq!(t.read(&mut buf).unwrap(), 4);
        assert_eq!(&buf, b"abcd");
        assert_eq!(t.read(&mut buf).unwrap(), 2);
        assert_eq!(&buf[..2], b"ef");
        assert_eq!(t.read(&mut buf).unwrap(), 0);
        assert_eq!(shared.bridge_in.load(Ordering::Acquire), 0);
    }

    #[test]
    fn bridge_says_read_more_when_consumption_crosses_the_bound() {
        let (mut t, shared) = bridge();
        let n = BRIDGE_IN_HIGH_WATER + 10;
        shared.bridge_in.fetch_add(n, Ordering::AcqRel);
        t.bridge_mut().unwrap().push_input(&vec![0; n], false);
        let mut buf = vec![0u8; 5];
        assert_eq!(t.read(&mut buf).unwrap(), 5);
        assert!(!t.bridge_mut().unwrap().take_signals().1);
        assert_eq!(t.read(&mut buf).unwrap(), 5);
        assert!(t.bridge_mut().unwrap().take_signals().1);
        let mut rest = vec![0u8; n];
        assert_eq!(t.read(&mut rest).unwrap(), n - 10);
        assert!(!t.bridge_mut().unwrap().take_signals().1);
    }

    #[test]
    fn bridge_hands_over_at_most_its_window() {
        let (mut t, shared) = bridge();
        let big = vec![7u8; BRIDGE_WINDOW - 100];
        let small = vec![8u8; 300];
        let n = t
            .write_vectored(&[IoSlice::new(&big), IoSlice::new(&small)])
            .unwrap();
        assert_eq!(n, BRIDGE_WINDOW);
        assert_eq!(shared.bridge_out.load(Ordering::Acquire), BRIDGE_WINDOW);
        assert_eq!(
            t.write(&small).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        let (out, _) = t.bridge_mut().unwrap().take_signals();
        assert_eq!(out.len(), BRIDGE_WINDOW);
        assert_eq!(out[BRIDGE_WINDOW - 1], 8);
        // The Tcl thread wrote some out.
        shared.bridge_out.fetch_sub(1000, Ordering::AcqRel);
        assert_eq!(t.write(&small).unwrap(), 300);
        t.shutdown(Shutdown::Write).unwrap();
        assert_eq!(
            t.write(&small).unwrap_err().kind(),
            io::ErrorKind::BrokenPipe
        );
    }

    #[test]
    fn bridge_without_bound_at_exit() {
        let (mut t, _) = bridge();
        t.bridge_mut().unwrap().set_unbounded();
        let big = vec![1u8; BRIDGE_WINDOW * 2];
        assert_eq!(t.write(&big).unwrap(), BRIDGE_WINDOW * 2);
    }
}
