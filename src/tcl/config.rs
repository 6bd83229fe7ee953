//! Settings: `configure` (a WebSocket's options, or the package
//! defaults) and `loglevel`.

use std::time::Duration;

use super::error::TclError;
use super::ffi::{Args, Interp, Obj};
use super::level::Level;
use super::log::{self, not_a_websocket};
use super::state;
use crate::engine::{self, ConnId, Options};

/// Every option, in the order `configure` lists them: tcllib's two, then
/// ours.
const OPTIONS: [&str; 13] = [
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
    "-busypoll",
];

/// Option names: tcllib's two match any abbreviation of their first
/// letter; ours need an unambiguous prefix.
pub fn option_name(k: &Obj) -> Option<&'static str> {
    let k = k.to_string_lossy().trim_start_matches('-').to_lowercase();
    if k.starts_with('k') {
        return Some("-keepalive");
    }
    if k.starts_with('p') {
        return Some("-ping");
    }
    let ours = &OPTIONS[2..];
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
        "-busypoll" => Obj::from_int(o.busy_poll.as_micros() as i64),
        _ => Obj::from_int(o.close_timeout.as_millis() as i64),
    }
}

/// Sets option `name` (a full name, see [`option_name`]) to `v` in `o`.
pub fn set_option(interp: Interp, name: &str, v: &Obj, o: &mut Options) -> Result<(), TclError> {
    let int_in = |lo: i64, hi: i64| -> Result<i64, TclError> {
        match v.int() {
            Some(n) if (lo..=hi).contains(&n) => Ok(n),
            _ => {
                let s = v.to_string_lossy();
                Err(TclError::ws(
                    format!("expected an integer from {lo} to {hi} for {name} but got \"{s}\""),
                    &["OPTION", "VALUE"],
                ))
            }
        }
    };
    let num = || -> Result<f64, TclError> {
        let s = v.to_string_lossy();
        match s.trim().parse::<f64>() {
            Ok(x) if x >= 0.0 && x.is_finite() => Ok(x),
            _ => Err(TclError::ws(
                format!("expected a non-negative number for {name} but got \"{s}\""),
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
                return Err(TclError::ws(
                    format!("expected a number for -keepalive but got \"{s}\""),
                    &["OPTION", "VALUE"],
                ));
            }
        },
        "-deadtimeout" => o.dead_timeout = Duration::from_secs_f64(num()?),
        "-deflate" | "-deflatetakeover" => {
            let b = v.boolean(interp)?;
            if name == "-deflate" {
                o.deflate.enabled = b;
            } else {
                o.deflate.takeover = b;
            }
        }
        "-deflatelevel" => o.deflate.level = int_in(0, 9)? as u32,
        "-deflatewindow" => o.deflate.window = int_in(9, 15)? as u8,
        "-deflatemin" => o.deflate.min_size = int_in(0, i64::MAX)? as usize,
        "-busypoll" => {
            o.busy_poll = Duration::from_micros(int_in(0, Options::MAX_BUSY_POLL_US)? as u64)
        }
        "-ping" => o.ping = v.to_utf8().into_owned(),
        "-maxmessage" => o.max_message = num()? as u64,
        "-maxframe" => o.max_frame = num()? as u64,
        "-maxqueued" => o.max_queued = num()? as usize,
        _ => o.close_timeout = Duration::from_millis(num()? as u64),
    }
    Ok(())
}

/// `websocket::configure sock ?-option value ...?`: a WebSocket's
/// settings (or, before `upgrade`, those of the connection to be). Ours:
/// `configure -option ?value ...?`, the package defaults.
pub fn configure(interp: Interp, objv: Args) -> Result<Obj, TclError> {
    if objv.len() < 2 {
        return Err(interp.wrong_args(objv, "sock ?arg ...?"));
    }
    let first = objv.get(1);
    // Our addition: `configure -option ?value ...?` sets package defaults
    // for connections to come (a channel name never starts with "-").
    let package = first.tcl_utf().first() == Some(&b'-');
    let (sock, rest) = if package {
        (None, objv.from(1))
    } else {
        (Some(first.to_string_lossy()), objv.from(2))
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
                None => return Err(not_a_websocket(interp, s)),
            },
        },
    };
    if package && rest.len() == 1 {
        let Some(name) = option_name(&rest.get(0)) else {
            let k = rest.get(0).to_string_lossy();
            return Err(TclError::ws(format!("{k} is not a recognised option"), &[]));
        };
        return Ok(option_value(name, &opts));
    }
    for kv in rest.chunks(2) {
        let k = kv.get(0);
        let Some(name) = option_name(&k) else {
            let k = k.to_string_lossy();
            return Err(TclError::ws(format!("{k} is not a recognised option"), &[]));
        };
        let v = kv.get_or(1, "");
        set_option(interp, name, &v, &mut opts)?;
    }
    match sock {
        None => {
            state::with(|r| r.interp(interp).defaults = opts.clone());
            let mut words = Vec::new();
            for name in OPTIONS {
                words.push(Obj::from_str(name));
                words.push(option_value(name, &opts));
            }
            Ok(Obj::list(&words))
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
            Ok(Obj::empty())
        }
    }
}

/// `websocket::loglevel ?loglvl?`: the interpreter's log level, set first
/// when given (and known to the logger).
pub fn loglevel(interp: Interp, objv: Args) -> Result<Obj, TclError> {
    if objv.len() > 2 {
        return Err(interp.wrong_args(objv, "?loglvl?"));
    }
    if objv.len() == 2 {
        let want = objv.get(1).to_string_lossy();
        if let Some(level) = Level::parse(&want) {
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
                log::level_changed(old, level);
            }
        }
    }
    let level = state::log_level(interp);
    Ok(Obj::from_str(level.name()))
}
