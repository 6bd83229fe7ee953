//! One WebSocket connection's protocol state after the opening handshake,
//! without I/O: the closing handshake (who sent which close frame, who
//! answered, draining until TCP ends, the close timeout), keepalive pings
//! and the dead-peer deadline, and when reading must pause (flow control).
//!
//! The caller owns the socket, the clock and the timers. Bytes read go in
//! through [`Session::receive`] (and the end of input through
//! [`Session::receive_eof`]), the script's wishes through
//! [`Session::close`], [`Session::release`] and [`Session::abort`], and the
//! time through every call's `now` (the session never reads the clock).
//! Out come [`Event`]s for the script, frames to write
//! ([`Session::take_frames`]), what to do once everything is written
//! ([`Session::all_written`]), and the next deadline
//! ([`Session::next_deadline`]) at which to call [`Session::on_timeout`].

use std::time::{Duration, Instant};

use super::close;
use super::frame::encode_header;
use super::mask::apply_mask;
use super::message::{Incoming, Limits, MessageReader, ReadError};
use super::Role;

/// Undelivered incoming bytes of one connection past which reading stops
/// until the script catches up.
pub const INBOX_HIGH_WATER: usize = 1024 * 1024;

/// Opcodes of the frames a session sends on its own.
const OP_CLOSE: u8 = 8;
const OP_PING: u8 = 9;
const OP_PONG: u8 = 10;

/// Builds one whole frame (header and payload, masked when `Role` is the
/// client): `(role, fin, opcode, payload)`.
pub type BuildFrame = fn(Role, bool, u8, &[u8]) -> Vec<u8>;

/// The default [`BuildFrame`]: a client draws each masking key from the
/// operating system's random source.
pub fn build_frame(role: Role, fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mask = (role == Role::Client).then(|| {
        let mut key = [0u8; 4];
        getrandom::getrandom(&mut key).expect("the operating system's random source failed");
        key
    });
    let mut out = Vec::with_capacity(14 + payload.len());
    encode_header(&mut out, fin, opcode, mask, payload.len() as u64);
    let hlen = out.len();
    out.extend_from_slice(payload);
    if let Some(key) = mask {
        apply_mask(&mut out[hlen..], key, 0);
    }
    out
}

/// The settings a session runs with (the script's `-keepalive`, `-ping`,
/// `-closetimeout`, `-deadtimeout`, `-maxmessage`, `-maxframe` and
/// `-maxqueued` options).
#[derive(Clone, Debug)]
pub struct Settings {
    /// Ping after this long without traffic; zero: never.
    pub keepalive: Duration,
    /// Payload of keepalive pings.
    pub ping: Vec<u8>,
    /// How long to wait for the peer's close frame, for the script to let
    /// go of an ending connection, and for the peer's end of TCP.
    pub close_timeout: Duration,
    /// A peer that has not answered a keepalive ping within this long is
    /// taken for dead (close 1006); zero: never.
    pub dead_timeout: Duration,
    /// Largest incoming message and frame.
    pub limits: Limits,
    /// Most bytes queued for writing before reading stops (a peer that
    /// does not read cannot make answers to its pings pile up).
    pub max_queued: usize,
}

/// What the script hears about, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A text message (valid UTF-8).
    Text(Vec<u8>),
    /// A binary message.
    Binary(Vec<u8>),
    /// A ping (already answered).
    Ping(Vec<u8>),
    /// A pong.
    Pong(Vec<u8>),
    /// The connection ends, with this close code and reason; nothing
    /// follows. The script lets go with [`Session::release`].
    Closed {
        /// The peer's code, the violation's, 1001 (TCP ended) or 1006
        /// (no answer to a keepalive ping).
        code: u16,
        /// The peer's reason, or the text tcllib uses for the code.
        reason: String,
    },
    /// The peer broke the protocol (the connection fails with the error's
    /// close code; a [`Event::Closed`] follows if the script still listens).
    Violation(ReadError),
}

/// What the transport must do once every frame is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterWrite {
    /// Nothing.
    Nothing,
    /// End our sending half of TCP (the server, once close frames are
    /// exchanged, RFC 6455 7.1.1).
    ShutdownWrite,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Open,
    /// The connection is ending (the peer's close frame, a violation, or
    /// TCP EOF) and the script has been told. Frames its handlers send for
    /// the messages before still go out, as with tcllib; once the script
    /// releases the connection (or the deadline passes) our close frame
    /// follows, then draining (`drain`) or the end.
    Ending {
        deadline: Instant,
        drain: bool,
    },
    /// Released without draining (TCP already ended, or no close frame to
    /// wait for): over once the queued frames are written, whenever that
    /// is. The script's frames are still taken, as while `Ending`.
    Flushing,
    /// We sent a close frame and wait for the peer's.
    CloseSent {
        deadline: Instant,
    },
    /// Close frames exchanged (or the connection failed): flush, end TCP
    /// (the server first, RFC 6455 7.1.1) and discard input until EOF.
    Draining {
        deadline: Instant,
    },
    /// Over: the transport may be closed.
    Dead,
}

