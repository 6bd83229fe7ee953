# Handlers that delete their own interpreter: (1) a child's handler calls
# an alias into the main interpreter that deletes the child; (2) a
# grandchild's handler calls an alias that deletes its parent (and so
# itself). Each peer sees its connection end, the process goes on, and
# the package still works in the main interpreter.
source [file join [file dirname [info script]] lib.tcl]
set py [expr {[info exists env(PYTHON)] ? $env(PYTHON) : "python3"}]
proc setup {i} {
    global auto_path here py
    interp eval $i [list set auto_path $auto_path]
    interp eval $i [list set env(PYTHON) $py]
    interp eval $i [list source [file join $here lib.tcl]]
    interp eval $i {proc h {sock type msg} { if {$type eq "text"} { kill } }}
    return [interp eval $i {ws_server h}]
}
proc gone {what} { interp delete $what; puts "deleted $what"; set ::deleted($what) 1 }

# 1: the child deletes itself through an alias.
interp create c1
interp alias c1 kill {} gone c1
ws_peer C1 [setup c1] text:bye wait-close
wait_for ::peer_done(C1) 8000
puts "c1 exists: [interp exists c1]"

# 2: a grandchild deletes its parent, and with it itself.
interp create c2
interp create {c2 g}
interp alias {c2 g} kill {} gone c2
ws_peer G [setup {c2 g}] text:bye wait-close
wait_for ::peer_done(G) 8000
puts "c2 exists: [interp exists c2]"

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
