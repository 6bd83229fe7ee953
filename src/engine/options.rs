//! Per-connection settings and limits, with the package defaults.

use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Options {
    /// Ping after this long without traffic; zero: never.
    pub keepalive: Duration,
    /// Payload of keepalive pings.
    pub ping: Vec<u8>,
    /// Largest incoming message (tcllib's 16 MiB).
    pub max_message: u64,
    /// Largest incoming frame.
    pub max_frame: u64,
    /// Most bytes queued for sending before `send` refuses (-1).
    pub max_queued: usize,
    /// How long to wait for the peer's close frame, and for its end of TCP.
    pub close_timeout: Duration,
    /// A peer that has not answered a keepalive ping within this long is
    /// taken for dead (close 1006); zero: never.
    pub dead_timeout: Duration,
    /// permessage-deflate: whether to negotiate it, and how.
    pub deflate: crate::protocol::deflate::Config,
    /// How long the Tcl thread polls for the next event after one of this
    /// connection's messages was handled, before it sleeps (`-busypoll`;
    /// src/tcl/busy_poll.rs). The engine does not use it.
    pub busy_poll: Duration,
}

impl Options {
    pub const DEFAULT_MAX_MESSAGE: u64 = 16 * 1024 * 1024;
    pub const DEFAULT_MAX_QUEUED: usize = 64 * 1024 * 1024;
    pub const DEFAULT_CLOSE_TIMEOUT: Duration = Duration::from_secs(5);
    /// A client's `-busypoll` (a server's is zero: see busy_poll.rs).
    pub const CLIENT_BUSY_POLL: Duration = Duration::from_micros(50);
    /// The longest `-busypoll`: the event loop's other sources wait that
    /// long at most.
    pub const MAX_BUSY_POLL_US: i64 = 10_000;

    pub fn server_default() -> Options {
        Options {
            keepalive: Duration::from_secs(30),
            ping: Vec::new(),
            max_message: Self::DEFAULT_MAX_MESSAGE,
            max_frame: Self::DEFAULT_MAX_MESSAGE,
            max_queued: Self::DEFAULT_MAX_QUEUED,
            close_timeout: Self::DEFAULT_CLOSE_TIMEOUT,
            dead_timeout: Duration::ZERO,
            deflate: Default::default(),
            busy_poll: Duration::ZERO,
        }
    }
}

/// Undelivered incoming bytes per connection before the engine stops
/// reading from it until the Tcl thread catches up (the session's flow
/// control).
pub use crate::protocol::session::INBOX_HIGH_WATER;

/// A bridged connection (a Tcl channel the Tcl thread reads and writes):
/// most bytes handed to the Tcl thread for writing and not yet out of the
/// channel's buffers; past it the engine keeps the rest in its own queue.
pub const BRIDGE_WINDOW: usize = 1024 * 1024;

/// A bridged connection: the Tcl thread stops reading the channel while
/// more than this many forwarded bytes wait for the engine.
pub const BRIDGE_IN_HIGH_WATER: usize = 256 * 1024;
