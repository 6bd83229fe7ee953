# Scenario (ours differs, see stall.ours-differs): a client that stops in the
# middle of a frame must not block the server.  Client A sends a text message,
# then half of a frame, and stays silent for 2.5 s before sending the rest.
# Meanwhile client B connects 0.5 s after its start and must have exchanged
# a message within 1.5 s of its start (it is started together with A, since
# timers of this very process do not fire while the reference is blocked).
# The reference reads frames in blocking mode, so the whole Tcl event loop
# hangs until A completes its frame: B times out.
source [file join [file dirname [file normalize [info script]]] .. lib common.tcl]

proc h {s t m} {
    ::t::H $s $t $m
    if {$t eq "text"} {
	if {$m eq "before"} { set ::before 1 }
	::t::out "[::t::lbl $s] send -> [websocket::send $s text $m]"
    }
}
::t::server {{/ h}}
::t::watchdog 15000
set u [::t::url /]
::t::peer A rawpeer.py $u --no-times --timeout 4 text:before stall:2.5
::t::peer B wsclient.py $u --delay 0.5 --timeout 1.5 --brief-close text:hello recv close
::t::waitpeer B 4000
::t::waitpeer A 6000
::t::pause 50
::t::finish
