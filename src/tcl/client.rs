//! `::websocket::open`: client WebSockets. The command parses its options
//! and URL exactly as tcllib 1.6 does (through `http::geturl`), creates the
//! connection's channel and registry entry (state CONNECTING, as tcllib's
//! `New`), hands all network work to the engine and returns at once. The
//! engine's verdict comes back as an event, turned here into the handler
//! calls tcllib makes:
//!
//! - success: `connect {subprotocol}`;
//! - an answer other than 101: `error "HTTP error code N when establishing
//!   WebSocket connection with URL"`; as in tcllib the socket stays known,
//!   in state CONNECTING, until the script closes it;
//! - no answer at all (name not resolved, connection refused, server gone
//!   before answering): the same `error` with an empty code, which is what
//!   tcllib says (the cause is logged at notice level);
//! - -timeout expired: `timeout "Timeout when connecting to URL"`, then the
//!   `error` above with an empty code, then `disconnect`, as tcllib;
//! - a 101 answer that breaks RFC 6455 4.1 (accept key, Upgrade and
//!   Connection headers, subprotocol or extensions not offered): `error`
//!   with the reason, then `disconnect`.
//!
//! The verdict's handler calls are in open_outcome.rs.

use std::cell::RefCell;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::time::Duration;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::client_options::{self, Extras};
use super::config::set_option;
use super::error::TclError;
use super::ffi::{os, Args, Interp, Obj};
use super::log::{log, Level};
use super::state::{self, Conn, ConnState};
use super::teardown;
use super::ws_channel::{self, ChannelInfo};
use crate::engine::{self, frames, ConnectRequest};
use crate::protocol::client_handshake::{self as hs, Request};

/// Option names tcllib's `open` lets through (`string match -nocase` on
/// the name without its leading dashes).
const ALLOWED: [&str; 12] = [
    "bi", "bl", "ch", "he", "k", "m", "prog", "prot", "qu", "s", "ti", "ty",
];

/// `http::geturl`'s options; tcllib passes the allowed options it does not
/// handle itself to it, which refuses any other spelling.
const GETURL: [&str; 19] = [
    "binary",
    "blocksize",
    "channel",
    "command",
    "handler",
    "headers",
    "keepalive",
    "method",
    "myaddr",
    "progress",
    "protocol",
    "query",
    "queryblocksize",
    "querychannel",
    "queryprogress",
    "strict",
    "timeout",
    "type",
    "validate",
];

/// Runs a Tcl check on a value: `apply {v {expr ...}} $v` is true.
fn tcl_check(interp: Interp, lambda: &str, v: &Obj) -> bool {
    let r = interp.eval_global(&[Obj::from_str("::apply"), Obj::from_str(lambda), v.clone()]);
    interp.reset_result();
    matches!(r, Ok(o) if o.to_string_lossy() == "1")
}

