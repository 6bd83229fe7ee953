//! Running a WebSocket's handler as tcllib does: `{*}$handler $sock $kind
//! $msg` at global level, its errors logged, never raised.

use super::ffi::{Interp, Obj};
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
    run_handler(interp, &handler, name, kind, msg);
}

/// Runs `handler` with an event of `sock`.
pub fn run_handler(interp: Interp, handler: &Obj, sock: Obj, kind: &str, msg: Obj) {
    if interp.is_deleted() {
        return;
    }
    let Ok(mut words) = handler.elements(interp) else {
        log(interp, Level::ERROR, || {
            "Error when executing WebSocket reception handler: handler is not a list".into()
        });
        return;
    };
    words.extend([sock, Obj::from_str(kind), msg]);
    if let Err(e) = interp.eval_global(&words) {
        let e = e.to_string_lossy();
        log(interp, Level::ERROR, || {
            format!("Error when executing WebSocket reception handler: {e}")
        });
    }
    if !interp.is_deleted() {
        interp.reset_result();
    }
}
