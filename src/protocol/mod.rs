//! Sans-I/O WebSocket protocol core (RFC 6455): frames, masking, UTF-8,
//! close payloads, the opening handshake and a connection's protocol state
//! (session.rs). Knows nothing of Tcl or sockets, nor reads the clock:
//! bytes in, events and bytes out.

pub mod client_handshake;
pub mod close;
pub mod deflate;
pub mod frame;
pub mod handshake;
pub mod mask;
pub mod message;
pub mod proxy;
pub mod session;
pub mod url;
pub mod utf8;

#[cfg(test)]
mod fuzz;

/// Which end of the connection we are: decides masking in both directions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Server,
    Client,
}
