#!/usr/bin/env python3
"""Opens N WebSocket connections to a server at once (raw asyncio sockets,
masked frames), each exchanging one text message, then holds them all.

Usage: manyclients.py PORT N [--hold S] [--abandon M] [--timeout S]
  --abandon M   also open M connections that send half a handshake and stop
Prints "connected N", "echoed N", then (after --hold) "done" and exits,
closing everything. Loopback only.
"""
import argparse
import asyncio
import os
import resource


def frame(text: bytes) -> bytes:
    key = os.urandom(4)
    body = bytes(b ^ key[i % 4] for i, b in enumerate(text))
    return bytes([0x81, 0x80 | len(text)]) + key + body


REQUEST = (b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
           b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           b"Sec-WebSocket-Version: 13\r\n\r\n")


async def one(port, i, results, hold_event):
    try:
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(REQUEST)
        head = await r.readuntil(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            return
        results["connected"] += 1
        msg = f"hello {i}".encode()
        w.write(frame(msg))
        hdr = await r.readexactly(2)
        body = await r.readexactly(hdr[1] & 0x7F)
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
    a = ap.parse_args()
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
