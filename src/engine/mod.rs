//! The I/O engine: one background thread, driven by mio, serves every
//! WebSocket of the process. Tcl threads talk to it through a command queue
//! and a `Waker`; it answers through each thread's `Mailbox`.

mod compress;
mod conn;
pub mod connect;
mod direct;
#[cfg(feature = "fault-injection")]
mod fault;
pub mod frames;
mod io;
pub mod mailbox;
pub mod options;
pub mod pool;
mod resolver;
mod timers;
pub mod tls;
pub mod transport;

use std::cell::Cell;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::{Poll, Token, Waker};

pub use mailbox::{Event, Mailbox, Notify};
pub use options::Options;
pub use options::{BRIDGE_IN_HIGH_WATER, BRIDGE_WINDOW};

use crate::protocol::Role;

/// Identifies a connection across threads (never reused).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// Counters a connection shares with its Tcl side.
#[derive(Default, Debug)]
pub struct Shared {
    /// Bytes accepted for sending and not yet written to the socket.
    pub queued: AtomicUsize,
    /// Bytes of events in the mailbox not yet handled by Tcl.
    pub inbox: AtomicUsize,
    /// A bridged connection ([`Stream::Bridge`]): bytes the Tcl thread
    /// read from the channel and forwarded, not yet consumed by the engine.
    pub bridge_in: AtomicUsize,
    /// A bridged connection: bytes handed to the Tcl thread for writing
    /// that have not yet left the channel's buffers.
    pub bridge_out: AtomicUsize,
    /// The socket while the Tcl thread may write to it itself, and the
    /// lock every writer holds ([`Engine::write_direct`]).
    direct: direct::Shared,
}

impl Shared {
    /// Bytes accepted for sending and not yet written out: the engine's
    /// queue, plus, for a bridged connection, what the Tcl channel holds.
    pub fn pending(&self) -> usize {
        self.queued.load(Ordering::Acquire) + self.bridge_out.load(Ordering::Acquire)
    }
}

/// Where a connection's bytes come from and go to.
pub enum Stream {
    /// A socket the engine reads and writes itself.
    Tcp(TcpStream),
    /// A Tcl channel that only its thread can read and write (a
    /// `tls::socket`, a reflected channel, a transform): the Tcl thread
    /// forwards what it reads ([`Engine::bridge_input`]) and writes what
    /// the engine hands it ([`Event::Output`]).
    Bridge,
    /// The socket (and unsent output) of this connection, which starts
    /// afresh under a new id: a script took over a WebSocket again.
    Adopt(ConnId),
}

/// A socket handed to the engine.
pub struct Registration {
    pub stream: Stream,
    pub role: Role,
    /// Bytes already read from the socket by someone else (Tcl's buffer).
    pub initial: Vec<u8>,
    /// Bytes to write before anything else (the server's 101 answer).
    pub preamble: Vec<u8>,
    /// Drop one LF at the very start of the input: Tcl's CRLF translation
    /// may have eaten the CR of the request's last line but not its LF. A
    /// frame from a client can never start with 0x0A.
    pub skip_lf: bool,
    pub mailbox: Arc<Mailbox>,
    pub options: Options,
    /// permessage-deflate as negotiated in the handshake.
    pub deflate: Option<crate::protocol::deflate::Agreed>,
}

pub(crate) enum Cmd {
    Register(ConnId, Arc<Shared>, Box<Registration>),
    /// A whole frame, already counted in `Shared::queued`.
    Send(ConnId, Vec<u8>),
    /// A payload to frame (and compress) on this thread: fin, opcode, the
    /// payload (its length counted in `Shared::queued`).
    SendData(ConnId, bool, u8, Vec<u8>),
    /// Start the closing handshake with this close payload; the Tcl side
    /// has already said goodbye to the handler.
    Close(ConnId, Vec<u8>),
    Configure(ConnId, Box<Options>),
    /// The Tcl side is gone (channel closed, interpreter deleted): end now.
    Abort(ConnId),
    /// The Tcl side has handled the end the engine announced.
    Release(ConnId),
    /// The Tcl side drained its inbox below the high-water mark.
    Resume(ConnId),
    /// Bytes a bridged connection's Tcl thread read from the channel
    /// (already counted in `Shared::bridge_in`), and whether it reached
    /// the end.
    Input(ConnId, Vec<u8>, bool),
    /// Output of a bridged connection left the Tcl channel's buffers:
    /// there is room to hand over more.
    Wrote(ConnId),
    /// Open a client WebSocket (`::websocket::open`).
    Connect(ConnId, Arc<Shared>, Box<connect::ConnectRequest>),
    /// A helper thread's result for a connection being opened.
    Connecting(ConnId, connect::Input),
    Shutdown,
}

