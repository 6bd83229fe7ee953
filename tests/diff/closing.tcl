# Scenario: connections closed by the client, one client after another.
#   close frame with code+reason, with an empty payload, codes 3000/4999 with
#   no reason (the reference reports the code itself as the reason), known
#   codes with no reason (default texts), UTF-8 reason, TCP EOF without close
#   frame (close {1001 {Endpoint going away}}), TCP reset, EOF inside a frame
#   header.  Inside the close handler: conninfo state/closed and send (-1).
#   The close frames the peers receive are hidden (see ::t::hidden); they are
#   compared in close_handshake.tcl.
source [file join [file dirname [file normalize [info script]]] .. lib common.tcl]

proc h {s t m} {
    ::t::H $s $t $m
    set l [::t::lbl $s]
    switch -- $t {
	close {
	    ::t::out "$l   state=[websocket::conninfo $s state] closed=[websocket::conninfo $s closed]"
	    ::t::out "$l   send in close handler -> [websocket::send $s text late]"
	}
	disconnect {
	    ::t::try_cmd "$l   conninfo in disconnect handler" {websocket::conninfo $s state}
	    ::t::out "$l   find -> [::t::norm [websocket::find]]"
	}
    }
}
::t::server {{/ h}}
::t::watchdog 20000

proc run {name args} {
    ::t::peer $name {*}$args
    if {![::t::waitpeer $name 5000]} {
	::t::out "peer $name did not finish"
    }
    ::t::pause 30
}
set u [::t::url /]
run c1 wsclient.py $u --brief-close close:1000:bye
run c2 wsclient.py $u --brief-close close:none
run c3 wsclient.py $u --brief-close close:3000
run c4 wsclient.py $u --brief-close close:4999
run c5 wsclient.py $u --brief-close close:1001
run c6 wsclient.py $u --brief-close {close:1000:\u00e9\u4e2d\U0001F600}
run c7 wsclient.py $u --brief-close close:1008:policy
run c8 wsclient.py $u --brief-close close:1011
run r1 rawpeer.py $u --no-times --timeout 2 close:1002:[string repeat r 123]
run r2 rawpeer.py $u --no-times --timeout 2 close:1009
run r3 rawpeer.py $u --no-times --timeout 2 text:x end
run r4 rawpeer.py $u --no-times --timeout 2 bytes:81 end
run c9 wsclient.py $u --brief-close text:x sleep:0.2 abort
run r5 rawpeer.py $u --no-times --timeout 2 sleep:0.2 abort
::t::pause 100
::t::finish
