//! Safe wrappers over the few Tcl C APIs the package uses: reference-counted
//! objects, results and errors, evaluation. Every `unsafe` call into Tcl
//! lives in this module or in `channel.rs` / `events.rs`.

use std::ffi::{c_char, c_int, CStr, CString};
use std::ptr::NonNull;

use tcl_sys::{tcl, Tcl_Interp, Tcl_Obj, Tcl_Size};

pub const TCL_OK: c_int = tcl_sys::TCL_OK as c_int;
pub const TCL_ERROR: c_int = tcl_sys::TCL_ERROR as c_int;

/// One counted reference to a Tcl object. Never leaves its thread: it is
/// neither `Send` nor `Sync` (raw pointer inside).
pub struct Obj(NonNull<Tcl_Obj>);

impl Obj {
    /// Takes a new reference to `ptr` (which must be a live Tcl_Obj).
    pub fn from_ptr(ptr: *mut Tcl_Obj) -> Obj {
        let nn = NonNull::new(ptr).expect("Tcl returned a null object");
        // SAFETY: `ptr` is a live object of this thread; we add our reference.
        unsafe { tcl_sys::tclsys_incr_refcount(nn.as_ptr()) };
        Obj(nn)
    }

    pub fn as_ptr(&self) -> *mut Tcl_Obj {
        self.0.as_ptr()
    }

    /// A string object from bytes in Tcl's internal form (ASCII is always).
    pub fn from_tcl_utf(bytes: &[u8]) -> Obj {
        // SAFETY: pointer and length describe `bytes`; Tcl copies them.
        Obj::from_ptr(unsafe {
            tcl!(tcl_NewStringObj(
                bytes.as_ptr().cast(),
                bytes.len() as Tcl_Size
            ))
        })
    }

    pub fn from_str(s: &str) -> Obj {
        if s.bytes().any(|b| b == 0 || b >= 0xF0) {
            super::text::utf8_to_obj(s.as_bytes())
        } else {
            Obj::from_tcl_utf(s.as_bytes())
        }
    }

    pub fn from_bytes(bytes: &[u8]) -> Obj {
        // SAFETY: pointer and length describe `bytes`; Tcl copies them.
        Obj::from_ptr(unsafe { tcl!(tcl_NewByteArrayObj(bytes.as_ptr(), bytes.len() as Tcl_Size)) })
    }

    pub fn from_int(i: i64) -> Obj {
        // SAFETY: plain value constructor.
        Obj::from_ptr(unsafe { tcl!(tcl_NewWideIntObj(i as tcl_sys::Tcl_WideInt)) })
    }

    pub fn list(items: &[Obj]) -> Obj {
        let ptrs: Vec<*mut Tcl_Obj> = items.iter().map(Obj::as_ptr).collect();
        // SAFETY: `ptrs` holds live objects; Tcl takes its own references.
        Obj::from_ptr(unsafe { tcl!(tcl_NewListObj(ptrs.len() as Tcl_Size, ptrs.as_ptr())) })
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

    /// The string as Rust text (for names, options and messages).
    pub fn to_string_lossy(&self) -> String {
        String::from_utf8_lossy(&super::text::obj_to_utf8(self)).into_owned()
    }

    /// The string as `str`, without a copy when it is plain (a channel
    /// name always is).
    pub fn str_lossy(&self) -> std::borrow::Cow<'_, str> {
        match std::str::from_utf8(self.tcl_utf()) {
            Ok(s) if !s.contains('\u{0}') => std::borrow::Cow::Borrowed(s),
            _ => std::borrow::Cow::Owned(self.to_string_lossy()),
        }
    }

    /// Byte-array view (a string of chars over U+00FF: their low bytes on
    /// Tcl 8.6, an error on Tcl 9).
    pub fn bytes(&self, interp: Interp) -> Result<&[u8], ()> {
        let mut len: Tcl_Size = 0;
        // SAFETY: as for `tcl_utf`; the pointer may be null on Tcl 9 for
        // non-byte strings, with the error left in the interpreter.
        unsafe {
            let p = tcl_sys::tclsys_get_bytes_from_obj(interp.0, self.as_ptr(), &mut len);
            if p.is_null() {
                return Err(());
            }
            Ok(std::slice::from_raw_parts(p, len as usize))
        }
    }

    pub fn elements(&self, interp: Interp) -> Result<Vec<Obj>, ()> {
        let mut n: Tcl_Size = 0;
        let mut v: *mut *mut Tcl_Obj = std::ptr::null_mut();
        // SAFETY: on success Tcl gives `n` element pointers owned by the
        // list; we take our own reference to each at once.
        unsafe {
            if tcl_sys::tclsys_list_obj_get_elements(interp.0, self.as_ptr(), &mut n, &mut v)
                != TCL_OK
            {
                return Err(());
            }
            Ok((0..n as usize).map(|i| Obj::from_ptr(*v.add(i))).collect())
        }
    }

    pub fn boolean(&self, interp: Interp) -> Result<bool, ()> {
        let mut b: c_int = 0;
        // SAFETY: live object and interpreter of this thread.
        match unsafe { tcl_sys::tclsys_get_boolean_from_obj(interp.0, self.as_ptr(), &mut b) } {
            TCL_OK => Ok(b != 0),
            _ => Err(()),
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
            TCL_OK => Some(w),
            _ => None,
        }
    }
}

