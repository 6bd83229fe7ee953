//! The engine's verdict on a connection `open` started, turned into the
//! handler calls tcllib makes (see client.rs for the list).

use super::disconnect::disconnect;
use super::ffi::{Interp, Obj};
use super::handler::notify;
use super::log::{log, Level};
use super::state::{self, ConnState};
use super::ws_channel::{self, ChannelInfo, End};
use crate::engine::{ConnectFailure, Connected, Event};

fn end(addr: std::net::SocketAddr, host: &str) -> End {
    End::new(addr, Some(host.to_owned()))
}

/// The engine's verdict on a connection being opened.
pub fn deliver(interp: Interp, sock: &str, ev: Event) {
    let Some(id) = state::with(|r| r.conn(interp, sock).map(|c| c.id)) else {
        return;
    };
    let Some(info) = ws_channel::take_opening(id) else {
        return;
    };
    let url = info.url.clone();
    match ev {
        Event::Connected(c) => connected(interp, sock, &info, *c),
        Event::ConnectFailed(why) => {
            let error = |code: &str| {
                Obj::from_str(&format!(
                    "HTTP error code {code} when establishing WebSocket connection with {url}"
                ))
            };
            match why {
                ConnectFailure::Status(code) => notify(interp, sock, "error", error(&code)),
                ConnectFailure::Io(why) => {
                    log(interp, Level::NOTICE, || {
                        format!("Cannot connect to {url}: {why}")
                    });
                    notify(interp, sock, "error", error(""));
                }
                ConnectFailure::Timeout => {
                    notify(
                        interp,
                        sock,
                        "timeout",
                        Obj::from_str(&format!("Timeout when connecting to {url}")),
                    );
                    notify(interp, sock, "error", error(""));
                    disconnect(interp, sock);
                }
                ConnectFailure::Tls(why) => {
                    // As a failed connection (tcllib with tls::socket says
                    // "HTTP error code " and keeps the socket), with the
                    // reason.
                    log(interp, Level::ERROR, || {
                        format!("TLS failure with {url}: {why}")
                    });
                    let msg = format!(
                        "TLS error when establishing WebSocket connection with {url}: {why}"
                    );
                    notify(interp, sock, "error", Obj::from_str(&msg));
                }
                ConnectFailure::ProxyRefused { code, status_line } => {
                    // http 2.10 presents the proxy's answer as the server's.
                    log(interp, Level::NOTICE, || {
                        format!("The proxy refused the tunnel to {url}: {status_line}")
                    });
                    notify(interp, sock, "error", error(&code));
                }
                ConnectFailure::Invalid(why) => {
                    log(interp, Level::ERROR, || {
                        format!("Security handshake failed with {url}: {why}")
                    });
                    let msg = format!(
                        "Handshake error when establishing WebSocket connection with {url}: {why}"
                    );
                    notify(interp, sock, "error", Obj::from_str(&msg));
                    disconnect(interp, sock);
                }
            }
        }
        _ => {}
    }
}

fn connected(interp: Interp, sock: &str, info: &ChannelInfo, c: Connected) {
    *info.ends.borrow_mut() = Some((end(c.peer, &c.peer_name), end(c.local, &c.local_name)));
    let ok = state::with(|r| match r.conn(interp, sock) {
        Some(conn) if conn.state == ConnState::Connecting => {
            conn.state = ConnState::Connected;
            conn.peer_ip = c.peer.ip().to_string();
            conn.sock_ip = c.local.ip().to_string();
            // As tcllib's takeover: the host names of the two ends.
            conn.peer_name = Some(Obj::from_str(&c.peer_name));
            conn.sock_name = Some(Obj::from_str(&c.local_name));
            conn.extensions = c.extensions.clone();
            true
        }
        _ => false,
    });
    if !ok {
        return;
    }
    notify(interp, sock, "connect", Obj::from_str(&c.protocol));
    log(interp, Level::DEBUG, || {
        format!("{sock} has been registered as a client WebSocket")
    });
}
