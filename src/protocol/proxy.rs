//! HTTP CONNECT tunnels (RFC 9110 9.3.6), sans I/O: the request a client
//! sends to a proxy, and the reading of the proxy's answer. Once the proxy
//! says 2xx, the connection is a byte pipe to the target: TLS (for wss://)
//! and the WebSocket opening handshake go through it.

use super::client_handshake::{parse_head, Head};

/// Where a connection goes through a proxy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proxy {
    /// Host name or address of the proxy (no brackets).
    pub host: String,
    pub port: u16,
    /// A Proxy-Authorization value (`::http::config -proxyauth`).
    pub auth: Option<String>,
}

/// "host:port" as a CONNECT target or Host header (IPv6 in brackets).
pub fn authority(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The CONNECT request for `host`:`port` (what http 2.10 sends for https
/// through a proxy).
pub fn connect_request(host: &str, port: u16, auth: Option<&str>) -> Vec<u8> {
    let target = authority(host, port);
    let mut req = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some(a) = auth.filter(|a| !a.is_empty()) {
        let a: String = a.chars().filter(|&c| c != '\r' && c != '\n').collect();
        req.push_str(&format!("Proxy-Authorization: {a}\r\n"));
    }
    req.push_str("\r\n");
    req.into_bytes()
}

/// Parses `-proxy host:port` (or `[v6]:port`; the port defaults to 8080
/// as with `::http::config -proxyport`).
pub fn parse_proxy(spec: &str) -> Option<(String, u16)> {
    let (host, port) = if let Some(rest) = spec.strip_prefix('[') {
        let (h, after) = rest.split_once(']')?;
        match after {
            "" => (h, None),
            p => (h, Some(p.strip_prefix(':')?)),
        }
    } else {
        match spec.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h, Some(p)),
            Some(_) => return None, // a bare IPv6 address needs brackets
            None => (spec, None),
        }
    };
    if host.is_empty() || host.contains(['/', ' ', '@']) {
        return None;
    }
    let port = match port {
        None => 8080,
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
            p.parse::<u16>().ok().filter(|&p| p > 0)?
        }
        Some(_) => return None,
    };
    Some((host.to_owned(), port))
}

/// What a proxy answered to CONNECT.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    Incomplete,
    /// 2xx: the tunnel is open; the answer took this many bytes.
    Open(usize),
    /// Another status: its code (`http::ncode`) and status line.
    Refused {
        code: String,
        status_line: String,
    },
    /// Not an HTTP answer.
    Invalid(BadProxyAnswer),
}

/// Why a proxy's answer is no HTTP answer; `Display` gives the reason.
#[derive(Debug, PartialEq, Eq)]
pub enum BadProxyAnswer {
    /// Its head is over the limit.
    TooLarge,
    /// Its status line (the first 60 characters) is not HTTP's.
    NotHttp(String),
}

impl std::fmt::Display for BadProxyAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BadProxyAnswer::TooLarge => f.write_str("the proxy's answer is too large"),
            BadProxyAnswer::NotHttp(line) => {
                write!(f, "the proxy's answer is not HTTP: \"{line}\"")
            }
        }
    }
}

impl std::error::Error for BadProxyAnswer {}

pub fn parse_answer(buf: &[u8]) -> Answer {
    match parse_head(buf) {
        Head::Incomplete => Answer::Incomplete,
        Head::TooLarge => Answer::Invalid(BadProxyAnswer::TooLarge),
        Head::Complete(head, len) => {
            if !head.status_line.starts_with("HTTP/") {
                let line = head.status_line.chars().take(60).collect();
                return Answer::Invalid(BadProxyAnswer::NotHttp(line));
            }
            let code = head.ncode();
            if code.len() == 3 && code.starts_with('2') {
                Answer::Open(len)
            } else {
                Answer::Refused {
                    code,
                    status_line: head.status_line,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request() {
        assert_eq!(
            connect_request("example.com", 443, None),
            b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"
        );
        assert_eq!(
            connect_request("::1", 80, Some("Basic eDp5\r\n")),
            b"CONNECT [::1]:80 HTTP/1.1\r\nHost: [::1]:80\r\nProxy-Authorization: Basic eDp5\r\n\r\n"
        );
    }

    #[test]
    fn proxy_specs() {
        assert_eq!(
            parse_proxy("p.example:3128"),
            Some(("p.example".into(), 3128))
        );
        assert_eq!(parse_proxy("p.example"), Some(("p.example".into(), 8080)));
        assert_eq!(parse_proxy("[::1]:8888"), Some(("::1".into(), 8888)));
        assert_eq!(parse_proxy("[::1]"), Some(("::1".into(), 8080)));
        for bad in [
            "", ":80", "h:", "h:x", "h:0", "h:70000", "::1:80", "[::1]x", "a b:1",
        ] {
            assert_eq!(parse_proxy(bad), None, "{bad}");
        }
    }

    #[test]
    fn answers() {
        assert_eq!(parse_answer(b"HTTP/1.1 200 OK\r\n"), Answer::Incomplete);
        assert_eq!(
            parse_answer(b"HTTP/1.0 200 Connection established\r\n\r\nxy"),
            Answer::Open(39)
        );
        assert_eq!(
            parse_answer(b"HTTP/1.1 407 Proxy Authentication Required\r\nX: y\r\n\r\n"),
            Answer::Refused {
                code: "407".into(),
                status_line: "HTTP/1.1 407 Proxy Authentication Required".into()
            }
        );
        assert!(matches!(
            parse_answer(b"SSH-2.0\r\n\r\n"),
            Answer::Invalid(_)
        ));
    }
}
