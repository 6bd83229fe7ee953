//! The sending half of permessage-deflate on the I/O thread: turns the
//! script's messages into compressed frames. A compressor that takes no
//! context over between messages goes back to a small pool after each
//! message, so idle connections hold none.

use std::cell::RefCell;

use super::frames;
use crate::protocol::deflate::{Agreed, Deflater};
use crate::protocol::Role;

/// RSV1 in a frame's first byte: the message is compressed.
const RSV1: u8 = 0x40;
/// Idle compressors kept for reuse, per (level, window).
const POOL_MAX: usize = 4;

thread_local! {
    static POOL: RefCell<Vec<(u32, u8, Deflater)>> = const { RefCell::new(Vec::new()) };
}

fn take(level: u32, window: u8) -> Deflater {
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        match p.iter().position(|(l, w, _)| *l == level && *w == window) {
            Some(i) => p.swap_remove(i).2,
            None => Deflater::new(level, window),
        }
    })
}

fn give(level: u32, window: u8, mut z: Deflater) {
    z.reset();
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        if p.len() < POOL_MAX {
            p.push((level, window, z));
        }
    });
}

/// One connection's compressor state.
pub(super) struct TxDeflate {
    agreed: Agreed,
    z: Option<Deflater>,
    /// The message being sent in fragments: whether it is compressed.
    open: Option<bool>,
}

impl TxDeflate {
    pub(super) fn new(agreed: Agreed) -> TxDeflate {
        TxDeflate {
            agreed,
            z: None,
            open: None,
        }
    }

    /// The frame for one fragment (or whole message) the script sent;
    /// opcode 0 continues the open message.
    pub(super) fn frame(&mut self, role: Role, fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
        let compress = match self.open {
            Some(c) if opcode == 0 => c,
            // 8 bits: zlib cannot compress within a 256-byte window, and
            // RFC 7692 lets any message go uncompressed.
            _ => {
                matches!(opcode, 1 | 2)
                    && self.agreed.tx_window >= 9
                    && (payload.len() >= self.agreed.min_size || !fin)
            }
        };
        self.open = (!fin).then_some(compress);
        if !compress {
            return frames::build(role, fin, opcode, payload);
        }
        let (level, window) = (self.agreed.level, self.agreed.tx_window);
        let z = self.z.get_or_insert_with(|| take(level, window));
        let mut data = Vec::with_capacity(payload.len() / 2 + 16);
        z.compress(payload, fin, &mut data);
        if fin && self.agreed.tx_reset {
            if let Some(z) = self.z.take() {
                give(level, window, z);
            }
        }
        let mut frame = frames::build(role, fin, opcode, &data);
        if opcode != 0 {
            frame[0] |= RSV1;
        }
        frame
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::message::{Incoming, Limits, MessageReader};

    fn agreed(min_size: usize, window: u8, reset: bool) -> Agreed {
        Agreed {
            answer: String::new(),
            level: 6,
            min_size,
            tx_window: window,
            tx_reset: reset,
            rx_window: 15,
            rx_reset: reset,
        }
    }

    fn read(frames: &[Vec<u8>], reset: bool) -> Vec<Incoming> {
        let mut r = MessageReader::new(Role::Server, Limits::default()).inflating(15, reset);
        let mut out = Vec::new();
        for f in frames {
            r.feed(f, &mut out).unwrap();
        }
        out
    }

    #[test]
    fn messages_and_fragments_round_trip() {
        for reset in [true, false] {
            let mut tx = TxDeflate::new(agreed(10, 15, reset));
            let text = "{\"k\": \"value\"} ".repeat(100);
            let fs = vec![
                tx.frame(Role::Client, true, 1, text.as_bytes()),
                tx.frame(Role::Client, true, 2, b"short"),
                tx.frame(Role::Client, false, 1, b"a"),
                tx.frame(Role::Client, true, 0, text.as_bytes()),
                tx.frame(Role::Client, true, 1, text.as_bytes()),
            ];
            assert_eq!(fs[0][0], 0xC1, "RSV1 on a compressed message");
            assert!(fs[0].len() < text.len() / 4);
            assert_eq!(fs[1][0], 0x82, "under -deflatemin: plain");
            assert_eq!((fs[2][0], fs[3][0]), (0x41, 0x80));
            assert_eq!(tx.z.is_none(), reset, "no context held between messages");
            let out = read(&fs, reset);
            assert_eq!(
                out,
                [
                    Incoming::Text(text.clone().into_bytes()),
                    Incoming::Binary(b"short".to_vec()),
                    Incoming::Text(format!("a{text}").into_bytes()),
                    Incoming::Text(text.clone().into_bytes()),
                ]
            );
        }
        // A window of 8 bits: everything goes out plain.
        let mut tx = TxDeflate::new(agreed(0, 8, true));
        assert_eq!(tx.frame(Role::Server, true, 1, &[b'a'; 500])[0], 0x81);
    }
}
