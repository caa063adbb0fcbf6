"""Helpers for tests/browser/dashboard.sh, on Python's standard library only.

    python3 dashboard.py free_port
    python3 dashboard.py wait_http URL            exits 1 unless URL answers 200 within 10 s
    python3 dashboard.py page BASE                one "ok|bad <what>" line per check of / and /dashboard
    python3 dashboard.py client BASE ID FILE|- CONTENT-TYPE   registers ID with a frame (- = a PNG drawn here)
    python3 dashboard.py png_size FILE            "<width> <height>", or "0 0"
    python3 dashboard.py live_flow BASE SHOT      drives Chromium through every panel, live (see below)
    python3 dashboard.py token_flow BASE TOKEN    drives Chromium through the token form (see below)
"""
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zlib


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])


def wait_http(url):
    for _ in range(200):
        try:
            if urllib.request.urlopen(url, timeout=1).status == 200:
                return
        except Exception:
            time.sleep(0.05)
    sys.exit(1)


def request(method, url, body=None, ctype=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method)
    if ctype:
        req.add_header("Content-Type", ctype)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def png_bytes(width=160, height=120, shade=0):
    """A valid RGB PNG: a gradient with a bright square, so it is visibly a frame."""
    rows = []
    for y in range(height):
        row = bytearray([0])  # filter type: none
        for x in range(width):
            inside = width // 3 <= x < 2 * width // 3 and height // 3 <= y < 2 * height // 3
            row += bytes((250, 250, 250) if inside else ((40 + x + shade) % 256, 60 + y, 200 - x // 2))
        rows.append(bytes(row))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
            chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b""))


def page(base):
    """What GET /, GET /dashboard and HEAD / answer."""
    s1, h1, b1 = request("GET", base + "/")
    s2, h2, b2 = request("GET", base + "/dashboard")
    s3, _, b3 = request("HEAD", base + "/")
    csp = h1.get("Content-Security-Policy", "")
    head = b1.split(b"<script>")[0]
    checks = {
        "GET / is 200 text/html; charset=utf-8":
            s1 == 200 and h1.get("Content-Type") == "text/html; charset=utf-8",
        "GET / is the dashboard page":
            b1.lower().startswith(b"<!doctype html>") and b"<title>rtstate dashboard</title>" in b1,
        "GET / has a strict Content-Security-Policy": all(d in csp for d in (
            "default-src 'self'", "img-src 'self' blob: data:", "style-src 'self' 'unsafe-inline'",
            "script-src 'self' 'unsafe-inline'", "connect-src 'self'")),
        "GET / has nosniff and no-store":
            h1.get("X-Content-Type-Options") == "nosniff" and h1.get("Cache-Control") == "no-store",
        "GET /dashboard is the same page with the same headers":
            s2 == 200 and b2 == b1 and h2.get("Content-Security-Policy") == csp
            and h2.get("Content-Type") == h1.get("Content-Type"),
        "HEAD / is 200 with no body": s3 == 200 and b3 == b"",
        # no URL with a scheme, no stylesheet, import or frame, no CSS url(): all inline
        "the page loads nothing from elsewhere": not any(x in b1.lower() for x in (
            b"http://", b"https://", b'rel="stylesheet', b"@import", b"<iframe"))
            and b"url(" not in head,
    }
    for what, good in checks.items():
        print(("ok " if good else "bad ") + what)


def client(base, cid, frame, ctype):
    data = png_bytes() if frame == "-" else open(frame, "rb").read()
    s, _, b = request("POST", base + "/clients", json.dumps({"id": cid}).encode(), "application/json")
    if s not in (200, 201):
        sys.exit("register %s: %d %r" % (cid, s, b))
    s, _, b = request("PUT", base + "/clients/%s/image" % cid, data, ctype)
    if s != 200:
        sys.exit("frame of %s: %d %r" % (cid, s, b))


