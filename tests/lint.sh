#!/usr/bin/env bash
# Lint: formatting (rustfmt.toml) and clippy with warnings as errors, over
# the whole workspace (the package, tcl-sys, bench/loadgen, bench/native),
# every target (tests, benches) and every feature (fault-injection); and no
# import cycle between the files of the crate (tools/check-imports.sh src).
# Each check counts once in the final "N passed, M failed" line.
set -u
cd "$(dirname "$0")/.."
pass=0
fail=0
check() {
  echo "--- $*"
  if "$@"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAILED: $*"
  fi
}
check cargo fmt --all -- --check
check cargo clippy --workspace --all-targets --all-features -- -D warnings
check bash tools/check-imports.sh src
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
