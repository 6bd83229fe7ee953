//! Log levels as tcllib's logger has them; messages at or above an
//! interpreter's level go to `::websocket::Log` (logger, or stderr).

use super::ffi::{Interp, Obj};

pub const LEVELS: [&str; 8] = [
    "debug",
    "info",
    "notice",
    "warn",
    "error",
    "critical",
    "alert",
    "emergency",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Level(pub usize);

impl Level {
    pub const DEBUG: Level = Level(0);
    pub const INFO: Level = Level(1);
    pub const NOTICE: Level = Level(2);
    pub const WARN: Level = Level(3);
    pub const ERROR: Level = Level(4);

    pub fn parse(s: &str) -> Option<Level> {
        LEVELS.iter().position(|l| *l == s).map(Level)
    }

    pub fn name(self) -> &'static str {
        LEVELS[self.0]
    }
}

/// Logs `msg` in `interp` if its level lets it through.
pub fn log(interp: Interp, level: Level, msg: impl FnOnce() -> String) {
    if interp.is_deleted() || level < super::state::log_level(interp) {
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
