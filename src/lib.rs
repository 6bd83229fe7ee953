//! websocket 1.6 for Tcl, in Rust: a drop-in replacement for tcllib's
//! pure-Tcl package.
//!
//! - [`protocol`]: the sans-I/O RFC 6455 core (frames, masking, UTF-8,
//!   close codes, handshake).
//! - [`engine`]: the background I/O thread (mio) serving every connection.
//! - `tcl`: the commands, and event delivery into Tcl's event loop.

#![deny(unsafe_op_in_unsafe_fn)]

pub mod engine;
pub mod protocol;
mod tcl;
