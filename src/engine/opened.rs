//! What opening a client WebSocket (`::websocket::open`) comes to: the
//! verdicts the I/O thread posts to the Tcl thread, as
//! `Event::Connected` and `Event::ConnectFailed`. A leaf: the mailbox
//! carries them, connect.rs makes them.

use std::net::SocketAddr;

/// A successful opening handshake.
#[derive(Debug)]
pub struct Connected {
    /// The subprotocol the server chose, "" for none.
    pub protocol: String,
    /// The permessage-deflate answer agreed, "" for none.
    pub extensions: String,
    /// The server's address.
    pub peer: SocketAddr,
    /// Our end's address.
    pub local: SocketAddr,
    /// Host names of the two ends (the address when it has no name).
    pub peer_name: String,
    /// See `peer_name`.
    pub local_name: String,
}

/// Why a connection did not become a WebSocket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectFailure {
    /// Resolution or every connection attempt failed, or the server ended
    /// the connection before answering (the reason, for the log).
    Io(String),
    /// The server answered with another status than 101 (`http::ncode`).
    Status(String),
    /// A 101 answer that breaks RFC 6455 4.1 (readable reason).
    Invalid(String),
    /// The -timeout expired first.
    Timeout,
    /// The TLS session failed: a certificate not trusted or not for the
    /// host, a client certificate refused... (readable reason).
    Tls(String),
    /// The proxy refused the tunnel: the code (`http::ncode`) and its
    /// status line.
    ProxyRefused { code: String, status_line: String },
}
