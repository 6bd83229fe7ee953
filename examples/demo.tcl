# make demo: both halves of the package, in Tcl, on loopback.
#  1. an echo server of ours (socket -server, websocket::server/live/test/
#     upgrade) and a client of ours (websocket::open) exchange text, binary,
#     a ping and the closing handshake;
#  2. the same server answers an independent client (Python's websockets,
#     examples/demo_client.py).
# Prints both handlers' events, then exits by itself.
package require websocket
puts "websocket [package present websocket] loaded from [file dirname [lindex [package ifneeded websocket [package present websocket]] end-1]]"

# ---------------------------------------------------------------- server
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

proc shown {type msg} {
    if {$type ne "binary"} { return $msg }
    binary scan $msg H* hex
    return "[string length $msg] bytes: $hex"
}

proc server {sock type msg} {
    puts [format "  server: %-10s %s" $type [shown $type $msg]]
    switch -- $type {
        text - binary { websocket::send $sock $type $msg }
        disconnect { set ::server_done 1 }
    }
}

set srv [socket -server accept -myaddr 127.0.0.1 0]
websocket::server $srv
websocket::live $srv /echo server
set port [lindex [fconfigure $srv -sockname] 2]
set url ws://127.0.0.1:$port/echo
puts "server listening on $url"
after 10000 {puts "demo timed out"; exit 1}

# ---------------------------------------------------------------- 1. our client
puts "\n1. a client of ours (websocket::open)"
proc client {sock type msg} {
    puts [format "  client: %-10s %s" $type [shown $type $msg]]
    switch -- $type {
        connect { websocket::send $sock text "Hello from Tcl, \u00e9\u4e2d" }
        text    { websocket::send $sock binary [binary format cu* {0 1 254 255}] }
        binary  { websocket::send $sock ping "are you there?" }
        pong { websocket::close $sock 1000 "demo over" }
        disconnect { set ::client_done 1 }
        error - timeout { puts "  client failed: $msg"; exit 1 }
    }
}
websocket::open $url client -timeout 5000
vwait ::client_done
if {![info exists ::server_done]} { vwait ::server_done }
unset ::server_done

# ---------------------------------------------------------------- 2. Python
puts "\n2. an independent client (Python websockets)"
set python [expr {[info exists env(PYTHON)] ? $env(PYTHON) : "python3"}]
set script [file join [file dirname [info script]] demo_client.py]
set pipe [open |[list $python $script $url 2>@1] r]
fileevent $pipe readable {
    if {[gets $pipe line] >= 0} {
        puts "  python: $line"
    } elseif {[eof $pipe]} {
        close $pipe
        set ::python_done 1
    }
}
vwait ::python_done
if {![info exists ::server_done]} { vwait ::server_done }
puts "\ndemo finished"
