# Scenario: introspection and configuration of live server connections.
#   conninfo (every documented field, abbreviations/case, unknown field),
#   peername/sockname compared with what Tcl's own fconfigure said about the
#   socket before the upgrade, find (host/port filters, several connections),
#   configure (option abbreviations, unknown option), handler with extra
#   words, conninfo after disconnect.
source [file join [file dirname [file normalize [info script]]] .. lib common.tcl]

proc h {extra s t m} {
    ::t::H $s $t $m
    set l [::t::lbl $s]
    switch -- $t {
	connect {
	    lappend ::conns $s
	    set peer [websocket::conninfo $s peername]
	    set fp $::t::fc($s,peer)
	    set fs $::t::fc($s,sock)
	    # Host names depend on the machine's resolver: print them as PEER.
	    foreach v [list [lindex $fp 0] [lindex $fp 1] [lindex $fs 0] [lindex $fs 1]] {
		if {$v ne ""} { dict set ::t::labels $v PEER }
	    }
	    ::t::out "$l peername [expr {$peer eq [lindex $fp 1] ? "= fconfigure -peername host" : ($peer eq [lindex $fp 0] ? "= fconfigure -peername ip" : "= ?? $peer")}]"
	    foreach what {sockname name} {
		set v [websocket::conninfo $s $what]
		::t::out "$l $what [expr {$v eq [lindex $fs 1] ? "= fconfigure -sockname host" : ($v eq [lindex $fs 0] ? "= fconfigure -sockname ip" : "= ?? $v")}]"
	    }
	    foreach what {closed client server type handler state peer PEERNAME peer-x close Closed TYPE State} {
		::t::try_cmd "$l conninfo $what" {websocket::conninfo $s $what}
	    }
	    foreach what {bogus sock "" Name} {
		::t::try_cmd "$l conninfo {$what}" {websocket::conninfo $s $what}
	    }
	    foreach opts {{} {-keepalive 0} {-k 0} {keepalive 0} {-K 0} {-KEEP 0} {-ping hi} {-p x} {-pingtext y}
		{-keepalive 0 -ping z} {-bogus 1} {-keepalive 0 -bogus 1} {--keepalive 0} {-} {-x 1 -keepalive 0}} {
		::t::try_cmd "$l configure $opts" {websocket::configure $s {*}$opts}
	    }
	    # find
	    ::t::try_cmd "$l find" {f}
	    ::t::try_cmd "$l find peername" {f $peer}
	    ::t::try_cmd "$l find peername *" {f $peer *}
	    ::t::try_cmd "$l find peername glob" {f [string range $peer 0 2]*}
	    ::t::try_cmd "$l find nomatch" {f no.such.host}
	    ::t::try_cmd "$l find * {}" {f * {}}
	    ::t::try_cmd "$l find * peer-port" {f * [lindex $fp 2]}
	    ::t::try_cmd "$l find peername peer-port" {f $peer [lindex $fp 2]}
	    foreach host {127.0.0.1 localhost} {
		set r [websocket::find $host]
		::t::out "$l find $host consistent with peername: [expr {($r ne "") == ($peer eq $host)}]"
	    }
	    if {[llength $::conns] == 2} {
		foreach c $::conns {
		    ::t::out "[::t::lbl $c] send -> [websocket::send $c text ready]"
		}
	    }
	}
	text {
	    if {$m eq "find"} {
		::t::out "$l find -> [f]"
		::t::out "$l find * * -> [f * *]"
		::t::out "$l send -> [websocket::send $s text found]"
		set other [lindex $::conns 1]
		::t::out "[::t::lbl $other] send -> [websocket::send $other text go]"
	    }
	}
	disconnect {
	    set ::gone($s) 1
	    if {$s eq [lindex $::conns 1]} {
		set first [lindex $::conns 0]
		::t::out "[::t::lbl $first] send -> [websocket::send $first text last]"
	    }
	}
    }
}
# find, with the result sorted and labelled.
proc f {args} {
    lsort [::t::norm [websocket::find {*}$args]]
}
set ::conns {}
::t::server {{/info {h extra-word}}}
::t::watchdog 10000

# c1 asks for "find" once both are connected; c2 leaves when told to; c1
# leaves after c2 has gone.
::t::peer c1 wsclient.py [::t::url /info] --brief-close recv text:find recvn:2 close
::t::waitfor {[llength $::conns] == 1} 3000
::t::peer c2 wsclient.py [::t::url /info] --brief-close recvn:2 close
::t::waitpeer c1 5000
::t::waitpeer c2 5000
::t::pause 100
foreach s $::conns {
    ::t::try_cmd "[::t::lbl $s] conninfo after disconnect" {websocket::conninfo $s state}
}
::t::try_cmd "find after all disconnected" {websocket::find}
::t::finish
