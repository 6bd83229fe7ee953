# A child interpreter that loaded the package and holds a live WebSocket is
# deleted: its peer sees the connection end, the process goes on, and the
# package still works in the main interpreter.
source [file join [file dirname [info script]] lib.tcl]
set child [interp create]
$child eval [list set auto_path $auto_path]
$child eval [list set env(PYTHON) [expr {[info exists env(PYTHON)] ? $env(PYTHON) : "python3"}]]
$child eval [list source [file join $here lib.tcl]]
$child eval {proc h {sock type msg} { if {$type eq "connect"} { set ::up 1 } }}
interp alias $child report {} puts
set cport [$child eval {ws_server h}]
ws_peer C $cport wait-close
# The child's event handlers run in the shared thread event loop.
set ::tick 0
proc poll {} { global child; if {[interp exists $child] && [$child eval {info exists ::up}]} { set ::cup 1 } else { after 20 poll } }
poll
wait_for ::cup 4000
puts "child connected: $::cup"
interp delete $child
puts "child deleted"
wait_for ::peer_done(C) 4000
proc h {sock type msg} {
    puts "main $type $msg"
    if {$type eq "text"} { websocket::send $sock text "echo $msg" }
    if {$type eq "disconnect"} { set ::main_done 1 }
}
set port [ws_server h]
ws_peer M $port text:hello recv close
wait_for ::main_done 4000
wait_for ::peer_done(M) 4000
puts end
