//! permessage-deflate (RFC 7692): negotiation of its parameters on both
//! sides, and the per-message codec over flate2 (raw deflate). Sans-I/O:
//! header values in, header values and bytes out.

use std::fmt;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The extension's name in Sec-WebSocket-Extensions.
pub const NAME: &str = "permessage-deflate";
/// What ends every sync-flushed deflate block; removed from the wire.
const TAIL: [u8; 4] = [0, 0, 0xFF, 0xFF];
/// Inflated bytes produced per step, so a limit is checked as it is crossed.
const INFLATE_STEP: usize = 16 * 1024;

/// Our settings (the `-deflate*` options).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Offer (client) or accept (server) the extension.
    pub enabled: bool,
    /// zlib level 0 to 9.
    pub level: u32,
    /// Largest LZ77 window, in bits (9 to 15), for both directions: what we
    /// compress with, and what we ask the peer to stay within.
    pub window: u8,
    /// Messages shorter than this go out uncompressed.
    pub min_size: usize,
    /// Keep compression context between messages (better ratio, but each
    /// connection then holds its codecs' memory for its whole life).
    pub takeover: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            enabled: false,
            level: 6,
            window: 15,
            min_size: 64,
            takeover: false,
        }
    }
}

/// What was agreed, from our side: how we compress (tx) and how the peer
/// compresses (rx).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Agreed {
    /// The extension as the server answered it (for `conninfo`).
    pub answer: String,
    pub level: u32,
    pub min_size: usize,
    /// Window bits we may use; 8 means we send uncompressed (zlib cannot
    /// compress with a 256-byte window).
    pub tx_window: u8,
    /// Reset our compressor after each message.
    pub tx_reset: bool,
    /// Window bits the peer uses.
    pub rx_window: u8,
    /// The peer resets its compressor after each message: so may we.
    pub rx_reset: bool,
}

/// One offer or answer's parameters, checked for syntax (RFC 7692 7.1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Params {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    /// Some(None): offered without a value.
    client_max_window_bits: Option<Option<u8>>,
}

/// An extension's parameters: (name, value), lower-cased names.
type ParamList = Vec<(String, Option<String>)>;

/// Splits a header value into extensions: (name, parameters).
fn parse_list(values: &[&str]) -> Vec<(String, ParamList)> {
    let mut out = Vec::new();
    for v in values {
        for ext in v.split(',') {
            let mut parts = ext.split(';').map(str::trim);
            let name = parts.next().unwrap_or("");
            if name.is_empty() {
                continue;
            }
            let params = parts
                .filter(|p| !p.is_empty())
                .map(|p| match p.split_once('=') {
                    Some((k, v)) => {
                        let v = v.trim();
                        let v = v
                            .strip_prefix('"')
                            .and_then(|v| v.strip_suffix('"'))
                            .unwrap_or(v);
                        (k.trim().to_ascii_lowercase(), Some(v.to_owned()))
                    }
                    None => (p.to_ascii_lowercase(), None),
                })
                .collect();
            out.push((name.to_ascii_lowercase(), params));
        }
    }
    out
}

/// Window bits: 8 to 15, digits only, no leading zero.
fn bits(v: &str) -> Option<u8> {
    if v.is_empty() || v.starts_with('0') || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse::<u8>().ok().filter(|b| (8..=15).contains(b))
}

/// What is wrong with an offer's or an answer's parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParamError {
    /// A parameter given twice.
    Twice(String),
    /// Window bits that are not 8 to 15: the parameter and its value.
    BadBits { param: String, value: String },
    /// A parameter unknown, or with a value it cannot have (or without
    /// the one it must have).
    Unknown(String),
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamError::Twice(k) => write!(f, "{k} given twice"),
            ParamError::BadBits { param, value } => write!(f, "bad {param} {value}"),
            ParamError::Unknown(k) => write!(f, "bad parameter {k}"),
        }
    }
}

impl std::error::Error for ParamError {}

/// Why a server's Sec-WebSocket-Extensions answer cannot be accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeflateError {
    /// Extensions we did not offer (their names, in the answer's order).
    NotOffered(Vec<String>),
    /// permessage-deflate parameters that do not parse.
    BadParams(ParamError),
    /// A server window larger than the one we asked for.
    WindowOver { bits: u8, offered: u8 },
    /// client_max_window_bits in an answer must have a value.
    ClientBitsWithoutValue,
}

