//! The Tcl binding: the package's entry point, its commands, and the glue
//! between Tcl's event loop and the engine. Each file has one job:
//!
//! - commands: [`handshake`] (`server`, `live`, `test`, `upgrade`,
//!   `validate`, `sec-websocket-accept`), [`takeover`], [`send_close`]
//!   (`send`, `close`), [`info`] (`conninfo`, `find`), [`client`] (`open`)
//!   with [`client_options`] (its TLS and proxy options), [`config`]
//!   (`configure`, `loglevel`);
//! - events to handlers: [`delivery`] (the thread's mailbox to handler
//!   calls), [`open_outcome`] (the verdict on an `open`), [`disconnect`]
//!   (the end of a WebSocket), [`handler`] (running a handler),
//!   [`endpoint`] (peer and local names), [`busy_poll`] (polling for the
//!   next event before the thread sleeps);
//! - Tcl's side: [`ws_channel`] (the channel naming a WebSocket),
//!   [`teardown`] (channel closed or moved, interpreter deleted, exits),
//!   [`bridge`] (the I/O of channels only Tcl can read);
//! - below them: [`log`], [`state`] (what each thread knows), [`level`],
//!   [`ffi`] (the only place Tcl's C API is called), [`error`]
//!   ([`TclError`]).
//!
//! A file imports only files below it in this list
//! (tools/check-imports.sh shows there is no cycle).

mod bridge;
mod busy_poll;
mod client;
mod client_options;
mod config;
mod delivery;
mod disconnect;
mod endpoint;
mod error;
mod ffi;
mod handler;
mod handshake;
mod info;
mod level;
mod log;
mod open_outcome;
mod send_close;
mod state;
mod takeover;
mod teardown;
mod ws_channel;

use error::TclError;
use ffi::{os, Args, Interp, Obj};

/// The script half of the package (ensemble, logging).
const SCRIPT: &str = include_str!("../../tcl/websocket.tcl");

/// The package's version.
pub const VERSION: &str = "1.6";

/// A command: the interpreter and its words in, its result or error out.
type Command = fn(Interp, Args) -> Result<Obj, TclError>;

/// The commands, by name, and whether each needs the I/O thread.
const COMMANDS: &[(&str, Command, bool)] = &[
    ("close", send_close::close, true),
    ("configure", config::configure, true),
    ("conninfo", info::conninfo, false),
    ("find", info::find, false),
    ("live", handshake::live, false),
    ("loglevel", config::loglevel, false),
    ("open", client::open, true),
    (
        "sec-websocket-accept",
        handshake::sec_websocket_accept,
        false,
    ),
    ("send", send_close::send, true),
    ("server", handshake::server, false),
    ("takeover", takeover::takeover, true),
    ("test", handshake::test, false),
    ("upgrade", handshake::upgrade, true),
    ("validate", handshake::validate, false),
];

ffi::init::package_entry!(Websocket_Init, Websocket_SafeInit, init);

/// `load`: sets up the thread and the interpreter, creates the commands
/// and runs the script half.
fn init(interp: Interp) -> Result<(), TclError> {
    delivery::init_thread();
    crate::engine::set_release_memory(os::release_memory);
    let fresh = state::with(|r| {
        if r.interps.contains_key(&interp) {
            return false;
        }
        r.interps.insert(
            interp,
            state::InterpState {
                conns: Default::default(),
                servers: Default::default(),
                clients: Default::default(),
                level: level::Level::ERROR,
                defaults: crate::engine::Options::server_default(),
            },
        );
        true
    });
    if fresh {
        teardown::watch_interp(interp);
        log::level_added(level::Level::ERROR);
    }
    log::install_logger();
    for &(name, cmd, needs_engine) in COMMANDS {
        let run = move |interp: Interp, args: Args| {
            if needs_engine {
                if let Some(why) = crate::engine::running().and_then(|e| e.failure()) {
                    return Err(TclError::ws(why, &["ENGINE", "FAILED"]));
                }
            }
            cmd(interp, args)
        };
        interp.create_command(&format!("::websocket::{name}"), Box::new(run));
    }
    interp.eval_script(SCRIPT)?;
    interp.provide("websocket", VERSION)
}
