//! Log levels as tcllib's logger has them.

/// tcllib's level names, lowest first.
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

/// A log level: an index into [`LEVELS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Level(pub usize);

impl Level {
    /// "debug".
    pub const DEBUG: Level = Level(0);
    /// "info".
    pub const INFO: Level = Level(1);
    /// "notice".
    pub const NOTICE: Level = Level(2);
    /// "warn".
    pub const WARN: Level = Level(3);
    /// "error", the level an interpreter starts with.
    pub const ERROR: Level = Level(4);

    /// The level named `s`, if it is one.
    pub fn parse(s: &str) -> Option<Level> {
        LEVELS.iter().position(|l| *l == s).map(Level)
    }

    /// The level's name.
    pub fn name(self) -> &'static str {
        LEVELS[self.0]
    }
}