impl fmt::Display for DeflateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeflateError::NotOffered(names) => write!(
                f,
                "the server chose extensions that were not offered: {}",
                names.join(", ")
            ),
            DeflateError::BadParams(e) => write!(f, "bad {NAME} answer: {e}"),
            DeflateError::WindowOver { bits, offered } => write!(
                f,
                "bad {NAME} answer: server_max_window_bits={bits} over the {offered} offered"
            ),
            DeflateError::ClientBitsWithoutValue => write!(
                f,
                "bad {NAME} answer: client_max_window_bits without a value"
            ),
        }
    }
}

impl std::error::Error for DeflateError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DeflateError::BadParams(e) => Some(e),
            _ => None,
        }
    }
}

fn parse_params(list: &ParamList) -> Result<Params, ParamError> {
    let mut p = Params::default();
    let mut seen: Vec<&str> = Vec::new();
    let bad_bits = |k: &str, v: &str| ParamError::BadBits {
        param: k.to_owned(),
        value: v.to_owned(),
    };
    for (k, v) in list {
        if seen.contains(&k.as_str()) {
            return Err(ParamError::Twice(k.clone()));
        }
        seen.push(k);
        let v = v.as_deref();
        match (k.as_str(), v) {
            ("server_no_context_takeover", None) => p.server_no_context_takeover = true,
            ("client_no_context_takeover", None) => p.client_no_context_takeover = true,
            ("server_max_window_bits", Some(v)) => {
                p.server_max_window_bits = Some(bits(v).ok_or_else(|| bad_bits(k, v))?)
            }
            ("client_max_window_bits", None) => p.client_max_window_bits = Some(None),
            ("client_max_window_bits", Some(v)) => {
                p.client_max_window_bits = Some(Some(bits(v).ok_or_else(|| bad_bits(k, v))?))
            }
            _ => return Err(ParamError::Unknown(k.clone())),
        }
    }
    Ok(p)
}

fn render(p: &Params) -> String {
    let mut s = NAME.to_owned();
    if p.server_no_context_takeover {
        s.push_str("; server_no_context_takeover");
    }
    if p.client_no_context_takeover {
        s.push_str("; client_no_context_takeover");
    }
    if let Some(b) = p.server_max_window_bits {
        s.push_str(&format!("; server_max_window_bits={b}"));
    }
    match p.client_max_window_bits {
        Some(Some(b)) => s.push_str(&format!("; client_max_window_bits={b}")),
        Some(None) => s.push_str("; client_max_window_bits"),
        None => {}
    }
    s
}

/// Server: the first acceptable permessage-deflate offer among the
/// request's Sec-WebSocket-Extensions values, and our answer to it. Offers
/// with unknown or bad parameters are declined (RFC 7692 5.1); so is
/// everything when the extension is not enabled.
pub fn accept(cfg: &Config, values: &[&str]) -> Option<Agreed> {
    if !cfg.enabled {
        return None;
    }
    let ours = cfg.window.clamp(9, 15);
    for (name, list) in parse_list(values) {
        if name != NAME {
            continue;
        }
        let Ok(offer) = parse_params(&list) else {
            continue;
        };
        let server_bits = match offer.server_max_window_bits {
            Some(b) => Some(b.min(ours)),
            None => (ours < 15).then_some(ours),
        };
        let client_bits = match offer.client_max_window_bits {
            Some(Some(b)) => Some(b.min(ours)),
            Some(None) => (ours < 15).then_some(ours),
            // Not offered: the client may not be able to limit its window.
            None => None,
        };
        let answer = Params {
            server_no_context_takeover: offer.server_no_context_takeover || !cfg.takeover,
            client_no_context_takeover: offer.client_no_context_takeover || !cfg.takeover,
            server_max_window_bits: server_bits,
            client_max_window_bits: client_bits.map(Some),
        };
        return Some(Agreed {
            answer: render(&answer),
            level: cfg.level,
            min_size: cfg.min_size,
            tx_window: server_bits.unwrap_or(15),
            tx_reset: answer.server_no_context_takeover,
            rx_window: client_bits.unwrap_or(15),
            rx_reset: answer.client_no_context_takeover,
        });
    }
    None
}

