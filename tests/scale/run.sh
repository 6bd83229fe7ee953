#!/usr/bin/env bash
# Scale: N concurrent WebSockets on one tclsh server (each exchanging a
# message), plus M connections abandoned mid-handshake; prints the server's
# RSS before, with all of them, and after they are gone, the memory per
# connection, and the round trips of a probe client alone, during the
# connection storm and beside all of them. Ends with "N passed, M failed".
#   run.sh [N] [ABANDON]     TCLSH, TCLLIBPATH, PYTHON from the environment
#   DEFLATE=1: every connection negotiates permessage-deflate and its
#   message goes compressed both ways.
set -u
here=$(cd "$(dirname "$0")" && pwd)
n=${1:-10000}
abandon=${2:-1000}
TCLSH=${TCLSH:-tclsh}
PYTHON=${PYTHON:-python3}
ulimit -Hn 65536 2>/dev/null; ulimit -n "$(ulimit -Hn)" 2>/dev/null
limit=$(ulimit -n)
# Each WebSocket holds one descriptor in the server (the engine's: takeover
# replaces Tcl's channel), and so does each abandoned handshake.
fit=$(( limit - abandon - 64 ))
if [ "$n" -gt "$fit" ]; then
  echo "NOTE: the open-files limit ($limit) fits $fit connections, not $n: testing $fit"
  n=$fit
fi
echo "fd limit $limit, $n connections, $abandon abandoned handshakes"
work=$(mktemp -d)
trap 'kill $srv 2>/dev/null; cp "$work/err" /tmp/scale.err 2>/dev/null; rm -rf "$work"' EXIT
mkfifo "$work/in"
"$TCLSH" "$here/server.tcl" < "$work/in" > "$work/out" 2>"$work/err" &
srv=$!
exec 3>"$work/in"
for _ in $(seq 100); do grep -q listening "$work/out" && break; sleep 0.1; done
port=$(awk '/^listening/{print $2}' "$work/out")
ask() { echo "$1" >&3; sleep 0.3; grep "^$1" "$work/out" | tail -n1 | cut -d' ' -f2-; }
pass=0; fail=0
check() { if [ "$2" = 1 ]; then echo "PASS $1"; pass=$((pass+1)); else echo "FAIL $1"; fail=$((fail+1)); fi; }
rss0=$(ask rss)
# A well-behaved client's round trips: alone, while the others connect
# (and abandon handshakes), and while they are all held.
"$PYTHON" "$here/probe.py" "$port" 200 > "$work/probe0" 2>&1
"$PYTHON" "$here/manyclients.py" "$port" "$n" --abandon "$abandon" --hold 6 \
  $([ "${DEFLATE:-0}" = 1 ] && echo --deflate) > "$work/clients" 2>&1 &
cli=$!
"$PYTHON" "$here/probe.py" "$port" 1000 > "$work/probe1" 2>&1 &
probe1=$!
for _ in $(seq 600); do grep -q holding "$work/clients" && break; sleep 0.2; done
wait $probe1
"$PYTHON" "$here/probe.py" "$port" 200 > "$work/probe2" 2>&1
rss1=$(ask rss)
count=$(ask count)
wait $cli
# The engine gives memory back 2 s after most connections ended.
sleep 4
rss2=$(ask rss)
count2=$(ask count)
cat "$work/clients"
echo "server RSS: before ${rss0} kB, with $n connections ${rss1} kB, after ${rss2} kB (live, sockets: $count -> $count2)"
per=$(( (rss1 - rss0) * 1024 / n ))
echo "memory per connection: $per bytes"
echo "alone:                $(cat "$work/probe0")"
echo "while they connect:   $(cat "$work/probe1")"
echo "beside all of them:   $(cat "$work/probe2")"
check "all $n connected" "$(grep -q "^connected $n$" "$work/clients" && echo 1)"
check "all $n echoed" "$(grep -q "^echoed $n$" "$work/clients" && echo 1)"
check "server saw $n live WebSockets at once" "$([ "${count%% *}" = "$n" ] && echo 1)"
check "all gone after the clients left (the listening socket stays)" "$([ "$count2" = "0 1" ] && echo 1)"
check "a probe client was served alone, during the connection storm, and beside them all" \
  "$(grep -q '^probe 200 echoed' "$work/probe0" && grep -q '^probe 1000 echoed' "$work/probe1" && grep -q '^probe 200 echoed' "$work/probe2" && echo 1)"
# What Tcl's own allocator caches stays (tcllib's server gives back none).
check "at least a third of the memory the connections took was given back" \
  "$([ $(( (rss1 - rss2) * 3 )) -ge $(( rss1 - rss0 )) ] && echo 1)"
check "server still running" "$(kill -0 $srv 2>/dev/null && echo 1)"
echo quit >&3
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
