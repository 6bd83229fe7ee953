# common.tcl --
#
#	Shared helpers for the differential scenarios (tests/diff/*.tcl) and the
#	tcltest suites (tests/*.test).  Only the documented API of
#	`package require websocket` is used on the package side; everything else
#	here is plain Tcl: an HTTP front end that feeds websocket::test/upgrade,
#	stable labels for socket names, printable escapes for messages, a raw
#	frame-level client written with plain Tcl sockets, and launchers for the
#	Python peers in tests/peers/.
#
#	Works on Tcl 8.6 and 9.0.

package require Tcl 8.6-
# Tcl 9 unpacked by /work/shared/tools/tcl9.sh finds its bundled modules
# (http, tcltest) only through TCL9_0_TM_PATH: add their folder if needed.
if {[catch {package require http}]} {
    set d [file join [info library] tcl[lindex [split [info tclversion] .] 0]]
    if {[file isdirectory $d] && $d ni [::tcl::tm::path list]} {
	::tcl::tm::path add $d
    }
    unset d
}
package require websocket

namespace eval ::t {
    variable libdir   [file dirname [file normalize [info script]]]
    variable testsdir [file dirname $libdir]
    variable peersdir [file join $testsdir peers]
    variable labels   [dict create]
    variable nlabel   0
    variable log      {}
    variable peerout  [dict create]
    variable peerdone [dict create]
    variable peerorder {}
    variable echo     1
    variable hideclose 1
    variable strict_labels 0
    variable raworder {}
    variable peerpid
    array set peerpid {}
    variable rawbuf
    variable rawframes
    variable rawlog
    variable rawstate
    array set rawbuf {}
    array set rawframes {}
    array set rawlog {}
    array set rawstate {}
}

# ---------------------------------------------------------------------------
# Labels and escapes

# ::t::lbl -- stable label (S1, S2, ...) for a socket name, in order of first
# appearance.
proc ::t::lbl {sock {prefix S}} {
    variable labels
    variable nlabel
    if {![dict exists $labels $sock]} {
	dict set labels $sock $prefix[incr nlabel]
    }
    return [dict get $labels $sock]
}

# ::t::norm -- replace every known socket name in a string by its label.
proc ::t::norm {str} {
    variable labels
    set map {}
    foreach k [lsort -command {apply {{a b} {
	expr {[string length $b] - [string length $a]}}}} [dict keys $labels]] {
	lappend map $k [dict get $labels $k]
    }
    return [string map $map $str]
}

# ::t::esc -- printable ASCII as is, backslash doubled, other characters as
# \uXXXX or \UXXXXXXXX by codepoint.  UTF-16 surrogate pairs (how Tcl 8.6
# may represent characters above U+FFFF) are combined, so that the output is
# the same on Tcl 8.6 and 9.0.
proc ::t::esc {s {max 200}} {
    if {[string length $s] > $max} {
	set b [encoding convertto utf-8 $s]
	return [format "<len=%d utf8len=%d crc=%08x>" \
		    [string length $s] [string length $b] [zlib crc32 $b]]
    }
    set res ""
    set n [string length $s]
    for {set i 0} {$i < $n} {incr i} {
	set ch [string index $s $i]
	scan $ch %c o
	if {$o >= 0xD800 && $o <= 0xDBFF && $i + 1 < $n} {
	    scan [string index $s [expr {$i + 1}]] %c lo
	    if {$lo >= 0xDC00 && $lo <= 0xDFFF} {
		set o [expr {0x10000 + (($o - 0xD800) << 10) + ($lo - 0xDC00)}]
		incr i
	    }
	}
	if {$ch eq "\\"} {
	    append res "\\\\"
	} elseif {$o >= 0x20 && $o < 0x7F} {
	    append res $ch
	} elseif {$o <= 0xFFFF} {
	    append res [format "\\u%04X" $o]
	} else {
	    append res [format "\\U%08X" $o]
	}
    }
    return $res
}

