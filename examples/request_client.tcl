# Request/response over a WebSocket: each request carries a number, and the
# caller waits with vwait until the answer with that number arrives (the
# event loop, other answers and the other WebSockets go on meanwhile).
# Sends each question given, prints each answer, then closes and exits.
#   tclsh request_client.tcl ws://host:port/path question ?question ...?
# The server is expected to answer "N text" with "N answer"; an echo
# server does.
package require websocket

set url [lindex $argv 0]
set questions [lrange $argv 1 end]

proc handler {sock type msg} {
    switch -- $type {
        connect { set ::status connected }
        text {
            # An answer: "N text".  Anything else (a greeting) is ignored.
            if {[regexp {^(\d+) (.*)$} $msg -> id text] && [info exists ::waiting($id)]} {
                set ::answer($id) [list ok $text]
            }
        }
        close - disconnect - error - timeout {
            set ::status $type
            # Wake every caller still waiting.
            foreach id [array names ::waiting] {
                set ::answer($id) [list error "connection: $type $msg"]
            }
        }
    }
}

# Sends a question and returns its answer; an error when the connection
# ends or no answer comes within ms milliseconds.
proc request {sock question {ms 5000}} {
    set id [incr ::lastid]
    set ::waiting($id) 1
    websocket::send $sock text "$id $question"
    set timer [after $ms [list set ::answer($id) {error "no answer in $ms ms"}]]
    vwait ::answer($id)
    after cancel $timer
    lassign $::answer($id) status text
    unset ::waiting($id) ::answer($id)
    if {$status ne "ok"} { error $text }
    return $text
}

set sock [websocket::open $url handler -timeout 5000]
vwait ::status
if {$::status ne "connected"} {
    puts "could not connect to $url"
    exit 1
}
foreach q $questions {
    puts "$q -> [request $sock $q]"
}
websocket::close $sock                 ;# the close frame goes out before exit
puts "done"
