//! Logging as tcllib does it: messages at or above an interpreter's level
//! go to `::websocket::Log` (logger, or stderr).

use super::error::TclError;
use super::ffi::{Interp, Obj};
pub use super::level::Level;
use super::state;

/// Logs `msg` in `interp` if its level lets it through.
pub fn log(interp: Interp, level: Level, msg: impl FnOnce() -> String) {
    if interp.is_deleted() || level < state::log_level(interp) {
        return;
    }
    let words = [
        Obj::from_str("::websocket::Log"),
        Obj::from_str(level.name()),
        Obj::from_str(&msg()),
    ];
    let saved = interp.result();
    let _ = interp.eval_global(&words);
    interp.set_result(saved);
}

/// tcllib's answer to a name that is not (or no more) a WebSocket: a
/// warning logged, and the error to raise.
pub fn not_a_websocket(interp: Interp, sock: &str) -> TclError {
    log(interp, Level::WARN, || {
        format!("{sock} is not a WebSocket connection anymore")
    });
    TclError::ws(format!("{sock} is not a WebSocket"), &[])
}
