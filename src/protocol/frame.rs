//! Frame headers (RFC 6455 section 5.2): decoding with every structural check,
//! and encoding.

/// Frame opcodes. `Other(n)` is only produced by `encode_header` callers
/// that pass a raw integer (tcllib's `send` accepts any opcode).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpCode {
    Continuation,
    Text,
    Binary,
    Close,
    Ping,
    Pong,
}

impl OpCode {
    pub fn from_u8(b: u8) -> Option<OpCode> {
        Some(match b {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            _ => return None,
        })
    }
    pub fn as_u8(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
        }
    }
    pub fn is_control(self) -> bool {
        matches!(self, OpCode::Close | OpCode::Ping | OpCode::Pong)
    }
}

/// A decoded frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    pub fin: bool,
    /// RSV1: the message is compressed (permessage-deflate only).
    pub rsv1: bool,
    pub opcode: OpCode,
    pub mask: Option<[u8; 4]>,
    pub payload_len: u64,
}

/// Why a header is refused: every one of these is a 1002 (protocol error).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeaderError {
    ReservedBits,
    UnknownOpcode(u8),
    FragmentedControl,
    ControlTooLong,
    /// Payload length with the most significant bit set, or a non-minimal
    /// extended length is NOT an error (RFC says MUST use minimal, but we
    /// accept non-minimal like most implementations); only the MSB is.
    LengthOverflow,
    /// Mask bit does not match the role: unmasked from a client, masked from
    /// a server.
    BadMasking,
}

impl std::fmt::Display for HeaderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeaderError::ReservedBits => f.write_str("reserved bits set"),
            HeaderError::UnknownOpcode(op) => write!(f, "unknown opcode {op}"),
            HeaderError::FragmentedControl => f.write_str("fragmented control frame"),
            HeaderError::ControlTooLong => f.write_str("control frame payload over 125 bytes"),
            HeaderError::LengthOverflow => f.write_str("payload length with the high bit set"),
            HeaderError::BadMasking => f.write_str("frame masking does not match the role"),
        }
    }
}

impl std::error::Error for HeaderError {}

/// Decodes a header at the start of `buf`. `expect_masked` is true when we
/// are the server (frames from a client must be masked) and false on the
/// client side (frames from a server must not be masked).
/// `allow_rsv1`: permessage-deflate was negotiated, so RSV1 may be set on
/// the first frame of a message (RFC 7692 6); never on control frames or
/// continuations.
/// Returns Ok(None) when `buf` does not yet hold the whole header, else the
/// header and its length in bytes (2 to 14).
pub fn decode_header(
    buf: &[u8],
    expect_masked: bool,
    allow_rsv1: bool,
) -> Result<Option<(FrameHeader, usize)>, HeaderError> {
    // Each check runs as soon as the byte it needs is present, so a bad
    // frame is refused without waiting for the rest of its header.
    let Some(&b0) = buf.first() else {
        return Ok(None);
    };
    let rsv1 = b0 & 0x40 != 0;
    if b0 & 0x30 != 0 || (rsv1 && !allow_rsv1) {
        return Err(HeaderError::ReservedBits);
    }
    let fin = b0 & 0x80 != 0;
    let opcode = OpCode::from_u8(b0 & 0x0F).ok_or(HeaderError::UnknownOpcode(b0 & 0x0F))?;
    if rsv1 && !matches!(opcode, OpCode::Text | OpCode::Binary) {
        return Err(HeaderError::ReservedBits);
    }
    if opcode.is_control() && !fin {
        return Err(HeaderError::FragmentedControl);
    }
    let Some(&b1) = buf.get(1) else {
        return Ok(None);
    };
    let masked = b1 & 0x80 != 0;
    let len7 = b1 & 0x7F;
    if opcode.is_control() && len7 > 125 {
        return Err(HeaderError::ControlTooLong);
    }
    if masked != expect_masked {
        return Err(HeaderError::BadMasking);
    }
    let (payload_len, mut pos) = match len7 {
        126 => match buf.get(2..4) {
            Some(b) => (u64::from(u16::from_be_bytes([b[0], b[1]])), 4),
            None => return Ok(None),
        },
        127 => {
            // The MSB is visible in the first extended byte already.
            if buf.get(2).is_some_and(|&b| b & 0x80 != 0) {
                return Err(HeaderError::LengthOverflow);
            }
            match buf.get(2..10) {
                Some(b) => {
                    let mut a = [0u8; 8];
                    a.copy_from_slice(b);
                    (u64::from_be_bytes(a), 10)
                }
                None => return Ok(None),
            }
        }
        n => (u64::from(n), 2),
    };
    let mask = if masked {
        match buf.get(pos..pos + 4) {
            Some(k) => {
                pos += 4;
                Some([k[0], k[1], k[2], k[3]])
            }
            None => return Ok(None),
        }
    } else {
        None
    };
    let header = FrameHeader {
        fin,
        rsv1,
        opcode,
        mask,
        payload_len,
    };
    Ok(Some((header, pos)))
}