def png_size(path):
    try:
        with open(path, "rb") as f:
            head = f.read(24)
    except OSError:
        head = b""
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        print(0, 0)
        return
    print(*struct.unpack(">II", head[16:24]))


class Chrome:
    """Headless Chromium driven over the DevTools protocol on a pipe
    (--remote-debugging-pipe: commands on fd 3, replies on fd 4, each a JSON
    text ended by a NUL), so no port is opened and no library is needed."""

    def __init__(self, args):
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()

        def fds():  # in the child: the two pipe ends become fds 3 and 4, kept across exec
            a, b = os.dup(to_chrome_r), os.dup(from_chrome_w)  # out of the way of 3 and 4
            os.dup2(a, 3)
            os.dup2(b, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)

        # every other descriptor is close-on-exec (Python's default), so none leaks
        self.proc = subprocess.Popen(args + ["--remote-debugging-pipe", "about:blank"],
                                     preexec_fn=fds, close_fds=False,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buf = b""
        self.next_id = 0
        self.events = []  # what arrived while waiting for replies (console, exceptions)
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]

    def send(self, method, session=None, **params):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self.to_chrome, json.dumps(msg).encode() + b"\0")
        while True:  # events are skipped: only the reply matters here
            while b"\0" not in self.buf:
                data = os.read(self.from_chrome, 65536)
                if not data:
                    raise RuntimeError("chromium went away")
                self.buf += data
            raw, self.buf = self.buf.split(b"\0", 1)
            reply = json.loads(raw)
            if "method" in reply:
                self.events.append(reply)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError("%s: %s" % (method, reply["error"]))
                return reply.get("result", {})

    def eval(self, expr):
        r = self.send("Runtime.evaluate", self.session, expression=expr, returnByValue=True)
        return r.get("result", {}).get("value")

    def complaints(self):
        """Console lines, uncaught exceptions and log entries (a CSP violation is one)."""
        out = []
        for e in self.events:
            p = e.get("params", {})
            if e["method"] == "Runtime.exceptionThrown":
                out.append(p["exceptionDetails"].get("text", "exception"))
            elif e["method"] == "Runtime.consoleAPICalled":
                out.append("console.%s" % p.get("type"))
            elif e["method"] == "Log.entryAdded":
                out.append(p["entry"].get("text", ""))
        return out

    def wait_for(self, expr, seconds=10):
        end = time.time() + seconds
        while time.time() < end:
            if self.eval(expr):
                return True
            time.sleep(0.1)
        return False

    def close(self):
        try:
            self.send("Browser.close")
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def frame_is(cid, etag):
    """JS: the tile of cid shows the frame whose ETag is etag, decoded."""
    return ("(() => { const i = document.querySelector('[data-client-id=%s] img');"
            " return !!i && i.dataset.loaded === '1' && i.dataset.etag === %s; })()"
            % (json.dumps(cid), json.dumps(etag)))


def new_chrome():
    profile = tempfile.mkdtemp(prefix="profile-", dir=os.environ.get("TMPDIR"))
    return Chrome(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                   "--no-first-run", "--disable-background-networking",
                   "--disable-component-update", "--disable-sync", "--disable-default-apps",
                   "--mute-audio", "--disable-dev-shm-usage", "--user-data-dir=" + profile,
                   "--window-size=1280,900"])


# chart -> what its value must read once the state below is in place (None: any figure)
CHARTS = {"requests": None, "errors": None, "p99": None, "clients": "2", "users": "1",
          "sessions": "1", "rooms": "1", "queues": None, "memory": None, "ops": None}


