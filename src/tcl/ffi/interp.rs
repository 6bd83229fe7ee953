//! Interpreters: results and errors (the one place a [`TclError`] becomes
//! a Tcl error), evaluation, commands, and the conversions of an object
//! that may leave an error in the interpreter.

use std::ffi::{c_char, c_int, c_void, CStr, CString};

use tcl_sys::{tcl, Tcl_Interp, Tcl_Obj, Tcl_Size};

use super::guard::guard;
use super::obj::{Args, Obj};
use crate::tcl::error::TclError;

/// Tcl's TCL_OK.
pub const TCL_OK: c_int = tcl_sys::TCL_OK as c_int;
/// Tcl's TCL_ERROR.
pub const TCL_ERROR: c_int = tcl_sys::TCL_ERROR as c_int;

/// An interpreter of this thread.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Interp(*mut Tcl_Interp);

/// A command's implementation: its words in, its result or error out.
pub type CommandFn = Box<dyn Fn(Interp, Args) -> Result<Obj, TclError>>;

impl Interp {
    /// The interpreter behind a pointer Tcl passed.
    ///
    /// # Safety
    /// `ptr` is an interpreter of this thread, live (or preserved) for as
    /// long as the handle is used.
    pub unsafe fn from_raw(ptr: *mut Tcl_Interp) -> Interp {
        Interp(ptr)
    }

    /// The interpreter, for a Tcl call.
    pub(super) fn as_ptr(self) -> *mut Tcl_Interp {
        self.0
    }

    /// Sets the interpreter's result.
    pub fn set_result(self, obj: Obj) {
        // SAFETY: live interpreter; Tcl takes its own reference.
        unsafe { tcl!(tcl_SetObjResult(self.0, obj.as_ptr())) }
    }

    /// The interpreter's result.
    pub fn result(self) -> Obj {
        // SAFETY: live interpreter; the result object is live.
        unsafe { Obj::from_ptr(tcl!(tcl_GetObjResult(self.0))) }
    }

    /// Empties the result and the error state (`Tcl_ResetResult`).
    pub fn reset_result(self) {
        // SAFETY: live interpreter.
        unsafe { tcl!(tcl_ResetResult(self.0)) }
    }

    /// Makes `r` what the command returns to Tcl: its value as the result,
    /// or its error as the result and `-errorcode`. The only place a
    /// [`TclError`] becomes a Tcl error.
    pub fn finish(self, r: Result<Obj, TclError>) -> c_int {
        match r {
            Ok(obj) => {
                self.reset_result();
                self.set_result(obj);
                TCL_OK
            }
            Err(e) if e.left_in_interp => TCL_ERROR,
            Err(e) => {
                self.set_result(Obj::from_str(&e.msg));
                let words: Vec<Obj> = e.code.iter().map(|w| Obj::from_str(w)).collect();
                // SAFETY: live interpreter and object.
                unsafe { tcl!(tcl_SetObjErrorCode(self.0, Obj::list(&words).as_ptr())) };
                TCL_ERROR
            }
        }
    }

    /// The error a Tcl call just left in the interpreter: its result and
    /// `-errorcode`, read without touching Tcl's error state, which
    /// [`Interp::finish`] then leaves as it is.
    pub fn error_left(self) -> TclError {
        let msg = self.result().to_string_lossy();
        // SAFETY: live interpreter; the options dictionary is a new object
        // (taken by `Obj`), the key a live one. Asked as for TCL_OK, Tcl
        // does not start the error's -errorinfo (as for TCL_ERROR).
        let code = unsafe {
            let opts = Obj::from_ptr(tcl!(tcl_GetReturnOptions(self.0, TCL_OK)));
            let key = Obj::from_str("-errorcode");
            let mut value: *mut Tcl_Obj = std::ptr::null_mut();
            tcl!(tcl_DictObjGet(
                std::ptr::null_mut(),
                opts.as_ptr(),
                key.as_ptr(),
                &mut value
            ));
            (!value.is_null()).then(|| Obj::from_ptr(value))
        };
        // Parsed without an interpreter, so nothing is left in it.
        let code = code
            .map(|c| c.words())
            .unwrap_or_else(|| vec!["NONE".to_owned()]);
        TclError {
            msg,
            code,
            left_in_interp: true,
        }
    }

