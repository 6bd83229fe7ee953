//! Building whole outgoing frames for a role: clients mask every frame with
//! a fresh key from the operating system's CSPRNG (RFC 6455 section 5.3).

use std::cell::RefCell;

use crate::protocol::frame::{encode_header, header_len};
use crate::protocol::mask::apply_mask;
use crate::protocol::Role;

thread_local! {
    /// Keys drawn from getrandom in blocks, so a frame costs no syscall.
    static KEYS: RefCell<(Vec<u8>, usize)> = const { RefCell::new((Vec::new(), 0)) };
}

const KEY_BLOCK: usize = 1024;

/// A fresh 4-byte masking key.
pub fn mask_key() -> [u8; 4] {
    KEYS.with(|k| {
        let (buf, pos) = &mut *k.borrow_mut();
        if *pos + 4 > buf.len() {
            buf.resize(KEY_BLOCK, 0);
            getrandom::getrandom(buf).expect("the operating system's random source failed");
            *pos = 0;
        }
        let key = [buf[*pos], buf[*pos + 1], buf[*pos + 2], buf[*pos + 3]];
        *pos += 4;
        key
    })
}

/// Random bytes (the client handshake key).
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b).expect("the operating system's random source failed");
    b
}

/// One frame, header and payload, masked when we are the client.
pub fn build(role: Role, fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mask = (role == Role::Client).then(mask_key);
    let hlen = header_len(mask.is_some(), payload.len() as u64);
    let mut out = super::pool::take_or_new(hlen + payload.len());
    encode_header(&mut out, fin, opcode, mask, payload.len() as u64);
    out.extend_from_slice(payload);
    if let Some(key) = mask {
        apply_mask(&mut out[hlen..], key, 0);
    }
    out
}

/// The header of an unmasked frame (a server's), for a payload written
/// beside it: at most 10 bytes.
pub fn server_header(fin: bool, opcode: u8, len: usize) -> ([u8; 10], usize) {
    // On the stack: this runs once per message sent.
    let mut h = [0u8; 10];
    h[0] = (u8::from(fin) << 7) | (opcode & 0x0F);
    let n = if len < 126 {
        h[1] = len as u8;
        2
    } else if len <= 0xFFFF {
        h[1] = 126;
        h[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        4
    } else {
        h[1] = 127;
        h[2..10].copy_from_slice(&(len as u64).to_be_bytes());
        10
    };
    (h, n)
}

/// The length of the frame [`build`] makes for a payload of `len` bytes.
pub fn frame_len(role: Role, len: usize) -> usize {
    header_len(role == Role::Client, len as u64) + len
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_header_is_encode_header_unmasked() {
        for len in [0usize, 1, 125, 126, 127, 0xFFFF, 0x1_0000, 5 << 20] {
            for (fin, op) in [(true, 1u8), (false, 2), (true, 9)] {
                let mut want = Vec::new();
                encode_header(&mut want, fin, op, None, len as u64);
                let (h, n) = server_header(fin, op, len);
                assert_eq!(&h[..n], &want[..], "len {len}");
            }
        }
    }
}
