# Scenario: API surface without connections.
#   Errors and -errorcode of every command on bad arguments, wrong # args,
#   websocket::validate (every HANDSHAKE error and accepted variants),
#   websocket::test (empty headers -> 0 even for an unknown server), upgrade of
#   a socket that was not tested, live on a non-server, server's result,
#   sec-websocket-accept, loglevel get/set/invalid, find without connections,
#   the namespace ensemble and the namespace export pattern.
source [file join [file dirname [file normalize [info script]]] .. lib common.tcl]
::t::watchdog 5000

set K dGhlIHNhbXBsZSBub25jZQ==
set ok [list Upgrade websocket Connection Upgrade Sec-WebSocket-Version 13 Sec-WebSocket-Key $K]
proc v {label hdrs} {
    ::t::try_cmd "validate $label" [list websocket::validate $hdrs]
}
v ok $ok
v "lower-case names" [list upgrade WebSocket connection upgrade sec-websocket-version 13 sec-websocket-key $K]
v "upper-case names" [list UPGRADE WEBSOCKET CONNECTION UPGRADE SEC-WEBSOCKET-VERSION 13 SEC-WEBSOCKET-KEY $K]
v "token lists" [list Upgrade "h2c, websocket" Connection "keep-alive, Upgrade" Sec-WebSocket-Version " 13 " Sec-WebSocket-Key " $K\t"]
v "protocols" [list {*}$ok Sec-WebSocket-Protocol "chat, super chat,,x" Sec-WebSocket-Protocol "third"]
v "protocol with odd chars" [list {*}$ok Sec-WebSocket-Protocol "a@b, c/d"]
v "extra headers" [list Host example.com {*}$ok Origin http://example.com]
v "no upgrade header" [list Connection Upgrade Sec-WebSocket-Version 13 Sec-WebSocket-Key $K]
v "upgrade not websocket" [list Upgrade h2c Connection Upgrade Sec-WebSocket-Version 13 Sec-WebSocket-Key $K]
v "upgrade websocket/13" [list Upgrade websocket/13 Connection Upgrade Sec-WebSocket-Version 13 Sec-WebSocket-Key $K]
v "empty upgrade" [list Upgrade "" Connection Upgrade Sec-WebSocket-Version 13 Sec-WebSocket-Key $K]
v "no connection" [list Upgrade websocket Sec-WebSocket-Version 13 Sec-WebSocket-Key $K]
v "connection keep-alive" [list Upgrade websocket Connection keep-alive Sec-WebSocket-Version 13 Sec-WebSocket-Key $K]
v "no version" [list Upgrade websocket Connection Upgrade Sec-WebSocket-Key $K]
v "version 8" [list Upgrade websocket Connection Upgrade Sec-WebSocket-Version 8 Sec-WebSocket-Key $K]
v "version empty" [list Upgrade websocket Connection Upgrade Sec-WebSocket-Version "" Sec-WebSocket-Key $K]
v "no key" [list Upgrade websocket Connection Upgrade Sec-WebSocket-Version 13]
v "short key" [list Upgrade websocket Connection Upgrade Sec-WebSocket-Version 13 Sec-WebSocket-Key abc]
v "key not base64" [list Upgrade websocket Connection Upgrade Sec-WebSocket-Version 13 Sec-WebSocket-Key "dGhlIHNhbXBsZSBub25jZQ!!"]
v "key 24 chars, 3 pads" [list Upgrade websocket Connection Upgrade Sec-WebSocket-Version 13 Sec-WebSocket-Key "dGhlIHNhbXBsZSBub25jZ==="]
v "bad version before bad upgrade" [list Sec-WebSocket-Version 8 Upgrade h2c]
v "bad upgrade before bad version" [list Upgrade h2c Sec-WebSocket-Version 8]
v "only connection" [list Connection Upgrade]
v "empty" {}
v "odd list" [list Upgrade]
::t::try_cmd "validate no args" {websocket::validate}

::t::try_cmd "sec-websocket-accept" {websocket::sec-websocket-accept $K}
::t::try_cmd "sec-websocket-accept empty" {websocket::sec-websocket-accept ""}

# server / live / test / upgrade
set srv [socket -server {apply {{s a p} {close $s}}} -myaddr 127.0.0.1 0]
dict set ::t::labels $srv SRV
::t::try_cmd "server" {websocket::server $srv}
::t::try_cmd "server again" {websocket::server $srv}
::t::try_cmd "live" {websocket::live $srv /a cbA}
::t::try_cmd "live with proto" {websocket::live $srv /b* cbB proto*}
::t::try_cmd "live on non-server" {websocket::live nosuch / cb}
::t::try_cmd "live wrong args" {websocket::live $srv /}
::t::try_cmd "test empty headers, unknown server" {websocket::test nosuch cli / {}}
::t::try_cmd "test headers, unknown server" {websocket::test nosuch cli / $ok}
::t::try_cmd "test invalid headers" {websocket::test $srv cli1 /a {Upgrade websocket}}
::t::try_cmd "test unmatched path" {websocket::test $srv cli2 /zzz $ok}
::t::try_cmd "test unmatched proto" {websocket::test $srv cli3 /b1 [list {*}$ok Sec-WebSocket-Protocol other]}
::t::try_cmd "test wrong args" {websocket::test $srv}
::t::try_cmd "upgrade unknown" {websocket::upgrade nosuch}
::t::try_cmd "upgrade tested-negative" {websocket::upgrade cli2}
::t::try_cmd "upgrade wrong args" {websocket::upgrade}

# commands needing a connection, on unknown sockets
foreach {label cmd} {
    send {websocket::send nosuch text x}
    close {websocket::close nosuch}
    close-code {websocket::close nosuch 1000 bye}
    conninfo {websocket::conninfo nosuch state}
    configure {websocket::configure nosuch -keepalive 1}
    configure-no-opts {websocket::configure nosuch}
} {
    ::t::try_cmd "$label on unknown" $cmd
}
::t::try_cmd "conninfo on server socket" {websocket::conninfo $srv state}
foreach {label cmd} {
    send {websocket::send}
    close {websocket::close}
    conninfo {websocket::conninfo x}
    configure {websocket::configure}
    find {websocket::find a b c}
    loglevel {websocket::loglevel a b}
    server {websocket::server}
    takeover {websocket::takeover x}
    open {websocket::open}
    ensemble-send {websocket send}
    qualified-close {::websocket::close}
} {
    ::t::try_cmd "wrong # args $label" $cmd
}
::t::try_cmd "find (none)" {websocket::find}
::t::try_cmd "find * *" {websocket::find * *}

# loglevel
::t::try_cmd "loglevel" {websocket::loglevel}
::t::try_cmd "loglevel warn" {websocket::loglevel warn}
::t::try_cmd "loglevel (after warn)" {websocket::loglevel}
::t::try_cmd "loglevel bogus" {websocket::loglevel bogus}
::t::try_cmd "loglevel (after bogus)" {websocket::loglevel}
::t::try_cmd "loglevel {}" {websocket::loglevel {}}
::t::try_cmd "loglevel error" {websocket::loglevel error}

# namespace ensemble
::t::try_cmd "ensemble loglevel" {websocket loglevel}
::t::try_cmd "ensemble unknown subcommand" {websocket nosuch}
::t::try_cmd "ensemble abbreviation" {websocket logl}
::t::try_cmd "ensemble validate" {websocket validate $ok}
::t::try_cmd "namespace ensemble exists" {namespace ensemble exists ::websocket}
::t::try_cmd "namespace export" {namespace eval ::websocket {namespace export}}
::t::try_cmd "package present" {package present websocket}
set pub {}
foreach c [info commands ::websocket::*] {
    set c [namespace tail $c]
    if {[string match {[a-z]*} $c]} { lappend pub $c }
}
::t::out "public commands: [lsort $pub]"
::t::finish
