//! What each Tcl thread knows: its mailbox, and per interpreter the
//! WebSockets, servers and clients awaiting upgrade. Only this thread
//! touches it; handlers are never run while it is borrowed.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use crate::engine::{ConnId, Mailbox, Options, Shared};

use super::ffi::events::Polled;
use super::ffi::{Channel, Interp, Obj};
use super::level::Level;

/// A WebSocket's state, as `conninfo state` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnState {
    /// `open` started it; the handshake is not done.
    Connecting,
    /// Open.
    Connected,
    /// Closed by either side.
    Closed,
}

impl ConnState {
    /// tcllib's name for the state.
    pub fn name(self) -> &'static str {
        match self {
            ConnState::Connecting => "CONNECTING",
            ConnState::Connected => "CONNECTED",
            ConnState::Closed => "CLOSED",
        }
    }
}

/// A WebSocket of an interpreter.
pub struct Conn {
    /// The engine's connection.
    pub id: ConnId,
    /// The channel name (the `sock` of every command).
    pub name: Obj,
    /// The handler command prefix.
    pub handler: Obj,
    /// The server side of the connection.
    pub server: bool,
    /// Its state.
    pub state: ConnState,
    /// Opcode of the message being sent in fragments, or -1.
    pub write_opcode: i32,
    /// Its settings (`configure`).
    pub options: Options,
    /// The permessage-deflate agreed ("" for none): `conninfo extensions`;
    /// when set, `send` hands payloads to the I/O thread to compress.
    pub extensions: String,
    /// What the engine and this thread share about it (queued bytes).
    pub shared: Arc<Shared>,
    /// The Tcl channel, until the WebSocket ends and closes it.
    pub channel: Option<Channel>,
    /// Numeric addresses, used when Tcl cannot name the ends.
    pub peer_ip: String,
    /// See `peer_ip`.
    pub sock_ip: String,
    /// `-peername` / `-sockname` host names, looked up once when first
    /// asked for (as tcllib does at takeover), or just before the channel
    /// closes.
    pub peer_name: Option<Obj>,
    /// See `peer_name`.
    pub sock_name: Option<Obj>,
}

/// A `live` registration: path pattern, callback, subprotocol pattern.
pub struct Live {
    /// Path pattern.
    pub path: Obj,
    /// Handler for the connections it accepts.
    pub cb: Obj,
    /// Subprotocol pattern.
    pub proto: Obj,
}

/// A client that `test` accepted, waiting for `upgrade`.
pub struct Client {
    /// The Sec-WebSocket-Accept answer.
    pub accept: String,
    /// The request's path.
    pub path: Obj,
    /// The request's query.
    pub query: Obj,
    /// The handler of the `live` registration that matched.
    pub live: Obj,
    /// The subprotocol chosen ("" for none).
    pub protocol: String,
    /// The request's Sec-WebSocket-Extensions values, answered at `upgrade`.
    pub extensions: Vec<String>,
    /// Set by `configure $sock` between `test` and `upgrade`.
    pub options: Option<Options>,
}

/// What one interpreter has.
pub struct InterpState {
    /// Its WebSockets, by channel name (hashed: looked up for every
    /// message and every `send`; `find` sorts them).
    pub conns: HashMap<String, Conn, IdHash>,
    /// Its `server` sockets and their `live` registrations.
    pub servers: HashMap<String, Vec<Live>>,
    /// Clients `test` accepted, awaiting `upgrade`, by channel name.
    pub clients: HashMap<String, Client>,
    /// Its log level.
    pub level: Level,
    /// Settings new server connections start with.
    pub defaults: Options,
}

/// What one Tcl thread has.
pub struct Registry {
    /// The thread's mailbox, where the engine leaves its events.
    pub mailbox: Arc<Mailbox>,
    /// The interpreters that loaded the package.
    pub interps: HashMap<Interp, InterpState, IdHash>,
    /// Each connection's interpreter and channel name.
    pub by_id: HashMap<ConnId, (Interp, String), IdHash>,
    /// Connections taken over again: what the engine read for the old id
    /// before it moved the socket goes to the new one.
    pub moved: HashMap<ConnId, ConnId, IdHash>,
    /// The words `text` and `binary` that every message's handler call
    /// passes: shared, not made anew per message.
    pub kinds: Kinds,
    /// The event source that delivers the mailbox's events (delivery.rs),
    /// removed with the registry; raising its flag asks for a delivery.
    pub source: Polled,
}

/// Shared `text` and `binary` words (see [`Registry::kinds`]).
pub struct Kinds {
    pub text: Obj,
    pub binary: Obj,
}

