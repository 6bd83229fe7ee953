//! Turns a byte stream into messages: frame decoding, unmasking, reassembly
//! of fragments, UTF-8 checks and size limits. Sans-I/O: `feed` bytes, get
//! `Incoming` items.

use super::close::{self, CloseError, ClosePayload};
use super::deflate::{InflateError, Inflater};
use super::frame::{self, FrameHeader, HeaderError, OpCode};
use super::mask::apply_mask;
use super::utf8::Utf8Validator;
use super::Role;

/// Most a header announcing a large payload makes us reserve up front; the
/// buffer grows past it only as bytes actually arrive.
const MAX_PREALLOC: usize = 64 * 1024;

/// Gives an empty buffer with room for the given length, if it has one.
pub type TakeBuffer = fn(usize) -> Option<Vec<u8>>;

/// Limits applied while reading.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest message (sum of its fragments' payloads), bytes.
    pub max_message: u64,
    /// Largest single frame payload, bytes.
    pub max_frame: u64,
}

impl Default for Limits {
    /// tcllib's `WS(maxlength)`: 16 MiB.
    fn default() -> Self {
        Limits {
            max_message: 16 * 1024 * 1024,
            max_frame: 16 * 1024 * 1024,
        }
    }
}

/// Something the peer sent, complete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Incoming {
    /// A text message; its bytes are valid UTF-8.
    Text(Vec<u8>),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    /// A close frame: None for an empty payload, else code and reason.
    Close(Option<(u16, String)>),
}

/// A violation: the connection must be closed with the error's
/// [`code`](ReadError::code). After an error the reader yields nothing more.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadError {
    /// A frame or a sequence of frames RFC 6455 forbids: close code 1002.
    Protocol(String),
    /// Invalid UTF-8 in a text message or a close reason: 1007.
    InvalidUtf8(&'static str),
    /// A frame or a message over the limits: 1009.
    TooBig(String),
}

impl ReadError {
    /// The close code the connection fails with (RFC 6455 7.4.1).
    pub fn code(&self) -> u16 {
        match self {
            ReadError::Protocol(_) => 1002,
            ReadError::InvalidUtf8(_) => 1007,
            ReadError::TooBig(_) => 1009,
        }
    }
}

impl ReadError {
    /// What was wrong, in a few words.
    pub fn why(&self) -> &str {
        match self {
            ReadError::Protocol(w) | ReadError::TooBig(w) => w,
            ReadError::InvalidUtf8(w) => w,
        }
    }
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let why: &str = match self {
            ReadError::Protocol(w) | ReadError::TooBig(w) => w,
            ReadError::InvalidUtf8(w) => w,
        };
        write!(f, "{why} (close code {})", self.code())
    }
}

impl std::error::Error for ReadError {}

/// Incremental message reader for one connection.
///
/// Checks (all give ReadError): header errors (see frame::HeaderError) ->
/// 1002; continuation without a message started -> 1002; a new text/binary
/// frame while a fragmented message is open -> 1002; invalid UTF-8 in a text
/// message -> 1007, detected fragment by fragment (and within a frame as its
/// bytes arrive); a frame payload over max_frame or a message over
/// max_message -> 1009 as soon as the header announcing it arrives (never
/// buffered whole); a bad close payload -> 1002 / 1007 per close::CloseError.
/// Control frames may be interleaved within a fragmented message.
pub struct MessageReader {
    /// Frames from the peer must be masked (we are the server).
    expect_masked: bool,
    limits: Limits,
    /// A header cut by a chunk boundary (at most 14 bytes).
    hdr: [u8; 14],
    hdr_len: usize,
    /// The frame whose payload is being read, if any.
    frame: Option<Frame>,
    /// Type of the open (possibly fragmented) message.
    msg_kind: Option<MsgKind>,
    msg: Vec<u8>,
    /// Payload of the control frame being read; separate from `msg` since
    /// control frames may come between fragments.
    ctrl: Vec<u8>,
    utf8: Utf8Validator,
    error: Option<ReadError>,
    /// Where a large message may find an empty buffer already allocated
    /// (see [`MessageReader::recycling`]).
    recycled: Option<TakeBuffer>,
    /// permessage-deflate was negotiated (see [`MessageReader::inflating`]).
    deflate: Option<RxDeflate>,
}

