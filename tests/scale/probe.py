#!/usr/bin/env python3
"""Round trips of one well-behaved WebSocket client, to see whether a server
under load still answers normally.

Usage: probe.py PORT [N]
Sends N (default 200) text messages one after another on one connection,
each after the echo of the one before, and prints
"probe N echoed, rtt p50 X ms p99 Y ms max Z ms". Loopback only; gives up
after 20 s.
"""
import sys
import time

from websockets.sync.client import connect


def main():
    port = int(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    times = []
    deadline = time.monotonic() + 20
    with connect(f"ws://127.0.0.1:{port}/", open_timeout=10, close_timeout=2) as ws:
        for i in range(n):
            msg = f"probe {i}"
            t0 = time.perf_counter()
            ws.send(msg)
            if ws.recv(timeout=max(0.1, deadline - time.monotonic())) != msg:
                break
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    if not times:
        print("probe 0 echoed")
        return 1
    p = lambda q: times[min(len(times) - 1, int(q * len(times)))]
    print(f"probe {len(times)} echoed, rtt p50 {p(0.5):.2f} ms p99 {p(0.99):.2f} ms max {times[-1]:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
