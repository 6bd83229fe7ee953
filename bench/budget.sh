#!/usr/bin/env bash
# The per-message budget of a server or client: system calls by name,
# context switches and CPU time per echoed message, counted by the kernel
# (perf stat, attached to the measured process for a fixed number of
# messages). Counts, not timings: they hold on a busy machine too.
#
#   bash bench/budget.sh server native|ours|ref CONNS SIZE INFLIGHT [MSGS]
#   bash bench/budget.sh client ours|ref SIZE INFLIGHT [SECONDS]
#
# TCLSH and TCLLIBPATH pick the Tcl and our build (default: tclsh and
# build/lib); the reference is tcllib 2.0 from ../shared. Needs perf (Linux
# tracepoints: root, or perf_event_paranoid <= 1) and a release build of
# bench/loadgen and bench/native (make bench builds them).
# Prints one line per system call with its count per message, then
# `BUDGET who=... msgs=N syscalls=S ctxsw=C cpu_us=U` (all per message).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SHARED=${SHARED:-$ROOT/../shared}
BIN=${CARGO_TARGET_DIR:-target}/release
TCLSH=${TCLSH:-tclsh}
OURS=${TCLLIBPATH:-$ROOT/build/lib}
EVENTS=raw_syscalls:sys_enter,context-switches,task-clock
for s in read write readv writev recvfrom sendto recvmsg sendmsg poll ppoll select pselect6 epoll_wait epoll_pwait epoll_pwait2 futex; do
    EVENTS=$EVENTS,syscalls:sys_enter_$s
done
side=$1
shift
work=$(mktemp -d "${TMPDIR:-/tmp}/wsbudget.XXXXXX")
spid=""
trap '[ -n "$spid" ] && kill "$spid" 2>/dev/null; rm -rf "$work"' EXIT

start() { # native|ours|ref: sets spid and port
    case $1 in
    native) "$BIN/ws-native-echo" >"$work/out" 2>/dev/null & ;;
    ours) TCLLIBPATH=$OURS $TCLSH bench/echo_server.tcl >"$work/out" 2>/dev/null & ;;
    ref) TCLWEBSOCKET_USE_TCLLIB=1 TCLLIBPATH=$(bash "$SHARED/tools/reference-tcllib.sh") \
        $TCLSH bench/echo_server.tcl >"$work/out" 2>/dev/null & ;;
    esac
    spid=$!
    for _ in $(seq 100); do
        port=$(awk '/^PORT/{print $2}' "$work/out")
        [ -n "$port" ] && return 0
        sleep 0.05
    done
    echo "server did not start" >&2
    exit 1
}

# measure PID COMMAND...: runs COMMAND while perf counts PID (all its
# threads, and threads it starts meanwhile).
measure() {
    local pid=$1
    shift
    perf stat -x, -e "$EVENTS" -p "$pid" \
        -o "$work/perf" -- bash -c "while [ ! -e $work/stop ]; do sleep 0.02; done" &
    local ppid=$!
    sleep 0.5
    "$@" >"$work/result"
    touch "$work/stop"
    wait "$ppid"
}

report() { # who
    local msgs
    msgs=$(grep -o 'msgs=[0-9]*' "$work/result" | head -1 | cut -d= -f2)
    [ -n "$msgs" ] && [ "$msgs" -gt 0 ] || { echo "no messages: $(cat "$work/result")" >&2; exit 1; }
    awk -F, -v n="$msgs" -v who="$1" '
        $3 ~ /^syscalls:sys_enter_/ && $1+0 > 0 { name = substr($3, 20); c[name] = $1 / n }
        $3 == "raw_syscalls:sys_enter" { s = $1 }
        $3 == "context-switches" { cs = $1 }
        $3 == "task-clock" { cpu = $1 }   # milliseconds
        END {
            for (k in c) if (c[k] >= 0.01) printf "  %-16s %.2f\n", k, c[k]
            printf "BUDGET who=%s msgs=%d syscalls=%.2f ctxsw=%.2f cpu_us=%.2f\n", who, n, s / n, cs / n, cpu * 1000 / n
        }' "$work/perf" | sort
}

case $side in
server)
    who=$1 conns=$2 size=$3 k=$4 msgs=${5:-20000}
    start "$who"
    # Connections first (their set-up is not counted), then a fixed count.
    measure "$spid" "$BIN/ws-loadgen" --url "ws://127.0.0.1:$port/echo" --conns "$conns" --size "$size" \
        --inflight "$k" --duration 30 --warmup 0 --max-msgs "$msgs"
    report "server-$who-$conns-$size-$k"
    ;;
client)
    who=$1 size=$2 k=$3 secs=${4:-2}
    start native
    case $who in
    ours) env=(TCLLIBPATH=$OURS) ;;
    ref) env=(TCLWEBSOCKET_USE_TCLLIB=1 TCLLIBPATH=$(bash "$SHARED/tools/reference-tcllib.sh")) ;;
    esac
    # The client measures itself: start it, attach, let it run.
    env "${env[@]}" BENCH_PAUSE_MS=1000 $TCLSH bench/client.tcl "ws://127.0.0.1:$port/echo" "$size" "$k" binary \
        "$secs" 0 >"$work/result" &
    cpid=$!
    sleep 0.6
    perf stat -x, -e "$EVENTS" -p "$cpid" -o "$work/perf" \
        -- bash -c "while [ ! -e $work/stop ]; do sleep 0.02; done" &
    ppid=$!
    wait "$cpid"
    touch "$work/stop"
    wait "$ppid"
    report "client-$who-$size-$k"
    ;;
*) echo "usage: $0 server|client ..." >&2; exit 2 ;;
esac