def live_flow(base, shot):
    """The open service, with cam-png and cam-jpeg registered with frames: a
    user online, a session and a room. Every panel shows data, with its time
    axis labelled; frames and clients arrive through the event stream; the
    charts' history survives a reload; a screenshot is written to shot."""
    def report(what, good):
        print(("ok " if good else "bad ") + what)

    def rest(method, path, body=None, ctype="application/json"):
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        return request(method, base + path, data, ctype if data is not None else None)

    rest("PUT", "/online-users/alice", {"status": "away"})
    rest("POST", "/sessions", {"user_id": "alice", "socket_id": "sock-dash",
                               "location": {"latitude": 57.6, "longitude": 10.4}})
    rest("PUT", "/rooms/lobby/participants/alice")
    chrome = new_chrome()
    js = chrome.eval
    try:
        chrome.send("Runtime.enable", chrome.session)
        chrome.send("Log.enable", chrome.session)
        chrome.send("Page.navigate", chrome.session, url=base + "/")
        js_loaded = "document.querySelectorAll('img[data-loaded=\"1\"]').length"
        report("the page finished its first refresh, the stream is open, both frames decoded",
               chrome.wait_for("document.body && document.body.dataset.ready === '1'"
                               " && document.body.dataset.stream === 'open'")
               and chrome.wait_for(js_loaded + " === 2"))
        js("performance.setResourceTimingBufferSize(100000)")
        for name, want in CHARTS.items():
            panel = ("(() => { const c = document.getElementById('c-%s'), v = document.getElementById('v-%s');"
                     " return Number(c.dataset.points) > 0 && /\\d\\d:\\d\\d:\\d\\d/.test(c.dataset.axis)"
                     " && v.textContent !== '\u2013' && (%s === null || v.textContent === %s); })()"
                     % (name, name, json.dumps(want), json.dumps(want)))
            report("the %s chart shows data%s with its time axis labelled"
                   % (name, " (%s)" % want if want else ""), chrome.wait_for(panel, 15))
        report("the online users panel lists alice (away)", chrome.wait_for(
            "(document.querySelector('[data-user-id=alice]') || {}).textContent === 'aliceaway'"))
        report("the frames panel counts 2 connected",
               js("document.getElementById('clients-count').textContent") == "(2 connected)")

        # after load, everything new comes through the stream
        image_gets = "performance.getEntriesByType('resource').filter((e) => /clients\\/cam-png\\/image/.test(e.name)).length"
        before = js(image_gets)
        time.sleep(2.5)  # a poll or more: no frame is read without an event
        idle = js(image_gets)
        s, h, _ = rest("PUT", "/clients/cam-png/image", png_bytes(shade=90), "image/png")
        report("a frame PUT after load arrives through its event (the tile shows its ETag)",
               s == 200 and chrome.wait_for(frame_is("cam-png", h.get("ETag"))))
        report("no frame is fetched without an event, one per event (%s, %s, %s)"
               % (before, idle, js(image_gets)), before == idle and js(image_gets) == idle + 1)
        rest("POST", "/clients", {"id": "cam-new"})
        report("a client registered after load gets a tile",
               chrome.wait_for("!!document.querySelector('[data-client-id=cam-new]')"))
        s, h, _ = rest("PUT", "/clients/cam-new/image", png_bytes(120, 90, 160), "image/png")
        report("and its first frame shows", s == 200 and chrome.wait_for(frame_is("cam-new", h.get("ETag"))))
        rest("PUT", "/online-users/bob")
        report("a user who comes online after load is listed",
               chrome.wait_for("!!document.querySelector('[data-user-id=bob]')"))
        chrome.wait_for("document.getElementById('v-clients').textContent === '3'", 5)

        # the screenshot: the whole page, at 1280 wide
        height = js("Math.ceil(document.documentElement.scrollHeight)")
        chrome.send("Emulation.setDeviceMetricsOverride", chrome.session, width=1280,
                    height=max(900, height), deviceScaleFactor=1, mobile=False)
        time.sleep(0.5)
        png = chrome.send("Page.captureScreenshot", chrome.session, format="png")["data"]
        with open(shot, "wb") as f:
            f.write(__import__("base64").b64decode(png))

        rest("DELETE", "/clients/cam-jpeg")
        report("a client removed after load loses its tile",
               chrome.wait_for("!document.querySelector('[data-client-id=cam-jpeg]')"))
        rest("DELETE", "/online-users/bob")
        report("a user who goes offline leaves the list",
               chrome.wait_for("!document.querySelector('[data-user-id=bob]')"))

        chrome.wait_for("Number(document.getElementById('c-requests').dataset.points) >= 3", 10)
        kept = js("Number(document.getElementById('c-requests').dataset.points)")
        chrome.send("Page.reload", chrome.session)
        time.sleep(0.1)
        chrome.wait_for("document.body && document.body.dataset.restored !== undefined")
        now = js("Number(document.getElementById('c-requests').dataset.points)")
        report("the charts' history survives a reload (%s request-rate points before, %s at once after)"
               % (kept, now), kept >= 3 and now >= kept
               and js("Number(document.body.dataset.restored)") > 0)
        bad = chrome.complaints()
        report("the browser console stays empty (no CSP violation, script error or warning)%s"
               % (": " + "; ".join(bad[:3]) if bad else ""), not bad)
    except Exception as e:  # a broken browser run is one failure, not a traceback
        report("the live flow ran (%s)" % e, False)
    finally:
        chrome.close()