/// Client: the Sec-WebSocket-Extensions value we offer, or None when not
/// enabled. Without context takeover we offer first to hold no context,
/// then, for servers that do not support that, the plain offer.
pub fn offer(cfg: &Config) -> Option<String> {
    if !cfg.enabled {
        return None;
    }
    let w = cfg.window.clamp(9, 15);
    let plain = Params {
        server_max_window_bits: (w < 15).then_some(w),
        client_max_window_bits: Some((w < 15).then_some(w)),
        ..Params::default()
    };
    if cfg.takeover {
        return Some(render(&plain));
    }
    let strict = Params {
        server_no_context_takeover: true,
        client_no_context_takeover: true,
        ..plain.clone()
    };
    Some(format!("{}, {}", render(&strict), render(&plain)))
}

/// Client: checks the server's Sec-WebSocket-Extensions values against
/// what [`offer`] sent. Ok(None): no extension (the server declined).
pub fn check_answer(cfg: &Config, values: &[&str]) -> Result<Option<Agreed>, DeflateError> {
    let list = parse_list(values);
    if list.is_empty() {
        return Ok(None);
    }
    if !cfg.enabled || list.len() > 1 || list[0].0 != NAME {
        let names = list.into_iter().map(|(n, _)| n).collect();
        return Err(DeflateError::NotOffered(names));
    }
    let p = parse_params(&list[0].1).map_err(DeflateError::BadParams)?;
    let w = cfg.window.clamp(9, 15);
    if let Some(b) = p.server_max_window_bits {
        if w < 15 && b > w {
            return Err(DeflateError::WindowOver {
                bits: b,
                offered: w,
            });
        }
    }
    let client_bits = match p.client_max_window_bits {
        Some(None) => return Err(DeflateError::ClientBitsWithoutValue),
        Some(Some(b)) => b.min(w),
        None => w,
    };
    Ok(Some(Agreed {
        answer: render(&p),
        level: cfg.level,
        min_size: cfg.min_size,
        tx_window: client_bits,
        tx_reset: p.client_no_context_takeover || !cfg.takeover,
        rx_window: p.server_max_window_bits.unwrap_or(15),
        rx_reset: p.server_no_context_takeover,
    }))
}

// ---------------------------------------------------------------- codec

/// Compresses one message, frame by frame.
pub struct Deflater {
    z: Compress,
}

impl Deflater {
    /// `window` must be 9 to 15.
    pub fn new(level: u32, window: u8) -> Deflater {
        Deflater {
            z: Compress::new_with_window_bits(Compression::new(level.min(9)), false, window),
        }
    }

    /// Compresses `data` (one frame's worth of a message) onto `out`; the
    /// final frame of a message loses the sync-flush tail (RFC 7692 7.2.1).
    pub fn compress(&mut self, data: &[u8], fin: bool, out: &mut Vec<u8>) {
        let start = out.len();
        let mut input = data;
        loop {
            out.reserve(input.len() / 2 + 64);
            let before = self.z.total_in();
            // Cannot fail: a raw stream with the buffers flate2 manages.
            let _ = self.z.compress_vec(input, out, FlushCompress::Sync);
            input = &input[(self.z.total_in() - before) as usize..];
            // Done once all input is in and the flush fit in the buffer.
            if input.is_empty() && out.len() < out.capacity() {
                break;
            }
        }
        if fin && out[start..].ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        } else if fin && out.len() == start {
            // zlib flushes nothing when nothing is pending; the peer appends
            // the tail, so it needs the empty block's first byte (7.2.3.6).
            out.push(0);
        }
    }

    /// Forgets the context: the next message starts afresh.
    pub fn reset(&mut self) {
        self.z.reset();
    }
}

/// Why inflating stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InflateError {
    /// The output would pass the limit.
    TooBig,
    /// Not a valid deflate stream.
    Corrupt,
}

impl fmt::Display for InflateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InflateError::TooBig => "inflated message over the limit",
            InflateError::Corrupt => "invalid deflate data",
        })
    }
}

impl std::error::Error for InflateError {}

