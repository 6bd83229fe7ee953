//! Client connections before they are WebSockets (`::websocket::open`):
//! name resolution on the resolver's threads, non-blocking connects to
//! each resolved address in turn (attempts.rs), a CONNECT tunnel when a
//! proxy is used (tunnel.rs), the TLS handshake for wss://, the HTTP
//! upgrade request and the check of the server's answer. Nothing here
//! blocks the I/O thread or Tcl's.
//!
//! Once the handshake succeeds the socket becomes an ordinary client
//! [`Conn`](super::conn::Conn): the loop registers it like any other, with
//! the bytes that followed the answer's blank line as its first input.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Registry, Token};

use super::attempts::{Attempts, Outcome};
use super::mailbox::Event;
use super::opened::{ConnectFailure, Connected, IoFailure};
use super::options::Options;
use super::queue::{Cmd, Input, Queue};
use super::request::{ConnectRequest, Registration};
use super::timers::Timers;
use super::tls::{CertRequest, TlsError};
use super::transport::{tls_error, TlsSession, Transport};
use super::tunnel::Tunnel;
use super::types::{ConnId, Shared, Stream};
use crate::protocol::client_handshake::{check_response, parse_head, BadAnswer, Head, Refusal};
use crate::protocol::Role;

/// Longest wait for the reverse lookups of the two ends once the handshake
/// is over (they run while it happens).
const NAMING_GRACE: Duration = Duration::from_secs(1);

impl ConnectFailure {
    /// A failed read or write: a TLS failure says why, others are I/O.
    fn from_io(e: io::Error) -> ConnectFailure {
        match tls_error(&e) {
            Some(t) => ConnectFailure::Tls(TlsError::Session(t.clone())),
            None => ConnectFailure::Io(IoFailure::Stream(e)),
        }
    }
}

/// A connection ready to become a WebSocket (with its TLS session).
pub(super) type Done = (
    ConnId,
    Arc<Shared>,
    Box<Registration>,
    Option<Box<TlsSession>>,
);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Resolving,
    Connecting,
    /// Sending CONNECT to the proxy and reading its answer.
    Proxy,
    /// The TLS handshake.
    Tls,
    Handshake,
    /// Handshake done; waiting (briefly) for the names of the two ends.
    Naming {
        until: Instant,
    },
}

struct Pending {
    /// Where helper threads post their results.
    queue: &'static Queue,
    shared: Arc<Shared>,
    req: Box<ConnectRequest>,
    deadline: Option<Instant>,
    phase: Phase,
    attempts: Attempts,
    stream: Option<Transport>,
    /// How much of the upgrade request is written.
    written: usize,
    /// Through the proxy, once connected to it.
    tunnel: Option<Tunnel>,
    /// TLS: whether the server asked for a client certificate.
    cert_request: Option<CertRequest>,
    input: Vec<u8>,
    /// The handshake's result: subprotocol and bytes after the answer.
    done: Option<(String, Option<crate::protocol::deflate::Agreed>, Vec<u8>)>,
    ends: Option<(SocketAddr, SocketAddr)>,
    names: Option<(Option<String>, Option<String>)>,
}

/// Every client connection still opening.
pub(super) struct Connecting {
    map: HashMap<ConnId, Pending>,
    /// Where helper threads post their results.
    queue: &'static Queue,
}

enum Step {
    Wait,
    Fail(ConnectFailure),
    Done,
}

impl Connecting {
    /// None yet; helper threads will post to `queue`.
    pub(super) fn new(queue: &'static Queue) -> Connecting {
        Connecting {
            map: HashMap::new(),
            queue,
        }
    }

    pub(super) fn has(&self, id: ConnId) -> bool {
        self.map.contains_key(&id)
    }

