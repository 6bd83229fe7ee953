//! A connection's ends as tcllib names them (`-peername`, `-sockname`):
//! asked of the channel once, then remembered.

use super::ffi::{Interp, Obj};
use super::state;

/// Which end of a connection.
#[derive(Clone, Copy)]
pub enum Endpoint {
    /// The remote end.
    Peer,
    /// Our end.
    Local,
}

/// A connection's -peername/-sockname as tcllib keeps it: the host name,
/// or the address when there is none. Looked up once, then remembered.
pub fn endpoint(interp: Interp, sock: &str, which: Endpoint) -> Option<Obj> {
    let (chan, cached, ip) = state::with(|r| {
        r.conn(interp, sock).map(|c| match which {
            Endpoint::Peer => (c.channel, c.peer_name.clone(), c.peer_ip.clone()),
            Endpoint::Local => (c.channel, c.sock_name.clone(), c.sock_ip.clone()),
        })
    })?;
    if cached.is_some() {
        return cached;
    }
    let option = match which {
        Endpoint::Peer => "-peername",
        Endpoint::Local => "-sockname",
    };
    let name = chan
        .and_then(|ch| ch.option(option))
        .and_then(|v| v.elements(interp).ok())
        .and_then(|parts| match parts.get(1) {
            Some(host) if !host.tcl_utf().is_empty() => Some(host.clone()),
            _ => parts.first().cloned(),
        })
        .unwrap_or_else(|| Obj::from_str(&ip));
    state::with(|r| {
        if let Some(c) = r.conn(interp, sock) {
            match which {
                Endpoint::Peer => c.peer_name = Some(name.clone()),
                Endpoint::Local => c.sock_name = Some(name.clone()),
            }
        }
    });
    Some(name)
}
