//! Our additions to `::websocket::open`: the TLS options of wss://
//! (`-cafile`, `-certfile`, `-keyfile`, `-insecure`) and `-proxy`, and
//! the proxy a script configured for the `http` package
//! (`::http::config -proxyhost/-proxyport/-proxyfilter`).
//!
//! Our option names are recognised before tcllib's option filter, so that
//! none of its own options changes meaning: a name is ours when, without
//! its leading dashes and ignoring case (as tcllib's filter reads names),
//! it is a prefix of one of ours at least as long as the shortest prefix
//! that no option of tcllib's or `http::geturl`'s shares (`-ca`, `-ce`,
//! `-key`, `-i`, `-prox`).

use std::path::PathBuf;

use super::error::TclError;
use super::ffi::{Interp, Obj};
use crate::engine::tls::{self, TlsOptions};
use crate::engine::TlsTarget;
use crate::protocol::proxy::{parse_proxy, Proxy};

/// One of our options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extra {
    /// `-cafile`: the certificates to trust.
    CaFile,
    /// `-certfile`: our certificate.
    CertFile,
    /// `-keyfile`: its key.
    KeyFile,
    /// `-insecure`: no certificate check.
    Insecure,
    /// `-proxy host:port`, or `{}` for none.
    Proxy,
}

/// Our options and the shortest prefix of each that is ours.
const OURS: [(&str, usize, Extra); 5] = [
    ("cafile", 2, Extra::CaFile),
    ("certfile", 2, Extra::CertFile),
    ("keyfile", 3, Extra::KeyFile),
    ("insecure", 1, Extra::Insecure),
    ("proxy", 4, Extra::Proxy),
];

/// Which of our options `name` (as given, with its dashes) is, if any.
pub fn ours(name: &str) -> Option<Extra> {
    let n = name.trim_start_matches('-').to_ascii_lowercase();
    OURS.iter()
        .find(|(full, min, _)| n.len() >= *min && full.starts_with(n.as_str()))
        .map(|&(_, _, e)| e)
}

/// What our options asked for.
#[derive(Default)]
pub struct Extras {
    /// The TLS options.
    pub tls: TlsOptions,
    /// Some(None): `-proxy {}`, no proxy whatever http's configuration.
    pub proxy: Option<Option<(String, u16)>>,
}

impl Extras {
    /// Takes one of our options; Err is the reason for "Error while
    /// opening WebSocket connection to URL: ...".
    pub fn set(
        &mut self,
        interp: Interp,
        which: Extra,
        name: &str,
        v: &Obj,
    ) -> Result<(), TclError> {
        let s = v.to_string_lossy();
        let path = || (!s.is_empty()).then(|| PathBuf::from(&s));
        match which {
            Extra::CaFile => self.tls.cafile = path(),
            Extra::CertFile => self.tls.certfile = path(),
            Extra::KeyFile => self.tls.keyfile = path(),
            Extra::Insecure => {
                let r = interp.eval_global(&[
                    Obj::from_str("::string"),
                    Obj::from_str("is"),
                    Obj::from_str("boolean"),
                    Obj::from_str("-strict"),
                    v.clone(),
                ]);
                let ok = matches!(&r, Ok(o) if o.to_string_lossy() == "1");
                interp.reset_result();
                if !ok {
                    return Err(TclError::reason(format!(
                        "Bad value for {name} ({s}), must be boolean"
                    )));
                }
                self.tls.insecure = v.boolean(interp).unwrap_or(false);
            }
            Extra::Proxy => {
                if s.is_empty() {
                    self.proxy = Some(None);
                } else {
                    let Some(p) = parse_proxy(&s) else {
                        return Err(TclError::reason(format!(
                            "Bad value for {name} ({s}), must be host:port"
                        )));
                    };
                    self.proxy = Some(Some(p));
                }
            }
        }
        Ok(())
    }
}

