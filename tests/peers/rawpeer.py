#!/usr/bin/env python3
"""Raw-socket WebSocket client for protocol-violation tests (no websockets lib).

Usage:
    rawpeer.py URL|PORT [--no-handshake] [--timeout S] [--no-times]
               [--protocol P] [--show-headers] [--reply-close] ACTION...

Does the HTTP upgrade by hand (unless --no-handshake), then performs the
actions in order while a reader thread prints everything the server sends.
After the last action it waits (at most --timeout seconds overall, default 5)
for the server to close TCP.

Valid traffic:
    text:STR          masked text frame (escapes \\uXXXX \\U0001F600 \\xHH \\\\)
    binary:HEX        masked binary frame
    ping:STR          masked ping frame
    close[:CODE[:REASON]]  masked close frame (no CODE: empty payload)
    frag:STR1,STR2..  a text message in several fragments
    frame:FIN:RSV:OP:MASK:HEX  any frame
    bytes:HEX         raw bytes
    sleep:SECS        sleep
    end               close the TCP connection (FIN) without a close frame
    abort             reset the TCP connection (RST)
Violations:
    unmasked          unmasked text frame "unmasked"
    rsv[:N]           text frame with reserved bits N (default 4 = RSV1)
    opcode[:N]        frame with unknown opcode N (default 3)
    fragping          ping frame with FIN=0
    ping126           ping frame with a 126-byte payload
    contstart         continuation frame without a started message
    textinfrag        text FIN=0 "frag1", then a new text frame "frag2"
    close1            close frame with a 1-byte payload
    closecode:N       close frame with code N and no reason
    badutf8           text frame whose payload is not UTF-8
    badutf8frag       first fragment (FIN=0) of a text message, not UTF-8;
                      the other fragments never come
    len63             frame header announcing 2^63 bytes
    toobig[:N]        binary frame header announcing N bytes (default
                      16 MiB + 1), followed by nothing
    stall[:SECS]      half of a masked text frame "stalled message", silence
                      for SECS (default 2), then the rest of the frame
    trickle:SECS:STR  a masked text frame STR sent one byte at a time, SECS
                      seconds apart (slowloris)

Output lines:
    http STATUS                      (the server's status code)
    header NAME: VALUE               (with --show-headers)
    frame [fin=0] [rsv=N] [MASKED] text|binary|ping|pong|cont|op=N ...
    frame close code=C reason=R      (or "frame close empty" / "len=1 hex=..")
    eof after N ms                   (server closed TCP; N measured from the
                                      end of the last action; "eof" with
                                      --no-times)
    reset after N ms                 (connection reset by the server)
    no-eof                           (still open when the time was up)
"""

import argparse
import base64
import hashlib
import os
import re
import socket
import struct
import sys
import threading
import time

from peerio import esc, out




def describe(b):
    try:
        return esc(b.decode("utf-8"))
    except UnicodeDecodeError:
        return "hex=" + b.hex()


_ESC_RE = re.compile(r"\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|x[0-9a-fA-F]{2}|\\)")


def unescape_bytes(s):
    """Escapes to bytes; \\xHH is a raw byte, \\u/\\U are UTF-8 encoded."""
    res = bytearray()
    pos = 0
    for m in _ESC_RE.finditer(s):
        res += s[pos:m.start()].encode("utf-8")
        e = m.group(1)
        if e[0] == "x":
            res.append(int(e[1:], 16))
        elif e[0] in "uU":
            res += chr(int(e[1:], 16)).encode("utf-8", "surrogatepass")
        else:
            res += b"\\"
        pos = m.end()
    res += s[pos:].encode("utf-8")
    return bytes(res)


MASK_KEY = b"\x5a\x3c\x96\x0f"


def mask(data, key=MASK_KEY):
    return bytes(b ^ key[i & 3] for i, b in enumerate(data))


def frame(op, payload=b"", fin=1, rsv=0, masked=True, length=None):
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | ((rsv & 7) << 4) | (op & 0xF)
    m = 0x80 if masked else 0
    if n < 126:
        hdr = struct.pack("!BB", b0, m | n)
    elif n < 65536:
        hdr = struct.pack("!BBH", b0, m | 126, n)
    else:
        hdr = struct.pack("!BBQ", b0, m | 127, n)
    if masked:
        return hdr + MASK_KEY + mask(payload)
    return hdr + payload


