//! Text between Tcl strings and UTF-8. Tcl's internal form is not UTF-8:
//! NUL is C0 80 and, on Tcl 8.6, characters above U+FFFF are surrogate
//! pairs. Plain text takes a fast path; the rest goes through Tcl's own
//! utf-8 encoding, on this thread.

use std::borrow::Cow;
use std::cell::Cell;

use tcl_sys::{tcl, Tcl_DString, Tcl_Encoding, Tcl_Size};

use super::ffi::Obj;

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

/// A string object's characters as UTF-8.
pub fn obj_to_utf8(obj: &Obj) -> Cow<'_, [u8]> {
    let b = obj.tcl_utf();
    // C0 only starts Tcl's NUL; ED starts every surrogate (and U+D000-D7FF).
    if !b.iter().any(|&c| c == 0xC0 || c == 0xED) {
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

/// A string object from valid UTF-8.
pub fn utf8_to_obj(b: &[u8]) -> Obj {
    let needs_encoding = if cfg!(tcl9) {
        b.contains(&0)
    } else {
        b.iter().any(|&c| c == 0 || c >= 0xF0)
    };
    if !needs_encoding {
        return Obj::from_tcl_utf(b);
    }
    let mut ds = Tcl_DString::default();
    // SAFETY: as in `obj_to_utf8`.
    unsafe {
        tcl!(tcl_ExternalToUtfDString(
            utf8_encoding(),
            b.as_ptr().cast(),
            b.len() as Tcl_Size,
            &mut ds
        ));
        let obj = Obj::from_tcl_utf(dstring_bytes(&ds));
        tcl!(tcl_DStringFree(&mut ds));
        obj
    }
}

fn dstring_bytes(ds: &Tcl_DString) -> &[u8] {
    // SAFETY: a DString holds `length` valid bytes at `string`.
    unsafe { std::slice::from_raw_parts(ds.string.cast::<u8>(), ds.length as usize) }
}