/// The receiving half of permessage-deflate.
struct RxDeflate {
    /// The peer's window bits.
    window: u8,
    /// The peer resets its context after each message: ours is dropped
    /// between messages, so an idle connection holds none.
    reset: bool,
    /// Created at the first compressed frame.
    inflater: Option<Inflater>,
    /// The open message is compressed (RSV1 on its first frame).
    active: bool,
    /// One frame's compressed bytes, unmasked, before inflating.
    scratch: Vec<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MsgKind {
    Text,
    Binary,
}

#[derive(Clone, Copy, Debug)]
struct Frame {
    fin: bool,
    opcode: OpCode,
    mask: Option<[u8; 4]>,
    /// Payload bytes still to come.
    remaining: u64,
    /// Payload bytes seen so far (only its value mod 4 matters for masking).
    pos: usize,
}

impl MessageReader {
    pub fn new(role: Role, limits: Limits) -> Self {
        MessageReader {
            expect_masked: role == Role::Server,
            limits,
            hdr: [0; 14],
            hdr_len: 0,
            frame: None,
            msg_kind: None,
            msg: Vec::new(),
            ctrl: Vec::new(),
            utf8: Utf8Validator::new(),
            error: None,
            recycled: None,
            deflate: None,
        }
    }

    /// Messages with RSV1 set are inflated (permessage-deflate with the
    /// peer's `window` bits; `reset`: it takes no context over between
    /// messages). `max_message` bounds the inflated size.
    pub fn inflating(mut self, window: u8, reset: bool) -> Self {
        self.deflate = Some(RxDeflate {
            window,
            reset,
            inflater: None,
            active: false,
            scratch: Vec::new(),
        });
        self
    }

    /// A message whose first frame announces `len` bytes starts in
    /// `take(len)`'s buffer when it gives one (the caller's allocation
    /// strategy: memory that already exists, so it may be larger than
    /// what a header alone makes us reserve).
    pub fn recycling(mut self, take: TakeBuffer) -> Self {
        self.recycled = Some(take);
        self
    }

    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// Consumes `data` (any amount, any split point) and appends every
    /// complete item to `out`. On the first violation returns Err and
    /// consumes nothing further (subsequent calls return the same error).
    /// Payloads are unmasked in place as they arrive; a frame's payload is
    /// not copied more than once into the message buffer.
    pub fn feed(&mut self, data: &[u8], out: &mut Vec<Incoming>) -> Result<(), ReadError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let r = self.feed_inner(data, out);
        if let Err(e) = &r {
            self.error = Some(e.clone());
        }
        r
    }

    fn feed_inner(&mut self, mut data: &[u8], out: &mut Vec<Incoming>) -> Result<(), ReadError> {
        while !data.is_empty() {
            if self.frame.is_some() {
                data = self.read_payload(data, out)?;
            } else {
                data = self.read_header(data, out)?;
            }
        }
        Ok(())
    }

