/* Input for bindgen: the public Tcl API as seen by a stubs-enabled extension. */
#define USE_TCL_STUBS 1
#include <tcl.h>
