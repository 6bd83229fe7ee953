//! Tcl objects: [`Obj`], one counted reference, and [`Args`], the words
//! of a command call.

use std::borrow::Cow;
use std::ptr::NonNull;

use tcl_sys::{tcl, Tcl_Obj, Tcl_Size};

use super::text;

/// One counted reference to a Tcl object. Never leaves its thread: it is
/// neither `Send` nor `Sync` (raw pointer inside).
pub struct Obj(NonNull<Tcl_Obj>);

impl Obj {
    /// Takes a new reference to `ptr`.
    ///
    /// # Safety
    /// `ptr` is a live Tcl object of this thread (Tcl's stubs initialised).
    pub unsafe fn from_ptr(ptr: *mut Tcl_Obj) -> Obj {
        let nn = NonNull::new(ptr).expect("Tcl returned a null object");
        // SAFETY: `ptr` is a live object of this thread (the caller's
        // promise); we add our reference.
        unsafe { tcl_sys::tclsys_incr_refcount(nn.as_ptr()) };
        Obj(nn)
    }

    /// The object, for a Tcl call (which takes its own reference if it
    /// keeps it).
    pub(super) fn as_ptr(&self) -> *mut Tcl_Obj {
        self.0.as_ptr()
    }

    /// A string object from bytes in Tcl's internal form (ASCII is always).
    pub fn from_tcl_utf(bytes: &[u8]) -> Obj {
        // SAFETY: pointer and length describe `bytes`; Tcl copies them and
        // returns a new live object.
        unsafe {
            Obj::from_ptr(tcl!(tcl_NewStringObj(
                bytes.as_ptr().cast(),
                bytes.len() as Tcl_Size
            )))
        }
    }

    /// A string object from Rust text.
    pub fn from_str(s: &str) -> Obj {
        if s.bytes().any(|b| b == 0 || b >= 0xF0) {
            Obj::from_utf8(s.as_bytes())
        } else {
            Obj::from_tcl_utf(s.as_bytes())
        }
    }

    /// A string object from valid UTF-8 (a text message).
    pub fn from_utf8(b: &[u8]) -> Obj {
        text::with_tcl_utf(b, Obj::from_tcl_utf)
    }

    /// The empty string.
    pub fn empty() -> Obj {
        Obj::from_tcl_utf(b"")
    }

    /// A byte array object.
    pub fn from_bytes(bytes: &[u8]) -> Obj {
        // SAFETY: pointer and length describe `bytes`; Tcl copies them and
        // returns a new live object.
        unsafe {
            Obj::from_ptr(tcl!(tcl_NewByteArrayObj(
                bytes.as_ptr(),
                bytes.len() as Tcl_Size
            )))
        }
    }

    /// An integer object.
    pub fn from_int(i: i64) -> Obj {
        // SAFETY: plain value constructor returning a new live object.
        unsafe { Obj::from_ptr(tcl!(tcl_NewWideIntObj(i as tcl_sys::Tcl_WideInt))) }
    }

    /// A list object of `items`.
    pub fn list(items: &[Obj]) -> Obj {
        let ptrs: Vec<*mut Tcl_Obj> = items.iter().map(Obj::as_ptr).collect();
        // SAFETY: `ptrs` holds live objects; Tcl takes its own references
        // and returns a new live object.
        unsafe { Obj::from_ptr(tcl!(tcl_NewListObj(ptrs.len() as Tcl_Size, ptrs.as_ptr()))) }
    }

    /// The string representation, in Tcl's internal UTF-8 (NUL as C0 80).
    pub fn tcl_utf(&self) -> &[u8] {
        let mut len: Tcl_Size = 0;
        // SAFETY: Tcl returns a pointer to `len` bytes owned by the object,
        // valid while we hold our reference and do not modify it.
        unsafe {
            let p = tcl_sys::tclsys_get_string_from_obj(self.as_ptr(), &mut len);
            std::slice::from_raw_parts(p.cast::<u8>(), len as usize)
        }
    }

    /// The string's characters as UTF-8.
    pub fn to_utf8(&self) -> Cow<'_, [u8]> {
        text::tcl_utf_to_utf8(self.tcl_utf())
    }

    /// The string as Rust text (for names, options and messages).
    pub fn to_string_lossy(&self) -> String {
        String::from_utf8_lossy(&self.to_utf8()).into_owned()
    }

    /// The string as `str`, without a copy when it is plain (a channel
    /// name always is).
    pub fn str_lossy(&self) -> Cow<'_, str> {
        let b = self.tcl_utf();
        // ASCII without NUL (every channel name) in one pass; once per
        // message in `send`, where the general check cost twice as much.
        if b.iter().all(|&c| c.wrapping_sub(1) < 0x7f) {
            // SAFETY: ASCII is UTF-8.
            return Cow::Borrowed(unsafe { std::str::from_utf8_unchecked(b) });
        }
        match std::str::from_utf8(b) {
            Ok(s) if !s.contains('\u{0}') => Cow::Borrowed(s),
            _ => Cow::Owned(self.to_string_lossy()),
        }
    }

    /// An integer as tcllib's `string is integer` sees it, without an error
    /// in the interpreter when it is not one.
    pub fn int(&self) -> Option<i64> {
        let mut w: tcl_sys::Tcl_WideInt = 0;
        // SAFETY: a null interpreter asks Tcl to leave no error message.
        match unsafe {
            tcl!(tcl_GetWideIntFromObj(
                std::ptr::null_mut(),
                self.as_ptr(),
                &mut w
            ))
        } {
            rc if rc == tcl_sys::TCL_OK as std::ffi::c_int => Some(w),
            _ => None,
        }
    }
}

impl Clone for Obj {
    fn clone(&self) -> Obj {
        // SAFETY: our reference keeps the object live.
        unsafe { Obj::from_ptr(self.as_ptr()) }
    }
}

impl Drop for Obj {
    fn drop(&mut self) {
        // SAFETY: we own one reference, given back here exactly once.
        unsafe { tcl_sys::tclsys_decr_refcount(self.as_ptr()) }
    }
}

/// The words of one command call (`objv`), the command's name first.
#[derive(Clone, Copy)]
pub struct Args<'a>(&'a [*mut Tcl_Obj]);

impl<'a> Args<'a> {
    /// The words Tcl passed to a command.
    ///
    /// # Safety
    /// `objv` holds live objects of this thread for as long as `'a`.
    pub(super) unsafe fn new(objv: &'a [*mut Tcl_Obj]) -> Args<'a> {
        Args(objv)
    }

    /// How many words, the command's name included.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there is no word at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Word `i` (0 is the command's name). Panics past the end.
    pub fn get(&self, i: usize) -> Obj {
        // SAFETY: `new`'s promise: the words are live for 'a.
        unsafe { Obj::from_ptr(self.0[i]) }
    }

    /// Word `i`, or `default` when there are fewer words.
    pub fn get_or(&self, i: usize, default: &str) -> Obj {
        if i < self.len() {
            self.get(i)
        } else {
            Obj::from_str(default)
        }
    }

    /// The words from `i` on.
    pub fn from(&self, i: usize) -> Args<'a> {
        Args(&self.0[i..])
    }

    /// The words in groups of `n` (the last may be shorter).
    pub fn chunks(&self, n: usize) -> impl Iterator<Item = Args<'a>> {
        self.0.chunks(n).map(Args)
    }

    /// The words, for a Tcl call.
    pub(super) fn raw(&self) -> &'a [*mut Tcl_Obj] {
        self.0
    }
}
