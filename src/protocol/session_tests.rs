//! The session driven without sockets, on a fake clock: `t(s)` is `s`
//! seconds after the start.

use super::*;

const CLOSE_TIMEOUT: u64 = 5;

fn t0() -> Instant {
    // Any fixed instant does; the session never reads the clock itself.
    thread_local!(static T0: Instant = Instant::now());
    T0.with(|t| *t)
}

fn t(secs: u64) -> Instant {
    t0() + Duration::from_secs(secs)
}

fn settings() -> Settings {
    Settings {
        keepalive: Duration::ZERO,
        ping: Vec::new(),
        close_timeout: Duration::from_secs(CLOSE_TIMEOUT),
        dead_timeout: Duration::ZERO,
        limits: Limits::default(),
        max_queued: 1000,
    }
}

fn other(role: Role) -> Role {
    match role {
        Role::Server => Role::Client,
        Role::Client => Role::Server,
    }
}

/// A session, the events it gave, and a reader of what it wrote.
struct Harness {
    s: Session,
    role: Role,
    events: Vec<Event>,
    wire: MessageReader,
}

impl Harness {
    fn new(role: Role, settings: Settings) -> Harness {
        let reader = MessageReader::new(role, settings.limits);
        Harness {
            s: Session::new(role, reader, settings, t(0)),
            role,
            events: Vec::new(),
            wire: MessageReader::new(other(role), Limits::default()),
        }
    }

    fn server() -> Harness {
        Harness::new(Role::Server, settings())
    }

    /// The peer sends one frame at `now`.
    fn peer(&mut self, opcode: u8, payload: &[u8], now: Instant) {
        let f = build_frame(other(self.role), true, opcode, payload);
        self.s.receive(&f, now, &mut self.events);
    }

    /// The peer sends a close frame.
    fn peer_close(&mut self, code: u16, reason: &str, now: Instant) {
        self.peer(OP_CLOSE, &close::encode_payload(code, reason), now);
    }

    /// What the session wrote since the last call, as the peer reads it.
    fn written(&mut self) -> Vec<Incoming> {
        let mut out = Vec::new();
        for f in self.s.take_frames().collect::<Vec<_>>() {
            self.wire
                .feed(&f, &mut out)
                .expect("the session wrote a bad frame");
        }
        out
    }

    fn events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    fn timeout(&mut self, now: Instant) {
        self.s.on_timeout(now, &mut self.events);
    }
}

fn closed(code: u16, reason: &str) -> Event {
    Event::Closed {
        code,
        reason: reason.into(),
    }
}

fn close_frame(code: u16, reason: &str) -> Incoming {
    Incoming::Close(Some((code, reason.into())))
}

#[test]
fn messages_and_pings_pass_through() {
    let mut h = Harness::server();
    h.peer(1, b"hello", t(0));
    h.peer(2, b"\x00\x01", t(0));
    h.peer(OP_PING, b"p", t(0));
    h.peer(OP_PONG, b"q", t(0));
    // The ping is answered (before the script hears of it).
    assert_eq!(h.written(), [Incoming::Pong(b"p".to_vec())]);
    assert_eq!(
        h.events(),
        [
            Event::Text(b"hello".to_vec()),
            Event::Binary(vec![0, 1]),
            Event::Ping(b"p".to_vec()),
            Event::Pong(b"q".to_vec()),
        ]
    );
    assert!(h.s.is_open() && h.s.next_deadline().is_none());
    assert!(h.s.sending(t(0)));
}

#[test]
fn client_frames_are_masked_and_server_frames_not() {
    let mut h = Harness::new(Role::Client, settings());
    h.peer(OP_PING, b"x", t(0));
    let f = h.s.take_frames().next().unwrap();
    assert_eq!(f[1] & 0x80, 0x80, "a client masks");
    let mut h = Harness::server();
    h.peer(OP_PING, b"x", t(0));
    let f = h.s.take_frames().next().unwrap();
    assert_eq!(f, [0x8A, 1, b'x']);
}

