//! The end of a WebSocket as tcllib has it: the `close` event, the
//! channel closed, the `disconnect` event, the state forgotten.

use super::endpoint::{endpoint, Endpoint};
use super::ffi::{Interp, Obj};
use super::handler::notify;
use super::state::{self, ConnState};
use super::{bridge, teardown};
use crate::engine;

/// The connection ended (a close frame, or the end of the connection):
/// `close` with `close_msg`, then [`disconnect`].
pub fn closed(interp: Interp, sock: &str, close_msg: Obj) {
    let Some(_) = state::with(|r| r.conn(interp, sock).map(|c| c.state = ConnState::Closed)) else {
        return;
    };
    notify(interp, sock, "close", close_msg);
    let id = state::with(|r| r.conn(interp, sock).map(|c| c.id));
    disconnect(interp, sock);
    if let Some(id) = id {
        engine::engine().release(id);
    }
}

/// Closes the WebSocket's channel, says `disconnect` and forgets it.
pub fn disconnect(interp: Interp, sock: &str) {
    if interp.is_deleted() {
        return; // its deletion callback ends the WebSocket
    }
    let Some((chan, id)) = state::with(|r| r.conn(interp, sock).map(|c| (c.channel, c.id))) else {
        return;
    };
    if let Some(chan) = chan {
        // The names stay answerable in the disconnect handler, as in tcllib.
        endpoint(interp, sock, Endpoint::Peer);
        endpoint(interp, sock, Endpoint::Local);
        teardown::unwatch_script_close(chan, id);
        state::with(|r| r.conn(interp, sock).map(|c| c.channel = None));
        // A bridged channel closes once the engine's close frame is out.
        if !bridge::release(id) {
            chan.close(interp);
        }
    }
    notify(
        interp,
        sock,
        "disconnect",
        Obj::from_str("Disconnected from remote end"),
    );
    let gone = state::with(|r| {
        // The handler may have taken the name over again: forget only ours.
        let gone = if r.conn(interp, sock).is_some_and(|c| c.id == id) {
            r.remove_conn(interp, sock)
        } else {
            None
        };
        r.prune_moved();
        gone
    });
    drop(gone);
}