class Reader(threading.Thread):
    reply_close = False

    def __init__(self, sock, buf, times):
        super().__init__(daemon=True)
        self.sock = sock
        self.buf = bytearray(buf)
        self.times = times
        self.mark = time.monotonic()
        self.closed = threading.Event()

    def elapsed(self):
        return int((time.monotonic() - self.mark) * 1000)

    def parse(self):
        while True:
            b = self.buf
            if len(b) < 2:
                return
            b0, b1 = b[0], b[1]
            n = b1 & 0x7F
            off = 2
            if n == 126:
                if len(b) < 4:
                    return
                n = struct.unpack("!H", b[2:4])[0]
                off = 4
            elif n == 127:
                if len(b) < 10:
                    return
                n = struct.unpack("!Q", b[2:10])[0]
                off = 10
            masked = b1 & 0x80
            if masked:
                off += 4
            if len(b) < off + n:
                return
            payload = bytes(b[off:off + n])
            if masked:
                payload = mask(payload, bytes(b[off - 4:off]))
            del self.buf[:off + n]
            fin = b0 >> 7
            rsv = (b0 >> 4) & 7
            op = b0 & 0xF
            desc = "frame"
            if not fin:
                desc += " fin=0"
            if rsv:
                desc += " rsv=%d" % rsv
            if masked:
                desc += " MASKED"
            if op == 8 and self.reply_close:
                try:
                    self.sock.sendall(frame(8, payload[:2]))
                except OSError:
                    pass
            if op == 8:
                if len(payload) >= 2:
                    code = struct.unpack("!H", payload[:2])[0]
                    desc += " close code=%d reason=%s" % (code, describe(payload[2:]))
                elif not payload:
                    desc += " close empty"
                else:
                    desc += " close len=1 hex=" + payload.hex()
            else:
                name = {0: "cont", 1: "text", 2: "binary", 9: "ping", 10: "pong"}.get(op, "op=%d" % op)
                if len(payload) > 64:
                    desc += " %s len=%d sha1=%s" % (name, len(payload), hashlib.sha1(payload).hexdigest())
                else:
                    desc += " %s %s" % (name, describe(payload))
            out(desc)

    def run(self):
        self.parse()
        how = "eof"
        while True:
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                how = "reset"
                break
            except OSError:
                how = "eof"
                break
            if not data:
                break
            self.buf += data
            self.parse()
        if self.buf:
            out("trailing %d bytes" % len(self.buf))
        if self.times:
            out("%s after %d ms" % (how, self.elapsed()))
        else:
            out(how)
        self.closed.set()