pub struct Engine {
    cmds: Mutex<Vec<Cmd>>,
    waker: Waker,
    wake_pending: AtomicBool,
    /// When a Tcl thread last started a batch of event deliveries (see
    /// [`Engine::batch`]), in microseconds since `epoch`.
    batch_at: AtomicU64,
    epoch: Instant,
    next_id: AtomicU64,
    thread: Mutex<Option<JoinHandle<()>>>,
    stopped: AtomicBool,
    /// Why the I/O thread failed, once it has: commands are refused from
    /// then on.
    failure: OnceLock<String>,
}

const WAKER: Token = Token(usize::MAX);

static ENGINE: OnceLock<Engine> = OnceLock::new();

static RELEASE_MEMORY: OnceLock<fn()> = OnceLock::new();

/// How the engine gives freed memory back to the system once many
/// connections have ended (the allocator keeps it otherwise). The Tcl
/// layer supplies it, as it calls into the C library.
pub fn set_release_memory(f: fn()) {
    let _ = RELEASE_MEMORY.set(f);
}

/// The process's engine, started on first use.
pub fn engine() -> &'static Engine {
    ENGINE.get_or_init(|| {
        let poll = Poll::new().expect("cannot create the I/O poller");
        let waker = Waker::new(poll.registry(), WAKER).expect("cannot create the I/O waker");
        let thread = std::thread::Builder::new()
            .name("websocket-io".into())
            .spawn(move || supervise(poll))
            .expect("cannot start the I/O thread");
        Engine {
            cmds: Mutex::new(Vec::new()),
            waker,
            wake_pending: AtomicBool::new(false),
            batch_at: AtomicU64::new(0),
            epoch: Instant::now(),
            next_id: AtomicU64::new(1),
            thread: Mutex::new(Some(thread)),
            stopped: AtomicBool::new(false),
            failure: OnceLock::new(),
        }
    })
}

/// Runs the I/O loop; if it panics (its poll failing included), every
/// thread hears that its connections ended (their sockets closed as the
/// loop's state unwound), and the engine refuses further commands.
fn supervise(poll: Poll) {
    let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| io::run(poll)))
    else {
        return; // shut down
    };
    let why = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown error".into());
    log::error!("I/O thread failed (panic caught by its supervisor): {why}; every connection ends with 1011");
    engine().fail(format!("WebSocket I/O thread failed: {why}"));
}

/// The engine if it was ever started.
pub fn running() -> Option<&'static Engine> {
    ENGINE.get()
}

thread_local! {
    /// This thread's batch of event deliveries: when it started, and
    /// whether it has woken the I/O thread yet.
    static BATCH: Cell<Option<(Instant, bool)>> = const { Cell::new(None) };
}

/// For this long after a batch starts, the frames its handlers send after
/// the first do not wake the I/O thread ...
const BATCH_DEFER: Duration = Duration::from_millis(1);
/// ... which, for this long after any batch started, looks for commands
/// on its own ...
pub(crate) const BATCH_WINDOW: Duration = Duration::from_millis(3);
/// ... this often (mio rounds it up to a millisecond when it has nothing
/// else to do). A frame is never held back longer than that, however long
/// a handler runs.
pub(crate) const BATCH_POLL: Duration = Duration::from_micros(50);

/// A Tcl thread's batch of event deliveries; ends when dropped.
pub struct Batch {
    engine: &'static Engine,
    /// The batch this one is nested in (a handler ran the event loop).
    outer: Option<(Instant, bool)>,
}

impl Drop for Batch {
    fn drop(&mut self) {
        BATCH.set(self.outer);
        if !self.engine.cmds.lock().unwrap().is_empty() {
            self.engine.wake();
        }
    }
}

impl Engine {
    fn push(&self, cmd: Cmd) {
        if self.failure.get().is_some() {
            return; // nobody would ever take it
        }
        self.cmds.lock().unwrap().push(cmd);
        match BATCH.get() {
            // Early in a batch that woke the I/O thread already: it picks
            // this up by itself (every frame a handler sends would
            // otherwise cost a syscall and a thread wake-up).
            Some((start, true)) if start.elapsed() < BATCH_DEFER => {}
            Some((start, _)) => {
                BATCH.set(Some((start, true)));
                self.wake();
            }
            None => self.wake(),
        }
    }

