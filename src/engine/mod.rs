//! The I/O engine: one background thread, driven by mio, serves every
//! WebSocket of the process. Tcl threads talk to it through a command queue
//! and a `Waker`; it answers through each thread's `Mailbox`.
//!
//! Each file imports only files below it in this list
//! (tools/check-imports.sh shows there is no cycle); this one only declares
//! them and re-exports what the Tcl layer uses:
//! handle.rs (the [`Engine`]: starts and supervises the I/O thread, turns
//! requests into commands), direct.rs (frames a Tcl thread writes to the
//! socket itself), io.rs (the mio loop), connect.rs (client connections
//! until their handshake is done), conn.rs (one connection's socket and
//! queue, driving its session), queue.rs (the command queue, its waker,
//! batching), request.rs (what a Tcl thread hands the engine), mailbox.rs
//! (events to a Tcl thread), opened.rs (the verdicts on an `open`),
//! transport.rs, compress.rs, frames.rs, timers.rs, types.rs (ids and
//! counters shared with Tcl threads), and the leaves tls.rs, options.rs,
//! pool.rs, resolver.rs, fault.rs.

mod attempts;
mod compress;
mod conn;
mod connect;
mod direct;
#[cfg(feature = "fault-injection")]
mod fault;
pub mod frames;
mod handle;
mod io;
pub mod mailbox;
mod opened;
pub mod options;
pub mod pool;
mod queue;
mod request;
mod resolver;
mod timers;
pub mod tls;
pub mod transport;
mod tunnel;
mod types;

pub use handle::{engine, running, Engine};
pub use io::set_release_memory;
pub use mailbox::{Event, Mailbox, Notify};
pub use opened::{ConnectFailure, Connected};
pub use options::Options;
pub use options::{BRIDGE_IN_HIGH_WATER, BRIDGE_WINDOW};
pub use queue::Batch;
pub use request::{ConnectRequest, Registration, ReverseLookup, TlsTarget};
pub use types::{ConnId, Shared, Stream};
