//! The client's half of the opening handshake (RFC 6455 section 4.1), sans
//! I/O: building the HTTP/1.1 upgrade request for a URL (url.rs), and
//! reading and validating the server's answer.

use base64::Engine as _;

use super::deflate;
use super::handshake::accept_key;

pub use super::url::{http_url, parse_url, Url, UrlError};

// ---------------------------------------------------------------- request

/// A fresh Sec-WebSocket-Key from 16 random bytes.
pub fn make_key(random: [u8; 16]) -> String {
    base64::engine::general_purpose::STANDARD.encode(random)
}

/// Everything the upgrade request says.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// Path and query ("/" at least).
    pub target: String,
    /// The Host header's value.
    pub host: String,
    /// The script's -headers, in order (tcllib keeps the last value of a
    /// name given twice).
    pub headers: Vec<(String, String)>,
    pub key: String,
    /// -protocol: the subprotocols offered, in order of preference.
    pub protocols: Vec<String>,
    /// Sec-WebSocket-Extensions offered (-deflate 1), replacing the script's.
    pub extensions: Option<String>,
}

/// The Host header for a URL: http::geturl leaves the port out when it is
/// the default one; an IPv6 literal keeps its brackets (RFC 7230 5.4).
pub fn host_header(url: &Url) -> String {
    let host = if url.host.contains(':') {
        format!("[{}]", url.host)
    } else {
        url.host.clone()
    };
    if url.default_port {
        host
    } else {
        format!("{host}:{}", url.port)
    }
}

impl Request {
    /// The request bytes. Header names are trimmed with inner spaces made
    /// dashes, CR and LF are removed from values (as http::geturl does); a
    /// Host header of the script's replaces ours; the script's Connection
    /// and Upgrade headers get the "Upgrade" and "websocket" tokens added
    /// (tcllib's AddToken); the Sec-WebSocket-* headers are ours alone.
    pub fn to_bytes(&self) -> Vec<u8> {
        // tcllib puts the headers in an array: the last value of a name wins.
        let mut hdrs: Vec<(String, String)> = Vec::new();
        for (k, v) in &self.headers {
            let k = k.trim().replace(' ', "-");
            let v: String = v.chars().filter(|&c| c != '\r' && c != '\n').collect();
            if k.is_empty() {
                continue;
            }
            match hdrs.iter_mut().find(|(n, _)| *n == k) {
                Some(slot) => slot.1 = v,
                None => hdrs.push((k, v)),
            }
        }
        let mut host = self.host.clone();
        let mut lines = Vec::new();
        for (k, v) in hdrs {
            let lower = k.to_ascii_lowercase();
            match lower.as_str() {
                "host" => host = v,
                "sec-websocket-key" | "sec-websocket-version" | "sec-websocket-protocol" => {}
                "sec-websocket-extensions" if self.extensions.is_some() => {}
                _ => lines.push((k, v)),
            }
        }
        for (name, token) in [("Connection", "Upgrade"), ("Upgrade", "websocket")] {
            match lines.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
                Some((_, v)) if v.is_empty() => *v = token.to_owned(),
                Some((_, v)) => {
                    v.push_str(", ");
                    v.push_str(token);
                }
                None => lines.push((name.to_owned(), token.to_owned())),
            }
        }
        let mut s = format!("GET {} HTTP/1.1\r\nHost: {host}\r\n", self.target);
        for (k, v) in &lines {
            s.push_str(&format!("{k}: {v}\r\n"));
        }
        s.push_str(&format!(
            "Sec-WebSocket-Key: {}\r\nSec-WebSocket-Version: 13\r\n",
            self.key
        ));
        if !self.protocols.is_empty() {
            s.push_str(&format!(
                "Sec-WebSocket-Protocol: {}\r\n",
                self.protocols.join(", ")
            ));
        }
        if let Some(e) = &self.extensions {
            s.push_str(&format!("Sec-WebSocket-Extensions: {e}\r\n"));
        }
        s.push_str("\r\n");
        s.into_bytes()
    }
}

