# thread::transfer of a WebSocket's channel from thread A to thread B: a
# socket taken over by a server, then one from websocket::open. The
# WebSocket ends in A (an error is logged, the peer sees the end), B gets
# a channel it can close, and A can then be released; the process goes on.
source [file join [file dirname [info script]] lib.tcl]
package require Thread
set main [thread::id]
set py [expr {[info exists env(PYTHON)] ? $env(PYTHON) : "python3"}]
set A [thread::create -preserved [string map [list @AP@ [list $auto_path] @LIB@ [list [file join $here lib.tcl]] @MAIN@ $main @PY@ [list $py]] {
    set auto_path @AP@
    set env(PYTHON) @PY@
    source @LIB@
    proc h {sock type msg} {
        thread::send -async @MAIN@ [list seen $sock $type $msg]
    }
    proc ::websocket::Log {level text} {
        thread::send -async @MAIN@ [list logged $level $text]
    }
    thread::wait
}]]
set B [thread::create -preserved {thread::wait}]
proc seen {sock type msg} {
    puts "A $type"
    if {$type eq "connect"} { set ::up $sock }
    if {$type eq "disconnect"} { set ::down 1 }
}
proc logged {level text} {
    puts "A log $level [regsub {sock\w+} $text SOCK]"
    set ::logged 1
}
# Moves A's WebSocket to B, which closes it.
proc move {sock} {
    global A B
    unset -nocomplain ::logged
    puts "transfer: [catch {thread::send $A [list thread::transfer $B $sock]} r] $r"
    if {![info exists ::logged]} { wait_for ::logged 20000 }
    puts "A has it: [expr {$sock in [thread::send $A {websocket::find}]}]"
    puts "B has it: [thread::send $B [list apply {{s} {expr {$s in [chan names]}}} $sock]]"
    puts "B close: [catch {thread::send $B [list close $sock]} r] $r"
}

# 1: a server's socket, taken over.
set port [thread::send $A {ws_server h}]
ws_peer P $port text:x wait-close
if {![info exists ::up]} { wait_for ::up 20000 }
move $::up
if {![info exists ::peer_done(P)]} { wait_for ::peer_done(P) 20000 }

# 2: a client's socket, from websocket::open (our own server in A).
unset ::up
thread::send $A [list set ::url ws://127.0.0.1:$port/]
thread::send $A {set ::c [websocket::open $::url h]}
if {![info exists ::up]} { wait_for ::up 20000 }
while {$::up ne [thread::send $A {set ::c}]} { wait_for ::up 20000 }
move $::up
# The server side of that connection, in A too, sees the end.
if {![info exists ::down]} { wait_for ::down 20000 }

thread::release $A
set deadline [expr {[clock milliseconds] + 8000}]
while {[thread::exists $A] && [clock milliseconds] < $deadline} { after 20 }
puts "A exists: [thread::exists $A]"
thread::release $B
puts end
