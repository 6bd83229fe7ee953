#!/usr/bin/env bash
# Instructions per echoed message, by thread, counted by callgrind: the
# Tcl thread (delivery, the handler, send) and the I/O thread. Counts, not
# timings: they do not depend on the machine's load, so a change to the
# per-message path can be weighed on a busy machine too.
#
#   bash bench/icount.sh [CONNS INFLIGHT SIZE MSGS]   (default 50 16 1024 20000)
#
# Runs bench/echo_server.tcl (through icount_server.tcl, which exits once
# its clients are gone) under valgrind twice, with MSGS and 2×MSGS
# messages from bench/loadgen, and divides the difference by MSGS: the
# start-up and the connections' set-up cancel out. TCLSH and TCLLIBPATH
# pick the Tcl and our build (default: tclsh and build/lib). Prints
# `ICOUNT tcl=... io=... total=...` (instructions per message).
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${CARGO_TARGET_DIR:-target}/release
TCLSH=${TCLSH:-tclsh}
OURS=${TCLLIBPATH:-$PWD/build/lib}
conns=${1:-50} k=${2:-16} size=${3:-1024} msgs=${4:-20000}
command -v valgrind >/dev/null || { echo "icount: valgrind is missing (make deps)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/wsicount.XXXXXX")
spid=""
trap '[ -n "$spid" ] && kill "$spid" 2>/dev/null; [ -n "${ICOUNT_KEEP:-}" ] && cp "$work"/cg.* "$ICOUNT_KEEP"/ 2>/dev/null; rm -rf "$work"' EXIT

# run N: callgrind of the server for N messages; prints "TCL IO" totals.
run() {
    local n=$1 port=""
    rm -f "$work"/cg.*
    # --trace-children: TCLSH may be a script that execs the real shell.
    TCLLIBPATH=$OURS valgrind --tool=callgrind --separate-threads=yes --trace-children=yes \
        --callgrind-out-file="$work/cg.%p" "$TCLSH" bench/icount_server.tcl >"$work/out" 2>"$work/err" &
    spid=$!
    for _ in $(seq 600); do
        port=$(awk '/^PORT/{print $2}' "$work/out" 2>/dev/null)
        [ -n "$port" ] && break
        sleep 0.1
    done
    [ -n "$port" ] || { echo "icount: the server did not start: $(cat "$work/err")" >&2; exit 1; }
    "$BIN/ws-loadgen" --url "ws://127.0.0.1:$port/echo" --conns "$conns" --size "$size" \
        --inflight "$k" --duration 600 --warmup 0 --max-msgs "$n" >"$work/lg" 2>&1
    wait "$spid"
    spid=""
    # Thread 1 is the Tcl thread; the I/O thread is the one running io::run.
    local tcl="" io="" f
    for f in "$work"/cg.*-*; do
        [ -e "$f" ] || continue
        case $f in *-01) tcl=$(awk '/^summary:/{print $2}' "$f") ;; esac
        if grep -q 'engine::io::run' "$f"; then
            io=$(awk '/^summary:/{print $2}' "$f")
        fi
    done
    [ -n "$tcl" ] && [ -n "$io" ] || { echo "icount: no counts of the Tcl and I/O threads: $(ls "$work")" >&2; exit 1; }
    echo "$tcl $io"
}

counts1=$(run "$msgs") || exit 1
counts2=$(run $((2 * msgs))) || exit 1
read -r t1 i1 <<<"$counts1"
read -r t2 i2 <<<"$counts2"
awk -v t1="$t1" -v t2="$t2" -v i1="$i1" -v i2="$i2" -v n="$msgs" -v c="$conns" -v k="$k" -v s="$size" 'BEGIN {
    t = (t2 - t1) / n; i = (i2 - i1) / n
    printf "ICOUNT conns=%d inflight=%d size=%d tcl=%.0f io=%.0f total=%.0f\n", c, k, s, t, i, t + i
}'
