//! A `ws://` URL parsed the way tcllib's `open` does (through
//! `http::geturl`'s matcher and checks), sans I/O: what the client's
//! opening handshake (client_handshake.rs) connects to and asks for.

/// The parts of a WebSocket URL a connection needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    /// The scheme as `http::geturl` sees it once tcllib replaced a leading
    /// "ws" by "http": "http" for ws://, "https" for wss:// (case kept).
    pub scheme: String,
    /// wss:// (or https://).
    pub secure: bool,
    /// Host name or address, without the brackets of an IPv6 literal.
    pub host: String,
    pub port: u16,
    /// The port is the scheme's default one (the Host header omits it).
    pub default_port: bool,
    /// Path and query, starting with "/" (the request target).
    pub target: String,
}

/// `http::geturl`'s own words for a URL it refuses (tcllib prefixes them
/// with "Error while opening WebSocket connection to URL: ").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrlError(pub String);

impl std::fmt::Display for UrlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UrlError {}

/// tcllib's `regsub -nocase {^ws} $url "http"`: the URL `http::geturl` is
/// given.
pub fn http_url(url: &str) -> String {
    match url.get(..2) {
        Some(p) if p.eq_ignore_ascii_case("ws") => format!("http{}", &url[2..]),
        _ => url.to_owned(),
    }
}

/// Parses `url` as tcllib 1.6 does: "ws" becomes "http", then the URL
/// goes through `http::geturl`'s matcher and checks (with `strict`, its
/// -strict option, the characters of the user and path parts are
/// checked). Schemes other than http and https are refused.
pub fn parse_url(url: &str, strict: bool) -> Result<Url, UrlError> {
    let hturl = http_url(url);
    let Some(m) = url_match(&hturl) else {
        return Err(UrlError(format!("Unsupported URL: {hturl}")));
    };
    let host = m.host.trim_matches(['[', ']']);
    if host.is_empty() {
        return Err(UrlError(format!("Missing host part: {hturl}")));
    }
    let port = if m.port.is_empty() {
        None
    } else {
        match m.port.parse::<u32>() {
            Ok(p) if p <= 65535 => Some(p as u16),
            _ => return Err(UrlError(format!("Invalid port number: {}", m.port))),
        }
    };
    if !m.user.is_empty() && strict && !valid_chars(m.user, false) {
        return Err(UrlError(match bad_escape(m.user, false) {
            Some(bad) => format!("Illegal encoding character usage \"{bad}\" in URL user"),
            None => "Illegal characters in URL user".into(),
        }));
    }
    let target = if m.srvurl.is_empty() {
        "/".to_owned()
    } else {
        let t = if m.srvurl.starts_with('/') {
            m.srvurl.to_owned()
        } else {
            format!("/{}", m.srvurl)
        };
        if strict && !valid_target(&t) {
            return Err(UrlError(match bad_escape(&t, true) {
                Some(bad) => format!("Illegal encoding character usage \"{bad}\" in URL path"),
                None => "Illegal characters in URL path".into(),
            }));
        }
        t
    };
    let scheme = m.proto.unwrap_or("http");
    let default = match scheme.to_lowercase().as_str() {
        "http" => 80,
        "https" => 443,
        _ => return Err(UrlError(format!("Unsupported URL type \"{scheme}\""))),
    };
    let port = port.unwrap_or(default);
    Ok(Url {
        scheme: scheme.to_owned(),
        secure: default == 443,
        host: host.to_owned(),
        port,
        default_port: port == default,
        target,
    })
}

/// What `http::geturl`'s URLmatcher captures.
#[derive(Debug, PartialEq, Eq)]
struct Match<'a> {
    proto: Option<&'a str>,
    user: &'a str,
    host: &'a str,
    port: &'a str,
    srvurl: &'a str,
}

/// Tcl's `\w`.
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// http::geturl's URLmatcher, tried in the regexp's order of preference:
///
/// ```text
/// ^ (?: (\w+) : )?
///   (?: // (?: ([^@/#?]+) @ )? ([^/:#?]+ | \[ [^/#?]+ \]) (?: : (\d+) )? )?
///   ( [/?] [^#]* )? (?: # (.*) )? $
/// ```
fn url_match(s: &str) -> Option<Match<'_>> {
    let word = s
        .char_indices()
        .find(|&(_, c)| !is_word(c))
        .map_or(s.len(), |(i, _)| i);
    if word > 0 && s[word..].starts_with(':') {
        if let Some(mut m) = after_scheme(&s[word + 1..]) {
            m.proto = Some(&s[..word]);
            return Some(m);
        }
    }
    after_scheme(s)
}

