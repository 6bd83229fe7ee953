# Scenario: protocol violations by the client that both the reference and an
# RFC 6455 implementation reject: reserved bits, unknown opcodes, fragmented
# control frames, control frame over 125 bytes, continuation without a
# started message, a 2^63 length, a frame over the 16 MiB message limit.
# The handler sees close {1002 {Protocol error}} (or 1009) then disconnect,
# and the TCP connection is closed.  The close frames the peer receives are
# hidden here (the reference sends none); see tests/protocol.test.
source [file join [file dirname [file normalize [info script]]] .. lib common.tcl]

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
foreach case [list rsv rsv:2 rsv:1 rsv:7 opcode:3 opcode:7 opcode:11 opcode:15 fragping \
    frame:0:0:10:1:706f6e67 frame:0:0:8:1:03e8 ping126 frame:1:0:10:1:[string repeat 00 126] \
    contstart frame:0:0:0:1:00 len63 toobig] {
    set name p[incr n]
    ::t::out "=== $name: [string range $case 0 40]"
    ::t::peer $name rawpeer.py $u --no-times --timeout 2 text:before sleep:0.05 $case
    if {![::t::waitpeer $name 4000]} {
	::t::out "peer $name did not finish"
    }
    ::t::pause 20
}
::t::finish
