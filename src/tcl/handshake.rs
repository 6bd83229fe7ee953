//! The server handshake, as tcllib: `server` and `live` register a
//! listening socket and its paths, `test` checks a request against them,
//! `upgrade` answers it and takes the socket over (takeover.rs);
//! `validate` and `sec-websocket-accept` are its building blocks.

use super::error::TclError;
use super::ffi::{string_match, Args, Interp, Obj};
use super::log::{log, Level};
use super::state::{self, Client, Live};
use super::takeover::{take_over, Setup};
use crate::protocol::{deflate, handshake};

/// `websocket::server sock`: declares a listening socket a WebSocket
/// server; returns `sock`.
pub fn server(interp: Interp, objv: Args) -> Result<Obj, TclError> {
    if objv.len() != 2 {
        return Err(interp.wrong_args(objv, "sock"));
    }
    let sock = objv.get(1);
    state::with(|r| {
        r.interp(interp)
            .servers
            .insert(sock.to_string_lossy(), Vec::new())
    });
    Ok(sock)
}

/// `websocket::live sock path cb ?proto?`: registers a handler for the
/// WebSockets of a server on a path; returns all registrations.
pub fn live(interp: Interp, objv: Args) -> Result<Obj, TclError> {
    if !(4..=5).contains(&objv.len()) {
        return Err(interp.wrong_args(objv, "sock path cb ?proto?"));
    }
    let sock = objv.get(1).to_string_lossy();
    let entry = Live {
        path: objv.get(2),
        cb: objv.get(3),
        proto: objv.get_or(4, "*"),
    };
    // tcllib answers with its whole registration list (lappend's result).
    let all = state::with(|r| {
        r.interp(interp).servers.get_mut(&sock).map(|list| {
            list.push(entry);
            list.iter()
                .flat_map(|e| [e.path.clone(), e.cb.clone(), e.proto.clone()])
                .collect::<Vec<_>>()
        })
    });
    let Some(all) = all else {
        log(interp, Level::WARN, || {
            format!("{sock} is not a WebSocket server anymore")
        });
        return Err(TclError::ws(format!("{sock} is not a WebSocket"), &[]));
    };
    Ok(Obj::list(&all))
}

/// Header list as (name, value) pairs; an odd list gets an empty value.
fn header_pairs(interp: Interp, hdrs: &Obj) -> Result<Vec<(String, String)>, TclError> {
    let items = hdrs.elements(interp)?;
    Ok(items
        .chunks(2)
        .map(|kv| {
            let v = kv.get(1).map(Obj::to_string_lossy).unwrap_or_default();
            (kv[0].to_string_lossy(), v)
        })
        .collect())
}

/// `websocket::validate hdrs`: checks a client's handshake headers;
/// returns the dict {version key protocols}.
pub fn validate(interp: Interp, objv: Args) -> Result<Obj, TclError> {
    if objv.len() != 2 {
        return Err(interp.wrong_args(objv, "hdrs"));
    }
    let pairs = header_pairs(interp, &objv.get(1))?;
    match handshake::validate(&pairs) {
        Err(e) => Err(TclError::ws(e.message, &e.code)),
        Ok(v) => {
            // tcllib's dict keeps the order in which the headers came.
            let mut order: Vec<&str> = Vec::new();
            for (k, _) in &pairs {
                let key = match k.to_ascii_lowercase().as_str() {
                    "sec-websocket-version" => "version",
                    "sec-websocket-key" => "key",
                    "sec-websocket-protocol" => "protocols",
                    _ => continue,
                };
                if !order.contains(&key) {
                    order.push(key);
                }
            }
            if !order.contains(&"protocols") {
                order.push("protocols");
            }
            let mut words = Vec::new();
            for key in order {
                words.push(Obj::from_str(key));
                words.push(match key {
                    "version" => Obj::from_str(&v.version),
                    "key" => Obj::from_str(&v.key),
                    _ => Obj::list(
                        &v.protocols
                            .iter()
                            .map(|p| Obj::from_str(p))
                            .collect::<Vec<_>>(),
                    ),
                });
            }
            Ok(Obj::list(&words))
        }
    }
}

/// `websocket::sec-websocket-accept key`: the Sec-WebSocket-Accept answer
/// to a key.
pub fn sec_websocket_accept(interp: Interp, objv: Args) -> Result<Obj, TclError> {
    if objv.len() != 2 {
        return Err(interp.wrong_args(objv, "key"));
    }
    let key = objv.get(1).to_string_lossy();
    Ok(Obj::from_str(&handshake::accept_key(&key)))
}

