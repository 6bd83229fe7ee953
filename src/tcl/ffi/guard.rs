//! No panic may unwind into Tcl's C code: every function Tcl calls runs
//! its Rust part under [`guard`].

/// Runs `f`, turning a panic into a message on stderr and `T::default()`.
pub fn guard<T: Default>(what: &str, f: impl FnOnce() -> T) -> T {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(_) => {
            eprintln!("websocket: internal error in the {what} (a bug; please report it)");
            T::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::guard;

    #[test]
    fn guard_turns_a_panic_into_the_default() {
        assert_eq!(guard("test", || 7), 7);
        assert_eq!(guard("test", || -> i32 { panic!("boom") }), 0);
    }
}
