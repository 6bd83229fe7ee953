# Shared by the teardown scripts: a minimal server (accept, read the request,
# test + upgrade) in the current interpreter, and a Python peer launcher.
# Each script prints lines the test reads, and exits by itself.
package require websocket
set ::here [file dirname [file normalize [info script]]]

proc ws_server {handler} {
    set srv [socket -server [list ws_accept] -myaddr 127.0.0.1 0]
    set ::ws_srv $srv
    websocket::server $srv
    websocket::live $srv * $handler
    return [lindex [fconfigure $srv -sockname] 2]
}
proc ws_accept {sock addr port} {
    fconfigure $sock -translation crlf -blocking 0
    set ::hdrs($sock) {}
    fileevent $sock readable [list ws_request $sock]
}
proc ws_request {sock} {
    if {[gets $sock line] < 0} {
        if {[eof $sock]} { close $sock }
        return
    }
    if {[string match "GET *" $line]} return
    if {$line ne ""} {
        regexp {^([^:]+):\s*(.*)$} $line -> k v
        lappend ::hdrs($sock) $k $v
        return
    }
    fileevent $sock readable {}
    if {[websocket::test $::ws_srv $sock / $::hdrs($sock)]} {
        websocket::upgrade $sock
    } else {
        close $sock
    }
}
# Starts wsclient.py against PORT with ACTIONS; its output lines go to
# stdout prefixed with NAME.
proc ws_peer {name port args} {
    set py [expr {[info exists ::env(PYTHON)] ? $::env(PYTHON) : "python3"}]
    set script [file join $::here .. peers wsclient.py]
    set ch [open |[list $py $script ws://127.0.0.1:$port/ --brief-close {*}$args 2>@1] r]
    fconfigure $ch -blocking 0
    fileevent $ch readable [list ws_peer_read $name $ch]
}
proc ws_peer_read {name ch} {
    if {[gets $ch line] >= 0} {
        puts "$name: $line"
        flush stdout
        set ::peerline($name) $line
    } elseif {[eof $ch]} {
        catch {close $ch}
        set ::peer_done($name) 1
    }
}
proc wait_for {var ms} {
    set id [after $ms [list set $var timeout]]
    vwait $var
    after cancel $id
}
