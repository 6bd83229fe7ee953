#!/usr/bin/env bash
# Benchmarks for the websocket package: `make bench` (full, ~7 minutes) and
# `make bench-quick` (a subset, about a minute).
#
#   bash bench/run.sh full|quick
#
# In one run, on loopback only, every load bounded in count and time:
#   - server echo: bench/loadgen against three echo servers: native
#     (bench/native, Rust + tungstenite, the practical limit of the machine),
#     ours and the reference (bench/echo_server.tcl on tclsh with this
#     package / with tcllib's websocket 1.6), over
#     {1, 50} conns x {16 B, 1 KiB, 64 KiB, 1 MiB} x {text, binary} x {1, 16}
#     in flight; a fresh server process per case;
#   - client side: bench/client.tcl (websocket::open) on ours and on the
#     reference against the native server, and bench/loadgen as the native
#     client; 1 KiB one at a time (the median of three interleaved rounds)
#     also on ours with -busypoll 0, with the CPU per message of both;
#   - idle memory: server RSS before/after holding 1000 idle connections;
#   - isolation: p99 round trip of 20 clients while a 21st stops reading and
#     the server has 32 MiB of echoes to send it.
#   - CPU per message in each server case: the server's and the
#     generator's, and the share of the 2 cores left idle (the two share
#     the cores, so what the server spends per message bounds its rate);
#   - the load generator's own check: the native server measured again
#     with twice the generator's threads (its figure must not rise: else
#     the generator, not the server, set the pace);
#   - Tcl 9: the headline cases again with tclsh9.0 (ours built against
#     Tcl 9 by `make build9`, the reference on Tcl 9), native measured
#     alongside.
# Each figure is printed with its ratio to native and to the reference.
# Results: docs/bench-results.md and docs/bench.svg (full), or
# build/bench/ (quick); BENCH_OUT=dir to choose. Raw figures: build/bench/.
#
# The reference reads frames with blocking reads and unmasks in Tcl: cases
# whose data in flight (conns x in flight x size) exceeds 4 MiB are skipped
# for it (at its ~10-20 MiB/s a single round would outlast the window).
set -uo pipefail