# ::t::bin -- describe a binary message: length, crc32 and, when short, hex.
# Reports non-byte characters (which a binary message must never contain).
proc ::t::bin {b} {
    if {![regexp {^[\u0000-\u00ff]*$} $b]} {
	return "NOT-BYTES len=[string length $b] [esc $b]"
    }
    set res [format "len=%d crc=%08x" [string length $b] [zlib crc32 $b]]
    if {[string length $b] <= 32} {
	binary scan $b H* hex
	append res " hex=$hex"
    }
    return $res
}

# ::t::fmt -- format a handler event payload for the transcript.
proc ::t::fmt {type msg} {
    switch -- $type {
	text - ping - pong { return [esc $msg] }
	binary { return [bin $msg] }
	connect {
	    if {[catch {llength $msg}] || [llength $msg] != 2} {
		return "[esc $msg]"
	    }
	    lassign $msg path query
	    return "path=[esc $path] query=\{[esc $query]\}"
	}
	default { return [esc [norm $msg]] }
    }
}

# ---------------------------------------------------------------------------
# Transcript

proc ::t::out {line} {
    variable log
    lappend log $line
    variable echo
    if {$echo} {
	puts stdout $line
	flush stdout
    }
}

# ::t::H -- generic websocket handler: logs "LABEL type payload".
proc ::t::H {sock type msg} {
    variable strict_labels
    variable labels
    if {$strict_labels && ![dict exists $labels $sock]} {
	return
    }
    out "[lbl $sock] $type [fmt $type $msg]"
}

# ::t::try_cmd -- run a command, log its result or error message and
# -errorcode (with socket names replaced by labels).
proc ::t::try_cmd {label script} {
    set rc [catch {uplevel 1 $script} res opts]
    if {$rc == 1} {
	out "$label -> error {[esc [norm $res]]} code {[norm [dict get $opts -errorcode]]}"
    } else {
	out "$label -> ok {[esc [norm $res]]}"
    }
    return $res
}

