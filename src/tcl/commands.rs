//! The `::websocket::*` commands: argument parsing as tcllib does it, and
//! the handler protocol (connect, text, binary, ping, pong, close,
//! disconnect), synchronous where tcllib is.

use std::cell::RefCell;
use std::ffi::c_int;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tcl_sys::Tcl_Obj;

use super::channel::Channel;
use super::ffi::{string_match, Interp, Obj, TCL_ERROR, TCL_OK};
use super::log::{log, Level};
use super::state::{self, Client, Conn, ConnState, Live};
use super::text;
use super::ws_channel::{self, ChannelInfo, End};
use crate::engine::{self, frames, ConnId, Event, Options, Registration, Stream};
use crate::protocol::{close as close_codes, deflate, handshake, Role};

type Args<'a> = &'a [*mut Tcl_Obj];

fn arg(objv: Args, i: usize) -> Obj {
    Obj::from_ptr(objv[i])
}

fn not_a_websocket(interp: Interp, sock: &str) -> c_int {
    log(interp, Level::WARN, || {
        format!("{sock} is not a WebSocket connection anymore")
    });
    interp.error(&format!("{sock} is not a WebSocket"), &[])
}

/// Runs the handler of `sock` with an event, at global level; its errors
/// are logged, never raised.
pub(super) fn push(interp: Interp, sock: &str, kind: &str, msg: Obj) {
    let Some((handler, name)) = state::with(|r| {
        r.conn(interp, sock)
            .map(|c| (c.handler.clone(), c.name.clone()))
    }) else {
        return;
    };
    call_handler(interp, &handler, name, kind, msg);
}

fn call_handler(interp: Interp, handler: &Obj, sock: Obj, kind: &str, msg: Obj) {
    if interp.is_deleted() {
        return;
    }
    let Ok(mut words) = handler.elements(interp) else {
        log(interp, Level::ERROR, || {
            "Error when executing WebSocket reception handler: handler is not a list".into()
        });
        return;
    };
    words.extend([sock, Obj::from_str(kind), msg]);
    if let Err(e) = interp.eval_global(&words) {
        let e = e.to_string_lossy();
        log(interp, Level::ERROR, || {
            format!("Error when executing WebSocket reception handler: {e}")
        });
    }
    if !interp.is_deleted() {
        interp.reset_result();
    }
}

/// An engine event reached its thread.
pub fn deliver(interp: Interp, handler: &Obj, sock_obj: Obj, ev: Event) {
    if interp.is_deleted() {
        return;
    }
    // A handler may delete its interpreter: its memory stays until this
    // delivery is over, and its deletion callback (events.rs) runs then.
    let _keep = interp.preserve();
    match ev {
        Event::Text(b) => {
            let msg = text::utf8_to_obj(&b);
            engine::pool::give(b);
            call_handler(interp, handler, sock_obj, "text", msg)
        }
        Event::Binary(b) => {
            let msg = Obj::from_bytes(&b);
            engine::pool::give(b);
            call_handler(interp, handler, sock_obj, "binary", msg)
        }
        Event::Ping(b) => call_handler(interp, handler, sock_obj, "ping", Obj::from_bytes(&b)),
        Event::Pong(b) => call_handler(interp, handler, sock_obj, "pong", Obj::from_bytes(&b)),
        ev => deliver_state(interp, &sock_obj.to_string_lossy(), ev),
    }
}

/// Events that change the connection's state (and look it up by name).
fn deliver_state(interp: Interp, sock: &str, ev: Event) {
    match ev {
        Event::Closed { code, reason } => {
            let msg = match code {
                Some(c) => Obj::list(&[Obj::from_int(c as i64), Obj::from_str(&reason)]),
                None => Obj::from_str(""),
            };
            closed(interp, sock, msg);
        }
        ev @ (Event::Connected(_) | Event::ConnectFailed(_)) => {
            super::client::deliver(interp, sock, ev)
        }
        // Messages went to the handler above; the bridge's I/O never
        // reaches here (see events.rs).
        Event::Text(_) | Event::Binary(_) | Event::Ping(_) | Event::Pong(_) => {}
        Event::Output(_) | Event::ReadMore | Event::Finished | Event::EngineFailed(_) => {}
        // Records go to the log in events.rs.
        Event::Log(..) => {}
    }
}

