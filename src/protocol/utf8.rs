//! Incremental UTF-8 validation, so a bad fragment fails at once rather than
//! when the message ends. Fast path: std's validator over whole chunks; only
//! an incomplete sequence (at most 3 bytes) is carried across chunks.

/// The bytes fed so far are not (the beginning of) valid UTF-8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Utf8Error;

impl std::fmt::Display for Utf8Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("invalid UTF-8")
    }
}

impl std::error::Error for Utf8Error {}

/// Validates one message's UTF-8 as its bytes arrive.
#[derive(Default, Debug, Clone)]
pub struct Utf8Validator {
    /// Pending incomplete sequence, always a valid prefix.
    tail: [u8; 4],
    tail_len: u8,
    /// Sticky: once invalid, stays invalid until `reset`.
    failed: bool,
}

impl Utf8Validator {
    /// A validator at the start of a message.
    pub fn new() -> Self {
        Self::default()
    }
    /// Feeds the next bytes of the message. Err(Utf8Error) as soon as the bytes
    /// seen so far cannot be the prefix of valid UTF-8 (e.g. an invalid lead
    /// byte, a surrogate, an overlong form, or a code point over U+10FFFF,
    /// even when the sequence is cut in the middle: ED A0 alone fails).
    pub fn feed(&mut self, bytes: &[u8]) -> Result<(), Utf8Error> {
        if self.failed {
            return Err(Utf8Error);
        }
        let r = self.feed_inner(bytes);
        self.failed = r.is_err();
        r
    }

    fn feed_inner(&mut self, mut bytes: &[u8]) -> Result<(), Utf8Error> {
        if self.tail_len > 0 {
            // Complete the pending sequence first; its lead byte is valid so
            // seq_width gives its full length.
            let have = usize::from(self.tail_len);
            let need = seq_width(self.tail[0]) - have;
            let take = need.min(bytes.len());
            self.tail[have..have + take].copy_from_slice(&bytes[..take]);
            let now = have + take;
            bytes = &bytes[take..];
            if take < need {
                self.tail_len = now as u8;
                return if is_valid_prefix(&self.tail[..now]) {
                    Ok(())
                } else {
                    Err(Utf8Error)
                };
            }
            std::str::from_utf8(&self.tail[..now]).map_err(|_| Utf8Error)?;
            self.tail_len = 0;
        }
        match std::str::from_utf8(bytes) {
            Ok(_) => Ok(()),
            // error_len None: the input ended inside a sequence. std already
            // rejects most bad prefixes, but check ours explicitly anyway.
            Err(e) if e.error_len().is_none() => {
                let rest = &bytes[e.valid_up_to()..];
                if !is_valid_prefix(rest) {
                    return Err(Utf8Error);
                }
                self.tail[..rest.len()].copy_from_slice(rest);
                self.tail_len = rest.len() as u8;
                Ok(())
            }
            Err(_) => Err(Utf8Error),
        }
    }

    /// The message ended: Err(Utf8Error) if a sequence is left incomplete.
    pub fn finish(&mut self) -> Result<(), Utf8Error> {
        if self.failed || self.tail_len > 0 {
            Err(Utf8Error)
        } else {
            Ok(())
        }
    }
    /// Back to the initial state for the next message.
    pub fn reset(&mut self) {
        *self = Self::default();
    }
}

/// Full length of the sequence a lead byte starts (0 if not a lead byte).
fn seq_width(lead: u8) -> usize {
    match lead {
        0x00..=0x7F => 1,
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => 0,
    }
}

