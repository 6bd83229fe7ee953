# `exit` while connections are live and megabytes are queued for a peer
# that does not read: the process must end at once, cleanly.
source [file join [file dirname [info script]] lib.tcl]
proc h {sock type msg} {
    if {$type eq "connect"} {
        set big [string repeat x 100000]
        for {set i 0} {$i < 200} {incr i} { websocket::send $sock text $big }
        puts "queued [websocket::conninfo $sock buffered]"
        flush stdout
        after 200 {puts exiting; flush stdout; exit 0}
    }
}
set port [ws_server h]
ws_peer P $port sleep:5
after 4000 {puts "no exit"; exit 3}
vwait forever
