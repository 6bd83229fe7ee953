#!/usr/bin/env bash
# Autobahn|Testsuite, CLIENT side: wstest -m fuzzingserver on loopback, and
# /work/shared/tools/autobahn/client_driver.tcl (websocket::open + echo of
# every message) with whatever `package require websocket` finds.
#
#   tests/autobahn-client.sh                  # ours: build/lib (make build)
#   TCLLIBPATH=... TCLSH=... tests/autobahn-client.sh
#
# Two runs of ../shared/tools/autobahn/run-client.sh, one chunk (process
# pair) per pattern:
#   1. "1.*,2.*,3.*,4.*,5.*,6.*,7.*,10.*"
#   2. 9.* (big messages) apart, split: "9.1.*,...,9.8.*"
# then one summary over both (summarize.py: every selected case must be OK,
# NON-STRICT or INFORMATIONAL; a missing case counts as failed).
# Env: TCLLIBPATH (default <repo>/build/lib), TCLSH (tclsh), REPORTS
#      (default tests/out/autobahn-client, emptied first), AGENT, TIMEOUT,
#      CHUNK_TIMEOUT, CASE_TIMEOUT (passed on to run-client.sh).
# Last line: "N passed, M failed"; exit status 1 when M > 0.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
ab=$repo/../shared/tools/autobahn
export TCLLIBPATH=${TCLLIBPATH:-$repo/build/lib}
export AGENT=${AGENT:-tcl-websocket}
reports=${REPORTS:-$repo/tests/out/autobahn-client}
MAIN_CASES=${MAIN_CASES:-1.*,2.*,3.*,4.*,5.*,6.*,7.*,10.*}
BIG_CASES=${BIG_CASES:-9.1.*,9.2.*,9.3.*,9.4.*,9.5.*,9.6.*,9.7.*,9.8.*}

if [ ! -d "$ab" ]; then
    echo "autobahn-client.sh: $ab not found" >&2
    echo "0 passed, 1 failed"; exit 1
fi
rm -rf "$reports"
mkdir -p "$reports"
echo "autobahn client: ${TCLSH:-tclsh}, TCLLIBPATH=$TCLLIBPATH, reports in $reports"
start=$(date +%s)
rc=0
REPORTS=$reports/main bash "$ab/run-client.sh" "$MAIN_CASES" || rc=1
t1=$(date +%s)
echo "main cases: $(( t1 - start )) s"
REPORTS=$reports/big bash "$ab/run-client.sh" "$BIG_CASES" || rc=1
t2=$(date +%s)
echo "9.* cases: $(( t2 - t1 )) s"

echo
echo "=== all client cases ($(( t2 - start )) s)"
cat "$reports/main/expected.txt" "$reports/big/expected.txt" > "$reports/expected.txt"
python3 "$ab/summarize.py" --agent "$AGENT" --expected "$reports/expected.txt" \
    --title client "$reports" | tee "$reports/summary.txt"
src=${PIPESTATUS[0]}
if [ "$src" -ne 0 ] || [ "$rc" -ne 0 ]; then
    # summarize.py already said "N passed, M failed" with M > 0 unless a run
    # broke without losing a case (then say so).
    if [ "$src" -eq 0 ]; then echo "a run-client.sh run failed"; echo "0 passed, 1 failed"; fi
    exit 1
fi
exit 0
