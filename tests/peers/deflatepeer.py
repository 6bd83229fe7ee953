#!/usr/bin/env python3
"""permessage-deflate peer (Python websockets), client or server.

    deflatepeer.py server [--port 0] [PARAMS]
        an echo server that accepts only permessage-deflate with PARAMS;
        prints "listening PORT", then per connection "conn ext=<answer>"
        and, when it ends, "conn in=<wire bytes> payload=<bytes>".
    deflatepeer.py client URL [--count N] [--size S] [PARAMS]
        offers permessage-deflate with PARAMS, sends N text messages of
        about S bytes of JSON-like text (and one binary), checks that each
        echo is equal, prints "ext=<answer>", "echo ok N" or "echo bad I",
        then "in=<wire bytes received> payload=<bytes of the echoes>".

PARAMS: --snct (server_no_context_takeover), --cnct
(client_no_context_takeover), --smwb N (server_max_window_bits), --cmwb N
(client_max_window_bits; a client offers it without a value by default).
Loopback only; every wait is bounded by --timeout (s).
"""

import argparse
import asyncio
import json
import sys

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    ServerPerMessageDeflateFactory,
)


def out(line):
    print(line, flush=True)


class Counting:
    """Counts the bytes read from the socket."""

    wire_in = 0

    def data_received(self, data):
        self.wire_in += len(data)
        super().data_received(data)


class CountingClient(Counting, ClientConnection):
    pass


class CountingServer(Counting, ServerConnection):
    pass


def message(i, size):
    item = {"id": i, "name": "websocket", "tags": ["tcl", "rust", "deflate"], "ok": True}
    text = json.dumps([dict(item, n=k) for k in range(size // 80 + 1)])
    return text[:size]


async def client(args):
    factory = ClientPerMessageDeflateFactory(
        server_no_context_takeover=args.snct,
        client_no_context_takeover=args.cnct,
        server_max_window_bits=args.smwb,
        client_max_window_bits=args.cmwb if args.cmwb else True,
    )
    async with connect(
        args.url,
        extensions=[factory],
        compression=None,
        open_timeout=args.timeout,
        max_size=None,
        ping_interval=None,
        create_connection=CountingClient,
    ) as ws:
        out("ext=" + (ws.response.headers.get("Sec-WebSocket-Extensions") or ""))
        payload = 0
        msgs = [message(i, args.size) for i in range(args.count)]
        msgs.append(bytes(range(256)) * 8)
        for i, m in enumerate(msgs):
            await ws.send(m)
            echo = await asyncio.wait_for(ws.recv(), args.timeout)
            payload += len(echo.encode() if isinstance(echo, str) else echo)
            if echo != m:
                out("echo bad %d" % i)
                return 1
        out("echo ok %d" % len(msgs))
        await ws.close()
        out("in=%d payload=%d" % (ws.wire_in, payload))
    return 0


async def server(args):
    factory = ServerPerMessageDeflateFactory(
        server_no_context_takeover=args.snct,
        client_no_context_takeover=args.cnct,
        server_max_window_bits=args.smwb,
        client_max_window_bits=args.cmwb,
        require_client_max_window_bits=False,
    )

    async def echo(ws):
        out("conn ext=" + (ws.response.headers.get("Sec-WebSocket-Extensions") or ""))
        payload = 0
        try:
            async for m in ws:
                payload += len(m.encode() if isinstance(m, str) else m)
                await ws.send(m)
        finally:
            out("conn in=%d payload=%d" % (ws.wire_in, payload))

    async with serve(
        echo,
        "127.0.0.1",
        args.port,
        extensions=[factory],
        compression=None,
        max_size=None,
        ping_interval=None,
        create_connection=CountingServer,
    ) as srv:
        out("listening %d" % srv.sockets[0].getsockname()[1])
        # The test stops it (by its pid); else it ends after --timeout.
        await asyncio.sleep(args.timeout)
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["client", "server"])
    p.add_argument("url", nargs="?")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--count", type=int, default=5)
    p.add_argument("--size", type=int, default=1024)
    p.add_argument("--snct", action="store_true")
    p.add_argument("--cnct", action="store_true")
    p.add_argument("--smwb", type=int)
    p.add_argument("--cmwb", type=int)
    p.add_argument("--timeout", type=float, default=20)
    args = p.parse_args()
    run = client if args.mode == "client" else server
    try:
        return asyncio.run(run(args))
    except Exception as e:  # the test reads what happened
        out("failed %s: %s" % (type(e).__name__, e))
        return 2


if __name__ == "__main__":
    sys.exit(main())
