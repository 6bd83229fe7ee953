# make demo: a WebSocket echo server written with `package require websocket`
# (the documented tcllib API), talked to on loopback by an independent client
# (Python's websockets library). Prints the handler transcript, then exits.
package require websocket
puts "websocket [package present websocket] loaded from [file dirname [lindex [package ifneeded websocket [package present websocket]] end-1]]"

proc accept {sock addr port} {
    fconfigure $sock -translation crlf -blocking 0
    set ::hdrs($sock) {}
    fileevent $sock readable [list request $sock]
}

# Reads the HTTP request without blocking, then hands the socket over.
proc request {sock} {
    if {[gets $sock line] < 0} {
        if {[eof $sock]} { close $sock }
        return
    }
    if {[string match "GET *" $line]} {
        set ::path($sock) [lindex $line 1]
        return
    }
    if {$line ne ""} {
        regexp {^([^:]+):\s*(.*)$} $line -> k v
        lappend ::hdrs($sock) $k $v
        return
    }
    if {[websocket::test $::srv $sock $::path($sock) $::hdrs($sock)]} {
        websocket::upgrade $sock
    } else {
        close $sock
    }
}

proc handler {sock type msg} {
    if {$type eq "binary"} {
        binary scan $msg H* hex
        set shown "[string length $msg] bytes: $hex"
    } else {
        set shown $msg
    }
    puts [format "  server handler: %-10s %s" $type $shown]
    switch -- $type {
        text - binary { websocket::send $sock $type $msg }
        disconnect { after 100 {set ::done 1} }
    }
}

set srv [socket -server accept -myaddr 127.0.0.1 0]
websocket::server $srv
websocket::live $srv /echo handler
set port [lindex [fconfigure $srv -sockname] 2]
puts "server listening on ws://127.0.0.1:$port/echo"

set python [expr {[info exists env(PYTHON)] ? $env(PYTHON) : "python3"}]
set client [file join [file dirname [info script]] demo_client.py]
set pipe [open |[list $python $client ws://127.0.0.1:$port/echo 2>@1] r]
fileevent $pipe readable {
    if {[gets $pipe line] >= 0} { puts "  client: $line" } elseif {[eof $pipe]} { close $pipe }
}
after 10000 {puts "demo timed out"; set ::done 1}
vwait ::done
puts "demo finished"
