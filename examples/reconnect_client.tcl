# A client that stays connected: when the server goes away, or is not
# there, it tries again after a delay that doubles after every failure
# (from min-ms up to max-ms) and starts again from min-ms once connected.
# Each time it connects it says hello; it prints what it receives.
#   tclsh reconnect_client.tcl ws://host:port/path ?min-ms? ?max-ms? ?connections?
# (defaults 500 and 30000; with connections, it exits after that many
# connections have each got an answer to their hello)
package require websocket

lassign $argv url min max connections
if {$min eq ""} { set min 500 }
if {$max eq ""} { set max 30000 }
set delay $min
set current ""       ;# the WebSocket of the current attempt
set done 0           ;# connections that got an answer

proc connect {} {
    puts "connecting to $::url"
    set ::current [websocket::open $::url handler -timeout 5000]
}

# The attempt (or connection) ended: try again later, each time later.
proc retry {sock} {
    if {$sock ne $::current} { return }   ;# this attempt was already given up
    set ::current ""
    catch {close $sock}                   ;# after an error the socket stays until closed
    puts "retrying in $::delay ms"
    after $::delay connect
    set ::delay [expr {min($::delay * 2, $::max)}]
}

proc handler {sock type msg} {
    switch -- $type {
        connect {
            puts "connected"
            set ::delay $::min
            websocket::send $sock text "hello #[incr ::hellos]"
        }
        text {
            puts "received: $msg"
            if {[string match "hello #*" $msg] && [incr ::done] == $::connections} {
                set ::current ""          ;# its disconnect is no reason to retry
                websocket::close $sock
                after idle {set ::forever 1}
            }
        }
        error - timeout { puts "$type: $msg"; retry $sock }
        disconnect      { puts "disconnected"; retry $sock }
    }
}

connect
vwait forever
