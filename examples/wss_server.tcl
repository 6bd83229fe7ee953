# A wss:// echo server on tls::socket, as tcllib users serve TLS: the
# accepted TLS channels are handed to websocket::upgrade like plain ones
# (the package reads and writes them through Tcl, never blocking).
#   tclsh wss_server.tcl certfile keyfile ?port?      (default 8443; 0: any)
# then connect to wss://localhost:8443/echo.
package require tls
package require websocket

lassign $argv certfile keyfile port
if {$port eq ""} { set port 8443 }

proc accept {sock addr port} {
    fconfigure $sock -translation crlf -blocking 0
    set ::request($sock) {}
    fileevent $sock readable [list read_request $sock]
}

# Collects the request line and headers without blocking (the TLS
# handshake happens on the way, inside the reads).
proc read_request {sock} {
    if {[catch {gets $sock line} n]} { close $sock; return }  ;# TLS handshake failed
    while {$n >= 0} {
        if {$line eq ""} {
            fileevent $sock readable {}
            set path [lindex [lindex $::request($sock) 0] 1]
            set hdrs {}
            foreach h [lrange $::request($sock) 1 end] {
                if {[regexp {^([^:]+):\s*(.*)$} $h -> k v]} { lappend hdrs $k $v }
            }
            unset ::request($sock)
            if {[websocket::test $::srv $sock $path $hdrs]} {
                websocket::upgrade $sock
            } else {
                puts $sock "HTTP/1.1 404 Not Found\nContent-Length: 0\nConnection: close\n"
                close $sock
            }
            return
        }
        lappend ::request($sock) $line
        if {[catch {gets $sock line} n]} { close $sock; return }
    }
    if {[eof $sock]} { unset ::request($sock); close $sock }
}

proc echo {sock type msg} {
    switch -- $type {
        connect       { puts "connect from [websocket::conninfo $sock peername]" }
        text - binary { websocket::send $sock $type $msg }
        close         { puts "close: $msg" }
    }
}

set srv [tls::socket -server accept -certfile $certfile -keyfile $keyfile $port]
websocket::server $srv
websocket::live $srv /echo echo
puts "listening [lindex [fconfigure $srv -sockname] 2]"
flush stdout
vwait forever
