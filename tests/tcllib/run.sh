#!/usr/bin/env bash
# tcllib's own test file for websocket 1.6 (modules/websocket/websocket.test,
# /work/shared/reference/tcllib-websocket.test), run UNCHANGED against
# whatever `package require websocket` finds through TCLLIBPATH, with a
# local echo server (tests/peers/echoserver.py: greets each connection with
# "Request served by <id>", then echoes, like ws.ifelse.io) in place of
# ws.ifelse.io.
#
#   tests/tcllib/run.sh                                   # ours, build/lib
#   TCLLIBPATH=$(bash /work/shared/tools/reference-tcllib.sh) tests/tcllib/run.sh
#   TCLSH=/root/.cache/tcl9/tclsh9.0 TCLLIBPATH=$PWD/build/tcl9/lib tests/tcllib/run.sh
#
# How it is run (in tests/out/tcllib/, rebuilt each time):
#   modules/websocket/websocket.test    byte-identical copy (checked with cmp)
#   modules/devtools/testutilities.tcl  byte-identical copy of tcllib's helpers
#                                       (the test sources ../devtools/...)
#   modules/websocket/websocket.tcl     a one-line shim: `package require
#                                       websocket 1.6`.  The test's
#                                       `useLocal websocket.tcl websocket`
#                                       does `package forget websocket`, then
#                                       sources this file, so the package is
#                                       loaded the ordinary way, from
#                                       TCLLIBPATH (ours or the reference),
#                                       never from a websocket.tcl copy.
#   wrapper.tcl sets a write trace on the global wsUrl, then sources the test:
#   the test's `set wsUrl ws://ws.ifelse.io` ends up as ws://127.0.0.1:PORT.
#   That URL is the only change; expectNum (2) and all results are tcllib's.
# Env: TCLSH (tclsh), TCLLIBPATH (default: <repo>/build/lib), WSTEST_PYTHON
#      (default .venv/bin/python3), TEST_TIMEOUT (120 s).
# Prints tcltest's output and totals, then "N passed, M failed"; exit 1 if
# M > 0 (a test file that aborts or prints no totals counts as 1 failed).
set -u
here=$(cd "$(dirname "$0")" && pwd)
tests=$(dirname "$here")
repo=$(dirname "$tests")
TCLSH=${TCLSH:-tclsh}
export TCLLIBPATH=${TCLLIBPATH:-$repo/build/lib}
ref=${TCLLIB_TEST:-$repo/../shared/reference/tcllib-websocket.test}
utils=${TCLLIB_TESTUTILS:-$(dirname "$ref")/testutilities.tcl}
work=$tests/out/tcllib
log=$work/output.txt

if [ -z "${WSTEST_PYTHON:-}" ]; then
    if [ -x "$repo/.venv/bin/python3" ]; then WSTEST_PYTHON=$repo/.venv/bin/python3; else WSTEST_PYTHON=python3; fi
fi

fail() { echo "run.sh: $*" >&2; echo "0 passed, 1 failed"; exit 1; }
[ -f "$ref" ] && [ -f "$utils" ] || fail "missing $ref or $utils"

# Tcl 9 as unpacked by tcl9.sh finds its bundled modules (tcltest, http)
# only through TCL9_0_TM_PATH.
if ! echo 'exit [catch {package require tcltest}]' | "$TCLSH" >/dev/null 2>&1; then
    tm=$(echo 'puts [file join [info library] tcl[lindex [split [info tclversion] .] 0]]' | "$TCLSH")
    v=$(echo 'puts [string map {. _} [info tclversion]]' | "$TCLSH")
    [ -d "$tm" ] && export "TCL${v}_TM_PATH=$tm"
fi

# The harness folder, as tcllib's source tree lays it out.
rm -rf "$work"
mkdir -p "$work/modules/websocket" "$work/modules/devtools"
test_copy=$work/modules/websocket/websocket.test
cp "$ref" "$test_copy"
cp "$utils" "$work/modules/devtools/testutilities.tcl"
cat > "$work/modules/websocket/websocket.tcl" <<'TCL'
# Shim written by tests/tcllib/run.sh in place of tcllib's websocket.tcl:
# load the package under test the ordinary way (TCLLIBPATH).
package require websocket 1.6
TCL
cmp "$ref" "$test_copy" || fail "the copy of the test file differs"
cmp "$utils" "$work/modules/devtools/testutilities.tcl" || fail "the copy of testutilities.tcl differs"

# The echo server, on a free loopback port; it ends when its stdin closes.
coproc ECHO { exec "$WSTEST_PYTHON" -u "$tests/peers/echoserver.py" --port 0 --stdin-eof --lifetime 600 --id tcllib-test 2>&1; }
echo_pid=$ECHO_PID
trap 'exec {ECHO[1]}>&- 2>/dev/null; kill $echo_pid 2>/dev/null; wait $echo_pid 2>/dev/null' EXIT
port=
if read -r -t 30 word p <&"${ECHO[0]}" && [ "$word" = listening ]; then port=$p; fi
[ -n "$port" ] || fail "echoserver.py did not start (got '${word:-} ${p:-}')"
url=ws://127.0.0.1:$port

echo "tcllib websocket.test: $TCLSH, TCLLIBPATH=$TCLLIBPATH, wsUrl=$url"
start=$(date +%s)
timeout -k 5 "${TEST_TIMEOUT:-120}" "$TCLSH" "$here/wrapper.tcl" "$test_copy" "$url" </dev/null 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
echo "elapsed: $(( $(date +%s) - start )) s (tclsh exit $rc)"

# Still byte-identical after the run.
cmp "$ref" "$test_copy" || fail "the test file was changed"

totals=$(grep -E 'Total[[:space:]]+[0-9]+[[:space:]]+Passed[[:space:]]+[0-9]+[[:space:]]+Skipped[[:space:]]+[0-9]+[[:space:]]+Failed[[:space:]]+[0-9]+' "$log" | tail -n1)
if [ -z "$totals" ]; then
    echo "no tcltest totals (the test file aborted?)"
    echo "0 passed, 1 failed"
    exit 1
fi
read -r passed failed < <(echo "$totals" | awk '{for (i = 1; i < NF; i++) {if ($i == "Passed") p = $(i+1); if ($i == "Failed") f = $(i+1)}} END {print p, f}')
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
