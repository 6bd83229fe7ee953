//! Text between Tcl strings and UTF-8. Tcl's internal form is not UTF-8:
//! NUL is C0 80 and, on Tcl 8.6, characters above U+FFFF are surrogate
//! pairs. Plain text takes a fast path; the rest goes through Tcl's own
//! utf-8 encoding, on this thread. Bytes in, bytes out: `Obj` (obj.rs)
//! builds on these.

use std::borrow::Cow;
use std::cell::Cell;

use tcl_sys::{tcl, Tcl_DString, Tcl_Encoding, Tcl_Size};

thread_local! {
    static UTF8: Cell<Tcl_Encoding> = const { Cell::new(std::ptr::null_mut()) };
}

fn utf8_encoding() -> Tcl_Encoding {
    UTF8.with(|e| {
        if e.get().is_null() {
            // SAFETY: encodings are process-wide and thread-safe; the
            // reference is kept for the thread's life.
            e.set(unsafe { tcl!(tcl_GetEncoding(std::ptr::null_mut(), c"utf-8".as_ptr())) });
        }
        e.get()
    })
}

/// Tcl's internal form of a string as UTF-8 (borrowed when it is plain).
pub fn tcl_utf_to_utf8(b: &[u8]) -> Cow<'_, [u8]> {
    // C0 only starts Tcl's NUL; ED starts every surrogate (and U+D000-D7FF).
    if memchr::memchr2(0xC0, 0xED, b).is_none() {
        return Cow::Borrowed(b);
    }
    let mut ds = Tcl_DString::default();
    // SAFETY: source pointer and length describe `b`; `ds` is initialised
    // by the call and freed below after copying out.
    unsafe {
        tcl!(tcl_UtfToExternalDString(
            utf8_encoding(),
            b.as_ptr().cast(),
            b.len() as Tcl_Size,
            &mut ds
        ));
        let out = dstring_bytes(&ds).to_vec();
        tcl!(tcl_DStringFree(&mut ds));
        Cow::Owned(out)
    }
}

/// Calls `f` with valid UTF-8 in Tcl's internal form (`b` itself when it
/// is plain).
pub fn with_tcl_utf<R>(b: &[u8], f: impl FnOnce(&[u8]) -> R) -> R {
    let needs_encoding = if cfg!(tcl9) {
        memchr::memchr(0, b).is_some()
    } else {
        has_nul_or_4_byte(b)
    };
    if !needs_encoding {
        return f(b);
    }
    let mut ds = Tcl_DString::default();
    // SAFETY: as in `tcl_utf_to_utf8`.
    unsafe {
        tcl!(tcl_ExternalToUtfDString(
            utf8_encoding(),
            b.as_ptr().cast(),
            b.len() as Tcl_Size,
            &mut ds
        ));
        let r = f(dstring_bytes(&ds));
        tcl!(tcl_DStringFree(&mut ds));
        r
    }
}

/// Whether `b` holds a NUL or starts a 4-byte sequence (F0 and up): the
/// smallest and largest byte of each 64-byte block, which the compiler
/// computes with vector instructions.
fn has_nul_or_4_byte(b: &[u8]) -> bool {
    let hit = |block: &[u8]| {
        let (lo, hi) = block
            .iter()
            .fold((u8::MAX, 0u8), |(lo, hi), &c| (lo.min(c), hi.max(c)));
        lo == 0 || hi >= 0xF0
    };
    let mut blocks = b.chunks_exact(64);
    blocks.any(hit) || hit(blocks.remainder())
}

fn dstring_bytes(ds: &Tcl_DString) -> &[u8] {
    // SAFETY: a DString holds `length` valid bytes at `string`.
    unsafe { std::slice::from_raw_parts(ds.string.cast::<u8>(), ds.length as usize) }
}

#[cfg(test)]
mod tests {
    use super::has_nul_or_4_byte;

    #[test]
    fn finds_nul_or_4_byte_starts_anywhere() {
        for len in [0, 1, 63, 64, 65, 200] {
            let clean = vec![b'a'; len];
            assert!(!has_nul_or_4_byte(&clean));
            for at in 0..len {
                for (byte, hit) in [(0u8, true), (0xF0, true), (0xF4, true), (0xEF, false)] {
                    let mut v = clean.clone();
                    v[at] = byte;
                    assert_eq!(
                        has_nul_or_4_byte(&v),
                        hit,
                        "len {len} at {at} byte {byte:x}"
                    );
                }
            }
        }
    }
}
