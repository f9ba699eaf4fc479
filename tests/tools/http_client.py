#!/usr/bin/env python3
"""http_client.py: the HTTP API's test clients (tests/integration/http_*.sh).

  http_client.py sse URL [--token T] [--cacert F] [--last-event-id N]
                 [--until-state S] [--until-seq N] [--until-event E]
                 [--timeout SEC] [--ready FILE]
      Read a Server-Sent Events stream; print one line per message as JSON
      ({"event", "id", "data"}; a ping as {"event": "ping"}) until a
      `rollout` message has state S, a `log` message a seq >= N or a
      message is of event E ("ping" for a comment line) (exit 0), or the
      timeout (exit 1; 0 when none was asked for).
      --ready FILE is created once the response headers arrived.
  http_client.py load URL N [--token T] [--cacert F] [--seconds SEC]
                 [--ready FILE] [--until-state S]
      Hold N streams open at once, reading them all with one thread
      (selectors), for SEC seconds or until each saw a `rollout` message
      of state S; print how many connected and finished, and how many
      bytes and messages they received.
  http_client.py slowloris HOST PORT [--seconds SEC] [--tls --cacert F]
      Send a request's headers one byte a second; print what came back.
  http_client.py oversized HOST PORT (url|header) [--tls --cacert F]
      Send a request with a 1 MB URL or header; print the status line (or
      "closed" when the server hung up first).
"""
import argparse
import json
import selectors
import socket
import ssl
import sys
import time
import urllib.parse


def connect(host, port, tls, cacert, timeout=10):
    s = socket.create_connection((host, port), timeout=timeout)
    if tls:
        ctx = ssl.create_default_context(cafile=cacert)
        s = ctx.wrap_socket(s, server_hostname=host)
    return s


def split_url(url):
    u = urllib.parse.urlsplit(url)
    port = u.port or (443 if u.scheme == "https" else 80)
    return u.hostname, port, u.scheme == "https", u.path or "/"


def request_bytes(host, port, path, token=None, last=None):
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}",
             "Accept: text/event-stream"]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    if last is not None:
        lines.append(f"Last-Event-ID: {last}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class Stream:
    """An HTTP/1.1 response read incrementally: headers, then a chunked
    body split into SSE messages."""

    def __init__(self, parse=True):
        self.parse = parse
        self.buf = b""
        self.status = None
        self.headers_done = False
        self.chunked = False
        self.body = b""
        self.chunk_left = None
        self.messages = []
        self.checked = 0  # messages the load client looked at

    def feed(self, data):
        self.buf += data
        if not self.headers_done:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end].decode("latin-1").split("\r\n")
            self.status = int(head[0].split()[1])
            for h in head[1:]:
                k, _, v = h.partition(":")
                if k.strip().lower() == "transfer-encoding" and "chunked" in v:
                    self.chunked = True
            self.headers_done = True
            self.buf = self.buf[end + 4:]
        if self.chunked:
            while True:
                if self.chunk_left is None:
                    nl = self.buf.find(b"\r\n")
                    if nl < 0:
                        break
                    self.chunk_left = int(self.buf[:nl].split(b";")[0], 16)
                    self.buf = self.buf[nl + 2:]
                if len(self.buf) < self.chunk_left + 2:
                    break
                self.body += self.buf[:self.chunk_left]
                self.buf = self.buf[self.chunk_left + 2:]
                self.chunk_left = None
        else:
            self.body += self.buf
            self.buf = b""
        while b"\n\n" in self.body:
            raw, _, self.body = self.body.partition(b"\n\n")
            self.messages.append(parse_message(raw.decode(), self.parse))


def parse_message(raw, parse=True):
    msg = {"event": "message", "id": None, "data": ""}
    for line in raw.split("\n"):
        if line.startswith(":"):
            msg["event"] = "ping"
            continue
        k, _, v = line.partition(":")
        v = v[1:] if v.startswith(" ") else v
        if k in ("event", "id"):
            msg[k] = v
        elif k == "data":
            msg["data"] += v
    if msg["data"] and parse:
        msg["data"] = json.loads(msg["data"])
    return msg


def rollout_state(msg):
    """The state of a `rollout` message; unparsed data (the load client's:
    parsing every message of 1,000 streams would take the CPU the test
    measures) is searched for the top-level key, the first "state"."""
    if msg["event"] != "rollout":
        return None
    d = msg["data"]
    if isinstance(d, dict):
        return d.get("state")
    i = d.find('"state":"')
    return d[i + 9:d.find('"', i + 9)] if i >= 0 else None