impl Clone for Obj {
    fn clone(&self) -> Obj {
        Obj::from_ptr(self.as_ptr())
    }
}

impl Drop for Obj {
    fn drop(&mut self) {
        // SAFETY: we own one reference, given back here exactly once.
        unsafe { tcl_sys::tclsys_decr_refcount(self.as_ptr()) }
    }
}

/// An interpreter of this thread.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Interp(pub *mut Tcl_Interp);

impl Interp {
    pub fn set_result(self, obj: Obj) {
        // SAFETY: live interpreter; Tcl takes its own reference.
        unsafe { tcl!(tcl_SetObjResult(self.0, obj.as_ptr())) }
    }

    pub fn result(self) -> Obj {
        // SAFETY: live interpreter; the result object is live.
        Obj::from_ptr(unsafe { tcl!(tcl_GetObjResult(self.0)) })
    }

    pub fn reset_result(self) {
        // SAFETY: live interpreter.
        unsafe { tcl!(tcl_ResetResult(self.0)) }
    }

    /// Sets an error message and `-errorcode {WEBSOCKET ...}`; returns
    /// TCL_ERROR for the command to return.
    pub fn error(self, msg: &str, code: &[&str]) -> c_int {
        self.set_result(Obj::from_str(msg));
        let mut words = vec![Obj::from_str("WEBSOCKET")];
        words.extend(code.iter().map(|w| Obj::from_str(w)));
        // SAFETY: live interpreter and object.
        unsafe { tcl!(tcl_SetObjErrorCode(self.0, Obj::list(&words).as_ptr())) };
        TCL_ERROR
    }

    /// `Tcl_WrongNumArgs`, which knows about ensembles.
    pub fn wrong_args(self, objv: &[*mut Tcl_Obj], n: usize, usage: &str) -> c_int {
        let usage = CString::new(usage).expect("usage has no NUL");
        // SAFETY: `objv` comes from Tcl for this command call.
        unsafe {
            tcl!(tcl_WrongNumArgs(
                self.0,
                n as Tcl_Size,
                objv.as_ptr(),
                usage.as_ptr()
            ))
        };
        TCL_ERROR
    }

    /// Evaluates a command given as words, at global level; Err holds the
    /// error message. A deleted interpreter evaluates nothing.
    pub fn eval_global(self, words: &[Obj]) -> Result<Obj, Obj> {
        if self.is_deleted() {
            return Err(Obj::from_str("interpreter deleted"));
        }
        let ptrs: Vec<*mut Tcl_Obj> = words.iter().map(Obj::as_ptr).collect();
        let _keep = self.preserve();
        // SAFETY: live interpreter (preserved while it runs arbitrary
        // script, which may delete it), live objects kept alive by `words`.
        let rc = unsafe {
            tcl!(tcl_EvalObjv(
                self.0,
                ptrs.len() as Tcl_Size,
                ptrs.as_ptr(),
                tcl_sys::TCL_EVAL_GLOBAL as c_int
            ))
        };
        // Still preserved: the result is readable even if the script
        // deleted the interpreter.
        let res = self.result();
        if rc == TCL_OK {
            Ok(res)
        } else {
            Err(res)
        }
    }

    /// Keeps the interpreter's memory alive until the guard is dropped,
    /// even if a script deletes it meanwhile (`Tcl_Preserve`).
    pub fn preserve(self) -> Preserved {
        // SAFETY: live interpreter of this thread.
        unsafe { tcl!(tcl_Preserve(self.0.cast())) };
        Preserved(self)
    }

    /// Evaluates a script (package initialisation).
    pub fn eval_script(self, script: &str) -> c_int {
        let obj = Obj::from_str(script);
        // SAFETY: live interpreter and object.
        unsafe {
            tcl!(tcl_EvalObjEx(
                self.0,
                obj.as_ptr(),
                tcl_sys::TCL_EVAL_GLOBAL as c_int
            ))
        }
    }

    pub fn is_deleted(self) -> bool {
        // SAFETY: the pointer stays valid while preserved or registered.
        unsafe { tcl!(tcl_InterpDeleted(self.0)) != 0 }
    }
}

/// A `Tcl_Preserve` on an interpreter, released when dropped.
pub struct Preserved(Interp);

impl Drop for Preserved {
    fn drop(&mut self) {
        // SAFETY: balances the Tcl_Preserve of `Interp::preserve`; this may
        // free a deleted interpreter (and run its deletion callbacks).
        unsafe { tcl!(tcl_Release(self.0 .0.cast())) }
    }
}

/// Tcl's glob matching (`string match`), on internal strings.
pub fn string_match(pattern: &Obj, s: &Obj) -> bool {
    let p = nul_terminated(pattern.tcl_utf());
    let t = nul_terminated(s.tcl_utf());
    // SAFETY: both are NUL-terminated copies.
    unsafe { tcl!(tcl_StringCaseMatch(t.as_ptr(), p.as_ptr(), 0)) != 0 }
}

/// A NUL-terminated copy (internal strings never hold a raw NUL).
pub fn nul_terminated(b: &[u8]) -> CString {
    CString::new(b.to_vec()).unwrap_or_default()
}

pub fn cstr(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: Tcl hands out NUL-terminated strings.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}