/// One connection's protocol state: see the module documentation.
pub struct Session {
    role: Role,
    reader: MessageReader,
    settings: Settings,
    build: BuildFrame,
    state: State,
    /// The script has said goodbye to the handler: no more events.
    detached: bool,
    /// Too much undelivered input: stop reading until the script catches up.
    paused: bool,
    /// Over once the queued frames are written.
    end_after_write: bool,
    write_shut: bool,
    last_activity: Instant,
    keepalive_at: Option<Instant>,
    /// When an unanswered keepalive ping makes the peer count as dead.
    pong_due: Option<Instant>,
    /// The close payload to send when an `Ending` connection is released.
    ending_close: Option<Vec<u8>>,
    skip_lf: bool,
    /// The peer has ended its sending half.
    read_eof: bool,
    /// More than `max_queued` bytes wait to be written: reading stopped.
    write_blocked: bool,
    /// Writing unblocked reading: the caller must read again.
    unblocked: bool,
    items: Vec<Incoming>,
    /// Frames made here, to be written (in order, after what is queued).
    frames: Vec<Vec<u8>>,
}

impl Session {
    /// An open connection reading with `reader` (which sets the role's
    /// masking rule, inflating and buffer recycling), at `now`.
    pub fn new(role: Role, reader: MessageReader, settings: Settings, now: Instant) -> Session {
        Session {
            role,
            reader,
            settings,
            build: build_frame,
            state: State::Open,
            detached: false,
            paused: false,
            end_after_write: false,
            write_shut: false,
            last_activity: now,
            keepalive_at: None,
            pong_due: None,
            ending_close: None,
            skip_lf: false,
            read_eof: false,
            write_blocked: false,
            unblocked: false,
            items: Vec::new(),
            frames: Vec::new(),
        }
    }

    /// Frames this session sends are built by `build` (the caller's
    /// buffers and source of masking keys).
    pub fn framing(mut self, build: BuildFrame) -> Session {
        self.build = build;
        self
    }

    /// Drops one LF at the very start of the input: the reader of the
    /// handshake (Tcl's CRLF translation) may have eaten the CR of the
    /// request's last line but not its LF. A frame from a client never
    /// starts with 0x0A. Servers only.
    pub fn skip_leading_lf(&mut self) {
        self.skip_lf = self.role == Role::Server;
    }

    /// Which end we are.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Open: neither side has begun to close.
    pub fn is_open(&self) -> bool {
        self.state == State::Open
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Reading stopped because too much waits to be written.
    pub fn write_blocked(&self) -> bool {
        self.write_blocked
    }

    /// Reading paused because too much waits for the script.
    pub fn paused(&self) -> bool {
        self.paused
    }

    /// Over: the transport may be closed and the session dropped.
    pub fn is_dead(&self) -> bool {
        self.state == State::Dead
    }

    /// Whether to read from the transport now, given `queued_out`, the
    /// bytes waiting to be written. False while paused (see
    /// [`Session::delivered`]), after the end of input, once over, and
    /// while more than `max_queued` bytes wait (until
    /// [`Session::write_progress`] sees room again).
    pub fn wants_read(&mut self, queued_out: usize) -> bool {
        if self.paused || self.read_eof || self.state == State::Dead || self.end_after_write {
            return false;
        }
        if queued_out > self.settings.max_queued {
            self.write_blocked = true;
            return false;
        }
        true
    }

    /// Bytes read from the peer at `now`. Messages, pings and pongs become
    /// events (pings answered first); a close frame or a violation ends
    /// the connection. Input after the close handshake is discarded.
    pub fn receive(&mut self, mut data: &[u8], now: Instant, events: &mut Vec<Event>) {
        self.last_activity = now;
        if self.skip_lf && !data.is_empty() {
            self.skip_lf = false;
            if data[0] == b'\n' {
                data = &data[1..];
            }
        }
        if !matches!(self.state, State::Open | State::CloseSent { .. }) {
            return;
        }
        let mut items = std::mem::take(&mut self.items);
        let res = self.reader.feed(data, &mut items);
        for item in items.drain(..) {
            self.on_item(item, now, events);
        }
        self.items = items;
        if let Err(e) = res {
            let code = e.code();
            match self.state {
                State::Open => {
                    let reason = if code == 1009 {
                        format!("Limit {} exceeded", self.settings.limits.max_message)
                    } else {
                        close::default_reason(code)
                    };
                    events.push(Event::Violation(e));
                    self.end(code, reason, now, true, events);
                }
                State::CloseSent { .. } => {
                    events.push(Event::Violation(e));
                    self.state = State::Dead;
                }
                _ => {}
            }
        }
    }

    fn on_item(&mut self, item: Incoming, now: Instant, events: &mut Vec<Event>) {
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
            Incoming::Text(b) => self.event(events, Event::Text(b)),
            Incoming::Binary(b) => self.event(events, Event::Binary(b)),
            Incoming::Ping(p) => {
                // tcllib answers first, then tells the handler.
                self.queue(OP_PONG, &p);
                self.event(events, Event::Ping(p));
            }
            Incoming::Pong(p) => {
                self.pong_due = None;
                self.event(events, Event::Pong(p));
            }
            Incoming::Close(payload) => {
                let (code, reason) = match payload {
                    None => (1000, close::default_reason(1000)),
                    Some((code, r)) if r.is_empty() => (code, close::default_reason(code)),
                    Some((code, r)) => (code, r),
                };
                // The answer echoes the code (RFC 6455 5.5.1), with the
                // reason as tcllib.
                self.end(code, reason, now, true, events);
            }
        }
    }