def cmd_sse(a):
    host, port, tls, path = split_url(a.url)
    s = connect(host, port, tls, a.cacert, timeout=a.timeout)
    s.sendall(request_bytes(host, port, path, a.token, a.last_event_id))
    st = Stream()
    deadline = time.time() + a.timeout
    shown = 0
    while time.time() < deadline:
        s.settimeout(max(0.1, deadline - time.time()))
        try:
            data = s.recv(65536)
        except socket.timeout:
            break
        if not data:
            break
        st.feed(data)
        if st.headers_done and a.ready:
            open(a.ready, "w").close()
            a.ready = None
        if st.status is not None and st.status != 200:
            print(json.dumps({"status": st.status}), flush=True)
            return 1
        for m in st.messages[shown:]:
            print(json.dumps(m), flush=True)
            if (a.until_state and m["event"] == "rollout"
                    and m["data"].get("state") == a.until_state):
                return 0
            if (a.until_seq is not None and m["event"] == "log"
                    and m["data"]["seq"] >= a.until_seq):
                return 0
            if a.until_event and m["event"] == a.until_event:
                return 0
        shown = len(st.messages)
    return 0 if not (a.until_state or a.until_event or a.until_seq is not None) else 1


def cmd_load(a):
    host, port, tls, path = split_url(a.url)
    sel = selectors.DefaultSelector()
    streams = {}
    failed = 0
    for _ in range(a.n):
        try:
            s = connect(host, port, tls, a.cacert)
            s.sendall(request_bytes(host, port, path, a.token))
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
            streams[s] = Stream(parse=False)
        except OSError:
            failed += 1
    deadline = time.time() + a.seconds
    got = 0
    nbytes = 0
    ready = a.ready
    finished = set()
    while time.time() < deadline and len(finished) < len(streams):
        for key, _ in sel.select(timeout=0.5):
            s = key.fileobj
            try:
                data = s.recv(65536)
            except (BlockingIOError, ssl.SSLWantReadError):
                continue
            except OSError:
                data = b""
            if not data:
                sel.unregister(s)
                s.close()
                del streams[s]
                continue
            nbytes += len(data)
            st = streams[s]
            st.feed(data)
            if a.until_state and any(
                    rollout_state(m) == a.until_state
                    for m in st.messages[st.checked:]):
                finished.add(s)
            st.checked = len(st.messages)
        if ready and sum(1 for st in streams.values() if st.messages) >= a.n - failed:
            open(ready, "w").close()
            ready = None
        got = sum(len(st.messages) for st in streams.values())
    ok = sum(1 for st in streams.values() if st.status == 200)
    print(json.dumps({"connected": ok, "failed": failed, "open": len(streams),
                      "finished": len(finished), "messages": got,
                      "bytes": nbytes}), flush=True)
    return 0


def cmd_slowloris(a):
    s = connect(a.host, a.port, a.tls, a.cacert, timeout=a.seconds + 30)
    req = b"GET /api/v1/rollouts HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 1000
    start = time.time()
    sent = 0
    try:
        for b in req:
            if time.time() - start > a.seconds:
                break
            s.sendall(bytes([b]))
            sent += 1
            time.sleep(1)
    except OSError as e:
        print(f"closed after {sent} bytes: {e}")
        return 0
    print(f"sent {sent} bytes in {time.time() - start:.0f} s; still open")
    return 0


def cmd_oversized(a):
    s = connect(a.host, a.port, a.tls, a.cacert, timeout=30)
    big = "a" * (1 << 20)
    if a.what == "url":
        req = f"GET /api/v1/rollouts/{big} HTTP/1.1\r\nHost: x\r\n\r\n"
    else:
        req = f"GET /api/v1/rollouts HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\n\r\n"
    try:
        s.sendall(req.encode())
    except OSError:
        pass  # the server may hang up before all of it is sent
    try:
        s.settimeout(10)
        data = s.recv(4096)
    except OSError:
        data = b""
    line = data.split(b"\r\n", 1)[0].decode("latin-1")
    print(line if line else "closed")
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    x = sub.add_parser("sse")
    x.add_argument("url")
    x.add_argument("--token")
    x.add_argument("--cacert")
    x.add_argument("--last-event-id")
    x.add_argument("--until-state")
    x.add_argument("--until-seq", type=int)
    x.add_argument("--until-event")
    x.add_argument("--timeout", type=float, default=60)
    x.add_argument("--ready")
    x = sub.add_parser("load")
    x.add_argument("url")
    x.add_argument("n", type=int)
    x.add_argument("--token")
    x.add_argument("--cacert")
    x.add_argument("--seconds", type=float, default=60)
    x.add_argument("--ready")
    x.add_argument("--until-state")
    for name in ("slowloris", "oversized"):
        x = sub.add_parser(name)
        x.add_argument("host")
        x.add_argument("port", type=int)
        if name == "oversized":
            x.add_argument("what", choices=("url", "header"))
        x.add_argument("--seconds", type=float, default=10)
        x.add_argument("--tls", action="store_true")
        x.add_argument("--cacert")
    a = p.parse_args()
    return {"sse": cmd_sse, "load": cmd_load, "slowloris": cmd_slowloris,
            "oversized": cmd_oversized}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