/// tcllib's end of a WebSocket: `close` event, channel closed,
/// `disconnect` event, state forgotten.
fn closed(interp: Interp, sock: &str, close_msg: Obj) {
    let Some(_) = state::with(|r| r.conn(interp, sock).map(|c| c.state = ConnState::Closed)) else {
        return;
    };
    push(interp, sock, "close", close_msg);
    let id = state::with(|r| r.conn(interp, sock).map(|c| c.id));
    disconnect(interp, sock);
    if let Some(id) = id {
        engine::engine().release(id);
    }
}

pub(super) fn disconnect(interp: Interp, sock: &str) {
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
        chan.unwatch_close(id);
        state::with(|r| r.conn(interp, sock).map(|c| c.channel = None));
        // A bridged channel closes once the engine's close frame is out.
        if !super::bridge::release(id) {
            chan.close(interp);
        }
    }
    push(
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

// ---------------------------------------------------------------- server

pub fn server(interp: Interp, objv: Args) -> c_int {
    if objv.len() != 2 {
        return interp.wrong_args(objv, 1, "sock");
    }
    let sock = arg(objv, 1);
    state::with(|r| {
        r.interp(interp)
            .servers
            .insert(sock.to_string_lossy(), Vec::new())
    });
    interp.set_result(sock);
    TCL_OK
}

pub fn live(interp: Interp, objv: Args) -> c_int {
    if !(4..=5).contains(&objv.len()) {
        return interp.wrong_args(objv, 1, "sock path cb ?proto?");
    }
    let sock = arg(objv, 1).to_string_lossy();
    let entry = Live {
        path: arg(objv, 2),
        cb: arg(objv, 3),
        proto: if objv.len() == 5 {
            arg(objv, 4)
        } else {
            Obj::from_str("*")
        },
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
        return interp.error(&format!("{sock} is not a WebSocket"), &[]);
    };
    interp.set_result(Obj::list(&all));
    TCL_OK
}

/// Header list as (name, value) pairs; an odd list gets an empty value.
fn header_pairs(interp: Interp, hdrs: &Obj) -> Result<Vec<(String, String)>, ()> {
    let items = hdrs.elements(interp)?;
    Ok(items
        .chunks(2)
        .map(|kv| {
            let v = kv.get(1).map(Obj::to_string_lossy).unwrap_or_default();
            (kv[0].to_string_lossy(), v)
        })
        .collect())
}

pub fn validate(interp: Interp, objv: Args) -> c_int {
    if objv.len() != 2 {
        return interp.wrong_args(objv, 1, "hdrs");
    }
    let Ok(pairs) = header_pairs(interp, &arg(objv, 1)) else {
        return TCL_ERROR;
    };
    match handshake::validate(&pairs) {
        Err(e) => interp.error(&e.message, &e.code),
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
            interp.set_result(Obj::list(&words));
            TCL_OK
        }
    }
}

pub fn sec_websocket_accept(interp: Interp, objv: Args) -> c_int {
    if objv.len() != 2 {
        return interp.wrong_args(objv, 1, "key");
    }
    let key = arg(objv, 1).to_string_lossy();
    interp.set_result(Obj::from_str(&handshake::accept_key(&key)));
    TCL_OK
}

