"""Output helpers shared by the test peers: one line per event on stdout,
and text escaped the way the Tcl tests print it."""

import sys
import threading

_LOCK = threading.Lock()


def out(line):
    """Writes one line and flushes (safe from several threads)."""
    with _LOCK:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def esc(s):
    """Printable ASCII as is, backslash doubled, everything else by codepoint."""
    res = []
    for ch in s:
        o = ord(ch)
        if ch == "\\":
            res.append("\\\\")
        elif 0x20 <= o < 0x7F:
            res.append(ch)
        elif o <= 0xFFFF:
            res.append("\\u%04X" % o)
        else:
            res.append("\\U%08X" % o)
    return "".join(res)
