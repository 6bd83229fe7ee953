//! Payload masking (RFC 6455 section 5.3), a machine word at a time.

/// XORs `data` in place with `key`, where `data` starts `offset` bytes into
/// the frame payload (so a payload can be unmasked in pieces as it arrives).
/// Must be fast: process 8 (or 16) bytes at a time, not byte by byte.
pub fn apply_mask(data: &mut [u8], key: [u8; 4], offset: usize) {
    // Rotate the key so that data[0] lines up with key[offset % 4]; every
    // later multiple of 4 then starts at k[0] again.
    let o = offset & 3;
    let k = [key[o], key[(o + 1) & 3], key[(o + 2) & 3], key[(o + 3) & 3]];
    let wide = u64::from_ne_bytes([k[0], k[1], k[2], k[3], k[0], k[1], k[2], k[3]]);

    let mut chunks = data.chunks_exact_mut(8);
    for c in &mut chunks {
        let mut a = [0u8; 8];
        a.copy_from_slice(c);
        c.copy_from_slice(&(u64::from_ne_bytes(a) ^ wide).to_ne_bytes());
    }
    // The remainder starts at a multiple of 8, hence at k[0].
    for (b, m) in chunks.into_remainder().iter_mut().zip(k.iter().cycle()) {
        *b ^= m;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(data: &mut [u8], key: [u8; 4], offset: usize) {
        for (i, b) in data.iter_mut().enumerate() {
            *b ^= key[(offset + i) % 4];
        }
    }

    #[test]
    fn every_length_and_offset_matches_naive() {
        let key = [0x12, 0x34, 0xAB, 0xFE];
        let src: Vec<u8> = (0..100u8).map(|i| i.wrapping_mul(37)).collect();
        for len in 0..src.len() {
            for offset in 0..12 {
                let mut a = src[..len].to_vec();
                let mut b = a.clone();
                apply_mask(&mut a, key, offset);
                naive(&mut b, key, offset);
                assert_eq!(a, b, "len {len} offset {offset}");
            }
        }
        let mut a = src.clone();
        let mut b = src.clone();
        apply_mask(&mut a, key, usize::MAX);
        naive(&mut b, key, 3);
        assert_eq!(a, b);
    }

    #[test]
    fn piecewise_equals_whole() {
        let key = [0xDE, 0xAD, 0xBE, 0xEF];
        let src: Vec<u8> = (0..257u32).map(|i| (i * 7) as u8).collect();
        let mut whole = src.clone();
        apply_mask(&mut whole, key, 0);
        for cut1 in 0..src.len() {
            let cut2 = (cut1 * 5 + 3) % (src.len() + 1);
            let (c1, c2) = (cut1.min(cut2), cut1.max(cut2));
            let mut parts = src.clone();
            apply_mask(&mut parts[..c1], key, 0);
            apply_mask(&mut parts[c1..c2], key, c1);
            apply_mask(&mut parts[c2..], key, c2);
            assert_eq!(parts, whole);
        }
        // Masking twice restores the data.
        apply_mask(&mut whole, key, 0);
        assert_eq!(whole, src);
    }
}
