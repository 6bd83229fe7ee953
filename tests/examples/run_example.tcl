# Runs one of tcllib's websocket examples unchanged: the only help is that
# its fixed server port (8080) becomes a free loopback port, announced on
# stdout as "listening PORT" for the test's client.
#   tclsh run_example.tcl EXAMPLE.tcl
rename socket ::tcl_socket
proc socket {args} {
    if {[lindex $args 0] eq "-server"} {
        set s [::tcl_socket -server [lindex $args 1] -myaddr 127.0.0.1 0]
        puts "listening [lindex [fconfigure $s -sockname] 2]"
        flush stdout
        return $s
    }
    ::tcl_socket {*}$args
}
after 20000 exit
source [lindex $argv 0]
