//! The process's engine: the handle Tcl threads hold ([`Engine`]), which
//! starts the I/O thread on first use, supervises it, and turns every
//! request of a Tcl thread into a command on the queue (queue.rs) that
//! the I/O loop (io.rs) is given.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use mio::{Poll, Waker};

use super::io;
use super::mailbox::{Event, Mailbox};
use super::options::Options;
use super::queue::{Batch, Cmd, Queue, WAKER};
use super::request::{ConnectRequest, Registration};
use super::types::{ConnId, Shared};

/// The I/O engine: Tcl threads queue commands to its thread through it.
pub struct Engine {
    queue: Queue,
    next_id: AtomicU64,
    thread: Mutex<Option<JoinHandle<()>>>,
    stopped: AtomicBool,
}

static ENGINE: OnceLock<Engine> = OnceLock::new();

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
            queue: Queue::new(waker),
            next_id: AtomicU64::new(1),
            thread: Mutex::new(Some(thread)),
            stopped: AtomicBool::new(false),
        }
    })
}

/// Runs the I/O loop; if it panics (its poll failing included), every
/// thread hears that its connections ended (their sockets closed as the
/// loop's state unwound), and the engine refuses further commands. The
/// loop is given the engine's queue (waiting until the engine is made).
fn supervise(poll: Poll) {
    let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        io::run(poll, &engine().queue)
    })) else {
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

impl Engine {
    /// Starts a batch of event deliveries on this Tcl thread (see
    /// queue.rs); it ends when the result is dropped, waking the I/O
    /// thread for what is still queued.
    #[inline]
    pub fn batch(&'static self) -> Batch {
        self.queue.batch()
    }

    /// Writes a frame, `head` then `payload`, to the connection's socket
    /// from the calling thread, if it may (see direct.rs): gathered in a
    /// burst, else one `writev` with what was gathered, no copy. True when
    /// the frame is taken; false when the caller must queue it as usual
    /// ([`Engine::send`]).
    #[inline]
    pub fn write_direct(&self, id: ConnId, shared: &Shared, head: &[u8], payload: &[u8]) -> bool {
        self.queue.write_direct(id, shared, head, payload)
    }

    /// Writes the frames a burst gathered, once its last message has been
    /// handled (src/engine/direct.rs).
    pub fn flush_gathered(&self, id: ConnId, shared: &Shared) {
        self.queue.flush_gathered(id, shared)
    }

    /// Hands a socket to the I/O thread.
    pub fn register(&self, reg: Registration) -> (ConnId, Arc<Shared>) {
        let id = ConnId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let shared = Arc::new(Shared::default());
        shared.queued.store(reg.preamble.len(), Ordering::Relaxed);
        self.queue
            .push(Cmd::Register(id, shared.clone(), Box::new(reg)));
        (id, shared)
    }

    /// Starts opening a client WebSocket; its events come as
    /// `Event::Connected` or `Event::ConnectFailed`, then as usual.
    pub fn connect(&self, req: ConnectRequest) -> (ConnId, Arc<Shared>) {
        let id = ConnId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let shared = Arc::new(Shared::default());
        self.queue
            .push(Cmd::Connect(id, shared.clone(), Box::new(req)));
        (id, shared)
    }

    /// Queues a frame; the caller has added its length to `queued`.
    pub fn send(&self, id: ConnId, frame: Vec<u8>) {
        self.queue.push(Cmd::Send(id, frame));
    }

    /// Queues a payload to be framed, compressed when permessage-deflate
    /// was negotiated; the caller has added its length to `queued`.
    pub fn send_data(&self, id: ConnId, fin: bool, opcode: u8, payload: Vec<u8>) {
        self.queue.push(Cmd::SendData(id, fin, opcode, payload));
    }

    /// Starts the closing handshake with this close payload; the handler
    /// has already been told.
    pub fn close(&self, id: ConnId, payload: Vec<u8>) {
        self.queue.push(Cmd::Close(id, payload));
    }

    /// New settings for a connection (`::websocket::configure`).
    pub fn configure(&self, id: ConnId, options: Options) {
        self.queue.push(Cmd::Configure(id, Box::new(options)));
    }

    /// The Tcl side is gone (channel closed, interpreter deleted): end
    /// the connection now.
    pub fn abort(&self, id: ConnId) {
        self.queue.push(Cmd::Abort(id));
    }

    /// Tcl has delivered the `close` the engine reported: the close frame
    /// may follow what the handlers sent before it.
    pub fn release(&self, id: ConnId) {
        self.queue.push(Cmd::Release(id));
    }

    /// The Tcl side drained its inbox below the high-water mark: read
    /// again.
    pub fn resume(&self, id: ConnId) {
        self.queue.push(Cmd::Resume(id));
    }

    /// Bytes read from a bridged connection's channel (counted in
    /// `Shared::bridge_in` by the caller); `eof` once it ended.
    pub fn bridge_input(&self, id: ConnId, data: Vec<u8>, eof: bool) {
        self.queue.push(Cmd::Input(id, data, eof));
    }

    /// A bridged connection's channel wrote some of its output.
    pub fn bridge_wrote(&self, id: ConnId) {
        self.queue.push(Cmd::Wrote(id));
    }

    /// Why the I/O thread failed, if it did.
    #[inline]
    pub fn failure(&self) -> Option<&str> {
        self.queue.failure()
    }

    /// The I/O thread failed: refuse commands from now on, and tell every
    /// thread that its connections ended.
    fn fail(&self, why: String) {
        if !self.queue.fail(why.clone()) {
            return;
        }
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
        self.queue.push(Cmd::Shutdown);
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
