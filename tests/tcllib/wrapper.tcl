# Runs tcllib's own websocket.test (a byte-identical copy, prepared by
# run.sh) against a local echo server instead of ws.ifelse.io.
#
#   tclsh wrapper.tcl HARNESS/websocket/websocket.test ws://127.0.0.1:PORT
#
# The only thing changed for the test is the value of its global variable
# wsUrl: the test file does `set wsUrl ws://ws.ifelse.io`; a write trace
# set here, before the file is sourced, puts the local URL back into the
# variable every time it is written.  The test file itself is not edited.
# Which package it tests is decided by the websocket.tcl shim next to it
# (see run.sh): `package require websocket`, i.e. whatever TCLLIBPATH finds.
if {[llength $argv] != 2} {
    puts stderr "usage: tclsh wrapper.tcl PATH/websocket.test URL"
    exit 2
}
lassign $argv testfile url
set ::tcllibWrapperUrl $url
trace add variable ::wsUrl write [list apply {{name1 name2 op} {
    if {$::wsUrl ne $::tcllibWrapperUrl} {
        puts "wrapper: the test set wsUrl to $::wsUrl, using $::tcllibWrapperUrl"
        set ::wsUrl $::tcllibWrapperUrl
    }
}}]
puts "wrapper: wsUrl forced to $url"
# Same as tcllib's sak/all.tcl would do when the file is run by itself.
set argv {}
set argc 0
source $testfile
if {[catch {package present websocket} v]} {
    puts "wrapper: package websocket was never loaded"
} else {
    puts "wrapper: tested websocket $v: [package ifneeded websocket $v]"
}
exit 0
