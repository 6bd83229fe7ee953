//! Large byte buffers recycled between messages. A fresh megabyte costs a
//! page fault per 4 KiB on every message (the C allocator gives blocks that
//! large back to the system when they are freed); a recycled one does not.
//! Incoming messages start in a recycled buffer when the first frame is
//! large, outgoing frames are built in one, and both come back here once
//! Tcl has its copy / the socket has taken them.

use std::sync::Mutex;

/// Smaller buffers are left to the allocator.
pub const MIN: usize = 64 * 1024;
/// Larger ones are not kept.
const MAX: usize = 16 * 1024 * 1024;
/// At most this much is kept in all.
const KEEP: usize = 32 * 1024 * 1024;

struct Pool {
    bufs: Vec<Vec<u8>>,
    bytes: usize,
}

static POOL: Mutex<Pool> = Mutex::new(Pool {
    bufs: Vec::new(),
    bytes: 0,
});

/// A kept empty buffer with room for `len` bytes, if there is one.
pub fn take(len: usize) -> Option<Vec<u8>> {
    if !(MIN..=MAX).contains(&len) {
        return None;
    }
    let mut p = POOL.lock().unwrap();
    let i = p.bufs.iter().position(|b| b.capacity() >= len)?;
    let buf = p.bufs.swap_remove(i);
    p.bytes -= buf.capacity();
    Some(buf)
}

/// An empty buffer with room for `len` bytes: a kept one, or a new one.
pub fn take_or_new(len: usize) -> Vec<u8> {
    take(len).unwrap_or_else(|| Vec::with_capacity(len))
}

/// Keeps a buffer for reuse (if it is worth keeping and there is room).
pub fn give(mut buf: Vec<u8>) {
    let cap = buf.capacity();
    if !(MIN..=MAX).contains(&cap) {
        return;
    }
    buf.clear();
    let mut p = POOL.lock().unwrap();
    if p.bytes + cap <= KEEP {
        p.bytes += cap;
        p.bufs.push(buf);
    }
}

/// Lets every kept buffer go (before memory is given back to the system).
pub fn clear() {
    let bufs = {
        let mut p = POOL.lock().unwrap();
        p.bytes = 0;
        std::mem::take(&mut p.bufs)
    };
    drop(bufs);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pool is one per process: its tests take turns.
    static TURN: Mutex<()> = Mutex::new(());

    #[test]
    fn recycles_large_buffers_only() {
        let _turn = TURN.lock().unwrap();
        clear();
        assert!(take(MIN).is_none());
        give(Vec::with_capacity(MIN - 1));
        assert!(take(1).is_none());
        let mut big = Vec::with_capacity(2 * MIN);
        big.extend_from_slice(&[1, 2, 3]);
        let ptr = big.as_ptr();
        give(big);
        assert!(take(4 * MIN).is_none(), "too small for that");
        let again = take(MIN + 1).expect("kept");
        assert_eq!((again.as_ptr(), again.len()), (ptr, 0));
        assert!(take(MIN).is_none(), "taken once");
    }

    #[test]
    fn keeps_a_bounded_amount() {
        let _turn = TURN.lock().unwrap();
        clear();
        for _ in 0..(KEEP / MAX + 4) {
            give(Vec::with_capacity(MAX));
        }
        assert!(POOL.lock().unwrap().bytes <= KEEP);
        clear();
        assert!(take(MAX).is_none());
    }
}
