//! Running a WebSocket's handler as tcllib does: `{*}$handler $sock $kind
//! $msg` at global level, its errors logged, never raised.

use super::ffi::{CallError, Interp, Obj, Preserved};
use super::log::{log, Level};
use super::state;

/// Runs the handler of WebSocket `sock` (if it still is one) with an
/// event.
pub fn notify(interp: Interp, sock: &str, kind: &str, msg: Obj) {
    let Some((handler, name)) = state::with(|r| {
        r.conn(interp, sock)
            .map(|c| (c.handler.clone(), c.name.clone()))
    }) else {
        return;
    };
    run_handler(&interp.preserve(), &handler, name, Obj::from_str(kind), msg);
}

/// Runs `handler` with an event of `sock`, in the interpreter `keep`
/// preserves (the caller's guard covers the whole delivery).
pub fn run_handler(keep: &Preserved, handler: &Obj, sock: Obj, kind: Obj, msg: Obj) {
    let interp = keep.interp();
    if interp.is_deleted() {
        return;
    }
    match keep.call_global(handler, &[sock, kind, msg]) {
        Ok(()) => {}
        Err(CallError::NotAList) => log(interp, Level::ERROR, || {
            "Error when executing WebSocket reception handler: handler is not a list".into()
        }),
        Err(CallError::Failed(e)) => {
            let e = e.to_string_lossy();
            log(interp, Level::ERROR, || {
                format!("Error when executing WebSocket reception handler: {e}")
            });
        }
    }
}