impl Kinds {
    pub fn new() -> Kinds {
        Kinds {
            text: Obj::from_str("text"),
            binary: Obj::from_str("binary"),
        }
    }
}

/// Hashing for keys that are already unique numbers (connection ids,
/// interpreter addresses) or short names Tcl made (channels): a
/// multiplication per word instead of SipHash, which these maps, looked up
/// for every message, do not need (their keys do not come from the
/// network).
pub type IdHash = std::hash::BuildHasherDefault<IdHasher>;

/// The hasher of [`IdHash`].
#[derive(Default)]
pub struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Eight bytes a round: a channel name is a few words long.
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            self.write_u64(u64::from_le_bytes(w.try_into().expect("8 bytes")));
        }
        let mut last = [0u8; 8];
        let rest = words.remainder();
        last[..rest.len()].copy_from_slice(rest);
        self.write_u64(u64::from_le_bytes(last) ^ rest.len() as u64);
    }

    fn write_u64(&mut self, n: u64) {
        // Fibonacci hashing: spreads nearby numbers over the high bits,
        // which hashbrown uses.
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

thread_local! {
    static REGISTRY: RefCell<Option<Registry>> = const { RefCell::new(None) };
}

/// Creates this thread's registry with `init`, unless it has one.
pub fn install(init: impl FnOnce() -> Registry) {
    REGISTRY.with(|r| {
        let mut r = r.borrow_mut();
        if r.is_none() {
            *r = Some(init());
        }
    });
}

/// Runs `f` on this thread's registry (which `install` created).
pub fn with<R>(f: impl FnOnce(&mut Registry) -> R) -> R {
    REGISTRY.with(|r| {
        f(r.borrow_mut()
            .as_mut()
            .expect("websocket registry not initialised"))
    })
}

/// Takes the registry away (thread exit).
pub fn take() -> Option<Registry> {
    REGISTRY.with(|r| r.borrow_mut().take())
}

/// True while this thread has a registry.
pub fn has_registry() -> bool {
    REGISTRY.with(|r| r.borrow().is_some())
}

impl Registry {
    /// The state of an interpreter that loaded the package.
    pub fn interp(&mut self, interp: Interp) -> &mut InterpState {
        self.interps
            .get_mut(&interp)
            .expect("interpreter not initialised")
    }

    /// Events for `old` now belong to `new` (see `moved`).
    pub fn forward(&mut self, old: ConnId, new: ConnId) {
        for to in self.moved.values_mut() {
            if *to == old {
                *to = new;
            }
        }
        self.moved.insert(old, new);
        self.prune_moved();
    }

    /// Forgets forwards to connections that ended.
    pub fn prune_moved(&mut self) {
        if !self.moved.is_empty() {
            let by_id = &self.by_id;
            self.moved.retain(|_, to| by_id.contains_key(to));
        }
    }

    /// The WebSocket named `name` in `interp`.
    pub fn conn(&mut self, interp: Interp, name: &str) -> Option<&mut Conn> {
        self.interps.get_mut(&interp)?.conns.get_mut(name)
    }

    /// Forgets a connection; returns it so its objects drop outside.
    pub fn remove_conn(&mut self, interp: Interp, name: &str) -> Option<Conn> {
        let conn = self.interps.get_mut(&interp)?.conns.remove(name)?;
        self.by_id.remove(&conn.id);
        // Room for a past crowd of connections goes back.
        if self.by_id.capacity() > 1024 && self.by_id.len() * 4 < self.by_id.capacity() {
            self.by_id.shrink_to(self.by_id.len() * 2);
        }
        Some(conn)
    }
}

/// The log level of `interp` ("error" for one that has none).
pub fn log_level(interp: Interp) -> Level {
    REGISTRY.with(|r| {
        r.borrow()
            .as_ref()
            .and_then(|reg| reg.interps.get(&interp).map(|s| s.level))
            .unwrap_or(Level::ERROR)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn channel_names_hash_apart() {
        // Names as Tcl makes them, of every length around a word's.
        let mut seen = std::collections::HashSet::new();
        for i in 0..20_000u64 {
            for name in [
                format!("sock{i:x}"),
                format!("sock55d5c2a1{i:08x}"),
                format!("rc{i}"),
            ] {
                assert!(seen.insert(IdHash::default().hash_one(&name)), "{name}");
            }
        }
        assert_ne!(
            IdHash::default().hash_one("ab"),
            IdHash::default().hash_one("ab\0")
        );
    }
}