// ---------------------------------------------------------------- response

/// Largest answer head (status line and headers) we read.
pub const MAX_HEAD: usize = 64 * 1024;

/// The server's status line and headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseHead {
    pub status_line: String,
    pub headers: Vec<(String, String)>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Head {
    /// More bytes needed.
    Incomplete,
    /// The head, and the number of bytes it took (what follows belongs
    /// to the WebSocket).
    Complete(ResponseHead, usize),
    TooLarge,
}

/// Looks for a whole answer head in `buf` (lines end with CRLF, or a bare
/// LF as http::geturl also accepts).
pub fn parse_head(buf: &[u8]) -> Head {
    let mut start = 0;
    let mut lines: Vec<&[u8]> = Vec::new();
    while let Some(nl) = buf[start..].iter().position(|&b| b == b'\n') {
        let mut line = &buf[start..start + nl];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        start += nl + 1;
        if line.is_empty() {
            if lines.is_empty() {
                continue; // stray blank lines before the status line
            }
            return Head::Complete(head_from_lines(&lines), start);
        }
        lines.push(line);
        if start > MAX_HEAD {
            return Head::TooLarge;
        }
    }
    if buf.len() > MAX_HEAD {
        Head::TooLarge
    } else {
        Head::Incomplete
    }
}

fn head_from_lines(lines: &[&[u8]]) -> ResponseHead {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in &lines[1..] {
        if line.first().is_some_and(|&b| b == b' ' || b == b'\t') {
            // An obsolete folded line continues the previous value.
            if let Some((_, v)) = headers.last_mut() {
                v.push(' ');
                v.push_str(text(line).trim());
            }
            continue;
        }
        if let Some(colon) = line.iter().position(|&b| b == b':') {
            headers.push((
                text(&line[..colon]).trim().to_owned(),
                text(&line[colon + 1..]).trim().to_owned(),
            ));
        }
    }
    ResponseHead {
        status_line: text(lines[0]),
        headers,
    }
}

impl ResponseHead {
    /// `http::ncode`: the first three digits in a row on the status line,
    /// or the whole line when there are none.
    pub fn ncode(&self) -> String {
        let b = self.status_line.as_bytes();
        for i in 0..b.len().saturating_sub(2) {
            if b[i..i + 3].iter().all(u8::is_ascii_digit) {
                return self.status_line[i..i + 3].to_owned();
            }
        }
        self.status_line.clone()
    }

    /// Every value of a header (names compared ignoring ASCII case).
    fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn has_token(&self, name: &str, token: &str) -> bool {
        self.values(name)
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }
}

/// Why a server's answer does not open a WebSocket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not "101": the code as `http::ncode` gives it.
    Status(String),
    /// A 101 answer that breaks RFC 6455 section 4.1.
    Invalid(BadAnswer),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Status(code) => write!(f, "the server answered {code}, not 101"),
            Refusal::Invalid(why) => why.fmt(f),
        }
    }
}

impl std::error::Error for Refusal {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Refusal::Status(_) => None,
            Refusal::Invalid(why) => Some(why),
        }
    }
}

/// How a 101 answer breaks RFC 6455 section 4.1 (or RFC 7692); its
/// `Display` is the reason the log and the handler's error give.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BadAnswer {
    /// No "Upgrade: websocket".
    NoUpgrade,
    /// No "Connection: Upgrade".
    NoConnection,
    /// No Sec-WebSocket-Accept.
    NoAccept,
    /// A Sec-WebSocket-Accept that is not the key's (or several).
    AcceptMismatch,
    /// The extensions answered break permessage-deflate's rules.
    Extension(deflate::DeflateError),
    /// A subprotocol that was not offered.
    UnofferedProtocol(String),
    /// More than one subprotocol.
    SeveralProtocols(Vec<String>),
    /// The answer's head is over the limit.
    TooLarge,
}

