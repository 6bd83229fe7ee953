# Scenario: text and binary messages in both directions through an echo
# handler.  Text is compared as codepoints (NUL, e-acute, CJK, emoji above
# U+FFFF, empty, long); binary carries all 256 byte values, empty and large
# messages; fragmented messages from the client are reassembled.
source [file join [file dirname [file normalize [info script]]] .. lib common.tcl]

proc h {s t m} {
    ::t::H $s $t $m
    if {$t in {text binary}} {
	::t::out "[::t::lbl $s] send $t -> [websocket::send $s $t $m]"
    }
}
::t::server {{/echo h}}
::t::watchdog 15000

::t::peer c1 wsclient.py [::t::url /echo] --brief-close \
    {text:\x00} recv \
    {text:caf\u00e9} recv \
    {text:\u4e2d\u6587} recv \
    {text:\U0001F600} recv \
    {text:a\x00b\u00e9c\u4e2dd\U0001F600e} recv \
    text: recv \
    textfile:[file join $::t::peersdir utf8sample.txt] recv \
    {text:tab\tnewline\nbackslash\\} recv \
    bigtext:70000 recv \
    binrange recv \
    binary: recv \
    binary:00ff00 recv \
    big:65536 recv \
    big:200000 recv \
    close
::t::waitpeer c1 10000

# Fragmented messages (and a ping between fragments) from a raw client.
set r [::t::raw_open R1 /echo]
::t::waitfor {$::t::rawstate($r) eq "frames"} 2000
::t::raw_send $r [::t::frame 1 "frag-" -fin 0][::t::frame 0 "men" -fin 0][::t::frame 9 "mid"][::t::frame 0 "ted" -fin 1]
::t::waitfor {[::t::raw_nframes $r] >= 2} 2000
::t::raw_send $r [::t::frame 2 \x01\x02 -fin 0][::t::frame 0 \x03 -fin 1]
::t::waitfor {[::t::raw_nframes $r] >= 3} 2000
::t::raw_send $r [::t::frame 1 [encoding convertto utf-8 "\u00e9\u4e2d"] -fin 0][::t::frame 0 "" -fin 1]
::t::waitfor {[::t::raw_nframes $r] >= 4} 2000
# A UTF-8 sequence split across two fragments.
set e [encoding convertto utf-8 "\u4e2d"]
::t::raw_send $r [::t::frame 1 [string range $e 0 0] -fin 0][::t::frame 0 [string range $e 1 end] -fin 1]
::t::waitfor {[::t::raw_nframes $r] >= 5} 2000
::t::raw_send $r [::t::frame 8 [binary format Su 1000]]
::t::waitfor {[::t::raw_eof $r]} 2000
::t::pause 50
::t::finish
