//! The opening handshake (RFC 6455 section 4): the accept key, tcllib's
//! header validation rules, and the server's 101 answer.

use base64::Engine as _;
use sha1::{Digest, Sha1};

/// The GUID RFC 6455 appends to the client's key.
pub const WS_MAGIC: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")).
pub fn accept_key(key: &str) -> String {
    let mut h = Sha1::new();
    h.update(key.as_bytes());
    h.update(WS_MAGIC.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(h.finalize())
}

/// A validation failure: the message and the -errorcode words after
/// WEBSOCKET, exactly as tcllib's `::websocket::validate` throws them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandshakeError {
    pub message: String,
    /// e.g. ["HANDSHAKE", "UPGRADE"]
    pub code: Vec<&'static str>,
}

impl std::fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HandshakeError {}

/// What a valid client request carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidRequest {
    pub key: String,
    pub version: String,
    pub protocols: Vec<String>,
}

/// tcllib 1.6 `validate` semantics on a flat list of header name/value
/// pairs, in order (names matched ASCII-case-insensitively; values split on
/// commas and trimmed of spaces and tabs, empty elements dropped):
/// - connection: sets "upgrading" if any element is (ASCII-ci) "upgrade".
/// - upgrade: any element (whole element, or the part before a "/" when the
///   element contains one... tcllib uses `regexp {^[^/]+$}`: an element that
///   contains "/" is compared whole) equal ci to "websocket"; if none, error
///   "No 'Upgrade' header with 'websocket' token found" HANDSHAKE UPGRADE,
///   raised at that header.
/// - sec-websocket-version: trimmed value must be "13", else error
///   "Invalid WebSocket version '<v>'" HANDSHAKE VERSION.
/// - sec-websocket-key: trimmed; length != 24: "Invalid WebSocket key
///   length" HANDSHAKE KEY; not matching ^[a-zA-Z0-9+/]*={0,2}$: "Invalid
///   WebSocket key: not base64" HANDSHAKE KEY.
/// - sec-websocket-protocol: elements appended to protocols (several
///   headers accumulate). (tcllib's token check never fires; keep it so.)
///
/// After all headers, in this order: not upgrading -> "No 'Connect' header
/// with 'upgrade' token found" HANDSHAKE CONNECTION; no version -> "No
/// WebSocket version specified" HANDSHAKE VERSION; no key -> "No WebSocket
/// key specified" HANDSHAKE KEY.
///
/// Header names and values are Rust strings (already converted from Tcl).
pub fn validate(headers: &[(String, String)]) -> Result<ValidRequest, HandshakeError> {
    let mut upgrading = false;
    // Like tcllib, sticky across Upgrade headers: once one carried
    // "websocket", later ones are not checked.
    let mut websocket = false;
    let mut version = None;
    let mut key = None;
    let mut protocols = Vec::new();
    for (name, value) in headers {
        let name = name.to_ascii_lowercase();
        match name.as_str() {
            "connection" if split_comma(value).any(|e| e.eq_ignore_ascii_case("upgrade")) => {
                upgrading = true;
            }
            "upgrade" => {
                if !websocket {
                    websocket = split_comma(value).any(|e| e.eq_ignore_ascii_case("websocket"));
                }
                if !websocket {
                    return Err(err(
                        "No 'Upgrade' header with 'websocket' token found".into(),
                        "UPGRADE",
                    ));
                }
            }
            "sec-websocket-version" => {
                let v = trim_ws(value);
                if v != "13" {
                    return Err(err(format!("Invalid WebSocket version '{v}'"), "VERSION"));
                }
                version = Some(v.to_owned());
            }
            "sec-websocket-key" => {
                let k = trim_ws(value);
                // Tcl's string length counts characters, not bytes.
                if k.chars().count() != 24 {
                    return Err(err("Invalid WebSocket key length".into(), "KEY"));
                }
                if !looks_base64(k) {
                    return Err(err("Invalid WebSocket key: not base64".into(), "KEY"));
                }
                key = Some(k.to_owned());
            }
            "sec-websocket-protocol" => {
                protocols.extend(split_comma(value).map(str::to_owned));
            }
            _ => {}
        }
    }
    if !upgrading {
        return Err(err(
            "No 'Connect' header with 'upgrade' token found".into(),
            "CONNECTION",
        ));
    }
    let Some(version) = version else {
        return Err(err("No WebSocket version specified".into(), "VERSION"));
    };
    let Some(key) = key else {
        return Err(err("No WebSocket key specified".into(), "KEY"));
    };
    Ok(ValidRequest {
        key,
        version,
        protocols,
    })
}