/// `websocket::test srvSock cliSock path ?hdrs? ?qry?`: 1 when a request
/// on a server's socket is a WebSocket handshake a `live` registration
/// takes (kept for `upgrade`), else 0.
pub fn test(interp: Interp, objv: Args) -> Result<Obj, TclError> {
    if !(4..=6).contains(&objv.len()) {
        return Err(interp.wrong_args(objv, "srvSock cliSock path ?hdrs? ?qry?"));
    }
    let (srv, cli, path) = (objv.get(1).to_string_lossy(), objv.get(2), objv.get(3));
    let hdrs = objv.get_or(4, "");
    let qry = objv.get_or(5, "");
    let pairs = header_pairs(interp, &hdrs)?;
    let zero = || Ok(Obj::from_int(0));
    if pairs.is_empty() {
        return zero();
    }
    let lives: Option<Vec<(Obj, Obj, Obj)>> = state::with(|r| {
        r.interp(interp).servers.get(&srv).map(|l| {
            l.iter()
                .map(|e| (e.path.clone(), e.cb.clone(), e.proto.clone()))
                .collect()
        })
    });
    let Some(lives) = lives else {
        log(interp, Level::WARN, || {
            format!("{srv} is not a WebSocket server anymore")
        });
        return Err(TclError::ws(format!("{srv} is not a WebSocket"), &[]));
    };
    let Ok(req) = handshake::validate(&pairs) else {
        return zero();
    };
    let protos: Vec<Obj> = req.protocols.iter().map(|p| Obj::from_str(p)).collect();
    let mut found = None;
    for (ptn, cb, proto) in &lives {
        // tcllib: `lsearch -glob $protos $proto`, the first offered one
        // matching the registered pattern.
        let idx = protos.iter().position(|p| string_match(proto, p));
        if string_match(ptn, &path) && (protos.is_empty() || idx.is_some()) {
            found = Some((
                cb.clone(),
                idx.map(|i| req.protocols[i].clone()).unwrap_or_default(),
            ));
            break;
        }
    }
    let Some((live, protocol)) = found else {
        let p = path.to_string_lossy();
        log(interp, Level::WARN, || {
            format!("Cannot find any handler for {p}")
        });
        return zero();
    };
    let extensions = pairs
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("sec-websocket-extensions"))
        .map(|(_, v)| v.clone())
        .collect();
    let client = Client {
        accept: handshake::accept_key(&req.key),
        path,
        query: qry,
        live,
        protocol,
        extensions,
        options: None,
    };
    state::with(|r| {
        r.interp(interp)
            .clients
            .insert(cli.to_string_lossy(), client)
    });
    Ok(Obj::from_int(1))
}

/// `websocket::upgrade sock`: answers the handshake `test` accepted and
/// takes the socket over as a server WebSocket.
pub fn upgrade(interp: Interp, objv: Args) -> Result<Obj, TclError> {
    if objv.len() != 2 {
        return Err(interp.wrong_args(objv, "sock"));
    }
    let sock = objv.get(1);
    let name = sock.to_string_lossy();
    let client = state::with(|r| r.interp(interp).clients.remove(&name));
    let Some(client) = client else {
        log(interp, Level::WARN, || {
            format!("{name} does not point to a client WebSocket")
        });
        return Err(TclError::ws(
            format!("{name} is not a WebSocket client"),
            &[],
        ));
    };
    let options = client
        .options
        .clone()
        .unwrap_or_else(|| state::with(|r| r.interp(interp).defaults.clone()));
    let offers: Vec<&str> = client.extensions.iter().map(String::as_str).collect();
    let agreed = deflate::accept(&options.deflate, &offers);
    let answer = agreed.as_ref().map_or("", |a| a.answer.as_str());
    let preamble = handshake::server_response(&client.accept, &client.protocol, answer);
    let info = Obj::list(&[client.path.clone(), client.query.clone()]);
    let setup = Setup {
        preamble,
        options: Some(options),
        deflate: agreed,
    };
    let r = take_over(interp, &sock, client.live.clone(), true, info, setup);
    if r.is_err() {
        // Keep the context, as tcllib does when takeover fails.
        state::with(|r| r.interp(interp).clients.insert(name, client));
    }
    r
}
