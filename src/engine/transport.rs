//! What a connection reads from and writes to: a plain TCP socket, or a
//! TLS session (rustls, client side) over one.
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

use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr};

use mio::event::Source;
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};

/// A client TLS session.
pub type TlsSession = rustls::ClientConnection;

pub enum Transport {
    Plain(TcpStream),
    Tls(Box<Tls>),
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
        Transport::Plain(tcp)
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

    /// The TCP socket underneath.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Transport::Plain(s) => s,
            Transport::Tls(t) => &t.tcp,
        }
    }

    /// The socket and, for TLS, the session (to move them elsewhere).
    pub fn into_parts(self) -> (TcpStream, Option<Box<TlsSession>>) {
        match self {
            Transport::Plain(s) => (s, None),
            Transport::Tls(t) => {
                let t = *t;
                (t.tcp, Some(Box::new(t.session)))
            }
        }
    }

    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.tcp().peer_addr()
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.tcp().local_addr()
    }

    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.tcp().take_error()
    }

    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.tcp().set_nodelay(on)
    }

    /// Drives a TLS handshake as far as the socket allows: true once it
    /// is complete (at once for a plain socket).
    pub fn handshake(&mut self) -> io::Result<bool> {
        match self {
            Transport::Plain(_) => Ok(true),
            Transport::Tls(t) => t.handshake(),
        }
    }

    /// Writes the TLS records already made (nothing for a plain socket);
    /// `WouldBlock` while some remain.
    #[inline]
    pub fn flush_pending(&mut self) -> io::Result<()> {
        match self {
            Transport::Plain(_) => Ok(()),
            Transport::Tls(t) => t.write_pending(),
        }
    }

    /// Shuts the connection down; for TLS, says close_notify first (a
    /// half close waits for the records still pending).
    pub fn shutdown(&mut self, how: Shutdown) -> io::Result<()> {
        match self {
            Transport::Plain(s) => s.shutdown(how),
            Transport::Tls(t) => t.shutdown(how),
        }
    }
}

impl Read for Transport {
    #[inline]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => s.read(buf),
            Transport::Tls(t) => t.read(buf),
        }
    }
}

impl Write for Transport {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => s.write(buf),
            Transport::Tls(t) => t.write_vectored(&[IoSlice::new(buf)]),
        }
    }

    #[inline]
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => s.write_vectored(bufs),
            Transport::Tls(t) => t.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_pending()
    }
}

impl Source for Transport {
    fn register(&mut self, r: &Registry, token: Token, interests: Interest) -> io::Result<()> {
        match self {
            Transport::Plain(s) => s.register(r, token, interests),
            Transport::Tls(t) => t.tcp.register(r, token, interests),
        }
    }

    fn reregister(&mut self, r: &Registry, token: Token, interests: Interest) -> io::Result<()> {
        match self {
            Transport::Plain(s) => s.reregister(r, token, interests),
            Transport::Tls(t) => t.tcp.reregister(r, token, interests),
        }
    }

    fn deregister(&mut self, r: &Registry) -> io::Result<()> {
        match self {
            Transport::Plain(s) => s.deregister(r),
            Transport::Tls(t) => t.tcp.deregister(r),
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
