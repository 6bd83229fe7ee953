//! One connection on the I/O thread: reads and decodes frames, answers
//! pings, runs the closing handshake and keepalive, and writes what Tcl
//! queued, gathering frames into one `writev`.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Read, Write};
use std::net::Shutdown;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use mio::net::TcpStream;

use super::compress::TxDeflate;
use super::frames::{self, OP_CLOSE, OP_PING, OP_PONG};
use super::mailbox::{Event, Mailbox};
use super::options::{Options, INBOX_HIGH_WATER};
use super::timers::Timers;
use super::transport::{TlsSession, Transport};
use super::{ConnId, Registration, Shared};
use crate::protocol::close;
use crate::protocol::message::{Incoming, Limits, MessageReader};
use crate::protocol::Role;

/// Bytes read from one connection before the others get a turn.
const READ_BUDGET: usize = 256 * 1024;
/// Most frames gathered into one write.
const MAX_IOV: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Open,
    /// The connection is ending (the peer's close frame, a violation, or
    /// TCP EOF) and Tcl has been told. Frames its handlers send for the
    /// messages before still go out, as with tcllib; once Tcl releases the
    /// connection (or the deadline passes) our close frame follows, then
    /// draining (`drain`) or the end.
    Ending {
        deadline: Instant,
        drain: bool,
    },
    /// We sent a close frame and wait for the peer's.
    CloseSent {
        deadline: Instant,
    },
    /// Close frames exchanged (or the connection failed): flush, end TCP
    /// (the server first, RFC 6455 7.1.1) and discard input until EOF.
    Draining {
        deadline: Instant,
    },
    Dead,
}

pub(super) struct Conn {
    id: ConnId,
    pub(super) stream: Transport,
    role: Role,
    reader: MessageReader,
    mailbox: Arc<Mailbox>,
    shared: Arc<Shared>,
    opts: Options,
    out: VecDeque<Vec<u8>>,
    /// Bytes of `out[0]` already written.
    out_pos: usize,
    state: State,
    /// The Tcl side has said goodbye to the handler: no more events.
    detached: bool,
    /// Too much undelivered input: stop reading until Tcl catches up.
    paused: bool,
    /// Close the socket once `out` is written (TCP EOF from the peer).
    dead_after_flush: bool,
    write_shut: bool,
    last_activity: Instant,
    keepalive_at: Option<Instant>,
    /// A new close deadline the loop must put on the timer heap.
    arm: Option<Instant>,
    /// The close payload to send when an `Ending` connection is released.
    ending_close: Option<Vec<u8>>,
    skip_lf: bool,
    /// The peer has ended its sending half.
    read_eof: bool,
    /// More than `max_queued` bytes wait to be written (the peer does not
    /// read): reading stops, so answers to its pings cannot pile up.
    write_blocked: bool,
    /// Set when writing unblocked reading: the loop must read again.
    unblocked: bool,
    /// When an unanswered keepalive ping makes the peer count as dead.
    pong_due: Option<Instant>,
    events: Vec<(ConnId, Event)>,
    items: Vec<Incoming>,
    /// permessage-deflate's sending half, when negotiated.
    tx_deflate: Option<TxDeflate>,
    /// A plain socket the Tcl thread may write to while the connection is
    /// open (see `direct.rs`): every write here takes its lock.
    shares_socket: bool,
    /// The poller saw the peer's FIN (or an error): read on to the end,
    /// since no new readiness edge will say so again.
    peer_closing: bool,
}

