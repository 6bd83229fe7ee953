# The I/O thread fails (argv: panic | poll) while two threads have live
# WebSockets: every handler of every thread gets close {1011 ...} and
# disconnect, the peers see the end, later commands fail with
# -errorcode {WEBSOCKET ENGINE FAILED}, and the process exits at once.
# Needs the test-only build (make build-fault): a frame whose payload ends
# with "fault:panic" or "fault:poll" injects the fault.
source [file join [file dirname [info script]] lib.tcl]
package require Thread
set kind [lindex $argv 0]
set main [thread::id]
set py [expr {[info exists env(PYTHON)] ? $env(PYTHON) : "python3"}]
set W [thread::create -preserved [string map [list @AP@ [list $auto_path] @LIB@ [list [file join $here lib.tcl]] @MAIN@ $main @PY@ [list $py]] {
    set auto_path @AP@
    set env(PYTHON) @PY@
    source @LIB@
    proc h {sock type msg} {
        thread::send -async @MAIN@ [list seen W $type $msg]
    }
    set port [ws_server h]
    thread::wait
}]]
proc seen {who type msg} {
    if {$type in {close disconnect}} {
        set why [expr {$type eq "close" ? [string match "WebSocket I/O thread failed: *" [lindex $msg 1]] : ""}]
        puts "$who $type [lindex $msg 0] $why"
        lappend ::ended($who) $type
    }
    if {$type eq "connect"} { incr ::connected }
}
proc h {sock type msg} {
    seen M $type $msg
    if {$type eq "connect"} { set ::msock $sock }
}
proc c {sock type msg} { seen C $type $msg }
set ::connected 0
set port [ws_server h]
set wport [thread::send $W {set port}]
ws_peer PM $port wait-close
ws_peer PW $wport wait-close
websocket::open ws://127.0.0.1:$wport/ c
set deadline [expr {[clock milliseconds] + 20000}]
while {$::connected < 4 && [clock milliseconds] < $deadline} { wait_for ::tick 20 }
puts "connected: $::connected"

puts "inject: [websocket::send $::msock text fault:$kind]"
set deadline [expr {[clock milliseconds] + 20000}]
while {[clock milliseconds] < $deadline &&
       !([info exists ::peer_done(PM)] && [info exists ::peer_done(PW)] &&
         [array size ::ended] == 3 && [llength [concat {*}[array get ::ended]]] == 9)} {
    wait_for ::tick 20
}
foreach who {M W C} { puts "$who ended: [expr {[info exists ::ended($who)] ? $::ended($who) : {}}]" }
proc try {label script} {
    set rc [catch {uplevel #0 $script} r o]
    puts "$label: $rc [expr {[dict exists $o -errorcode] ? [dict get $o -errorcode] : "none"}]"
}
try "send after" {websocket::send $::msock text more}
try "open after" {websocket::open ws://127.0.0.1:$port/ c}
try "open in W" {thread::send $W [list websocket::open ws://127.0.0.1:$port/ h]}
set t0 [clock milliseconds]
thread::release $W
puts end
flush stdout
exit
