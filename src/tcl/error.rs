//! The one error type of the Tcl layer: what a command fails with, a
//! message and its `-errorcode` list. It becomes a Tcl error in one place,
//! where Tcl calls the command (`ffi::interp`).

use std::fmt;

/// A Tcl error: the interpreter's result and its `-errorcode` list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TclError {
    /// The error message (the command's result).
    pub msg: String,
    /// The whole `-errorcode` list (e.g. `WEBSOCKET OPTION VALUE`).
    pub code: Vec<String>,
    /// Tcl's own error, which Tcl left in the interpreter (result,
    /// `-errorcode`, `-errorinfo`): raised as Tcl left it.
    pub(crate) left_in_interp: bool,
}

impl TclError {
    /// An error of the package: `-errorcode {WEBSOCKET code...}`.
    pub fn ws(msg: impl Into<String>, code: &[&str]) -> TclError {
        let mut words = Vec::with_capacity(code.len() + 1);
        words.push("WEBSOCKET".to_owned());
        words.extend(code.iter().map(|w| (*w).to_owned()));
        TclError {
            msg: msg.into(),
            code: words,
            left_in_interp: false,
        }
    }

    /// A reason with no error code of its own, for a caller to word into
    /// its error (see [`TclError::ws`]).
    pub fn reason(msg: impl Into<String>) -> TclError {
        TclError {
            msg: msg.into(),
            code: Vec::new(),
            left_in_interp: false,
        }
    }
}

impl fmt::Display for TclError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for TclError {}

impl From<String> for TclError {
    fn from(msg: String) -> TclError {
        TclError::reason(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::TclError;

    #[test]
    fn package_errors_start_with_websocket() {
        let e = TclError::ws("boom", &["OPTION", "VALUE"]);
        assert_eq!(e.code, ["WEBSOCKET", "OPTION", "VALUE"]);
        assert_eq!(e.to_string(), "boom");
    }
}
