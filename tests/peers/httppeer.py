#!/usr/bin/env python3
"""Raw HTTP/WebSocket SERVER for the client-side tests (no websockets lib).

Answers every connection's upgrade request the way --mode says, so that the
client's handling of good and bad answers can be checked.

Usage:
    httppeer.py [--port 0] [--host 127.0.0.1] [--mode MODE] [--lifetime S]
                [--after TEXT] [--close-after] [--quiet]

Modes:
    ok           a correct 101 answer (echoing the first offered protocol
                 when --pick-protocol), then echo every data frame back
                 (unmasked) and answer a close frame
    status:N     "HTTP/1.1 N ..." with a short body, then close
    silent       accept, read, never answer (prints "eof" when the client
                 closes)
    refuse       accept and close at once (EOF before any answer)
    garbage      answer a line that is not HTTP, then close
    badaccept    101 with a wrong Sec-WebSocket-Accept
    noaccept     101 without Sec-WebSocket-Accept
    noupgrade    101 without the Upgrade header
    noconnection 101 without the Connection header
    proto:P      101 choosing subprotocol P (offered or not)
    ext:E        101 with Sec-WebSocket-Extensions: E

With --after TEXT, a text frame TEXT is sent in the same write as the 101
answer (mode ok only).  With --close-after, after --after's frame the server
also sends a close frame (code 1001 "bye") and waits for the client's.

Output lines (stdout, flushed):
    listening PORT
    conn N request METHOD TARGET VERSION
    conn N header NAME: VALUE        (every request header, in order)
    conn N frame text|binary|close|ping|pong ... [MASKED]
    conn N eof
"""

import argparse
import base64
import hashlib
import socket
import struct
import threading
import time

from peerio import esc, out

MAGIC = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"



def frame(opcode, payload):
    n = len(payload)
    if n < 126:
        hdr = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 65536:
        hdr = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        hdr = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return hdr + payload


def read_request(sock):
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            return None, b""
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head.decode("latin-1").split("\r\n"), rest


def recv_exact(sock, buf, n):
    while len(buf) < n:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        buf += chunk
    return buf


def serve_frames(n, sock, buf):
    """Echo data frames, answer pings and close frames."""
    while True:
        buf = recv_exact(sock, buf, 2)
        if buf is None:
            out("conn %d eof" % n)
            return
        b0, b1 = buf[0], buf[1]
        op, masked, ln = b0 & 0x0F, b1 & 0x80, b1 & 0x7F
        off = 2
        if ln == 126:
            buf = recv_exact(sock, buf, 4)
            if buf is None:
                return
            ln = struct.unpack("!H", buf[2:4])[0]
            off = 4
        elif ln == 127:
            buf = recv_exact(sock, buf, 10)
            if buf is None:
                return
            ln = struct.unpack("!Q", buf[2:10])[0]
            off = 10
        if masked:
            off += 4
        buf = recv_exact(sock, buf, off + ln)
        if buf is None:
            out("conn %d eof" % n)
            return
        payload = bytearray(buf[off:off + ln])
        if masked:
            key = buf[off - 4:off]
            for i in range(ln):
                payload[i] ^= key[i & 3]
        payload = bytes(payload)
        buf = buf[off + ln:]
        tag = " MASKED" if masked else " UNMASKED"
        if op == 1:
            text = payload.decode("utf-8", "replace")
            out("conn %d frame text %s%s" % (n, esc(text), tag))
            sock.sendall(frame(1, payload))
        elif op == 2:
            out("conn %d frame binary %s%s" % (n, payload.hex(), tag))
            sock.sendall(frame(2, payload))
        elif op == 9:
            out("conn %d frame ping %s%s" % (n, payload.hex(), tag))
            sock.sendall(frame(10, payload))
        elif op == 10:
            out("conn %d frame pong %s%s" % (n, payload.hex(), tag))
        elif op == 8:
            if len(payload) >= 2:
                code = struct.unpack("!H", payload[:2])[0]
                reason = payload[2:].decode("utf-8", "replace")
                out("conn %d frame close code=%d reason=%s%s" % (n, code, esc(reason), tag))
            else:
                out("conn %d frame close empty%s" % (n, tag))
            try:
                sock.sendall(frame(8, payload[:2]))
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        else:
            out("conn %d frame op=%d %s%s" % (n, op, payload.hex(), tag))