    /// Starts opening a connection.
    pub(super) fn start(
        &mut self,
        id: ConnId,
        shared: Arc<Shared>,
        req: Box<ConnectRequest>,
        now: Instant,
        registry: &Registry,
        timers: &mut Timers,
    ) {
        let deadline = req.timeout.map(|t| now + t);
        if let Some(at) = deadline {
            timers.add(at, id);
        }
        let literal = dial(&req).0.parse::<IpAddr>().ok();
        let local_literal = match &req.myaddr {
            None => Some(None),
            Some(a) => a.parse::<IpAddr>().ok().map(Some),
        };
        let mut p = Pending {
            queue: self.queue,
            shared,
            req,
            deadline,
            phase: Phase::Resolving,
            attempts: Attempts::default(),
            stream: None,
            written: 0,
            tunnel: None,
            cert_request: None,
            input: Vec::new(),
            done: None,
            ends: None,
            names: None,
        };
        if let (Some(ip), Some(local)) = (literal, local_literal) {
            // Addresses only: nothing to resolve.
            let target = SocketAddr::new(ip, dial(&p.req).1);
            let binds = local.map(|ip| SocketAddr::new(ip, 0)).into_iter().collect();
            p.attempts = Attempts::new(vec![target], binds);
            let step = p.try_next(id, registry);
            self.map.insert(id, p);
            self.after(id, step, now, registry, timers);
            return;
        }
        let (host, port) = dial(&p.req);
        let (host, port, myaddr) = (host.to_owned(), port, p.req.myaddr.clone());
        let queue = self.queue;
        let spawned = super::resolver::submit(move || {
            let target = (host.as_str(), port)
                .to_socket_addrs()
                .map(Iterator::collect);
            let local = myaddr.map(|a| (a.as_str(), 0).to_socket_addrs().map(Iterator::collect));
            queue.push(Cmd::Connecting(id, Input::Resolved { target, local }));
        });
        self.map.insert(id, p);
        if let Err(e) = spawned {
            let step = Step::Fail(ConnectFailure::Io(IoFailure::NoLookup(e)));
            self.after(id, step, now, registry, timers);
        }
    }

    /// A helper thread's result.
    pub(super) fn input(
        &mut self,
        id: ConnId,
        input: Input,
        now: Instant,
        registry: &Registry,
        timers: &mut Timers,
    ) -> Option<Done> {
        let p = self.map.get_mut(&id)?; // aborted or timed out meanwhile
        let step = match input {
            Input::Resolved { target, local } if p.phase == Phase::Resolving => {
                match (target, local.transpose()) {
                    (Err(source), _) => Step::Fail(ConnectFailure::Io(IoFailure::Resolve {
                        host: dial(&p.req).0.to_owned(),
                        source,
                    })),
                    (_, Err(source)) => Step::Fail(ConnectFailure::Io(IoFailure::ResolveLocal {
                        myaddr: p.req.myaddr.clone().unwrap_or_default(),
                        source,
                    })),
                    (Ok(addrs), Ok(binds)) => {
                        p.attempts = Attempts::new(addrs, binds.unwrap_or_default());
                        p.try_next(id, registry)
                    }
                }
            }
            Input::Named { peer, local } => {
                p.names = Some((peer, local));
                match p.phase {
                    Phase::Naming { .. } => Step::Done,
                    _ => Step::Wait,
                }
            }
            Input::Resolved { .. } => Step::Wait,
        };
        self.after(id, step, now, registry, timers)
    }

    /// Socket readiness.
    pub(super) fn ready(
        &mut self,
        id: ConnId,
        readable: bool,
        writable: bool,
        now: Instant,
        registry: &Registry,
        timers: &mut Timers,
    ) -> Option<Done> {
        let p = self.map.get_mut(&id)?;
        let mut step = Step::Wait;
        if p.phase == Phase::Connecting && (readable || writable) {
            step = p.check_connected(id, registry);
        }
        if matches!(step, Step::Wait) && p.phase == Phase::Proxy {
            step = p.proxy();
        }
        if matches!(step, Step::Wait) && p.phase == Phase::Tls {
            step = p.tls_handshake();
        }
        if matches!(step, Step::Wait) && p.phase == Phase::Handshake {
            step = p.handshake();
        }
        self.after(id, step, now, registry, timers)
    }

    /// A deadline passed (maybe another connection's, or an old one).
    pub(super) fn timer(
        &mut self,
        id: ConnId,
        now: Instant,
        registry: &Registry,
        timers: &mut Timers,
    ) -> Option<Done> {
        let p = self.map.get_mut(&id)?;
        let expired = p.deadline.is_some_and(|d| d <= now);
        let step = match p.phase {
            Phase::Naming { until } if until <= now || expired => Step::Done,
            Phase::Naming { .. } => Step::Wait,
            _ if expired => Step::Fail(ConnectFailure::Timeout),
            _ => Step::Wait,
        };
        self.after(id, step, now, registry, timers)
    }

    /// New settings before the connection is up: it will start with them.
    pub(super) fn configure(&mut self, id: ConnId, options: Options) {
        if let Some(p) = self.map.get_mut(&id) {
            p.req.options = options;
        }
    }

    /// The Tcl side gave up on the connection: drop it without a word.
    pub(super) fn abort(&mut self, id: ConnId, registry: &Registry) {
        if let Some(mut p) = self.map.remove(&id) {
            p.drop_stream(registry);
        }
    }

