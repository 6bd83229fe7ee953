#!/usr/bin/env python3
"""Drives examples/chat_server.tcl with real browsers: headless Chromium
opens the chat page in two tabs, beside a Python websockets client.  The
tabs are driven over the DevTools protocol (itself a WebSocket, spoken with
Python's websockets): the test types into the page's form and reads the
page's log, so the page is exactly what a user gets.

Steps: the Python client joins (user1), tab 1 opens the page (user2), tab 2
(user3); tab 1 sends a message through its form; the Python client sends
one; tab 2 is closed.  Prints what each member saw, then stops Chromium (its
own pid, then the processes still naming its profile folder, by pid).

Usage: chatbrowsers.py CHROMIUM PORT PROFILE-DIR
"""
import asyncio
import json
import os
import signal
import subprocess
import sys
import time

import websockets

TIMEOUT = 20  # seconds for each wait


class CDP:
    """One DevTools connection to the browser, sessions flattened."""

    def __init__(self, ws):
        self.ws, self.next_id = ws, 0

    async def call(self, method, params=None, session=None):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        await self.ws.send(json.dumps(msg))
        while True:
            reply = json.loads(await asyncio.wait_for(self.ws.recv(), TIMEOUT))
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    async def open_tab(self, url):
        target = (await self.call("Target.createTarget", {"url": url}))["targetId"]
        session = (await self.call("Target.attachToTarget",
                                   {"targetId": target, "flatten": True}))["sessionId"]
        return target, session

    async def eval(self, session, expr):
        r = await self.call("Runtime.evaluate", {"expression": expr, "returnByValue": True}, session)
        return r["result"].get("value")


async def log_of(cdp, session):
    text = await cdp.eval(session, "(document.getElementById('log') || {innerText: ''}).innerText")
    return [l for l in (text or "").split("\n") if l]


async def wait_tab(cdp, session, want):
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if want in await log_of(cdp, session):
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"tab never showed {want!r}: {await log_of(cdp, session)}")


async def wait_py(ws, got, want):
    while want not in got:
        got.append(await asyncio.wait_for(ws.recv(), TIMEOUT))


async def drive(port, browser_url):
    page = f"http://127.0.0.1:{port}/"
    async with websockets.connect(browser_url, max_size=None) as bws:
        cdp = CDP(bws)
        py_got = []
        py = await websockets.connect(f"ws://127.0.0.1:{port}/chat")
        await wait_py(py, py_got, "* user1 joined (1 here)")
        t1, s1 = await cdp.open_tab(page)
        await wait_py(py, py_got, "* user2 joined (2 here)")
        t2, s2 = await cdp.open_tab(page)
        await wait_py(py, py_got, "* user3 joined (3 here)")
        await wait_tab(cdp, s1, "* user3 joined (3 here)")
        await wait_tab(cdp, s2, "* user3 joined (3 here)")
        # Tab 1 types a message into the page's form.
        await cdp.eval(s1, "document.getElementById('text').value = 'hello from a browser, \\u00e9';"
                           "document.getElementById('f').requestSubmit(); true")
        want = "user2: hello from a browser, \u00e9"
        await wait_py(py, py_got, want)
        await wait_tab(cdp, s1, want)
        await wait_tab(cdp, s2, want)
        await py.send("hello, browsers")
        await wait_tab(cdp, s1, "user1: hello, browsers")
        await wait_tab(cdp, s2, "user1: hello, browsers")
        tab2 = await log_of(cdp, s2)
        await cdp.call("Target.closeTarget", {"targetId": t2})
        await wait_py(py, py_got, "* user3 left (2 here)")
        await wait_tab(cdp, s1, "* user3 left (2 here)")
        tab1 = await log_of(cdp, s1)
        await py.close()
        for name, lines in (("python", py_got), ("tab1", tab1), ("tab2", tab2)):
            for l in lines:
                print(f"{name} saw {l}")
        await cdp.call("Browser.close")


def pids_of(chromium, profile):
    """Chromium processes (argv[0] is chromium) naming the profile folder."""
    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if argv[0] == chromium.encode() and any(profile.encode() in a for a in argv[1:]):
                pids.append(int(d))
    return pids


def main():
    chromium, port, profile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    os.makedirs(os.path.join(profile, "tmp"), exist_ok=True)
    # Chromium's temporary folders go under the profile (the test removes it).
    env = dict(os.environ, TMPDIR=os.path.join(profile, "tmp"))
    proc = subprocess.Popen([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                             "--no-first-run", "--disable-background-networking",
                             "--disable-component-update", "--disable-sync",
                             "--remote-debugging-port=0", f"--user-data-dir={profile}", "about:blank"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=env)
    rc = 1
    try:
        portfile = os.path.join(profile, "DevToolsActivePort")
        deadline = time.monotonic() + TIMEOUT
        while not (os.path.exists(portfile) and len(open(portfile).read().split("\n")) >= 2):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("chromium did not open its DevTools port")
            time.sleep(0.1)
        dport, dpath = open(portfile).read().split("\n")[:2]
        asyncio.run(drive(port, f"ws://127.0.0.1:{dport}{dpath}"))
        rc = 0
    except Exception as e:  # the test compares the output: say what went wrong
        print(f"failed: {e}")
    finally:
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        # Helpers (zygote, renderers) end with the browser; stop any that do not.
        deadline = time.monotonic() + 3
        while pids_of(chromium, profile) and time.monotonic() < deadline:
            time.sleep(0.1)
        for pid in pids_of(chromium, profile):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    sys.exit(rc)


main()
