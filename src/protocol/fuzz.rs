//! Fuzzing the protocol core on stable Rust: every parser gets arbitrary
//! and mutated input, split at random points, and must neither panic nor
//! disagree with itself or with std. `make test` runs a short pass;
//! `make fuzz FUZZ_SECONDS=N` runs the time-bounded loop for N seconds.
//! Anything found becomes a case in `regressions`.

use super::close::{self, ClosePayload};
use super::frame::encode_header;
use super::mask::apply_mask;
use super::message::{Incoming, Limits, MessageReader, ReadError};
use super::utf8::Utf8Validator;
use super::{client_handshake, handshake, Role};

/// xorshift64*: deterministic, seedable, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn some_bytes(&mut self, max: usize) -> Vec<u8> {
        let n = self.below(max);
        self.bytes(n)
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// A stream of frames that is mostly well formed (so the reader goes deep),
/// then damaged in a few random places.
fn frame_stream(rng: &mut Rng, role: Role) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..1 + rng.below(6) {
        let opcode = [0u8, 1, 2, 8, 9, 10, 3, 11][rng.below(8)];
        let len = [0, 1, 2, 125, 126, 200, 65536][rng.below(7)];
        let mut payload = if opcode == 1 && rng.below(2) == 0 {
            "héllo wörld 中文 😀".repeat(1 + len / 20).into_bytes()
        } else {
            rng.bytes(len)
        };
        payload.truncate(len);
        let mask = (role == Role::Server).then(|| {
            let k = rng.next() as u32;
            k.to_be_bytes()
        });
        encode_header(
            &mut out,
            rng.below(3) != 0,
            opcode,
            mask,
            payload.len() as u64,
        );
        if let Some(key) = mask {
            apply_mask(&mut payload, key, 0);
        }
        out.extend_from_slice(&payload);
    }
    for _ in 0..rng.below(4) {
        if !out.is_empty() {
            let i = rng.below(out.len());
            out[i] = rng.next() as u8;
        }
    }
    out
}

/// Feeds `data` in random pieces; the result must not depend on the split.
fn read_all(data: &[u8], role: Role, rng: &mut Rng) -> (Vec<Incoming>, Option<ReadError>) {
    let limits = Limits {
        max_message: 100_000,
        max_frame: 70_000,
    };
    let mut reader = MessageReader::new(role, limits);
    let mut items = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let n = 1 + rng.below(rest.len().min(4096));
        let (piece, tail) = rest.split_at(n);
        if let Err(e) = reader.feed(piece, &mut items) {
            // Sticky: nothing more is accepted.
            assert_eq!(reader.feed(b"\x81\x00", &mut Vec::new()), Err(e.clone()));
            return (items, Some(e));
        }
        rest = tail;
    }
    (items, None)
}

fn check_reader(rng: &mut Rng) {
    let role = if rng.below(2) == 0 {
        Role::Server
    } else {
        Role::Client
    };
    let data = if rng.below(4) == 0 {
        rng.some_bytes(300)
    } else {
        frame_stream(rng, role)
    };
    let whole = read_all(&data, role, &mut Rng(1));
    let split = read_all(&data, role, rng);
    assert_eq!(whole, split, "the split changed the outcome");
    for item in &whole.0 {
        match item {
            Incoming::Text(t) => assert!(std::str::from_utf8(t).is_ok()),
            Incoming::Ping(p) | Incoming::Pong(p) => assert!(p.len() <= 125),
            Incoming::Close(Some((code, _))) => assert!(close::is_valid_code(*code)),
            _ => {}
        }
    }
    if let Some(e) = whole.1 {
        assert!(
            matches!(e.code, 1002 | 1007 | 1009),
            "unexpected close code {}",
            e.code
        );
    }
}

