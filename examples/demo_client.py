"""The demo's client: Python's websockets library, an independent peer."""
import asyncio
import sys

import websockets


async def main(url):
    async with websockets.connect(url) as ws:
        for msg in ["Hello from Python", "UTF-8: \u00e9 \u4e2d \U0001F600", b"\x00\x01\xfe\xff"]:
            await ws.send(msg)
            print(f"sent {msg!r}, echoed {await ws.recv()!r}", flush=True)
        await (await ws.ping(b"are you there?"))
        print("ping answered with a pong", flush=True)
        await ws.close(1000, "demo over")
        print(f"closed: code {ws.close_code} reason {ws.close_reason!r}", flush=True)


asyncio.run(main(sys.argv[1]))
