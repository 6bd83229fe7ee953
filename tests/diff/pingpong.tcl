# Scenario: ping/pong.
#   - a client ping is answered with a pong carrying the same payload BEFORE
#     the handler sees the ping event (the handler sends a text message when
#     it gets the ping: the peer must see the pong first);
#   - server-initiated pings (websocket::send ping) get a pong event;
#   - an unsolicited pong from the client gives a pong event;
#   - empty, binary and 125-byte payloads.
source [file join [file dirname [file normalize [info script]]] .. lib common.tcl]

proc h {s t m} {
    ::t::H $s $t $m
    switch -- $t {
	ping {
	    ::t::out "[::t::lbl $s] send text -> [websocket::send $s text after-ping]"
	}
	text {
	    if {$m eq "ping me"} {
		::t::out "[::t::lbl $s] send ping -> [websocket::send $s ping srv-ping]"
	    } elseif {$m eq "ping me empty"} {
		::t::out "[::t::lbl $s] send ping -> [websocket::send $s ping]"
	    }
	}
    }
}
::t::server {{/ h}}
::t::watchdog 15000

set r [::t::raw_open R1 /]
::t::waitfor {$::t::rawstate($r) eq "frames"} 2000
::t::raw_send $r [::t::frame 9 "hello"]
::t::waitfor {[::t::raw_nframes $r] >= 2} 2000
::t::raw_send $r [::t::frame 9 ""]
::t::waitfor {[::t::raw_nframes $r] >= 4} 2000
::t::raw_send $r [::t::frame 9 "\x00\x01\xfe\xff"]
::t::waitfor {[::t::raw_nframes $r] >= 6} 2000
::t::raw_send $r [::t::frame 9 [string repeat x 125]]
::t::waitfor {[::t::raw_nframes $r] >= 8} 2000
::t::raw_send $r [::t::frame 10 "unsolicited"]
::t::raw_send $r [::t::frame 1 "ping me"]
::t::waitfor {[::t::raw_nframes $r] >= 9} 2000
::t::raw_send $r [::t::frame 10 "srv-ping"]
::t::raw_send $r [::t::frame 8 [binary format Su 1000]]
::t::waitfor {[::t::raw_eof $r]} 2000

::t::peer c1 wsclient.py [::t::url /] --brief-close ping:abc {ping:\u00e9} recvn:2 {text:ping me} sleep:0.3 {text:ping me empty} sleep:0.3 close
::t::waitpeer c1
::t::pause 50
::t::finish
