//! What a Tcl thread hands the engine: a socket to serve
//! ([`Registration`]) or a client WebSocket to open ([`ConnectRequest`]).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use super::mailbox::Mailbox;
use super::options::Options;
use super::types::Stream;
use crate::protocol::proxy::Proxy;
use crate::protocol::Role;

/// A socket handed to the engine.
pub struct Registration {
    /// The socket, or how to reach it.
    pub stream: Stream,
    /// Whether we are the server or the client end.
    pub role: Role,
    /// Bytes already read from the socket by someone else (Tcl's buffer).
    pub initial: Vec<u8>,
    /// Bytes to write before anything else (the server's 101 answer).
    pub preamble: Vec<u8>,
    /// Drop one LF at the very start of the input: Tcl's CRLF translation
    /// may have eaten the CR of the request's last line but not its LF. A
    /// frame from a client can never start with 0x0A.
    pub skip_lf: bool,
    /// Where the connection's events go (its thread's mailbox).
    pub mailbox: Arc<Mailbox>,
    /// The connection's settings.
    pub options: Options,
    /// permessage-deflate as negotiated in the handshake.
    pub deflate: Option<crate::protocol::deflate::Agreed>,
}

/// Reverse lookup of an address (getnameinfo), as Tcl names socket ends.
pub type ReverseLookup = fn(IpAddr) -> Option<String>;

/// Everything the engine needs to open a client WebSocket.
pub struct ConnectRequest {
    /// Host name or address (no brackets).
    pub host: String,
    /// The server's port.
    pub port: u16,
    /// The whole HTTP upgrade request.
    pub request: Vec<u8>,
    /// The Sec-WebSocket-Key sent, to check the answer's accept key.
    pub key: String,
    /// Subprotocols offered.
    pub protocols: Vec<String>,
    /// -myaddr: the local address (or name) to bind to.
    pub myaddr: Option<String>,
    /// Covers resolution, connection and handshake; None: no limit.
    pub timeout: Option<Duration>,
    /// Where the connection's events go (its thread's mailbox).
    pub mailbox: Arc<Mailbox>,
    /// The connection's settings.
    pub options: Options,
    /// Names the two ends once connected (None: addresses only).
    pub reverse: Option<ReverseLookup>,
    /// wss://: the TLS configuration and the name the certificate must bear.
    pub tls: Option<TlsTarget>,
    /// Connect through this HTTP proxy (a CONNECT tunnel to host:port).
    pub proxy: Option<Proxy>,
}

/// How to secure a connection.
pub struct TlsTarget {
    /// Trust, client certificate, protocol versions.
    pub config: Arc<rustls::ClientConfig>,
    /// The name the server's certificate must bear.
    pub name: rustls::pki_types::ServerName<'static>,
}