/// What the options ask for.
struct Opts {
    headers: Vec<(String, String)>,
    protocols: Vec<String>,
    timeout: Option<Duration>,
    myaddr: Option<String>,
    strict: bool,
    /// Our additions (TLS, proxy).
    extras: Extras,
    /// -deflate ... and -busypoll: as `configure` takes them, over the
    /// package defaults.
    settings: Vec<(&'static str, Obj)>,
}

/// The options of `configure` that `open` takes too: permessage-deflate
/// and `-busypoll`.
const SETTINGS: [&str; 6] = [
    "-deflate",
    "-deflatelevel",
    "-deflatewindow",
    "-deflatemin",
    "-deflatetakeover",
    "-busypoll",
];

/// "Error while opening WebSocket connection to URL: why".
fn open_error(url: &str, why: &str, code: &[&str]) -> TclError {
    TclError::ws(
        format!("Error while opening WebSocket connection to {url}: {why}"),
        code,
    )
}

/// tcllib's option loop, then geturl's checks of what it is passed.
fn parse_options(interp: Interp, url: &str, rest: Args) -> Result<Opts, TclError> {
    let mut opts = Opts {
        headers: Vec::new(),
        protocols: Vec::new(),
        timeout: None,
        myaddr: None,
        strict: true,
        extras: Extras::default(),
        settings: Vec::new(),
    };
    let mut protos = Obj::from_str("");
    let mut geturl: Vec<(Obj, Obj)> = Vec::new();
    for kv in rest.chunks(2) {
        let k = kv.get(0);
        let v = kv.get_or(1, "");
        let ks = k.to_string_lossy();
        let lower = format!("-{}", ks.trim_start_matches('-').to_ascii_lowercase());
        if let Some(name) = SETTINGS.iter().find(|o| **o == lower) {
            let mut scratch = crate::engine::Options::server_default();
            set_option(interp, name, &v, &mut scratch)?;
            opts.settings.push((name, v));
            continue;
        }
        // Ours first: tcllib's filter would refuse them.
        if let Some(which) = client_options::ours(&ks) {
            if let Err(e) = opts.extras.set(interp, which, &ks, &v) {
                return Err(open_error(url, &e.msg, &[]));
            }
            continue;
        }
        let name = ks.trim_start_matches('-').to_lowercase();
        if !ALLOWED.iter().any(|p| name.starts_with(p)) {
            return Err(TclError::ws(
                format!("{ks} is not a recognised option"),
                &[],
            ));
        }
        if name.starts_with("he") {
            // `array set HDR $v`: its error as is for an odd list.
            if interp
                .eval_global(&[
                    Obj::from_str("::apply"),
                    Obj::from_str("v {array set H $v}"),
                    v.clone(),
                ])
                .is_err()
            {
                return Err(interp.error_left());
            }
            let items = v.elements(interp)?;
            for pair in items.chunks(2) {
                opts.headers
                    .push((pair[0].to_string_lossy(), pair[1].to_string_lossy()));
            }
        } else if name.starts_with("prot") {
            protos = v;
        } else if name.starts_with("ti") {
            if tcl_check(interp, "v {expr {[string is integer $v] && $v > 0}}", &v) {
                opts.timeout = v.int().map(|ms| Duration::from_millis(ms as u64));
            }
        } else {
            geturl.push((k, v));
        }
    }
    // `join $protos ", "`
    opts.protocols = protos
        .elements(interp)?
        .iter()
        .map(Obj::to_string_lossy)
        .collect();
    let fail = |_: Interp, msg: String| Err(open_error(url, &msg, &[]));
    // http::geturl's own option checks. Of its options, only -myaddr and
    // -strict mean something here; -binary, -blocksize, -channel,
    // -keepalive, -method, -progress, -query, -queryblocksize,
    // -querychannel, -queryprogress and -type are accepted and ignored
    // (the request is always a GET without a body, on HTTP/1.1).
    let mut query = false;
    let mut querychannel = false;
    for (k, v) in &geturl {
        let ks = k.to_string_lossy();
        let Some(name) = ks.strip_prefix('-').filter(|n| GETURL.contains(n)) else {
            let usage = GETURL.map(|o| format!("-{o}")).join(", ");
            return fail(interp, format!("Unknown option {ks}, can be: {usage}"));
        };
        let kind = match name {
            "binary" | "strict" => Some("boolean"),
            "blocksize" | "queryblocksize" => Some("integer"),
            _ => None,
        };
        if let Some(kind) = kind {
            let lambda = format!("v {{string is {kind} -strict $v}}");
            if !tcl_check(interp, &lambda, v) {
                let vs = v.to_string_lossy();
                return fail(interp, format!("Bad value for {ks} ({vs}), must be {kind}"));
            }
        }
        match name {
            "myaddr" => opts.myaddr = Some(v.to_string_lossy()),
            "strict" => opts.strict = v.boolean(interp).unwrap_or(true),
            "query" => query = true,
            "querychannel" => querychannel = true,
            _ => {}
        }
    }
    if query && querychannel {
        return fail(
            interp,
            "Can't combine -query and -querychannel options!".into(),
        );
    }
    Ok(opts)
}

/// `websocket::open url handler ?options?`: starts a client WebSocket
/// and returns its channel name at once.
pub fn open(interp: Interp, objv: Args) -> Result<Obj, TclError> {
    if objv.len() < 3 {
        return Err(interp.wrong_args(objv, "url handler ?arg ...?"));
    }
    // A safe interpreter has no `socket` (tcllib's open fails there too):
    // it must not reach the network through us.
    if interp.is_safe() {
        return Err(TclError::ws(
            "websocket::open is not available in a safe interpreter",
            &["SAFE"],
        ));
    }
    let url = objv.get(1).to_string_lossy();
    let handler = objv.get(2);
    let opts = parse_options(interp, &url, objv.from(3))?;
    let target = hs::parse_url(&url, opts.strict).map_err(|e| open_error(&url, &e.0, &[]))?;
    let tls = if target.secure {
        let t = client_options::tls_target(&opts.extras, &target.host)
            .map_err(|e| open_error(&url, &e.msg, &["TLS"]))?;
        Some(t)
    } else {
        None
    };
    let proxy = client_options::proxy_for(interp, &opts.extras, &target.host)
        .map_err(|e| open_error(&url, &e.msg, &[]))?;
    if tls.is_some() && opts.extras.tls.insecure {
        log(interp, Level::WARN, || {
            format!("-insecure: the certificate of {url} will not be verified")
        });
    }
    // A -myaddr address that is not ours fails at once, as Tcl's socket
    // command makes tcllib fail (binding is a local, non-blocking matter;
    // names are resolved, and checked, by the engine).
    if let Some(ip) = opts
        .myaddr
        .as_deref()
        .and_then(|a| a.parse::<IpAddr>().ok())
    {
        if let Err(e) = try_bind(ip) {
            let why = format!("couldn't open socket: {}", posix_message(&e));
            return Err(open_error(&url, &why, &[]));
        }
    }
    let key = hs::make_key(frames::random_bytes::<16>());
    let (mailbox, mut options) =
        state::with(|r| (r.mailbox.clone(), r.interp(interp).defaults.clone()));
    options.keepalive = Duration::ZERO; // clients do not ping unless asked
    options.busy_poll = crate::engine::Options::CLIENT_BUSY_POLL; // they await replies
    for (name, v) in &opts.settings {
        // Checked while parsing: cannot fail here.
        let _ = set_option(interp, name, v, &mut options);
    }
    let request = Request {
        target: target.target.clone(),
        host: hs::host_header(&target),
        headers: opts.headers,
        key: key.clone(),
        protocols: opts.protocols.clone(),
        extensions: crate::protocol::deflate::offer(&options.deflate),
    };
    let (id, shared) = engine::engine().connect(ConnectRequest {
        host: target.host.clone(),
        port: target.port,
        request: request.to_bytes(),
        key,
        protocols: opts.protocols,
        myaddr: opts.myaddr,
        timeout: opts.timeout,
        mailbox,
        options: options.clone(),
        reverse: Some(os::reverse_lookup),
        tls,
        proxy,
    });
    let info = Rc::new(ChannelInfo {
        id,
        url: url.clone(),
        ends: RefCell::new(None),
    });
    let (chan, name) = ws_channel::create(interp, info.clone());
    teardown::watch_script_close(chan, id);
    let sock = name.to_string_lossy();
    let old = state::with(|r| r.remove_conn(interp, &sock));
    if let Some(old) = old {
        if let Some(ch) = old.channel {
            teardown::unwatch_script_close(ch, old.id);
        }
        engine::engine().abort(old.id);
    }
    ws_channel::remember_opening(id, info);
    let conn = Conn {
        id,
        name: name.clone(),
        handler,
        server: false,
        state: ConnState::Connecting,
        write_opcode: -1,
        extensions: String::new(),
        options,
        shared,
        channel: Some(chan),
        // What tcllib's New says until the connection is up.
        peer_ip: "0.0.0.0".into(),
        sock_ip: "127.0.0.1".into(),
        peer_name: None,
        sock_name: None,
    };
    state::with(|r| {
        r.by_id.insert(id, (interp, sock.clone()));
        r.interp(interp).conns.insert(sock.clone(), conn);
    });
    log(interp, Level::DEBUG, || {
        format!("Opening WebSocket connection to {url} as {sock}")
    });
    Ok(name)
}

/// Binds a throw-away TCP socket to `ip`.
fn try_bind(ip: IpAddr) -> std::io::Result<()> {
    let addr = SocketAddr::new(ip, 0);
    let sock = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    sock.bind(&SockAddr::from(addr))
}

/// An OS error as Tcl words it ("connection refused").
fn posix_message(e: &std::io::Error) -> String {
    let s = e.to_string();
    let s = match s.find(" (os error") {
        Some(i) => &s[..i],
        None => &s,
    };
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}
