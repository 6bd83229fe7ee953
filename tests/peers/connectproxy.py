#!/usr/bin/env python3
"""A small HTTP CONNECT proxy for the tests, loopback only.

Usage:
    connectproxy.py [--port 0] [--refuse CODE] [--lifetime SECS]

Prints "listening PORT" once ready, then per connection (N counts from 1):

    conn N request CONNECT host:port HTTP/1.1    the request line
    conn N header Name: value                    each request header
    conn N answer CODE                           what it answered
    conn N up-first <first line of what the client sent through the
                    tunnel, or "tls" for a TLS record>
    conn N relayed up=BYTES down=BYTES           when the tunnel ends

It only tunnels to loopback targets (127.0.0.0/8, ::1, localhost): others
get 403.  A request other than CONNECT gets 405.  --refuse CODE answers
every CONNECT with that status (e.g. 407).  Exits by itself after
--lifetime seconds (default 30).
"""

import argparse
import asyncio
import ipaddress
import itertools
import sys

COUNTER = itertools.count(1)
REASONS = {200: "Connection established", 403: "Forbidden", 405: "Method Not Allowed",
           407: "Proxy Authentication Required", 502: "Bad Gateway"}


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def split_target(target):
    if target.startswith("["):
        host, _, rest = target[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = target.rpartition(":")
    return host, int(port)


async def pipe(reader, writer, counter, key, first=None):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            if first is not None and counter[key] == 0:
                first(data)
            counter[key] += len(data)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            if writer.can_write_eof():
                writer.write_eof()
        except (ConnectionError, OSError):
            pass


def make_handler(args):
    async def handler(reader, writer):
        n = next(COUNTER)

        async def answer(code):
            out("conn %d answer %d" % (n, code))
            writer.write(("HTTP/1.1 %d %s\r\nContent-Length: 0\r\n\r\n"
                          % (code, REASONS.get(code, "Refused"))).encode())
            await writer.drain()
            writer.close()

        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        out("conn %d request %s" % (n, lines[0]))
        for line in lines[1:]:
            if line:
                out("conn %d header %s" % (n, line))
        parts = lines[0].split()
        if len(parts) != 3 or parts[0] != "CONNECT":
            return await answer(405)
        if args.refuse:
            return await answer(args.refuse)
        try:
            host, port = split_target(parts[1])
        except ValueError:
            return await answer(400)
        if not loopback(host):
            return await answer(403)
        try:
            up_reader, up_writer = await asyncio.open_connection(host, port)
        except OSError:
            return await answer(502)
        out("conn %d answer 200" % n)
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        counter = {"up": 0, "down": 0}

        def first(data):
            if data[:1] == b"\x16":
                out("conn %d up-first tls" % n)
            else:
                line = data.split(b"\r\n", 1)[0].decode("latin-1")
                out("conn %d up-first %s" % (n, line))

        await asyncio.gather(pipe(reader, up_writer, counter, "up", first),
                             pipe(up_reader, writer, counter, "down"))
        out("conn %d relayed up=%d down=%d" % (n, counter["up"], counter["down"]))
        for w in (writer, up_writer):
            try:
                w.close()
            except (ConnectionError, OSError):
                pass

    return handler


async def main(args):
    server = await asyncio.start_server(make_handler(args), "127.0.0.1", args.port)
    out("listening %d" % server.sockets[0].getsockname()[1])
    async with server:
        try:
            await asyncio.wait_for(server.serve_forever(), args.lifetime)
        except asyncio.TimeoutError:
            pass


def cli():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--refuse", type=int, default=0, metavar="CODE")
    p.add_argument("--lifetime", type=float, default=30.0)
    asyncio.run(main(p.parse_args()))


if __name__ == "__main__":
    cli()
