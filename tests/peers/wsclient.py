#!/usr/bin/env python3
"""Independent WebSocket client used to drive the Tcl server side in tests.

Built on the ``websockets`` package (asyncio implementation), so it is an
RFC 6455 peer that shares no code with the package under test.

Usage:
    wsclient.py URL [--protocol P ...] [--header K:V ...] [--timeout S]
                [--close-timeout S] [--delay S] [--deflate] [--brief-close]
                [--no-close] [--insecure] [--cafile PEM] ACTION...

Actions run in order:
    text:STRING       send a text message; STRING may contain the escapes
                      \\uXXXX \\U0001F600 \\xHH \\n \\r \\t \\\\
    textfile:PATH     send the content of a UTF-8 file as a text message
    binary:HEX        send a binary message (hex digits, may be empty)
    binrange          send a binary message with all 256 byte values 0..255
    big:N             send a binary message of N bytes (byte i = i*7 % 256)
    bigtext:N         send a text message of N ASCII characters
    ping:DATA         send a ping (escapes as for text) and wait for its pong
    recv              wait for one message and print it
    recvn:N           wait for N messages and print them
    recvgaps:N        wait for N messages; print each, then "gap MS": the
                      milliseconds since the one before (or since the action
                      started)
    sleep:SECS        sleep
    close[:CODE[:REASON]]  closing handshake (CODE "none" = empty payload)
    wait-close        wait until the server closes; print its code and reason
    abort             drop the TCP connection without a close frame
    expect-silence:SECS  wait SECS; print any message that arrives meanwhile

Output: one line per event on stdout:
    connected proto=<p or ->
    recv text <escaped>              (non-ASCII as \\uXXXX / \\UXXXXXXXX)
    recv binary len=N sha1=<hex> [hex=<hex> if N <= 32]
    ping <escaped>                   (a ping received from the server)
    pong <escaped>                   (answer to our ping)
    closed code=C reason=<escaped>   (code 1006 when no close frame came;
                                      just "closed" with --brief-close)
    connect-failed <why>
    timeout                          (overall --timeout expired)
    done                             (all actions ran)
The program always exits by itself; exit status 0 unless it timed out
(2) or the connection could not be opened (3).
"""

import argparse
import asyncio
import time
import hashlib
import re
import ssl
import sys

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, InvalidHandshake
from websockets.frames import Opcode

from peerio import esc, out



def esc_bytes(b):
    """Escape a ping/pong payload: decoded as UTF-8 when valid, else hex."""
    try:
        return esc(bytes(b).decode("utf-8"))
    except UnicodeDecodeError:
        return "hex=" + bytes(b).hex()


_ESC_RE = re.compile(r"\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|x[0-9a-fA-F]{2}|\\|n|r|t)")


def unescape(s):
    def rep(m):
        e = m.group(1)
        if e[0] in "uUx":
            return chr(int(e[1:], 16))
        return {"\\": "\\", "n": "\n", "r": "\r", "t": "\t"}[e]

    return _ESC_RE.sub(rep, s)


def describe_binary(data):
    data = bytes(data)
    line = "len=%d sha1=%s" % (len(data), hashlib.sha1(data).hexdigest())
    if len(data) <= 32:
        line += " hex=" + data.hex()
    return line


def print_message(msg):
    if isinstance(msg, str):
        if len(msg) > 200:
            out("recv text len=%d sha1=%s" % (len(msg), hashlib.sha1(msg.encode("utf-8")).hexdigest()))
        else:
            out("recv text " + esc(msg))
    else:
        out("recv binary " + describe_binary(msg))


class SpyConnection(ClientConnection):
    """ClientConnection that reports pings received from the server."""

    def process_event(self, event):
        if getattr(event, "opcode", None) is Opcode.PING:
            out("ping " + esc_bytes(event.data))
        super().process_event(event)


BRIEF_CLOSE = False


def closed_line(ws):
    if BRIEF_CLOSE:
        return "closed"
    code = ws.close_code if ws.close_code is not None else 1006
    reason = ws.close_reason or ""
    return "closed code=%d reason=%s" % (code, esc(reason))


def pattern(n):
    return bytes((i * 7) % 256 for i in range(n))


