#!/usr/bin/env python3
"""Independent WebSocket echo SERVER (Python websockets, asyncio API).

Behaves like the public echo service that tcllib's websocket.test talks to
(ws.ifelse.io): every connection is greeted with one text message
"Request served by <id>", then every text/binary message is echoed back.

Usage:
    echoserver.py [--port 0] [--host 127.0.0.1] [--tls CERT KEY]
                  [--client-ca CAFILE] [--tls-max 1.2|1.3] [--close-on TEXT]
                  [--subprotocols a,b] [--id ID] [--no-greeting]
                  [--lifetime SECS] [--stdin-eof] [--strict] [--verbose]
                  [--delay-ms MS]

Prints "listening PORT" on stdout once ready.  With --verbose, prints one
line per event: "conn N open path=P proto=X", "conn N recv text|binary ...",
"conn N closed code=C reason=R".  Exits by itself after --lifetime seconds
(default 30) or when stdin reaches EOF if --stdin-eof is given.

With --tls the server speaks wss:// (TLS 1.2 and 1.3, or at most
--tls-max); --client-ca requires a client certificate signed by that CA
(verbose: "conn N open ... client=<subject CN>").  --close-on TEXT: that
text message makes the server close with 1000 "closing on request".
--delay-ms MS: each echo waits that long first (a slow peer).
"""

import argparse
import asyncio
import hashlib
import itertools
import os
import ssl
import sys
import threading

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

from peerio import esc, out



COUNTER = itertools.count(1)


def make_handler(args):
    async def handler(ws):
        n = next(COUNTER)
        if args.verbose:
            path = ws.request.path if ws.request else "?"
            extra = ""
            if args.client_ca:
                sslobj = ws.transport.get_extra_info("ssl_object")
                cert = sslobj.getpeercert() if sslobj else None
                cn = "-"
                for rdn in (cert or {}).get("subject", ()):
                    for k, v in rdn:
                        if k == "commonName":
                            cn = v
                extra = " client=%s" % cn
            if args.tls:
                sslobj = ws.transport.get_extra_info("ssl_object")
                extra += " tls=%s" % (sslobj.version() if sslobj else "-")
            out("conn %d open path=%s proto=%s%s" % (n, esc(path), ws.subprotocol or "-", extra))
        try:
            if not args.no_greeting:
                await ws.send("Request served by %s" % args.id)
            async for msg in ws:
                if args.close_on is not None and msg == args.close_on:
                    await ws.close(1000, "closing on request")
                    break
                if args.verbose:
                    if isinstance(msg, str):
                        out("conn %d recv text %s" % (n, esc(msg) if len(msg) <= 200 else "len=%d" % len(msg)))
                    else:
                        out("conn %d recv binary len=%d sha1=%s" % (n, len(msg), hashlib.sha1(msg).hexdigest()))
                if args.delay_ms:
                    await asyncio.sleep(args.delay_ms / 1000)
                await ws.send(msg)
        except ConnectionClosed:
            pass
        if args.verbose:
            code = ws.close_code if ws.close_code is not None else 1006
            out("conn %d closed code=%d reason=%s" % (n, code, esc(ws.close_reason or "")))

    return handler


def lenient_request(connection, request):
    """Drop an empty Sec-WebSocket-Protocol header before the handshake.

    tcllib's client always sends "Sec-WebSocket-Protocol:" even when it
    offers no subprotocol; public echo services ignore the empty header,
    while websockets would reject the request with 400.
    """
    values = request.headers.get_all("Sec-WebSocket-Protocol")
    if values and not any(v.strip(" \t,") for v in values):
        del request.headers["Sec-WebSocket-Protocol"]
    return None


async def main(args):
    ctx = None
    if args.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls[0], args.tls[1])
        if args.tls_max == "1.2":
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        if args.client_ca:
            ctx.load_verify_locations(cafile=args.client_ca)
            ctx.verify_mode = ssl.CERT_REQUIRED
    protos = [p for p in args.subprotocols.split(",") if p] if args.subprotocols else None
    stop = asyncio.get_running_loop().create_future()
    if args.stdin_eof:
        loop = asyncio.get_running_loop()

        def watch():
            try:
                while sys.stdin.buffer.read(4096):
                    pass
            finally:
                loop.call_soon_threadsafe(lambda: stop.done() or stop.set_result(None))

        threading.Thread(target=watch, daemon=True).start()
    async with serve(
        make_handler(args),
        args.host,
        args.port,
        ssl=ctx,
        subprotocols=protos,
        select_subprotocol=(lambda conn, offered: next((p for p in offered if p in protos), None))
        if protos
        else None,
        process_request=None if args.strict else lenient_request,
        compression=None,
        ping_interval=None,
        max_size=None,
        close_timeout=2,
    ) as server:
        port = server.sockets[0].getsockname()[1]
        out("listening %d" % port)
        try:
            await asyncio.wait_for(stop, args.lifetime)
        except asyncio.TimeoutError:
            pass


def cli():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    p.add_argument("--client-ca", metavar="CAFILE", help="require a client certificate signed by this CA")
    p.add_argument("--tls-max", choices=["1.2", "1.3"], default="1.3")
    p.add_argument("--close-on", metavar="TEXT", help="close (1000) when this text arrives")
    p.add_argument("--subprotocols", default="")
    p.add_argument("--id", default=os.urandom(7).hex())
    p.add_argument("--no-greeting", action="store_true")
    p.add_argument("--lifetime", type=float, default=30.0)
    p.add_argument("--stdin-eof", action="store_true", help="exit when stdin reaches EOF")
    p.add_argument("--verbose", action="store_true")
    p.add_argument("--delay-ms", type=float, default=0.0, help="wait this long before each echo")
    p.add_argument("--strict", action="store_true",
                   help="reject an empty Sec-WebSocket-Protocol header (websockets default)")
    args = p.parse_args()
    asyncio.run(main(args))


if __name__ == "__main__":
    cli()
