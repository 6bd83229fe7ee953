//! Information on WebSockets: `conninfo` and `find`.

use super::bridge;
use super::endpoint::{endpoint, Endpoint};
use super::error::TclError;
use super::ffi::{string_match, Args, Interp, Obj};
use super::log::not_a_websocket;
use super::state::{self, ConnState};

/// `websocket::conninfo sock what`: one piece of information on a
/// WebSocket (peername, sockname, closed, client, server, type, handler,
/// state, extensions, buffered).
pub fn conninfo(interp: Interp, objv: Args) -> Result<Obj, TclError> {
    if objv.len() != 3 {
        return Err(interp.wrong_args(objv, "sock what"));
    }
    let sock = objv.get(1).to_string_lossy();
    let Some((server, handler, st, id, shared)) = state::with(|r| {
        r.conn(interp, &sock)
            .map(|c| (c.server, c.handler.clone(), c.state, c.id, c.shared.clone()))
    }) else {
        return Err(not_a_websocket(interp, &sock));
    };
    let what_obj = objv.get(2);
    let what = what_obj.to_string_lossy().to_lowercase();
    let res = if what.starts_with("peer") {
        endpoint(interp, &sock, Endpoint::Peer).unwrap_or_else(|| Obj::from_str(""))
    } else if what == "sockname" || what == "name" {
        endpoint(interp, &sock, Endpoint::Local).unwrap_or_else(|| Obj::from_str(""))
    } else if what.starts_with("close") {
        Obj::from_int((st == ConnState::Closed) as i64)
    } else if what == "client" {
        Obj::from_int(!server as i64)
    } else if what == "server" {
        Obj::from_int(server as i64)
    } else if what == "type" {
        Obj::from_str(if server { "server" } else { "client" })
    } else if what == "handler" {
        handler
    } else if what == "state" {
        Obj::from_str(st.name())
    } else if what == "extensions" {
        let ext = state::with(|r| r.conn(interp, &sock).map(|c| c.extensions.clone()));
        Obj::from_str(&ext.unwrap_or_default())
    } else if what == "buffered" {
        bridge::account(id);
        Obj::from_int(shared.pending() as i64)
    } else {
        let w = what_obj.to_string_lossy();
        return Err(TclError::ws(
            format!("{w} is not a known information piece for a websocket"),
            &[],
        ));
    };
    Ok(res)
}

/// `websocket::find ?host? ?port?`: the WebSockets whose peer matches the
/// patterns.
pub fn find(interp: Interp, objv: Args) -> Result<Obj, TclError> {
    if objv.len() > 3 {
        return Err(interp.wrong_args(objv, "?host? ?port?"));
    }
    let host = objv.get_or(1, "*");
    let port = objv.get_or(2, "*");
    let mut conns: Vec<(String, Obj)> = state::with(|r| {
        r.interp(interp)
            .conns
            .iter()
            .map(|(k, c)| (k.clone(), c.name.clone()))
            .collect()
    });
    conns.sort_by(|a, b| a.0.cmp(&b.0));
    let empty = Obj::from_str("");
    let mut found = Vec::new();
    for (key, name) in conns {
        // tcllib reads its one-word peer name as the list {ip host port}.
        let Some(peer) = endpoint(interp, &key, Endpoint::Peer) else {
            continue;
        };
        let parts = peer.elements(interp).unwrap_or_default();
        let part = |i: usize| parts.get(i).unwrap_or(&empty);
        if (string_match(&host, part(0)) || string_match(&host, part(1)))
            && string_match(&port, part(2))
        {
            found.push(name);
        }
    }
    Ok(Obj::list(&found))
}
