# Scenario: websocket::send from the server side.
#   Return values (frame length = header + payload) for payloads of 0, 125,
#   126, 65535, 65536 bytes (text, binary), UTF-8 text length, ping; type
#   names (case-insensitive prefixes, integers); fragmented sends (final 0
#   then 1) and the "Cannot change type of message under continuation!"
#   error; unknown type error; send on a socket that is not a WebSocket.
#   The raw client logs every frame it receives.
source [file join [file dirname [file normalize [info script]]] .. lib common.tcl]

proc h {s t m} {
    ::t::H $s $t $m
    if {$t eq "connect"} {
	after 0 [list go $s]
    }
}
proc go {s} {
    foreach n {0 125 126 65535 65536} {
	::t::try_cmd "send text $n" {websocket::send $s text [string repeat a $n]}
	::t::try_cmd "send binary $n" {websocket::send $s binary [string repeat \x01 $n]}
    }
    ::t::try_cmd "send text (2-byte chars)" {websocket::send $s text [string repeat \u00e9 63]}
    ::t::try_cmd "send text emoji" {websocket::send $s text [encoding convertfrom utf-8 \xF0\x9F\x98\x80]}
    ::t::try_cmd "send ping 125" {websocket::send $s ping [string repeat p 125]}
    ::t::try_cmd "send TEXT" {websocket::send $s TEXT upper}
    ::t::try_cmd "send Bin" {websocket::send $s Bin \x00\xff}
    ::t::try_cmd "send t" {websocket::send $s t short}
    ::t::try_cmd "send 1" {websocket::send $s 1 one}
    ::t::try_cmd "send 2" {websocket::send $s 2 two}
    ::t::try_cmd "send 9" {websocket::send $s 9 nine}
    ::t::try_cmd "send 10" {websocket::send $s 10 ten}
    ::t::try_cmd "send no msg" {websocket::send $s text}
    ::t::try_cmd "send foo" {websocket::send $s foo bar}
    ::t::try_cmd "send {}" {websocket::send $s "" bar}
    # Fragmented messages.
    ::t::try_cmd "send text frag 0" {websocket::send $s text "part1-" 0}
    ::t::try_cmd "send binary while text pending" {websocket::send $s binary "x" 0}
    ::t::try_cmd "send ping while text pending" {websocket::send $s ping "p"}
    ::t::try_cmd "send text frag no" {websocket::send $s text "part2-" no}
    ::t::try_cmd "send text frag 1" {websocket::send $s text "part3" 1}
    ::t::try_cmd "send binary frag false" {websocket::send $s binary \x01 false}
    ::t::try_cmd "send b frag 0" {websocket::send $s b \x02 0}
    ::t::try_cmd "send binary frag yes" {websocket::send $s binary \x03 yes}
    ::t::try_cmd "send text after frags" {websocket::send $s text "whole"}
    ::t::try_cmd "send nosuch" {websocket::send nosuch text x}
    ::t::try_cmd "send server socket" {websocket::send $::t::srvsock text x}
    ::t::try_cmd "send wrong args" {websocket::send $s}
    ::t::try_cmd "send too many args" {websocket::send $s text a 1 extra}
    ::t::try_cmd "close" {websocket::close $s}
    set ::done 1
}
::t::server {{/ h}}
::t::watchdog 10000
set r [::t::raw_open R1 /]
::t::waitfor {[info exists ::done]} 5000
::t::waitfor {[::t::raw_eof $r]} 2000
::t::pause 50
::t::finish
