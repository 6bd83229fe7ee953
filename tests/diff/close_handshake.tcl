# Scenario (ours differs, see close_handshake.ours-differs): the closing
# handshake as seen on the wire.  RFC 6455 5.5.1/7.1: an endpoint that
# receives a close frame answers with a close frame (echoing the code) and
# an endpoint that closes sends a close frame first.  The reference sends no
# close frame at all: websocket::close marks the connection CLOSED before
# calling websocket::send, which then refuses to send (returns -1), and the
# TCP connection is dropped.  Close frames received by the peers are shown.
source [file join [file dirname [file normalize [info script]]] .. lib common.tcl]
set ::t::hideclose 0

proc h {s t m} {
    ::t::H $s $t $m
    if {$t eq "text"} {
	websocket::close $s {*}$m
    }
}
::t::server {{/ h}}
::t::watchdog 30000
set u [::t::url /]
proc run {name args} {
    ::t::peer $name {*}$args
    if {![::t::waitpeer $name 4000]} {
	::t::out "peer $name did not finish"
    }
    ::t::pause 50
}
# Client-initiated, raw peer: does the server answer the close frame?
run r1 rawpeer.py $u --no-times --timeout 1 close:1000:bye
run r2 rawpeer.py $u --no-times --timeout 1 close
run r3 rawpeer.py $u --no-times --timeout 1 close:3000
run r4 rawpeer.py $u --no-times --timeout 1 close:4001:custom
# Client-initiated, websockets peer: which code does it get back?
run c1 wsclient.py $u close:1000:bye
run c2 wsclient.py $u close:4999
# Server-initiated: websocket::close with the arguments sent as text.
run r5 rawpeer.py $u --no-times --timeout 1 --reply-close {text:1000 {}}
run r6 rawpeer.py $u --no-times --timeout 1 --reply-close {text:4000 custom}
run r7 rawpeer.py $u --no-times --timeout 1 --reply-close text:1001
run r8 rawpeer.py $u --no-times --timeout 1 --reply-close "text:1000 [string repeat x 200]"
run c3 wsclient.py $u {text:1000 {}} wait-close
run c4 wsclient.py $u {text:4000 custom} wait-close
::t::finish
