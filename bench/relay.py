#!/usr/bin/env python3
"""Counting TCP relay for bench/deflate.sh: listens on a free loopback
port, prints "PORT p", forwards every connection to 127.0.0.1:TARGET and
counts the bytes each way; prints "BYTES up=U down=D" when stdin closes or
after --timeout seconds. Loopback only.

    relay.py TARGET [--timeout S]
"""
import argparse
import asyncio
import sys

total = {"up": 0, "down": 0}


async def pipe(r, w, key):
    try:
        while True:
            data = await r.read(65536)
            if not data:
                break
            total[key] += len(data)
            w.write(data)
            await w.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            w.close()
        except Exception:  # noqa: BLE001 - already gone
            pass


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("target", type=int)
    ap.add_argument("--timeout", type=float, default=120)
    a = ap.parse_args()

    async def handle(cr, cw):
        sr, sw = await asyncio.open_connection("127.0.0.1", a.target)
        await asyncio.gather(pipe(cr, sw, "up"), pipe(sr, cw, "down"))

    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    print("PORT %d" % srv.sockets[0].getsockname()[1], flush=True)
    loop = asyncio.get_running_loop()
    try:
        await asyncio.wait_for(loop.run_in_executor(None, sys.stdin.read), a.timeout)
    except asyncio.TimeoutError:
        pass
    print("BYTES up=%d down=%d" % (total["up"], total["down"]), flush=True)
    srv.close()
    for t in asyncio.all_tasks() - {asyncio.current_task()}:
        t.cancel()


try:
    asyncio.run(main())
except KeyboardInterrupt:
    pass