pub fn test(interp: Interp, objv: Args) -> c_int {
    if !(4..=6).contains(&objv.len()) {
        return interp.wrong_args(objv, 1, "srvSock cliSock path ?hdrs? ?qry?");
    }
    let (srv, cli, path) = (arg(objv, 1).to_string_lossy(), arg(objv, 2), arg(objv, 3));
    let hdrs = if objv.len() > 4 {
        arg(objv, 4)
    } else {
        Obj::from_str("")
    };
    let qry = if objv.len() > 5 {
        arg(objv, 5)
    } else {
        Obj::from_str("")
    };
    let Ok(pairs) = header_pairs(interp, &hdrs) else {
        return TCL_ERROR;
    };
    let zero = |interp: Interp| {
        interp.set_result(Obj::from_int(0));
        TCL_OK
    };
    if pairs.is_empty() {
        return zero(interp);
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
        return interp.error(&format!("{srv} is not a WebSocket"), &[]);
    };
    let Ok(req) = handshake::validate(&pairs) else {
        return zero(interp);
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
        return zero(interp);
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
    interp.set_result(Obj::from_int(1));
    TCL_OK
}

pub fn upgrade(interp: Interp, objv: Args) -> c_int {
    if objv.len() != 2 {
        return interp.wrong_args(objv, 1, "sock");
    }
    let sock = arg(objv, 1);
    let name = sock.to_string_lossy();
    let client = state::with(|r| r.interp(interp).clients.remove(&name));
    let Some(client) = client else {
        log(interp, Level::WARN, || {
            format!("{name} does not point to a client WebSocket")
        });
        return interp.error(&format!("{name} is not a WebSocket client"), &[]);
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
    let rc = take_over(interp, &sock, client.live.clone(), true, info, setup);
    if rc != TCL_OK {
        // Keep the context, as tcllib does when takeover fails.
        state::with(|r| r.interp(interp).clients.insert(name, client));
    }
    rc
}

pub fn takeover(interp: Interp, objv: Args) -> c_int {
    if !(3..=5).contains(&objv.len()) {
        return interp.wrong_args(objv, 1, "sock handler ?server? ?info?");
    }
    let server = objv.len() > 3 && arg(objv, 3).boolean(interp).unwrap_or(false);
    let info = if objv.len() > 4 {
        arg(objv, 4)
    } else {
        Obj::from_str("")
    };
    take_over(
        interp,
        &arg(objv, 1),
        arg(objv, 2),
        server,
        info,
        Setup::default(),
    )
}

/// What `upgrade` settled in the handshake for `take_over`.
#[derive(Default)]
struct Setup {
    /// The 101 answer, written before any frame.
    preamble: Vec<u8>,
    /// The connection's options (None: the package defaults).
    options: Option<Options>,
    deflate: Option<deflate::Agreed>,
}

/// How a channel is taken over.
enum Taking {
    /// Its socket, for the engine.
    Tcp(super::channel::Taken),
    /// Its I/O stays with Tcl (see bridge.rs).
    Bridge(super::bridge::Prepared),
    /// A WebSocket already: the engine moves its socket to a new
    /// connection (tcllib starts afresh when a socket is taken over again).
    Again(ConnId),
}

/// Moves the socket under channel `sock` to the engine (or, for a channel
/// that is not a plain socket, bridges it) and says `connect`.
fn take_over(
    interp: Interp,
    sock: &Obj,
    handler: Obj,
    server: bool,
    info: Obj,
    setup: Setup,
) -> c_int {
    let name = sock.to_string_lossy();
    let Some(chan) = Channel::lookup(interp, sock) else {
        return TCL_ERROR;
    };
    // A plain socket goes to the engine; any other channel (TLS, reflected,
    // transformed: its bytes are not the socket's) is served through Tcl.
    let kind = chan.type_name();
    let again = if kind == "websocket" {
        let live = state::with(|r| {
            r.conn(interp, &name)
                .filter(|c| c.state == ConnState::Connected && c.channel == Some(chan))
                .map(|c| c.id)
        });
        let Some(id) = live else {
            return interp.error(
                &format!("cannot take over {name}: its WebSocket is not connected"),
                &["CHANNEL", "UNSUPPORTED"],
            );
        };
        Some(id)
    } else {
        None
    };
    if !chan.is_read_write() {
        return interp.error(
            &format!("cannot take over {name}: it is not open for both reading and writing"),
            &["CHANNEL", "UNSUPPORTED"],
        );
    }
    let bridged = kind != "tcp" && again.is_none();
    // The script's fileevents would fire on a socket nobody reads now.
    for ev in ["readable", "writable"] {
        let _ = interp.eval_global(&[
            Obj::from_str("::chan"),
            Obj::from_str("event"),
            sock.clone(),
            Obj::from_str(ev),
            Obj::from_str(""),
        ]);
    }
    let taken = if let Some(old) = again {
        Ok(Taking::Again(old))
    } else if bridged {
        super::bridge::prepare(interp, chan).map(Taking::Bridge)
    } else {
        chan.take_over(interp).map(Taking::Tcp)
    };
    let taken = match taken {
        Ok(t) => t,
        Err(e) => return interp.error(&format!("cannot take over {name}: {e}"), &["CHANNEL"]),
    };
    // Re-taking a socket starts afresh, as tcllib's New does.
    let old = state::with(|r| r.remove_conn(interp, &name));
    // What tcllib says when the channel cannot name its ends.
    let (mut peer_ip, mut sock_ip) = ("0.0.0.0".to_string(), "127.0.0.1".to_string());
    let (mut peer_name, mut sock_name) = (None, None);
    let mut ends = None;
    let (stream, initial, skip_lf, bridge) = match taken {
        Taking::Tcp(t) => {
            if let (Ok(p), Ok(l)) = (t.stream.peer_addr(), t.stream.local_addr()) {
                peer_ip = p.ip().to_string();
                sock_ip = l.ip().to_string();
                ends = Some((End::new(p, None), End::new(l, None)));
            }
            (Stream::Tcp(t.stream), t.buffered, t.may_skip_lf, None)
        }
        Taking::Bridge(mut p) => {
            let initial = std::mem::take(&mut p.initial);
            (Stream::Bridge, initial, p.may_skip_lf, Some(p))
        }
        Taking::Again(id) => {
            if let Some(old) = &old {
                peer_ip.clone_from(&old.peer_ip);
                sock_ip.clone_from(&old.sock_ip);
                peer_name.clone_from(&old.peer_name);
                sock_name.clone_from(&old.sock_name);
            }
            (Stream::Adopt(id), Vec::new(), false, None)
        }
    };
    if let Some(old) = old {
        if let Some(ch) = old.channel {
            ch.unwatch_close(old.id);
        }
        super::bridge::forget(old.id);
        if again.is_none() {
            engine::engine().abort(old.id);
        }
    }
    let (mailbox, defaults) =
        state::with(|r| (r.mailbox.clone(), r.interp(interp).defaults.clone()));
    let mut options = setup.options.unwrap_or(defaults);
    let extensions = setup
        .deflate
        .as_ref()
        .map(|a| a.answer.clone())
        .unwrap_or_default();
    if !server {
        options.keepalive = Duration::ZERO; // clients do not ping unless asked
    }
    let (id, shared) = engine::engine().register(Registration {
        stream,
        role: if server { Role::Server } else { Role::Client },
        initial,
        preamble: setup.preamble,
        skip_lf,
        mailbox,
        options: options.clone(),
        deflate: setup.deflate,
    });
    // The engine's descriptor is now the socket's only one that matters:
    // Tcl's channel gives way to one of ours under the same name, unless
    // another interpreter shares it.
    let chan = match ends {
        Some(ends) if !chan.is_shared() => {
            chan.close(interp);
            let info = Rc::new(ChannelInfo {
                id,
                url: String::new(),
                ends: RefCell::new(Some(ends)),
            });
            ws_channel::create_named(interp, &name, info)
        }
        _ => chan,
    };
    chan.watch_close(id);
    if let Some(p) = bridge {
        super::bridge::start(interp, chan, id, shared.clone(), p);
    }
    let conn = Conn {
        id,
        name: sock.clone(),
        handler,
        server,
        state: ConnState::Connected,
        write_opcode: -1,
        extensions,
        options,
        shared,
        channel: Some(chan),
        peer_name,
        sock_name,
        peer_ip,
        sock_ip,
    };
    state::with(|r| {
        r.by_id.insert(id, (interp, name.clone()));
        r.interp(interp).conns.insert(name.clone(), conn);
        if let Some(old) = again {
            r.forward(old, id);
        }
    });
    push(interp, &name, "connect", info);
    let role = if server { "server" } else { "client" };
    log(interp, Level::DEBUG, || {
        format!("{name} has been registered as a {role} WebSocket")
    });
    interp.reset_result();
    TCL_OK
}

// ---------------------------------------------------------------- send

/// tcllib's type argument: an integer opcode, or text/binary/ping by
/// their first letter.
fn parse_type(t: &Obj) -> Option<i32> {
    if let Some(n) = t.int() {
        return (0..=15).contains(&n).then_some(n as i32);
    }
    match t.tcl_utf().first().map(u8::to_ascii_lowercase) {
        Some(b't') => Some(1),
        Some(b'b') => Some(2),
        Some(b'p') => Some(9),
        _ => None,
    }
}

pub fn send(interp: Interp, objv: Args) -> c_int {
    if !(3..=5).contains(&objv.len()) {
        return interp.wrong_args(objv, 1, "sock type ?msg? ?final?");
    }
    let sock_obj = arg(objv, 1);
    let sock = sock_obj.str_lossy();
    // One lookup for all a message needs (this runs once per message).
    let found = state::with(|r| {
        let st = r.interps.get(&interp)?;
        let c = st.conns.get(&*sock)?;
        let role = if c.server { Role::Server } else { Role::Client };
        Some((
            c.state,
            role,
            c.write_opcode,
            c.shared.clone(),
            c.id,
            c.options.max_queued,
            !c.extensions.is_empty(),
            st.level,
        ))
    });
    let Some((state_now, role, write_opcode, shared, id, max_queued, deflate, level)) = found
    else {
        return not_a_websocket(interp, &sock);
    };
    if state_now != ConnState::Connected {
        log(interp, Level::WARN, || {
            format!("Cannot send along WS {sock}, not connected")
        });
        interp.set_result(Obj::from_int(-1));
        return TCL_OK;
    }
    let Some(mut opcode) = parse_type(&arg(objv, 2)) else {
        return interp.error(
            "Unrecognised type, should be one of text, binary, ping or a protocol valid integer",
            &[],
        );
    };
    let fin = if objv.len() > 4 {
        match arg(objv, 4).boolean(interp) {
            Ok(b) => b,
            Err(()) => return TCL_ERROR,
        }
    } else {
        true
    };
    let msg = if objv.len() > 3 {
        arg(objv, 3)
    } else {
        Obj::from_str("")
    };
    // Fragments continue the type of the message they belong to.
    let msg_opcode = if write_opcode > 0 {
        if opcode != write_opcode {
            return interp.error("Cannot change type of message under continuation!", &[]);
        }
        opcode = 0;
        write_opcode
    } else {
        opcode
    };
    let payload = if msg_opcode == 1 {
        text::obj_to_utf8(&msg)
    } else {
        match msg.bytes(interp) {
            Ok(b) => std::borrow::Cow::Borrowed(b),
            Err(()) => return TCL_ERROR,
        }
    };
    // Counted, and returned, as the uncompressed frame, with or without
    // permessage-deflate (then the I/O thread compresses and frames).
    let len = frames::frame_len(role, payload.len());
    super::bridge::account(id);
    if shared.pending() + len > max_queued {
        log(interp, Level::WARN, || {
            format!("Cannot send along WS {sock}: {max_queued} bytes already wait to be written")
        });
        interp.set_result(Obj::from_int(-1));
        return TCL_OK;
    }
    let next_opcode = if fin { -1 } else { msg_opcode };
    if next_opcode != write_opcode {
        state::with(|r| {
            if let Some(c) = r.conn(interp, &sock) {
                c.write_opcode = next_opcode;
            }
        });
    }
    // Built only once the limit let it through.
    if deflate {
        shared.queued.fetch_add(payload.len(), Ordering::AcqRel);
        engine::engine().send_data(id, fin, opcode as u8, payload.into_owned());
    } else {
        let engine = engine::engine();
        // Written here when nothing is queued for the socket, else queued
        // for the I/O thread (src/engine/direct.rs). A server's frame is
        // not masked: its payload goes out from the Tcl object itself.
        let server = role == Role::Server;
        let direct = server && {
            let (head, n) = frames::server_header(fin, opcode as u8, payload.len());
            engine.write_direct(id, &shared, &head[..n], &payload)
        };
        if !direct {
            let frame = frames::build(role, fin, opcode as u8, &payload);
            if server || !engine.write_direct(id, &shared, &frame, &[]) {
                shared.queued.fetch_add(len, Ordering::AcqRel);
                engine.send(id, frame);
            }
        }
    }
    if level <= Level::DEBUG {
        let kind = if fin { "final fragment" } else { "fragment" };
        log(interp, Level::DEBUG, || {
            format!("Sent {len} bytes long frame ({kind}) on {sock}")
        });
    }
    interp.set_result(Obj::from_int(len as i64));
    TCL_OK
}

// ---------------------------------------------------------------- close

pub fn close(interp: Interp, objv: Args) -> c_int {
    if !(2..=4).contains(&objv.len()) {
        return interp.wrong_args(objv, 1, "sock ?code? ?reason?");
    }
    let sock = arg(objv, 1).to_string_lossy();
    let Some((st, id)) = state::with(|r| r.conn(interp, &sock).map(|c| (c.state, c.id))) else {
        return not_a_websocket(interp, &sock);
    };
    if st == ConnState::Closed {
        log(interp, Level::NOTICE, || "Connection already closed".into());
        interp.reset_result();
        return TCL_OK;
    }
    state::with(|r| r.conn(interp, &sock).map(|c| c.state = ConnState::Closed));
    let code = if objv.len() > 2 {
        arg(objv, 2).int()
    } else {
        Some(1000)
    };
    let (payload, msg) = match code {
        None => (Vec::new(), Obj::from_str("")),
        Some(code) => {
            let code = code as u16;
            let given = if objv.len() > 3 {
                arg(objv, 3).to_string_lossy()
            } else {
                String::new()
            };
            let reason = if given.is_empty() {
                close_codes::default_reason(code)
            } else {
                given
            };
            log(interp, Level::INFO, || {
                format!("Closing web socket: {code} ({reason})")
            });
            let msg = Obj::list(&[Obj::from_int(code as i64), Obj::from_str(&reason)]);
            (close_codes::encode_payload(code, &reason), msg)
        }
    };
    engine::engine().close(id, payload);
    push(interp, &sock, "close", msg);
    disconnect(interp, &sock);
    interp.reset_result();
    TCL_OK
}

// ---------------------------------------------------------------- info

#[derive(Clone, Copy)]
enum Endpoint {
    Peer,
    Local,
}

/// A connection's -peername/-sockname as tcllib keeps it: the host name,
/// or the address when there is none. Looked up once, then remembered.
fn endpoint(interp: Interp, sock: &str, which: Endpoint) -> Option<Obj> {
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

pub fn conninfo(interp: Interp, objv: Args) -> c_int {
    if objv.len() != 3 {
        return interp.wrong_args(objv, 1, "sock what");
    }
    let sock = arg(objv, 1).to_string_lossy();
    let Some((server, handler, st, id, shared)) = state::with(|r| {
        r.conn(interp, &sock)
            .map(|c| (c.server, c.handler.clone(), c.state, c.id, c.shared.clone()))
    }) else {
        return not_a_websocket(interp, &sock);
    };
    let what_obj = arg(objv, 2);
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
        super::bridge::account(id);
        Obj::from_int(shared.pending() as i64)
    } else {
        let w = what_obj.to_string_lossy();
        return interp.error(
            &format!("{w} is not a known information piece for a websocket"),
            &[],
        );
    };
    interp.set_result(res);
    TCL_OK
}

pub fn find(interp: Interp, objv: Args) -> c_int {
    if objv.len() > 3 {
        return interp.wrong_args(objv, 1, "?host? ?port?");
    }
    let host = if objv.len() > 1 {
        arg(objv, 1)
    } else {
        Obj::from_str("*")
    };
    let port = if objv.len() > 2 {
        arg(objv, 2)
    } else {
        Obj::from_str("*")
    };
    let conns: Vec<(String, Obj)> = state::with(|r| {
        r.interp(interp)
            .conns
            .iter()
            .map(|(k, c)| (k.clone(), c.name.clone()))
            .collect()
    });
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
    interp.set_result(Obj::list(&found));
    TCL_OK
}

// ---------------------------------------------------------------- configure

/// Option names: tcllib's two match any abbreviation of their first
/// letter; ours need an unambiguous prefix.
fn option_name(k: &Obj) -> Option<&'static str> {
    let k = k.to_string_lossy().trim_start_matches('-').to_lowercase();
    if k.starts_with('k') {
        return Some("-keepalive");
    }
    if k.starts_with('p') {
        return Some("-ping");
    }
    let ours = [
        "-maxmessage",
        "-maxframe",
        "-maxqueued",
        "-closetimeout",
        "-deadtimeout",
        "-deflate",
        "-deflatelevel",
        "-deflatewindow",
        "-deflatemin",
        "-deflatetakeover",
    ];
    // "-deflate" is a prefix of its siblings: the whole name wins.
    if let Some(o) = ours.iter().find(|o| o[1..] == k) {
        return Some(o);
    }
    let hits: Vec<_> = ours
        .iter()
        .filter(|o| !k.is_empty() && o[1..].starts_with(&k))
        .collect();
    (hits.len() == 1).then(|| *hits[0])
}

fn option_value(name: &str, o: &Options) -> Obj {
    match name {
        "-keepalive" => Obj::from_int(o.keepalive.as_secs() as i64),
        "-ping" => Obj::from_bytes(&o.ping),
        "-maxmessage" => Obj::from_int(o.max_message as i64),
        "-maxframe" => Obj::from_int(o.max_frame as i64),
        "-maxqueued" => Obj::from_int(o.max_queued as i64),
        "-deadtimeout" => Obj::from_int(o.dead_timeout.as_secs() as i64),
        "-deflate" => Obj::from_int(o.deflate.enabled as i64),
        "-deflatelevel" => Obj::from_int(o.deflate.level as i64),
        "-deflatewindow" => Obj::from_int(o.deflate.window as i64),
        "-deflatemin" => Obj::from_int(o.deflate.min_size as i64),
        "-deflatetakeover" => Obj::from_int(o.deflate.takeover as i64),
        _ => Obj::from_int(o.close_timeout.as_millis() as i64),
    }
}

pub(super) fn set_option(
    interp: Interp,
    name: &str,
    v: &Obj,
    o: &mut Options,
) -> Result<(), c_int> {
    let int_in = |interp: Interp, lo: i64, hi: i64| -> Result<i64, c_int> {
        match v.int() {
            Some(n) if (lo..=hi).contains(&n) => Ok(n),
            _ => {
                let s = v.to_string_lossy();
                Err(interp.error(
                    &format!("expected an integer from {lo} to {hi} for {name} but got \"{s}\""),
                    &["OPTION", "VALUE"],
                ))
            }
        }
    };
    let num = |interp: Interp| -> Result<f64, c_int> {
        let s = v.to_string_lossy();
        match s.trim().parse::<f64>() {
            Ok(x) if x >= 0.0 && x.is_finite() => Ok(x),
            _ => Err(interp.error(
                &format!("expected a non-negative number for {name} but got \"{s}\""),
                &["OPTION", "VALUE"],
            )),
        }
    };
    match name {
        // tcllib takes any number, zero or less meaning no pings.
        "-keepalive" => match v.to_string_lossy().trim().parse::<f64>() {
            Ok(x) if x.is_finite() => o.keepalive = Duration::from_secs_f64(x.max(0.0)),
            _ => {
                let s = v.to_string_lossy();
                return Err(interp.error(
                    &format!("expected a number for -keepalive but got \"{s}\""),
                    &["OPTION", "VALUE"],
                ));
            }
        },
        "-deadtimeout" => o.dead_timeout = Duration::from_secs_f64(num(interp)?),
        "-deflate" | "-deflatetakeover" => {
            let b = v.boolean(interp).map_err(|()| TCL_ERROR)?;
            if name == "-deflate" {
                o.deflate.enabled = b;
            } else {
                o.deflate.takeover = b;
            }
        }
        "-deflatelevel" => o.deflate.level = int_in(interp, 0, 9)? as u32,
        "-deflatewindow" => o.deflate.window = int_in(interp, 9, 15)? as u8,
        "-deflatemin" => o.deflate.min_size = int_in(interp, 0, i64::MAX)? as usize,
        "-ping" => o.ping = text::obj_to_utf8(v).into_owned(),
        "-maxmessage" => o.max_message = num(interp)? as u64,
        "-maxframe" => o.max_frame = num(interp)? as u64,
        "-maxqueued" => o.max_queued = num(interp)? as usize,
        _ => o.close_timeout = Duration::from_millis(num(interp)? as u64),
    }
    Ok(())
}

pub fn configure(interp: Interp, objv: Args) -> c_int {
    if objv.len() < 2 {
        return interp.wrong_args(objv, 1, "sock ?arg ...?");
    }
    let first = arg(objv, 1);
    // Our addition: `configure -option ?value ...?` sets package defaults
    // for connections to come (a channel name never starts with "-").
    let package = first.tcl_utf().first() == Some(&b'-');
    let (sock, rest) = if package {
        (None, &objv[1..])
    } else {
        (Some(first.to_string_lossy()), &objv[2..])
    };
    let mut opts = match &sock {
        None => state::with(|r| r.interp(interp).defaults.clone()),
        Some(s) => match state::with(|r| r.conn(interp, s).map(|c| c.options.clone())) {
            Some(o) => o,
            // Between `test` and `upgrade`: options for the connection to be.
            None => match state::with(|r| {
                let defaults = r.interp(interp).defaults.clone();
                r.interp(interp)
                    .clients
                    .get(s)
                    .map(|c| c.options.clone().unwrap_or(defaults))
            }) {
                Some(o) => o,
                None => return not_a_websocket(interp, s),
            },
        },
    };
    if package && rest.len() == 1 {
        let Some(name) = option_name(&arg(rest, 0)) else {
            let k = arg(rest, 0).to_string_lossy();
            return interp.error(&format!("{k} is not a recognised option"), &[]);
        };
        interp.set_result(option_value(name, &opts));
        return TCL_OK;
    }
    for kv in rest.chunks(2) {
        let k = arg(kv, 0);
        let Some(name) = option_name(&k) else {
            let k = k.to_string_lossy();
            return interp.error(&format!("{k} is not a recognised option"), &[]);
        };
        let v = if kv.len() > 1 {
            arg(kv, 1)
        } else {
            Obj::from_str("")
        };
        if let Err(rc) = set_option(interp, name, &v, &mut opts) {
            return rc;
        }
    }
    match sock {
        None => {
            state::with(|r| r.interp(interp).defaults = opts.clone());
            let mut words = Vec::new();
            for name in [
                "-keepalive",
                "-ping",
                "-maxmessage",
                "-maxframe",
                "-maxqueued",
                "-closetimeout",
                "-deadtimeout",
                "-deflate",
                "-deflatelevel",
                "-deflatewindow",
                "-deflatemin",
                "-deflatetakeover",
            ] {
                words.push(Obj::from_str(name));
                words.push(option_value(name, &opts));
            }
            interp.set_result(Obj::list(&words));
        }
        Some(s) => {
            let id: Option<ConnId> = state::with(|r| {
                if let Some(c) = r.interp(interp).clients.get_mut(&s) {
                    c.options = Some(opts.clone());
                }
                r.conn(interp, &s).map(|c| {
                    c.options = opts.clone();
                    c.id
                })
            });
            if let Some(id) = id {
                if !rest.is_empty() {
                    engine::engine().configure(id, opts);
                }
            }
            interp.reset_result();
        }
    }
    TCL_OK
}

pub fn loglevel(interp: Interp, objv: Args) -> c_int {
    if objv.len() > 2 {
        return interp.wrong_args(objv, 1, "?loglvl?");
    }
    if objv.len() == 2 {
        let want = arg(objv, 1).to_string_lossy();
        if let Some(level) = super::log::Level::parse(&want) {
            let ok = interp
                .eval_global(&[
                    Obj::from_str("::websocket::SetLogLevel"),
                    Obj::from_str(&want),
                ])
                .map(|r| r.to_string_lossy() == "1")
                .unwrap_or(false);
            if ok {
                let old = state::log_level(interp);
                state::with(|r| r.interp(interp).level = level);
                super::log::level_changed(old, level);
            }
        }
    }
    let level = state::log_level(interp);
    interp.set_result(Obj::from_str(level.name()));
    TCL_OK
}

/// The command table: name and implementation.
pub type Command = fn(Interp, Args) -> c_int;

pub const COMMANDS: &[(&str, Command)] = &[
    ("close", close),
    ("configure", configure),
    ("conninfo", conninfo),
    ("find", find),
    ("live", live),
    ("loglevel", loglevel),
    ("open", super::client::open),
    ("sec-websocket-accept", sec_websocket_accept),
    ("send", send),
    ("server", server),
    ("takeover", takeover),
    ("test", test),
    ("upgrade", upgrade),
    ("validate", validate),
];
