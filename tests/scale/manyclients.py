#!/usr/bin/env python3
"""Opens N WebSocket connections to a server at once (raw asyncio sockets,
masked frames), each exchanging one text message, then holds them all.

Usage: manyclients.py PORT N [--hold S] [--abandon M] [--timeout S] [--deflate]
  --abandon M   also open M connections that send half a handshake and stop
  --deflate     offer permessage-deflate (no context takeover either way);
                each message is then 300 bytes of JSON-like text, sent
                compressed, and its echo must come back compressed
Prints "connected N", "echoed N", then (after --hold) "done" and exits,
closing everything. Loopback only.
"""
import argparse
import asyncio
import os
import resource
import zlib


def frame(text: bytes, rsv1: int = 0) -> bytes:
    key = os.urandom(4)
    body = bytes(b ^ key[i % 4] for i, b in enumerate(text))
    return bytes([0x81 | rsv1, 0x80 | len(text)]) + key + body


def deflate(data: bytes) -> bytes:
    z = zlib.compressobj(6, zlib.DEFLATED, -15)
    out = z.compress(data) + z.flush(zlib.Z_SYNC_FLUSH)
    return out[:-4]


def inflate(data: bytes) -> bytes:
    return zlib.decompressobj(-15).decompress(data + b"\x00\x00\xff\xff")


DEFLATE = False
EXT = (b"Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
       b"client_no_context_takeover\r\n")


REQUEST = (b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
           b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           b"Sec-WebSocket-Version: 13\r\n\r\n")


async def one(port, i, results, hold_event):
    try:
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(REQUEST[:-2] + EXT + b"\r\n" if DEFLATE else REQUEST)
        head = await r.readuntil(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            return
        if DEFLATE and b"permessage-deflate" not in head:
            raise RuntimeError("permessage-deflate not agreed")
        results["connected"] += 1
        if DEFLATE:
            msg = ('{"id": %d, "user": "someone", "text": "hello", "tags": ["a", "b"]} ' % i * 5).encode()[:300]
            w.write(frame(deflate(msg), 0x40))
        else:
            msg = f"hello {i}".encode()
            w.write(frame(msg))
        hdr = await r.readexactly(2)
        n = hdr[1] & 0x7F
        if n == 126:
            n = int.from_bytes(await r.readexactly(2), "big")
        body = await r.readexactly(n)
        if DEFLATE and hdr[0] & 0x40:
            body = inflate(body)
        elif DEFLATE:
            raise RuntimeError("echo not compressed")
        if body == msg:
            results["echoed"] += 1
        await hold_event.wait()
        w.close()
    except Exception as e:  # noqa: BLE001 - count, report, go on
        results["errors"] += 1
        results.setdefault("first_error", repr(e))


async def abandoned(port, held):
    try:
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(REQUEST[:30])
        held.append(w)
    except Exception:  # noqa: BLE001
        pass


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("n", type=int)
    ap.add_argument("--hold", type=float, default=1.0)
    ap.add_argument("--abandon", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--deflate", action="store_true")
    a = ap.parse_args()
    global DEFLATE
    DEFLATE = a.deflate
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    results = {"connected": 0, "echoed": 0, "errors": 0}
    hold = asyncio.Event()
    held = []
    await asyncio.gather(*(abandoned(a.port, held) for _ in range(a.abandon)))
    tasks = []
    sem_batch = 500
    for start in range(0, a.n, sem_batch):
        batch = [asyncio.create_task(one(a.port, i, results, hold))
                 for i in range(start, min(a.n, start + sem_batch))]
        tasks += batch
        # Let each batch finish its exchange before the next (bounded burst).
        deadline = asyncio.get_running_loop().time() + a.timeout
        while results["echoed"] + results["errors"] < min(a.n, start + sem_batch):
            if asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.01)
    print(f"connected {results['connected']}", flush=True)
    print(f"echoed {results['echoed']}", flush=True)
    if results["errors"]:
        print(f"errors {results['errors']} first {results.get('first_error')}", flush=True)
    print("holding", flush=True)
    await asyncio.sleep(a.hold)
    hold.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    for w in held:
        w.close()
    print("done", flush=True)


asyncio.run(main())
