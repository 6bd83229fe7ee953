# certs.tcl --
#
#	Certificates for the TLS tests, made with the openssl command line
#	(ECDSA P-256, valid 30 days) into a folder:
#
#	  ca.pem ca.key            the test CA ("websocket test CA")
#	  server.pem server.key    signed by the CA: localhost, 127.0.0.1, ::1
#	  wrong.pem wrong.key      signed by the CA: wrong.example only
#	  other-ca.pem             another CA, that nobody trusts
#	  stranger.pem stranger.key  signed by that other CA: localhost, 127.0.0.1
#	  client.pem client.key    a client certificate ("test client"), by the CA
#	  client-both.pem          the client certificate and its key in one file
#
#	::certs::make DIR returns DIR once everything is there.

namespace eval ::certs {}

proc ::certs::available {} {
    expr {[auto_execok openssl] ne ""}
}

proc ::certs::Openssl {dir args} {
    exec openssl {*}$args < /dev/null >& [file join $dir openssl.log]
}

proc ::certs::Write {path text} {
    set f [open $path w]
    puts -nonewline $f $text
    close $f
}

# A self-signed CA.
proc ::certs::Ca {dir name cn} {
    Write [file join $dir $name.cnf] [string map [list @CN@ $cn] {
[req]
distinguished_name = dn
x509_extensions = v3_ca
prompt = no
[dn]
CN = @CN@
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
}]
    Openssl $dir req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-days 30 -config [file join $dir $name.cnf] \
	-keyout [file join $dir $name.key] -out [file join $dir $name.pem]
}

# A leaf certificate signed by a CA; eku serverAuth or clientAuth; san a
# subjectAltName value or "".
proc ::certs::Leaf {dir name ca cn eku san} {
    set ext "basicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature\n"
    append ext "extendedKeyUsage = $eku\nauthorityKeyIdentifier = keyid\n"
    if {$san ne ""} {
	append ext "subjectAltName = $san\n"
    }
    Write [file join $dir $name.ext] "\[ext\]\n$ext"
    Openssl $dir req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-subj "/CN=$cn" -keyout [file join $dir $name.key] -out [file join $dir $name.csr]
    Openssl $dir x509 -req -in [file join $dir $name.csr] -days 30 \
	-CA [file join $dir $ca.pem] -CAkey [file join $dir $ca.key] \
	-set_serial [expr {1000 + int(rand() * 1000000000)}] \
	-extfile [file join $dir $name.ext] -extensions ext -out [file join $dir $name.pem]
}

proc ::certs::make {dir} {
    file mkdir $dir
    Ca $dir ca "websocket test CA"
    Leaf $dir server ca localhost serverAuth "DNS:localhost, IP:127.0.0.1, IP:::1"
    Leaf $dir wrong ca wrong.example serverAuth "DNS:wrong.example"
    Ca $dir other-ca "stranger CA"
    Leaf $dir stranger other-ca localhost serverAuth "DNS:localhost, IP:127.0.0.1"
    Leaf $dir client ca "test client" clientAuth ""
    set f [open [file join $dir client.pem]]
    set both [read $f]
    close $f
    set f [open [file join $dir client.key]]
    append both [read $f]
    close $f
    Write [file join $dir client-both.pem] $both
    return $dir
}
