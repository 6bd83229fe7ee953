#!/usr/bin/env bash
# Compression rows of `make bench`: 50 connections, each with one 1 KiB
# JSON-like text message in flight, echoed by bench/echo_server.tcl on our
# package without and with permessage-deflate (-deflate 1) and on tcllib's
# (which never compresses); the client is bench/client.tcl on our package,
# offering -deflate 1 in the compressed row. Messages per second come from
# a direct run; wire bytes from a second, shorter run through a counting
# relay (bench/relay.py: both directions, handshakes included), divided by
# the messages echoed. Loopback only, bounded runs.
#   bench/deflate.sh [DURATION]   prints a markdown table
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TCLSH=${TCLSH:-tclsh}
DUR=${1:-4}
OURS_LIB=${OURS_LIB:-$ROOT/build/lib}
REF_LIB=${REF_LIB:-$(bash "$ROOT/../shared/tools/reference-tcllib.sh" 2>/dev/null)}
work=$(mktemp -d)
srv=""
trap '[ -n "$srv" ] && kill $srv 2>/dev/null; rm -rf "$work"' EXIT

PY=${PYTHON:-python3}
field() { echo "$2" | tr ' ' '\n' | awk -F= -v k="$1" '$1==k{print $2}'; }
client() { # port duration open-opts
    BENCH_JSON=1 BENCH_OPEN_OPTS="$3" TCLLIBPATH=$OURS_LIB timeout $(($2 + 30)) \
        "$TCLSH" "$ROOT/bench/client.tcl" "ws://127.0.0.1:$1/echo" 1024 1 text "$2" 0 50 | grep RESULT
}

# row LABEL LIB DEFLATE OPEN_OPTS
row() {
    local label=$1 lib=$2 deflate=$3 opts=$4 port res res2 msgs rate wire rpid before after
    : > "$work/out"
    BENCH_DEFLATE=$deflate TCLLIBPATH=$lib "$TCLSH" "$ROOT/bench/echo_server.tcl" 0 > "$work/out" 2>/dev/null &
    srv=$!
    for _ in $(seq 100); do grep -q PORT "$work/out" && break; sleep 0.1; done
    port=$(awk '/^PORT/{print $2}' "$work/out")
    res=$(client "$port" "$DUR" "$opts")
    rate=$(field msgs_s "$res")
    # The same through the counting relay, for the bytes.
    mkfifo "$work/rin"
    "$PY" "$ROOT/bench/relay.py" "$port" --timeout $((DUR + 60)) < "$work/rin" > "$work/relay" &
    rpid=$!
    exec 4>"$work/rin"
    for _ in $(seq 100); do grep -q PORT "$work/relay" && break; sleep 0.1; done
    res2=$(client "$(awk '/^PORT/{print $2}' "$work/relay")" 2 "$opts")
    exec 4>&-
    wait $rpid
    rm -f "$work/rin"
    kill $srv 2>/dev/null; wait $srv 2>/dev/null; srv=""
    msgs=$(field msgs "$res2")
    wire=$(awk '/^BYTES/{split($2,u,"="); split($3,d,"="); print u[2] + d[2]}' "$work/relay")
    if [ -z "$msgs" ] || [ "$msgs" -eq 0 ] || [ -z "$wire" ]; then
        echo "| $label | ${rate:--} | - | - |"
        return
    fi
    after=$wire; before=0
    echo "| $label | $rate | $(( (after - before) / msgs )) | $(awk -v w=$((after - before)) -v m="$msgs" 'BEGIN{printf "%.0f%%", 100 * w / (m * 2 * 1024)}') |"
}

echo "| server (50 conns, 1 KiB JSON-like text, 1 in flight each) | msgs/s | wire bytes per echoed message | wire / payload |"
echo "|---|---|---|---|"
row "ours, no compression" "$OURS_LIB" 0 ""
row "ours, -deflate 1 (client -deflate 1)" "$OURS_LIB" 1 "-deflate 1"
[ -n "$REF_LIB" ] && row "tcllib 1.6 (never compresses)" "$REF_LIB" 0 ""
