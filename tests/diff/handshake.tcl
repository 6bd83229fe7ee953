# Scenario: opening handshake on the server side.
#   websocket::server/live/test/upgrade driven by a plain Tcl HTTP front end;
#   path globbing, query passing, subprotocol negotiation, refusal (test -> 0),
#   the exact 101 response headers, and the connect event {path query}.
source [file join [file dirname [file normalize [info script]]] .. lib common.tcl]

proc h {s t m} {
    ::t::H $s $t $m
    if {$t eq "text"} {
	::t::out "[::t::lbl $s] send -> [websocket::send $s text $m]"
    }
}
proc h2 {s t m} {
    ::t::out "(h2) [::t::lbl $s] $t [::t::fmt $t $m]"
}
proc ::t::on_test {sock res path query} {
    ::t::out "test [::t::lbl $sock] path=$path query={$query} -> $res"
}

set srv [::t::server {}]
::t::try_cmd "live /chat* h chat" {websocket::live $srv /chat* h chat}
::t::try_cmd "live /chat* h2 superchat" {websocket::live $srv /chat* h2 superchat}
::t::try_cmd "live /any h" {websocket::live $srv /any h}
::t::try_cmd "live /other/* h2" {websocket::live $srv /other/* h2 *}
::t::watchdog 15000

proc run {name args} {
    ::t::peer $name {*}$args
    if {![::t::waitpeer $name 5000]} {
	::t::out "peer $name did not finish"
    }
    ::t::pause 50
}

# Raw handshake: look at the exact response.
set r [::t::raw_open R1 /any?x=1&y=two]
::t::waitfor {[::t::raw_nframes $r] > 0 || [::t::raw_eof $r] || $::t::rawstate($r) eq "frames"} 2000
::t::out "R1 status: $::t::rawstate($r,status)"
foreach {k v} $::t::rawstate($r,headers) {
    lappend hl "[string tolower $k]: $v"
}
foreach l [lsort $hl] { ::t::out "R1 header $l" }
::t::raw_send $r [::t::frame 1 hello]
::t::waitfor {[::t::raw_nframes $r] > 0} 2000
::t::raw_send $r [::t::frame 8 [binary format Su 1000]]
::t::waitfor {[::t::raw_eof $r]} 2000

# Subprotocol: first matching live entry wins; its protocol is echoed.
run c1 wsclient.py [::t::url /chatroom?room=1] --protocol chat --protocol superchat --brief-close text:one recv close
run c2 wsclient.py [::t::url /chat] --protocol superchat --brief-close text:two close
run c3 wsclient.py [::t::url /chat] --protocol nothere --brief-close text:three close
# No protocol offered: any live entry matches.
run c4 wsclient.py [::t::url /chat] --brief-close text:four recv close
# live with "*" protocol and protocols offered: the first offered one is chosen.
run c5 wsclient.py [::t::url /other/x] --protocol zeta --protocol alpha --brief-close close
# Path not registered.
run c6 wsclient.py [::t::url /nothere] --brief-close close
# Protocol header with odd content is not rejected (names are not checked).
set r6 [::t::raw_open R6 /any -headers {"Sec-WebSocket-Protocol: we@ird, x y" "Sec-WebSocket-Protocol: third"}]
::t::waitfor {$::t::rawstate($r6) eq "frames" || [::t::raw_eof $r6]} 2000
foreach {k v} $::t::rawstate($r6,headers) {
    if {[string tolower $k] eq "sec-websocket-protocol"} { ::t::out "R6 protocol: $v" }
}
::t::raw_send $r6 [::t::frame 8 [binary format Su 1000]]
::t::waitfor {[::t::raw_eof $r6]} 2000

# Requests that are not valid WebSocket upgrades.
set r2 [::t::raw_open R2 /any -key ""]
::t::waitfor {[::t::raw_eof $r2]} 2000
set r3 [::t::raw_open R3 /any -version 8]
::t::waitfor {[::t::raw_eof $r3]} 2000
set r4 [::t::raw_open R4 /any -upgrade "websocket/13"]
::t::waitfor {[::t::raw_eof $r4]} 2000
set r5 [::t::raw_open R5 /any -upgrade "h2c, WebSocket" -connection "keep-alive, UPGRADE" -headers {"sec-websocket-version: 13"} -version ""]
::t::waitfor {$::t::rawstate($r5) eq "frames" || [::t::raw_eof $r5]} 2000
::t::raw_send $r5 [::t::frame 8 [binary format Su 1000]]
::t::waitfor {[::t::raw_eof $r5]} 2000

::t::pause 50
::t::finish