/// `p` (1 to 3 bytes) is the strict beginning of some valid sequence: the
/// second byte ranges of RFC 3629's table exclude overlongs, surrogates and
/// code points over U+10FFFF.
fn is_valid_prefix(p: &[u8]) -> bool {
    let Some(&lead) = p.first() else {
        return true;
    };
    if p.len() >= seq_width(lead) {
        return false;
    }
    if let Some(&b1) = p.get(1) {
        let ok = match lead {
            0xE0 => (0xA0..=0xBF).contains(&b1),
            0xED => (0x80..=0x9F).contains(&b1),
            0xF0 => (0x90..=0xBF).contains(&b1),
            0xF4 => (0x80..=0x8F).contains(&b1),
            _ => (0x80..=0xBF).contains(&b1),
        };
        if !ok {
            return false;
        }
    }
    p.iter().skip(2).all(|&b| (0x80..=0xBF).contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::sync::OnceLock;

    /// Every proper prefix (1 to 3 bytes) of the encoding of some char:
    /// a reference for "can still become valid" independent of the code.
    fn proper_prefixes() -> &'static HashSet<Vec<u8>> {
        static SET: OnceLock<HashSet<Vec<u8>>> = OnceLock::new();
        SET.get_or_init(|| {
            let mut s = HashSet::new();
            let mut buf = [0u8; 4];
            for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
                let e = c.encode_utf8(&mut buf).as_bytes();
                for n in 1..e.len() {
                    s.insert(e[..n].to_vec());
                }
            }
            s
        })
    }

    /// Reference: `p` is the prefix of some valid UTF-8 string.
    fn ref_prefix_ok(p: &[u8]) -> bool {
        match std::str::from_utf8(p) {
            Ok(_) => true,
            Err(e) => e.error_len().is_none() && proper_prefixes().contains(&p[e.valid_up_to()..]),
        }
    }

    /// Index of the first byte after which `b` is no longer a valid prefix.
    fn ref_first_bad(b: &[u8]) -> Option<usize> {
        (0..b.len()).find(|&i| !ref_prefix_ok(&b[..=i]))
    }

    /// Feeds `b` cut at `cuts`; returns the index of the chunk whose feed
    /// failed (or None) and the finish result.
    fn run(b: &[u8], cuts: &[usize]) -> (Option<usize>, bool) {
        let mut v = Utf8Validator::new();
        let mut prev = 0;
        for (i, &c) in cuts.iter().chain(std::iter::once(&b.len())).enumerate() {
            if v.feed(&b[prev..c]).is_err() {
                assert!(v.finish().is_err());
                return (Some(i), false);
            }
            prev = c;
        }
        (None, v.finish().is_ok())
    }

    /// Checks every property for one input and one set of cut points.
    fn check(b: &[u8], cuts: &[usize]) {
        let (failed_chunk, finished) = run(b, cuts);
        let valid = std::str::from_utf8(b).is_ok();
        assert_eq!(finished, valid, "{b:02X?} cuts {cuts:?}");
        let bad = ref_first_bad(b);
        // The chunk that fails is exactly the one holding the first bad byte.
        let want_chunk = bad.map(|i| cuts.iter().filter(|&&c| c <= i).count());
        assert_eq!(failed_chunk, want_chunk, "{b:02X?} cuts {cuts:?}");
    }

    fn check_all_splits(b: &[u8]) {
        check(b, &[]);
        for i in 0..=b.len() {
            check(b, &[i]);
            if b.len() <= 12 {
                for j in i..=b.len() {
                    check(b, &[i, j]);
                }
            }
        }
        let ones: Vec<usize> = (1..b.len()).collect();
        check(b, &ones);
    }

    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace()
            .map(|h| u8::from_str_radix(h, 16).unwrap())
            .collect()
    }

    /// Autobahn 6.x style cases (from Markus Kuhn's UTF-8 stress test).
    const CASES: &[&str] = &[
        // valid: "κόσμε", boundaries, noncharacters
        "CE BA E1 BD B9 CF 83 CE BC CE B5",
        "00",
        "C2 80",
        "E0 A0 80",
        "F0 90 80 80",
        "7F",
        "DF BF",
        "EF BF BF",
        "F4 8F BF BF",
        "ED 9F BF",
        "EE 80 80",
        "EF BF BD",
        "EF BF BE",
        "F0 9F 98 80 41",
        // over U+10FFFF and 5/6-byte forms
        "F4 90 80 80",
        "F7 BF BF BF",
        "F8 88 80 80 80",
        "FB BF BF BF BF",
        "FC 84 80 80 80 80",
        "FD BF BF BF BF BF",
        // lonely continuation and start bytes
        "80",
        "BF",
        "80 BF 80 BF",
        "C0 20",
        "C1 20",
        "DF 20",
        "E0 20",
        "EF 20",
        "F0 20",
        "F4 20",
        "F5 20",
        // truncated sequences
        "C2",
        "E0 A0",
        "E2 82",
        "F0 90 80",
        "F4 8F BF",
        "41 E2 82",
        "E0 80",
        "CE BA E1 BD B9 CF 83 CE BC CE B5 F4 90 80 80 65 64 69 74 65 64",
        // impossible bytes
        "FE",
        "FF",
        "FE FE FF FF",
        // overlongs
        "C0 AF",
        "E0 80 AF",
        "F0 80 80 AF",
        "F8 80 80 80 AF",
        "C1 BF",
        "E0 9F BF",
        "F0 8F BF BF",
        "C0 80",
        "E0 80 80",
        // surrogates, single and paired
        "ED A0 80",
        "ED AD BF",
        "ED AE 80",
        "ED AF BF",
        "ED B0 80",
        "ED BE 80",
        "ED BF BF",
        "ED A0 80 ED B0 80",
        "ED AF BF ED BF BF",
        // bad continuation in the middle
        "E2 28 A1",
        "E2 82 28",
        "F0 28 8C BC",
        "F0 90 28 BC",
        "F0 28 8C 28",
    ];

    #[test]
    fn autobahn_sequences_at_every_split() {
        for c in CASES {
            let b = hex(c);
            check_all_splits(&b);
            // Also embedded in valid text on both sides.
            let mut wrapped = b"Hello-\xC2\xB5@".to_vec();
            wrapped.extend_from_slice(&b);
            wrapped.extend_from_slice("-ß€𝄞".as_bytes());
            check_all_splits(&wrapped);
        }
    }

    #[test]
    fn bad_prefixes_fail_at_once() {
        for c in [
            "ED A0", "F4 90", "C0", "C1", "F5", "FF", "E0 80", "F0 80", "E2 41", "F0 90 41",
        ] {
            let mut v = Utf8Validator::new();
            assert_eq!(v.feed(&hex(c)), Err(Utf8Error), "{c}");
            // Same when the prefix arrives after a pending byte.
            let b = hex(c);
            if b.len() == 2 {
                let mut v = Utf8Validator::new();
                assert_eq!(v.feed(&b[..1]), Ok(()), "{c}");
                assert_eq!(v.feed(&b[1..]), Err(Utf8Error), "{c}");
            }
        }
        for c in ["ED 9F", "F4 8F", "C2", "F4", "E0 A0", "F0 90 80"] {
            let mut v = Utf8Validator::new();
            assert_eq!(v.feed(&hex(c)), Ok(()), "{c}");
            assert_eq!(v.finish(), Err(Utf8Error), "{c}");
        }
    }

    #[test]
    fn sticky_failure_and_reset() {
        let mut v = Utf8Validator::new();
        assert!(v.feed(b"\xFF").is_err());
        assert!(v.feed(b"abc").is_err());
        assert!(v.finish().is_err());
        v.reset();
        assert!(v.feed(b"abc").is_ok());
        assert!(v.feed(b"\xE2").is_ok());
        v.reset();
        assert!(v.feed(b"\x82\xAC").is_err(), "tail dropped by reset");
        v.reset();
        assert!(v.feed(b"").is_ok());
        assert!(v.finish().is_ok());
    }

    #[test]
    fn random_input_matches_std_at_every_split() {
        // xorshift: deterministic, no dev-dependency needed.
        let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let pieces: Vec<Vec<u8>> = [
            "a",
            "ß",
            "€",
            "𝄞",
            "\u{10FFFF}",
            "\u{FFFF}",
            "\u{D7FF}",
            "\u{E000}",
            "\u{80}",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        for _ in 0..3000 {
            let len = (next() % 24) as usize;
            let mut b = Vec::new();
            while b.len() < len {
                let r = next();
                match r % 4 {
                    // mostly valid chars, sometimes a random or truncated one
                    0 | 1 => b.extend_from_slice(&pieces[(r >> 8) as usize % pieces.len()]),
                    2 => b.push((r >> 8) as u8),
                    _ => {
                        let p = &pieces[(r >> 8) as usize % pieces.len()];
                        b.extend_from_slice(&p[..p.len() - (p.len() > 1) as usize]);
                    }
                }
            }
            for i in 0..=b.len() {
                check(&b, &[i]);
            }
            let mut cuts: Vec<usize> = (0..3).map(|_| next() as usize % (b.len() + 1)).collect();
            cuts.sort_unstable();
            check(&b, &cuts);
            let ones: Vec<usize> = (1..b.len()).collect();
            check(&b, &ones);
        }
    }
}