/// Decompresses messages, bounded by a limit on the output.
pub struct Inflater {
    z: Decompress,
    /// The peer ended the deflate stream (a block with BFINAL set).
    ended: bool,
}

impl Inflater {
    /// `window` 8 to 15 (8 is inflated as 9, a superset).
    pub fn new(window: u8) -> Inflater {
        Inflater {
            z: Decompress::new_with_window_bits(false, window.clamp(9, 15)),
            ended: false,
        }
    }

    /// Inflates `data` onto `out`, in steps of at most INFLATE_STEP bytes,
    /// failing as soon as `out` would exceed `limit` bytes: `out` never
    /// grows past limit + INFLATE_STEP.
    pub fn inflate(
        &mut self,
        data: &[u8],
        out: &mut Vec<u8>,
        limit: u64,
    ) -> Result<(), InflateError> {
        let mut input = data;
        while !self.ended {
            let room = limit.saturating_sub(out.len() as u64).saturating_add(1);
            let step = usize::try_from(room)
                .unwrap_or(usize::MAX)
                .min(INFLATE_STEP);
            if out.capacity() - out.len() < step {
                // Geometric growth, but never far past the limit.
                let cap_limit = usize::try_from(limit.saturating_add(1)).unwrap_or(usize::MAX);
                let want = (out.capacity() * 2).min(cap_limit).max(out.len() + step);
                out.reserve_exact(want - out.len());
            }
            let before_in = self.z.total_in();
            let before_out = out.len();
            let status = decompress_bounded(&mut self.z, input, out, before_out + step)
                .map_err(|_| InflateError::Corrupt)?;
            input = &input[(self.z.total_in() - before_in) as usize..];
            if out.len() as u64 > limit {
                return Err(InflateError::TooBig);
            }
            let produced = out.len() - before_out;
            if status == Status::StreamEnd {
                // A final block (RFC 7692 7.2.3.3): the rest of the message,
                // and the tail, are ignored as zlib users do.
                self.ended = true;
            } else if (input.is_empty() && produced < step)
                || (produced == 0 && self.z.total_in() == before_in)
            {
                break;
            }
        }
        Ok(())
    }

    /// The message is complete: inflates the sync-flush tail the sender
    /// removed. A stream that ended with a final block starts afresh.
    pub fn finish(&mut self, out: &mut Vec<u8>, limit: u64) -> Result<(), InflateError> {
        self.inflate(&TAIL, out, limit)?;
        if self.ended {
            self.reset();
        }
        Ok(())
    }

    pub fn reset(&mut self) {
        self.z.reset(false);
        self.ended = false;
    }
}

