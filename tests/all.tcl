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

# Skips cannot hide: a test may be skipped only for a constraint that the
# machine or the command line decides (listed here by name); a test skipped
# for anything else (a missing dependency that `make deps` installs, a peer
# that did not start) counts as failed.
set ::allowedskips {
    rfc ours
    ipv6 procfd proxyauth clientProto
}
# Tcl 9 has no tls package to install (tls_server.test's tlspkg,
# examples.test's exampletls) and no Tk (tkwait.test's tk), and valgrind
# cannot follow the unpacked Tcl 9's own loader.
if {[package vsatisfies [info tclversion] 9-]} {
    lappend ::allowedskips tlspkg exampletls tk valgrind
}
array set ::skipsby {}
set ::badskips {}
rename ::tcltest::Skipped ::tcltest::SkippedOrig
proc ::tcltest::Skipped {name constraints} {
    set skipped [uplevel 1 [list ::tcltest::SkippedOrig $name $constraints]]
    if {!$skipped} {
        return 0
    }
    set unmet {}
    if {[catch {llength $constraints}] || [regexp {[^.:_a-zA-Z0-9 \n\r\t]} $constraints]} {
        set unmet [list $constraints]  ;# an expression: allowed only by name
    } else {
        foreach c $constraints {
            if {![info exists ::tcltest::testConstraints($c)] || !$::tcltest::testConstraints($c)} {
                lappend unmet $c
            }
        }
    }
    if {![llength $unmet]} {
        return $skipped    ;# not selected (-match, -skip)
    }
    foreach c $unmet {
        if {$c ni $::allowedskips} {
            lappend ::badskips "$name ([join $unmet {, }])"
            return $skipped
        }
    }
    incr ::skipsby([join $unmet +])
    return $skipped
}

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
set failed [expr {$::allcounts(Failed) + $::fileerrors + [llength $::badskips]}]
set skipped 0
set why {}
foreach c [lsort [array names ::skipsby]] {
    incr skipped $::skipsby($c)
    lappend why "$c $::skipsby($c)"
}
puts stdout "all.tcl: Total $::allcounts(Total) Passed $passed Skipped $::allcounts(Skipped) Failed $::allcounts(Failed) File-errors $::fileerrors"
if {[llength $::failedfiles]} {
    puts stdout "Files with failures: [lsort -unique $::failedfiles]"
}
if {$skipped} {
    puts stdout "all.tcl: skipped by allowed constraints: [join $why {, }]"
}
foreach b $::badskips {
    puts stdout "all.tcl: FAILED (skipped, dependency or peer missing): $b"
}
puts stdout "$passed passed, $failed failed, $skipped skipped"
flush stdout
exit [expr {$failed > 0}]
