//! Everything of the Tcl layer that touches Tcl's C API or the operating
//! system: safe types over it, and the functions Tcl calls, each a thin
//! trampoline into safe Rust under [`guard::guard`]. No `unsafe` exists
//! in the Tcl layer outside this module.
//!
//! - [`obj`]: objects ([`Obj`]) and a command's words ([`Args`]);
//! - [`interp`]: interpreters ([`Interp`]), commands, results and errors;
//! - [`channel`]: channels ([`Channel`]) and their handlers;
//! - [`chan_type`]: the "websocket" channel type's driver;
//! - [`events`]: events queued into a thread, idle callbacks, deletion and
//!   exit hooks;
//! - [`init`]: the package's exported entry points;
//! - [`os`]: reverse lookups, descriptors, memory;
//! - `text`: Tcl's internal strings and UTF-8; `guard`: no panic into C.

pub mod chan_type;
pub mod channel;
pub mod events;
mod guard;
pub mod init;
pub mod interp;
pub mod obj;
pub mod os;
mod text;

pub use channel::{Channel, ChannelCallback, ReadEnd, Taken, Watch};
pub use interp::{string_match, CallError, Interp, Preserved};
pub use obj::{Args, Obj};