#[test]
fn we_close_first() {
    for role in [Role::Server, Role::Client] {
        let mut h = Harness::new(role, settings());
        h.s.close(&close::encode_payload(1000, "bye"), t(1));
        assert_eq!(h.written(), [close_frame(1000, "bye")]);
        assert!(!h.s.is_open() && !h.s.sending(t(1)), "no more data");
        assert_eq!(h.s.next_deadline(), Some(t(1 + CLOSE_TIMEOUT)));
        // Until the answer, messages are ignored; the script hears nothing.
        h.peer(1, b"late", t(2));
        h.peer_close(1000, "ok", t(2));
        assert!(h.events().is_empty() && h.written().is_empty());
        // Draining: the server ends TCP first, the client waits for it.
        assert_eq!(h.s.next_deadline(), Some(t(1 + CLOSE_TIMEOUT)));
        let want = match role {
            Role::Server => AfterWrite::ShutdownWrite,
            Role::Client => AfterWrite::Nothing,
        };
        assert_eq!(h.s.all_written(), want);
        assert_eq!(h.s.all_written(), AfterWrite::Nothing, "only once");
        assert!(!h.s.is_dead());
        h.peer(1, b"discarded", t(3));
        assert!(h.events().is_empty());
        h.s.receive_eof(t(3), &mut h.events);
        assert!(h.s.is_dead() && h.events().is_empty());
    }
}

#[test]
fn peer_closes_first() {
    let mut h = Harness::server();
    h.peer_close(4000, "away", t(1));
    assert_eq!(h.events(), [closed(4000, "away")]);
    // The script's handler may still send before it lets go.
    assert!(h.written().is_empty() && h.s.sending(t(1)));
    assert_eq!(h.s.next_deadline(), Some(t(1 + CLOSE_TIMEOUT)));
    // Nothing more reaches the script.
    h.peer(1, b"after", t(1));
    assert!(h.events().is_empty());
    h.s.release(t(2));
    assert_eq!(h.written(), [close_frame(4000, "away")], "the code echoed");
    assert!(!h.s.sending(t(2)));
    assert_eq!(h.s.next_deadline(), Some(t(2 + CLOSE_TIMEOUT)));
    assert_eq!(h.s.all_written(), AfterWrite::ShutdownWrite);
    h.s.receive_eof(t(3), &mut h.events);
    assert!(h.s.is_dead());

    // No code: 1000 and tcllib's reason, both ways.
    let mut h = Harness::server();
    h.peer(OP_CLOSE, b"", t(0));
    assert_eq!(h.events(), [closed(1000, "Normal closure")]);
    // The script's close of an ending connection sends the planned answer.
    h.s.close(&close::encode_payload(3000, "ignored"), t(0));
    assert_eq!(h.written(), [close_frame(1000, "Normal closure")]);
    // A code without a reason: the reason tcllib gives it.
    let mut h = Harness::server();
    h.peer(OP_CLOSE, &1001u16.to_be_bytes(), t(0));
    assert_eq!(h.events(), [closed(1001, "Endpoint going away")]);
}

#[test]
fn both_close_at_once() {
    let mut h = Harness::server();
    // Our close goes out while the peer's is on its way.
    h.s.close(&close::encode_payload(1000, ""), t(0));
    h.peer_close(1000, "", t(1));
    assert_eq!(h.written(), [close_frame(1000, "")], "one close frame");
    assert!(h.events().is_empty());
    // Draining keeps the first deadline.
    assert_eq!(h.s.next_deadline(), Some(t(CLOSE_TIMEOUT)));
    assert_eq!(h.s.all_written(), AfterWrite::ShutdownWrite);
    h.timeout(t(CLOSE_TIMEOUT));
    assert!(h.s.is_dead());
}

#[test]
fn the_peer_never_answers() {
    let mut h = Harness::server();
    h.s.close(&close::encode_payload(1000, ""), t(0));
    h.written();
    h.timeout(t(CLOSE_TIMEOUT - 1));
    assert!(!h.s.is_dead(), "early calls do nothing");
    h.timeout(t(CLOSE_TIMEOUT));
    assert!(h.s.is_dead() && h.events().is_empty());
    assert_eq!(h.s.next_deadline(), None);

    // Nor does TCP end after the exchange.
    let mut h = Harness::server();
    h.s.close(&[], t(0));
    h.peer_close(1000, "", t(1));
    h.timeout(t(CLOSE_TIMEOUT));
    assert!(h.s.is_dead());

    // The script does not let go of an ending connection: the close
    // frame goes out at the deadline, then draining has its own.
    let mut h = Harness::server();
    h.peer_close(1000, "", t(0));
    h.events();
    h.timeout(t(CLOSE_TIMEOUT));
    assert_eq!(h.written(), [close_frame(1000, "Normal closure")]);
    assert_eq!(h.s.next_deadline(), Some(t(2 * CLOSE_TIMEOUT)));
    h.timeout(t(2 * CLOSE_TIMEOUT));
    assert!(h.s.is_dead());
}