/// Appends a header to `out`: FIN bit, raw 4-bit opcode, mask bit and key
/// when `mask` is Some, minimal length encoding (7 bit, 16 bit or 64 bit).
pub fn encode_header(out: &mut Vec<u8>, fin: bool, opcode: u8, mask: Option<[u8; 4]>, len: u64) {
    let b0 = (u8::from(fin) << 7) | (opcode & 0x0F);
    let mbit = if mask.is_some() { 0x80 } else { 0 };
    if len < 126 {
        out.extend_from_slice(&[b0, mbit | len as u8]);
    } else if len <= 0xFFFF {
        out.extend_from_slice(&[b0, mbit | 126]);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.extend_from_slice(&[b0, mbit | 127]);
        out.extend_from_slice(&len.to_be_bytes());
    }
    if let Some(key) = mask {
        out.extend_from_slice(&key);
    }
}

/// Length of the header `encode_header` writes for these arguments.
pub fn header_len(masked: bool, len: u64) -> usize {
    let ext = if len < 126 {
        0
    } else if len <= 0xFFFF {
        2
    } else {
        8
    };
    2 + ext + if masked { 4 } else { 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdr(b: &[u8], masked: bool) -> Result<Option<(FrameHeader, usize)>, HeaderError> {
        decode_header(b, masked, false)
    }

    #[test]
    fn opcodes() {
        for b in 0u8..16 {
            match OpCode::from_u8(b) {
                Some(op) => {
                    assert!([0, 1, 2, 8, 9, 10].contains(&b));
                    assert_eq!(op.as_u8(), b);
                    assert_eq!(op.is_control(), b >= 8);
                }
                None => assert!(![0, 1, 2, 8, 9, 10].contains(&b)),
            }
        }
        assert_eq!(OpCode::from_u8(0x81), None);
    }

    #[test]
    fn reserved_bits() {
        for rsv in [0x40, 0x20, 0x10, 0x70] {
            assert_eq!(hdr(&[0x81 | rsv], false), Err(HeaderError::ReservedBits));
            assert_eq!(
                hdr(&[0x81 | rsv, 0x00], false),
                Err(HeaderError::ReservedBits)
            );
        }
    }

    #[test]
    fn unknown_opcodes() {
        for op in [3u8, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF] {
            assert_eq!(
                hdr(&[0x80 | op, 0], false),
                Err(HeaderError::UnknownOpcode(op))
            );
            // Detected from the first byte alone.
            assert_eq!(
                hdr(&[0x80 | op], false),
                Err(HeaderError::UnknownOpcode(op))
            );
        }
    }

    #[test]
    fn fragmented_control() {
        for op in [8u8, 9, 10] {
            assert_eq!(hdr(&[op], false), Err(HeaderError::FragmentedControl));
            assert_eq!(hdr(&[op, 0], false), Err(HeaderError::FragmentedControl));
        }
    }

    #[test]
    fn control_too_long() {
        for op in [8u8, 9, 10] {
            assert!(hdr(&[0x80 | op, 125], false).unwrap().is_some());
            for l in [126u8, 127] {
                assert_eq!(
                    hdr(&[0x80 | op, l], false),
                    Err(HeaderError::ControlTooLong)
                );
            }
        }
    }

    #[test]
    fn length_overflow() {
        let mut b = vec![0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(hdr(&b, false), Err(HeaderError::LengthOverflow));
        // Seen as soon as the first extended byte is.
        assert_eq!(hdr(&b[..3], false), Err(HeaderError::LengthOverflow));
        b[2] = 0x7F;
        let (h, n) = hdr(&b, false).unwrap().unwrap();
        assert_eq!(n, 10);
        assert_eq!(h.payload_len, 0x7F00_0000_0000_0000);
    }

    #[test]
    fn bad_masking() {
        assert_eq!(hdr(&[0x81, 0x00], true), Err(HeaderError::BadMasking));
        assert_eq!(hdr(&[0x81, 0x80], false), Err(HeaderError::BadMasking));
        assert!(hdr(&[0x81, 0x80, 1, 2, 3, 4], true).unwrap().is_some());
    }

    #[test]
    fn rsv1_only_on_negotiated_data_frames() {
        assert_eq!(hdr(&[0xC1, 0x00], false), Err(HeaderError::ReservedBits));
        let (h, _) = decode_header(&[0xC1, 0x00], false, true).unwrap().unwrap();
        assert!(h.rsv1 && h.opcode == OpCode::Text);
        let (h, _) = decode_header(&[0x42, 0x00], false, true).unwrap().unwrap();
        assert!(h.rsv1 && h.opcode == OpCode::Binary);
        for b0 in [0xC0, 0xC9, 0xCA, 0xC8, 0xA1, 0x91] {
            assert_eq!(
                decode_header(&[b0, 0x00], false, true),
                Err(HeaderError::ReservedBits),
                "{b0:02X}"
            );
        }
    }

    #[test]
    fn non_minimal_lengths_accepted() {
        let (h, n) = hdr(&[0x82, 126, 0, 5], false).unwrap().unwrap();
        assert_eq!((h.payload_len, n), (5, 4));
        let (h, n) = hdr(&[0x82, 127, 0, 0, 0, 0, 0, 0, 0, 5], false)
            .unwrap()
            .unwrap();
        assert_eq!((h.payload_len, n), (5, 10));
    }

    #[test]
    fn round_trip_and_every_prefix_incomplete() {
        let lens = [0u64, 1, 125, 126, 127, 65535, 65536, 1 << 32, (1 << 63) - 1];
        for &len in &lens {
            for mask in [None, Some([1, 2, 3, 4])] {
                for (fin, op) in [
                    (true, OpCode::Text),
                    (false, OpCode::Binary),
                    (false, OpCode::Continuation),
                ] {
                    let mut b = Vec::new();
                    encode_header(&mut b, fin, op.as_u8(), mask, len);
                    assert_eq!(b.len(), header_len(mask.is_some(), len));
                    let want = FrameHeader {
                        fin,
                        rsv1: false,
                        opcode: op,
                        mask,
                        payload_len: len,
                    };
                    let mut with_payload = b.clone();
                    with_payload.extend_from_slice(b"xyz");
                    assert_eq!(
                        hdr(&with_payload, mask.is_some()),
                        Ok(Some((want, b.len())))
                    );
                    for cut in 0..b.len() {
                        assert_eq!(
                            hdr(&b[..cut], mask.is_some()),
                            Ok(None),
                            "len {len} cut {cut}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn minimal_encoding() {
        let mut b = Vec::new();
        encode_header(&mut b, true, 1, None, 125);
        assert_eq!(b, [0x81, 125]);
        b.clear();
        encode_header(&mut b, true, 2, None, 126);
        assert_eq!(b, [0x82, 126, 0, 126]);
        b.clear();
        encode_header(&mut b, false, 0, Some([9, 8, 7, 6]), 65536);
        assert_eq!(b, [0x00, 0xFF, 0, 0, 0, 0, 0, 1, 0, 0, 9, 8, 7, 6]);
        // Raw opcodes are kept to their 4 bits.
        b.clear();
        encode_header(&mut b, true, 0x13, None, 0);
        assert_eq!(b, [0x83, 0]);
        assert_eq!(header_len(false, 0), 2);
        assert_eq!(header_len(true, 125), 6);
        assert_eq!(header_len(false, 65535), 4);
        assert_eq!(header_len(true, 65536), 14);
    }
}
