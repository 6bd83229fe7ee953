#!/usr/bin/env bash
# Differential tests: run every scenario tests/diff/NAME.tcl with the
# reference package (tcllib's websocket 1.6) and with ours
# (TCLLIBPATH=/work/main/build/lib, or $OURS_LIB), and compare the
# transcripts (stdout, minus the reference's logger lines) with the
# checked-in expectations:
#   reference: NAME.expected-ref (NAME.expected-ref.tcl9 instead on Tcl 9 when
#              it exists: the reference behaves differently there)
#   ours:      NAME.expected-ours when NAME.ours-differs exists (documented
#              RFC 6455 deviations; NAME.expected-ours.tcl9 on Tcl 9 if it
#              exists), else NAME.expected-ref (the base file).
#
# Usage: tests/diff/run.sh [--ref-only|--ours-only] [--update-ref] [NAME...]
# Env:   TCLSH (default tclsh), WSTEST_PYTHON (default .venv/bin/python3),
#        REF_LIB (default: output of /work/shared/tools/reference-tcllib.sh),
#        OURS_LIB (default: <repo>/build/lib), SCENARIO_TIMEOUT (default 60 s).
# Prints one line per scenario (PASS/FAIL name) and "N passed, M failed";
# exits non-zero when a scenario failed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
tests=$(dirname "$here")
repo=$(dirname "$tests")
TCLSH=${TCLSH:-tclsh}
mode=both
update=0
names=()
for a in "$@"; do
    case $a in
        --ref-only) mode=ref ;;
        --ours-only) mode=ours ;;
        --update-ref) update=1 ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) names+=("${a%.tcl}") ;;
    esac
done
if [ ${#names[@]} -eq 0 ]; then
    for f in "$here"/*.tcl; do names+=("$(basename "$f" .tcl)"); done
fi

# Python with the websockets package.
if [ -z "${WSTEST_PYTHON:-}" ]; then
    if [ -x "$repo/.venv/bin/python3" ]; then WSTEST_PYTHON=$repo/.venv/bin/python3; else WSTEST_PYTHON=python3; fi
fi
export WSTEST_PYTHON
if ! "$WSTEST_PYTHON" -c 'import websockets' 2>/dev/null; then
    echo "run.sh: $WSTEST_PYTHON cannot import websockets (python3 -m venv .venv && .venv/bin/pip install -r tests/requirements.txt)" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

# Tcl 9 as unpacked by tcl9.sh finds its bundled modules (http, tcltest)
# only through TCL9_0_TM_PATH.
major=$(echo 'puts [lindex [split [info tclversion] .] 0]' | "$TCLSH")
if ! echo 'exit [catch {package require http}]' | "$TCLSH" >/dev/null 2>&1; then
    tm=$(echo 'puts [file join [info library] tcl[lindex [split [info tclversion] .] 0]]' | "$TCLSH")
    if [ -d "$tm" ]; then
        v=$(echo 'puts [string map {. _} [info tclversion]]' | "$TCLSH")
        export "TCL${v}_TM_PATH=$tm${TCL9_0_TM_PATH:+:$TCL9_0_TM_PATH}"
    fi
fi

REF_LIB=${REF_LIB:-$(bash "$repo/../shared/tools/reference-tcllib.sh" 2>/dev/null)}
OURS_LIB=${OURS_LIB:-$repo/build/lib}
timeout_s=${SCENARIO_TIMEOUT:-60}
out=$tests/out/diff
mkdir -p "$out"

# run_one IMPL NAME -> writes $out/NAME.IMPL.out (filtered) and .err
run_one() {
    local impl=$1 name=$2 lib
    if [ "$impl" = ref ]; then lib=$REF_LIB; else lib=$OURS_LIB; fi
    # TCLWEBSOCKET_USE_TCLLIB: the reference even where ours is installed.
    (cd "$here" && TCLWEBSOCKET_USE_TCLLIB=$([ "$impl" = ref ] && echo 1) TCLLIBPATH=$lib timeout "$timeout_s" "$TCLSH" "$name.tcl" \
        >"$out/$name.$impl.raw" 2>"$out/$name.$impl.err" </dev/null)
    echo $? >"$out/$name.$impl.rc"
    # Drop the reference's logger output ("[date] [websocket] [level] '...'").
    grep -v -E '^\[[^]]*\] \[websocket\] \[[a-z]+\] ' "$out/$name.$impl.raw" >"$out/$name.$impl.out"
}

expected_for() {
    local impl=$1 name=$2 base
    if [ "$impl" = ours ] && [ -e "$here/$name.ours-differs" ]; then
        base=$here/$name.expected-ours
    else
        base=$here/$name.expected-ref
    fi
    if [ "$major" -ge 9 ] && [ -e "$base.tcl9" ] && { [ "$impl" = ref ] || [ -e "$here/$name.ours-differs" ]; }; then
        echo "$base.tcl9"
    else
        echo "$base"
    fi
}

# check IMPL NAME -> 0 if the transcript matches
check() {
    local impl=$1 name=$2 exp rc
    exp=$(expected_for "$impl" "$name")
    rc=$(cat "$out/$name.$impl.rc")
    if [ ! -e "$exp" ]; then
        echo "missing $(basename "$exp")" >"$out/$name.$impl.why"
        return 1
    fi
    if ! diff -u "$exp" "$out/$name.$impl.out" >"$out/$name.$impl.diff"; then
        echo "transcript differs from $(basename "$exp") (exit $rc)" >"$out/$name.$impl.why"
        return 1
    fi
    if [ "$rc" != 0 ]; then
        echo "exit status $rc" >"$out/$name.$impl.why"
        return 1
    fi
    return 0
}

ours_built=1
if [ "$mode" != ref ] && ! ls "$OURS_LIB"/*/pkgIndex.tcl >/dev/null 2>&1 && ! [ -f "$OURS_LIB/pkgIndex.tcl" ]; then
    ours_built=0
fi

pass=0
fail=0
for name in "${names[@]}"; do
    if [ ! -e "$here/$name.tcl" ]; then
        echo "FAIL $name (no such scenario)"; fail=$((fail+1)); continue
    fi
    impls=()
    [ "$mode" != ours ] && impls+=(ref)
    [ "$mode" != ref ] && [ $ours_built = 1 ] && impls+=(ours)
    for impl in "${impls[@]}"; do run_one "$impl" "$name" & done
    wait
    why=""
    for impl in "${impls[@]}"; do
        if [ "$impl" = ref ] && [ $update = 1 ]; then
            target=$here/$name.expected-ref
            if [ "$major" -ge 9 ]; then
                if cmp -s "$target" "$out/$name.ref.out"; then rm -f "$target.tcl9"; else target=$target.tcl9; fi
            fi
            cp "$out/$name.ref.out" "$target"
        fi
        if ! check "$impl" "$name"; then
            why="$why [$impl: $(cat "$out/$name.$impl.why")]"
        fi
    done
    if [ "$mode" != ref ] && [ $ours_built = 0 ]; then
        why="$why [ours: not built, no pkgIndex.tcl under $OURS_LIB]"
    fi
    if [ -z "$why" ]; then
        echo "PASS $name"; pass=$((pass+1))
    else
        echo "FAIL $name$why"; fail=$((fail+1))
        for impl in "${impls[@]}"; do
            if [ -s "$out/$name.$impl.diff" ]; then
                echo "  --- $impl diff (first 30 lines; full: tests/out/diff/$name.$impl.diff)"
                head -30 "$out/$name.$impl.diff" | sed 's/^/  /'
            fi
        done
    fi
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
