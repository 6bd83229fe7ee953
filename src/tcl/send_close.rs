//! Sending on a WebSocket and closing it: `send` and `close`.

use std::sync::atomic::Ordering;

use super::bridge;
use super::disconnect::disconnect;
use super::error::TclError;
use super::ffi::{Args, Interp, Obj};
use super::handler::notify;
use super::log::{log, not_a_websocket, Level};
use super::state::{self, ConnState};
use crate::engine::{self, frames};
use crate::protocol::{close as close_codes, Role};

/// tcllib's type argument: an integer opcode, or text/binary/ping by
/// their first letter.
fn parse_type(t: &Obj) -> Option<i32> {
    // A word that starts with a letter is no integer: spare Tcl the try.
    let word = t.tcl_utf().first().is_some_and(u8::is_ascii_alphabetic);
    if let Some(n) = (!word).then(|| t.int()).flatten() {
        return (0..=15).contains(&n).then_some(n as i32);
    }
    match t.tcl_utf().first().map(u8::to_ascii_lowercase) {
        Some(b't') => Some(1),
        Some(b'b') => Some(2),
        Some(b'p') => Some(9),
        _ => None,
    }
}

/// `websocket::send sock type ?msg? ?final?`: sends a message or a
/// fragment; returns the frame's length, or -1 when it cannot be sent.
pub fn send(interp: Interp, objv: Args) -> Result<Obj, TclError> {
    if !(3..=5).contains(&objv.len()) {
        return Err(interp.wrong_args(objv, "sock type ?msg? ?final?"));
    }
    let sock_obj = objv.get(1);
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
        return Err(not_a_websocket(interp, &sock));
    };
    if state_now != ConnState::Connected {
        log(interp, Level::WARN, || {
            format!("Cannot send along WS {sock}, not connected")
        });
        return Ok(Obj::from_int(-1));
    }
    let Some(mut opcode) = parse_type(&objv.get(2)) else {
        return Err(TclError::ws(
            "Unrecognised type, should be one of text, binary, ping or a protocol valid integer",
            &[],
        ));
    };
    let fin = if objv.len() > 4 {
        objv.get(4).boolean(interp)?
    } else {
        true
    };
    let msg = objv.get_or(3, "");
    // Fragments continue the type of the message they belong to.
    let msg_opcode = if write_opcode > 0 {
        if opcode != write_opcode {
            return Err(TclError::ws(
                "Cannot change type of message under continuation!",
                &[],
            ));
        }
        opcode = 0;
        write_opcode
    } else {
        opcode
    };
    let payload = if msg_opcode == 1 {
        msg.to_utf8()
    } else {
        std::borrow::Cow::Borrowed(msg.bytes(interp)?)
    };
    // Counted, and returned, as the uncompressed frame, with or without
    // permessage-deflate (then the I/O thread compresses and frames).
    let len = frames::frame_len(role, payload.len());
    bridge::account(id);
    if shared.pending() + len > max_queued {
        log(interp, Level::WARN, || {
            format!("Cannot send along WS {sock}: {max_queued} bytes already wait to be written")
        });
        return Ok(Obj::from_int(-1));
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
    Ok(Obj::from_int(len as i64))
}

/// `websocket::close sock ?code? ?reason?`: closes a WebSocket (code 1000
/// by default; a code that is not an integer closes without one).
pub fn close(interp: Interp, objv: Args) -> Result<Obj, TclError> {
    if !(2..=4).contains(&objv.len()) {
        return Err(interp.wrong_args(objv, "sock ?code? ?reason?"));
    }
    let sock = objv.get(1).to_string_lossy();
    let Some((st, id)) = state::with(|r| r.conn(interp, &sock).map(|c| (c.state, c.id))) else {
        return Err(not_a_websocket(interp, &sock));
    };
    if st == ConnState::Closed {
        log(interp, Level::NOTICE, || "Connection already closed".into());
        return Ok(Obj::empty());
    }
    state::with(|r| r.conn(interp, &sock).map(|c| c.state = ConnState::Closed));
    let code = if objv.len() > 2 {
        objv.get(2).int()
    } else {
        Some(1000)
    };
    let (payload, msg) = match code {
        None => (Vec::new(), Obj::from_str("")),
        Some(code) => {
            let code = code as u16;
            let given = if objv.len() > 3 {
                objv.get(3).to_string_lossy()
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
    notify(interp, &sock, "close", msg);
    disconnect(interp, &sock);
    Ok(Obj::empty())
}
