# Scenario: odd corners of the reference that a drop-in replacement should
# keep (or document in edge_cases.ours-differs):
#   - send type is matched by prefix: "pong" (p*) sends a PING, "tx" text;
#   - integer types are sent as opcodes as they are (0 = continuation,
#     3 = reserved opcode), negative integers are refused;
#   - a non-boolean "final" raises an error AFTER the message type was
#     recorded, so the next send goes out as a continuation frame;
#   - websocket::takeover of a name that is not a channel raises an error but
#     leaves a connection record behind (conninfo/find see it);
#   - conninfo of a client that got an HTTP error stays CONNECTING (see
#     client_open.tcl).
source [file join [file dirname [file normalize [info script]]] .. lib common.tcl]

proc h {s t m} {
    ::t::H $s $t $m
    if {$t eq "connect"} {
	after 0 [list go $s]
    }
}
proc go {s} {
    ::t::try_cmd "send pong" {websocket::send $s pong p-o-n-g}
    ::t::try_cmd "send tx" {websocket::send $s tx text-by-prefix}
    ::t::try_cmd "send BINARYISH" {websocket::send $s BINARYISH \x07}
    ::t::try_cmd "send 3" {websocket::send $s 3 reserved}
    ::t::try_cmd "send -1" {websocket::send $s -1 neg}
    ::t::try_cmd "send 0" {websocket::send $s 0 cont}
    ::t::try_cmd "send text final maybe" {websocket::send $s text a maybe}
    ::t::try_cmd "send text after error" {websocket::send $s text "still ok"}
    ::t::try_cmd "close" {websocket::close $s}
    set ::done 1
}
::t::server {{/ h}}
::t::watchdog 10000
set r [::t::raw_open R1 /]
::t::waitfor {[info exists ::done]} 5000
::t::waitfor {[::t::raw_eof $r]} 2000

::t::try_cmd "takeover nosuch" {websocket::takeover nosuch h 1}
::t::try_cmd "conninfo nosuch state" {websocket::conninfo nosuch state}
::t::try_cmd "find" {websocket::find}
::t::pause 50
::t::finish
