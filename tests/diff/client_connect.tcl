# Scenario: how websocket::open's connections end up, transcripts of the
# handler events.  Against tests/peers/httppeer.py (a raw server that answers
# as told) and a port nobody listens on:
#   - 101 with a frame in the same segment (delivered after connect), then
#     the server closes (close {1001 bye}, disconnect);
#   - 404 (error event; socket still known, CONNECTING, until closed);
#   - an answer that is not HTTP; the server closing without answering;
#   - connection refused (error event with no code);
#   - -timeout on a server that never answers (timeout, error, disconnect);
#   - websocket::close while connecting (close, disconnect, nothing more);
#   - conninfo and send while connecting;
#   - open's synchronous errors: options, malformed URLs.
source [file join [file dirname [file normalize [info script]]] .. lib common.tcl]

proc h {s t m} {
    set m [::t::fmt $t $m]
    foreach p $::ports {
	set m [string map [list $p PORT] $m]
    }
    ::t::out "[::t::lbl $s C] $t $m"
    set ::ev($s,$t) 1
}
set ::ports {}
::t::watchdog 30000

proc httppeer {args} {
    set name _hp[incr ::nhp]
    ::t::peer $name httppeer.py --lifetime 20 {*}$args
    if {![::t::waitfor "\[llength \[dict get \$::t::peerout $name\]\] > 0" 5000]} {
	::t::out "httppeer did not start"
	::t::finish 1
    }
    set port [lindex [lindex [dict get $::t::peerout $name] 0] 1]
    lappend ::ports $port
    return $port
}
# Socket names are reused once closed: a new connection starts afresh.
proc fresh {s} {
    dict unset ::t::labels $s
    array unset ::ev $s,*
    ::t::lbl $s C
}
proc wait {s t {ms 4000}} {
    ::t::waitfor "\[info exists ::ev($s,$t)\]" $ms
}
proc state {label s} {
    ::t::try_cmd "$label state" {websocket::conninfo $s state}
}

# 1. 101 answer and a text frame in one write, then the server's close.
set p [httppeer --after "right after 101" --close-after]
set ws [websocket::open ws://127.0.0.1:$p/a?b=c h]
fresh $ws
::t::out "== glued frame, server close"
state "before" $ws
::t::try_cmd "send before" {websocket::send $ws text early}
foreach w {peername sockname closed client server type handler} {
    ::t::try_cmd "conninfo $w" {websocket::conninfo $ws $w}
}
wait $ws disconnect
::t::pause 50
::t::try_cmd "after" {websocket::conninfo $ws state}

# 2. 404.
set p [httppeer --mode status:404]
set ws [websocket::open ws://127.0.0.1:$p/missing h]
fresh $ws
::t::out "== 404"
wait $ws error
::t::pause 100
state "after error" $ws
::t::try_cmd "send after error" {websocket::send $ws text x}
::t::try_cmd "close after error" {websocket::close $ws}
::t::try_cmd "after close" {websocket::conninfo $ws state}

# 3. Not HTTP.
set p [httppeer --mode garbage]
set ws [websocket::open ws://127.0.0.1:$p/ h]
fresh $ws
::t::out "== not HTTP"
wait $ws error
::t::pause 50
state "after error" $ws
catch {websocket::close $ws}

# 4. The server closes without answering.
set p [httppeer --mode refuse]
set ws [websocket::open ws://127.0.0.1:$p/ h]
fresh $ws
::t::out "== closed without answer"
wait $ws error
::t::pause 50
catch {websocket::close $ws}

# 5. Connection refused.
set s [socket -server {} -myaddr 127.0.0.1 0]
set p [lindex [fconfigure $s -sockname] 2]
close $s
lappend ::ports $p
set ws [websocket::open ws://127.0.0.1:$p/ h]
fresh $ws
::t::out "== refused"
state "before" $ws
wait $ws error
::t::pause 50
state "after error" $ws
catch {websocket::close $ws}

# 6. -timeout on a server that never answers.
set p [httppeer --mode silent]
set ws [websocket::open ws://127.0.0.1:$p/slow h -timeout 300]
fresh $ws
::t::out "== timeout"
wait $ws disconnect
::t::pause 50
::t::try_cmd "after timeout" {websocket::conninfo $ws state}

# 7. websocket::close while connecting.
set ws [websocket::open ws://127.0.0.1:$p/ h]
fresh $ws
::t::out "== close while connecting"
::t::try_cmd "close" {websocket::close $ws 1000}
::t::pause 600
::t::try_cmd "after close" {websocket::conninfo $ws state}

# 8. open's own errors.
::t::out "== errors"
foreach opts {{-bogus 1} {-sfoo 1} {-binary maybe} {-headers {a}}} {
    ::t::try_cmd "open $opts" {websocket::open ws://127.0.0.1:1/ h {*}$opts}
}
foreach url {ws:/x ws://host:port/ foo://x ws://h:70000/ {ws://h/a b} ws://h/%zz} {
    ::t::try_cmd "open $url" {websocket::open $url h}
}
::t::pause 50
::t::finish