impl Conn {
    /// A connection on `stream` (made by [`Conn::transport`] or taken
    /// from another connection with [`Conn::into_moved`]), with `out`
    /// queued before the registration's preamble.
    pub(super) fn new(
        id: ConnId,
        shared: Arc<Shared>,
        reg: Registration,
        stream: Transport,
        out: VecDeque<Vec<u8>>,
        now: Instant,
    ) -> Conn {
        log::debug!(conn = id.0; "connection accepted by the I/O thread ({} side{})",
            if reg.role == Role::Server { "server" } else { "client" },
            if reg.deflate.is_some() { ", permessage-deflate" } else { "" });
        let limits = limits(&reg.options);
        let mut reader = MessageReader::new(reg.role, limits).recycling(super::pool::take);
        if let Some(a) = &reg.deflate {
            reader = reader.inflating(a.rx_window, a.rx_reset);
        }
        let mut conn = Conn {
            id,
            stream,
            role: reg.role,
            reader,
            tx_deflate: reg.deflate.map(TxDeflate::new),
            mailbox: reg.mailbox,
            shared,
            opts: reg.options,
            out,
            out_pos: 0,
            state: State::Open,
            detached: false,
            paused: false,
            dead_after_flush: false,
            write_shut: false,
            last_activity: now,
            keepalive_at: None,
            arm: None,
            ending_close: None,
            skip_lf: false,
            read_eof: false,
            write_blocked: false,
            unblocked: false,
            pong_due: None,
            events: Vec::new(),
            items: Vec::new(),
            shares_socket: false,
            peer_closing: false,
        };
        if conn.tx_deflate.is_none() {
            if let Some(socket) = conn.stream.plain_socket() {
                conn.shares_socket = true;
                conn.shared.direct().arm(socket);
            }
        }
        let carried: usize = conn.out.iter().map(Vec::len).sum();
        conn.shared.queued.fetch_add(carried, Ordering::AcqRel);
        if !reg.preamble.is_empty() {
            conn.out.push_back(reg.preamble);
        }
        conn.skip_lf = reg.skip_lf && reg.role == Role::Server;
        if !reg.initial.is_empty() {
            conn.on_bytes(&reg.initial, now);
        }
        conn
    }

    /// The transport for a new socket (over TLS when a session is given).
    pub(super) fn transport(
        stream: std::net::TcpStream,
        tls: Option<Box<TlsSession>>,
    ) -> io::Result<Transport> {
        stream.set_nonblocking(true)?;
        let _ = stream.set_nodelay(true);
        let tcp = TcpStream::from_std(stream);
        Ok(match tls {
            None => Transport::plain(tcp),
            Some(session) => Transport::tls(tcp, *session),
        })
    }

    /// Whether another connection may take this one's socket over: only an
    /// open one that owns a socket.
    pub(super) fn movable(&self) -> bool {
        self.state == State::Open && !self.stream.is_bridge()
    }

    /// Gives up the socket and what is not yet written of the queue, to
    /// start a new connection on them; this one says nothing more.
    pub(super) fn into_moved(mut self) -> (Transport, VecDeque<Vec<u8>>) {
        self.unshare_socket();
        let queued = self.out.iter().map(Vec::len).sum::<usize>() - self.out_pos;
        self.shared.queued.fetch_sub(queued, Ordering::AcqRel);
        if self.out_pos > 0 {
            if let Some(first) = self.out.front_mut() {
                first.drain(..self.out_pos);
            }
        }
        (self.stream, self.out)
    }

    /// The poller reported the peer's end of input (or an error).
    pub(super) fn peer_closing(&mut self) {
        self.peer_closing = true;
    }

    pub(super) fn is_dead(&self) -> bool {
        self.state == State::Dead
    }

