/*
 * tcl-sys C shim: plain functions for Tcl APIs that are C macros (or whose
 * macro/stub-slot differs between Tcl 8.6 and 9.0), so Rust code gets ONE
 * spelling for both versions. Compiled with -DUSE_TCL_STUBS against the same
 * headers the bindings were generated from: every call below goes through
 * tclStubsPtr. Declarations are mirrored in src/lib.rs.
 */
#ifndef USE_TCL_STUBS
#define USE_TCL_STUBS 1
#endif
#include <stddef.h>
#include <tcl.h>

#if TCL_MAJOR_VERSION < 9
#  ifndef TCL_SIZE_MAX
typedef int Tcl_Size; /* 8.6.13's tcl.h has no Tcl_Size; 8.6.14+ defines it as int */
#  endif
#endif

/* ---- stubs / packages ---- */

const char *tclsys_init_stubs(Tcl_Interp *interp, const char *version, int exact) {
    /* 8.6: plain function in libtclstub; 9.0: macro adding magic/version bits. */
    return Tcl_InitStubs(interp, version, exact);
}

int tclsys_pkg_provide(Tcl_Interp *interp, const char *name, const char *version) {
    return Tcl_PkgProvide(interp, name, version);
}

const char *tclsys_pkg_require(Tcl_Interp *interp, const char *name, const char *version,
                               int exact) {
    return Tcl_PkgRequire(interp, name, version, exact);
}

/* ---- reference counts (macros in both versions) ---- */

void tclsys_incr_refcount(Tcl_Obj *obj) { Tcl_IncrRefCount(obj); }

void tclsys_decr_refcount(Tcl_Obj *obj) { Tcl_DecrRefCount(obj); }

int tclsys_is_shared(Tcl_Obj *obj) { return Tcl_IsShared(obj) ? 1 : 0; }

/* ---- Tcl_Size out-parameters (9.0 picks the stub slot by sizeof(*ptr)) ---- */

char *tclsys_get_string_from_obj(Tcl_Obj *obj, Tcl_Size *len) {
    return Tcl_GetStringFromObj(obj, len);
}

unsigned char *tclsys_get_byte_array_from_obj(Tcl_Obj *obj, Tcl_Size *len) {
    return Tcl_GetByteArrayFromObj(obj, len);
}

/* 9.0: fails (NULL + error in interp, if any) when obj has chars > U+00FF.
 * 8.6: no such check exists; same as Tcl_GetByteArrayFromObj (never NULL). */
unsigned char *tclsys_get_bytes_from_obj(Tcl_Interp *interp, Tcl_Obj *obj, Tcl_Size *len) {
#if TCL_MAJOR_VERSION >= 9
    return Tcl_GetBytesFromObj(interp, obj, len);
#else
    (void)interp;
    return Tcl_GetByteArrayFromObj(obj, len);
#endif
}

int tclsys_list_obj_get_elements(Tcl_Interp *interp, Tcl_Obj *list, Tcl_Size *objc,
                                 Tcl_Obj ***objv) {
    return Tcl_ListObjGetElements(interp, list, objc, objv);
}

int tclsys_list_obj_length(Tcl_Interp *interp, Tcl_Obj *list, Tcl_Size *len) {
    return Tcl_ListObjLength(interp, list, len);
}

int tclsys_dict_obj_size(Tcl_Interp *interp, Tcl_Obj *dict, Tcl_Size *size) {
    return Tcl_DictObjSize(interp, dict, size);
}

/* ---- memory (8.6: unsigned int / char*; 9.0: size_t / void*) ---- */

void *tclsys_alloc(size_t size) {
#if TCL_MAJOR_VERSION < 9
    if (size > (size_t)0xFFFFFFFFu) Tcl_Panic("tclsys_alloc: %lu bytes is too much for Tcl 8", (unsigned long)size);
    return (void *)Tcl_Alloc((unsigned int)size);
#else
    return Tcl_Alloc(size);
#endif
}

/* Returns NULL on failure instead of panicking. */
void *tclsys_attempt_alloc(size_t size) {
#if TCL_MAJOR_VERSION < 9
    if (size > (size_t)0xFFFFFFFFu) return NULL;
    return (void *)Tcl_AttemptAlloc((unsigned int)size);
#else
    return Tcl_AttemptAlloc(size);
#endif
}

void *tclsys_realloc(void *ptr, size_t size) {
#if TCL_MAJOR_VERSION < 9
    if (size > (size_t)0xFFFFFFFFu) Tcl_Panic("tclsys_realloc: %lu bytes is too much for Tcl 8", (unsigned long)size);
    return (void *)Tcl_Realloc((char *)ptr, (unsigned int)size);
#else
    return Tcl_Realloc(ptr, size);
#endif
}

void tclsys_free(void *ptr) {
#if TCL_MAJOR_VERSION < 9
    Tcl_Free((char *)ptr);
#else
    Tcl_Free(ptr);
#endif
}

/* ---- events ---- */

/* position: TCL_QUEUE_TAIL/HEAD/MARK (8.6 takes an enum, 9.0 an int). The event
 * must come from tclsys_alloc (Tcl frees it). If alert != 0, wake the target
 * thread's notifier afterwards (Tcl_ThreadAlert), as needed from another thread. */
void tclsys_thread_queue_event(Tcl_ThreadId thread, Tcl_Event *ev, int position, int alert) {
#if TCL_MAJOR_VERSION < 9
    Tcl_ThreadQueueEvent(thread, ev, (Tcl_QueuePosition)position);
#else
    Tcl_ThreadQueueEvent(thread, ev, position);
#endif
    if (alert) Tcl_ThreadAlert(thread);
}

/* ---- other macro-only conveniences ---- */

const char *tclsys_get_string_result(Tcl_Interp *interp) {
    return Tcl_GetStringResult(interp); /* 9.0: macro over Tcl_GetObjResult */
}

Tcl_Obj *tclsys_new_boolean_obj(int value) { return Tcl_NewBooleanObj(value); }

Tcl_Obj *tclsys_new_int_obj(int value) { return Tcl_NewIntObj(value); }

int tclsys_get_boolean_from_obj(Tcl_Interp *interp, Tcl_Obj *obj, int *out) {
    return Tcl_GetBooleanFromObj(interp, obj, out);
}

int tclsys_get_index_from_obj(Tcl_Interp *interp, Tcl_Obj *obj, const char *const *table,
                              const char *msg, int flags, int *index) {
    return Tcl_GetIndexFromObj(interp, obj, table, msg, flags, index);
}
