# Scenario: connections closed by the server with websocket::close, with the
# default code, known codes (default reason texts), custom code and reason,
# an empty code and a non-integer code (close event with an empty message),
# a long reason; then a second close on the same socket (error: not a
# WebSocket any more).  Peers wait for the server to close.  Close frames the
# peers receive are hidden (compared in close_handshake.tcl).
source [file join [file dirname [file normalize [info script]]] .. lib common.tcl]

proc h {s t m} {
    ::t::H $s $t $m
    set l [::t::lbl $s]
    if {$t eq "text"} {
	set args [lrange $m 1 end]
	::t::try_cmd "$l websocket::close {[::t::esc $args]}" {websocket::close $s {*}$args}
	::t::try_cmd "$l websocket::close again" {websocket::close $s}
	::t::try_cmd "$l send after close" {websocket::send $s text x}
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
run c1 wsclient.py $u --brief-close {text:close} wait-close
run c2 wsclient.py $u --brief-close {text:close 1001} wait-close
run c3 wsclient.py $u --brief-close {text:close 4000 custom-reason} wait-close
run c4 wsclient.py $u --brief-close {text:close 3000} wait-close
run c5 wsclient.py $u --brief-close {text:close {}} wait-close
run c6 wsclient.py $u --brief-close {text:close abc} wait-close
run c7 wsclient.py $u --brief-close {text:close 1000 {}} wait-close
run c8 wsclient.py $u --brief-close "text:close 1000 [string repeat \\u00e9 100]" wait-close
run c9 wsclient.py $u --brief-close {text:close 1015} wait-close
::t::pause 50
::t::finish