    /// Reads what the socket has, within a budget. True when the budget ran
    /// out before the socket was drained (edge-triggered: come back soon).
    pub(super) fn on_readable(&mut self, now: Instant, buf: &mut [u8]) -> bool {
        let mut total = 0;
        loop {
            if self.paused || self.read_eof || self.state == State::Dead || self.dead_after_flush {
                return false;
            }
            if self.shared.pending() > self.opts.max_queued {
                if !self.write_blocked {
                    log::debug!(conn = self.id.0; "more than -maxqueued {} bytes wait to be written: reading stops until the peer reads", self.opts.max_queued);
                }
                self.write_blocked = true;
                return false;
            }
            match self.stream.read(buf) {
                Ok(0) => {
                    self.on_eof(now);
                    return false;
                }
                Ok(n) => {
                    self.last_activity = now;
                    self.on_bytes(&buf[..n], now);
                    total += n;
                    if total >= READ_BUDGET {
                        return true;
                    }
                    if n < buf.len() && !self.peer_closing && self.stream.drained_by_short_read() {
                        // All the socket had: what comes later raises a
                        // new readiness edge (saves a read per message).
                        return false;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    log_io_error(self.id, "reading", &e);
                    self.on_eof(now);
                    return false;
                }
            }
        }
    }

    fn on_bytes(&mut self, mut data: &[u8], now: Instant) {
        if self.skip_lf && !data.is_empty() {
            self.skip_lf = false;
            if data[0] == b'\n' {
                data = &data[1..];
            }
        }
        if !matches!(self.state, State::Open | State::CloseSent { .. }) {
            return; // draining: input is discarded
        }
        let mut items = std::mem::take(&mut self.items);
        let res = self.reader.feed(data, &mut items);
        for item in items.drain(..) {
            self.on_item(item, now);
        }
        self.items = items;
        if let Err(e) = res {
            match self.state {
                State::Open => {
                    let reason = if e.code == 1009 {
                        format!("Limit {} exceeded", self.opts.max_message)
                    } else {
                        close::default_reason(e.code)
                    };
                    if e.code == 1009 {
                        log::warn!(conn = self.id.0; "limit hit (-maxmessage {}): {}; closing with 1009", self.opts.max_message, e.why);
                    } else {
                        log::warn!(conn = self.id.0; "protocol error: {}; closing with {} ({reason})", e.why, e.code);
                    }
                    self.fail(e.code, reason, now);
                }
                State::CloseSent { .. } => self.state = State::Dead,
                _ => {}
            }
        }
    }

    fn on_item(&mut self, item: Incoming, now: Instant) {
        if let State::CloseSent { deadline } = self.state {
            // Waiting for the peer's close: nothing else matters now.
            if let Incoming::Close(_) = item {
                self.begin_draining(deadline.max(now));
            }
            return;
        }
        if self.state != State::Open {
            return;
        }
        match item {
            Incoming::Text(b) => self.event(Event::Text(b)),
            Incoming::Binary(b) => self.event(Event::Binary(b)),
            Incoming::Ping(p) => {
                // tcllib answers first, then tells the handler.
                self.queue_frame(true, OP_PONG, &p);
                self.event(Event::Ping(p));
            }
            Incoming::Pong(p) => {
                self.pong_due = None;
                self.event(Event::Pong(p));
            }
            Incoming::Close(payload) => {
                let (code, reason) = match payload {
                    None => (1000, close::default_reason(1000)),
                    Some((code, r)) if r.is_empty() => (code, close::default_reason(code)),
                    Some((code, r)) => (code, r),
                };
                // The answer echoes the code (RFC 6455 5.5.1), with the
                // reason as tcllib.
                self.end(code, reason, now, true);
            }
        }
    }

    /// Fails the connection (RFC 6455 7.1.7) with a close frame.
    fn fail(&mut self, code: u16, reason: String, now: Instant) {
        self.end(code, reason, now, true);
    }

    /// Tells Tcl the connection ends, and waits for it to let go.
    fn end(&mut self, code: u16, reason: String, now: Instant, drain: bool) {
        log::debug!(conn = self.id.0; "connection ended with close code {code} ({reason})");
        // 1006 means "no close frame": it never goes on the wire.
        self.ending_close = (code != 1006).then(|| close::encode_payload(code, &reason));
        self.event(Event::Closed {
            code: Some(code),
            reason,
        });
        self.detached = true;
        let deadline = now + self.opts.close_timeout;
        self.state = State::Ending { deadline, drain };
        self.arm = Some(deadline);
    }

    /// Tcl has handled the end (or will not): send the close frame.
    pub(super) fn release(&mut self, now: Instant) {
        let State::Ending { drain, .. } = self.state else {
            return;
        };
        if let Some(payload) = self.ending_close.take() {
            self.queue_frame(true, OP_CLOSE, &payload);
        }
        if drain {
            self.begin_draining(now + self.opts.close_timeout);
        } else {
            self.dead_after_flush = true;
        }
        self.flush();
    }

    fn begin_draining(&mut self, deadline: Instant) {
        if self.read_eof {
            // Nothing left to wait for: end once the close frame is out.
            self.dead_after_flush = true;
        }
        self.state = State::Draining { deadline };
        self.arm = Some(deadline);
        self.maybe_shut_write();
    }

    /// TCP ended (or broke) under us. The peer may only have shut down
    /// its sending half: answers to what it sent still go out.
    fn on_eof(&mut self, now: Instant) {
        self.read_eof = true;
        match self.state {
            // tcllib reports a vanished peer as 1001.
            State::Open => self.end(1001, close::default_reason(1001), now, false),
            State::Ending { deadline, .. } => {
                self.state = State::Ending {
                    deadline,
                    drain: false,
                }
            }
            _ => self.state = State::Dead,
        }
    }

    fn event(&mut self, ev: Event) {
        if !self.detached {
            self.events.push((self.id, ev));
        }
    }

    /// Bytes a bridged connection's Tcl thread read from its channel.
    pub(super) fn bridge_input(&mut self, data: &[u8], eof: bool) {
        if let Some(b) = self.stream.bridge_mut() {
            b.push_input(data, eof);
        }
    }

    /// Process exit: hand everything queued to a bridge's Tcl thread.
    pub(super) fn unbound_bridge(&mut self) {
        if let Some(b) = self.stream.bridge_mut() {
            b.set_unbounded();
        }
    }

    /// Hands collected events to the owning thread, in one batch (with,
    /// for a bridge, what its Tcl thread must write, even once the
    /// handler has been told goodbye).
    pub(super) fn deliver(&mut self) {
        if let Some(b) = self.stream.bridge_mut() {
            let (out, read_more) = b.take_signals();
            if !out.is_empty() {
                self.events.push((self.id, Event::Output(out)));
            }
            if read_more {
                self.events.push((self.id, Event::ReadMore));
            }
        }
        if self.events.is_empty() {
            return;
        }
        let weight: usize = self.events.iter().map(|(_, e)| e.weight()).sum();
        let inbox = self.shared.inbox.fetch_add(weight, Ordering::AcqRel) + weight;
        self.mailbox.push_all(self.events.drain(..));
        if inbox > INBOX_HIGH_WATER {
            if !self.paused {
                log::debug!(conn = self.id.0; "{inbox} bytes of events wait for Tcl: reading pauses until the handler catches up");
            }
            self.paused = true;
        }
    }

    pub(super) fn resume(&mut self, now: Instant, buf: &mut [u8]) -> bool {
        self.paused = false;
        self.on_readable(now, buf)
    }

    fn queue_frame(&mut self, fin: bool, opcode: u8, payload: &[u8]) {
        let frame = frames::build(self.role, fin, opcode, payload);
        self.shared.queued.fetch_add(frame.len(), Ordering::AcqRel);
        self.out.push_back(frame);
    }

    /// A frame from Tcl (already counted in `queued`).
    pub(super) fn send(&mut self, frame: Vec<u8>, now: Instant) {
        if !matches!(self.state, State::Open | State::Ending { .. }) {
            self.shared.queued.fetch_sub(frame.len(), Ordering::AcqRel);
            return;
        }
        self.last_activity = now;
        // The loop flushes once per batch of commands: many frames, one writev.
        self.out.push_back(frame);
    }

    /// A payload from Tcl to frame here (its length counted in `queued`):
    /// compressed when permessage-deflate was negotiated.
    pub(super) fn send_data(&mut self, fin: bool, opcode: u8, payload: Vec<u8>, now: Instant) {
        let frame = match self.tx_deflate.as_mut() {
            Some(tx) => tx.frame(self.role, fin, opcode, &payload),
            None => frames::build(self.role, fin, opcode, &payload),
        };
        self.shared
            .queued
            .fetch_sub(payload.len(), Ordering::AcqRel);
        self.shared.queued.fetch_add(frame.len(), Ordering::AcqRel);
        self.send(frame, now);
    }

    /// The script closed the WebSocket: send its close frame and wait.
    pub(super) fn close(&mut self, payload: Vec<u8>, now: Instant) {
        self.detached = true;
        if let State::Ending { .. } = self.state {
            // Tcl closed while our end was on its way: answer as planned.
            return self.release(now);
        }
        if self.state != State::Open {
            return;
        }
        if let [hi, lo, ..] = payload[..] {
            log::debug!(conn = self.id.0; "closing with code {} (the script's close)", u16::from_be_bytes([hi, lo]));
        }
        self.queue_frame(true, OP_CLOSE, &payload);
        let deadline = now + self.opts.close_timeout;
        self.state = State::CloseSent { deadline };
        self.arm = Some(deadline);
        self.flush();
    }

    pub(super) fn abort(&mut self) {
        self.detached = true;
        self.state = State::Dead;
    }

    pub(super) fn configure(&mut self, opts: Options, now: Instant, timers: &mut Timers) {
        self.reader.set_limits(limits(&opts));
        self.opts = opts;
        self.keepalive_at = None;
        self.schedule_keepalive(now, timers);
    }

    /// Arms the keepalive timer from now, as tcllib's Liveness does.
    pub(super) fn schedule_keepalive(&mut self, now: Instant, timers: &mut Timers) {
        if self.opts.keepalive.is_zero() || self.state != State::Open {
            self.keepalive_at = None;
            return;
        }
        let at = now + self.opts.keepalive;
        self.keepalive_at = Some(at);
        timers.add(at, self.id);
    }

    /// One of this connection's deadlines may have passed.
    pub(super) fn on_timer(&mut self, now: Instant, timers: &mut Timers) {
        match self.state {
            State::CloseSent { deadline } | State::Draining { deadline } if deadline <= now => {
                self.state = State::Dead;
                return;
            }
            State::Ending { deadline, .. } if deadline <= now => {
                self.release(now);
                return;
            }
            _ => {}
        }
        if self.pong_due.is_some_and(|due| due <= now) && self.state == State::Open {
            log::warn!(conn = self.id.0; "limit hit (-deadtimeout): no pong since the keepalive ping; the peer counts as gone (1006)");
            // No pong since our ping: the peer (or the path) is gone.
            self.end(1006, close::default_reason(1006), now, false);
            return;
        }
        if self.shares_socket {
            // What the Tcl thread wrote itself counts as activity.
            if let Some(t) = self.shared.direct().take_wrote_at() {
                self.last_activity = self.last_activity.max(t);
            }
        }
        let Some(at) = self.keepalive_at else { return };
        if at > now || self.state != State::Open {
            return;
        }
        let due = self.last_activity + self.opts.keepalive;
        if due <= now {
            let ping = std::mem::take(&mut self.opts.ping);
            self.queue_frame(true, OP_PING, &ping);
            self.opts.ping = ping;
            self.last_activity = now;
            if !self.opts.dead_timeout.is_zero() && self.pong_due.is_none() {
                let due = now + self.opts.dead_timeout;
                self.pong_due = Some(due);
                timers.add(due, self.id);
            }
            self.flush();
            self.schedule_keepalive(now, timers);
        } else {
            self.keepalive_at = Some(due);
            timers.add(due, self.id);
        }
    }

    /// A close deadline set since the last call, for the timer heap.
    pub(super) fn take_arm(&mut self) -> Option<Instant> {
        self.arm.take()
    }

    /// The Tcl thread writes to the socket no more; the end of a frame it
    /// began joins the front of the queue.
    fn unshare_socket(&mut self) {
        if !self.shares_socket {
            return;
        }
        let mut d = self.shared.direct();
        d.disarm();
        if let Some(rest) = d.take_rest() {
            debug_assert_eq!(self.out_pos, 0);
            self.out.push_front(rest);
        }
    }

    /// Writes as much of the queue as the socket takes, many frames per
    /// system call.
    pub(super) fn flush(&mut self) {
        if !self.shares_socket {
            return self.flush_locked();
        }
        // Every write to a shared socket holds its lock (see direct.rs).
        let shared = self.shared.clone();
        let mut d = shared.direct();
        if self.state != State::Open {
            d.disarm(); // nothing of the Tcl thread's may follow a close frame
        }
        if let Some(rest) = d.take_rest() {
            debug_assert_eq!(self.out_pos, 0);
            self.out.push_front(rest);
        }
        self.flush_locked();
    }

    fn flush_locked(&mut self) {
        while !self.out.is_empty() && self.state != State::Dead {
            let mut slices: [IoSlice; MAX_IOV] = [IoSlice::new(&[]); MAX_IOV];
            let mut n = 0;
            for (i, buf) in self.out.iter().take(MAX_IOV).enumerate() {
                let start = if i == 0 { self.out_pos } else { 0 };
                slices[i] = IoSlice::new(&buf[start..]);
                n += 1;
            }
            match self.stream.write_vectored(&slices[..n]) {
                Ok(0) => {
                    self.lost();
                    return;
                }
                Ok(written) => self.advance(written),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    log_io_error(self.id, "writing", &e);
                    self.lost();
                    return;
                }
            }
        }
        if self.out.is_empty() && self.state != State::Dead {
            // TLS records made from frames already taken, not yet written.
            match self.stream.flush_pending() {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    log_io_error(self.id, "writing", &e);
                    self.lost();
                    return;
                }
            }
        }
        if self.write_blocked && self.shared.pending() <= self.opts.max_queued {
            self.write_blocked = false;
            self.unblocked = true;
        }
        if self.out.is_empty() {
            if self.dead_after_flush {
                self.state = State::Dead;
            }
            self.maybe_shut_write();
        }
    }

    /// True once after writing made room again for a reader that stopped.
    pub(super) fn take_unblocked(&mut self) -> bool {
        std::mem::take(&mut self.unblocked)
    }

    fn advance(&mut self, mut written: usize) {
        self.shared.queued.fetch_sub(written, Ordering::AcqRel);
        while written > 0 {
            let front = self.out.front().expect("wrote more than was queued").len() - self.out_pos;
            if written >= front {
                written -= front;
                if let Some(frame) = self.out.pop_front() {
                    super::pool::give(frame);
                }
                self.out_pos = 0;
            } else {
                self.out_pos += written;
                written = 0;
            }
        }
    }

    /// A write failed: the peer is gone.
    fn lost(&mut self) {
        if self.state == State::Open {
            log::debug!(conn = self.id.0; "connection ended with close code 1001 (writing failed)");
            self.event(Event::Closed {
                code: Some(1001),
                reason: close::default_reason(1001),
            });
            self.detached = true;
        }
        self.state = State::Dead;
    }

    /// The server ends TCP first once its close frame is out; a client
    /// waits for the server's FIN (bounded by the deadline).
    fn maybe_shut_write(&mut self) {
        if matches!(self.state, State::Draining { .. })
            && self.role == Role::Server
            && self.out.is_empty()
            && !self.write_shut
        {
            self.write_shut = true;
            let _ = self.stream.shutdown(Shutdown::Write);
            if self.stream.is_bridge() {
                // A Tcl channel has no half close: the Tcl thread closes
                // it once this close frame is written out.
                self.state = State::Dead;
            }
        }
    }

    /// Releases the socket for good. The Tcl channel may still hold a
    /// duplicate of the descriptor, so closing ours alone would not end
    /// the connection: shut it down.
    pub(super) fn finish(&mut self) {
        self.unshare_socket();
        let _ = self.stream.shutdown(Shutdown::Both);
        let queued = self.out.iter().map(Vec::len).sum::<usize>() - self.out_pos;
        self.shared.queued.fetch_sub(queued, Ordering::AcqRel);
        self.out.clear();
        self.out_pos = 0;
        if let Some(b) = self.stream.bridge_mut() {
            // The Tcl thread writes what it was handed, then closes the
            // channel (if the script is done with it).
            let (out, _) = b.take_signals();
            let mut last = Vec::with_capacity(2);
            if !out.is_empty() {
                last.push((self.id, Event::Output(out)));
            }
            last.push((self.id, Event::Finished));
            self.mailbox.push_all(last);
        }
    }
}

/// A read or write failed: a TLS failure is a warning, a peer that
/// vanished only news for debugging.
fn log_io_error(id: ConnId, doing: &str, e: &io::Error) {
    match super::transport::tls_error(e) {
        Some(t) => {
            log::warn!(conn = id.0; "TLS failure while {doing}: {}", super::tls::describe(t))
        }
        None => log::debug!(conn = id.0; "{doing} failed: {e}"),
    }
}

fn limits(o: &Options) -> Limits {
    Limits {
        max_message: o.max_message,
        max_frame: o.max_frame,
    }
}
