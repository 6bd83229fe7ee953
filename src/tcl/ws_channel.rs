//! The Tcl channel that names a WebSocket whose socket the engine owns:
//! one opened by `::websocket::open`, or a TCP socket a script handed to
//! `upgrade`/`takeover` (which replaces Tcl's channel by one of these under
//! the same name, so the engine's descriptor is the only one left). The
//! channel gives the connection a name Tcl knows (`chan names`,
//! `close $sock`, `fconfigure $sock -peername`), unique for as long as it
//! lives: `open` names it "sock<hex address of its instance data>", the way
//! Tcl names its own TCP sockets, so it can never collide with one of them.
//!
//! Reading or writing it fails with EINVAL. Closing it runs the close
//! handler the package registers (`teardown::watch_script_close`), which aborts the
//! connection in the engine; when the package itself closes it (the
//! WebSocket ended) that handler is removed first and the close procedure
//! only frees the instance data.

use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::rc::Rc;

use super::ffi::chan_type::{self, ChannelDriver, OptionReply, OptionWord};
use super::ffi::{os, Channel, Interp, Obj};
use super::teardown;
use crate::engine::ConnId;

/// One end of a connection: its address, and its host name, looked up
/// when first asked for (as Tcl's TCP channels do) unless already known.
#[derive(Clone, Debug)]
pub struct End {
    addr: SocketAddr,
    host: OnceCell<String>,
}

impl End {
    /// An end at `addr`, whose host name is `host` if known.
    pub fn new(addr: SocketAddr, host: Option<String>) -> End {
        let cell = OnceCell::new();
        if let Some(h) = host {
            let _ = cell.set(h);
        }
        End { addr, host: cell }
    }

    /// The address, in words.
    pub fn ip(&self) -> String {
        self.addr.ip().to_string()
    }

    /// The host name, or the address when it has none.
    pub fn host(&self) -> &str {
        self.host
            .get_or_init(|| os::reverse_lookup(self.addr.ip()).unwrap_or_else(|| self.ip()))
    }

    /// {ip host port}, as `fconfigure -peername` gives it.
    fn words(&self) -> Vec<String> {
        vec![
            self.ip(),
            self.host().to_owned(),
            self.addr.port().to_string(),
        ]
    }
}

/// What the Tcl side keeps about the connection a channel names.
pub struct ChannelInfo {
    /// The connection `open` started: its opening state is forgotten when
    /// the channel closes.
    pub id: ConnId,
    /// The URL given to `open`, for the handler's messages (empty for a
    /// socket taken over).
    pub url: String,
    /// Peer and local ends, once connected.
    pub ends: RefCell<Option<(End, End)>>,
}

thread_local! {
    /// Client connections still opening, for their URL and channel data.
    static OPENING: RefCell<HashMap<ConnId, Rc<ChannelInfo>>> = RefCell::new(HashMap::new());
}

/// Keeps a client connection's data until the engine's verdict on it.
pub fn remember_opening(id: ConnId, info: Rc<ChannelInfo>) {
    OPENING.with(|m| m.borrow_mut().insert(id, info));
}

/// The data of a client connection still opening, taken out.
pub fn take_opening(id: ConnId) -> Option<Rc<ChannelInfo>> {
    OPENING.with(|m| m.borrow_mut().remove(&id))
}

/// The channel of a client WebSocket was closed: forget its opening data.
fn forget_opening(id: ConnId) {
    let _ = OPENING.try_with(|m| m.borrow_mut().remove(&id));
}

/// The driver of one channel.
struct Driver(Rc<ChannelInfo>);

impl ChannelDriver for Driver {
    fn closed(self: Box<Self>) {
        forget_opening(self.0.id);
    }

    /// `thread::transfer` cuts the channel out of this thread: the
    /// WebSocket cannot follow it (its handler and state belong to an
    /// interpreter here), so it ends as if the script had closed the
    /// channel, with an error logged; the other thread gets a channel that
    /// only names a closed connection, which it may close.
    fn moved_away(&self, chan: Channel) {
        // Only the channel keeps the instance's data from here on.
        forget_opening(self.0.id);
        teardown::channel_moved_away(chan);
    }

    /// `fconfigure`'s options of ours, as Tcl's TCP sockets have them:
    /// -peername and -sockname ({ip host port}, abbreviations allowed),
    /// plus -connecting and -error.
    fn option(&self, name: &[u8]) -> OptionReply {
        let ends = self.0.ends.borrow();
        let word = |s: &str| OptionWord::Word(s.to_owned());
        let connecting = if ends.is_some() { "0" } else { "1" };
        let is = |full: &[u8]| name.len() > 1 && full.starts_with(name);
        if name.is_empty() {
            let mut all = vec![
                word("-connecting"),
                word(connecting),
                word("-error"),
                word(""),
            ];
            if let Some((peer, sock)) = &*ends {
                for (opt, end) in [("-peername", peer), ("-sockname", sock)] {
                    all.push(word(opt));
                    all.push(OptionWord::Sublist(end.words()));
                }
            }
            return OptionReply::Value(all);
        }
        if is(b"-connecting") {
            return OptionReply::Value(vec![word(connecting)]);
        }
        if is(b"-error") {
            return OptionReply::Value(vec![word("")]);
        }
        let which = if is(b"-peername") {
            Some(("peername", 0))
        } else if is(b"-sockname") {
            Some(("sockname", 1))
        } else {
            None
        };
        match (which, &*ends) {
            (Some((_, i)), Some((peer, sock))) => {
                let end = if i == 0 { peer } else { sock };
                OptionReply::Value(end.words().into_iter().map(OptionWord::Word).collect())
            }
            (Some((what, _)), None) => {
                OptionReply::NotConnected(format!("can't get {what}: socket is not connected"))
            }
            (None, _) => OptionReply::Unknown(c"connecting error peername sockname"),
        }
    }
}

/// Creates a channel for a client WebSocket and registers it in
/// `interp`; returns it and its name.
pub fn create(interp: Interp, info: Rc<ChannelInfo>) -> (Channel, Obj) {
    chan_type::create(interp, None, Box::new(Driver(info)))
}

/// Creates a channel named `name` (free in `interp`) and registers it.
pub fn create_named(interp: Interp, name: &str, info: Rc<ChannelInfo>) -> Channel {
    chan_type::create(interp, Some(name), Box::new(Driver(info))).0
}