fn err(message: String, what: &'static str) -> HandshakeError {
    HandshakeError {
        message,
        code: vec!["HANDSHAKE", what],
    }
}

/// tcllib's `string trim $v " \t"`.
fn trim_ws(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

/// tcllib's SplitCommaSeparated: split on ",", trim, drop empty elements.
fn split_comma(s: &str) -> impl Iterator<Item = &str> {
    s.split(',').map(trim_ws).filter(|e| !e.is_empty())
}

/// `regexp {^[a-zA-Z0-9+/]*={0,2}$}`.
fn looks_base64(k: &str) -> bool {
    let body = k.trim_end_matches('=');
    k.len() - body.len() <= 2
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

/// The server's answer, CRLF line ends: "HTTP/1.1 101 Switching Protocols",
/// "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: ..",
/// and "Sec-WebSocket-Protocol: .." when `protocol` is not empty, then
/// "Sec-WebSocket-Extensions: .." when `extensions` is not empty.
pub fn server_response(accept: &str, protocol: &str, extensions: &str) -> Vec<u8> {
    let mut s = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n"
    );
    if !protocol.is_empty() {
        s.push_str("Sec-WebSocket-Protocol: ");
        s.push_str(protocol);
        s.push_str("\r\n");
    }
    if !extensions.is_empty() {
        s.push_str("Sec-WebSocket-Extensions: ");
        s.push_str(extensions);
        s.push_str("\r\n");
    }
    s.push_str("\r\n");
    s.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("Host", "example.com"),
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", KEY),
            ("Sec-WebSocket-Version", "13"),
        ]
    }

    fn fails(pairs: &[(&str, &str)], message: &str, what: &'static str) {
        assert_eq!(
            validate(&h(pairs)),
            Err(HandshakeError {
                message: message.to_string(),
                code: vec!["HANDSHAKE", what],
            }),
            "{pairs:?}"
        );
    }

    #[test]
    fn rfc_accept_key() {
        // RFC 6455 section 1.3.
        assert_eq!(accept_key(KEY), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn valid_request() {
        let r = validate(&h(&base())).unwrap();
        assert_eq!(
            r,
            ValidRequest {
                key: KEY.into(),
                version: "13".into(),
                protocols: vec![],
            }
        );
        // Case-insensitive names and tokens, lists, trimming, protocols
        // accumulated over several headers.
        let r = validate(&h(&[
            ("UPGRADE", " h2c ,\tWebSocket "),
            ("connection", "keep-alive, UPGRADE"),
            ("sec-websocket-key", " \tdGhlIHNhbXBsZSBub25jZQ== "),
            ("SEC-WEBSOCKET-VERSION", "\t13 "),
            ("Sec-WebSocket-Protocol", "chat, , superchat"),
            ("Sec-WebSocket-Protocol", " v2.x\t"),
        ]))
        .unwrap();
        assert_eq!(r.key, KEY);
        assert_eq!(r.version, "13");
        assert_eq!(r.protocols, ["chat", "superchat", "v2.x"]);
        // tcllib's token check never fires.
        let r = validate(&h(&[
            ("Connection", "upgrade"),
            ("Sec-WebSocket-Protocol", "a b/c(d)"),
            ("Sec-WebSocket-Version", "13"),
            ("Sec-WebSocket-Key", KEY),
        ]))
        .unwrap();
        assert_eq!(r.protocols, ["a b/c(d)"]);
        // No Upgrade header at all is not checked by tcllib.
        let r = validate(&h(&[
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Version", "13"),
            ("Sec-WebSocket-Key", KEY),
        ]));
        assert!(r.is_ok());
        // The key regexp allows 0 to 2 trailing "=".
        for k in [
            "AAAAAAAAAAAAAAAAAAAAAAAA",
            "AAAAAAAAAAAAAAAAAAAAAA+/",
            "AAAAAAAAAAAAAAAAAAAAAAA=",
        ] {
            let mut b = base();
            b[3].1 = k;
            assert_eq!(validate(&h(&b)).unwrap().key, k);
        }
    }

    #[test]
    fn upgrade_errors() {
        let msg = "No 'Upgrade' header with 'websocket' token found";
        for v in ["", "h2c", "websocket/13", "web socket", "websockets", " , "] {
            let mut b = base();
            b[1].1 = v;
            fails(&b, msg, "UPGRADE");
        }
        // Raised at that header, before later errors.
        fails(
            &[
                ("Sec-WebSocket-Version", "13"),
                ("Upgrade", "foo"),
                ("Sec-WebSocket-Version", "8"),
            ],
            msg,
            "UPGRADE",
        );
        // Sticky once found.
        let mut b = base();
        b.push(("Upgrade", "foo"));
        assert!(validate(&h(&b)).is_ok());
    }

    #[test]
    fn version_errors() {
        for (v, shown) in [
            ("8", "8"),
            (" 12 ", "12"),
            ("13, 8", "13, 8"),
            ("", ""),
            ("013", "013"),
        ] {
            let mut b = base();
            b[4].1 = v;
            fails(
                &b,
                &format!("Invalid WebSocket version '{shown}'"),
                "VERSION",
            );
        }
        let mut b = base();
        b.remove(4);
        fails(&b, "No WebSocket version specified", "VERSION");
    }

    #[test]
    fn key_errors() {
        for k in [
            "",
            "dGhlIHNhbXBsZSBub25jZQ=",
            "dGhlIHNhbXBsZSBub25jZQ===",
            "é",
        ] {
            let mut b = base();
            b[3].1 = k;
            fails(&b, "Invalid WebSocket key length", "KEY");
        }
        let accented = "é".repeat(24);
        for k in [
            "dGhlIHNhbXBsZSBub25jZ===",
            "dGhlIHNhbXBsZSBub25jZQ-_",
            "dGhl IHNhbXBsZSBub25jZQ=",
            "=AAAAAAAAAAAAAAAAAAAAAAA",
            &accented,
        ] {
            let mut b = base();
            b[3].1 = k;
            fails(&b, "Invalid WebSocket key: not base64", "KEY");
        }
        let mut b = base();
        b.remove(3);
        fails(&b, "No WebSocket key specified", "KEY");
    }

    #[test]
    fn connection_errors_and_final_order() {
        let msg = "No 'Connect' header with 'upgrade' token found";
        let mut b = base();
        b[2].1 = "keep-alive";
        fails(&b, msg, "CONNECTION");
        b.remove(2);
        fails(&b, msg, "CONNECTION");
        // Checked only after all headers; any Connection header may carry it.
        fails(&[("Connection", "close")], msg, "CONNECTION");
        fails(
            &[("Connection", "close"), ("Connection", "upgrade")],
            "No WebSocket version specified",
            "VERSION",
        );
        // Order after the loop: connection, version, key.
        fails(&[], msg, "CONNECTION");
        fails(
            &[("Connection", "upgrade")],
            "No WebSocket version specified",
            "VERSION",
        );
        fails(
            &[("Connection", "upgrade"), ("Sec-WebSocket-Version", "13")],
            "No WebSocket key specified",
            "KEY",
        );
        // Errors inside the loop come first, in header order.
        fails(
            &[
                ("Sec-WebSocket-Key", "short"),
                ("Sec-WebSocket-Version", "7"),
            ],
            "Invalid WebSocket key length",
            "KEY",
        );
        fails(
            &[
                ("Sec-WebSocket-Version", "7"),
                ("Sec-WebSocket-Key", "short"),
            ],
            "Invalid WebSocket version '7'",
            "VERSION",
        );
    }

    #[test]
    fn response() {
        assert_eq!(
            server_response("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "", ""),
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
                .to_vec()
        );
        assert_eq!(
            server_response("abc=", "chat", "permessage-deflate"),
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Accept: abc=\r\nSec-WebSocket-Protocol: chat\r\n\
              Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n"
                .to_vec()
        );
    }
}
