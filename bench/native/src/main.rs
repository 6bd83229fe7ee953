//! A native WebSocket echo server for `make bench`: tungstenite, one
//! thread per connection (echoes of what one read brought in go out in one
//! write). It is the practical limit of this
//! machine that the Tcl servers are compared with.
//!
//!   ws-native-echo [--port N] [--host ADDR]
//!
//! Prints `PORT n` once listening (port 0 picks a free one), then echoes
//! every text and binary message on any path until killed.
//!
//! The opening handshake is done here, leniently: tcllib's client (through
//! Tcl's http package) sends `Connection: close` before `Connection:
//! Upgrade` and an empty `Sec-WebSocket-Protocol`, which tungstenite's
//! own `accept` refuses. Only `Sec-WebSocket-Key` is required; framing is
//! all tungstenite's.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::thread;

use tungstenite::handshake::derive_accept_key;
use tungstenite::protocol::{Role, WebSocketConfig};
use tungstenite::{Error, Message, WebSocket};

/// The longest opening request accepted.
const MAX_REQUEST: usize = 16 * 1024;

fn main() {
    let mut host = "127.0.0.1".to_string();
    let mut port = 0u16;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--port" => port = args.next().and_then(|v| v.parse().ok()).expect("--port N"),
            "--host" => host = args.next().expect("--host ADDR"),
            _ => {
                eprintln!("usage: ws-native-echo [--port N] [--host ADDR]");
                std::process::exit(2);
            }
        }
    }
    let listener = TcpListener::bind((host.as_str(), port)).expect("cannot listen");
    let port = listener.local_addr().expect("local address").port();
    println!("PORT {port}");
    let _ = std::io::stdout().flush();
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        // Small stacks: the idle-memory test holds 1000 connections.
        let _ = thread::Builder::new()
            .stack_size(128 * 1024)
            .spawn(move || serve(stream));
    }
}

/// Reads the HTTP request and answers 101; returns the bytes read past it.
fn handshake(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let end = loop {
        let n = stream.read(&mut chunk).ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > MAX_REQUEST {
            return None;
        }
    };
    let head = std::str::from_utf8(&buf[..end]).ok()?;
    let key = head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("sec-websocket-key")
            .then(|| value.trim().to_string())
    })?;
    let answer = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        derive_accept_key(key.as_bytes())
    );
    stream.write_all(answer.as_bytes()).ok()?;
    Some(buf.split_off(end))
}

fn serve(mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let config = WebSocketConfig::default()
        .max_message_size(Some(64 << 20))
        .max_frame_size(Some(64 << 20));
    let Some(rest) = handshake(&mut stream) else {
        return;
    };
    // Non-blocking, so that the echoes of everything already received go
    // out in one write: flush only when the input is drained.
    if stream.set_nonblocking(true).is_err() {
        return;
    }
    let fd = stream.as_raw_fd();
    let mut ws = WebSocket::from_partially_read(stream, rest, Role::Server, Some(config));
    loop {
        match ws.read() {
            Ok(m @ (Message::Text(_) | Message::Binary(_))) => match ws.write(m) {
                Ok(()) => {}
                Err(e) if would_block(&e) => {} // buffered
                Err(_) => return,
            },
            // Pings are answered by tungstenite; a close is answered by the
            // next read, which then reports the end.
            Ok(_) => {}
            Err(e) if would_block(&e) => {
                loop {
                    match ws.flush() {
                        Ok(()) => break,
                        Err(e) if would_block(&e) => wait(fd, libc::POLLOUT),
                        Err(_) => return,
                    }
                }
                wait(fd, libc::POLLIN);
            }
            Err(_) => return,
        }
    }
}

fn would_block(e: &Error) -> bool {
    matches!(e, Error::Io(io) if io.kind() == std::io::ErrorKind::WouldBlock)
}

/// Blocks until the socket is ready for `events` (or has failed).
fn wait(fd: RawFd, events: libc::c_short) {
    let mut p = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: one valid pollfd, for a descriptor this thread owns.
    unsafe { libc::poll(&mut p, 1, -1) };
}