    /// The peer ended its sending half (or the connection broke while
    /// reading). Answers to what it sent may still go out.
    pub fn receive_eof(&mut self, now: Instant, events: &mut Vec<Event>) {
        self.read_eof = true;
        match self.state {
            // tcllib reports a vanished peer as 1001.
            State::Open => self.end(1001, close::default_reason(1001), now, false, events),
            State::Ending { deadline, .. } => {
                self.state = State::Ending {
                    deadline,
                    drain: false,
                }
            }
            State::Flushing => {}
            _ => self.state = State::Dead,
        }
    }

    /// Writing failed: the peer is gone.
    pub fn write_failed(&mut self, events: &mut Vec<Event>) {
        if self.state == State::Open {
            self.event(
                events,
                Event::Closed {
                    code: 1001,
                    reason: close::default_reason(1001),
                },
            );
            self.detached = true;
        }
        self.state = State::Dead;
    }

    /// Tells the script the connection ends, and waits for it to let go.
    fn end(&mut self, code: u16, reason: String, now: Instant, drain: bool, ev: &mut Vec<Event>) {
        // 1006 means "no close frame": it never goes on the wire.
        self.ending_close = (code != 1006).then(|| close::encode_payload(code, &reason));
        self.event(ev, Event::Closed { code, reason });
        self.detached = true;
        let deadline = now + self.settings.close_timeout;
        self.state = State::Ending { deadline, drain };
    }

    /// The script has handled [`Event::Closed`] (or will not): our close
    /// frame goes out, then the session drains or ends.
    pub fn release(&mut self, now: Instant) {
        let State::Ending { drain, .. } = self.state else {
            return;
        };
        if let Some(payload) = self.ending_close.take() {
            self.queue(OP_CLOSE, &payload);
        }
        if drain {
            self.begin_draining(now + self.settings.close_timeout);
        } else {
            self.state = State::Flushing;
            self.end_after_write = true;
        }
    }

    fn begin_draining(&mut self, deadline: Instant) {
        if self.read_eof {
            // Nothing left to wait for: end once the close frame is out.
            self.end_after_write = true;
        }
        self.state = State::Draining { deadline };
    }

    /// The script closes the connection with this close payload (code and
    /// reason, already encoded): it hears nothing more. An open session
    /// sends it and waits for the peer's close frame; an ending one sends
    /// the answer it had planned.
    pub fn close(&mut self, payload: &[u8], now: Instant) {
        self.detached = true;
        if let State::Ending { .. } = self.state {
            return self.release(now);
        }
        if self.state != State::Open {
            return;
        }
        self.queue(OP_CLOSE, payload);
        let deadline = now + self.settings.close_timeout;
        self.state = State::CloseSent { deadline };
    }

    /// Ends at once, silently (no close frame, no event).
    pub fn abort(&mut self) {
        self.detached = true;
        self.state = State::Dead;
    }

    /// Whether the script's frames may go out now (open, or ending but not
    /// yet released); when they may, a frame sent at `now` counts as
    /// traffic for keepalive.
    pub fn sending(&mut self, now: Instant) -> bool {
        if !matches!(
            self.state,
            State::Open | State::Ending { .. } | State::Flushing
        ) {
            return false;
        }
        self.last_activity = now;
        true
    }

