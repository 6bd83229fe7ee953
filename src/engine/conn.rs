//! One connection on the I/O thread: reads the socket into its
//! [`Session`] (the protocol state: frames, the closing handshake,
//! keepalive, flow control), hands the session's events to the Tcl
//! thread, puts its deadlines on the timer heap, and writes what Tcl and
//! the session queued, gathering frames into one `writev`.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Read, Write};
use std::net::Shutdown;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use mio::net::TcpStream;

use super::compress::TxDeflate;
use super::frames;
use super::mailbox::{Event, Mailbox};
use super::options::Options;
use super::request::Registration;
use super::timers::Timers;
use super::transport::{TlsSession, Transport};
use super::types::{ConnId, Shared};
use crate::protocol::message::{Limits, MessageReader};
use crate::protocol::session::{self, AfterWrite, Session, Settings};
use crate::protocol::Role;

/// Bytes read from one connection before the others get a turn.
const READ_BUDGET: usize = 256 * 1024;
/// Most frames gathered into one write.
const MAX_IOV: usize = 64;

/// One WebSocket connection the I/O thread serves.
pub(super) struct Conn {
    id: ConnId,
    pub(super) stream: Transport,
    /// The protocol state: closing handshake, keepalive, flow control.
    session: Session,
    mailbox: Arc<Mailbox>,
    shared: Arc<Shared>,
    out: VecDeque<Vec<u8>>,
    /// Bytes of `out[0]` already written.
    out_pos: usize,
    /// The session's earliest deadline on the timer heap, until it fires.
    armed: Option<Instant>,
    /// What the session said, before it goes into `events`.
    said: Vec<session::Event>,
    events: Vec<(ConnId, Event)>,
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
        let mut reader =
            MessageReader::new(reg.role, limits(&reg.options)).recycling(super::pool::take);
        if let Some(a) = &reg.deflate {
            reader = reader.inflating(a.rx_window, a.rx_reset);
        }
        let mut session =
            Session::new(reg.role, reader, settings(&reg.options), now).framing(frames::build);
        if reg.skip_lf {
            session.skip_leading_lf();
        }
        let mut conn = Conn {
            id,
            stream,
            session,
            tx_deflate: reg.deflate.map(TxDeflate::new),
            mailbox: reg.mailbox,
            shared,
            out,
            out_pos: 0,
            armed: None,
            said: Vec::new(),
            events: Vec::new(),
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
        if !reg.initial.is_empty() {
            conn.session.receive(&reg.initial, now, &mut conn.said);
            conn.collect();
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
        self.session.is_open() && !self.stream.is_bridge()
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

    /// The connection is over: the loop closes it.
    pub(super) fn is_dead(&self) -> bool {
        self.session.is_dead()
    }

    /// Reads what the socket has, within a budget. True when the budget ran
    /// out before the socket was drained (edge-triggered: come back soon).
    pub(super) fn on_readable(&mut self, now: Instant, buf: &mut [u8]) -> bool {
        let mut total = 0;
        loop {
            let blocked = self.session.write_blocked();
            if !self.session.wants_read(self.shared.pending()) {
                if !blocked && self.session.write_blocked() {
                    log::debug!(conn = self.id.0; "more than -maxqueued {} bytes wait to be written: reading stops until the peer reads", self.session.settings().max_queued);
                }
                return false;
            }
            match self.stream.read(buf) {
                Ok(0) => {
                    self.session.receive_eof(now, &mut self.said);
                    self.collect();
                    return false;
                }
                Ok(n) => {
                    self.session.receive(&buf[..n], now, &mut self.said);
                    self.collect();
                    if self.out.is_empty() {
                        // The peer answered our close: the server ends TCP now.
                        self.written_out();
                    }
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
                    self.session.receive_eof(now, &mut self.said);
                    self.collect();
                    return false;
                }
            }
        }
    }

    /// Takes what the session said and made: events for Tcl, frames
    /// queued for writing (counted in `queued`).
    fn collect(&mut self) {
        self.collect_after(false);
    }

    /// [`Conn::collect`], after a failed write when `write_failed`.
    fn collect_after(&mut self, write_failed: bool) {
        for frame in self.session.take_frames() {
            self.shared.queued.fetch_add(frame.len(), Ordering::AcqRel);
            self.out.push_back(frame);
        }
        let mut said = self.said.drain(..).peekable();
        while let Some(ev) = said.next() {
            let ev = match ev {
                session::Event::Text(b) => Event::Text(b),
                session::Event::Binary(b) => Event::Binary(b),
                session::Event::Ping(b) => Event::Ping(b),
                session::Event::Pong(b) => Event::Pong(b),
                session::Event::Closed { code, reason } => {
                    if write_failed {
                        log::debug!(conn = self.id.0; "connection ended with close code {code} (writing failed)");
                    } else {
                        if code == 1006 {
                            log::warn!(conn = self.id.0; "limit hit (-deadtimeout): no pong since the keepalive ping; the peer counts as gone (1006)");
                        }
                        log::debug!(conn = self.id.0; "connection ended with close code {code} ({reason})");
                    }
                    Event::Closed {
                        code: Some(code),
                        reason,
                    }
                }
                // Tcl hears of a violation by its close code alone.
                session::Event::Violation(e) => {
                    if let Some(session::Event::Closed { code, reason }) = said.peek() {
                        if *code == 1009 {
                            log::warn!(conn = self.id.0; "limit hit (-maxmessage {}): {}; closing with 1009", self.session.settings().limits.max_message, e.why());
                        } else {
                            log::warn!(conn = self.id.0; "protocol error: {}; closing with {code} ({reason})", e.why());
                        }
                    }
                    continue;
                }
            };
            self.events.push((self.id, ev));
        }
    }

    /// Tcl has handled the end (or will not): send the close frame.
    pub(super) fn release(&mut self, now: Instant) {
        self.session.release(now);
        self.collect();
        self.flush();
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
        let paused = self.session.paused();
        self.session.delivered(inbox);
        if !paused && self.session.paused() {
            log::debug!(conn = self.id.0; "{inbox} bytes of events wait for Tcl: reading pauses until the handler catches up");
        }
    }

    /// Tcl caught up with the input: read again.
    pub(super) fn resume(&mut self, now: Instant, buf: &mut [u8]) -> bool {
        self.session.resume();
        self.on_readable(now, buf)
    }

    /// A frame from Tcl (already counted in `queued`).
    pub(super) fn send(&mut self, frame: Vec<u8>, now: Instant) {
        if !self.session.sending(now) {
            self.shared.queued.fetch_sub(frame.len(), Ordering::AcqRel);
            return;
        }
        // The loop flushes once per batch of commands: many frames, one writev.
        self.out.push_back(frame);
    }

    /// A payload from Tcl to frame here (its length counted in `queued`):
    /// compressed when permessage-deflate was negotiated.
    pub(super) fn send_data(&mut self, fin: bool, opcode: u8, payload: Vec<u8>, now: Instant) {
        let role = self.session.role();
        let frame = match self.tx_deflate.as_mut() {
            Some(tx) => tx.frame(role, fin, opcode, &payload),
            None => frames::build(role, fin, opcode, &payload),
        };
        self.shared
            .queued
            .fetch_sub(payload.len(), Ordering::AcqRel);
        self.shared.queued.fetch_add(frame.len(), Ordering::AcqRel);
        self.send(frame, now);
    }

    /// The script closed the WebSocket: send its close frame and wait.
    pub(super) fn close(&mut self, payload: Vec<u8>, now: Instant) {
        if self.session.is_open() {
            if let [hi, lo, ..] = payload[..] {
                log::debug!(conn = self.id.0; "closing with code {} (the script's close)", u16::from_be_bytes([hi, lo]));
            }
        }
        self.session.close(&payload, now);
        self.collect();
        self.flush();
    }

    /// The script aborted the connection: it ends now, silently.
    pub(super) fn abort(&mut self) {
        self.session.abort();
    }

    /// New options from the script (the keepalive timer restarts).
    pub(super) fn configure(&mut self, opts: Options, now: Instant) {
        self.session.configure(settings(&opts), now);
    }

    /// Arms the keepalive timer from now, as tcllib's Liveness does.
    pub(super) fn schedule_keepalive(&mut self, now: Instant) {
        self.session.start_keepalive(now);
    }

    /// One of this connection's deadlines may have passed.
    pub(super) fn on_timer(&mut self, now: Instant) {
        self.armed = None;
        if self.shares_socket {
            // What the Tcl thread wrote itself counts as activity.
            if let Some(t) = self.shared.direct().take_wrote_at() {
                self.session.activity(t);
            }
        }
        self.session.on_timeout(now, &mut self.said);
        self.collect();
        self.flush();
    }

    /// Puts the session's next deadline on the timer heap, unless an
    /// earlier one there will wake it first.
    pub(super) fn arm(&mut self, timers: &mut Timers) {
        if let Some(at) = self.session.next_deadline() {
            if self.armed.is_none_or(|a| at < a) {
                self.armed = Some(at);
                timers.add(at, self.id);
            }
        }
    }

    /// The Tcl thread writes to the socket no more; the end of a frame it
    /// began joins the front of the queue.
    fn unshare_socket(&mut self) {
        if !self.shares_socket {
            return;
        }
        let mut d = self.shared.direct();
        d.disarm();
        if let Some(rest) = d.take_rest(&self.shared) {
            debug_assert_eq!(self.out_pos, 0);
            self.out.push_front(rest);
        }
    }

    /// Writes as much of the queue as the socket takes, many frames per
    /// system call.
    pub(super) fn flush(&mut self) {
        // With nothing of its own to write, the I/O thread leaves a shared
        // socket to the Tcl thread (no lock: a burst's frames stay gathered).
        if !self.shares_socket
            || (self.out.is_empty() && self.session.is_open() && !self.shared.direct_turn())
        {
            return self.flush_locked();
        }
        // Every write to a shared socket holds its lock (see direct.rs).
        let shared = self.shared.clone();
        let mut d = shared.direct();
        if !self.session.is_open() {
            d.disarm(); // nothing of the Tcl thread's may follow a close frame
        }
        if let Some(rest) = d.take_rest(&shared) {
            debug_assert_eq!(self.out_pos, 0);
            self.out.push_front(rest);
        }
        self.flush_locked();
    }

    fn flush_locked(&mut self) {
        while !self.out.is_empty() && !self.session.is_dead() {
            let mut slices: [IoSlice; MAX_IOV] = [IoSlice::new(&[]); MAX_IOV];
            let mut n = 0;
            for (i, buf) in self.out.iter().take(MAX_IOV).enumerate() {
                let start = if i == 0 { self.out_pos } else { 0 };
                slices[i] = IoSlice::new(&buf[start..]);
                n += 1;
            }
            match self.stream.write_vectored(&slices[..n]) {
                Ok(0) => return self.lost(),
                Ok(written) => self.advance(written),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    log_io_error(self.id, "writing", &e);
                    return self.lost();
                }
            }
        }
        if self.out.is_empty() && !self.session.is_dead() {
            // TLS records made from frames already taken, not yet written.
            match self.stream.flush_pending() {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    log_io_error(self.id, "writing", &e);
                    return self.lost();
                }
            }
        }
        self.session.write_progress(self.shared.pending());
        if self.out.is_empty() {
            self.written_out();
        }
    }

    /// Everything queued is written: the session may be over, or the
    /// server ends TCP first once its close frame is out (a client waits
    /// for the server's FIN, bounded by the deadline).
    fn written_out(&mut self) {
        if self.session.all_written() == AfterWrite::ShutdownWrite {
            let _ = self.stream.shutdown(Shutdown::Write);
            if self.stream.is_bridge() {
                // A Tcl channel has no half close: the Tcl thread closes
                // it once this close frame is written out.
                self.session.abort();
            }
        }
    }

    /// True once after writing made room again for a reader that stopped.
    pub(super) fn take_unblocked(&mut self) -> bool {
        self.session.take_unblocked()
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
        self.session.write_failed(&mut self.said);
        self.collect_after(true);
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

fn settings(o: &Options) -> Settings {
    Settings {
        keepalive: o.keepalive,
        ping: o.ping.clone(),
        close_timeout: o.close_timeout,
        dead_timeout: o.dead_timeout,
        limits: limits(o),
        max_queued: o.max_queued,
    }
}

fn limits(o: &Options) -> Limits {
    Limits {
        max_message: o.max_message,
        max_frame: o.max_frame,
    }
}
