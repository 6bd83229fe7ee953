//! Close frames (RFC 6455 sections 5.5.1 and 7.4): payload parsing, codes and
//! the reason texts tcllib's `close` uses when none is given.

/// A close code is acceptable on the wire: 1000-1003, 1007-1011 (1012-1014
/// too, registered since), 3000-4999. 1004, 1005, 1006, 1015 and anything
/// under 1000 or over 4999 are not.
pub fn is_valid_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// What a received close payload means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClosePayload {
    /// Empty payload: no code given.
    Empty,
    /// A valid code and its reason, already checked to be UTF-8.
    Code(u16, String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CloseError {
    /// A 1-byte payload, or an invalid code: 1002.
    Protocol,
    /// Reason not UTF-8: 1007.
    InvalidUtf8,
}

impl std::fmt::Display for CloseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CloseError::Protocol => "invalid close payload",
            CloseError::InvalidUtf8 => "close reason not UTF-8",
        })
    }
}

impl std::error::Error for CloseError {}

pub fn parse_payload(payload: &[u8]) -> Result<ClosePayload, CloseError> {
    match payload {
        [] => Ok(ClosePayload::Empty),
        [_] => Err(CloseError::Protocol),
        [hi, lo, reason @ ..] => {
            let code = u16::from_be_bytes([*hi, *lo]);
            if !is_valid_code(code) {
                return Err(CloseError::Protocol);
            }
            match std::str::from_utf8(reason) {
                Ok(r) => Ok(ClosePayload::Code(code, r.to_owned())),
                Err(_) => Err(CloseError::InvalidUtf8),
            }
        }
    }
}

/// The text tcllib's `close` substitutes for an empty reason: 1000 "Normal
/// closure", 1001 "Endpoint going away", 1002 "Protocol error", 1003
/// "Received incompatible data type", 1006 "Abnormal closure", 1007
/// "Received data not consistent with type", 1008 "Policy violation", 1009
/// "Received message too big", 1010 "Missing extension", 1011 "Unexpected
/// condition", 1015 "TLS handshake error"; any other code: the code itself
/// in decimal (tcllib does `string map` on the code).
pub fn default_reason(code: u16) -> String {
    const MAP: [(&str, &str); 11] = [
        ("1000", "Normal closure"),
        ("1001", "Endpoint going away"),
        ("1002", "Protocol error"),
        ("1003", "Received incompatible data type"),
        ("1006", "Abnormal closure"),
        ("1007", "Received data not consistent with type"),
        ("1008", "Policy violation"),
        ("1009", "Received message too big"),
        ("1010", "Missing extension"),
        ("1011", "Unexpected condition"),
        ("1015", "TLS handshake error"),
    ];
    // A faithful `string map`: scan left to right, replace any key found,
    // skip past it. Only matters for 5-digit codes such as 10001, where
    // tcllib yields "Normal closure1".
    let digits = code.to_string();
    let mut out = String::new();
    let mut rest = digits.as_str();
    'scan: while !rest.is_empty() {
        for (k, v) in MAP {
            if let Some(after) = rest.strip_prefix(k) {
                out.push_str(v);
                rest = after;
                continue 'scan;
            }
        }
        out.push_str(&rest[..1]);
        rest = &rest[1..];
    }
    out
}

