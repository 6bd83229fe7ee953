//! WebSockets over channels that only Tcl can read and write: a
//! `tls::socket`, a reflected channel (`chan create`), a channel with a
//! transform pushed on it. Their bytes on the wire are not the bytes the
//! script sees, so the engine cannot take the socket over; it still does
//! the framing, checks, limits and timers (`Transport::Bridge`), while the
//! bytes move through the channel here, on the thread that owns it:
//!
//! - the channel is put in non-blocking binary mode; what it had buffered
//!   goes to the engine first (`Registration::initial`);
//! - a channel handler (readable) reads what is available, without ever
//!   waiting, and forwards it (and the end) with `Engine::bridge_input`;
//!   it is removed while the engine holds more than
//!   `BRIDGE_IN_HIGH_WATER` forwarded bytes or while the handler's inbox
//!   is above `INBOX_HIGH_WATER` (flow control, as for plain sockets), and
//!   installed again when the engine says `ReadMore` or the inbox drains;
//! - `Event::Output` bytes are written with `Tcl_Write` and a non-blocking
//!   flush: Tcl buffers them and writes in the background. Bytes handed
//!   over stay counted in `Shared::bridge_out` until they leave the
//!   channel's buffers (`Tcl_OutputBuffered`, checked after each write and
//!   by a writable handler while some remain), so `conninfo buffered` and
//!   `-maxqueued` see them, and the engine hands over at most
//!   `BRIDGE_WINDOW` bytes at a time;
//! - the channel is closed once both the engine has finished
//!   (`Event::Finished`, after its close frame was handed over) and the
//!   script side has said `disconnect` ([`release`]); with output pending
//!   Tcl flushes it before the channel really closes. A script closing the
//!   channel itself ends the connection at once ([`closed`]).
//!
//! Records live in a thread-local map keyed by connection id; no borrow
//! of it is held while Tcl runs (a reflected channel runs scripts).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::error::TclError;
use super::ffi::{Channel, ChannelCallback, Interp, ReadEnd, Watch};
use super::log::{log, Level};
use crate::engine::options::INBOX_HIGH_WATER;
use crate::engine::{self, ConnId, Event, Shared, BRIDGE_IN_HIGH_WATER};

/// Bytes read from one channel per call of its readable handler.
const READ_BUDGET: usize = 256 * 1024;

struct Record {
    interp: Interp,
    chan: Channel,
    shared: Arc<Shared>,
    /// Readable handler installed.
    reading: bool,
    /// Writable handler installed.
    writing: bool,
    /// The end (or a read error) was forwarded: nothing more to read.
    eof: bool,
    /// Writing failed: further output is dropped.
    failed: bool,
    /// Bytes of ours in the channel's output buffers (counted in
    /// `bridge_out`).
    held: usize,
    /// The script side is done (`disconnect` was said).
    released: bool,
    /// The engine is done with the connection.
    finished: bool,
}

thread_local! {
    static RECORDS: RefCell<HashMap<ConnId, Record>> = RefCell::new(HashMap::new());
}

fn with<R>(id: ConnId, f: impl FnOnce(&mut Record) -> R) -> Option<R> {
    RECORDS
        .try_with(|m| m.borrow_mut().get_mut(&id).map(f))
        .ok()
        .flatten()
}

fn take(pick: impl Fn(ConnId, &Record) -> bool) -> Vec<(ConnId, Record)> {
    RECORDS
        .try_with(|m| {
            let mut m = m.borrow_mut();
            let ids: Vec<ConnId> = m
                .iter()
                .filter(|(k, r)| pick(**k, r))
                .map(|(k, _)| *k)
                .collect();
            ids.into_iter()
                .filter_map(|k| m.remove(&k).map(|r| (k, r)))
                .collect()
        })
        .unwrap_or_default()
}

/// What [`prepare`] found.
pub struct Prepared {
    /// Bytes the channel had for us, to hand to the engine first.
    pub initial: Vec<u8>,
    /// Tcl may have swallowed a CR and be waiting to drop the LF after it.
    pub may_skip_lf: bool,
    /// The channel already reached its end.
    eof: bool,
    /// The script's output still in the channel's buffers.
    held: usize,
}

