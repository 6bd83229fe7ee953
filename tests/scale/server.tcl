# Echo server for the scale test: prints "listening PORT", answers "rss"
# requests on stdin with its resident memory, and "count" with the number
# of live WebSockets. Accept path as in tcllib's examples, non-blocking.
package require websocket
proc rss {} {
    set f [open /proc/self/status]
    set kb 0
    foreach line [split [read $f] \n] { regexp {^VmRSS:\s+(\d+)} $line -> kb }
    close $f
    return $kb
}
proc accept {sock addr port} {
    fconfigure $sock -translation crlf -blocking 0
    set ::hdrs($sock) {}
    fileevent $sock readable [list request $sock]
}
proc request {sock} {
    if {[catch {gets $sock line} n] || ($n < 0 && [eof $sock])} {
        unset -nocomplain ::hdrs($sock)
        catch {close $sock}
        return
    }
    if {$n < 0} return
    if {[string match "GET *" $line]} return
    if {$line ne ""} {
        regexp {^([^:]+):\s*(.*)$} $line -> k v
        lappend ::hdrs($sock) $k $v
        return
    }
    fileevent $sock readable {}
    set h $::hdrs($sock)
    unset ::hdrs($sock)
    if {[websocket::test $::srv $sock / $h]} { websocket::upgrade $sock } else { close $sock }
}
proc echo {sock type msg} {
    switch -- $type {
        text { websocket::send $sock text $msg }
        connect { incr ::live }
        disconnect { incr ::live -1 }
    }
}
set ::live 0
# run.sh with DEFLATE=1: permessage-deflate for every connection.
if {[info exists ::env(DEFLATE)] && $::env(DEFLATE)} {
    websocket::configure -deflate 1
}
set srv [socket -server accept -myaddr 127.0.0.1 0]
websocket::server $srv
websocket::live $srv / echo
puts "listening [lindex [fconfigure $srv -sockname] 2]"
flush stdout
fconfigure stdin -blocking 0
fileevent stdin readable {
    if {[gets stdin cmd] >= 0} {
        switch -- $cmd {
            rss { puts "rss [rss]" }
            count { puts "count $::live [llength [chan names sock*]]" }
            quit { exit 0 }
        }
        flush stdout
    } elseif {[eof stdin]} { exit 0 }
}
after 300000 exit
vwait forever
