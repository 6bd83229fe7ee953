# Scenario (ours differs, see rfc_strict.ours-differs): frames that RFC 6455
# requires a server to reject, but that the reference package accepts:
#   - an unmasked client frame (RFC 6455 5.1: close with 1002);
#   - a new text frame inside an unfinished fragmented message (5.4: 1002);
#   - a close frame with a 1-byte payload (5.5.1: 1002);
#   - close codes that must not appear on the wire: 999, 1004, 1005, 1006,
#     2999, 5000 (7.4: 1002);
#   - a frame cut short by EOF (the reference delivers the truncated
#     message; an RFC implementation must not).
# Close frames received by the peer are shown.
source [file join [file dirname [file normalize [info script]]] .. lib common.tcl]
set ::t::hideclose 0

proc h {s t m} {
    ::t::H $s $t $m
    if {$t eq "text"} {
	::t::out "[::t::lbl $s] send -> [websocket::send $s text $m]"
    }
}
::t::server {{/ h}}
::t::watchdog 30000
set u [::t::url /]
# masked text frame announcing 10 bytes, of which 3 are sent before EOF
set short [binary format H* 818a5a3c960f][::t::MaskBytes 0x5a3c960f abc]
binary scan $short H* shorthex
set n 0
foreach case [list unmasked textinfrag close1 closecode:999 closecode:1004 \
		  closecode:1005 closecode:1006 closecode:2999 closecode:5000 \
		  "bytes:$shorthex end"] {
    set name p[incr n]
    ::t::out "=== $name: $case"
    ::t::peer $name rawpeer.py $u --no-times --timeout 1 text:before sleep:0.05 {*}$case
    if {![::t::waitpeer $name 4000]} {
	::t::out "peer $name did not finish"
    }
    ::t::pause 50
}
::t::finish
