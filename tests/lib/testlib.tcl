# testlib.tcl --
#
#	Common set-up for the tcltest suites tests/*.test: loads tcltest and
#	tests/lib/common.tcl, defines the constraints and small helpers.
#
#	Constraints:
#	  python  the Python peers can run (websockets importable)
#	  rfc     RFC 6455 strictness the reference lacks (UTF-8 validation,
#	          masking, stall isolation, closing handshake); enable with
#	          -constraints rfc when testing ours
#	  ours    additions of our implementation (enable with -constraints ours)
#	  clientProto  the client reports the negotiated subprotocol (false for
#	          the reference on Tcl 9, whose http 2.10 lower-cases header
#	          names so that the reference never finds them)

package require tcltest 2
namespace import ::tcltest::*
source [file join [file dirname [file normalize [info script]]] common.tcl]
set ::t::echo 0

if {![info exists ::t::pythonok]} {
    set ::t::pythonok [expr {![catch {exec [::t::python] -c "import websockets"}]}]
    if {!$::t::pythonok} {
	puts stderr "WARNING: [::t::python] cannot import websockets: peer tests are skipped"
    }
}
testConstraint python $::t::pythonok
# rfc and ours are off unless given with -constraints.
foreach c {rfc ours} {
    if {![info exists ::tcltest::testConstraints($c)]} {
	testConstraint $c 0
    }
}
testConstraint clientProto [expr {!([package vsatisfies [info tclversion] 9-] &&
				     [llength [info procs ::websocket::Connected]])}]

# Transcript of the current test (::t::out lines), newline separated.
proc events {} {
    return [join $::t::log \n]
}
# Wait until a transcript line matches the glob pattern; 1 on success.
proc wait_event {pattern {ms 3000}} {
    ::t::waitfor "\[llength \[lsearch -all -glob \$::t::log [list $pattern]\]\] > 0" $ms
}
# Lines of a peer's output, newline separated.
proc peer_out {name} {
    return [join [::t::peerlines $name] \n]
}
# Start a peer and wait for it to exit; returns its output.
proc run_peer {name script args} {
    ::t::peer $name $script {*}$args
    if {![::t::waitpeer $name 8000]} {
	::t::kill_peers
	return "<peer $name did not finish>\n[peer_out $name]"
    }
    return [peer_out $name]
}
# Echo handler: logs the event, echoes text and binary.
proc echo {s t m} {
    ::t::H $s $t $m
    if {$t in {text binary}} {
	websocket::send $s $t $m
    }
}
# Logging handler.
proc rec {s t m} {
    ::t::H $s $t $m
}
# A fresh server with the given live entries; closes the previous one.
# Events of connections from earlier tests are ignored: ::t::H only logs
# sockets labelled in the current test.
proc start_server {lives} {
    stop_server
    ::t::reset
    set ::t::labels [dict create]
    set ::t::nlabel 0
    set ::t::strict_labels 1
    return [::t::server $lives]
}
proc stop_server {} {
    ::t::kill_peers
    ::t::reset
    foreach s [websocket::find] {
	catch {websocket::close $s}
    }
    ::t::pause 20
    if {[info exists ::t::srvsock]} {
	catch {close $::t::srvsock}
	unset ::t::srvsock
    }
    set ::t::labels [dict create]
}