    pub(super) fn clear(&mut self, registry: &Registry) {
        for (_, mut p) in self.map.drain() {
            p.drop_stream(registry);
        }
    }

    fn after(
        &mut self,
        id: ConnId,
        step: Step,
        now: Instant,
        registry: &Registry,
        timers: &mut Timers,
    ) -> Option<Done> {
        match step {
            Step::Wait => None,
            Step::Fail(why) => {
                match &why {
                    ConnectFailure::Tls(t) => {
                        log::info!(conn = id.0; "opening handshake: TLS failure: {t}")
                    }
                    ConnectFailure::Invalid(t) => {
                        log::info!(conn = id.0; "opening handshake failed: {t}")
                    }
                    // As the reason was logged when it was words.
                    ConnectFailure::Io(e) => {
                        log::debug!(conn = id.0; "opening failed: Io({:?})", e.to_string())
                    }
                    other => log::debug!(conn = id.0; "opening failed: {other:?}"),
                }
                let mut p = self.map.remove(&id)?;
                p.drop_stream(registry);
                p.req.mailbox.push_all([(id, Event::ConnectFailed(why))]);
                None
            }
            Step::Done => {
                let p = self.map.get_mut(&id)?;
                if p.names.is_none() && p.req.reverse.is_some() && p.phase == Phase::Handshake {
                    let until = now + NAMING_GRACE;
                    p.phase = Phase::Naming { until };
                    timers.add(until, id);
                    return None;
                }
                let p = self.map.remove(&id)?;
                p.into_conn(id, registry)
            }
        }
    }
}

/// Where the TCP connection goes: the proxy, else the server.
fn dial(req: &ConnectRequest) -> (&str, u16) {
    match &req.proxy {
        Some(p) => (&p.host, p.port),
        None => (&req.host, req.port),
    }
}

impl Pending {
    /// Starts a connect to the next address; fails when none is left.
    fn try_next(&mut self, id: ConnId, registry: &Registry) -> Step {
        self.drop_stream(registry);
        let token = Token(id.0 as usize);
        match self.attempts.next(registry, token, dial(&self.req).0) {
            Ok(stream) => {
                self.stream = Some(stream);
                self.phase = Phase::Connecting;
                Step::Wait
            }
            Err(why) => Step::Fail(ConnectFailure::Io(why)),
        }
    }

    /// The socket became ready while connecting: connected, or failed.
    fn check_connected(&mut self, id: ConnId, registry: &Registry) -> Step {
        let Some(stream) = &self.stream else {
            return Step::Wait;
        };
        let (peer, local) = match self.attempts.check(stream) {
            Outcome::Pending => return Step::Wait,
            Outcome::Failed => return self.try_next(id, registry),
            Outcome::Connected(peer, local) => (peer, local),
        };
        self.ends = Some((peer, local));
        self.written = 0;
        if let Some(p) = &self.req.proxy {
            self.phase = Phase::Proxy;
            self.tunnel = Some(Tunnel::new(p, &self.req.host, self.req.port));
        } else if let Err(why) = self.start_tls() {
            return Step::Fail(why);
        }
        if let Some(reverse) = self.req.reverse {
            let queue = self.queue;
            let spawned = super::resolver::submit(move || {
                let input = Input::Named {
                    peer: reverse(peer.ip()),
                    local: reverse(local.ip()),
                };
                queue.push(Cmd::Connecting(id, input));
            });
            if spawned.is_err() {
                self.names = Some((None, None));
            }
        }
        Step::Wait
    }

    /// TCP (or the tunnel) is up: TLS next for wss://, else the request.
    fn start_tls(&mut self) -> Result<(), ConnectFailure> {
        let Some(tls) = &self.req.tls else {
            self.phase = Phase::Handshake;
            return Ok(());
        };
        let (session, request) = super::tls::session(&tls.config, tls.name.clone())
            .map_err(|e| ConnectFailure::Tls(TlsError::Session(e)))?;
        self.cert_request = Some(request);
        let Some(stream) = self.stream.take() else {
            return Ok(());
        };
        let (tcp, _) = stream.into_parts();
        self.stream = Some(Transport::tls(tcp, session));
        self.phase = Phase::Tls;
        Ok(())
    }

    /// Asks the proxy for a tunnel and reads its answer.
    fn proxy(&mut self) -> Step {
        let (Some(stream), Some(tunnel)) = (self.stream.as_mut(), self.tunnel.as_mut()) else {
            return Step::Wait;
        };
        match tunnel.drive(stream) {
            Ok(false) => Step::Wait,
            Ok(true) => {
                self.tunnel = None;
                match self.start_tls() {
                    Ok(()) => Step::Wait,
                    Err(why) => Step::Fail(why),
                }
            }
            Err(why) => Step::Fail(why),
        }
    }

