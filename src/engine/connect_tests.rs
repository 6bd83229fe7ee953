//! connect.rs against local peers: a client WebSocket opened through the
//! engine, refusals (connection, status), a timeout, an unresolvable name.

use super::*;
use crate::engine::mailbox::{Mailbox, Notify};
use crate::protocol::client_handshake::{make_key, Request};
use crate::protocol::handshake::accept_key;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream as StdStream};
use std::sync::mpsc::{channel, Receiver, Sender};

struct Wake(std::sync::Mutex<Sender<()>>);
impl Notify for Wake {
    fn notify(&self) {
        let _ = self.0.lock().unwrap().send(());
    }
}

fn mailbox() -> (Arc<Mailbox>, Receiver<()>) {
    let (tx, rx) = channel();
    (Mailbox::new(Box::new(Wake(std::sync::Mutex::new(tx)))), rx)
}

/// Waits for `n` events (at most 5 s).
fn events(mb: &Mailbox, rx: &Receiver<()>, n: usize) -> Vec<Event> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut out = Vec::new();
    loop {
        mb.woken();
        while let (Some((_, e)), _) = mb.pop() {
            out.push(e);
        }
        if out.len() >= n {
            return out;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return out;
        }
        // A wake-up, or a look anyway (a pop may have marked one as
        // pending that this test never queues).
        let _ = rx.recv_timeout(left.min(Duration::from_millis(20)));
    }
}

fn request(port: u16, mb: Arc<Mailbox>, timeout: Option<Duration>) -> ConnectRequest {
    let key = make_key([7; 16]);
    let req = Request {
        target: "/t".into(),
        host: format!("127.0.0.1:{port}"),
        headers: vec![],
        key: key.clone(),
        protocols: vec!["chat".into()],
        extensions: None,
    };
    ConnectRequest {
        host: "localhost".into(),
        port,
        request: req.to_bytes(),
        key,
        protocols: vec!["chat".into()],
        myaddr: None,
        timeout,
        mailbox: mb,
        options: Options::server_default(),
        reverse: None,
        tls: None,
        proxy: None,
    }
}

fn read_head(s: &mut StdStream) -> String {
    let mut buf = Vec::new();
    let mut b = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if s.read(&mut b).unwrap() == 0 {
            break;
        }
        buf.push(b[0]);
    }
    String::from_utf8(buf).unwrap()
}

#[test]
fn connects_and_keeps_bytes_after_the_answer() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let (tx, got) = channel();
    std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let head = read_head(&mut s);
        let key = head
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
            .unwrap()
            .to_owned();
        let mut answer = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\
             Sec-WebSocket-Protocol: chat\r\n\r\n",
            accept_key(&key)
        )
        .into_bytes();
        answer.extend_from_slice(b"\x81\x02hi");
        s.write_all(&answer).unwrap();
        // The client's frame, masked.
        let mut f = [0u8; 8];
        s.read_exact(&mut f).unwrap();
        let payload: Vec<u8> = f[6..].iter().zip(&f[2..6]).map(|(b, k)| b ^ k).collect();
        tx.send((head, f[1] & 0x80 != 0, payload)).unwrap();
        std::thread::sleep(Duration::from_millis(500));
    });
    let (mb, rx) = mailbox();
    let (id, shared) = crate::engine::engine().connect(request(port, mb.clone(), None));
    let evs = events(&mb, &rx, 2);
    match &evs[..] {
        [Event::Connected(c), Event::Text(t)] => {
            assert_eq!(c.protocol, "chat");
            assert_eq!(c.peer.port(), port);
            assert_eq!(c.peer_name, c.peer.ip().to_string());
            assert_eq!(t, b"hi");
        }
        other => panic!("{other:?}"),
    }
    let frame = crate::engine::frames::build(Role::Client, true, 1, b"yo");
    shared
        .queued
        .fetch_add(frame.len(), std::sync::atomic::Ordering::AcqRel);
    crate::engine::engine().send(id, frame);
    let (head, masked, payload) = got.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(head.starts_with("GET /t HTTP/1.1\r\nHost: 127.0.0.1:"));
    assert!(head.contains("\r\nSec-WebSocket-Protocol: chat\r\n"));
    assert!(masked);
    assert_eq!(payload, b"yo");
    crate::engine::engine().abort(id);
}

#[test]
fn refused_not_found_and_timeout() {
    // Nobody listens.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let (mb, rx) = mailbox();
    crate::engine::engine().connect(request(port, mb.clone(), None));
    match &events(&mb, &rx, 1)[..] {
        [Event::ConnectFailed(ConnectFailure::Io(why))] => {
            let cause = std::error::Error::source(why).and_then(|s| s.downcast_ref::<io::Error>());
            assert_eq!(
                cause.map(io::Error::kind),
                Some(io::ErrorKind::ConnectionRefused)
            );
            assert!(why.to_string().contains("refused"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    // A plain HTTP server.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        read_head(&mut s);
        s.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
        std::thread::sleep(Duration::from_millis(200));
    });
    crate::engine::engine().connect(request(port, mb.clone(), None));
    match &events(&mb, &rx, 1)[..] {
        [Event::ConnectFailed(ConnectFailure::Status(code))] => assert_eq!(code, "404"),
        other => panic!("{other:?}"),
    }
    // A server that never answers.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let (_s, _) = l.accept().unwrap();
        std::thread::sleep(Duration::from_secs(2));
    });
    let t0 = Instant::now();
    let timeout = Some(Duration::from_millis(200));
    crate::engine::engine().connect(request(port, mb.clone(), timeout));
    match &events(&mb, &rx, 1)[..] {
        [Event::ConnectFailed(ConnectFailure::Timeout)] => {}
        other => panic!("{other:?}"),
    }
    assert!(t0.elapsed() >= Duration::from_millis(200));
    assert!(t0.elapsed() < Duration::from_secs(2));
}

#[test]
fn unresolvable_name() {
    let (mb, rx) = mailbox();
    let mut req = request(80, mb.clone(), Some(Duration::from_secs(10)));
    req.host = "no-such-host.invalid".into();
    crate::engine::engine().connect(req);
    match &events(&mb, &rx, 1)[..] {
        [Event::ConnectFailed(ConnectFailure::Io(why))] => {
            assert!(why.to_string().contains("no-such-host.invalid"), "{why}")
        }
        other => panic!("{other:?}"),
    }
}
