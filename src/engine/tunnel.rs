//! The CONNECT tunnel through an HTTP proxy (`-proxy`, or the `http`
//! package's): the request written, the answer read byte by byte up to its
//! blank line (what follows is the server's), and the proxy's verdict.
//! Once the tunnel is open, TLS and the opening handshake go through it.

use std::io::{self, Read, Write};

use super::opened::{ConnectFailure, IoFailure};
use super::transport::Transport;
use crate::protocol::proxy::{self, Answer, Proxy};

/// A tunnel being asked for.
pub(super) struct Tunnel {
    /// The CONNECT request.
    request: Vec<u8>,
    /// How much of it is written.
    written: usize,
    /// The proxy's answer so far.
    answer: Vec<u8>,
    /// The proxy as host:port, for the reasons.
    proxy: String,
}

impl Tunnel {
    /// A tunnel through `via` to `host`:`port`.
    pub(super) fn new(via: &Proxy, host: &str, port: u16) -> Tunnel {
        Tunnel {
            request: proxy::connect_request(host, port, via.auth.as_deref()),
            written: 0,
            answer: Vec::new(),
            proxy: proxy::authority(&via.host, via.port),
        }
    }

    /// Writes the request and reads the answer as far as the socket
    /// allows. Ok(true): the tunnel is open; Ok(false): not yet.
    pub(super) fn drive(&mut self, stream: &mut Transport) -> Result<bool, ConnectFailure> {
        let io = |e: IoFailure| ConnectFailure::Io(e);
        while self.written < self.request.len() {
            match stream.write(&self.request[self.written..]) {
                Ok(0) => return Err(io(IoFailure::Lost)),
                Ok(n) => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io(IoFailure::Stream(e))),
            }
        }
        // Byte by byte up to the blank line: what follows is the server's.
        let mut eof = false;
        loop {
            let mut b = [0u8; 1];
            match stream.read(&mut b) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(_) => {
                    self.answer.push(b[0]);
                    if self.answer.ends_with(b"\n\n") || self.answer.ends_with(b"\n\r\n") {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io(IoFailure::Stream(e))),
            }
        }
        match proxy::parse_answer(&self.answer) {
            Answer::Incomplete if eof => Err(io(IoFailure::ProxyClosed {
                proxy: self.proxy.clone(),
            })),
            Answer::Incomplete => Ok(false),
            Answer::Invalid(why) => Err(io(IoFailure::ProxyAnswer {
                proxy: self.proxy.clone(),
                why,
            })),
            Answer::Refused { code, status_line } => {
                Err(ConnectFailure::ProxyRefused { code, status_line })
            }
            Answer::Open(_) => Ok(true),
        }
    }
}