impl std::fmt::Display for BadAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BadAnswer::NoUpgrade => {
                f.write_str("the server's answer has no \"Upgrade: websocket\" header")
            }
            BadAnswer::NoConnection => {
                f.write_str("the server's answer has no \"Connection: Upgrade\" header")
            }
            BadAnswer::NoAccept => {
                f.write_str("the server's answer has no Sec-WebSocket-Accept header")
            }
            BadAnswer::AcceptMismatch => {
                f.write_str("the server's Sec-WebSocket-Accept does not match the key sent")
            }
            BadAnswer::Extension(e) => e.fmt(f),
            BadAnswer::UnofferedProtocol(p) => {
                write!(
                    f,
                    "the server chose subprotocol \"{p}\", which was not offered"
                )
            }
            BadAnswer::SeveralProtocols(ps) => {
                write!(
                    f,
                    "the server chose several subprotocols: {}",
                    ps.join(", ")
                )
            }
            BadAnswer::TooLarge => f.write_str("the server's answer is too large"),
        }
    }
}

impl std::error::Error for BadAnswer {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BadAnswer::Extension(e) => Some(e),
            _ => None,
        }
    }
}

/// The subprotocol chosen ("" for none) and the permessage-deflate agreed.
pub type Accepted = (String, Option<deflate::Agreed>);

