# echo_server.tcl for bench/icount.sh: the same server, which exits once
# the clients it had are gone (so that callgrind writes its counts). The
# watch runs once a second (under valgrind: about 25 Ir per message).
set ::icount_seen 0
proc icount_watch {} {
    if {[llength [websocket::find]] > 0} {
        set ::icount_seen 1
    } elseif {$::icount_seen} {
        exit
    }
    after 1000 icount_watch
}
after 1000 icount_watch
source [file join [file dirname [info script]] echo_server.tcl]