/// Inflates into `out` up to length `end` (not past its capacity).
fn decompress_bounded(
    z: &mut Decompress,
    input: &[u8],
    out: &mut Vec<u8>,
    end: usize,
) -> Result<Status, flate2::DecompressError> {
    let len = out.len();
    let end = end.min(out.capacity());
    out.resize(end, 0);
    let before = z.total_out();
    let r = z.decompress(input, &mut out[len..end], FlushDecompress::Sync);
    out.truncate(len + (z.total_out() - before) as usize);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> Config {
        Config {
            enabled: true,
            ..Config::default()
        }
    }

    fn round(msgs: &[&[u8]], a: &Agreed) {
        let mut d = Deflater::new(a.level, a.tx_window.max(9));
        let mut i = Inflater::new(a.tx_window);
        for m in msgs {
            let mut wire = Vec::new();
            d.compress(m, true, &mut wire);
            let mut out = Vec::new();
            i.inflate(&wire, &mut out, 1 << 30).unwrap();
            i.finish(&mut out, 1 << 30).unwrap();
            assert_eq!(&out, m);
            if a.tx_reset {
                d.reset();
                i.reset();
            }
        }
    }

    #[test]
    fn server_accepts_and_answers() {
        let a = accept(&cfg(), &["permessage-deflate; client_max_window_bits"]).unwrap();
        assert_eq!(
            a.answer,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
        );
        assert!(a.tx_reset && a.rx_reset);
        assert_eq!((a.tx_window, a.rx_window), (15, 15));
        let c = Config {
            window: 10,
            takeover: true,
            ..cfg()
        };
        let a = accept(&c, &["x-webkit-deflate-frame, permessage-deflate; client_max_window_bits; server_max_window_bits=12"]).unwrap();
        assert_eq!(
            a.answer,
            "permessage-deflate; server_max_window_bits=10; client_max_window_bits=10"
        );
        assert!(!a.tx_reset && !a.rx_reset);
        // No client_max_window_bits offered: we must not limit the client.
        let a = accept(&c, &["permessage-deflate; server_max_window_bits=8"]).unwrap();
        assert_eq!(a.answer, "permessage-deflate; server_max_window_bits=8");
        assert_eq!((a.tx_window, a.rx_window), (8, 15));
        // A bad first offer falls back to the next one.
        let a = accept(
            &cfg(),
            &[
                "permessage-deflate; foo=1",
                "permessage-deflate; server_max_window_bits=9",
            ],
        )
        .unwrap();
        assert_eq!(a.tx_window, 9);
        for bad in [
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits=010",
            "permessage-deflate; client_max_window_bits=x",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "deflate-frame",
        ] {
            assert_eq!(accept(&cfg(), &[bad]), None, "{bad}");
        }
        assert_eq!(accept(&Config::default(), &["permessage-deflate"]), None);
        // Quoted values are values.
        let a = accept(
            &cfg(),
            &["permessage-deflate; server_max_window_bits=\"11\""],
        )
        .unwrap();
        assert_eq!(a.tx_window, 11);
    }

    #[test]
    fn client_offers_and_checks() {
        assert_eq!(offer(&Config::default()), None);
        assert_eq!(
            offer(&cfg()).unwrap(),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             client_max_window_bits, permessage-deflate; client_max_window_bits"
        );
        let c = Config {
            window: 11,
            takeover: true,
            ..cfg()
        };
        assert_eq!(
            offer(&c).unwrap(),
            "permessage-deflate; server_max_window_bits=11; client_max_window_bits=11"
        );
        assert_eq!(check_answer(&cfg(), &[]), Ok(None));
        let a = check_answer(&cfg(), &["permessage-deflate"])
            .unwrap()
            .unwrap();
        assert!(a.tx_reset && !a.rx_reset);
        let a = check_answer(
            &cfg(),
            &["permessage-deflate; server_no_context_takeover; client_max_window_bits=8"],
        )
        .unwrap()
        .unwrap();
        assert_eq!((a.tx_window, a.rx_reset), (8, true));
        for bad in [
            "permessage-deflate; client_max_window_bits",
            "permessage-deflate; bogus",
            "permessage-deflate; server_max_window_bits=20",
            "permessage-deflate, permessage-deflate",
            "x-other",
        ] {
            assert!(check_answer(&cfg(), &[bad]).is_err(), "{bad}");
        }
        // The words, made only by Display, with the cause kept.
        let e = check_answer(&cfg(), &["permessage-deflate; server_max_window_bits=20"]);
        let e = e.unwrap_err();
        assert_eq!(
            e.to_string(),
            "bad permessage-deflate answer: bad server_max_window_bits 20"
        );
        assert!(std::error::Error::source(&e).is_some());
        assert_eq!(
            check_answer(&cfg(), &["x-one, permessage-deflate"])
                .unwrap_err()
                .to_string(),
            "the server chose extensions that were not offered: x-one, permessage-deflate"
        );
        assert_eq!(
            check_answer(&c, &["permessage-deflate; server_max_window_bits=12"])
                .unwrap_err()
                .to_string(),
            "bad permessage-deflate answer: server_max_window_bits=12 over the 11 offered"
        );
        assert!(check_answer(&c, &["permessage-deflate; server_max_window_bits=12"]).is_err());
        assert!(check_answer(&Config::default(), &["permessage-deflate"]).is_err());
    }

    #[test]
    fn codec_round_trips() {
        let text = b"{\"id\": 1, \"name\": \"websocket\", \"tags\": [\"a\", \"b\"]}".repeat(40);
        let msgs: [&[u8]; 4] = [&text, b"", b"x", &text];
        for reset in [false, true] {
            for w in [9, 12, 15] {
                let a = Agreed {
                    answer: String::new(),
                    level: 6,
                    min_size: 0,
                    tx_window: w,
                    tx_reset: reset,
                    rx_window: w,
                    rx_reset: reset,
                };
                round(&msgs, &a);
            }
        }
    }

    #[test]
    fn rfc7692_examples() {
        // 7.2.3.1: "Hello" compressed in one frame.
        let mut d = Deflater::new(6, 15);
        let mut wire = Vec::new();
        d.compress(b"Hello", true, &mut wire);
        let mut i = Inflater::new(15);
        let mut out = Vec::new();
        i.inflate(&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], &mut out, 100)
            .unwrap();
        i.finish(&mut out, 100).unwrap();
        assert_eq!(out, b"Hello");
        // 7.2.3.2: the same with context taken over.
        i.inflate(&[0xf2, 0x00, 0x11, 0x00, 0x00], &mut out, 100)
            .unwrap();
        i.finish(&mut out, 100).unwrap();
        assert_eq!(out, b"HelloHello");
        // 7.2.3.3: no compression (a stored block), and BFINAL set.
        let mut i = Inflater::new(15);
        let mut out = Vec::new();
        i.inflate(
            &[
                0x00, 0x05, 0x00, 0xfa, 0xff, b'H', b'e', b'l', b'l', b'o', 0x00,
            ],
            &mut out,
            100,
        )
        .unwrap();
        i.finish(&mut out, 100).unwrap();
        assert_eq!(out, b"Hello");
        let mut i = Inflater::new(15);
        let mut out = Vec::new();
        i.inflate(
            &[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00],
            &mut out,
            100,
        )
        .unwrap();
        assert_eq!(out, b"Hello");
    }

    #[test]
    fn fragments_share_one_stream() {
        let mut d = Deflater::new(6, 15);
        let mut wire = Vec::new();
        d.compress(b"hello hello ", false, &mut wire);
        let cut = wire.len();
        d.compress(b"hello world", true, &mut wire);
        let mut i = Inflater::new(15);
        let mut out = Vec::new();
        i.inflate(&wire[..cut], &mut out, 100).unwrap();
        assert_eq!(out, b"hello hello ");
        i.inflate(&wire[cut..], &mut out, 100).unwrap();
        i.finish(&mut out, 100).unwrap();
        assert_eq!(out, b"hello hello hello world");
    }

    #[test]
    fn bomb_stops_at_the_limit() {
        // 16 MiB of zeros compress to about 16 KiB.
        let zeros = vec![0u8; 16 << 20];
        let mut d = Deflater::new(9, 15);
        let mut wire = Vec::new();
        d.compress(&zeros, true, &mut wire);
        assert!(wire.len() < 20_000, "{}", wire.len());
        let mut i = Inflater::new(15);
        let mut out = Vec::new();
        assert_eq!(
            i.inflate(&wire, &mut out, 100_000),
            Err(InflateError::TooBig)
        );
        assert!(
            out.capacity() <= 100_001 + INFLATE_STEP,
            "{}",
            out.capacity()
        );
        // Exactly at the limit is fine.
        let mut i = Inflater::new(15);
        let mut out = Vec::new();
        let mut w = Vec::new();
        Deflater::new(6, 15).compress(&zeros[..100_000], true, &mut w);
        i.inflate(&w, &mut out, 100_000).unwrap();
        i.finish(&mut out, 100_000).unwrap();
        assert_eq!(out.len(), 100_000);
    }

    #[test]
    fn corrupt_data_is_an_error() {
        let mut i = Inflater::new(15);
        let mut out = Vec::new();
        assert_eq!(
            i.inflate(&[0xff, 0xff, 0xff], &mut out, 100),
            Err(InflateError::Corrupt)
        );
        // Data after a final block is ignored, and the next message
        // starts a new stream.
        let mut i = Inflater::new(15);
        let mut out = Vec::new();
        i.inflate(
            &[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x12],
            &mut out,
            100,
        )
        .unwrap();
        i.finish(&mut out, 100).unwrap();
        assert_eq!(out, b"Hello");
        let mut out = Vec::new();
        i.inflate(&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], &mut out, 100)
            .unwrap();
        i.finish(&mut out, 100).unwrap();
        assert_eq!(out, b"Hello");
    }
}