/// Checks the server's answer (RFC 6455 4.1, client requirements 1 to 6,
/// and RFC 7692 for permessage-deflate, offered when `deflate` enables it).
pub fn check_response(
    head: &ResponseHead,
    key: &str,
    offered: &[String],
    deflate: &deflate::Config,
) -> Result<Accepted, Refusal> {
    let code = head.ncode();
    if code != "101" {
        return Err(Refusal::Status(code));
    }
    let invalid = |why: BadAnswer| Err(Refusal::Invalid(why));
    if !head.has_token("Upgrade", "websocket") {
        return invalid(BadAnswer::NoUpgrade);
    }
    if !head.has_token("Connection", "Upgrade") {
        return invalid(BadAnswer::NoConnection);
    }
    let accepts: Vec<&str> = head.values("Sec-WebSocket-Accept").collect();
    match accepts.as_slice() {
        [] => return invalid(BadAnswer::NoAccept),
        [a] if *a == accept_key(key) => {}
        _ => return invalid(BadAnswer::AcceptMismatch),
    }
    let exts: Vec<&str> = head.values("Sec-WebSocket-Extensions").collect();
    let agreed = match deflate::check_answer(deflate, &exts) {
        Ok(a) => a,
        Err(why) => return invalid(BadAnswer::Extension(why)),
    };
    let protos: Vec<&str> = head
        .values("Sec-WebSocket-Protocol")
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    match protos.as_slice() {
        [] => Ok((String::new(), agreed)),
        [p] if offered.iter().any(|o| o == p) => Ok(((*p).to_owned(), agreed)),
        [p] => invalid(BadAnswer::UnofferedProtocol((*p).to_owned())),
        _ => invalid(BadAnswer::SeveralProtocols(
            protos.iter().map(|p| (*p).to_owned()).collect(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        parse_url(s, true).unwrap_or_else(|e| panic!("{s}: {e:?}"))
    }

    fn url_err(s: &str) -> String {
        parse_url(s, true).expect_err(s).0
    }

    #[test]
    fn urls() {
        let u = url("ws://example.com/chat?x=1&y=2");
        assert_eq!(
            u,
            Url {
                scheme: "http".into(),
                secure: false,
                host: "example.com".into(),
                port: 80,
                default_port: true,
                target: "/chat?x=1&y=2".into(),
            }
        );
        let u = url("WS://127.0.0.1:8080");
        assert_eq!(
            (u.host.as_str(), u.port, u.default_port),
            ("127.0.0.1", 8080, false)
        );
        assert_eq!(u.target, "/");
        let u = url("ws://[::1]:9000/p#frag");
        assert_eq!(
            (u.host.as_str(), u.port, u.target.as_str()),
            ("::1", 9000, "/p")
        );
        let u = url("ws://[fe80::1]/");
        assert_eq!((u.host.as_str(), u.port), ("fe80::1", 80));
        let u = url("ws://user:pw@host:81?q");
        assert_eq!(
            (u.host.as_str(), u.port, u.target.as_str()),
            ("host", 81, "/?q")
        );
        let u = url("wss://h/");
        assert!(u.secure);
        assert_eq!((u.port, u.scheme.as_str()), (443, "https"));
        assert_eq!(url("wsS://h/").scheme, "httpS");
        // No scheme at all is http to geturl; http:// URLs work too.
        assert_eq!(url("//h:1/").port, 1);
        assert_eq!(url("http://h/").host, "h");
        assert_eq!(url("ws://h:00080/").port, 80);
        assert_eq!(url("ws://h/caf\u{e9}").target, "/caf\u{e9}");
        assert_eq!(url("ws://h/a%20b").target, "/a%20b");
    }

    #[test]
    fn url_errors() {
        assert_eq!(url_err("ws:/x"), "Missing host part: http:/x");
        assert_eq!(
            url_err("ws://host:port/"),
            "Missing host part: http://host:port/"
        );
        assert_eq!(url_err("ws://[::1"), "Missing host part: http://[::1");
        assert_eq!(url_err("foo://x"), "Unsupported URL type \"foo\"");
        assert_eq!(url_err("wsx://x"), "Unsupported URL type \"httpx\"");
        assert_eq!(url_err("ws://h:70000/"), "Invalid port number: 70000");
        assert_eq!(url_err("host:80"), "Unsupported URL: host:80");
        assert_eq!(url_err(""), "Missing host part: ");
        assert_eq!(url_err("ws://h/a b"), "Illegal characters in URL path");
        assert_eq!(
            url_err("ws://h/a%zzb"),
            "Illegal encoding character usage \"%zz\" in URL path"
        );
        assert_eq!(url_err("ws://a b@h/"), "Illegal characters in URL user");
        assert_eq!(
            url_err("ws://a%4@h/"),
            "Illegal encoding character usage \"%4\" in URL user"
        );
        // -strict 0 lets them through.
        assert_eq!(parse_url("ws://h/a b", false).unwrap().target, "/a b");
    }

    #[test]
    fn request_bytes() {
        let r = Request {
            target: "/chat?x=1".into(),
            host: "example.com:8080".into(),
            headers: vec![
                ("X-One".into(), "1".into()),
                ("connection".into(), "keep-alive".into()),
                ("Bad Name".into(), "a\r\nb".into()),
                ("X-One".into(), "2".into()),
                ("Sec-WebSocket-Key".into(), "nope".into()),
                ("".into(), "empty".into()),
            ],
            key: "dGhlIHNhbXBsZSBub25jZQ==".into(),
            protocols: vec!["chat".into(), "superchat".into()],
            extensions: None,
        };
        assert_eq!(
            String::from_utf8(r.to_bytes()).unwrap(),
            "GET /chat?x=1 HTTP/1.1\r\nHost: example.com:8080\r\nX-One: 2\r\n\
             connection: keep-alive, Upgrade\r\nBad-Name: ab\r\nUpgrade: websocket\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Protocol: chat, superchat\r\n\r\n"
        );
        let r = Request {
            target: "/".into(),
            host: "h".into(),
            headers: vec![("Host".into(), "other".into())],
            key: "k".into(),
            protocols: vec![],
            extensions: None,
        };
        assert_eq!(
            String::from_utf8(r.to_bytes()).unwrap(),
            "GET / HTTP/1.1\r\nHost: other\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
             Sec-WebSocket-Key: k\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        let mut u = url("ws://[::1]:81/");
        assert_eq!(host_header(&u), "[::1]:81");
        u.default_port = true;
        assert_eq!(host_header(&u), "[::1]");
        assert_eq!(make_key([0; 16]), "AAAAAAAAAAAAAAAAAAAAAA==");
    }

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
    const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

    fn head(s: &str) -> (ResponseHead, usize) {
        match parse_head(s.as_bytes()) {
            Head::Complete(h, n) => (h, n),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn heads() {
        let mut raw = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {ACCEPT}\r\n\r\n"
        )
        .into_bytes();
        raw.extend_from_slice(b"\x81\x02hi");
        let (h, n) = match parse_head(&raw) {
            Head::Complete(h, n) => (h, n),
            other => panic!("{other:?}"),
        };
        assert_eq!(&raw[n..], b"\x81\x02hi");
        assert_eq!(h.ncode(), "101");
        assert_eq!(h.headers.len(), 3);
        assert_eq!(
            check_response(&h, KEY, &[], &Default::default()),
            Ok((String::new(), None))
        );
        // Every prefix is incomplete.
        for i in 0..n {
            assert_eq!(parse_head(&raw[..i]), Head::Incomplete, "{i}");
        }
        // Bare LF line ends, folded lines.
        let (h, n) = head("HTTP/1.0 404 Not Found\nX: a\n  b\n\nbody");
        assert_eq!(n, 33);
        assert_eq!(h.headers, vec![("X".to_string(), "a b".to_string())]);
        assert_eq!(
            check_response(&h, KEY, &[], &Default::default()),
            Err(Refusal::Status("404".into()))
        );
        let (h, _) = head("this is not HTTP\r\n\r\n");
        assert_eq!(h.ncode(), "this is not HTTP");
        let big = format!("HTTP/1.1 101 OK\r\nX: {}\r\n", "a".repeat(MAX_HEAD));
        assert_eq!(parse_head(big.as_bytes()), Head::TooLarge);
    }

    fn check(extra: &str, offered: &[&str]) -> Result<String, Refusal> {
        let raw = format!("HTTP/1.1 101 Switching Protocols\r\n{extra}\r\n");
        let (h, _) = head(&raw);
        let offered: Vec<String> = offered.iter().map(|s| s.to_string()).collect();
        check_response(&h, KEY, &offered, &Default::default()).map(|(p, _)| p)
    }

    #[test]
    fn validation() {
        let ok = format!("upgrade: WebSocket\r\nconnection: keep-alive, upgrade\r\nsec-websocket-accept: {ACCEPT}\r\n");
        assert_eq!(check(&ok, &[]), Ok(String::new()));
        assert_eq!(
            check(
                &format!("{ok}Sec-WebSocket-Protocol: chat\r\n"),
                &["superchat", "chat"]
            ),
            Ok("chat".into())
        );
        let invalid = |r: Result<String, Refusal>, what: &str| match r {
            Err(Refusal::Invalid(m)) => assert!(m.to_string().contains(what), "{m}"),
            other => panic!("{other:?}"),
        };
        invalid(
            check(&format!("{ok}Sec-WebSocket-Protocol: chat\r\n"), &[]),
            "\"chat\", which was not offered",
        );
        invalid(
            check(
                &format!("{ok}Sec-WebSocket-Protocol: a, b\r\n"),
                &["a", "b"],
            ),
            "several",
        );
        invalid(
            check(
                &format!("{ok}Sec-WebSocket-Extensions: permessage-deflate\r\n"),
                &[],
            ),
            "permessage-deflate",
        );
        invalid(
            check(
                &format!("Connection: Upgrade\r\nSec-WebSocket-Accept: {ACCEPT}\r\n"),
                &[],
            ),
            "Upgrade: websocket",
        );
        invalid(
            check(
                &format!("Upgrade: websocket\r\nSec-WebSocket-Accept: {ACCEPT}\r\n"),
                &[],
            ),
            "Connection: Upgrade",
        );
        invalid(
            check("Upgrade: websocket\r\nConnection: Upgrade\r\n", &[]),
            "no Sec-WebSocket-Accept",
        );
        invalid(
            check(
                "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: eHh4\r\n",
                &[],
            ),
            "does not match",
        );
    }
}
