#!/usr/bin/env python3
"""A WebSocket client that stops reading for a while, so that the server's
socket fills up: for the frames a server writes partly, then finishes later.

Usage:
    slowreader.py PORT [--path P] [--pause SECS] [--ping] [--timeout S]
                  --send TEXT [--send TEXT...] --expect N

Does the opening handshake, sends TEXT as a text message (several
--send: all in one write, so that they arrive as one burst), then reads
nothing for SECS seconds (default 1); with --ping, it sends a ping halfway
through that pause.
Then it reads until N data messages came, and closes. The frames are parsed
by the `websockets` package's sans-I/O protocol (no code shared with the
package under test), which fails the connection on any framing error.

Output, one line per event:
    recv text <escaped>
    recv binary len=N sha1=<hex>
    pong <escaped>
    error <what>              (a protocol error, the end, or a timeout)
    done
"""

import argparse
import hashlib
import socket
import sys
import time

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.uri import parse_uri
from websockets.http11 import Response

from peerio import esc, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--path", default="/")
    ap.add_argument("--pause", type=float, default=1.0)
    ap.add_argument("--ping", action="store_true")
    ap.add_argument("--timeout", type=float, default=20.0)
    ap.add_argument("--send", action="append", required=True,
                    help="a text message; repeated, all go out in one write")
    ap.add_argument("--expect", type=int, required=True)
    a = ap.parse_args()

    deadline = time.monotonic() + a.timeout
    sock = socket.create_connection(("127.0.0.1", a.port), timeout=a.timeout)
    # A small receive buffer: the server's side fills sooner.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    proto = ClientProtocol(parse_uri("ws://127.0.0.1:%d%s" % (a.port, a.path)), max_size=None)
    proto.send_request(proto.connect())
    for data in proto.data_to_send():
        sock.sendall(data)

    def pump():
        """Reads once; returns False at the end of the connection."""
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        data = sock.recv(65536)
        if not data:
            proto.receive_eof()
            return False
        proto.receive_data(data)
        return True

    # The handshake's answer.
    while proto.handshake_exc is None and not any(
        isinstance(e, Response) for e in proto.events_received()
    ):
        if not pump():
            out("error eof during the handshake")
            return
        if proto.state.name == "OPEN":
            break
    if proto.handshake_exc is not None:
        out("error handshake %s" % proto.handshake_exc)
        return

    for text in a.send:
        proto.send_text(text.encode())
    sock.sendall(b"".join(proto.data_to_send()))
    if a.ping:
        # Once the server has begun writing (and filled its socket).
        time.sleep(a.pause / 2)
        proto.send_ping(b"during")
        for data in proto.data_to_send():
            sock.sendall(data)
        time.sleep(a.pause / 2)
    else:
        time.sleep(a.pause)

    got = 0
    try:
        while got < a.expect:
            for ev in proto.events_received():
                if not isinstance(ev, Frame):
                    continue
                if ev.opcode == Opcode.TEXT:
                    out("recv text %s" % esc(ev.data.decode()))
                    got += 1
                elif ev.opcode == Opcode.BINARY:
                    out("recv binary len=%d sha1=%s" % (len(ev.data), hashlib.sha1(ev.data).hexdigest()))
                    got += 1
                elif ev.opcode == Opcode.PONG:
                    out("pong %s" % esc(ev.data.decode()))
            # Answers to the server's pings and the like.
            for data in proto.data_to_send():
                if data:
                    sock.sendall(data)
            if proto.parser_exc is not None:
                out("error %s" % proto.parser_exc)
                return
            if got >= a.expect:
                break
            if time.monotonic() > deadline:
                out("error timeout after %d messages" % got)
                return
            if not pump():
                out("error eof after %d messages" % got)
                return
    except socket.timeout:
        out("error timeout after %d messages" % got)
        return
    proto.send_close(1000)
    for data in proto.data_to_send():
        if data:
            sock.sendall(data)
    sock.close()
    out("done")


if __name__ == "__main__":
    sys.exit(main())
