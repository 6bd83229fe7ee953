# Scenario: handlers that enter the event loop.
#   - /update: the text handler calls `update`;
#   - /vwait: the text handler waits on a timer with `after` + `vwait`;
#   - /ask: request/response inside a handler: on "req" it sends a question
#     on the same WebSocket and vwaits for the answer, which the peer sends
#     back and which arrives in the nested loop.
# Every message is delivered once, in order, and close/disconnect come
# after them (the transcript logs each event as its handler starts).
source [file join [file dirname [file normalize [info script]]] .. lib common.tcl]

proc upd {s t m} {
    ::t::H $s $t $m
    if {$t eq "text"} { update }
}
proc vw {s t m} {
    ::t::H $s $t $m
    if {$t eq "text"} {
        set v ::wait[incr ::nwait]
        after 2 [list set $v 1]
        vwait $v
    }
}
proc ask {s t m} {
    ::t::H $s $t $m
    if {$t ne "text"} return
    if {$m eq "req"} {
        websocket::send $s text question
        vwait ::answer
        ::t::out "[::t::lbl $s] answer was $::answer"
        websocket::send $s text "got $::answer"
    } else {
        set ::answer $m
    }
}
::t::server {{/update upd} {/vwait vw} {/ask ask}}
::t::watchdog 40000

set msgs {}
for {set i 1} {$i <= 60} {incr i} { lappend msgs text:$i }
::t::peer c1 wsclient.py [::t::url /update] --brief-close {*}$msgs close
::t::waitpeer c1 20000
::t::pause 50
::t::peer c2 wsclient.py [::t::url /vwait] --brief-close {*}$msgs close
::t::waitpeer c2 20000
::t::pause 50
::t::peer c3 wsclient.py [::t::url /ask] --brief-close text:req recv text:answer recv close
::t::waitpeer c3 20000
::t::pause 50
::t::finish
