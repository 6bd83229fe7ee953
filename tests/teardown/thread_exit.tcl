# Two threads, each with its own interpreter, server and connection, all
# served by the one I/O thread: each hears only its own events. Then one
# thread exits with its connection live: its peer sees the end, and the
# other thread and the main thread go on.
source [file join [file dirname [info script]] lib.tcl]
package require Thread
set main [thread::id]
set setup [string map [list @AP@ [list $auto_path] @LIB@ [list [file join $here lib.tcl]] @MAIN@ $main @PY@ [list [expr {[info exists env(PYTHON)] ? $env(PYTHON) : "python3"}]]] {
    set auto_path @AP@
    set env(PYTHON) @PY@
    source @LIB@
    proc h {sock type msg} {
        thread::send -async @MAIN@ [list seen [thread::id] $type $msg]
        if {$type eq "text"} { websocket::send $sock text "from [thread::id]: $msg" }
    }
    set port [ws_server h]
    thread::wait
}]
set t1 [thread::create -preserved $setup]
set t2 [thread::create -preserved $setup]
proc seen {tid type msg} {
    global t1 t2
    set who [expr {$tid eq $t1 ? "T1" : ($tid eq $t2 ? "T2" : "??")}]
    puts "$who $type $msg"
    flush stdout
}
# thread::send waits for each thread to have run its setup.
set p1 [thread::send $t1 {set port}]
set p2 [thread::send $t2 {set port}]
ws_peer P1 $p1 text:one recv wait-close
ws_peer P2 $p2 text:two recv sleep:3 close
# T1 goes once its peer has had its answer (however slow the run is).
while {![string match "recv text*" [expr {[info exists ::peerline(P1)] ? $::peerline(P1) : ""}]]} {
    wait_for ::peerline(P1) 20000
    if {![info exists ::peerline(P1)] || $::peerline(P1) eq "timeout"} break
}
thread::release $t1
wait_for ::peer_done(P1) 20000
wait_for ::peer_done(P2) 20000
puts "t2 alive: [thread::exists $t2]"
thread::release $t2
puts end