/// Puts the channel in non-blocking binary mode, starts writing what the
/// script left in its buffers, and reads what it already has.
/// Err: the reason, in words.
pub fn prepare(interp: Interp, chan: Channel) -> Result<Prepared, TclError> {
    let translation = chan.option("-translation").map(|o| o.to_string_lossy());
    // As for a plain socket (see `Channel::take_over`): only "auto" input
    // translation can leave a pending "drop the next LF".
    let input = translation
        .as_deref()
        .and_then(|t| t.split_whitespace().next());
    let may_skip_lf = input == Some("auto") && chan.input_buffered() == 0;
    for (option, value) in [("-blocking", "0"), ("-translation", "binary")] {
        chan.set_option(interp, option, value)
            .map_err(|e| TclError::reason(e.msg))?;
    }
    let mut initial = Vec::new();
    // More than the budget waits in the channel for the readable handler.
    let eof = match chan.read_available(&mut initial, READ_BUDGET) {
        ReadEnd::Eof | ReadEnd::Failed(_) => true,
        ReadEnd::Blocked | ReadEnd::Budget => false,
    };
    // A failed flush shows again at the first write.
    let _ = chan.write_nonblocking(&[]);
    Ok(Prepared {
        initial,
        may_skip_lf,
        eof,
        held: chan.output_buffered(),
    })
}

/// Starts moving the bytes of connection `id` (just registered with the
/// engine) through its channel.
pub fn start(interp: Interp, chan: Channel, id: ConnId, shared: Arc<Shared>, p: Prepared) {
    shared.bridge_out.fetch_add(p.held, Ordering::AcqRel);
    let _ = RECORDS.try_with(|m| {
        m.borrow_mut().insert(
            id,
            Record {
                interp,
                chan,
                shared,
                reading: false,
                writing: false,
                eof: p.eof,
                failed: false,
                held: p.held,
                released: false,
                finished: false,
            },
        )
    });
    chan.watch_close::<ChannelClosed>(id, true);
    if p.eof {
        engine::engine().bridge_input(id, Vec::new(), true);
    }
    update(id);
}

/// Installs or removes the channel handlers as the connection's state
/// asks.
pub fn update(id: ConnId) {
    let Some((chan, want, had)) = with(id, |r| {
        let read = !r.eof
            && !r.finished
            && r.shared.inbox.load(Ordering::Acquire) <= INBOX_HIGH_WATER
            && r.shared.bridge_in.load(Ordering::Acquire) <= BRIDGE_IN_HIGH_WATER;
        let write = r.held > 0 && !r.failed;
        let had = (r.reading, r.writing);
        (r.reading, r.writing) = (read, write);
        (r.chan, (read, write), had)
    }) else {
        return;
    };
    if want.0 != had.0 {
        watch(chan, Watch::Readable, id, want.0);
    }
    if want.1 != had.1 {
        watch(chan, Watch::Writable, id, want.1);
    }
}

/// Installs or removes one of our handlers on a bridged channel.
fn watch(chan: Channel, which: Watch, id: ConnId, on: bool) {
    match which {
        Watch::Readable => chan.watch::<ChannelReadable>(which, id, on),
        Watch::Writable => chan.watch::<ChannelWritable>(which, id, on),
    }
}

/// The readable handler of a bridged channel.
struct ChannelReadable;

impl ChannelCallback for ChannelReadable {
    const WHAT: &'static str = "channel handler";
    fn call(id: ConnId) {
        readable(id)
    }
}

/// The writable handler of a bridged channel.
struct ChannelWritable;

impl ChannelCallback for ChannelWritable {
    const WHAT: &'static str = "channel handler";
    fn call(id: ConnId) {
        writable(id)
    }
}

/// The close handler of a bridged channel.
struct ChannelClosed;

impl ChannelCallback for ChannelClosed {
    const WHAT: &'static str = "close handler";
    fn call(id: ConnId) {
        closed(id)
    }
}

/// The readable handler: forwards what the channel has.
fn readable(id: ConnId) {
    let Some((chan, interp)) = with(id, |r| (r.chan, r.interp)) else {
        return;
    };
    let mut data = Vec::new();
    let end = chan.read_available(&mut data, READ_BUDGET);
    let eof = match &end {
        ReadEnd::Eof => true,
        ReadEnd::Failed(why) => {
            log(interp, Level::NOTICE, || {
                format!("Cannot read from the channel of a WebSocket: {why}")
            });
            true
        }
        ReadEnd::Blocked | ReadEnd::Budget => false,
    };
    // Reading may have run a script (a reflected channel) that closed it.
    let Some(shared) = with(id, |r| {
        r.eof |= eof;
        r.shared.clone()
    }) else {
        return;
    };
    if !data.is_empty() {
        shared.bridge_in.fetch_add(data.len(), Ordering::AcqRel);
    }
    if !data.is_empty() || eof {
        engine::engine().bridge_input(id, data, eof);
    }
    update(id);
}