MODE=${1:-full}
case $MODE in full | quick) ;; *) echo "usage: $0 full|quick" >&2; exit 2 ;; esac
cd "$(dirname "$0")/.."
ROOT=$PWD
SHARED=${SHARED:-$ROOT/../shared}
TARGET=${CARGO_TARGET_DIR:-target}
case $TARGET in /*) ;; *) TARGET=$ROOT/$TARGET ;; esac
BIN=$TARGET/release
TCLSH=${TCLSH:-tclsh}
if [ "$MODE" = full ]; then
    OUT=${BENCH_OUT:-$ROOT/docs}
    COMMAND="make bench"
else
    OUT=${BENCH_OUT:-$ROOT/build/bench}
    COMMAND="make bench-quick"
fi
mkdir -p "$OUT"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/wsbench.XXXXXX")
RESULTS=$WORK/results.txt
: >"$RESULTS"
T0=$(date +%s)

SPID=""
cleanup() {
    if [ -n "$SPID" ]; then kill "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null; fi
    if [ -z "${BENCH_KEEP:-}" ]; then rm -rf "$WORK"; else echo "raw results kept in $WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "bench: $*" >&2; exit 1; }

# ---------------------------------------------------------------- set-up
# Our package: a release build, copied aside so that nothing rebuilding
# build/lib meanwhile changes what is measured.
cargo build --release -q -p tcl-websocket -p ws-loadgen -p ws-native-echo ||
    die "cannot build the package, bench/loadgen and bench/native"
OURS_LIB=$WORK/lib
mkdir -p "$OURS_LIB/websocket1.6"
cp "$BIN/libtclwebsocket.so" "$OURS_LIB/websocket1.6/"
sed -e 's/@VERSION@/1.6/g' -e 's/@LIBFILE@/libtclwebsocket.so/g' -e 's/@TCLREQ@/8.6-9/g' "$ROOT/pkgIndex.tcl.in" >"$OURS_LIB/websocket1.6/pkgIndex.tcl"
REF_LIB=$(bash "$SHARED/tools/reference-tcllib.sh") || die "cannot unpack the reference tcllib"
# Tcl 9: our package built against it (make build9), copied aside too.
TCL9=${TCL9:-$HOME/.cache/tcl9}
TCLSH9=$TCL9/tclsh9.0
make -s build9 >"$WORK/build9.log" 2>&1 || die "cannot build the package for Tcl 9 (see make build9)"
OURS9_LIB=$WORK/lib9
mkdir -p "$OURS9_LIB"
cp -r "$ROOT/build/tcl9/lib/websocket1.6" "$OURS9_LIB/"
export TCL9_0_TM_PATH=$TCL9/usr/lib/tcl9.0/tcl9
# 1000 idle connections need more descriptors than the usual soft limit.
hard=$(ulimit -Hn)
if [ "$hard" = unlimited ] || [ "$hard" -ge 8192 ]; then ulimit -n 8192; else ulimit -n "$hard"; fi

if [ "$MODE" = full ]; then
    DUR=2; WARM=0.5; WARM_BIG=1
    ECHO_CONNS="1 50"; ECHO_SIZES="16 1024 65536 1048576"; ECHO_MODES="text binary"; ECHO_K="1 16"
    CLIENT_CASES="16:1:binary 16:16:binary 1024:1:binary 1024:16:binary 1024:16:text 65536:1:binary 65536:16:binary"
    ISO_DUR=3; IDLE=1000
else
    DUR=1; WARM=0.3; WARM_BIG=0.5
    ECHO_CONNS=""; ECHO_SIZES=""; ECHO_MODES=""; ECHO_K=""
    QUICK_ECHO="50:1024:binary:1 50:1024:binary:16 1:1048576:binary:1"
    CLIENT_CASES="16:1:binary 1024:16:binary"
    ISO_DUR=2; IDLE=1000
fi
REF_MAX_INFLIGHT=$((4 * 1024 * 1024))
# The load generator's threads (connections spread over them); the check
# below runs the native server again with twice as many.
LG_THREADS=${LG_THREADS:-4}

load1=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$load1" 'BEGIN{exit !(l > 1.0)}'; then
    echo "bench: warning: load average $load1 before the run: other work shares the 2 cores, figures will be noisy" >&2
fi
cpu=$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)
mem=$(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo)
tclv=$(echo 'puts [info patchlevel]' | $TCLSH)
tclv9=$(echo 'puts [info patchlevel]' | "$TCLSH9")
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- src tcl tcl-sys 2>/dev/null || commit="$commit + uncommitted changes"
{
    echo "kind=meta date=\"$(date -u '+%Y-%m-%d %H:%M UTC')\" command=\"$COMMAND\""
    echo "kind=meta machine=\"$cpu, $(nproc) cores, $mem, Linux $(uname -r)\""
    echo "kind=meta load=\"$(cut -d' ' -f1-3 /proc/loadavg) (load average before the run)\""
    echo "kind=meta software=\"tclsh $tclv and $tclv9, $(rustc --version | cut -d' ' -f1-2), reference tcllib 2.0 (websocket 1.6)\" commit=\"$commit\""
} >>"$RESULTS"

# ---------------------------------------------------------------- servers
# start_server native|ours|ref: sets SPID and SPORT.
start_server() {
    local out=$WORK/server.out
    : >"$out"
    case $1 in
    native) "$BIN/ws-native-echo" >"$out" 2>>"$WORK/native.log" & ;;
    ours) TCLLIBPATH=$OURS_LIB $TCLSH "$ROOT/bench/echo_server.tcl" >"$out" 2>>"$WORK/ours.log" & ;;
    ref) TCLWEBSOCKET_USE_TCLLIB=1 TCLLIBPATH=$REF_LIB $TCLSH "$ROOT/bench/echo_server.tcl" >"$out" 2>>"$WORK/ref.log" & ;;
    ours9) TCLLIBPATH=$OURS9_LIB "$TCLSH9" "$ROOT/bench/echo_server.tcl" >"$out" 2>>"$WORK/ours9.log" & ;;
    ref9) TCLWEBSOCKET_USE_TCLLIB=1 TCLLIBPATH=$REF_LIB "$TCLSH9" "$ROOT/bench/echo_server.tcl" >"$out" 2>>"$WORK/ref9.log" & ;;
    esac
    SPID=$!
    SPORT=""
    for _ in $(seq 100); do
        SPORT=$(awk '/^PORT/{print $2}' "$out")
        [ -n "$SPORT" ] && return 0
        kill -0 "$SPID" 2>/dev/null || break
        sleep 0.05
    done
    die "the $1 server did not start"
}

stop_server() {
    if [ -n "$SPID" ]; then
        kill "$SPID" 2>/dev/null
        wait "$SPID" 2>/dev/null
        SPID=""
    fi
}

# Runs a command bounded in time; prints its RESULT words (or an error).
bounded() {
    local limit=$1
    shift
    local line
    line=$(timeout -k 2 "$limit" "$@" 2>>"$WORK/clients.log" | grep '^RESULT' | tail -1)
    if [ -z "$line" ]; then echo "error=no-result"; else echo "${line#RESULT }"; fi
}

# median_rec: of the records on stdin (one a line), the one with the
# median msgs_s (error=no-result when none has one).
median_rec() {
    awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^msgs_s=/) { split($i, kv, "="); print kv[2] "\t" $0 } }' |
        sort -n | awk -F'\t' '{ l[NR] = $2 } END { if (NR) print l[int((NR + 1) / 2)]; else print "error=no-result" }'
}

# get KEY WORDS: the value of KEY in a line of key=value words.
get() { echo "$2" | tr ' ' '\n' | awk -F= -v k="$1" '$1==k{print $2; exit}'; }

fmt_rate() { awk -v v="${1:-}" 'BEGIN{ if (v=="") print "-"; else if (v>=10000) printf "%.1fk", v/1000; else if (v>=100) printf "%.0f", v; else printf "%.1f", v }'; }
ratio() { awk -v a="${1:-}" -v b="${2:-}" 'BEGIN{ if (a=="" || b=="" || b+0<=0) print "-"; else { r=a/b; if (r>=0.1 || r==0) printf "%.2fx", r; else printf "%.3gx", r } }'; }
us() { awk -v v="${1:-}" 'BEGIN{ if (v=="") print "-"; else if (v>=1e6) printf "%.2fs", v/1e6; else if (v>=1000) printf "%.1fms", v/1000; else printf "%dus", v }'; }
size_label() { case $1 in 1048576) echo 1MiB ;; 65536) echo 64KiB ;; 1024) echo 1KiB ;; *) echo "${1}B" ;; esac; }

# ---------------------------------------------------------------- server echo
echo_case() { # conns size mode k [9]
    local conns=$1 size=$2 mode=$3 k=$4 v=${5:-} warm=$WARM
    [ "$size" -ge 1048576 ] && warm=$WARM_BIG
    local limit
    limit=$(awk -v d="$DUR" -v w="$warm" 'BEGIN{print int(d+w+25)}')
    local -A res
    for sv in native ours ref; do
        if [ $sv = ref ] && [ $((conns * k * size)) -gt $REF_MAX_INFLIGHT ]; then
            res[$sv]="skipped=\"$((conns * k * size / 1048576)) MiB in flight: more than one window at the reference's ~10-20 MiB/s\""
        else
            if [ $sv = native ]; then start_server native; else start_server "$sv$v"; fi
            res[$sv]=$(bounded "$limit" "$BIN/ws-loadgen" --url "ws://127.0.0.1:$SPORT/echo" \
                --conns "$conns" --size "$size" --mode "$mode" --inflight "$k" \
                --duration "$DUR" --warmup "$warm" --threads "$LG_THREADS" --cpu-pid "$SPID")
            stop_server
        fi
        echo "kind=echo$v server=$sv conns=$conns size=$size mode=$mode inflight=$k ${res[$sv]}" >>"$RESULTS"
    done
    local n o r
    n=$(get msgs_s "${res[native]}"); o=$(get msgs_s "${res[ours]}"); r=$(get msgs_s "${res[ref]}")
    printf '  %2s x %-6s %-6s x%-2s%s  native %8s | ours %8s (%s native, %s ref) | ref %8s (%s native)  p50 %s / %s  p99 %s / %s / %s\n' \
        "$conns" "$(size_label "$size")" "$mode" "$k" "${v:+ (Tcl 9)}" "$(fmt_rate "$n")" "$(fmt_rate "$o")" "$(ratio "$o" "$n")" \
        "$(ratio "$o" "$r")" "$(if [ -n "$r" ]; then fmt_rate "$r"; else echo skipped; fi)" "$(ratio "$r" "$n")" \
        "$(us "$(get p50_us "${res[native]}")")" "$(us "$(get p50_us "${res[ours]}")")" \
        "$(us "$(get p99_us "${res[native]}")")" "$(us "$(get p99_us "${res[ours]}")")" "$(us "$(get p99_us "${res[ref]}")")"
}

echo "== server echo (msgs/s; ratios: ours to native and to the reference; p99 native / ours / ref)"
if [ "$MODE" = full ]; then
    for conns in $ECHO_CONNS; do for size in $ECHO_SIZES; do for mode in $ECHO_MODES; do for k in $ECHO_K; do
        echo_case "$conns" "$size" "$mode" "$k"
    done; done; done; done
else
    for c in $QUICK_ECHO; do IFS=: read -r conns size mode k <<<"$c"; echo_case "$conns" "$size" "$mode" "$k"; done
fi

# ---------------------------------------------------------------- client side
client_case() { # size k mode [9]
    local size=$1 k=$2 mode=$3 v=${4:-} tclsh=$TCLSH ours=$OURS_LIB limit url n o o0 r w
    [ -n "$v" ] && { tclsh=$TCLSH9; ours=$OURS9_LIB; }
    limit=$(awk -v d="$DUR" -v w="$WARM" 'BEGIN{print int(d+w+25)}')
    start_server native
    url="ws://127.0.0.1:$SPORT/echo"
    local rounds=1 i ns="" os="" o0s=""
    # 1 KiB one at a time, the headline case: ours also without busy
    # polling (-busypoll 0), to show what the polling gives and what CPU it
    # costs; one message at a time measures wake-ups, which vary most from
    # run to run, so three interleaved rounds and the median of each.
    local headline=""
    [ "$k" = 1 ] && [ "$size" = 1024 ] && [ "$mode" = binary ] && { headline=1; rounds=3; }
    for ((i = 0; i < rounds; i++)); do
        ns+="$(bounded "$limit" "$BIN/ws-loadgen" --url "$url" --conns 1 --size "$size" --mode "$mode" --inflight "$k" --duration "$DUR" --warmup "$WARM")"$'\n'
        os+="$(TCLLIBPATH=$ours bounded "$limit" "$tclsh" "$ROOT/bench/client.tcl" "$url" "$size" "$k" "$mode" "$DUR" "$WARM")"$'\n'
        [ -n "$headline" ] && o0s+="$(BENCH_OPEN_OPTS="-busypoll 0" TCLLIBPATH=$ours bounded "$limit" "$tclsh" "$ROOT/bench/client.tcl" "$url" "$size" "$k" "$mode" "$DUR" "$WARM")"$'\n'
    done
    n=$(printf '%s' "$ns" | median_rec)
    o=$(printf '%s' "$os" | median_rec)
    r=$(TCLWEBSOCKET_USE_TCLLIB=1 TCLLIBPATH=$REF_LIB bounded "$limit" "$tclsh" "$ROOT/bench/client.tcl" "$url" "$size" "$k" "$mode" "$DUR" "$WARM")
    if [ -n "$headline" ]; then
        o0=$(printf '%s' "$o0s" | median_rec)
        echo "kind=clientnopoll$v client=native server=native conns=1 size=$size mode=$mode inflight=$k $n" >>"$RESULTS"
        echo "kind=clientnopoll$v client=ours server=native conns=1 size=$size mode=$mode inflight=$k $o0" >>"$RESULTS"
        printf '  1 x %-6s %-6s x%-2s%s  ours with -busypoll 0: %8s, %s CPU per message (with polling: %s)\n' \
            "$(size_label "$size")" "$mode" "$k" "${v:+ (Tcl 9)}" "$(fmt_rate "$(get msgs_s "$o0")")" \
            "$(us "$(get cpu_us "$o0")")" "$(us "$(get cpu_us "$o")")"
    fi
    stop_server
    for who in native ours ref; do
        case $who in native) w=$n ;; ours) w=$o ;; ref) w=$r ;; esac
        echo "kind=client$v client=$who server=native conns=1 size=$size mode=$mode inflight=$k $w" >>"$RESULTS"
    done
    nm=$(get msgs_s "$n"); om=$(get msgs_s "$o"); rm_=$(get msgs_s "$r")
    printf '  1 x %-6s %-6s x%-2s%s  native client %8s | ours %8s (%s native, %s ref) | ref %8s\n' \
        "$(size_label "$size")" "$mode" "$k" "${v:+ (Tcl 9)}" "$(fmt_rate "$nm")" "$(fmt_rate "$om")" "$(ratio "$om" "$nm")" \
        "$(ratio "$om" "$rm_")" "$(fmt_rate "$rm_")"
}

echo "== client side against the native server (msgs/s)"
for c in $CLIENT_CASES; do
    IFS=: read -r size k mode <<<"$c"
    client_case "$size" "$k" "$mode"
done

# ---------------------------------------------------------------- Tcl 9
echo "== Tcl 9: the headline cases (tclsh $tclv9)"
for c in 50:1024:binary:1 50:1024:binary:16 1:1048576:binary:1; do
    IFS=: read -r conns size mode k <<<"$c"
    echo_case "$conns" "$size" "$mode" "$k" 9
done
for c in 1024:1:binary 1024:16:binary; do
    IFS=: read -r size k mode <<<"$c"
    client_case "$size" "$k" "$mode" 9
done

# ---------------------------------------------------------------- generator
# The native server again, the generator given twice the threads: if its
# figure rose, the generator would be what limits the figures above.
echo "== load generator check: native server, $LG_THREADS and $((2 * LG_THREADS)) generator threads (msgs/s)"
for c in 50:1024:1 50:1024:16; do
    IFS=: read -r conns size k <<<"$c"
    for t in "$LG_THREADS" $((2 * LG_THREADS)); do
        start_server native
        res=$(bounded 40 "$BIN/ws-loadgen" --url "ws://127.0.0.1:$SPORT/echo" --conns "$conns" --size "$size" \
            --mode binary --inflight "$k" --duration "$DUR" --warmup "$WARM" --threads "$t")
        stop_server
        echo "kind=loadcheck server=native threads=$t conns=$conns size=$size mode=binary inflight=$k $res" >>"$RESULTS"
        printf '  %s x %s x%-2s  %2s threads: %8s msgs/s  p50 %s\n' "$conns" "$(size_label "$size")" "$k" "$t" \
            "$(fmt_rate "$(get msgs_s "$res")")" "$(us "$(get p50_us "$res")")"
    done
done

# ---------------------------------------------------------------- idle memory
echo "== idle memory: RSS per connection, $IDLE idle connections held"
declare -A IDLE_RES
for sv in native ours ref; do
    start_server $sv
    res=$(bounded 90 "$BIN/ws-loadgen" --url "ws://127.0.0.1:$SPORT/echo" --idle "$IDLE" --rss-pid "$SPID" --settle 1)
    alive=$(kill -0 "$SPID" 2>/dev/null && echo yes || echo no)
    stop_server
    note=""
    if [ "$(get opened "$res")" != "$IDLE" ] || [ "$(get alive "$res")" != "$IDLE" ]; then
        why=$(tail -1 "$WORK/$sv.log" 2>/dev/null | tr -d '"')
        note="$IDLE idle connections failed: opened $(get opened "$res"), server $([ $alive = yes ] && echo 'still running' || echo "died: $why"); measured with 400 instead"
        echo "  $sv: $note"
        start_server $sv
        res=$(bounded 60 "$BIN/ws-loadgen" --url "ws://127.0.0.1:$SPORT/echo" --idle 400 --rss-pid "$SPID" --settle 1)
        stop_server
    fi
    IDLE_RES[$sv]=$res
    echo "kind=idle server=$sv $res${note:+ note=\"$note\"}" >>"$RESULTS"
done
pn=$(get per_conn_bytes "${IDLE_RES[native]}"); po=$(get per_conn_bytes "${IDLE_RES[ours]}"); pr=$(get per_conn_bytes "${IDLE_RES[ref]}")
printf '  per connection: native %s B | ours %s B (%s native, %s ref) | ref %s B\n' "$pn" "$po" "$(ratio "$po" "$pn")" "$(ratio "$po" "$pr")" "$pr"

# ---------------------------------------------------------------- isolation
echo "== isolation: p99 of 20 clients while a 21st stops reading"
declare -A ISO
stalls="yes"
[ "$MODE" = full ] && stalls="no yes"
for stall in $stalls; do
    for sv in native ours ref; do
        start_server $sv
        extra=()
        [ $stall = yes ] && extra=(--stall-bytes 32m --stall-size 64k)
        res=$(bounded $((ISO_DUR + 25)) "$BIN/ws-loadgen" --url "ws://127.0.0.1:$SPORT/echo" --conns 20 --size 1k \
            --inflight 1 --duration "$ISO_DUR" --warmup 1 --pending-as-latency "${extra[@]}")
        stop_server
        ISO[$stall$sv]=$res
        echo "kind=isolation server=$sv stall=$stall $res" >>"$RESULTS"
    done
    n=$(get p99_us "${ISO[${stall}native]}"); o=$(get p99_us "${ISO[${stall}ours]}"); r=$(get p99_us "${ISO[${stall}ref]}")
    printf '  stalled reader %-3s p99: native %s | ours %s (%s native, %s ref) | ref %s (%s echoes, %s unanswered)\n' \
        "$stall" "$(us "$n")" "$(us "$o")" "$(ratio "$o" "$n")" "$(ratio "$o" "$r")" "$(us "$r")" \
        "$(get msgs "${ISO[${stall}ref]}")" "$(get pending "${ISO[${stall}ref]}")"
done

# ---------------------------------------------------------------- report
T1=$(date +%s)
echo "kind=meta elapsed=$((T1 - T0))s" >>"$RESULTS"
mkdir -p "$ROOT/build/bench"
cp "$RESULTS" "$ROOT/build/bench/bench-raw.txt"
echo "== summary ($COMMAND, $((T1 - T0)) s)"
"$BIN/bench-report" "$RESULTS" --md "$OUT/bench-results.md" --svg "$OUT/bench.svg" --summary "$WORK/summary.md" || die "report failed"
echo "written: $OUT/bench-results.md $OUT/bench.svg (raw figures: build/bench/bench-raw.txt)"
