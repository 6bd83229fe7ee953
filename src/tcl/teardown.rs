//! Ends that come from Tcl's side: the script closed a WebSocket's
//! channel, moved it to another thread, deleted its interpreter; the
//! thread or the process exits.

use std::time::Duration;

use super::bridge;
use super::ffi::events::{self, Hook, InterpHook};
use super::ffi::{Channel, ChannelCallback, Interp};
use super::log::{self, log, Level};
use super::state;
use crate::engine::{self, ConnId};

/// Arranges for the script closing `chan` to end connection `id`.
pub fn watch_script_close(chan: Channel, id: ConnId) {
    chan.watch_close::<ScriptClosed>(id, true);
}

/// Undoes [`watch_script_close`] (the package closes the channel itself).
pub fn unwatch_script_close(chan: Channel, id: ConnId) {
    chan.watch_close::<ScriptClosed>(id, false);
}

/// The close handler on a WebSocket's channel.
struct ScriptClosed;

impl ChannelCallback for ScriptClosed {
    const WHAT: &'static str = "close handler";
    fn call(id: ConnId) {
        channel_closed(id)
    }
}

/// The script closed the channel under a live WebSocket: drop it quietly.
fn channel_closed(id: ConnId) {
    if !state::has_registry() {
        return;
    }
    let gone = state::with(|r| {
        let (interp, name) = r.by_id.get(&id)?.clone();
        let gone = r.remove_conn(interp, &name);
        r.prune_moved();
        gone
    });
    if gone.is_some() {
        engine::engine().abort(id);
    }
}

/// A WebSocket's channel is being moved to another thread
/// (`thread::transfer`): the WebSocket ends here, as if the script had
/// closed the channel, and nothing of ours stays on the channel.
pub fn channel_moved_away(chan: Channel) {
    if !state::has_registry() {
        return;
    }
    let gone = state::with(|r| {
        let (interp, name) = r.interps.iter().find_map(|(i, st)| {
            st.conns
                .iter()
                .find(|(_, c)| c.channel == Some(chan))
                .map(|(n, _)| (*i, n.clone()))
        })?;
        let gone = r.remove_conn(interp, &name);
        r.prune_moved();
        gone.map(|c| (interp, c))
    });
    if let Some((interp, c)) = gone {
        unwatch_script_close(chan, c.id);
        engine::engine().abort(c.id);
        let msg = format!(
            "WebSocket {} moved to another thread: a WebSocket stays in its thread, connection ended",
            c.name.to_string_lossy()
        );
        // This runs inside `thread::transfer`, under the Thread package's
        // lock, where no script may run (a logger that sends to another
        // thread would deadlock): log once the thread is idle.
        events::when_idle(Box::new(move || {
            // Still registered means not yet deleted and freed.
            if state::has_registry() && state::with(|r| r.interps.contains_key(&interp)) {
                log(interp, Level::ERROR, || msg);
            }
        }));
    }
}

/// Installs the thread's and the process's exit hooks (the process's
/// once).
pub fn install_exit_hooks() {
    events::on_thread_exit::<ThreadExit>();
    static PROCESS: std::sync::Once = std::sync::Once::new();
    PROCESS.call_once(events::on_process_exit::<ProcessExit>);
}

/// Arranges to forget an interpreter's WebSockets when it is deleted.
pub fn watch_interp(interp: Interp) {
    events::on_interp_delete::<InterpDeleted>(interp);
}

struct InterpDeleted;

impl InterpHook for InterpDeleted {
    const WHAT: &'static str = "interpreter deletion callback";
    fn run(interp: Interp) {
        forget_interp(interp)
    }
}

fn forget_interp(interp: Interp) {
    if !state::has_registry() {
        return;
    }
    let gone = state::with(|r| {
        let st = r.interps.remove(&interp)?;
        log::level_removed(st.level);
        for c in st.conns.values() {
            r.by_id.remove(&c.id);
        }
        r.prune_moved();
        Some(st)
    });
    if let Some(st) = gone {
        for c in st.conns.values() {
            if let Some(ch) = c.channel {
                unwatch_script_close(ch, c.id);
            }
            engine::engine().abort(c.id);
        }
    }
    bridge::forget_interp(interp);
}

struct ThreadExit;

impl Hook for ThreadExit {
    const WHAT: &'static str = "thread exit handler";
    fn run() {
        if let Some(reg) = state::take() {
            reg.mailbox.close();
            for st in reg.interps.values() {
                log::level_removed(st.level);
            }
            for id in reg.by_id.keys() {
                engine::engine().abort(*id);
            }
        }
    }
}

struct ProcessExit;

impl Hook for ProcessExit {
    const WHAT: &'static str = "exit handler";
    fn run() {
        if let Some(e) = engine::running() {
            e.shutdown(Duration::from_millis(500));
            // What the engine handed over for bridged channels of this thread.
            if state::has_registry() {
                let mailbox = state::with(|r| r.mailbox.clone());
                bridge::flush_at_exit(&mailbox);
            }
            // Tcl finalizes next: whatever the engine's threads still do (the
            // I/O thread if it did not stop in time, a name lookup), nothing
            // of theirs may reach Tcl any more.
            for mb in engine::Mailbox::all() {
                mb.close();
            }
        }
    }
}