#[test]
fn the_peer_drops_tcp() {
    // While open: 1001, as tcllib; the close frame still goes out, then
    // the end without draining.
    let mut h = Harness::server();
    h.s.receive_eof(t(0), &mut h.events);
    assert_eq!(h.events(), [closed(1001, "Endpoint going away")]);
    assert!(!h.s.wants_read(0));
    h.s.release(t(0));
    assert_eq!(h.written(), [close_frame(1001, "Endpoint going away")]);
    assert!(!h.s.is_dead(), "not before the close frame is written");
    assert_eq!(h.s.all_written(), AfterWrite::Nothing);
    assert!(h.s.is_dead());

    // After our close frame.
    let mut h = Harness::server();
    h.s.close(&[], t(0));
    h.s.receive_eof(t(1), &mut h.events);
    assert!(h.s.is_dead() && h.events().is_empty());

    // After the peer's close frame, before the script let go.
    let mut h = Harness::server();
    h.peer_close(1000, "", t(0));
    h.events();
    h.s.receive_eof(t(1), &mut h.events);
    assert!(h.events().is_empty() && !h.s.is_dead());
    h.s.release(t(1));
    assert_eq!(h.written().len(), 1);
    assert_eq!(h.s.all_written(), AfterWrite::Nothing);
    assert!(h.s.is_dead());

    // The script never lets go: the close frame at the deadline, then no
    // deadline at all (nothing to wait for but the write).
    let mut h = Harness::server();
    h.s.receive_eof(t(0), &mut h.events);
    h.events();
    h.timeout(t(CLOSE_TIMEOUT));
    assert_eq!(h.written(), [close_frame(1001, "Endpoint going away")]);
    assert_eq!(h.s.next_deadline(), None);
    assert!(
        h.s.sending(t(CLOSE_TIMEOUT)),
        "frames still taken, as tcllib"
    );
    assert_eq!(h.s.all_written(), AfterWrite::Nothing);
    assert!(h.s.is_dead());

    // While draining.
    let mut h = Harness::server();
    h.peer_close(1000, "", t(0));
    h.s.release(t(0));
    h.s.receive_eof(t(1), &mut h.events);
    assert!(h.s.is_dead());

    // A write failing: 1001 while open, silence otherwise.
    let mut h = Harness::server();
    h.s.write_failed(&mut h.events);
    assert_eq!(h.events(), [closed(1001, "Endpoint going away")]);
    assert!(h.s.is_dead());
    let mut h = Harness::server();
    h.s.close(&[], t(0));
    h.s.write_failed(&mut h.events);
    assert!(h.s.is_dead() && h.events().is_empty());
}

#[test]
fn abort_is_silent() {
    let mut h = Harness::server();
    h.s.abort();
    assert!(h.s.is_dead() && h.written().is_empty() && h.events().is_empty());
    assert!(!h.s.wants_read(0) && !h.s.sending(t(0)));
}

#[test]
fn keepalive_pings_on_schedule() {
    let mut h = Harness::new(
        Role::Server,
        Settings {
            keepalive: Duration::from_secs(10),
            ping: b"hb".to_vec(),
            ..settings()
        },
    );
    assert_eq!(h.s.next_deadline(), None, "not before it is started");
    h.s.start_keepalive(t(0));
    assert_eq!(h.s.next_deadline(), Some(t(10)));
    // Traffic at 4 s: the ping waits for 10 s of silence.
    h.peer(1, b"x", t(4));
    assert_eq!(h.events(), [Event::Text(b"x".to_vec())]);
    h.timeout(t(10));
    assert!(h.written().is_empty());
    assert_eq!(h.s.next_deadline(), Some(t(14)));
    h.timeout(t(14));
    assert_eq!(h.written(), [Incoming::Ping(b"hb".to_vec())]);
    assert_eq!(h.s.next_deadline(), Some(t(24)));
    // Our own sending counts as traffic too.
    assert!(h.s.sending(t(20)));
    h.timeout(t(24));
    assert!(h.written().is_empty());
    h.timeout(t(30));
    assert_eq!(h.written(), [Incoming::Ping(b"hb".to_vec())]);
    // So does traffic that went past the session (written elsewhere);
    // an older time changes nothing.
    h.s.activity(t(33));
    h.s.activity(t(31));
    h.timeout(t(40));
    assert!(h.written().is_empty());
    assert_eq!(h.s.next_deadline(), Some(t(43)));
    h.timeout(t(43));
    assert_eq!(h.written(), [Incoming::Ping(b"hb".to_vec())]);
    // No dead-peer deadline unless asked for: no pong is no problem.
    h.timeout(t(53));
    assert_eq!(h.written().len(), 1);
    assert!(h.s.is_open() && h.events().is_empty());
    // New settings restart the timer from then; zero stops it.
    h.s.configure(
        Settings {
            keepalive: Duration::from_secs(3),
            ..settings()
        },
        t(54),
    );
    assert_eq!(h.s.next_deadline(), Some(t(57)));
    h.s.configure(settings(), t(55));
    assert_eq!(h.s.next_deadline(), None);
}

