//! Taking a socket over (`takeover`, and `upgrade` once its handshake is
//! answered): a plain TCP socket moves to the engine, and a channel of
//! ours replaces Tcl's under the same name; any other channel is bridged
//! (bridge.rs); a WebSocket taken over again starts afresh.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use super::error::TclError;
use super::ffi::{Args, Channel, Interp, Obj, Taken};
use super::handler::notify;
use super::log::{log, Level};
use super::state::{self, Conn, ConnState};
use super::ws_channel::{self, ChannelInfo, End};
use super::{bridge, teardown};
use crate::engine::{self, ConnId, Options, Registration, Stream};
use crate::protocol::{deflate, Role};

/// `websocket::takeover sock handler ?server? ?info?`: makes the socket
/// under channel `sock` a WebSocket, its handler told `connect info`.
pub fn takeover(interp: Interp, objv: Args) -> Result<Obj, TclError> {
    if !(3..=5).contains(&objv.len()) {
        return Err(interp.wrong_args(objv, "sock handler ?server? ?info?"));
    }
    let server = objv.len() > 3 && objv.get(3).boolean(interp).unwrap_or(false);
    let info = objv.get_or(4, "");
    take_over(
        interp,
        &objv.get(1),
        objv.get(2),
        server,
        info,
        Setup::default(),
    )
}

/// What `upgrade` settled in the handshake for `take_over`.
#[derive(Default)]
pub struct Setup {
    /// The 101 answer, written before any frame.
    pub preamble: Vec<u8>,
    /// The connection's options (None: the package defaults).
    pub options: Option<Options>,
    /// The permessage-deflate agreed, if any.
    pub deflate: Option<deflate::Agreed>,
}

/// How a channel is taken over.
enum Taking {
    /// Its socket, for the engine.
    Tcp(Taken),
    /// Its I/O stays with Tcl (see bridge.rs).
    Bridge(bridge::Prepared),
    /// A WebSocket already: the engine moves its socket to a new
    /// connection (tcllib starts afresh when a socket is taken over again).
    Again(ConnId),
}

/// Moves the socket under channel `sock` to the engine (or, for a channel
/// that is not a plain socket, bridges it) and says `connect`.
pub fn take_over(
    interp: Interp,
    sock: &Obj,
    handler: Obj,
    server: bool,
    info: Obj,
    setup: Setup,
) -> Result<Obj, TclError> {
    let name = sock.to_string_lossy();
    let chan = Channel::lookup(interp, sock)?;
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
            return Err(TclError::ws(
                format!("cannot take over {name}: its WebSocket is not connected"),
                &["CHANNEL", "UNSUPPORTED"],
            ));
        };
        Some(id)
    } else {
        None
    };
    if !chan.is_read_write() {
        return Err(TclError::ws(
            format!("cannot take over {name}: it is not open for both reading and writing"),
            &["CHANNEL", "UNSUPPORTED"],
        ));
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
        bridge::prepare(interp, chan).map(Taking::Bridge)
    } else {
        chan.take_over(interp).map(Taking::Tcp)
    };
    let taken = taken
        .map_err(|e| TclError::ws(format!("cannot take over {name}: {}", e.msg), &["CHANNEL"]))?;
    // Re-taking a socket starts afresh, as tcllib's New does.
    let old = state::with(|r| r.remove_conn(interp, &name));
    // What tcllib says when the channel cannot name its ends.
    let (mut peer_ip, mut sock_ip) = ("0.0.0.0".to_string(), "127.0.0.1".to_string());
    let (mut peer_name, mut sock_name) = (None, None);
    let mut ends = None;
    let (stream, initial, skip_lf, bridged_with) = match taken {
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
            teardown::unwatch_script_close(ch, old.id);
        }
        bridge::forget(old.id);
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
    teardown::watch_script_close(chan, id);
    if let Some(p) = bridged_with {
        bridge::start(interp, chan, id, shared.clone(), p);
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
    notify(interp, &name, "connect", info);
    let role = if server { "server" } else { "client" };
    log(interp, Level::DEBUG, || {
        format!("{name} has been registered as a {role} WebSocket")
    });
    Ok(Obj::empty())
}
