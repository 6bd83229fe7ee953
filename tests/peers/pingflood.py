#!/usr/bin/env python3
"""A peer that floods pings and never reads (abuse test).

Usage: pingflood.py HOST PORT [--bytes N] [--seconds S] [--hold S]
Does the HTTP upgrade, then writes masked 125-byte pings until N bytes are
sent or S seconds pass (the server may stop reading: sends then block and
time out), holds the connection open for --hold seconds without ever
reading, prints "sent B" and exits.
"""
import argparse
import os
import socket
import time


def ping_frame():
    key = os.urandom(4)
    payload = bytes(b ^ key[i % 4] for i, b in enumerate(b"p" * 125))
    return bytes([0x89, 0x80 | 125]) + key + payload


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--bytes", type=int, default=20_000_000)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--hold", type=float, default=1.0)
    a = ap.parse_args()
    s = socket.create_connection((a.host, a.port), timeout=5)
    s.sendall(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    chunk = ping_frame() * 1000
    sent = 0
    end = time.monotonic() + a.seconds
    s.settimeout(0.2)
    while sent < a.bytes and time.monotonic() < end:
        try:
            sent += s.send(chunk)
        except socket.timeout:
            pass  # the server stopped reading: keep trying until the end
    print(f"sent {sent}", flush=True)
    time.sleep(a.hold)
    s.close()


if __name__ == "__main__":
    main()