    /// Starts a batch of event deliveries on this Tcl thread (see
    /// [`BATCH_DEFER`]); it ends when the result is dropped, waking the
    /// I/O thread for what is still queued.
    pub fn batch(&'static self) -> Batch {
        let now = Instant::now();
        let at = now.saturating_duration_since(self.epoch).as_micros() as u64;
        self.batch_at.fetch_max(at, Ordering::AcqRel);
        Batch {
            engine: self,
            outer: BATCH.replace(Some((now, false))),
        }
    }

    /// Whether a Tcl thread may have queued commands without waking us
    /// (a batch started less than [`BATCH_WINDOW`] ago).
    pub(crate) fn batching(&self, now: Instant) -> bool {
        let at = Duration::from_micros(self.batch_at.load(Ordering::Acquire));
        at > Duration::ZERO && now.saturating_duration_since(self.epoch) < at + BATCH_WINDOW
    }

    fn wake(&self) {
        // One wake-up covers every command queued until the thread drains.
        if !self.wake_pending.swap(true, Ordering::AcqRel) {
            let _ = self.waker.wake();
        }
    }

    pub(crate) fn take_cmds(&self, out: &mut Vec<Cmd>) {
        self.wake_pending.store(false, Ordering::Release);
        std::mem::swap(&mut *self.cmds.lock().unwrap(), out);
    }

    /// Hands a socket to the I/O thread.
    pub fn register(&self, reg: Registration) -> (ConnId, Arc<Shared>) {
        let id = ConnId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let shared = Arc::new(Shared::default());
        shared.queued.store(reg.preamble.len(), Ordering::Relaxed);
        self.push(Cmd::Register(id, shared.clone(), Box::new(reg)));
        (id, shared)
    }

    /// Starts opening a client WebSocket; its events come as
    /// `Event::Connected` or `Event::ConnectFailed`, then as usual.
    pub fn connect(&self, req: connect::ConnectRequest) -> (ConnId, Arc<Shared>) {
        let id = ConnId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let shared = Arc::new(Shared::default());
        self.push(Cmd::Connect(id, shared.clone(), Box::new(req)));
        (id, shared)
    }

    /// Queues a frame; the caller has added its length to `queued`.
    pub fn send(&self, id: ConnId, frame: Vec<u8>) {
        self.push(Cmd::Send(id, frame));
    }

    /// Queues a payload to be framed, compressed when permessage-deflate
    /// was negotiated; the caller has added its length to `queued`.
    pub fn send_data(&self, id: ConnId, fin: bool, opcode: u8, payload: Vec<u8>) {
        self.push(Cmd::SendData(id, fin, opcode, payload));
    }

    pub fn close(&self, id: ConnId, payload: Vec<u8>) {
        self.push(Cmd::Close(id, payload));
    }

    pub fn configure(&self, id: ConnId, options: Options) {
        self.push(Cmd::Configure(id, Box::new(options)));
    }

    pub fn abort(&self, id: ConnId) {
        self.push(Cmd::Abort(id));
    }

    /// Tcl has delivered the `close` the engine reported: the close frame
    /// may follow what the handlers sent before it.
    pub fn release(&self, id: ConnId) {
        self.push(Cmd::Release(id));
    }

    pub fn resume(&self, id: ConnId) {
        self.push(Cmd::Resume(id));
    }

    /// Bytes read from a bridged connection's channel (counted in
    /// `Shared::bridge_in` by the caller); `eof` once it ended.
    pub fn bridge_input(&self, id: ConnId, data: Vec<u8>, eof: bool) {
        self.push(Cmd::Input(id, data, eof));
    }

    /// A bridged connection's channel wrote some of its output.
    pub fn bridge_wrote(&self, id: ConnId) {
        self.push(Cmd::Wrote(id));
    }

    /// Why the I/O thread failed, if it did.
    pub fn failure(&self) -> Option<&str> {
        self.failure.get().map(String::as_str)
    }

    fn fail(&self, why: String) {
        if self.failure.set(why.clone()).is_err() {
            return;
        }
        self.cmds.lock().unwrap().clear();
        for mb in Mailbox::all() {
            mb.push_all([(ConnId(0), Event::EngineFailed(why.clone()))]);
        }
    }

    /// Ends every connection and stops the thread, waiting at most
    /// `grace` for queued bytes to go out.
    pub fn shutdown(&self, grace: Duration) {
        if self.stopped.swap(true, Ordering::AcqRel) {
            return;
        }
        self.push(Cmd::Shutdown);
        let handle = self.thread.lock().unwrap().take();
        if let Some(h) = handle {
            let deadline = std::time::Instant::now() + grace + Duration::from_millis(500);
            while !h.is_finished() && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(2));
            }
            if h.is_finished() {
                let _ = h.join();
            }
        }
    }
}