fn check_utf8(rng: &mut Rng) {
    let mut data = if rng.below(2) == 0 {
        "aé中😀\u{10FFFF}".repeat(1 + rng.below(4)).into_bytes()
    } else {
        rng.some_bytes(64)
    };
    for _ in 0..rng.below(3) {
        if !data.is_empty() {
            let i = rng.below(data.len());
            data[i] = rng.next() as u8;
        }
    }
    let mut v = Utf8Validator::new();
    let mut ok = true;
    let mut rest = &data[..];
    while !rest.is_empty() && ok {
        let (piece, tail) = rest.split_at(1 + rng.below(rest.len()));
        ok = v.feed(piece).is_ok();
        rest = tail;
    }
    let ok = ok && v.finish().is_ok();
    assert_eq!(
        ok,
        std::str::from_utf8(&data).is_ok(),
        "validator disagrees with std on {data:02x?}"
    );
}

fn check_close(rng: &mut Rng) {
    let data = rng.some_bytes(130);
    if let Ok(ClosePayload::Code(code, _reason)) = close::parse_payload(&data) {
        assert!(close::is_valid_code(code));
    }
    let reason = String::from_utf8_lossy(&rng.some_bytes(200)).into_owned();
    let payload = close::encode_payload(3000 + rng.below(1000) as u16, &reason);
    assert!(payload.len() <= 125);
    assert!(
        close::parse_payload(&payload).is_ok(),
        "our own close payload must parse"
    );
}

fn check_handshakes(rng: &mut Rng) {
    let words = [
        "Connection",
        "Upgrade",
        "Sec-WebSocket-Key",
        "Sec-WebSocket-Version",
        "Sec-WebSocket-Protocol",
        "upgrade",
        "websocket",
        "13",
        "dGhlIHNhbXBsZSBub25jZQ==",
        ",",
        " ",
    ];
    let pick = |rng: &mut Rng| -> String {
        (0..rng.below(4))
            .map(|_| {
                if rng.below(3) == 0 {
                    String::from_utf8_lossy(&rng.some_bytes(8)).into_owned()
                } else {
                    words[rng.below(words.len())].to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(if rng.below(2) == 0 { "," } else { " " })
    };
    let mut headers = Vec::new();
    for _ in 0..rng.below(8) {
        let k = pick(rng);
        let v = pick(rng);
        headers.push((k, v));
    }
    if let Ok(v) = handshake::validate(&headers) {
        assert_eq!(v.version, "13");
        assert_eq!(v.key.len(), 24);
    }
    let mut answer = b"HTTP/1.1 101 Switching Protocols\r\n".to_vec();
    for (k, v) in &headers {
        answer.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    answer.extend_from_slice(b"\r\n");
    let cut = rng.below(answer.len() + 1);
    let mut damaged = answer[..cut].to_vec();
    damaged.extend(rng.some_bytes(16));
    for buf in [&answer, &damaged] {
        if let client_handshake::Head::Complete(head, _) = client_handshake::parse_head(buf) {
            let _ = client_handshake::check_response(
                &head,
                "dGhlIHNhbXBsZSBub25jZQ==",
                &["chat".into()],
            );
        }
    }
    let _ = client_handshake::parse_url(&pick(rng), rng.below(2) == 0);
}

/// One round of every check.
fn round(rng: &mut Rng) {
    check_reader(rng);
    check_utf8(rng);
    check_close(rng);
    check_handshakes(rng);
}

#[test]
fn fuzz_short_pass() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..3000 {
        round(&mut rng);
    }
}

/// `make fuzz`: FUZZ_SECONDS of rounds from a fresh seed (printed, so a
/// failure can be replayed with FUZZ_SEED).
#[test]
fn fuzz_for_duration() {
    let secs: u64 = std::env::var("FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    if secs == 0 {
        return;
    }
    let seed = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("fuzzing for {secs} s, FUZZ_SEED={seed}");
    let mut rng = Rng(seed);
    let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    let mut rounds = 0u64;
    while std::time::Instant::now() < end {
        round(&mut rng);
        rounds += 1;
    }
    eprintln!("{rounds} rounds, no finding");
}
