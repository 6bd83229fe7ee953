//! The addresses a client connection tries, one after the other, until
//! one takes: a non-blocking connect to each (bound to the `-myaddr`
//! address of the same family), its outcome once the socket is ready, and
//! why the last one failed when none is left.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::opened::IoFailure;
use super::transport::Transport;

/// What is left to try.
#[derive(Default)]
pub(super) struct Attempts {
    addrs: VecDeque<SocketAddr>,
    /// `-myaddr`'s addresses (none: let the system choose).
    binds: Vec<SocketAddr>,
    /// Why the last attempt failed.
    last_error: Option<IoFailure>,
    /// The address being connected to.
    current: Option<SocketAddr>,
}

/// The current attempt, once its socket is ready.
pub(super) enum Outcome {
    /// Not yet.
    Pending,
    /// Failed (the reason is kept): try the next address.
    Failed,
    /// Connected: the server's address and ours.
    Connected(SocketAddr, SocketAddr),
}

impl Attempts {
    /// Addresses to connect to, and local ones to bind to.
    pub(super) fn new(addrs: Vec<SocketAddr>, binds: Vec<SocketAddr>) -> Attempts {
        Attempts {
            addrs: addrs.into(),
            binds,
            ..Attempts::default()
        }
    }

    /// Starts a connect to the next address, its socket registered under
    /// `token`. Err when none is left: why the last failed, or that `host`
    /// had no address.
    pub(super) fn next(
        &mut self,
        registry: &Registry,
        token: Token,
        host: &str,
    ) -> Result<Transport, IoFailure> {
        while let Some(addr) = self.addrs.pop_front() {
            match self.start_connect(addr) {
                Ok(stream) => {
                    let mut stream = Transport::plain(stream);
                    let interest = Interest::READABLE | Interest::WRITABLE;
                    if let Err(source) = registry.register(&mut stream, token, interest) {
                        self.last_error = Some(IoFailure::Connect { addr: None, source });
                        continue;
                    }
                    self.current = Some(addr);
                    return Ok(stream);
                }
                Err(source) => {
                    self.last_error = Some(IoFailure::Connect {
                        addr: Some(addr),
                        source,
                    })
                }
            }
        }
        Err(self
            .last_error
            .take()
            .unwrap_or_else(|| IoFailure::NoAddress {
                host: host.to_owned(),
            }))
    }

    fn start_connect(&self, addr: SocketAddr) -> io::Result<TcpStream> {
        let bind = if self.binds.is_empty() {
            None
        } else {
            let same = self.binds.iter().find(|b| b.is_ipv4() == addr.is_ipv4());
            Some(*same.ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::AddrNotAvailable,
                    "no -myaddr address of the same family",
                )
            })?)
        };
        let sock = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        sock.set_nonblocking(true)?;
        if let Some(b) = bind {
            sock.bind(&SockAddr::from(b))?;
        }
        match sock.connect(&SockAddr::from(addr)) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) => return Err(e),
        }
        Ok(TcpStream::from_std(sock.into()))
    }

    /// The current attempt's socket became ready: connected (Nagle off),
    /// failed, or not yet.
    pub(super) fn check(&mut self, stream: &Transport) -> Outcome {
        let failed = match stream.take_error() {
            Ok(Some(e)) | Err(e) => Some(e),
            Ok(None) => None,
        };
        if let Some(source) = failed {
            self.last_error = Some(IoFailure::Connect {
                addr: self.current,
                source,
            });
            return Outcome::Failed;
        }
        match (stream.peer_addr(), stream.local_addr()) {
            (Ok(peer), Ok(local)) => {
                let _ = stream.set_nodelay(true);
                Outcome::Connected(peer, local)
            }
            (Err(e), _) if e.kind() == io::ErrorKind::NotConnected => Outcome::Pending,
            (Err(source), _) | (_, Err(source)) => {
                self.last_error = Some(IoFailure::Connect { addr: None, source });
                Outcome::Failed
            }
        }
    }
}
