//! What opening a client WebSocket (`::websocket::open`) comes to: the
//! verdicts the I/O thread posts to the Tcl thread, as
//! `Event::Connected` and `Event::ConnectFailed`. The mailbox carries
//! them, connect.rs makes them; a failure keeps its cause, and is put in
//! words (its `Display`) only by whom shows it (the Tcl layer, the log).

use std::fmt;
use std::io;
use std::net::SocketAddr;

use super::resolver::Unavailable;
use super::tls::TlsError;
use crate::protocol::client_handshake::BadAnswer;
use crate::protocol::proxy::BadProxyAnswer;

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
#[derive(Debug)]
pub enum ConnectFailure {
    /// Resolution or every connection attempt failed, or the server ended
    /// the connection before answering (for the log).
    Io(IoFailure),
    /// The server answered with another status than 101 (`http::ncode`).
    Status(String),
    /// A 101 answer that breaks RFC 6455 4.1 (its `Display` is the
    /// reason).
    Invalid(BadAnswer),
    /// The -timeout expired first.
    Timeout,
    /// The TLS session failed: a certificate not trusted or not for the
    /// host, a client certificate refused...
    Tls(TlsError),
    /// The proxy refused the tunnel: the code (`http::ncode`) and its
    /// status line.
    ProxyRefused { code: String, status_line: String },
}

/// A connection that could not be made, or was lost before the server
/// answered: what was being done, and the I/O error when there is one.
#[derive(Debug)]
pub enum IoFailure {
    /// No lookup could be run.
    NoLookup(Unavailable),
    /// The host (or the proxy) has no address, or none could be found.
    Resolve { host: String, source: io::Error },
    /// Nor has `-myaddr`.
    ResolveLocal { myaddr: String, source: io::Error },
    /// The lookup found no address.
    NoAddress { host: String },
    /// The last address tried (when it is named) could not be connected to.
    Connect {
        addr: Option<SocketAddr>,
        source: io::Error,
    },
    /// A read or write failed.
    Stream(io::Error),
    /// A write took nothing.
    Lost,
    /// The proxy ended the connection before its answer was complete.
    ProxyClosed { proxy: String },
    /// The proxy's answer is not HTTP (why, in words of the protocol core).
    ProxyAnswer { proxy: String, why: BadProxyAnswer },
    /// The server ended the connection before its answer was complete.
    ServerClosed,
}

impl fmt::Display for IoFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IoFailure::NoLookup(e) => write!(f, "cannot resolve names: {e}"),
            IoFailure::Resolve { host, source } => write!(f, "cannot resolve \"{host}\": {source}"),
            IoFailure::ResolveLocal { myaddr, source } => {
                write!(f, "cannot resolve -myaddr \"{myaddr}\": {source}")
            }
            IoFailure::NoAddress { host } => write!(f, "no address for \"{host}\""),
            IoFailure::Connect {
                addr: Some(addr),
                source,
            } => write!(f, "{addr}: {source}"),
            IoFailure::Connect { addr: None, source } | IoFailure::Stream(source) => {
                write!(f, "{source}")
            }
            IoFailure::Lost => f.write_str("connection lost"),
            IoFailure::ProxyClosed { proxy } => write!(
                f,
                "the proxy {proxy} closed the connection before answering"
            ),
            IoFailure::ProxyAnswer { proxy, why } => write!(f, "proxy {proxy}: {why}"),
            IoFailure::ServerClosed => {
                f.write_str("the server closed the connection before answering")
            }
        }
    }
}

impl std::error::Error for IoFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            IoFailure::NoLookup(e) => Some(e),
            IoFailure::Resolve { source, .. }
            | IoFailure::ResolveLocal { source, .. }
            | IoFailure::Connect { source, .. }
            | IoFailure::Stream(source) => Some(source),
            IoFailure::NoAddress { .. }
            | IoFailure::Lost
            | IoFailure::ProxyClosed { .. }
            | IoFailure::ServerClosed => None,
            IoFailure::ProxyAnswer { why, .. } => Some(why),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error;

    #[test]
    fn io_failures_in_words() {
        let refused = || io::Error::from(io::ErrorKind::ConnectionRefused);
        let addr: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let e = IoFailure::Connect {
            addr: Some(addr),
            source: refused(),
        };
        assert_eq!(e.to_string(), format!("127.0.0.1:9: {}", refused()));
        assert_eq!(
            e.source()
                .and_then(|s| s.downcast_ref::<io::Error>())
                .map(io::Error::kind),
            Some(io::ErrorKind::ConnectionRefused)
        );
        let e = IoFailure::Connect {
            addr: None,
            source: refused(),
        };
        assert_eq!(e.to_string(), refused().to_string());
        assert_eq!(IoFailure::Lost.to_string(), "connection lost");
        assert_eq!(
            IoFailure::NoLookup(Unavailable::Stopped).to_string(),
            "cannot resolve names: name lookups stopped"
        );
        let e = IoFailure::ProxyClosed {
            proxy: "p:8080".into(),
        };
        assert_eq!(
            e.to_string(),
            "the proxy p:8080 closed the connection before answering"
        );
    }
}