    /// Traffic at `at` the session did not see (frames written past it):
    /// keepalive counts it.
    pub fn activity(&mut self, at: Instant) {
        self.last_activity = self.last_activity.max(at);
    }

    /// New settings at `now` (the keepalive timer restarts from now).
    pub fn configure(&mut self, settings: Settings, now: Instant) {
        self.reader.set_limits(settings.limits);
        self.settings = settings;
        self.start_keepalive(now);
    }

    /// Starts the keepalive timer from `now`, as tcllib's Liveness does.
    pub fn start_keepalive(&mut self, now: Instant) {
        self.keepalive_at = (!self.settings.keepalive.is_zero() && self.state == State::Open)
            .then(|| now + self.settings.keepalive);
    }

    /// When [`Session::on_timeout`] must be called next, if ever.
    pub fn next_deadline(&self) -> Option<Instant> {
        match self.state {
            State::Open => match (self.keepalive_at, self.pong_due) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
            State::Ending { deadline, .. }
            | State::CloseSent { deadline }
            | State::Draining { deadline } => Some(deadline),
            State::Flushing | State::Dead => None,
        }
    }

    /// Time has come to `now`: the close timeout ends a session waiting
    /// for its peer (or sends the close frame the script did not release);
    /// a keepalive ping goes out after `keepalive` without traffic, and a
    /// peer that did not answer one within `dead_timeout` is taken for
    /// dead (1006). Calling it early does nothing.
    pub fn on_timeout(&mut self, now: Instant, events: &mut Vec<Event>) {
        match self.state {
            State::CloseSent { deadline } | State::Draining { deadline } if deadline <= now => {
                self.state = State::Dead;
                return;
            }
            State::Ending { deadline, .. } if deadline <= now => {
                self.release(now);
                return;
            }
            State::Open => {}
            _ => return,
        }
        if self.pong_due.is_some_and(|due| due <= now) {
            // No pong since our ping: the peer (or the path) is gone.
            self.end(1006, close::default_reason(1006), now, false, events);
            return;
        }
        let Some(at) = self.keepalive_at else { return };
        if at > now {
            return;
        }
        let due = self.last_activity + self.settings.keepalive;
        if due <= now {
            let ping = std::mem::take(&mut self.settings.ping);
            self.queue(OP_PING, &ping);
            self.settings.ping = ping;
            self.last_activity = now;
            if !self.settings.dead_timeout.is_zero() && self.pong_due.is_none() {
                self.pong_due = Some(now + self.settings.dead_timeout);
            }
            self.start_keepalive(now);
        } else {
            self.keepalive_at = Some(due);
        }
    }

    /// The frames made since the last call, in order: to be queued after
    /// what is already queued for writing.
    pub fn take_frames(&mut self) -> std::vec::Drain<'_, Vec<u8>> {
        self.frames.drain(..)
    }

    /// Writing progressed: `queued_out` bytes still wait. Reading stopped
    /// by [`Session::wants_read`] may go on (see [`Session::take_unblocked`]).
    pub fn write_progress(&mut self, queued_out: usize) {
        if self.write_blocked && queued_out <= self.settings.max_queued {
            self.write_blocked = false;
            self.unblocked = true;
        }
    }

    /// True once after [`Session::write_progress`] made room again for a
    /// reader that stopped: the caller must read again.
    pub fn take_unblocked(&mut self) -> bool {
        std::mem::take(&mut self.unblocked)
    }

    /// Everything queued is written: the session may be over now, or the
    /// transport must end its sending half.
    pub fn all_written(&mut self) -> AfterWrite {
        if self.end_after_write {
            self.state = State::Dead;
        }
        if matches!(self.state, State::Draining { .. })
            && self.role == Role::Server
            && !self.write_shut
        {
            self.write_shut = true;
            return AfterWrite::ShutdownWrite;
        }
        AfterWrite::Nothing
    }

    /// Events were handed to the script, whose undelivered input now
    /// totals `inbox` bytes: past [`INBOX_HIGH_WATER`], reading pauses
    /// until [`Session::resume`].
    pub fn delivered(&mut self, inbox: usize) {
        if inbox > INBOX_HIGH_WATER {
            self.paused = true;
        }
    }

    /// The script caught up: reading may go on.
    pub fn resume(&mut self) {
        self.paused = false;
    }

    fn event(&mut self, events: &mut Vec<Event>, ev: Event) {
        if !self.detached {
            events.push(ev);
        }
    }

    fn queue(&mut self, opcode: u8, payload: &[u8]) {
        let frame = (self.build)(self.role, true, opcode, payload);
        self.frames.push(frame);
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