#[test]
fn a_dead_peer_is_detected_at_its_deadline() {
    let ka = Settings {
        keepalive: Duration::from_secs(10),
        dead_timeout: Duration::from_secs(3),
        ..settings()
    };
    // A pong in time keeps the connection.
    let mut h = Harness::new(Role::Client, ka.clone());
    h.s.start_keepalive(t(0));
    h.timeout(t(10));
    assert_eq!(h.written(), [Incoming::Ping(Vec::new())]);
    assert_eq!(h.s.next_deadline(), Some(t(13)));
    h.peer(OP_PONG, b"", t(12));
    assert_eq!(h.events(), [Event::Pong(Vec::new())]);
    h.timeout(t(13));
    assert!(h.s.is_open());
    // The next ping is planned from the last one; the pong moved it on.
    assert_eq!(h.s.next_deadline(), Some(t(20)));
    h.timeout(t(20));
    assert!(h.written().is_empty());
    assert_eq!(h.s.next_deadline(), Some(t(22)));

    // No pong: 1006 at the deadline, and no close frame on the wire.
    let mut h = Harness::new(Role::Client, ka);
    h.s.start_keepalive(t(0));
    h.timeout(t(10));
    h.written();
    // Other traffic does not count as an answer.
    h.peer(1, b"x", t(11));
    h.timeout(t(12));
    assert!(h.s.is_open());
    h.timeout(t(13));
    assert_eq!(
        h.events(),
        [Event::Text(b"x".to_vec()), closed(1006, "Abnormal closure")]
    );
    h.s.release(t(13));
    assert!(h.written().is_empty());
    assert_eq!(h.s.all_written(), AfterWrite::Nothing);
    assert!(h.s.is_dead());
}

#[test]
fn flow_control_pauses_reading() {
    let mut h = Harness::server();
    assert!(h.s.wants_read(0));
    h.s.delivered(INBOX_HIGH_WATER);
    assert!(h.s.wants_read(0), "at the mark: still reading");
    h.s.delivered(INBOX_HIGH_WATER + 1);
    assert!(!h.s.wants_read(0));
    h.s.resume();
    assert!(h.s.wants_read(0));
    // Too much waiting to be written (1000 here): reading stops until
    // writing makes room, and the caller is told once to read again.
    assert!(h.s.wants_read(1000));
    assert!(!h.s.wants_read(1001));
    h.s.write_progress(1001);
    assert!(!h.s.take_unblocked());
    h.s.write_progress(1000);
    assert!(h.s.take_unblocked());
    assert!(!h.s.take_unblocked());
    assert!(h.s.wants_read(0));
    // No unblocking when reading had not stopped.
    h.s.write_progress(0);
    assert!(!h.s.take_unblocked());
}

