# A chat room: open http://localhost:8080/ in several browsers; what one
# types, every browser on the page sees.  The server serves the page at /
# and the WebSocket at /chat, and broadcasts every message to every member.
#   tclsh chat_server.tcl ?port?      (default 8080; 0: any free port)
package require websocket

set port [expr {$argc ? [lindex $argv 0] : 8080}]
set members {}          ;# socket -> member name
set count 0

set page {<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Tcl chat</title></head>
<body>
<ul id="log"></ul>
<form id="f"><input id="text" autocomplete="off" autofocus><button>Send</button></form>
<script>
const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/chat");
const log = document.getElementById("log"), text = document.getElementById("text");
ws.onmessage = (e) => { const li = document.createElement("li"); li.textContent = e.data; log.appendChild(li); };
ws.onclose = () => { const li = document.createElement("li"); li.textContent = "* connection closed"; log.appendChild(li); };
document.getElementById("f").onsubmit = (e) => { e.preventDefault(); if (text.value) ws.send(text.value); text.value = ""; };
</script>
</body></html>
}

# ---------------------------------------------------------------- HTTP
proc accept {sock addr port} {
    fconfigure $sock -translation crlf -blocking 0
    set ::request($sock) {}
    fileevent $sock readable [list read_request $sock]
}

# Collects the request line and headers without blocking.
proc read_request {sock} {
    while {[gets $sock line] >= 0} {
        if {$line ne ""} {
            lappend ::request($sock) $line
            continue
        }
        fileevent $sock readable {}
        set path [lindex [lindex $::request($sock) 0] 1]
        set hdrs {}
        foreach h [lrange $::request($sock) 1 end] {
            if {[regexp {^([^:]+):\s*(.*)$} $h -> k v]} { lappend hdrs $k $v }
        }
        unset ::request($sock)
        answer $sock $path $hdrs
        return
    }
    if {[eof $sock]} { unset ::request($sock); close $sock }
}

proc answer {sock path hdrs} {
    if {[websocket::test $::srv $sock $path $hdrs]} {
        websocket::upgrade $sock          ;# chat gets "connect"
        return
    }
    if {$path eq "/"} {
        set body [encoding convertto utf-8 $::page]
        puts $sock "HTTP/1.1 200 OK"
        puts $sock "Content-Type: text/html; charset=utf-8"
    } else {
        set body "not found\n"
        puts $sock "HTTP/1.1 404 Not Found"
        puts $sock "Content-Type: text/plain"
    }
    puts $sock "Content-Length: [string length $body]"
    puts $sock "Connection: close"
    puts $sock ""
    fconfigure $sock -translation binary
    puts -nonewline $sock $body
    close $sock                           ;# flushed in the background
}

# ---------------------------------------------------------------- chat
proc broadcast {text} {
    dict for {sock name} $::members {
        websocket::send $sock text $text
    }
}

proc chat {sock type msg} {
    switch -- $type {
        connect {
            dict set ::members $sock user[incr ::count]
            broadcast "* [dict get $::members $sock] joined ([dict size $::members] here)"
        }
        text {
            broadcast "[dict get $::members $sock]: $msg"
        }
        disconnect {
            if {[dict exists $::members $sock]} {
                set name [dict get $::members $sock]
                dict unset ::members $sock
                broadcast "* $name left ([dict size $::members] here)"
            }
        }
    }
}

set srv [socket -server accept $port]
websocket::server $srv
websocket::live $srv /chat chat
puts "listening [lindex [fconfigure $srv -sockname] 2]"
flush stdout
vwait forever