/// A TLS error in words, as the reason of a Tcl error.
fn reason(e: tls::TlsError) -> TclError {
    TclError::reason(e.to_string())
}

/// The TLS configuration for a wss:// URL to `host`; Err: the reason.
pub fn tls_target(extras: &Extras, host: &str) -> Result<TlsTarget, TclError> {
    Ok(TlsTarget {
        config: tls::client_config(&extras.tls).map_err(reason)?,
        name: tls::server_name(host).map_err(reason)?,
    })
}

/// The proxy for `host`: `-proxy` if given, else what the `http` package
/// says when it is loaded (its -proxyfilter, called as http::geturl does;
/// an error there means no proxy, as for geturl; http 2.10's -proxyauth
/// goes with it). Err: a proxy whose port is not a port.
pub fn proxy_for(interp: Interp, extras: &Extras, host: &str) -> Result<Option<Proxy>, TclError> {
    match &extras.proxy {
        Some(None) => return Ok(None),
        Some(Some((h, p))) => {
            return Ok(Some(Proxy {
                host: h.clone(),
                port: *p,
                auth: None,
            }))
        }
        None => {}
    }
    let loaded = interp.eval_global(&[
        Obj::from_str("::package"),
        Obj::from_str("provide"),
        Obj::from_str("http"),
    ]);
    interp.reset_result();
    if !matches!(loaded, Ok(v) if !v.to_string_lossy().is_empty()) {
        return Ok(None);
    }
    let Some(filter) = http_config(interp, "-proxyfilter").filter(|f| !f.is_empty()) else {
        return Ok(None);
    };
    let answer = interp.eval_global(&[Obj::from_str(&filter), Obj::from_str(host)]);
    let answer = match answer {
        Ok(a) => a.elements(interp).unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    interp.reset_result();
    let phost = answer.first().map(Obj::to_string_lossy).unwrap_or_default();
    if phost.is_empty() {
        return Ok(None);
    }
    let pport = answer.get(1).map(Obj::to_string_lossy).unwrap_or_default();
    let port = match pport.trim().parse::<u16>() {
        Ok(p) if p > 0 => p,
        _ => {
            return Err(TclError::reason(format!(
                "Bad proxy port \"{pport}\" for proxy host {phost}"
            )))
        }
    };
    let phost = phost.trim_matches(['[', ']']).to_owned();
    let auth = http_config(interp, "-proxyauth").filter(|a| !a.is_empty());
    Ok(Some(Proxy {
        host: phost,
        port,
        auth,
    }))
}

/// `::http::config OPTION`, if the http package is there and has it.
fn http_config(interp: Interp, option: &str) -> Option<String> {
    let r = interp.eval_global(&[Obj::from_str("::http::config"), Obj::from_str(option)]);
    interp.reset_result();
    r.ok().map(|o| o.to_string_lossy())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(ours("-cafile"), Some(Extra::CaFile));
        assert_eq!(ours("-ca"), Some(Extra::CaFile));
        assert_eq!(ours("--CAFILE"), Some(Extra::CaFile));
        assert_eq!(ours("-c"), None);
        assert_eq!(ours("-ce"), Some(Extra::CertFile));
        assert_eq!(ours("-keyfile"), Some(Extra::KeyFile));
        assert_eq!(ours("-key"), Some(Extra::KeyFile));
        assert_eq!(ours("-ke"), None);
        assert_eq!(ours("-keepalive"), None);
        assert_eq!(ours("-i"), Some(Extra::Insecure));
        assert_eq!(ours("-insecure"), Some(Extra::Insecure));
        assert_eq!(ours("-proxy"), Some(Extra::Proxy));
        assert_eq!(ours("-prox"), Some(Extra::Proxy));
        assert_eq!(ours("-pro"), None);
        assert_eq!(ours("-protocol"), None);
        assert_eq!(ours("-proxyhost"), None);
        assert_eq!(ours("-"), None);
        assert_eq!(ours("-headers"), None);
    }
}
