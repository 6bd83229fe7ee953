# all.tcl -- run every tests/*.test with tcltest.
#
#   tclsh tests/all.tcl ?tcltest options?        e.g. -constraints "rfc ours"
#                                                     -file server.test
#                                                     -match server-2.*
#
# The package under test is whatever `package require websocket` finds
# (TCLLIBPATH).  Prints the tcltest totals and a final "N passed, M failed"
# line; exits non-zero when a test failed or a test file could not run.

package require Tcl 8.6-
# Tcl 9 unpacked by /work/shared/tools/tcl9.sh finds its bundled modules
# (http, tcltest) only through TCL9_0_TM_PATH: add their folder if needed.
if {[catch {package require tcltest 2}]} {
    set d [file join [info library] tcl[lindex [split [info tclversion] .] 0]]
    if {[file isdirectory $d] && $d ni [::tcl::tm::path list]} {
	::tcl::tm::path add $d
    }
    unset d
}
package require tcltest 2

set testsdir [file dirname [file normalize [info script]]]
file mkdir [file join $testsdir out tmp]
# All files run in this interpreter (-singleproc 1), so that the totals can
# be added up here.
::tcltest::configure -testdir $testsdir -tmpdir [file join $testsdir out tmp] -singleproc 1
if {[llength $argv]} {
    ::tcltest::configure {*}$argv
}

# Add up the counts of every file; remember the files with failures.
set ::failedfiles {}
rename ::tcltest::cleanupTests ::tcltest::CleanupTestsOrig
proc ::tcltest::cleanupTests {args} {
    # With -singleproc 1 tcltest's counters are cumulative over the files.
    variable numTests
    if {[llength $args] == 0} {
	if {$numTests(Failed) > $::allcounts(Failed)} {
	    lappend ::failedfiles [file tail [info script]]
	}
	foreach k {Total Passed Skipped Failed} {
	    set ::allcounts($k) $numTests($k)
	}
    }
    uplevel 1 [list ::tcltest::CleanupTestsOrig {*}$args]
}
array set ::allcounts {Total 0 Passed 0 Skipped 0 Failed 0}

# Errors while sourcing a test file are reported by runAllTests on stdout
# ("Test file error: ..."); catch them by wrapping source for test files.
set ::fileerrors 0
rename ::source ::SourceOrig
proc ::source {args} {
    set f [lindex $args end]
    if {[string match *.test $f]} {
	if {[catch {uplevel 1 [list ::SourceOrig {*}$args]} msg opts]} {
	    incr ::fileerrors
	    puts stdout "ERROR in [file tail $f]: $msg"
	    return
	}
	return
    }
    uplevel 1 [list ::SourceOrig {*}$args]
}

::tcltest::runAllTests
rename ::source {}
rename ::SourceOrig ::source

set passed $::allcounts(Passed)
set failed [expr {$::allcounts(Failed) + $::fileerrors}]
puts stdout "all.tcl: Total $::allcounts(Total) Passed $passed Skipped $::allcounts(Skipped) Failed $::allcounts(Failed) File-errors $::fileerrors"
if {[llength $::failedfiles]} {
    puts stdout "Files with failures: [lsort -unique $::failedfiles]"
}
puts stdout "$passed passed, $failed failed"
flush stdout
exit [expr {$failed > 0}]