    /// The error of a wrong number of words (`Tcl_WrongNumArgs`, which
    /// knows about ensembles): "wrong # args: should be ...".
    pub fn wrong_args(self, args: Args, usage: &str) -> TclError {
        let usage = CString::new(usage).expect("usage has no NUL");
        let objv = args.raw();
        // SAFETY: `objv` comes from Tcl for this command call.
        unsafe { tcl!(tcl_WrongNumArgs(self.0, 1, objv.as_ptr(), usage.as_ptr())) };
        self.error_left()
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

    /// Evaluates a script at global level (package initialisation); Err is
    /// the error it left.
    pub fn eval_script(self, script: &str) -> Result<(), TclError> {
        let obj = Obj::from_str(script);
        // SAFETY: live interpreter and object.
        let rc = unsafe {
            tcl!(tcl_EvalObjEx(
                self.0,
                obj.as_ptr(),
                tcl_sys::TCL_EVAL_GLOBAL as c_int
            ))
        };
        if rc == TCL_OK {
            Ok(())
        } else {
            Err(self.error_left())
        }
    }

    /// True once the interpreter is being deleted.
    pub fn is_deleted(self) -> bool {
        // SAFETY: the pointer stays valid while preserved or registered.
        unsafe { tcl!(tcl_InterpDeleted(self.0)) != 0 }
    }

    /// A safe interpreter (`interp create -safe`).
    pub fn is_safe(self) -> bool {
        // SAFETY: live interpreter.
        unsafe { tcl!(tcl_IsSafe(self.0)) != 0 }
    }

    /// Creates the command `name`, run by `f`. A panic in `f` becomes an
    /// error of the command.
    pub fn create_command(self, name: &str, f: CommandFn) {
        let full = CString::new(name).expect("no NUL");
        let data = Box::into_raw(Box::new(f));
        // SAFETY: live interpreter; the box is owned by the command and
        // freed by `command_deleted`, which Tcl calls once.
        unsafe {
            tcl!(tcl_CreateObjCommand(
                self.0,
                full.as_ptr(),
                Some(command_proc),
                data.cast(),
                Some(command_deleted)
            ))
        };
    }

    /// `package provide name version`.
    pub fn provide(self, name: &str, version: &str) -> Result<(), TclError> {
        let (n, v) = (
            CString::new(name).expect("no NUL"),
            CString::new(version).expect("no NUL"),
        );
        // SAFETY: live interpreter, NUL-terminated strings.
        match unsafe { tcl_sys::tclsys_pkg_provide(self.0, n.as_ptr(), v.as_ptr()) } {
            TCL_OK => Ok(()),
            _ => Err(self.error_left()),
        }
    }
}

/// Tcl calls a command of ours.
unsafe extern "C" fn command_proc(
    data: *mut c_void,
    interp: *mut Tcl_Interp,
    objc: c_int,
    objv: *const *mut Tcl_Obj,
) -> c_int {
    // SAFETY: the client data is the box made in `create_command`, alive
    // until `command_deleted`; Tcl passes `objc` live objects and its
    // interpreter of this thread.
    let (f, args, interp) = unsafe {
        (
            &*data.cast::<CommandFn>(),
            Args::new(std::slice::from_raw_parts(objv, objc as usize)),
            Interp::from_raw(interp),
        )
    };
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(interp, args)));
    let r = r.unwrap_or_else(|_| {
        Err(TclError::ws(
            "internal error in the websocket package",
            &["INTERNAL"],
        ))
    });
    interp.finish(r)
}

/// Tcl deletes a command of ours.
unsafe extern "C" fn command_deleted(data: *mut c_void) {
    // SAFETY: the box made in `create_command`, freed exactly once here.
    let f = unsafe { Box::from_raw(data.cast::<CommandFn>()) };
    guard("command deletion", || drop(f));
}

/// A `Tcl_Preserve` on an interpreter, released when dropped.
pub struct Preserved(Interp);

/// Words of a call made without a heap allocation (a handler's prefix
/// and its three arguments fit, as tcllib's examples write them).
const STACK_WORDS: usize = 12;

/// Why [`Preserved::call_global`] failed.
pub enum CallError {
    /// The prefix is not a list.
    NotAList,
    /// The script raised this error.
    Failed(Obj),
}

impl Preserved {
    /// The preserved interpreter.
    pub fn interp(&self) -> Interp {
        self.0
    }