# ::t::waitfor -- enter the event loop until the expression is true in the
# global scope or ms milliseconds have passed.  Returns 1 on success, 0 on
# timeout.
proc ::t::waitfor {cond {ms 3000}} {
    set deadline [expr {[clock milliseconds] + $ms}]
    while {![uplevel #0 [list expr $cond]]} {
	if {[clock milliseconds] >= $deadline} {
	    return 0
	}
	set ::t::tick 0
	set id [after 10 {set ::t::tick 1}]
	vwait ::t::tick
	after cancel $id
    }
    return 1
}

# ::t::pause -- let the event loop run for ms milliseconds.
proc ::t::pause {ms} {
    set ::t::pausevar 0
    after $ms {set ::t::pausevar 1}
    vwait ::t::pausevar
}

# ::t::watchdog -- make sure a scenario exits by itself.
proc ::t::watchdog {ms} {
    after $ms {
	::t::out "WATCHDOG: scenario did not finish"
	::t::finish 1
    }
}

# ::t::finish -- print the output of the peers (each in its own block, so that
# the transcript does not depend on how the peer's output interleaves with
# server events) and exit.
proc ::t::finish {{code 0}} {
    variable peerorder
    variable peerout
    variable peerpid
    variable raworder
    foreach name $raworder {
	print_raw $name
    }
    foreach name $peerorder {
	if {[string match _* $name]} continue
	puts stdout "--- peer $name ---"
	foreach line [dict get $peerout $name] {
	    if {[hidden $line]} continue
	    puts stdout $line
	}
    }
    flush stdout
    foreach {name p} [array get peerpid] {
	if {![dict get $::t::peerdone $name]} {
	    catch {exec kill {*}$p}
	}
    }
    exit $code
}

# Lines of peer logs that are not printed when ::t::hideclose is set: the
# close frames a peer receives from the server.  The reference package never
# sends a close frame (it marks the connection CLOSED before trying to send
# it), while an RFC 6455 implementation does; scenarios that are not about
# the closing handshake hide them so that they compare handler events only.
proc ::t::hidden {line} {
    variable hideclose
    if {!$hideclose} {
	return 0
    }
    return [regexp {^frame( fin=\S+)?( rsv=\S+)?( MASKED)? close} $line]
}

# ---------------------------------------------------------------------------
# HTTP front end for websocket::server / test / upgrade

# ::t::server -- open a listening socket on loopback with a free port,
# declare it to websocket::server and register live handlers.
#   lives: list of {path cb ?proto?}
# Returns the server socket; the port is in ::t::port.
proc ::t::server {lives {register 1}} {
    variable port
    set srv [socket -server [list ::t::Accept] -myaddr 127.0.0.1 0]
    set port [lindex [fconfigure $srv -sockname] 2]
    variable labels
    dict set labels $srv SRV
    if {$register} {
	websocket::server $srv
	foreach l $lives {
	    websocket::live $srv {*}$l
	}
    }
    variable srvsock $srv
    return $srv
}

# Hook called with (cliSock testResult path query) after websocket::test.
proc ::t::on_test {sock res path query} {}

# Hook called for each accepted socket with (sock hdrs) before test; may
# return an alternative header list.
proc ::t::filter_headers {sock hdrs} { return $hdrs }

proc ::t::Accept {sock addr port} {
    # Socket names may be reused by Tcl once closed: give each accepted
    # connection a fresh label.
    variable labels
    variable nlabel
    dict set labels $sock S[incr nlabel]
    variable req
    set req($sock) {}
    # Remember what Tcl itself says about the endpoints, for comparison
    # with conninfo later.
    variable fc
    set fc($sock,peer) [fconfigure $sock -peername]
    set fc($sock,sock) [fconfigure $sock -sockname]
    fconfigure $sock -blocking 0 -translation crlf
    fileevent $sock readable [list ::t::ReadRequest $sock]
}

proc ::t::ReadRequest {sock} {
    variable req
    variable srvsock
    while {1} {
	if {[catch {gets $sock line} n]} {
	    catch {close $sock}
	    return
	}
	if {$n < 0} {
	    if {[eof $sock]} {
		catch {close $sock}
	    }
	    return
	}
	if {$line eq ""} {
	    break
	}
	lappend req($sock) $line
    }
    fileevent $sock readable {}
    set lines $req($sock)
    unset req($sock)
    set reqline [lindex $lines 0]
    set target [lindex [split $reqline " "] 1]
    set path $target
    set query {}
    if {[set i [string first ? $target]] >= 0} {
	set path [string range $target 0 [expr {$i - 1}]]
	foreach kv [split [string range $target [expr {$i + 1}] end] &] {
	    set j [string first = $kv]
	    if {$j < 0} {
		lappend query $kv {}
	    } else {
		lappend query [string range $kv 0 [expr {$j - 1}]] \
		    [string range $kv [expr {$j + 1}] end]
	    }
	}
    }
    set hdrs {}
    foreach l [lrange $lines 1 end] {
	if {[regexp {^([^:\s]+)\s*:\s*(.*?)\s*$} $l -> k v]} {
	    lappend hdrs $k $v
	}
    }
    set hdrs [filter_headers $sock $hdrs]
    set ok [websocket::test $srvsock $sock $path $hdrs $query]
    on_test $sock $ok $path $query
    if {$ok} {
	websocket::upgrade $sock
    } else {
	catch {
	    fconfigure $sock -translation binary
	    puts -nonewline $sock "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
	    flush $sock
	}
	catch {close $sock}
    }
}

# ---------------------------------------------------------------------------
# Python peers

proc ::t::python {} {
    global env
    variable testsdir
    if {[info exists env(WSTEST_PYTHON)]} {
	return $env(WSTEST_PYTHON)
    }
    set venv [file join [file dirname $testsdir] .venv bin python3]
    if {[file executable $venv]} {
	return $venv
    }
    return python3
}

# ::t::peer -- start a peer (wsclient.py / rawpeer.py / echoserver.py) with
# arguments; its stdout+stderr lines are collected under name.
proc ::t::peer {name script args} {
    variable peersdir
    variable peerout
    variable peerdone
    variable peerorder
    set cmd [list [python] -u [file join $peersdir $script] {*}$args]
    set ch [open |[concat $cmd [list 2>@1]] r]
    fconfigure $ch -blocking 0 -buffering line -translation lf -encoding utf-8
    dict set peerout $name {}
    dict set peerdone $name 0
    lappend peerorder $name
    fileevent $ch readable [list ::t::PeerRead $name $ch]
    variable peerpid
    set peerpid($name) [pid $ch]
    return $ch
}

proc ::t::PeerRead {name ch} {
    variable peerout
    variable peerdone
    while {[gets $ch line] >= 0} {
	dict lappend peerout $name $line
	set ::t::peerline($name) $line
    }
    if {[eof $ch]} {
	fileevent $ch readable {}
	catch {close $ch}
	dict set peerdone $name 1
	set ::t::peerline($name) <eof>
    }
}

# ::t::echoserver -- start tests/peers/echoserver.py with the given options;
# return its port (or "" when it did not start in time).  Its output is not
# part of the transcript (the peer name starts with "_").
proc ::t::echoserver {args} {
    variable peerout
    set name _echoserver[incr ::t::nechoserver]
    peer $name echoserver.py --lifetime 20 {*}$args
    if {![waitfor "\[llength \[dict get \$::t::peerout $name\]\] > 0" 5000]} {
	return ""
    }
    return [lindex [lindex [dict get $peerout $name] 0] 1]
}

# ::t::waitpeer -- wait until peer name exited (1) or timeout (0).
proc ::t::waitpeer {name {ms 5000}} {
    return [waitfor "\[dict get \$::t::peerdone [list $name]\]" $ms]
}

proc ::t::peerlines {name} {
    variable peerout
    return [dict get $peerout $name]
}

# ::t::ws -- URL of our server for a path.
proc ::t::url {{path /}} {
    variable port
    return ws://127.0.0.1:$port$path
}

# ---------------------------------------------------------------------------
# Raw frame-level client written with plain Tcl sockets.  Used to send exact
# frames from the same process; frames must be complete when sent, since
# the reference package reads frames in blocking mode.

# ::t::frame -- build one client frame.
#   opcode  integer opcode
#   payload byte string
#   options -fin 0|1 -rsv 0..7 -mask 0|1 -key 32bit -len override
proc ::t::frame {opcode payload args} {
    array set o {-fin 1 -rsv 0 -mask 1 -key 0x37fa213d -len {}}
    array set o $args
    set len [string length $payload]
    if {$o(-len) ne ""} {
	set len $o(-len)
    }
    set b0 [expr {($o(-fin) ? 0x80 : 0) | (($o(-rsv) & 7) << 4) | ($opcode & 0xF)}]
    set m [expr {$o(-mask) ? 0x80 : 0}]
    if {$len < 126} {
	set hdr [binary format cc $b0 [expr {$m | $len}]]
    } elseif {$len < 65536} {
	set hdr [binary format ccSu $b0 [expr {$m | 126}] $len]
    } else {
	set hdr [binary format ccWu $b0 [expr {$m | 127}] $len]
    }
    if {$o(-mask)} {
	append hdr [binary format Iu $o(-key)]
	set payload [MaskBytes $o(-key) $payload]
    }
    return $hdr$payload
}

proc ::t::MaskBytes {key data} {
    set k [list [expr {($key >> 24) & 0xFF}] [expr {($key >> 16) & 0xFF}] \
	       [expr {($key >> 8) & 0xFF}] [expr {$key & 0xFF}]]
    binary scan $data cu* bytes
    set res {}
    set i 0
    foreach b $bytes {
	lappend res [expr {$b ^ [lindex $k [expr {$i & 3}]]}]
	incr i
    }
    return [binary format c* $res]
}

# ::t::raw_open -- connect to our server, send an upgrade request for path
# with the given extra header lines (list of "Name: value"), and return the
# socket.  The HTTP response status and headers are parsed asynchronously;
# then incoming frames are logged under the label given.
#   opts: -key KEY -version V -upgrade U -connection C -headers {lines}
#         -handshake 0 (send nothing, just connect)
proc ::t::raw_open {label {path /} args} {
    variable port
    variable rawbuf
    variable rawframes
    variable rawlog
    variable rawstate
    array set o {-key dGhlIHNhbXBsZSBub25jZQ== -version 13 -upgrade websocket
	-connection Upgrade -headers {} -handshake 1}
    array set o $args
    set s [socket 127.0.0.1 $port]
    fconfigure $s -translation binary -blocking 0 -buffering none
    set rawbuf($s) ""
    set rawframes($s) {}
    set rawlog($label) {}
    variable raworder
    lappend raworder $label
    set rawstate($s) [expr {$o(-handshake) ? "http" : "frames"}]
    set rawstate($s,label) $label
    set rawstate($s,status) ""
    set rawstate($s,headers) {}
    set rawstate($s,eof) 0
    if {$o(-handshake)} {
	set r "GET $path HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n"
	if {$o(-upgrade) ne ""} { append r "Upgrade: $o(-upgrade)\r\n" }
	if {$o(-connection) ne ""} { append r "Connection: $o(-connection)\r\n" }
	if {$o(-key) ne ""} { append r "Sec-WebSocket-Key: $o(-key)\r\n" }
	if {$o(-version) ne ""} { append r "Sec-WebSocket-Version: $o(-version)\r\n" }
	foreach h $o(-headers) { append r "$h\r\n" }
	append r "\r\n"
	puts -nonewline $s $r
    }
    fileevent $s readable [list ::t::RawRead $s]
    return $s
}

proc ::t::rawlog {s line} {
    variable rawlog
    variable rawstate
    lappend rawlog($rawstate($s,label)) $line
}

proc ::t::RawRead {s} {
    variable rawbuf
    variable rawstate
    if {[catch {read $s} data]} {
	set data ""
	set rawstate($s,eof) 1
    }
    append rawbuf($s) $data
    if {[eof $s]} {
	set rawstate($s,eof) 1
    }
    if {$rawstate($s) eq "http"} {
	set i [string first "\r\n\r\n" $rawbuf($s)]
	if {$i >= 0} {
	    set head [string range $rawbuf($s) 0 [expr {$i - 1}]]
	    set rawbuf($s) [string range $rawbuf($s) [expr {$i + 4}] end]
	    set lines [split $head \n]
	    set rawstate($s,status) [string trim [lindex $lines 0]]
	    foreach l [lrange $lines 1 end] {
		if {[regexp {^([^:]+):\s*(.*?)\s*$} [string trim $l] -> k v]} {
		    lappend rawstate($s,headers) $k $v
		}
	    }
	    rawlog $s "http [lrange [split $rawstate($s,status) " "] 1 end]"
	    set rawstate($s) frames
	}
    }
    if {$rawstate($s) eq "frames"} {
	ParseFrames $s
    }
    if {$rawstate($s,eof)} {
	fileevent $s readable {}
	if {$rawbuf($s) ne ""} {
	    rawlog $s "trailing [string length $rawbuf($s)] bytes"
	}
	rawlog $s eof
	catch {close $s}
	set rawstate($s) closed
    }
}

proc ::t::ParseFrames {s} {
    variable rawbuf
    variable rawframes
    while {1} {
	set b $rawbuf($s)
	if {[string length $b] < 2} return
	binary scan $b cucu b0 b1
	set len [expr {$b1 & 0x7F}]
	set off 2
	if {$len == 126} {
	    if {[string length $b] < 4} return
	    binary scan $b x2Su len
	    set off 4
	} elseif {$len == 127} {
	    if {[string length $b] < 10} return
	    binary scan $b x2Wu len
	    set off 10
	}
	set masked [expr {$b1 & 0x80}]
	if {$masked} {
	    incr off 4
	}
	if {[string length $b] < $off + $len} return
	set payload [string range $b $off [expr {$off + $len - 1}]]
	if {$masked} {
	    binary scan [string range $b [expr {$off - 4}] [expr {$off - 1}]] Iu key
	    set payload [MaskBytes $key $payload]
	}
	set rawbuf($s) [string range $b [expr {$off + $len}] end]
	set fin [expr {($b0 >> 7) & 1}]
	set rsv [expr {($b0 >> 4) & 7}]
	set op [expr {$b0 & 0xF}]
	lappend rawframes($s) [list $fin $op $payload]
	set desc "frame fin=$fin"
	if {$rsv} { append desc " rsv=$rsv" }
	if {$masked} { append desc " MASKED" }
	switch -- $op {
	    0 { append desc " cont [bin $payload]" }
	    1 { append desc " text [esc [encoding convertfrom utf-8 $payload]]" }
	    2 { append desc " binary [bin $payload]" }
	    8 {
		if {[string length $payload] >= 2} {
		    binary scan $payload Su code
		    append desc " close code=$code reason=[esc [encoding convertfrom utf-8 [string range $payload 2 end]]]"
		} else {
		    append desc " close [bin $payload]"
		}
	    }
	    9 { append desc " ping [bin $payload]" }
	    10 { append desc " pong [bin $payload]" }
	    default { append desc " op=$op [bin $payload]" }
	}
	rawlog $s $desc
    }
}

# ::t::raw_send -- send bytes on a raw client socket.
proc ::t::raw_send {s bytes} {
    puts -nonewline $s $bytes
    flush $s
}

# ::t::raw_eof -- 1 if the raw socket saw EOF.
proc ::t::raw_eof {s} {
    variable rawstate
    return $rawstate($s,eof)
}

# ::t::raw_nframes -- number of frames received so far.
proc ::t::raw_nframes {s} {
    variable rawframes
    return [llength $rawframes($s)]
}

# ::t::raw_lines -- the log of a raw client.
proc ::t::raw_lines {label} {
    variable rawlog
    return $rawlog($label)
}

# ::t::print_raw -- print a raw client's log as a block.
proc ::t::print_raw {label} {
    variable rawlog
    puts stdout "--- raw $label ---"
    foreach l $rawlog($label) {
	if {[hidden $l]} continue
	puts stdout $l
    }
    flush stdout
}

# ---------------------------------------------------------------------------
# Reset of the per-test state (used by the tcltest suites).

proc ::t::reset {} {
    # Peers whose name starts with "_" (servers started once per file) are
    # kept running.
    variable log {}
    variable peerout
    variable peerdone
    variable peerorder
    variable peerpid
    foreach {name p} [array get peerpid] {
	if {[string match _* $name]} continue
	if {![dict exists $peerdone $name] || ![dict get $peerdone $name]} {
	    catch {exec kill {*}$p}
	}
	unset peerpid($name)
	dict unset peerout $name
	dict unset peerdone $name
    }
    set peerorder [lsearch -all -inline -glob $peerorder _*]
    variable raworder {}
    variable rawlog
    array unset rawlog
    variable rawbuf
    variable rawframes
    variable rawstate
    foreach k [array names rawstate *,eof] {
	set s [string range $k 0 end-4]
	catch {close $s}
    }
    array unset rawbuf
    array unset rawframes
    array unset rawstate
}

# ::t::kill_peers -- terminate the peers that are still running (with "all",
# also those whose name starts with "_").
proc ::t::kill_peers {{all ""}} {
    variable peerpid
    variable peerdone
    foreach {name p} [array get peerpid] {
	if {$all eq "" && [string match _* $name]} continue
	if {![dict exists $peerdone $name] || ![dict get $peerdone $name]} {
	    catch {exec kill {*}$p}
	}
    }
}