    /// Drives the TLS handshake; the request follows at once.
    fn tls_handshake(&mut self) -> Step {
        let Some(stream) = self.stream.as_mut() else {
            return Step::Wait;
        };
        match stream.handshake() {
            Ok(true) => {
                self.phase = Phase::Handshake;
                Step::Wait
            }
            Ok(false) => Step::Wait,
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Step::Fail(ConnectFailure::Tls(
                self.silent_end().unwrap_or(TlsError::EndedHandshake),
            )),
            Err(e) => Step::Fail(ConnectFailure::from_io(e)),
        }
    }

    /// TLS: why the server may have ended the connection without a word.
    fn silent_end(&self) -> Option<TlsError> {
        self.cert_request.as_ref()?.explain_end()
    }

    /// Writes what is left of the request and reads the answer.
    fn handshake(&mut self) -> Step {
        // A TLS server that refuses our certificate may just drop us once
        // the handshake seemed done: say so rather than "connection lost".
        let mut silent = self.silent_end();
        let mut lost = |e: io::Error| match silent.take() {
            Some(why) => ConnectFailure::Tls(why),
            None => ConnectFailure::from_io(e),
        };
        let Some(stream) = self.stream.as_mut() else {
            return Step::Wait;
        };
        while self.written < self.req.request.len() {
            match stream.write(&self.req.request[self.written..]) {
                Ok(0) => return Step::Fail(ConnectFailure::Io(IoFailure::Lost)),
                Ok(n) => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Step::Fail(lost(e)),
            }
        }
        let mut buf = [0u8; 16 * 1024];
        let mut eof = false;
        loop {
            match stream.read(&mut buf) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => self.input.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Step::Fail(lost(e)),
            }
        }
        match parse_head(&self.input) {
            Head::Complete(head, len) => {
                match check_response(
                    &head,
                    &self.req.key,
                    &self.req.protocols,
                    &self.req.options.deflate,
                ) {
                    Ok((protocol, deflate)) => {
                        let rest = self.input.split_off(len);
                        self.done = Some((protocol, deflate, rest));
                        Step::Done
                    }
                    Err(Refusal::Status(code)) => Step::Fail(ConnectFailure::Status(code)),
                    Err(Refusal::Invalid(why)) => Step::Fail(ConnectFailure::Invalid(why)),
                }
            }
            Head::TooLarge => Step::Fail(ConnectFailure::Invalid(BadAnswer::TooLarge)),
            Head::Incomplete if eof => match self.silent_end() {
                Some(why) if self.input.is_empty() => Step::Fail(ConnectFailure::Tls(why)),
                _ => Step::Fail(ConnectFailure::Io(IoFailure::ServerClosed)),
            },
            Head::Incomplete => Step::Wait,
        }
    }

    fn drop_stream(&mut self, registry: &Registry) {
        if let Some(mut s) = self.stream.take() {
            let _ = registry.deregister(&mut s);
        }
    }

    /// Tells Tcl it is connected, then hands the socket over as a client
    /// WebSocket.
    fn into_conn(mut self, id: ConnId, registry: &Registry) -> Option<Done> {
        let mut stream = self.stream.take()?;
        let _ = registry.deregister(&mut stream);
        let (stream, tls) = stream.into_parts();
        let stream = std::net::TcpStream::from(stream);
        let (protocol, deflate, rest) = self.done.take()?;
        let (peer, local) = self.ends?;
        let (peer_name, local_name) = self.names.take().unwrap_or((None, None));
        let connected = Connected {
            protocol,
            extensions: deflate
                .as_ref()
                .map(|a| a.answer.clone())
                .unwrap_or_default(),
            peer,
            local,
            peer_name: peer_name.unwrap_or_else(|| peer.ip().to_string()),
            local_name: local_name.unwrap_or_else(|| local.ip().to_string()),
        };
        let req = *self.req;
        req.mailbox
            .push_all([(id, Event::Connected(Box::new(connected)))]);
        Some((
            id,
            self.shared,
            Box::new(Registration {
                stream: Stream::Tcp(stream),
                role: Role::Client,
                initial: rest,
                preamble: Vec::new(),
                skip_lf: false,
                mailbox: req.mailbox,
                options: req.options,
                deflate,
            }),
            tls,
        ))
    }
}

#[cfg(test)]
#[path = "connect_tests.rs"]
mod tests;