async def run_actions(ws, actions, args):
    for action in actions:
        name, _, arg = action.partition(":")
        if name == "text":
            await ws.send(unescape(arg))
        elif name == "textfile":
            with open(arg, encoding="utf-8") as f:
                await ws.send(f.read())
        elif name == "binary":
            await ws.send(bytes.fromhex(arg))
        elif name == "binrange":
            await ws.send(bytes(range(256)))
        elif name == "big":
            await ws.send(pattern(int(arg)))
        elif name == "bigtext":
            await ws.send("".join(chr(0x41 + i % 26) for i in range(int(arg))))
        elif name == "ping":
            data = unescape(arg)
            waiter = await ws.ping(data)
            await waiter
            out("pong " + esc(data))
        elif name == "recv":
            print_message(await ws.recv())
        elif name == "recvn":
            for _ in range(int(arg)):
                print_message(await ws.recv())
        elif name == "recvgaps":
            last = time.monotonic()
            for _ in range(int(arg)):
                print_message(await ws.recv())
                now = time.monotonic()
                out("gap %d" % round((now - last) * 1000))
                last = now
        elif name == "sleep":
            await asyncio.sleep(float(arg))
        elif name == "expect-silence":
            try:
                msg = await asyncio.wait_for(ws.recv(), float(arg))
                print_message(msg)
            except asyncio.TimeoutError:
                out("silence")
        elif name == "close":
            parts = arg.split(":", 1) if arg else []
            if parts and parts[0] == "none":
                # Empty close payload (no status code).
                async with ws.send_context():
                    ws.protocol.send_close(None, "")
            elif parts:
                code = int(parts[0])
                reason = unescape(parts[1]) if len(parts) > 1 else ""
                await ws.close(code, reason)
            else:
                await ws.close()
            await ws.wait_closed()
            out(closed_line(ws))
            return
        elif name == "wait-close":
            # Drain (and print) messages until the server closes.
            try:
                while True:
                    print_message(await ws.recv())
            except ConnectionClosed:
                pass
            await ws.wait_closed()
            out(closed_line(ws))
            return
        elif name == "abort":
            ws.transport.abort()
            out("aborted")
            return
        else:
            out("bad-action " + esc(action))
            return
    out("done")
    # Leave politely unless the caller asked to keep the connection as is.
    if not args.no_close:
        try:
            await asyncio.wait_for(ws.close(), args.close_timeout)
        except Exception:
            pass


async def main(args):
    if args.delay:
        await asyncio.sleep(args.delay)
    headers = []
    for h in args.header:
        k, _, v = h.partition(":")
        headers.append((k.strip(), v.strip()))
    extra = {}
    if args.insecure and args.url.startswith("wss:"):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        extra["ssl"] = ctx
    elif args.cafile and args.url.startswith("wss:"):
        # Trust this CA (only), and check the host name against it.
        extra["ssl"] = ssl.create_default_context(cafile=args.cafile)
    try:
        ws = await connect(
            args.url,
            **extra,
            subprotocols=args.protocol or None,
            additional_headers=headers or None,
            compression="deflate" if args.deflate else None,
            open_timeout=args.timeout,
            close_timeout=args.close_timeout,
            ping_interval=None,
            max_size=None,
            create_connection=SpyConnection,
        )
    except InvalidStatus as e:
        out("connect-failed status=%d" % e.response.status_code)
        return 3
    except (InvalidHandshake, OSError, asyncio.TimeoutError) as e:
        out("connect-failed %s" % type(e).__name__)
        return 3
    out("connected proto=%s" % (ws.subprotocol or "-"))
    try:
        await run_actions(ws, args.actions, args)
    except ConnectionClosed:
        await ws.wait_closed()
        out(closed_line(ws))
    return 0


def cli():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("url")
    p.add_argument("--protocol", action="append", default=[])
    p.add_argument("--header", action="append", default=[])
    p.add_argument("--timeout", type=float, default=10.0, help="overall time limit in seconds")
    p.add_argument("--close-timeout", type=float, default=2.0)
    p.add_argument("--delay", type=float, default=0.0,
                   help="wait this long before connecting (counts in --timeout)")
    p.add_argument("--deflate", action="store_true", help="offer permessage-deflate")
    p.add_argument("--insecure", action="store_true", help="wss: do not verify the server certificate")
    p.add_argument("--cafile", help="wss: trust the CA certificates of this PEM file")
    p.add_argument("--no-close", action="store_true", help="do not close after the last action")
    p.add_argument("--brief-close", action="store_true",
                   help='print just "closed" (no code/reason) when the connection closes')
    p.add_argument("actions", nargs="*")
    args = p.parse_intermixed_args()
    global BRIEF_CLOSE
    BRIEF_CLOSE = args.brief_close

    async def bounded():
        try:
            return await asyncio.wait_for(main(args), args.timeout)
        except asyncio.TimeoutError:
            out("timeout")
            return 2

    sys.exit(asyncio.run(bounded()))


if __name__ == "__main__":
    cli()
