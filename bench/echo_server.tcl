# A WebSocket echo server for `make bench`, written with the package's
# documented API only (socket -server, websocket::server, live, test,
# upgrade, send), so the same script runs on our package and on tcllib's.
#
#   tclsh echo_server.tcl ?port?      (0 or none: a free port)
#
# Prints "PORT n" once listening, then echoes every text and binary
# message back until killed. The path is /echo.
package require websocket
# BENCH_CONFIGURE: package defaults to set first (ours only: -busypoll 50
# makes the server watch, see docs/performance.md).
if {[info exists ::env(BENCH_CONFIGURE)]} {
    websocket::configure {*}$::env(BENCH_CONFIGURE)
}

proc accept {sock addr port} {
    fconfigure $sock -translation crlf -blocking 0
    set ::hdrs($sock) {}
    fileevent $sock readable [list request $sock]
}

# Reads the HTTP request without blocking, then hands the socket over.
proc request {sock} {
    if {[catch {gets $sock line} n] || $n < 0} {
        if {[catch {eof $sock} e] || $e} { forget $sock; catch {close $sock} }
        return
    }
    if {[string match "GET *" $line]} {
        set ::path($sock) [lindex $line 1]
        return
    }
    if {$line ne ""} {
        if {[regexp {^([^:]+):\s*(.*)$} $line -> k v]} {
            lappend ::hdrs($sock) $k $v
        }
        return
    }
    set path [expr {[info exists ::path($sock)] ? $::path($sock) : "/"}]
    set hdrs $::hdrs($sock)
    forget $sock
    if {[websocket::test $::srv $sock $path $hdrs]} {
        websocket::upgrade $sock
    } else {
        close $sock
    }
}

proc forget {sock} {
    unset -nocomplain ::hdrs($sock) ::path($sock)
}

proc handler {sock type msg} {
    switch -- $type {
        text - binary { websocket::send $sock $type $msg }
    }
}

# bench/deflate.sh: BENCH_DEFLATE=1 accepts permessage-deflate (ours only).
if {[info exists ::env(BENCH_DEFLATE)] && $::env(BENCH_DEFLATE)} {
    websocket::configure -deflate 1
}
set port [expr {$argc > 0 ? [lindex $argv 0] : 0}]
set srv [socket -server accept -myaddr 127.0.0.1 $port]
websocket::server $srv
websocket::live $srv /echo handler
puts "PORT [lindex [fconfigure $srv -sockname] 2]"
flush stdout
vwait forever