    /// `{*}$prefix {*}$args` at global level (a handler call, once per
    /// message), its result emptied afterwards. Under this guard's
    /// `Tcl_Preserve`: no second one, and no vector of words on the heap.
    pub fn call_global(&self, prefix: &Obj, args: &[Obj]) -> Result<(), CallError> {
        let interp = self.0;
        if interp.is_deleted() {
            return Err(CallError::Failed(Obj::from_str("interpreter deleted")));
        }
        let mut n: Tcl_Size = 0;
        let mut v: *mut *mut Tcl_Obj = std::ptr::null_mut();
        // SAFETY: live interpreter and object; on success Tcl gives `n`
        // element pointers owned by the list.
        let rc = unsafe {
            tcl_sys::tclsys_list_obj_get_elements(interp.0, prefix.as_ptr(), &mut n, &mut v)
        };
        if rc != TCL_OK {
            interp.reset_result();
            return Err(CallError::NotAList);
        }
        let n = n as usize;
        let total = n + args.len();
        let mut stack = [std::ptr::null_mut(); STACK_WORDS];
        let mut heap = Vec::new();
        let words: &mut [*mut Tcl_Obj] = if total <= STACK_WORDS {
            &mut stack[..total]
        } else {
            heap.resize(total, std::ptr::null_mut());
            &mut heap
        };
        for (i, w) in words[..n].iter_mut().enumerate() {
            // SAFETY: `i < n` elements of the list, live now; our own
            // reference keeps each alive if the script changes the list.
            unsafe {
                *w = *v.add(i);
                tcl_sys::tclsys_incr_refcount(*w);
            }
        }
        for (w, a) in words[n..].iter_mut().zip(args) {
            *w = a.as_ptr();
        }
        // SAFETY: live (preserved) interpreter; every word is live, held by
        // us or by `args`, for the whole evaluation.
        let rc = unsafe {
            tcl!(tcl_EvalObjv(
                interp.0,
                total as Tcl_Size,
                words.as_ptr(),
                tcl_sys::TCL_EVAL_GLOBAL as c_int
            ))
        };
        // Still preserved: readable even if the script deleted it.
        let r = if rc == TCL_OK {
            Ok(())
        } else {
            Err(CallError::Failed(interp.result()))
        };
        if !interp.is_deleted() {
            interp.reset_result();
        }
        for w in &words[..n] {
            // SAFETY: the references taken above.
            unsafe { tcl_sys::tclsys_decr_refcount(*w) };
        }
        r
    }
}

impl Drop for Preserved {
    fn drop(&mut self) {
        // SAFETY: balances the Tcl_Preserve of `Interp::preserve`; this may
        // free a deleted interpreter (and run its deletion callbacks).
        unsafe { tcl!(tcl_Release(self.0 .0.cast())) }
    }
}

/// Conversions that leave Tcl's error in the interpreter when they fail.
impl Obj {
    /// The elements of a list as text, none if it is not a list (no
    /// interpreter is told).
    fn words(&self) -> Vec<String> {
        let mut n: Tcl_Size = 0;
        let mut v: *mut *mut Tcl_Obj = std::ptr::null_mut();
        // SAFETY: a null interpreter gets no message; on success Tcl gives
        // `n` live element pointers owned by the list, read at once.
        unsafe {
            let rc = tcl_sys::tclsys_list_obj_get_elements(
                std::ptr::null_mut(),
                self.as_ptr(),
                &mut n,
                &mut v,
            );
            if rc != TCL_OK {
                return Vec::new();
            }
            (0..n as usize)
                .map(|i| Obj::from_ptr(*v.add(i)).to_string_lossy())
                .collect()
        }
    }

    /// Byte-array view (a string of chars over U+00FF: their low bytes on
    /// Tcl 8.6, an error on Tcl 9).
    pub fn bytes(&self, interp: Interp) -> Result<&[u8], TclError> {
        let mut len: Tcl_Size = 0;
        // SAFETY: as for `tcl_utf`; the pointer may be null on Tcl 9 for
        // non-byte strings, with the error left in the interpreter.
        unsafe {
            let p = tcl_sys::tclsys_get_bytes_from_obj(interp.0, self.as_ptr(), &mut len);
            if p.is_null() {
                return Err(interp.error_left());
            }
            Ok(std::slice::from_raw_parts(p, len as usize))
        }
    }

    /// The elements of a list.
    pub fn elements(&self, interp: Interp) -> Result<Vec<Obj>, TclError> {
        let mut n: Tcl_Size = 0;
        let mut v: *mut *mut Tcl_Obj = std::ptr::null_mut();
        // SAFETY: on success Tcl gives `n` element pointers owned by the
        // list; we take our own reference to each at once.
        unsafe {
            if tcl_sys::tclsys_list_obj_get_elements(interp.0, self.as_ptr(), &mut n, &mut v)
                != TCL_OK
            {
                return Err(interp.error_left());
            }
            Ok((0..n as usize).map(|i| Obj::from_ptr(*v.add(i))).collect())
        }
    }

    /// A boolean as Tcl reads one.
    pub fn boolean(&self, interp: Interp) -> Result<bool, TclError> {
        let mut b: c_int = 0;
        // SAFETY: live object and interpreter of this thread.
        match unsafe { tcl_sys::tclsys_get_boolean_from_obj(interp.0, self.as_ptr(), &mut b) } {
            TCL_OK => Ok(b != 0),
            _ => Err(interp.error_left()),
        }
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
pub(super) fn nul_terminated(b: &[u8]) -> CString {
    CString::new(b.to_vec()).unwrap_or_default()
}

/// A C string Tcl handed out, as Rust text ("" for null).
///
/// # Safety
/// `p` is null or a NUL-terminated string live for the call.
pub(super) unsafe fn cstr(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: the caller's promise.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}