/// The writable handler: the background flush made progress.
fn writable(id: ConnId) {
    account(id);
    update(id);
}

/// Counts the bytes that left the channel's buffers since last time, and
/// lets the engine hand over more.
pub fn account(id: ConnId) {
    let Some((chan, held)) = with(id, |r| (r.chan, r.held)) else {
        return;
    };
    if held == 0 {
        return;
    }
    let now = chan.output_buffered();
    if now >= held {
        return;
    }
    let Some((shared, finished)) = with(id, |r| {
        r.held = now;
        (r.shared.clone(), r.finished)
    }) else {
        return;
    };
    shared.bridge_out.fetch_sub(held - now, Ordering::AcqRel);
    if !finished {
        engine::engine().bridge_wrote(id);
    }
}

/// An engine event for a bridged connection.
pub fn on_event(id: ConnId, ev: Event) {
    match ev {
        Event::Output(bytes) => output(id, &bytes),
        Event::ReadMore => update(id),
        Event::Finished if with(id, |r| r.finished = true).is_some() => maybe_close(id),
        _ => {}
    }
}

fn output(id: ConnId, bytes: &[u8]) {
    let Some((chan, shared, failed, interp)) =
        with(id, |r| (r.chan, r.shared.clone(), r.failed, r.interp))
    else {
        return;
    };
    let n = bytes.len();
    if !failed && chan.write_nonblocking(bytes) {
        with(id, |r| r.held += n);
        account(id);
    } else {
        // The peer is gone: tell the engine (as an end of input), drop
        // what it still hands over.
        let held = with(id, |r| {
            let tell = !r.eof;
            r.failed = true;
            r.eof = true;
            (std::mem::take(&mut r.held), tell)
        });
        shared
            .bridge_out
            .fetch_sub(n + held.map_or(0, |h| h.0), Ordering::AcqRel);
        if held.is_some_and(|h| h.1) {
            log(interp, Level::NOTICE, || {
                "Cannot write to the channel of a WebSocket".into()
            });
            engine::engine().bridge_input(id, Vec::new(), true);
        }
    }
    update(id);
}

/// The script side said `disconnect`: the channel closes once the engine
/// is done too. False when `id` is not a bridged connection.
pub fn release(id: ConnId) -> bool {
    if with(id, |r| r.released = true).is_none() {
        return false;
    }
    maybe_close(id);
    true
}

fn maybe_close(id: ConnId) {
    let done = take(|k, r| k == id && r.finished && r.released);
    for (id, r) in done {
        unwatch(id, &r);
        if !r.interp.is_deleted() {
            r.chan.close_bridged(r.interp);
        }
    }
}

/// Removes every handler of ours from a channel that stays open.
fn unwatch(id: ConnId, r: &Record) {
    if r.reading {
        watch(r.chan, Watch::Readable, id, false);
    }
    if r.writing {
        watch(r.chan, Watch::Writable, id, false);
    }
    r.chan.watch_close::<ChannelClosed>(id, false);
}

/// The channel was closed (by the script, or with its interpreter or
/// thread): the engine drops the connection at once.
fn closed(id: ConnId) {
    let gone = take(|k, _| k == id);
    for (id, r) in gone {
        // The channel is still whole while its close handlers run.
        if r.reading {
            watch(r.chan, Watch::Readable, id, false);
        }
        if r.writing {
            watch(r.chan, Watch::Writable, id, false);
        }
        if !r.finished {
            engine::engine().abort(id);
        }
    }
}

/// Forgets a connection without closing its channel (taken over again).
pub fn forget(id: ConnId) {
    for (id, r) in take(|k, _| k == id) {
        unwatch(id, &r);
    }
}

/// The interpreter is being deleted: its channels close with it, and
/// nothing of ours may run on them any more.
pub fn forget_interp(interp: Interp) {
    for (id, r) in take(|_, r| r.interp == interp) {
        unwatch(id, &r);
        if !r.finished {
            engine::engine().abort(id);
        }
    }
}

/// Process exit, after the engine handed over everything it had queued:
/// writes it to the channels of this thread (Tcl flushes them before the
/// process ends, as it does with any channel's output).
pub fn flush_at_exit(mailbox: &engine::Mailbox) {
    while let (Some((id, ev)), _) = mailbox.pop() {
        if let Event::Output(bytes) = ev {
            output(id, &bytes);
        }
    }
}
