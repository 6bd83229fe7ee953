# Scenario (ours differs, see invalid_utf8.ours-differs): text that is not
# valid UTF-8.  RFC 6455 8.1 requires failing the connection with 1007:
#   - a complete text frame with invalid bytes;
#   - the FIRST fragment of a text message is invalid and the remaining
#     fragments never come (an RFC implementation fails fast, without
#     waiting for the end of the message);
#   - a close frame whose reason is not UTF-8.
# The reference delivers invalid bytes as Latin-1 characters on Tcl 8.6 and
# raises a background error on Tcl 9.0 (invalid_utf8.expected-ref.tcl9).
source [file join [file dirname [file normalize [info script]]] .. lib common.tcl]
set ::t::hideclose 0

proc bgerror {msg} {
    ::t::out "bgerror: [lindex [split $msg \n] 0]"
}
proc h {s t m} {
    ::t::H $s $t $m
    if {$t eq "text"} {
	::t::out "[::t::lbl $s] send -> [websocket::send $s text $m]"
    }
}
::t::server {{/ h}}
::t::watchdog 30000
set u [::t::url /]
set n 0
foreach case {badutf8 badutf8frag {close:1000:bad\xffreason}} {
    set name p[incr n]
    ::t::out "=== $name: $case"
    ::t::peer $name rawpeer.py $u --no-times --timeout 1 text:before sleep:0.05 $case
    if {![::t::waitpeer $name 4000]} {
	::t::out "peer $name did not finish"
    }
    ::t::pause 50
}
::t::finish