#[test]
fn protocol_errors_close_with_their_codes() {
    let cases: [(&[u8], u16, &str); 5] = [
        // An unmasked frame from a client.
        (b"\x81\x01x", 1002, "Protocol error"),
        // Invalid UTF-8 in a text message.
        (
            b"\x81\x81\0\0\0\0\xFF",
            1007,
            "Received data not consistent with type",
        ),
        // A bad close code.
        (b"\x88\x82\0\0\0\0\x03\xED", 1002, "Protocol error"),
        // Reserved bits.
        (b"\xC1\x80\0\0\0\0", 1002, "Protocol error"),
        // Over the 10-byte limit: tcllib's own reason.
        (b"\x82\x8B\0\0\0\0abcdefghijk", 1009, "Limit 10 exceeded"),
    ];
    for (bytes, code, reason) in cases {
        let limits = Limits {
            max_message: 10,
            max_frame: 10,
        };
        let mut h = Harness::new(
            Role::Server,
            Settings {
                limits,
                ..settings()
            },
        );
        h.s.receive(bytes, t(0), &mut h.events);
        let ev = h.events();
        assert_eq!(ev.len(), 2, "{ev:?}");
        match &ev[0] {
            Event::Violation(e) => assert_eq!(e.code(), code, "{e}"),
            e => panic!("{e:?}"),
        }
        assert_eq!(ev[1], closed(code, reason));
        h.s.release(t(0));
        assert_eq!(h.written(), [close_frame(code, reason)]);
        assert_eq!(h.s.all_written(), AfterWrite::ShutdownWrite, "then drains");
    }
    // A violation while waiting for the peer's close: the end, silently
    // for the script.
    let mut h = Harness::server();
    h.s.close(&[], t(0));
    h.s.receive(b"\x81\x01x", t(0), &mut h.events);
    assert!(matches!(
        h.events()[..],
        [Event::Violation(ReadError::Protocol(_))]
    ));
    assert!(h.s.is_dead());
}

#[test]
fn a_leading_lf_is_skipped_by_servers_only() {
    let ping = build_frame(Role::Client, true, OP_PING, b"");
    let mut h = Harness::server();
    h.s.skip_leading_lf();
    h.s.receive(b"\n", t(0), &mut h.events);
    h.s.receive(&ping, t(0), &mut h.events);
    assert_eq!(h.events(), [Event::Ping(Vec::new())]);
    let mut h = Harness::new(Role::Client, settings());
    h.s.skip_leading_lf();
    h.s.receive(b"\n", t(0), &mut h.events);
    assert!(matches!(
        h.events()[..],
        [Event::Violation(_), Event::Closed { code: 1002, .. }]
    ));
}

#[test]
fn errors_read_as_text() {
    let e = ReadError::TooBig("message over the 10 byte limit".into());
    assert_eq!(
        e.to_string(),
        "message over the 10 byte limit (close code 1009)"
    );
    let e: &dyn std::error::Error = &e;
    assert!(e.source().is_none());
}

/// Random operations on random sessions: a deadline the caller is told of
/// is never already past once [`Session::on_timeout`] ran (else a timer
/// loop would spin), the script hears at most one `Closed` and nothing
/// after it, and at most one close frame goes out.
#[test]
fn random_schedules_keep_the_invariants() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rnd = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for _ in 0..2000 {
        let role = if rnd(2) == 0 {
            Role::Server
        } else {
            Role::Client
        };
        let mut h = Harness::new(
            role,
            Settings {
                keepalive: Duration::from_secs(rnd(4)),
                dead_timeout: Duration::from_secs(rnd(3)),
                ..settings()
            },
        );
        h.s.start_keepalive(t(0));
        let mut now = 0;
        let (mut closes_sent, mut closed_seen) = (0, false);
        for _ in 0..30 {
            now += rnd(3);
            match rnd(10) {
                0 => h.peer(1, b"m", t(now)),
                1 => h.peer(OP_PING, b"", t(now)),
                2 => h.peer(OP_PONG, b"", t(now)),
                3 => h.peer_close(1000, "", t(now)),
                4 => h.s.receive(b"\x81\x01x\x81\x01x", t(now), &mut h.events),
                5 => h.s.receive_eof(t(now), &mut h.events),
                6 => h.s.close(&[], t(now)),
                7 => h.s.release(t(now)),
                8 => {
                    let _ = h.s.all_written();
                }
                _ => {
                    let _ = h.s.sending(t(now));
                }
            }
            if let Some(at) = h.s.next_deadline() {
                if at <= t(now) {
                    h.timeout(t(now));
                }
            }
            if let Some(at) = h.s.next_deadline() {
                assert!(at > t(now), "a deadline left in the past");
            }
            for ev in h.events() {
                assert!(!closed_seen, "{ev:?} after Closed");
                closed_seen = matches!(ev, Event::Closed { .. });
            }
            closes_sent += h
                .written()
                .iter()
                .filter(|i| matches!(i, Incoming::Close(_)))
                .count();
            assert!(closes_sent <= 1, "two close frames");
            if h.s.is_dead() {
                break;
            }
        }
    }
}
