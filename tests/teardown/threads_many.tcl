# Several threads, each with a server and a client (websocket::open to the
# next thread's server): every handler runs in the thread that owns the
# connection. Then 50 threads, 10 at a time, each load the package, open a
# WebSocket to the main thread's server, exchange a message and exit.
source [file join [file dirname [info script]] lib.tcl]
package require Thread
set main [thread::id]
set setup [string map [list @AP@ [list $auto_path] @LIB@ [list [file join $here lib.tcl]] @MAIN@ $main] {
    set auto_path @AP@
    source @LIB@
    # Server side: echo, and tell main which thread ran the handler.
    proc srv {sock type msg} {
        if {$type eq "text"} {
            thread::send -async @MAIN@ [list seen [thread::id] server $msg]
            websocket::send $sock text "echo $msg"
        }
    }
    # Client side.
    proc cli {sock type msg} {
        switch -- $type {
            connect { websocket::send $sock text "from [thread::id]" }
            text {
                thread::send -async @MAIN@ [list seen [thread::id] client $msg]
                websocket::close $sock
            }
        }
    }
    set port [ws_server srv]
    thread::wait
}]
set threads {}
for {set i 0} {$i < 4} {incr i} { lappend threads [thread::create -preserved $setup] }
set ports [lmap t $threads { thread::send $t {set port} }]
proc seen {tid side msg} {
    lappend ::seen [list $tid $side $msg]
}
set ::seen {}
foreach t $threads p [concat [lrange $ports 1 end] [lindex $ports 0]] {
    thread::send $t [list websocket::open ws://127.0.0.1:$p/ cli]
}
set deadline [expr {[clock milliseconds] + 15000}]
while {[llength $::seen] < 8 && [clock milliseconds] < $deadline} { wait_for ::tick 50 }
# Thread i's client talks to thread i+1's server.
set ok 0
foreach t $threads n [concat [lrange $threads 1 end] [lindex $threads 0]] {
    if {[list $n server "from $t"] in $::seen} { incr ok }
    if {[list $t client "echo from $t"] in $::seen} { incr ok }
}
puts "handlers in their threads: $ok of 8 (events: [llength $::seen])"
foreach t $threads { thread::release $t }

# Churn: 50 short-lived threads.
proc echo {sock type msg} {
    if {$type eq "text"} { websocket::send $sock text $msg }
}
set port [ws_server echo]
set work [string map [list @AP@ [list $auto_path] @MAIN@ $main @PORT@ $port] {
    set auto_path @AP@
    package require websocket
    proc cli {sock type msg} {
        switch -- $type {
            connect { websocket::send $sock text hi }
            text { set ::got $msg; websocket::close $sock }
            disconnect { set ::done 1 }
        }
    }
    websocket::open ws://127.0.0.1:@PORT@/ cli
    set id [after 10000 {set ::done timeout}]
    vwait ::done
    after cancel $id
    thread::send -async @MAIN@ [list finished [expr {[info exists ::got] ? $::got : "nothing"}]]
}]
set ::finished {}
proc finished {got} { lappend ::finished $got }
for {set round 0} {$round < 5} {incr round} {
    set batch {}
    for {set i 0} {$i < 10} {incr i} { lappend batch [thread::create -joinable $work] }
    # The main thread serves them meanwhile.
    set deadline [expr {[clock milliseconds] + 20000}]
    while {[llength [lmap t $batch { if {[thread::exists $t]} {set t} else continue }]] &&
           [clock milliseconds] < $deadline} {
        wait_for ::tick 20
    }
    foreach t $batch { thread::join $t }
}
update
puts "churn: [llength $::finished] threads, [llength [lsearch -all -exact $::finished hi]] exchanged"
puts end
