# tkwait-child.tcl MODE N --
#
#	Run by tests/tkwait.test in a tclsh of its own (Tk stays out of
#	all.tcl's process), with DISPLAY on a private Xvfb: a server whose
#	handler waits with `tkwait variable` (MODE variable) or `tkwait window`
#	on a toplevel that an `after` destroys (MODE window) for every text
#	message, and a Python websockets client that sends 1..N then closes.
#	Prints one line: "tk 1 waits W got {EVENTS}", EVENTS being every
#	event as its handler started (the message, or the type).

lassign $argv mode n
package require Tk
wm withdraw .
source [file join [file dirname [file dirname [file normalize [info script]]]] lib common.tcl]
set ::t::echo 0

# Bounded: a package that loses an event must not hang the child.
after 60000 {
    puts "WATCHDOG tk [info exists ::tk_version] waits $::waits got {$::got}"
    exit 1
}
set ::got {}
set ::waits 0
proc tkw {s t m} {
    lappend ::got [expr {$t eq "text" ? $m : $t}]
    if {$t ne "text"} return
    switch -- $::mode {
        variable {
            set v ::tw[incr ::ntw]
            after 2 [list set $v 1]
            tkwait variable $v
        }
        window {
            set w .w[incr ::ntw]
            toplevel $w
            after 2 [list destroy $w]
            tkwait window $w
        }
    }
    incr ::waits
}
::t::server {{/ tkw}}
set msgs {}
for {set i 1} {$i <= $n} {incr i} { lappend msgs text:$i }
::t::peer c wsclient.py [::t::url /] --brief-close --timeout 50 {*}$msgs close
::t::waitfor {"disconnect" in $::got} 50000
::t::waitpeer c 5000
puts "tk [info exists ::tk_version] waits $::waits got {$::got}"
exit 0