def token_flow(base, token):
    """Against a service with READ_TOKEN=token: the page asks for a token,
    refuses a wrong one, shows both frames once the right one is entered, and
    keeps it in the tab's session across a reload."""
    chrome = new_chrome()
    loaded = "document.querySelectorAll('img[data-loaded=\"1\"]').length"
    form_shown = "!document.getElementById('token-form').hidden"
    ready = "document.body && document.body.dataset.ready === '1'"

    def enter(value):
        chrome.eval("document.getElementById('token-input').value = %s;"
                    "document.getElementById('token-form').requestSubmit()" % json.dumps(value))

    def report(what, good):
        print(("ok " if good else "bad ") + what)

    try:
        chrome.send("Page.navigate", chrome.session, url=base + "/")
        report("with READ_TOKEN set, the page asks for a token",
               chrome.wait_for(ready) and chrome.wait_for(form_shown)
               and chrome.eval("document.querySelectorAll('[data-client-id]').length") == 0)
        enter("not-the-token")
        report("a wrong token is refused and the form says so",
               chrome.wait_for(form_shown + " && /refused/.test("
                               "document.getElementById('token-why').textContent)")
               and chrome.eval(loaded) == 0)
        enter(token)
        # both at once, and on a busy machine (make test runs beside other work) in 20 s
        report("with the right token both frames load and the form closes",
               chrome.wait_for("(%s) === 2 && !(%s)" % (loaded, form_shown), 20))
        report("the token is kept in sessionStorage only",
               chrome.eval("sessionStorage.getItem('rtstate.token')") == token
               and token not in chrome.eval("JSON.stringify(Object.assign({}, localStorage))"))
        chrome.send("Page.reload", chrome.session)
        time.sleep(0.2)
        report("after a reload the kept token is sent without asking",
               chrome.wait_for(ready)
               and chrome.wait_for("(%s) === 2 && !(%s)" % (loaded, form_shown), 20))
        s, h, _ = request("PUT", base + "/clients/cam-png/image", png_bytes(96, 72), "image/png",
                          {"Authorization": "Bearer " + token})
        report("with a token the stream (fetch, Authorization header) brings a new frame",
               s == 200 and chrome.wait_for("document.body.dataset.stream === 'open'")
               and chrome.wait_for(frame_is("cam-png", h.get("ETag"))))
    except Exception as e:  # a broken browser run is one failure, not a traceback
        report("the token flow ran (%s)" % e, False)
    finally:
        chrome.close()


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"free_port": free_port, "wait_http": wait_http, "page": page, "client": client,
     "png_size": png_size, "live_flow": live_flow, "token_flow": token_flow}[cmd](*args)
