#!/usr/bin/env bash
# make install into a scratch DESTDIR, then check that a plain tclsh given
# that tree loads websocket 1.6 from our library (and not tcllib's).
set -u
cd "$(dirname "$0")/.."
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
pass=0; fail=0
check() { if eval "$2"; then echo "PASS $1"; pass=$((pass+1)); else echo "FAIL $1"; fail=$((fail+1)); fi; }
make --no-print-directory install DESTDIR="$dest" PREFIX=/usr/local >/dev/null 2>&1
check "installed files" '[ -f "$dest/usr/local/lib/tcltk/websocket1.6/libtclwebsocket.so" ] && [ -f "$dest/usr/local/lib/tcltk/websocket1.6/pkgIndex.tcl" ]'
got=$(echo 'puts [package require websocket]; puts [info commands ::websocket::Log]; puts [lindex [package ifneeded websocket 1.6] end-1]' \
      | TCLLIBPATH="$dest/usr/local/lib/tcltk" tclsh 2>&1)
check "package require websocket gives 1.6" '[ "$(echo "$got" | sed -n 1p)" = 1.6 ]'
check "the commands are ours" '[ "$(echo "$got" | sed -n 2p)" = ::websocket::Log ]'
check "loaded from the installed library" 'echo "$got" | sed -n 3p | grep -q "$dest/usr/local/lib/tcltk/websocket1.6/libtclwebsocket.so"'
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