    /// Decodes a header from `data` (or completes a partial one), returns
    /// what is left of `data`.
    fn read_header<'a>(
        &mut self,
        data: &'a [u8],
        out: &mut Vec<Incoming>,
    ) -> Result<&'a [u8], ReadError> {
        if self.hdr_len == 0 {
            // Fast path: the whole header is in `data`, decode it in place.
            return match frame::decode_header(data, self.expect_masked, self.deflate.is_some()) {
                Ok(Some((h, n))) => {
                    self.start_frame(h, out)?;
                    Ok(&data[n..])
                }
                Ok(None) => {
                    // Shorter than the header it starts, so < 14 bytes.
                    self.hdr[..data.len()].copy_from_slice(data);
                    self.hdr_len = data.len();
                    Ok(&[])
                }
                Err(e) => Err(self.header_error(e)),
            };
        }
        let old = self.hdr_len;
        let take = (self.hdr.len() - old).min(data.len());
        self.hdr[old..old + take].copy_from_slice(&data[..take]);
        match frame::decode_header(
            &self.hdr[..old + take],
            self.expect_masked,
            self.deflate.is_some(),
        ) {
            Ok(Some((h, n))) => {
                self.hdr_len = 0;
                self.start_frame(h, out)?;
                Ok(&data[n - old..])
            }
            Ok(None) => {
                self.hdr_len = old + take;
                Ok(&data[take..])
            }
            Err(e) => Err(self.header_error(e)),
        }
    }

    fn header_error(&self, e: HeaderError) -> ReadError {
        let why = match e {
            HeaderError::BadMasking if self.expect_masked => {
                "unmasked frame from client".to_owned()
            }
            HeaderError::BadMasking => "masked frame from server".to_owned(),
            e => e.to_string(),
        };
        ReadError::Protocol(why)
    }

    /// Checks a new frame against the message state and the limits, before
    /// any of its payload is buffered.
    fn start_frame(&mut self, h: FrameHeader, out: &mut Vec<Incoming>) -> Result<(), ReadError> {
        if h.payload_len > self.limits.max_frame {
            return Err(ReadError::TooBig(format!(
                "frame of {} bytes over the {} limit",
                h.payload_len, self.limits.max_frame
            )));
        }
        // Bounded by max_frame or by 125 for control frames; but usize may
        // be 32 bits.
        let prealloc = usize::try_from(h.payload_len)
            .unwrap_or(usize::MAX)
            .min(MAX_PREALLOC);
        match h.opcode {
            OpCode::Close | OpCode::Ping | OpCode::Pong => {
                self.ctrl.clear();
                self.ctrl.reserve(prealloc);
            }
            OpCode::Continuation if self.msg_kind.is_none() => {
                return Err(ReadError::Protocol(
                    "continuation frame without a message".to_owned(),
                ));
            }
            OpCode::Text | OpCode::Binary if self.msg_kind.is_some() => {
                return Err(ReadError::Protocol(
                    "new message inside a fragmented one".to_owned(),
                ));
            }
            _ => {
                if matches!(h.opcode, OpCode::Text | OpCode::Binary) {
                    if let Some(d) = self.deflate.as_mut() {
                        d.active = h.rsv1;
                    }
                }
                let inflating = self.deflate.as_ref().is_some_and(|d| d.active);
                let total = (self.msg.len() as u64).saturating_add(h.payload_len);
                // A compressed message is held to the limit as it inflates.
                if !inflating && total > self.limits.max_message {
                    return Err(ReadError::TooBig(format!(
                        "message over the {} byte limit",
                        self.limits.max_message
                    )));
                }
                match h.opcode {
                    OpCode::Text => {
                        self.msg_kind = Some(MsgKind::Text);
                        self.utf8.reset();
                    }
                    OpCode::Binary => self.msg_kind = Some(MsgKind::Binary),
                    _ => {}
                }
                if self.msg.capacity() == 0 && !inflating {
                    let len = usize::try_from(h.payload_len).unwrap_or(usize::MAX);
                    if let Some(buf) = self.recycled.and_then(|take| take(len)) {
                        self.msg = buf;
                    }
                }
                if !inflating {
                    self.msg.reserve(prealloc);
                }
            }
        }
        self.frame = Some(Frame {
            fin: h.fin,
            opcode: h.opcode,
            mask: h.mask,
            remaining: h.payload_len,
            pos: 0,
        });
        if h.payload_len == 0 {
            self.end_frame(out)?;
        }
        Ok(())
    }

    /// Appends payload bytes from `data` to the right buffer and unmasks
    /// them there; returns what is left of `data`.
    fn read_payload<'a>(
        &mut self,
        data: &'a [u8],
        out: &mut Vec<Incoming>,
    ) -> Result<&'a [u8], ReadError> {
        let Some(f) = self.frame.as_mut() else {
            return Ok(data);
        };
        let n = usize::try_from(f.remaining).map_or(data.len(), |r| r.min(data.len()));
        let (chunk, rest) = data.split_at(n);
        let control = f.opcode.is_control();
        if !control {
            if let Some(d) = self.deflate.as_mut().filter(|d| d.active) {
                d.scratch.clear();
                d.scratch.extend_from_slice(chunk);
                if let Some(key) = f.mask {
                    apply_mask(&mut d.scratch, key, f.pos);
                }
                f.pos = f.pos.wrapping_add(n);
                f.remaining -= n as u64;
                let done = f.remaining == 0;
                let inflater = d.inflater.get_or_insert_with(|| Inflater::new(d.window));
                let start = self.msg.len();
                let r = inflater.inflate(&d.scratch, &mut self.msg, self.limits.max_message);
                self.check_inflated(r, start)?;
                if done {
                    self.end_frame(out)?;
                }
                return Ok(rest);
            }
        }
        let buf = if control {
            &mut self.ctrl
        } else {
            &mut self.msg
        };
        let start = buf.len();
        if buf.capacity() - start < n {
            // Grow geometrically, but never past what this frame announced.
            let frame_left = usize::try_from(f.remaining).unwrap_or(usize::MAX);
            buf.reserve_exact(n.max(frame_left.min(start.max(MAX_PREALLOC))));
        }
        buf.extend_from_slice(chunk);
        let fresh = &mut buf[start..];
        if let Some(key) = f.mask {
            apply_mask(fresh, key, f.pos);
        }
        f.pos = f.pos.wrapping_add(n);
        f.remaining -= n as u64;
        let done = f.remaining == 0;
        if !control && self.msg_kind == Some(MsgKind::Text) && self.utf8.feed(fresh).is_err() {
            return Err(ReadError::InvalidUtf8("invalid UTF-8 in text message"));
        }
        if done {
            self.end_frame(out)?;
        }
        Ok(rest)
    }

    /// Checks what inflating appended to the message from `start` on.
    fn check_inflated(
        &mut self,
        r: Result<(), InflateError>,
        start: usize,
    ) -> Result<(), ReadError> {
        // UTF-8 first: what was inflated before an error is the same
        // however the input was split, so the verdict is too.
        if self.msg_kind == Some(MsgKind::Text) && self.utf8.feed(&self.msg[start..]).is_err() {
            return Err(ReadError::InvalidUtf8("invalid UTF-8 in text message"));
        }
        match r {
            Err(InflateError::TooBig) => Err(ReadError::TooBig(format!(
                "message over the {} byte limit",
                self.limits.max_message
            ))),
            Err(InflateError::Corrupt) => {
                Err(ReadError::Protocol("invalid compressed data".to_owned()))
            }
            Ok(()) => Ok(()),
        }
    }

    /// The current frame's payload is complete.
    fn end_frame(&mut self, out: &mut Vec<Incoming>) -> Result<(), ReadError> {
        let Some(f) = self.frame.take() else {
            return Ok(());
        };
        match f.opcode {
            OpCode::Ping => out.push(Incoming::Ping(std::mem::take(&mut self.ctrl))),
            OpCode::Pong => out.push(Incoming::Pong(std::mem::take(&mut self.ctrl))),
            OpCode::Close => {
                let item = match close::parse_payload(&self.ctrl) {
                    Ok(ClosePayload::Empty) => Incoming::Close(None),
                    Ok(ClosePayload::Code(code, reason)) => Incoming::Close(Some((code, reason))),
                    Err(CloseError::Protocol) => {
                        return Err(ReadError::Protocol("bad close payload".to_owned()));
                    }
                    Err(CloseError::InvalidUtf8) => {
                        return Err(ReadError::InvalidUtf8("invalid UTF-8 in close reason"));
                    }
                };
                self.ctrl.clear();
                out.push(item);
            }
            _ if !f.fin => {}
            _ => {
                if let Some(d) = self.deflate.as_mut().filter(|d| d.active) {
                    d.active = false;
                    let inflater = d.inflater.get_or_insert_with(|| Inflater::new(d.window));
                    let start = self.msg.len();
                    let r = inflater.finish(&mut self.msg, self.limits.max_message);
                    if d.reset {
                        d.inflater = None;
                    }
                    d.scratch = Vec::new();
                    self.check_inflated(r, start)?;
                }
                let msg = std::mem::take(&mut self.msg);
                match self.msg_kind.take() {
                    Some(MsgKind::Text) => {
                        if self.utf8.finish().is_err() {
                            return Err(ReadError::InvalidUtf8(
                                "text message ends inside a UTF-8 sequence",
                            ));
                        }
                        out.push(Incoming::Text(msg));
                    }
                    Some(MsgKind::Binary) => out.push(Incoming::Binary(msg)),
                    None => {}
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::frame::encode_header;
    use proptest::prelude::*;

    const BIG: Limits = Limits {
        max_message: 1 << 30,
        max_frame: 1 << 30,
    };

    /// One frame as a peer in `role`'s counterpart would send it.
    fn frame(fin: bool, op: u8, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_header(&mut out, fin, op, mask, payload.len() as u64);
        let start = out.len();
        out.extend_from_slice(payload);
        if let Some(k) = mask {
            apply_mask(&mut out[start..], k, 0);
        }
        out
    }

    /// A frame from a client (masked), for a server-side reader.
    fn cf(fin: bool, op: u8, payload: &[u8]) -> Vec<u8> {
        frame(fin, op, Some([0x37, 0xFA, 0x21, 0x3D]), payload)
    }

    fn server() -> MessageReader {
        MessageReader::new(Role::Server, BIG)
    }

    fn feed_all(r: &mut MessageReader, data: &[u8]) -> (Vec<Incoming>, Result<(), ReadError>) {
        let mut out = Vec::new();
        let res = r.feed(data, &mut out);
        (out, res)
    }

    #[test]
    fn header_errors_in_words() {
        let why = |data: &[u8]| feed_all(&mut server(), data).1.unwrap_err().to_string();
        let mut rsv = cf(true, 1, b"x");
        rsv[0] |= 0x40;
        assert_eq!(why(&rsv), "reserved bits set (close code 1002)");
        assert_eq!(why(&cf(true, 3, b"")), "unknown opcode 3 (close code 1002)");
        assert_eq!(
            why(&cf(false, 9, b"")),
            "fragmented control frame (close code 1002)"
        );
        assert_eq!(
            why(&frame(true, 1, None, b"x")),
            "unmasked frame from client (close code 1002)"
        );
    }

    fn err_code(data: &[u8]) -> u16 {
        let mut r = server();
        let (_, res) = feed_all(&mut r, data);
        res.unwrap_err().code()
    }

    /// Feeds `data` in chunks of the given sizes (cycled).
    fn feed_chunked(
        role: Role,
        data: &[u8],
        sizes: &[usize],
    ) -> (Vec<Incoming>, Result<(), ReadError>) {
        let mut r = MessageReader::new(role, BIG);
        let mut out = Vec::new();
        let mut pos = 0;
        for &n in sizes.iter().cycle() {
            if pos >= data.len() {
                break;
            }
            let end = (pos + n.max(1)).min(data.len());
            if let Err(e) = r.feed(&data[pos..end], &mut out) {
                return (out, Err(e));
            }
            pos = end;
        }
        (out, Ok(()))
    }

    /// A mixed stream: every frame type, every length encoding,
    /// fragmentation with interleaved control frames, UTF-8 cut across
    /// fragments.
    fn sample_stream(big_len: u32) -> (Vec<u8>, Vec<Incoming>) {
        let big: Vec<u8> = (0..big_len).map(|i| (i * 31) as u8).collect();
        let mid = "ß€𝄞".repeat(20);
        let mut s = Vec::new();
        s.extend(cf(true, 1, b"Hello"));
        s.extend(cf(true, 2, &big[..300]));
        s.extend(cf(false, 1, &"κόσμε".as_bytes()[..3]));
        s.extend(cf(true, 9, b"ping!"));
        s.extend(cf(false, 0, &"κόσμε".as_bytes()[3..7]));
        s.extend(cf(true, 10, b""));
        s.extend(cf(false, 0, b""));
        s.extend(cf(true, 0, &"κόσμε".as_bytes()[7..]));
        s.extend(cf(true, 2, &big));
        s.extend(cf(true, 1, b""));
        s.extend(cf(true, 1, mid.as_bytes()));
        s.extend(cf(false, 2, &big[..1]));
        s.extend(cf(true, 0, &big[1..200]));
        s.extend(cf(true, 8, b"\x03\xE8bye"));
        s.extend(cf(true, 8, b""));
        let want = vec![
            Incoming::Text(b"Hello".to_vec()),
            Incoming::Binary(big[..300].to_vec()),
            Incoming::Ping(b"ping!".to_vec()),
            Incoming::Pong(vec![]),
            Incoming::Text("κόσμε".as_bytes().to_vec()),
            Incoming::Binary(big.clone()),
            Incoming::Text(vec![]),
            Incoming::Text(mid.into_bytes()),
            Incoming::Binary(big[..200].to_vec()),
            Incoming::Close(Some((1000, "bye".into()))),
            Incoming::Close(None),
        ];
        (s, want)
    }

    #[test]
    fn whole_stream() {
        let (s, want) = sample_stream(70_000);
        let mut r = server();
        assert_eq!(feed_all(&mut r, &s), (want, Ok(())));
    }

    #[test]
    fn one_byte_at_a_time() {
        let (s, want) = sample_stream(70_000);
        assert_eq!(feed_chunked(Role::Server, &s, &[1]), (want, Ok(())));
    }

    #[test]
    fn every_split_point() {
        // Smaller binary payloads so that every cut (and a second cut after
        // it) can be tried; 64-bit lengths are cut at every point below.
        let (s, want) = sample_stream(400);
        for i in 0..=s.len() {
            let j = (i + 1 + i * 7 % 23).min(s.len());
            let mut r = server();
            let mut out = Vec::new();
            r.feed(&s[..i], &mut out).unwrap();
            r.feed(&s[i..j], &mut out).unwrap();
            r.feed(&s[j..], &mut out).unwrap();
            assert_eq!(out, want, "cut at {i},{j}");
        }
        let (s, want) = sample_stream(70_000);
        let f = cf(true, 2, &[3; 70_000]);
        for i in 0..=20 {
            let mut r = server();
            let mut out = Vec::new();
            r.feed(&f[..i], &mut out).unwrap();
            r.feed(&f[i..], &mut out).unwrap();
            assert_eq!(out, [Incoming::Binary(vec![3; 70_000])]);
        }
        let mut r = server();
        assert_eq!(feed_all(&mut r, &s), (want, Ok(())));
    }

    #[test]
    fn random_chunks() {
        let (s, want) = sample_stream(70_000);
        let mut seed: u64 = 12345;
        for _ in 0..50 {
            let sizes: Vec<usize> = (0..37)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let r = (seed >> 33) as usize;
                    if r.is_multiple_of(5) {
                        r % 5000
                    } else {
                        r % 20
                    }
                })
                .collect();
            assert_eq!(
                feed_chunked(Role::Server, &s, &sizes),
                (want.clone(), Ok(()))
            );
        }
    }

    #[test]
    fn client_side_reads_unmasked() {
        let mut r = MessageReader::new(Role::Client, BIG);
        let mut s = frame(true, 1, None, b"hi");
        s.extend(frame(true, 2, None, &[0; 200]));
        assert_eq!(
            feed_all(&mut r, &s),
            (
                vec![
                    Incoming::Text(b"hi".to_vec()),
                    Incoming::Binary(vec![0; 200])
                ],
                Ok(())
            )
        );
        let mut r = MessageReader::new(Role::Client, BIG);
        let (out, res) = feed_all(&mut r, &cf(true, 1, b"x"));
        assert!(out.is_empty());
        assert_eq!(res.unwrap_err().code(), 1002);
        // And a server refuses unmasked frames.
        assert_eq!(err_code(&frame(true, 1, None, b"x")), 1002);
    }

    #[test]
    fn header_errors_are_1002() {
        let cases: Vec<Vec<u8>> = vec![
            vec![0xC1, 0x80, 0, 0, 0, 0],                   // RSV1
            vec![0xA1, 0x80, 0, 0, 0, 0],                   // RSV2
            vec![0x91, 0x80, 0, 0, 0, 0],                   // RSV3
            vec![0x83, 0x80, 0, 0, 0, 0],                   // opcode 3
            vec![0x8B, 0x80, 0, 0, 0, 0],                   // opcode 11
            vec![0x09, 0x80, 0, 0, 0, 0],                   // fragmented ping
            vec![0x89, 0xFE, 0, 126],                       // long ping
            vec![0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0],    // 64-bit MSB
            vec![0x82, 0x05, b'a', b'b', b'c', b'd', b'e'], // unmasked
        ];
        for c in cases {
            assert_eq!(err_code(&c), 1002, "{c:02X?}");
            assert_eq!(
                feed_chunked(Role::Server, &c, &[1]).1.unwrap_err().code(),
                1002
            );
        }
    }

    #[test]
    fn continuation_and_interleaving_errors() {
        assert_eq!(err_code(&cf(true, 0, b"x")), 1002);
        assert_eq!(err_code(&cf(false, 0, b"x")), 1002);
        let mut s = cf(false, 1, b"a");
        s.extend(cf(true, 1, b"b"));
        assert_eq!(err_code(&s), 1002);
        let mut s = cf(false, 2, b"a");
        s.extend(cf(true, 2, b"b"));
        assert_eq!(err_code(&s), 1002);
        let mut s = cf(false, 1, b"a");
        s.extend(cf(true, 2, b"b"));
        assert_eq!(err_code(&s), 1002);
        // A finished message does not leave a continuation open.
        let mut s = cf(true, 1, b"a");
        s.extend(cf(true, 0, b"b"));
        let mut r = server();
        let (out, res) = feed_all(&mut r, &s);
        assert_eq!(out, [Incoming::Text(b"a".to_vec())]);
        assert_eq!(res.unwrap_err().code(), 1002);
    }

    #[test]
    fn utf8_errors_fail_fast() {
        // A bad byte in the first fragment fails before the frame ends.
        let f = cf(false, 1, b"ok\xFFmore bytes to come");
        let mut r = server();
        let mut out = Vec::new();
        r.feed(&f[..6 + 2], &mut out).unwrap();
        let e = r.feed(&f[8..9], &mut out).unwrap_err();
        assert_eq!(e.code(), 1007);
        // A surrogate prefix cut at the frame end fails at once.
        let mut r = server();
        assert_eq!(
            feed_all(&mut r, &cf(false, 1, b"a\xED\xA0"))
                .1
                .unwrap_err()
                .code(),
            1007
        );
        // Bad continuation across fragments.
        let mut s = cf(false, 1, b"\xE2\x82");
        s.extend(cf(true, 0, b"A"));
        assert_eq!(err_code(&s), 1007);
        // Message ending inside a sequence.
        assert_eq!(err_code(&cf(true, 1, b"\xE2\x82")), 1007);
        let mut s = cf(false, 1, b"\xE2\x82");
        s.extend(cf(true, 0, b""));
        assert_eq!(err_code(&s), 1007);
        // A sequence completed across fragments (with a ping between) is fine.
        let mut s = cf(false, 1, b"\xE2");
        s.extend(cf(true, 9, b""));
        s.extend(cf(true, 0, b"\x82\xAC"));
        let mut r = server();
        assert_eq!(
            feed_all(&mut r, &s),
            (
                vec![
                    Incoming::Ping(vec![]),
                    Incoming::Text("€".as_bytes().to_vec())
                ],
                Ok(())
            )
        );
        // Binary messages are not checked.
        let mut r = server();
        assert_eq!(
            feed_all(&mut r, &cf(true, 2, b"\xFF")).0,
            [Incoming::Binary(vec![0xFF])]
        );
    }

    #[test]
    fn size_limits_from_header() {
        let lim = Limits {
            max_message: 100,
            max_frame: 60,
        };
        // Frame over max_frame: refused from the header alone.
        let mut r = MessageReader::new(Role::Server, lim);
        let f = cf(true, 2, &[0; 61]);
        let e = feed_all(&mut r, &f[..8]).1.unwrap_err();
        assert_eq!(e.code(), 1009);
        assert!(r.msg.capacity() == 0);
        // Exactly at the limits is fine.
        let mut r = MessageReader::new(Role::Server, lim);
        let mut s = cf(false, 2, &[1; 60]);
        s.extend(cf(true, 0, &[2; 40]));
        let (out, res) = feed_all(&mut r, &s);
        res.unwrap();
        assert_eq!(out.len(), 1);
        // Message over max_message: refused at the second fragment's header.
        let mut r = MessageReader::new(Role::Server, lim);
        let mut s = cf(false, 2, &[1; 60]);
        s.extend(cf(true, 0, &[2; 41]));
        let cut = s.len() - 41;
        let mut out = Vec::new();
        assert_eq!(r.feed(&s[..cut], &mut out).unwrap_err().code(), 1009);
        // Control frames are held to max_frame too.
        let mut r = MessageReader::new(Role::Server, lim);
        assert_eq!(
            feed_all(&mut r, &cf(true, 9, &[0; 61]))
                .1
                .unwrap_err()
                .code(),
            1009
        );
        // set_limits applies to the next header.
        let mut r = MessageReader::new(Role::Server, lim);
        r.set_limits(BIG);
        assert!(feed_all(&mut r, &cf(true, 2, &[0; 1000])).1.is_ok());
        r.set_limits(lim);
        assert_eq!(
            feed_all(&mut r, &cf(true, 2, &[0; 61]))
                .1
                .unwrap_err()
                .code(),
            1009
        );
        // Huge 64-bit lengths.
        let lim = Limits::default();
        let mut r = MessageReader::new(Role::Server, lim);
        let mut h = Vec::new();
        encode_header(&mut h, true, 2, Some([1, 2, 3, 4]), (1 << 63) - 1);
        assert_eq!(feed_all(&mut r, &h).1.unwrap_err().code(), 1009);
    }

    #[test]
    fn no_preallocation_of_announced_length() {
        let mut r = MessageReader::new(Role::Server, Limits::default());
        let mut h = Vec::new();
        encode_header(&mut h, true, 2, Some([1, 2, 3, 4]), 16 * 1024 * 1024);
        let (out, res) = feed_all(&mut r, &h);
        assert!(out.is_empty() && res.is_ok());
        assert!(r.msg.capacity() <= MAX_PREALLOC, "{}", r.msg.capacity());
        // Growth as bytes arrive never overshoots the frame.
        let payload: Vec<u8> = (0..16 * 1024 * 1024u32).map(|i| i as u8).collect();
        let mut masked = payload.clone();
        apply_mask(&mut masked, [1, 2, 3, 4], 0);
        let mut out = Vec::new();
        for c in masked.chunks(100_000) {
            r.feed(c, &mut out).unwrap();
            assert!(r.msg.capacity() <= payload.len());
        }
        assert_eq!(out, [Incoming::Binary(payload)]);
    }

    #[test]
    fn close_payloads() {
        let mut r = server();
        assert_eq!(
            feed_all(&mut r, &cf(true, 8, b"")).0,
            [Incoming::Close(None)]
        );
        let mut r = server();
        assert_eq!(
            feed_all(&mut r, &cf(true, 8, b"\x0F\xA0h\xC3\xA9")).0,
            [Incoming::Close(Some((4000, "hé".into())))]
        );
        assert_eq!(err_code(&cf(true, 8, b"\x03")), 1002);
        for code in [0u16, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000] {
            assert_eq!(err_code(&cf(true, 8, &code.to_be_bytes())), 1002, "{code}");
        }
        assert_eq!(err_code(&cf(true, 8, b"\x03\xE8\xCE\xBA\xE1\xBD")), 1007);
        // A close may come in the middle of a fragmented message.
        let mut s = cf(false, 1, b"a");
        s.extend(cf(true, 8, b"\x03\xE9"));
        let mut r = server();
        assert_eq!(
            feed_all(&mut r, &s),
            (vec![Incoming::Close(Some((1001, String::new())))], Ok(()))
        );
    }

    #[test]
    fn errors_are_sticky() {
        let mut r = server();
        let mut s = cf(true, 1, b"fine");
        s.extend(cf(true, 1, b"\xC0\xAF"));
        s.extend(cf(true, 1, b"after"));
        let (out, res) = feed_all(&mut r, &s);
        assert_eq!(out, [Incoming::Text(b"fine".to_vec())]);
        let e = res.unwrap_err();
        assert_eq!(e.code(), 1007);
        for _ in 0..3 {
            let (out, res) = feed_all(&mut r, &cf(true, 1, b"ok"));
            assert!(out.is_empty());
            assert_eq!(res, Err(e.clone()));
        }
        assert_eq!(feed_all(&mut r, b""), (vec![], Err(e)));
    }

    #[test]
    fn empty_feeds_and_partial_headers() {
        let mut r = server();
        let f = cf(true, 2, &[7; 300]);
        let mut out = Vec::new();
        for i in 0..f.len() {
            r.feed(&[], &mut out).unwrap();
            r.feed(&f[i..i + 1], &mut out).unwrap();
        }
        assert_eq!(out, [Incoming::Binary(vec![7; 300])]);
    }

    // ---- property test: random message sequences round-trip ----

    #[derive(Clone, Debug)]
    enum Msg {
        Text(String),
        Binary(Vec<u8>),
        Ping(Vec<u8>),
    }

    fn msg_strategy() -> impl Strategy<Value = Msg> {
        prop_oneof![
            any::<String>().prop_map(Msg::Text),
            prop::collection::vec(any::<u8>(), 0..300).prop_map(Msg::Binary),
            prop::collection::vec(any::<u8>(), 0..=125).prop_map(Msg::Ping),
            // occasionally something needing a 16-bit length
            (0usize..70_000).prop_map(|n| Msg::Binary(vec![0xA5; n])),
        ]
    }

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            self.0 >> 17
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    /// Encodes `msgs` (fragmenting data messages at random points, with
    /// pings between fragments) and returns the stream and what a reader
    /// must produce.
    fn encode_stream(msgs: &[Msg], masked: bool, rng: &mut Rng) -> (Vec<u8>, Vec<Incoming>) {
        let mut s = Vec::new();
        let mut want = Vec::new();
        let put = |s: &mut Vec<u8>, fin: bool, op: u8, p: &[u8], rng: &mut Rng| {
            let key = masked.then(|| (rng.next() as u32).to_ne_bytes());
            s.extend(frame(fin, op, key, p));
        };
        for m in msgs {
            let (op, bytes) = match m {
                Msg::Ping(p) => {
                    put(&mut s, true, 9, p, rng);
                    want.push(Incoming::Ping(p.clone()));
                    continue;
                }
                Msg::Text(t) => (1, t.as_bytes().to_vec()),
                Msg::Binary(b) => (2, b.clone()),
            };
            let nfrag = 1 + rng.below(4);
            let mut cuts: Vec<usize> = (1..nfrag).map(|_| rng.below(bytes.len() + 1)).collect();
            cuts.sort_unstable();
            cuts.push(bytes.len());
            let mut prev = 0;
            let mut pings = Vec::new();
            for (i, &c) in cuts.iter().enumerate() {
                let fin = i + 1 == cuts.len();
                put(
                    &mut s,
                    fin,
                    if i == 0 { op } else { 0 },
                    &bytes[prev..c],
                    rng,
                );
                prev = c;
                if !fin && rng.below(3) == 0 {
                    let p = vec![i as u8; rng.below(126)];
                    if rng.below(2) == 0 {
                        put(&mut s, true, 9, &p, rng);
                        pings.push(Incoming::Ping(p));
                    } else {
                        put(&mut s, true, 10, &p, rng);
                        pings.push(Incoming::Pong(p));
                    }
                }
            }
            // Interleaved control frames come out before the message.
            want.extend(pings);
            want.push(if op == 1 {
                Incoming::Text(bytes)
            } else {
                Incoming::Binary(bytes)
            });
        }
        (s, want)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn round_trip(
            msgs in prop::collection::vec(msg_strategy(), 0..12),
            server_side in any::<bool>(),
            seed in any::<u64>(),
            sizes in prop::collection::vec(1usize..3000, 1..8),
        ) {
            let mut rng = Rng(seed);
            let (stream, want) = encode_stream(&msgs, server_side, &mut rng);
            let role = if server_side { Role::Server } else { Role::Client };
            let (out, res) = feed_chunked(role, &stream, &sizes);
            prop_assert!(res.is_ok(), "{:?}", res);
            prop_assert_eq!(out, want.clone());
            let small: Vec<usize> = sizes.iter().map(|s| s % 7 + 1).collect();
            let (out, res) = feed_chunked(role, &stream, &small);
            prop_assert!(res.is_ok());
            prop_assert_eq!(out, want);
        }
    }
}