def handshake(sock, host, port, path, protocols, show_headers):
    key = base64.b64encode(os.urandom(16)).decode()
    req = (
        "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n" % (path, host, port, key)
    )
    if protocols:
        req += "Sec-WebSocket-Protocol: %s\r\n" % ", ".join(protocols)
    req += "\r\n"
    sock.sendall(req.encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(4096)
        if not data:
            out("http eof")
            return None
        buf += data
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = lines[0].split(" ")
    out("http %s" % (status[1] if len(status) > 1 else "?"))
    expected = base64.b64encode(
        hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()
    ).decode()
    for line in lines[1:]:
        k, _, v = line.partition(":")
        if show_headers:
            out("header %s: %s" % (k.strip(), v.strip()))
        if k.strip().lower() == "sec-websocket-accept" and v.strip() != expected:
            out("bad-accept %s" % v.strip())
    return rest


def action_bytes(name, arg):
    """Bytes to send for a simple action, or None if not a simple action."""
    if name == "text":
        return frame(1, unescape_bytes(arg))
    if name == "binary":
        return frame(2, bytes.fromhex(arg))
    if name == "ping":
        return frame(9, unescape_bytes(arg))
    if name == "close":
        if not arg:
            return frame(8, b"")
        code, _, reason = arg.partition(":")
        return frame(8, struct.pack("!H", int(code)) + unescape_bytes(reason))
    if name == "frag":
        parts = arg.split(",")
        res = b""
        for i, p in enumerate(parts):
            res += frame(1 if i == 0 else 0, unescape_bytes(p), fin=(i == len(parts) - 1))
        return res
    if name == "frame":
        fin, rsv, op, m, hx = arg.split(":")
        return frame(int(op), bytes.fromhex(hx), fin=int(fin), rsv=int(rsv), masked=int(m) != 0)
    if name == "bytes":
        return bytes.fromhex(arg)
    if name == "unmasked":
        return frame(1, b"unmasked", masked=False)
    if name == "rsv":
        return frame(1, b"reserved", rsv=int(arg or 4))
    if name == "opcode":
        return frame(int(arg or 3), b"unknown")
    if name == "fragping":
        return frame(9, b"fragmented ping", fin=0)
    if name == "ping126":
        return frame(9, b"p" * 126)
    if name == "contstart":
        return frame(0, b"orphan continuation")
    if name == "textinfrag":
        return frame(1, b"frag1", fin=0) + frame(1, b"frag2")
    if name == "close1":
        return frame(8, b"\x03")
    if name == "closecode":
        return frame(8, struct.pack("!H", int(arg)))
    if name == "badutf8":
        return frame(1, b"bad \xff\xfe utf-8 \xc0\xaf")
    if name == "badutf8frag":
        return frame(1, b"\xff\xfe never valid", fin=0)
    if name == "len63":
        return frame(2, b"", length=1 << 63)
    if name == "toobig":
        n = int(arg) if arg else 16 * 1024 * 1024 + 1
        return frame(2, b"", length=n)
    return None


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("target", help="ws://host:port/path or a port on 127.0.0.1")
    p.add_argument("--no-handshake", action="store_true")
    p.add_argument("--timeout", type=float, default=5.0)
    p.add_argument("--no-times", action="store_true")
    p.add_argument("--show-headers", action="store_true")
    p.add_argument("--protocol", action="append", default=[])
    p.add_argument("--reply-close", action="store_true",
                   help="answer a close frame from the server with a close frame (same code)")
    p.add_argument("actions", nargs="*")
    args = p.parse_intermixed_args()

    deadline = time.monotonic() + args.timeout
    m = re.match(r"^wss?://([^:/]+)(?::(\d+))?(/.*)?$", args.target)
    if m:
        host, port, path = m.group(1), int(m.group(2) or 80), m.group(3) or "/"
    else:
        host, port, path = "127.0.0.1", int(args.target), "/"

    sock = socket.create_connection((host, port), timeout=args.timeout)
    rest = b""
    if not args.no_handshake:
        rest = handshake(sock, host, port, path, args.protocol, args.show_headers)
        if rest is None:
            return 1
    sock.settimeout(None)
    Reader.reply_close = args.reply_close
    reader = Reader(sock, rest, not args.no_times)
    reader.start()

    try:
        for action in args.actions:
            name, _, arg = action.partition(":")
            data = action_bytes(name, arg)
            if name != "sleep":
                reader.mark = time.monotonic()
            if data is not None:
                sock.sendall(data)
            elif name == "sleep":
                time.sleep(float(arg))
            elif name == "stall":
                f = frame(1, b"stalled message")
                half = len(f) // 2
                sock.sendall(f[:half])
                time.sleep(float(arg) if arg else 2.0)
                sock.sendall(f[half:])
            elif name == "trickle":
                gap, _, text = arg.partition(":")
                for i, b in enumerate(frame(1, unescape_bytes(text))):
                    if i:
                        time.sleep(float(gap))
                    sock.sendall(bytes([b]))
            elif name == "end":
                sock.shutdown(socket.SHUT_WR)
            elif name == "abort":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.close()
                out("aborted")
                return 0
            else:
                out("bad-action " + esc(action))
                return 1
            if reader.closed.is_set():
                break
    except (BrokenPipeError, ConnectionResetError) as e:
        out("send-failed %s" % type(e).__name__)
    if not reader.closed.wait(max(0.0, deadline - time.monotonic())):
        out("no-eof")
    try:
        sock.close()
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
