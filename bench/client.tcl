# A WebSocket client benchmark for `make bench`, written with the
# package's documented API only (websocket::open, send, close), so the same
# script runs on our package and on tcllib's.
#
#   tclsh client.tcl url ?size? ?inflight? ?mode? ?duration? ?warmup? ?conns?
#
# Opens `conns` connections to an echo server, keeps `inflight` messages of
# `size` bytes (mode text or binary) in flight on each, counts the echoes
# that come back during `duration` seconds after `warmup` seconds, and
# prints one line:
#   RESULT msgs=N secs=S msgs_s=R mib_s=M p50_us=A p99_us=B errors=E cpu_us=C
# (cpu_us: the process's CPU time per message, all threads, where /proc
# tells it.)
package require websocket

lassign $argv url size inflight mode duration warmup conns
foreach {var default} {size 16 inflight 1 mode binary duration 2 warmup 0.5 conns 1} {
    if {[set $var] eq ""} { set $var $default }
}

# bench/deflate.sh: BENCH_JSON=1 sends JSON-like text (what compression
# is for), BENCH_OPEN_OPTS adds options to every open (-deflate 1, -busypoll 0).
set unit abcdefghijklmnopqrstuvwxyz
if {[info exists ::env(BENCH_JSON)] && $::env(BENCH_JSON)} {
    set unit {{"id": 1234, "user": "someone", "text": "hello there", "tags": ["a", "b"], "ok": true}, }
}
set text [string range [string repeat $unit [expr {$size / [string length $unit] + 1}]] 0 [expr {$size - 1}]]
set openopts [expr {[info exists ::env(BENCH_OPEN_OPTS)] ? $::env(BENCH_OPEN_OPTS) : {}}]
if {$mode eq "binary"} {
    set payload [encoding convertto utf-8 $text]
} else {
    set payload $text
}

# The settings and counters live in one global array, B, and the send
# times of each connection's messages in flight in sent($sock): the
# handler links them once with `global`. A `$::name` in a proc is looked up
# by its full name at every use, about 1k instructions each in Tcl 8.6;
# with a dozen a message that was the client's largest cost after Tcl's
# own (docs/performance.md).
array set B [list count 0 bytes 0 errors 0 connected 0 phase connecting \
    size $size mode $mode payload $payload conns $conns end 0 warmEnd 0]
set ::lat {}

proc fire {sock} {
    global B sent
    lappend sent($sock) [clock microseconds]
    websocket::send $sock $B(mode) $B(payload)
}

proc handler {sock type msg} {
    switch -- $type {
        text - binary {
            global B sent lat
            set now [clock microseconds]
            set t0 [lindex $sent($sock) 0]
            set sent($sock) [lrange $sent($sock) 1 end]
            # The next message goes out first, so that the counting below
            # overlaps its round trip, as a load generator's should.
            if {$now < $B(end)} {
                lappend sent($sock) [clock microseconds]
                websocket::send $sock $B(mode) $B(payload)
            }
            if {[string length $msg] != $B(size)} { incr B(errors) }
            if {$now >= $B(warmEnd) && $now < $B(end)} {
                incr B(count)
                incr B(bytes) [string length $msg]
                lappend lat [expr {$now - $t0}]
            }
        }
        connect {
            global B sent
            set sent($sock) {}
            if {[incr B(connected)] == $B(conns)} {
                # bench/budget.sh attaches its counters meanwhile.
                if {[info exists ::env(BENCH_PAUSE_MS)]} {
                    after $::env(BENCH_PAUSE_MS) go
                } else {
                    go
                }
            }
        }
        error - timeout {
            global B
            incr B(errors)
            if {$B(phase) eq "connecting"} {
                puts "RESULT error=connect detail=[list $msg]"
                exit 1
            }
        }
    }
}

# Every connection is open: start the clock and the traffic.
proc go {} {
    global B
    set B(phase) running
    set start [clock microseconds]
    set B(warmEnd) [expr {$start + int($::warmup * 1e6)}]
    set B(end) [expr {$B(warmEnd) + int($::duration * 1e6)}]
    foreach sock $::socks {
        for {set i 0} {$i < $::inflight} {incr i} { fire $sock }
    }
    after [expr {int($::warmup * 1000)}] {set ::cpu0 [cpu_ticks]}
    after [expr {int(($::warmup + $::duration) * 1000)}] finish
}

# CPU time of the whole process (every thread) in clock ticks of 10 ms,
# from /proc (Linux); "" elsewhere.
proc cpu_ticks {} {
    if {[catch {open /proc/[pid]/stat} f]} { return "" }
    set stat [read $f]
    close $f
    # After the command name: state, ppid, ...; utime and stime are the
    # 14th and 15th fields.
    set rest [string range $stat [expr {[string last ")" $stat] + 2}] end]
    return [expr {[lindex $rest 11] + [lindex $rest 12]}]
}

proc pct {sorted q} {
    set n [llength $sorted]
    if {$n == 0} { return 0 }
    set i [expr {max(0, int(ceil($q * $n)) - 1)}]
    return [lindex $sorted $i]
}

proc finish {} {
    set secs $::duration
    set sorted [lsort -integer $::lat]
    # CPU per message in the measured window, all threads (10 ms ticks).
    set cpu ""
    set t1 [cpu_ticks]
    set count $::B(count)
    if {$t1 ne "" && [info exists ::cpu0] && $::cpu0 ne "" && $count > 0} {
        set cpu [format " cpu_us=%.2f" [expr {($t1 - $::cpu0) * 10000.0 / $count}]]
    }
    puts [format "RESULT conns=%d size=%d inflight=%d mode=%s msgs=%d secs=%.3f msgs_s=%.1f mib_s=%.3f p50_us=%d p99_us=%d errors=%d%s" \
        $::conns $::size $::inflight $::mode $count $secs \
        [expr {$count / double($secs)}] [expr {$::B(bytes) / double($secs) / 1048576.0}] \
        [pct $sorted 0.5] [pct $sorted 0.99] $::B(errors) $cpu]
    flush stdout
    set ::done 1
}

set ::socks {}
for {set i 0} {$i < $conns} {incr i} {
    lappend ::socks [websocket::open $url handler -timeout 10000 {*}$::openopts]
}
# Bounded: connecting, warm-up and measuring never take more than this.
after [expr {int((15 + $warmup + $duration) * 1000)}] {
    puts "RESULT error=timeout"
    exit 1
}
vwait ::done
foreach sock $::socks { catch {websocket::close $sock} }
exit 0
