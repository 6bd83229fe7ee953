# Scenario: keepalive pings from the server (configure -keepalive, seconds).
#   With -keepalive 1 the server pings an idle client after about a second,
#   with the -ping text (default empty); the client's automatic pong is
#   reported as a pong event; -keepalive 0 stops the pings.
source [file join [file dirname [file normalize [info script]]] .. lib common.tcl]

proc h {opts s t m} {
    ::t::H $s $t $m
    set l [::t::lbl $s]
    switch -- $t {
	connect {
	    ::t::try_cmd "$l configure $opts" {websocket::configure $s {*}$opts}
	}
	pong {
	    ::t::try_cmd "$l configure -keepalive 0" {websocket::configure $s -keepalive 0}
	    ::t::out "$l send -> [websocket::send $s text stop]"
	}
    }
}
::t::server {{/custom {h {-keepalive 1 -ping ka}}} {/default {h {-k 1}}}}
::t::watchdog 10000
::t::peer c1 wsclient.py [::t::url /custom] --brief-close recv expect-silence:1.3 close
::t::waitpeer c1 5000
::t::peer c2 wsclient.py [::t::url /default] --brief-close recv close
::t::waitpeer c2 5000
::t::pause 50
::t::finish