fn after_scheme(s: &str) -> Option<Match<'_>> {
    if let Some(rest) = s.strip_prefix("//") {
        if let Some(m) = authority(rest) {
            return Some(m);
        }
    }
    let srvurl = tail(s)?;
    Some(Match {
        proto: None,
        user: "",
        host: "",
        port: "",
        srvurl,
    })
}

fn authority(s: &str) -> Option<Match<'_>> {
    if let Some(at) = s.find(['@', '/', '#', '?']) {
        if at > 0 && s.as_bytes()[at] == b'@' {
            if let Some(mut m) = host_part(&s[at + 1..]) {
                m.user = &s[..at];
                return Some(m);
            }
        }
    }
    host_part(s)
}

fn host_part(s: &str) -> Option<Match<'_>> {
    // A host name or IPv4 address...
    let end = s.find(['/', ':', '#', '?']).unwrap_or(s.len());
    if end > 0 {
        if let Some(m) = port_and_tail(&s[..end], &s[end..]) {
            return Some(m);
        }
    }
    // ...or an IPv6 address in brackets (the last "]" that works).
    if s.starts_with('[') {
        let inner_end = s.find(['/', '#', '?']).unwrap_or(s.len());
        for k in (2..inner_end).rev() {
            if s.as_bytes()[k] == b']' {
                if let Some(m) = port_and_tail(&s[..=k], &s[k + 1..]) {
                    return Some(m);
                }
            }
        }
    }
    None
}

fn port_and_tail<'a>(host: &'a str, s: &'a str) -> Option<Match<'a>> {
    if let Some(rest) = s.strip_prefix(':') {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 {
            if let Some(srvurl) = tail(&rest[digits..]) {
                return Some(Match {
                    proto: None,
                    user: "",
                    host,
                    port: &rest[..digits],
                    srvurl,
                });
            }
        }
    }
    let srvurl = tail(s)?;
    Some(Match {
        proto: None,
        user: "",
        host,
        port: "",
        srvurl,
    })
}

/// `( [/?] [^#]* )? (?: # .* )? $`: the path and query, if the rest fits.
fn tail(s: &str) -> Option<&str> {
    let (srv, rest) = if s.starts_with(['/', '?']) {
        let end = s.find('#').unwrap_or(s.len());
        (&s[..end], &s[end..])
    } else {
        ("", s)
    };
    (rest.is_empty() || rest.starts_with('#')).then_some(srv)
}

/// Characters RFC 3986 allows unencoded: `[-\w.~!$&'()*+,;=:]`, plus `@`
/// and `/` in a path, plus `?` in a query.
fn plain_char(c: char, path: bool, query: bool) -> bool {
    is_word(c)
        || "-.~!$&'()*+,;=:".contains(c)
        || (path && (c == '@' || c == '/'))
        || (query && c == '?')
}

/// A run of plain characters and %XX escapes (at least one for the user).
fn valid_chars(s: &str, path: bool) -> bool {
    plain_run(s, path, false) && (path || !s.is_empty())
}

/// Whether `s` is only plain characters (see `plain_char`) and %XX escapes.
fn plain_run(s: &str, path: bool, query: bool) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < s.len() {
        if b[i] == b'%' {
            if i + 2 < s.len() && is_hex(b[i + 1]) && is_hex(b[i + 2]) {
                i += 3;
                continue;
            }
            return false;
        }
        let c = s[i..].chars().next().expect("in bounds");
        if !plain_char(c, path, query) {
            return false;
        }
        i += c.len_utf8();
    }
    true
}

fn is_hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}

/// geturl's path check: a path, then optionally "?" and a query.
fn valid_target(t: &str) -> bool {
    let (path, query) = match t.find('?') {
        Some(q) => (&t[..q], Some(&t[q + 1..])),
        None => (t, None),
    };
    if !valid_chars(path, true) {
        return false;
    }
    query.is_none_or(|q| plain_run(q, true, true))
}

/// geturl's better message for a bad escape: `%(?![0-9a-f][0-9a-f])` and
/// the characters after it (up to two for the user, exactly two for the
/// path).
fn bad_escape(s: &str, path: bool) -> Option<String> {
    let b = s.as_bytes();
    for (i, _) in s.match_indices('%') {
        let good = i + 2 < s.len() && is_hex(b[i + 1]) && is_hex(b[i + 2]);
        if good {
            continue;
        }
        let after: String = s[i + 1..].chars().take(2).collect();
        if path && after.chars().count() < 2 {
            continue;
        }
        return Some(format!("%{after}"));
    }
    None
}
