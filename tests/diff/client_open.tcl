# Scenario: the client side, websocket::open against the independent Python
# echo server (tests/peers/echoserver.py, which greets each connection with
# "Request served by <id>" like the echo service tcllib's websocket.test
# uses).  Connect event with the negotiated subprotocol, CONNECTING state
# and send -1 before the handshake completes, greeting, echoes of text
# (NUL, accents, CJK, emoji) and binary (256 byte values), client ping ->
# pong event, conninfo on a client socket, client close; HTTP errors
# (non-WebSocket endpoint -> error event); bad options.
source [file join [file dirname [file normalize [info script]]] .. lib common.tcl]

proc h {s t m} {
    set l [::t::lbl $s C]
    ::t::out "$l $t [::t::fmt $t [string map [list $::port PORT] $m]]"
    switch -- $t {
	connect { set ::connected($s) 1 }
	text - binary - pong { incr ::got($s) }
	disconnect - error { set ::gone($s) 1 }
    }
}
# Socket names are reused once closed: a new connection starts afresh.
proc fresh {s} {
    dict unset ::t::labels $s
    foreach a {::connected ::got ::gone} { unset -nocomplain ${a}($s) }
    ::t::lbl $s C
}
::t::watchdog 20000
set ::port [::t::echoserver --id test-server --subprotocols superchat]
if {$::port eq ""} {
    ::t::out "echo server did not start"
    ::t::finish 1
}

# 1. Plain connection.
set ws [websocket::open ws://127.0.0.1:$::port/echo?x=1 h]
fresh $ws
::t::out "open -> [::t::norm $ws]"
::t::try_cmd "state before handshake" {websocket::conninfo $ws state}
::t::try_cmd "send before handshake" {websocket::send $ws text early}
::t::try_cmd "conninfo type" {websocket::conninfo $ws type}
::t::waitfor {[info exists ::connected($ws)]} 5000
::t::waitfor {[info exists ::got($ws)]} 3000
::t::try_cmd "state" {websocket::conninfo $ws state}
foreach what {client server type closed handler} {
    ::t::try_cmd "conninfo $what" {websocket::conninfo $ws $what}
}
::t::out "find includes C1: [expr {$ws in [websocket::find]}]"
set msgs [list hello \x00 caf\u00e9 \u4e2d\u6587 [encoding convertfrom utf-8 \xF0\x9F\x98\x80] ""]
foreach m $msgs {
    ::t::try_cmd "send text [::t::esc $m]" {websocket::send $ws text $m}
}
set bytes ""
for {set i 0} {$i < 256} {incr i} { append bytes [binary format c $i] }
::t::try_cmd "send binary 256" {websocket::send $ws binary $bytes}
::t::try_cmd "send binary 70000" {websocket::send $ws binary [string repeat $bytes 273][string range $bytes 0 111]}
::t::waitfor {$::got($ws) >= 9} 5000
::t::try_cmd "send ping" {websocket::send $ws ping client-ping}
::t::waitfor {$::got($ws) >= 10} 5000
::t::try_cmd "close" {websocket::close $ws}
::t::waitfor {[info exists ::gone($ws)]} 3000

# 2. Subprotocol negotiation.
set ws2 [websocket::open ws://127.0.0.1:$::port/ h -protocol {chat superchat}]
fresh $ws2
::t::waitfor {[info exists ::got($ws2)]} 5000
::t::try_cmd "close 1000 done" {websocket::close $ws2 1000 done}
::t::waitfor {[info exists ::gone($ws2)]} 3000

# 3. Not a WebSocket endpoint: our own Tcl front end answers 400.
::t::server {{/only-here h}}
set ::port $::t::port
set ws3 [websocket::open ws://127.0.0.1:$::t::port/elsewhere h]
fresh $ws3
::t::waitfor {[info exists ::gone($ws3)]} 5000
::t::pause 50
::t::try_cmd "state after HTTP error" {websocket::conninfo $ws3 state}
::t::out "find includes C3: [expr {$ws3 in [websocket::find]}]"

# 4. Options.
::t::try_cmd "open -validate" {websocket::open ws://127.0.0.1:$::port/ h -validate 1}
::t::try_cmd "open -handler" {websocket::open ws://127.0.0.1:$::port/ h -handler x}
::t::try_cmd "open -command" {websocket::open ws://127.0.0.1:$::port/ h -command x}
::t::try_cmd "open -bogus" {websocket::open ws://127.0.0.1:$::port/ h -bogus x}
::t::pause 50
::t::finish
