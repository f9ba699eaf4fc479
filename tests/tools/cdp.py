#!/usr/bin/python3
"""cdp.py: drive a headless Chromium over the Chrome DevTools Protocol, one
command per run, for the dashboard's browser test
(tests/integration/dashboard_browser.sh).

The browser is started by the caller (chromium --headless=new
--remote-debugging-port=PORT ...); each run of this script attaches to its
first page over the DevTools WebSocket, does one thing and detaches, so a
shell test can interleave browser checks with rollouts and restarts.

    cdp.py --port PORT ready [--timeout S]      wait for the browser's page
    cdp.py --port PORT open URL                 load URL, record JS errors
    cdp.py --port PORT wait EXPR [--timeout S] [--show EXPR]
                                                until EXPR is truthy
    cdp.py --port PORT eval EXPR                print EXPR's value
    cdp.py --port PORT shot FILE [--full]       PNG screenshot; prints FILE
    cdp.py --port PORT errors                   fail if the page threw

Run by /usr/bin/python3: Debian's python3-websocket is installed for it.
Exit status: 0 done; 1 the check failed or timed out (with what was seen),
or no browser answered; 2 bad usage.
"""

import argparse
import base64
import json
import sys
import time
import urllib.request

try:
    import websocket  # python3-websocket (websocket-client)
except ImportError:
    sys.stderr.write(
        "cdp.py: the Python module 'websocket' is missing: install the Debian "
        "package python3-websocket (tests/lib/install-deps.sh does) and run "
        "this script with /usr/bin/python3\n")
    sys.exit(2)

# Installed before any of the page's scripts on every load: uncaught
# errors and rejected promises are kept for the `errors` command.
ERROR_RECORDER = """
window.__cdpErrors = [];
window.addEventListener('error', function (e) {
  window.__cdpErrors.push(String(e.message) + ' at ' + e.filename + ':' + e.lineno);
});
window.addEventListener('unhandledrejection', function (e) {
  window.__cdpErrors.push('unhandled rejection: ' + String(e.reason));
});
"""


class CdpError(Exception):
    pass


def page_ws_url(port, timeout):
    """The WebSocket URL of the browser's first page, waiting for it."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while True:
        try:
            with urllib.request.urlopen(
                    "http://127.0.0.1:%d/json/list" % port, timeout=2) as r:
                targets = json.load(r)
            for t in targets:
                if t.get("type") == "page" and t.get("webSocketDebuggerUrl"):
                    return t["webSocketDebuggerUrl"]
            last = "no page among %d targets" % len(targets)
        except OSError as e:
            last = str(e)
        if time.monotonic() >= deadline:
            raise CdpError("no Chromium page on DevTools port %d after %gs (%s)"
                           % (port, timeout, last))
        time.sleep(0.1)


class Page:
    def __init__(self, port, timeout=10):
        url = page_ws_url(port, timeout)
        # Chromium refuses a DevTools WebSocket that sends an Origin it was
        # not told to allow; a client on loopback needs none.
        self.ws = websocket.create_connection(url, timeout=30,
                                              suppress_origin=True)
        self.next_id = 0

    def close(self):
        self.ws.close()

    def call(self, method, **params):
        self.next_id += 1
        mid = self.next_id
        self.ws.send(json.dumps({"id": mid, "method": method,
                                 "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") != mid:
                continue  # an event; this script subscribes to none
            if "error" in msg:
                raise CdpError("%s: %s" % (method, msg["error"].get("message")))
            return msg.get("result", {})

    def eval(self, expr):
        """EXPR's value (by value, awaited if a promise)."""
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True,
                      awaitPromise=True)
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            text = d.get("exception", {}).get("description") or d.get("text")
            raise CdpError("evaluate %s: %s" % (expr, text))
        return r.get("result", {}).get("value")


def show(v):
    return v if isinstance(v, str) else json.dumps(v)


def cmd_open(page, a):
    page.call("Page.enable")
    page.call("Page.addScriptToEvaluateOnNewDocument", source=ERROR_RECORDER)
    r = page.call("Page.navigate", url=a.url)
    if r.get("errorText"):
        raise CdpError("open %s: %s" % (a.url, r["errorText"]))
    deadline = time.monotonic() + a.timeout
    while page.eval("document.readyState") != "complete":
        if time.monotonic() >= deadline:
            raise CdpError("open %s: not loaded after %gs" % (a.url, a.timeout))
        time.sleep(0.05)
    return 0


def cmd_wait(page, a):
    deadline = time.monotonic() + a.timeout
    while True:
        v = page.eval(a.expr)
        if v:
            return 0
        if time.monotonic() >= deadline:
            seen = page.eval(a.show) if a.show else v
            sys.stderr.write("cdp.py: still false after %gs: %s\n  seen: %s\n"
                             % (a.timeout, a.expr, show(seen)))
            return 1
        time.sleep(0.1)


def cmd_eval(page, a):
    print(show(page.eval(a.expr)))
    return 0


def cmd_shot(page, a):
    params = {"format": "png"}
    if a.full:
        m = page.call("Page.getLayoutMetrics")
        size = m.get("cssContentSize") or m["contentSize"]
        params["captureBeyondViewport"] = True
        params["clip"] = {"x": 0, "y": 0, "width": size["width"],
                          "height": size["height"], "scale": 1}
    r = page.call("Page.captureScreenshot", **params)
    with open(a.file, "wb") as f:
        f.write(base64.b64decode(r["data"]))
    print(a.file)
    return 0


def cmd_errors(page, a):
    errs = page.eval("window.__cdpErrors || []")
    if errs:
        sys.stderr.write("cdp.py: the page threw:\n  %s\n" % "\n  ".join(errs))
        return 1
    return 0


def main():
    p = argparse.ArgumentParser(
        description="Drive a headless Chromium's first page over the "
        "DevTools protocol (one command per run).")
    p.add_argument("--port", type=int, required=True,
                   help="the browser's --remote-debugging-port")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("ready", help="wait until the browser has a page")
    s.add_argument("--timeout", type=float, default=15)
    s = sub.add_parser("open", help="load URL and wait for it")
    s.add_argument("url")
    s.add_argument("--timeout", type=float, default=15)
    s = sub.add_parser("wait", help="poll a JS expression until truthy")
    s.add_argument("expr")
    s.add_argument("--timeout", type=float, default=20)
    s.add_argument("--show", help="JS expression to print on a timeout")
    s = sub.add_parser("eval", help="print a JS expression's value")
    s.add_argument("expr")
    s = sub.add_parser("shot", help="save a PNG screenshot")
    s.add_argument("file")
    s.add_argument("--full", action="store_true",
                   help="the whole page, not only the window")
    sub.add_parser("errors", help="fail if the page threw an error")
    a = p.parse_args()

    try:
        if a.cmd == "ready":
            page_ws_url(a.port, a.timeout)
            return 0
        page = Page(a.port)
        try:
            return {"open": cmd_open, "wait": cmd_wait, "eval": cmd_eval,
                    "shot": cmd_shot, "errors": cmd_errors}[a.cmd](page, a)
        finally:
            page.close()
    except (CdpError, OSError, websocket.WebSocketException) as e:
        sys.stderr.write("cdp.py %s: %s\n" % (a.cmd, e))
        return 1


if __name__ == "__main__":
    sys.exit(main())
