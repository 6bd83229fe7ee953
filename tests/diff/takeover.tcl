# Scenario: websocket::takeover on plain accepted sockets (no HTTP), in server
# mode (frames to the peer unmasked) and in client mode (frames masked), with
# and without the info argument; the namespace ensemble form of the commands
# (websocket send / conninfo / close) on live connections.
source [file join [file dirname [file normalize [info script]]] .. lib common.tcl]

proc h {s t m} {
    ::t::H $s $t $m
    set l [::t::lbl $s]
    switch -- $t {
	connect {
	    foreach what {type server client state} {
		::t::try_cmd "$l websocket conninfo $what" {websocket conninfo $s $what}
	    }
	}
	text - binary {
	    ::t::out "$l websocket send -> [websocket send $s $t $m]"
	    if {$m eq "bye"} {
		::t::try_cmd "$l websocket close 1000 bye" {websocket close $s 1000 bye}
	    }
	}
    }
}
proc accept {targs sock addr port} {
    dict set ::t::labels $sock S[incr ::n]
    ::t::try_cmd "takeover [::t::lbl $sock] $targs" {websocket::takeover $sock h {*}$targs}
}
set ::n 0
::t::watchdog 10000
foreach {label args} {
    R1 {1 hello-info}
    R2 {0}
    R3 {}
    R4 {yes {a b}}
} {
    set srv [socket -server [list accept $args] -myaddr 127.0.0.1 0]
    set ::t::port [lindex [fconfigure $srv -sockname] 2]
    set r [::t::raw_open $label / -handshake 0]
    ::t::waitfor {[llength [websocket::find]] > 0} 2000
    set mask [expr {[lindex $args 0] eq "0" || $args eq "" ? 0 : 1}]
    ::t::raw_send $r [::t::frame 1 [encoding convertto utf-8 "hi \u00e9"] -mask $mask][::t::frame 2 \x00\x01 -mask $mask][::t::frame 9 pp -mask $mask]
    ::t::waitfor {[::t::raw_nframes $r] >= 3} 2000
    ::t::raw_send $r [::t::frame 1 bye -mask $mask]
    ::t::waitfor {[::t::raw_eof $r]} 2000
    close $srv
    ::t::pause 20
}
::t::finish