/// Builds a close payload: 2-byte big-endian code then the UTF-8 reason,
/// cut to at most 125 bytes in all, never in the middle of a UTF-8 sequence.
pub fn encode_payload(code: u16, reason: &str) -> Vec<u8> {
    let mut cut = reason.len().min(123);
    while !reason.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut out = Vec::with_capacity(2 + cut);
    out.extend_from_slice(&code.to_be_bytes());
    out.extend_from_slice(&reason.as_bytes()[..cut]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_codes() {
        let valid: Vec<u16> = (0..=u16::MAX).filter(|&c| is_valid_code(c)).collect();
        let mut want: Vec<u16> = (1000..=1003)
            .chain(1007..=1014)
            .chain(3000..=4999)
            .collect();
        want.sort_unstable();
        assert_eq!(valid, want);
        // Autobahn 7.9.x invalid codes.
        for c in [
            0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
        ] {
            assert!(!is_valid_code(c), "{c}");
        }
    }

    #[test]
    fn parse() {
        assert_eq!(parse_payload(b""), Ok(ClosePayload::Empty));
        assert_eq!(parse_payload(&[0x03]), Err(CloseError::Protocol));
        assert_eq!(
            parse_payload(&[0x03, 0xE8]),
            Ok(ClosePayload::Code(1000, String::new()))
        );
        assert_eq!(
            parse_payload(b"\x0F\xA0h\xC3\xA9"),
            Ok(ClosePayload::Code(4000, "hé".into()))
        );
        for c in [0u16, 999, 1004, 1005, 1006, 1015, 2999, 5000] {
            let p = c.to_be_bytes();
            assert_eq!(parse_payload(&p), Err(CloseError::Protocol), "{c}");
            // An invalid code wins over a bad reason.
            assert_eq!(
                parse_payload(&[p[0], p[1], 0xFF]),
                Err(CloseError::Protocol)
            );
        }
        assert_eq!(parse_payload(b"\x03\xE8\xFF"), Err(CloseError::InvalidUtf8));
        assert_eq!(
            parse_payload(b"\x03\xE8\xED\xA0\x80"),
            Err(CloseError::InvalidUtf8)
        );
        assert_eq!(
            parse_payload(b"\x03\xE8ok\xE2\x82"),
            Err(CloseError::InvalidUtf8)
        );
    }

    #[test]
    fn default_reasons() {
        let table = [
            (1000, "Normal closure"),
            (1001, "Endpoint going away"),
            (1002, "Protocol error"),
            (1003, "Received incompatible data type"),
            (1006, "Abnormal closure"),
            (1007, "Received data not consistent with type"),
            (1008, "Policy violation"),
            (1009, "Received message too big"),
            (1010, "Missing extension"),
            (1011, "Unexpected condition"),
            (1015, "TLS handshake error"),
            (1004, "1004"),
            (1012, "1012"),
            (3000, "3000"),
            (0, "0"),
            (999, "999"),
            // `string map` substitutes inside longer numbers too.
            (10001, "Normal closure1"),
            (21009, "2Received message too big"),
            (11000, "1Normal closure"),
        ];
        for (c, r) in table {
            assert_eq!(default_reason(c), r, "{c}");
        }
    }

    #[test]
    fn encode() {
        assert_eq!(encode_payload(1000, ""), [0x03, 0xE8]);
        assert_eq!(encode_payload(4000, "bye"), b"\x0F\xA0bye");
        let long = "x".repeat(200);
        let p = encode_payload(1001, &long);
        assert_eq!(p.len(), 125);
        assert_eq!(&p[2..], &long.as_bytes()[..123]);
        // 122 ASCII bytes then "é" (2 bytes) fits exactly; then "€" would
        // straddle the limit and is dropped whole.
        let s = format!("{}é€", "a".repeat(121));
        let p = encode_payload(1000, &s);
        assert_eq!(p.len(), 125);
        assert!(std::str::from_utf8(&p[2..]).is_ok());
        let s = format!("{}€", "a".repeat(121));
        let p = encode_payload(1000, &s);
        assert_eq!(p.len(), 123);
        assert_eq!(
            parse_payload(&p),
            Ok(ClosePayload::Code(1000, "a".repeat(121)))
        );
        for n in 0..130 {
            let s = format!("{}𝄞𝄞", "b".repeat(n));
            let p = encode_payload(1000, &s);
            assert!(p.len() <= 125);
            assert!(std::str::from_utf8(&p[2..]).is_ok(), "{n}");
        }
    }
}