def handle(n, sock, args):
    try:
        if args.mode == "refuse":
            sock.close()
            return
        lines, rest = read_request(sock)
        if lines is None:
            out("conn %d eof" % n)
            return
        out("conn %d request %s" % (n, esc(lines[0])))
        key = ""
        offered = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            value = value.strip()
            out("conn %d header %s: %s" % (n, esc(name), esc(value)))
            if name.lower() == "sec-websocket-key":
                key = value
            if name.lower() == "sec-websocket-protocol":
                offered += [p.strip() for p in value.split(",") if p.strip()]
        mode = args.mode
        if mode == "silent":
            # Never answer; report when the client gives up.
            while sock.recv(4096):
                pass
            out("conn %d eof" % n)
            return
        if mode == "garbage":
            sock.sendall(b"this is not HTTP\r\n\r\n")
            sock.close()
            return
        if mode.startswith("status:"):
            code = int(mode.split(":", 1)[1])
            body = b"not here"
            sock.sendall(b"HTTP/1.1 %d Whatever\r\nContent-Length: %d\r\n"
                         b"Content-Type: text/plain\r\n\r\n%s" % (code, len(body), body))
            time.sleep(0.2)
            sock.close()
            return
        accept = base64.b64encode(hashlib.sha1(key.encode() + MAGIC).digest()).decode()
        hdrs = []
        if mode != "noupgrade":
            hdrs.append("Upgrade: websocket")
        if mode != "noconnection":
            hdrs.append("Connection: Upgrade")
        if mode == "badaccept":
            hdrs.append("Sec-WebSocket-Accept: " + base64.b64encode(b"x" * 20).decode())
        elif mode != "noaccept":
            hdrs.append("Sec-WebSocket-Accept: " + accept)
        if mode.startswith("proto:"):
            hdrs.append("Sec-WebSocket-Protocol: " + mode.split(":", 1)[1])
        elif args.pick_protocol and offered:
            hdrs.append("Sec-WebSocket-Protocol: " + offered[0])
        if mode.startswith("ext:"):
            hdrs.append("Sec-WebSocket-Extensions: " + mode.split(":", 1)[1])
        answer = ("HTTP/1.1 101 Switching Protocols\r\n" + "\r\n".join(hdrs) + "\r\n\r\n").encode()
        if args.after is not None:
            answer += frame(1, args.after.encode("utf-8"))
            if args.close_after:
                answer += frame(8, struct.pack("!H", 1001) + b"bye")
        sock.sendall(answer)
        serve_frames(n, sock, rest)
    except OSError as e:
        out("conn %d error %s" % (n, e))
    finally:
        try:
            sock.close()
        except OSError:
            pass


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--mode", default="ok")
    p.add_argument("--after")
    p.add_argument("--close-after", action="store_true")
    p.add_argument("--pick-protocol", action="store_true")
    p.add_argument("--lifetime", type=float, default=20.0)
    args = p.parse_args()
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    srv = socket.socket(family, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((args.host, args.port))
    srv.listen(16)
    out("listening %d" % srv.getsockname()[1])
    deadline = time.time() + args.lifetime
    srv.settimeout(0.2)
    n = 0
    while time.time() < deadline:
        try:
            sock, _ = srv.accept()
        except socket.timeout:
            continue
        n += 1
        threading.Thread(target=handle, args=(n, sock, args), daemon=True).start()
    srv.close()


if __name__ == "__main__":
    main()
