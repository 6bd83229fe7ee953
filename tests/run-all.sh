#!/usr/bin/env bash
# Every test of the project, as `make test` runs it (after building the
# package for Tcl 8.6 into build/lib and for Tcl 9 into build/tcl9/lib):
#   lint. cargo fmt --check (rustfmt.toml) and clippy -D warnings over the
#      workspace, all targets and features; no import cycle in src
#      (tests/lint.sh)
#   0. make install/uninstall (8.6 and 9) over tcllib's websocket, at the
#      real paths in a throwaway mount namespace; the man page
#   1. Rust unit and property tests (protocol core, engine pieces)
#   2. tcltest suites against independent peers, Tcl 8.6
#   3. the same suites under Tcl 9
#   4. differential transcripts: the reference tcllib 1.6 and ours (8.6, 9)
#   5. Autobahn|Testsuite, server side (cases 1.* to 10.*)
#   5b. scale: 10 000 concurrent WebSockets plus abandoned handshakes on
#      one tclsh (or what the open-files limit fits; on Tcl 8.6, whose
#      select() notifier stops at 1024 descriptors, only 200 abandoned:
#      those stay Tcl channels)
#   6. tcllib's own websocket.test, unchanged, against a local echo server
#      (tests/tcllib/run.sh), Tcl 8.6 and Tcl 9
#   7. Autobahn|Testsuite, client side (1.* to 10.*, 9.* apart, split)
#   8. permessage-deflate: Autobahn 12.* and 13.* (messages up to 1 KiB of
#      every group), server and client side, and the scale run with
#      compression (docs/compression.md)
# Each stage ends with an "N passed, M failed" line (tcltest stages add
# ", S skipped": only constraints all.tcl allows by name may skip; any
# other skip is a failure); the last line sums them, with the skips per
# suite.
set -u
cd "$(dirname "$0")/.."
root=$PWD
export PYTHON=$root/.venv/bin/python
TCL9=${TCL9:-$HOME/.cache/tcl9}
out=${TEST_OUT:-$root/tests/out}
mkdir -p "$out"
total_pass=0
total_fail=0
total_skip=0
skips=()
failed_stages=()

# stage NAME COMMAND...: runs it, shows its output, adds its last count.
stage() {
  local name=$1; shift
  echo "=== $name"
  local log="$out/$name.log"
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local counts p f sk
  counts=$(grep -Eo '^([A-Za-z-]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -n1 | grep -Eo '[0-9]+ passed, [0-9]+ failed')
  sk=$(grep -Eo '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' "$log" | tail -n1 | grep -Eo '[0-9]+ skipped' | grep -Eo '[0-9]+')
  sk=${sk:-0}
  if [ -z "$counts" ]; then
    # cargo's own summary lines
    p=$(grep -Eo 'test result: [a-z]+\. [0-9]+ passed' "$log" | awk '{s+=$4} END {print s+0}')
    f=$(grep -Eo '; [0-9]+ failed' "$log" | awk '{s+=$2} END {print s+0}')
  else
    p=${counts%% passed*}; f=${counts#*, }; f=${f%% failed}
  fi
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  total_pass=$((total_pass + p)); total_fail=$((total_fail + f)); total_skip=$((total_skip + sk))
  skips+=("$name $sk")
  [ "$f" -eq 0 ] || failed_stages+=("$name")
  echo "--- $name: $p passed, $f failed, $sk skipped (exit $rc)"
}

stage lint bash tests/lint.sh
stage install bash tests/install-check.sh
stage rust cargo test --release -p tcl-websocket -p tcl-sys -p ws-loadgen
stage tcl86 env TCLLIBPATH="$root/build/lib" tclsh tests/all.tcl -constraints "rfc ours"
stage tcl9 env TCLLIBPATH="$root/build/tcl9/lib" TCLSH="$TCL9/tclsh9.0" TCL9_0_TM_PATH="$TCL9/usr/lib/tcl9.0/tcl9" "$TCL9/tclsh9.0" tests/all.tcl -constraints "rfc ours"
stage diff env OURS_LIB="$root/build/lib" bash tests/diff/run.sh
stage diff9 env OURS_LIB="$root/build/tcl9/lib" TCLSH="$TCL9/tclsh9.0" bash tests/diff/run.sh
stage autobahn env TCLLIBPATH="$root/build/lib" REPORTS="$out/autobahn" \
  bash ../shared/tools/autobahn/run-server.sh "1.*,2.*,3.*,4.*,5.*,6.*,7.*,9.*,10.*"
stage scale env TCLLIBPATH="$root/build/lib" bash tests/scale/run.sh 10000 200
stage scale9 env TCLLIBPATH="$root/build/tcl9/lib" TCLSH="$TCL9/tclsh9.0" bash tests/scale/run.sh 10000 1000
stage tcllib env TCLLIBPATH="$root/build/lib" bash tests/tcllib/run.sh
stage tcllib9 env TCLLIBPATH="$root/build/tcl9/lib" TCLSH="$TCL9/tclsh9.0" bash tests/tcllib/run.sh
stage autobahn-client env TCLLIBPATH="$root/build/lib" REPORTS="$out/autobahn-client" \
  bash tests/autobahn-client.sh
deflate_cases='12.*.[1-4]$,13.*.[1-4]$'
stage autobahn-deflate env TCLLIBPATH="$root/build/lib" REPORTS="$out/autobahn-deflate" \
  WS_CONFIGURE="-deflate 1" EXCLUDE= bash ../shared/tools/autobahn/run-server.sh "$deflate_cases"
stage autobahn-client-deflate env TCLLIBPATH="$root/build/lib" REPORTS="$out/autobahn-client-deflate" \
  WS_OPEN_OPTS="-deflate 1" EXCLUDE= bash ../shared/tools/autobahn/run-client.sh "$deflate_cases"
stage scale-deflate env DEFLATE=1 TCLLIBPATH="$root/build/lib" bash tests/scale/run.sh 10000 200

echo
if [ ${#failed_stages[@]} -gt 0 ]; then echo "failed stages: ${failed_stages[*]}"; fi
echo "total: $total_pass passed, $total_fail failed, $total_skip skipped ($(IFS=,; echo "${skips[*]}" | sed 's/,/, /g'))"
[ "$total_fail" -eq 0 ]
