#!/usr/bin/env python3
"""Drives examples/chat_server.tcl: fetches its page, then N browsers'
worth of WebSocket clients (Python websockets) join one after the other;
the first sends a message, the last leaves.  Prints, per client, what it
received, so that the test can compare the whole transcript.

Usage: chatclients.py PORT [N]
"""
import asyncio
import sys
import urllib.request

import websockets


async def recv_until(ws, lines, name, want):
    """Receive messages into lines until one equals want (5 s at most)."""
    while True:
        msg = await asyncio.wait_for(ws.recv(), 5)
        lines.append(f"{name} got {msg}")
        if msg == want:
            return


async def main(port, n):
    page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)
    body = page.read().decode()
    print(f"page {page.status} {page.headers['Content-Type']}"
          f" websocket={'new WebSocket(' in body}")
    clients, lines = [], []
    for i in range(n):
        ws = await websockets.connect(f"ws://127.0.0.1:{port}/chat")
        clients.append(ws)
        # Every member, the new one too, hears of the new one.
        for k, c in enumerate(clients):
            await recv_until(c, lines, f"c{k + 1}", f"* user{i + 1} joined ({i + 1} here)")
    await clients[0].send("hello, everyone")
    for k, c in enumerate(clients):
        await recv_until(c, lines, f"c{k + 1}", "user1: hello, everyone")
    await clients[-1].close()
    for k, c in enumerate(clients[:-1]):
        await recv_until(c, lines, f"c{k + 1}", f"* user{n} left ({n - 1} here)")
    for c in clients[:-1]:
        await c.close()
    print("\n".join(lines))


asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 3))
