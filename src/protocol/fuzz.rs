//! Fuzzing the protocol core on stable Rust: every parser gets arbitrary
//! and mutated input, split at random points, and must neither panic nor
//! disagree with itself or with std. `make test` runs a short pass;
//! `make fuzz FUZZ_SECONDS=N` runs the time-bounded loop for N seconds.
//! Anything found becomes a case in `regressions`.

use super::close::{self, ClosePayload};
use super::deflate::{self, Deflater};
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
    read_all_with(data, role, None, rng)
}

/// `inflate`: permessage-deflate with these window bits and reset flag.
fn read_all_with(
    data: &[u8],
    role: Role,
    inflate: Option<(u8, bool)>,
    rng: &mut Rng,
) -> (Vec<Incoming>, Option<ReadError>) {
    let limits = Limits {
        max_message: 100_000,
        max_frame: 70_000,
    };
    let mut reader = MessageReader::new(role, limits);
    if let Some((window, reset)) = inflate {
        reader = reader.inflating(window, reset);
    }
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
            matches!(e.code(), 1002 | 1007 | 1009),
            "unexpected close code {}",
            e.code()
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
                &deflate::Config {
                    enabled: true,
                    ..Default::default()
                },
            );
        }
    }
    let _ = client_handshake::parse_url(&pick(rng), rng.below(2) == 0);
}

/// Compressed messages (permessage-deflate), some fragmented, some sent
/// plain, then maybe damaged: the outcome must not depend on the split,
/// undamaged streams give back the messages, and the inflated size never
/// passes the limit.
fn check_deflate(rng: &mut Rng) {
    let role = if rng.below(2) == 0 {
        Role::Server
    } else {
        Role::Client
    };
    let window = 9 + rng.below(7) as u8;
    let reset = rng.below(2) == 0;
    let mut z = Deflater::new(rng.below(10) as u32, window);
    let mut out = Vec::new();
    let mut want = Vec::new();
    for _ in 0..1 + rng.below(5) {
        let text = rng.below(2) == 0;
        let len = [0, 1, 100, 3000, 150_000][rng.below(5)];
        let msg: Vec<u8> = if text {
            "{\"key\": \"héllo 中文 😀\"} "
                .repeat(1 + len / 20)
                .into_bytes()[..len]
                .to_vec()
        } else {
            (0..len)
                .map(|i| (i / 7) as u8 ^ rng.below(2) as u8)
                .collect()
        };
        let text = text && std::str::from_utf8(&msg).is_ok();
        let compressed = rng.below(4) != 0;
        let nfrag = 1 + rng.below(3);
        let mut cuts: Vec<usize> = (1..nfrag).map(|_| rng.below(msg.len() + 1)).collect();
        cuts.sort_unstable();
        cuts.push(msg.len());
        let mut prev = 0;
        for (i, &c) in cuts.iter().enumerate() {
            let fin = i + 1 == cuts.len();
            let mut payload = Vec::new();
            if compressed {
                z.compress(&msg[prev..c], fin, &mut payload);
            } else {
                payload.extend_from_slice(&msg[prev..c]);
            }
            prev = c;
            let op = match (i, text) {
                (0, true) => 1u8,
                (0, false) => 2,
                _ => 0,
            };
            let rsv1 = if i == 0 && compressed { 0x40 } else { 0 };
            let mask = (role == Role::Server).then(|| (rng.next() as u32).to_be_bytes());
            let at = out.len();
            encode_header(&mut out, fin, op, mask, payload.len() as u64);
            out[at] |= rsv1;
            if let Some(key) = mask {
                apply_mask(&mut payload, key, 0);
            }
            out.extend_from_slice(&payload);
        }
        if compressed && reset {
            z.reset();
        }
        want.push(if text {
            Incoming::Text(msg)
        } else {
            Incoming::Binary(msg)
        });
    }
    let damaged = rng.below(3) == 0;
    if damaged {
        for _ in 0..1 + rng.below(3) {
            let i = rng.below(out.len());
            out[i] = rng.next() as u8;
        }
    }
    let inflate = Some((window, reset));
    let whole = read_all_with(&out, role, inflate, &mut Rng(1));
    let split = read_all_with(&out, role, inflate, rng);
    if whole != split {
        let brief = |r: &(Vec<Incoming>, Option<ReadError>)| (r.0.len(), r.1.clone());
        panic!(
            "the split changed the outcome: {:?} vs {:?}",
            brief(&whole),
            brief(&split)
        );
    }
    for item in &whole.0 {
        match item {
            Incoming::Text(t) => assert!(std::str::from_utf8(t).is_ok() && t.len() <= 100_000),
            Incoming::Binary(b) => assert!(b.len() <= 100_000),
            _ => {}
        }
    }
    if !damaged {
        let n = whole.0.len();
        assert!(whole.0[..] == want[..n], "inflated messages differ");
        match &whole.1 {
            None => assert_eq!(n, want.len()),
            // Only the 150 000-byte messages pass the limits.
            Some(e) => assert_eq!(e.code(), 1009, "{e:?}"),
        }
    } else if let Some(e) = whole.1 {
        assert!(matches!(e.code(), 1002 | 1007 | 1009), "code {}", e.code());
    }
}

/// Our offer, a server's answer to it, and our check of that answer must
/// agree for every setting; arbitrary header values must not panic.
fn check_negotiation(rng: &mut Rng) {
    let cfg = |rng: &mut Rng| deflate::Config {
        enabled: rng.below(5) != 0,
        level: rng.below(10) as u32,
        window: 8 + rng.below(9) as u8,
        min_size: 0,
        takeover: rng.below(2) == 0,
    };
    let (client, server) = (cfg(rng), cfg(rng));
    if let Some(offer) = deflate::offer(&client) {
        if let Some(s) = deflate::accept(&server, &[&offer]) {
            let c = deflate::check_answer(&client, &[&s.answer])
                .unwrap_or_else(|e| panic!("{offer} -> {}: {e}", s.answer))
                .expect("an answer");
            assert!(c.tx_window <= s.rx_window && s.tx_window <= c.rx_window);
            assert!(!s.rx_reset || c.tx_reset);
            assert!(!c.rx_reset || s.tx_reset);
        }
    }
    let words = [
        "permessage-deflate",
        "server_no_context_takeover",
        "client_no_context_takeover",
        "server_max_window_bits",
        "client_max_window_bits",
        "=",
        "8",
        "15",
        "\"9\"",
        ";",
        ",",
        " ",
    ];
    let v: String = (0..rng.below(12))
        .map(|_| words[rng.below(words.len())])
        .collect();
    if let Some(a) = deflate::accept(&server, &[&v]) {
        assert!((8..=15).contains(&a.tx_window) && (8..=15).contains(&a.rx_window));
        assert!(deflate::check_answer(
            &deflate::Config {
                enabled: true,
                window: 15,
                ..client
            },
            &[&a.answer]
        )
        .is_ok());
    }
    let _ = deflate::check_answer(&client, &[&v]);
}

/// One round of every check.
fn round(rng: &mut Rng) {
    check_reader(rng);
    check_deflate(rng);
    check_negotiation(rng);
    check_utf8(rng);
    check_close(rng);
    check_handshakes(rng);
}

#[test]
fn fuzz_short_pass() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..1500 {
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
