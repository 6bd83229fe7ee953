#!/usr/bin/env bash
# make doc: docs/websocket.man (tcllib doctools) -> docs/websocket.n (nroff,
# what make install installs) and docs/websocket.html, with the reference
# tcllib's own dtplite (../shared/tools/reference-tcllib.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
ref=$(bash ../shared/tools/reference-tcllib.sh)
dtplite=$ref/../../../bin/dtplite
[ -f "$dtplite" ] || dtplite=$ref/dtplite/dtplite.tcl
run() { TCLLIBPATH=$ref tclsh "$dtplite" "$@"; }
out=${1:-docs}    # another folder: tests/install-check.sh compares
run -o "$out/websocket.n" nroff docs/websocket.man
run -o "$out/websocket.html" html docs/websocket.man
echo "$out/websocket.n and $out/websocket.html made from docs/websocket.man"
