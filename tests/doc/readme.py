#!/usr/bin/env python3
"""README's walkthrough, run as a new user types it (make doc-test; make test).

Starts a fresh instance the way the README says to follow along: the `make
run` line of the ```sh block after `<!-- doc-test: start -->`, its settings
(CLIENT_TIMEOUT_MS=... and so on) applied to scripts/run.sh, with a private
redis-server and MongoDB-compatible server in a temp dir (RUN_DIR) and a free
port. Then runs, in README order, every command of every ```sh block that
talks to localhost:8080 (a block right after `<!-- doc-test: skip REASON -->`
is left out), in one bash session, so that a variable one command sets is
there for the next, and checks each against what the README shows for it.

What a command is documented to answer is its trailing comment, and the
comment lines right after it that start with `# ->` (and their `#    `
continuation lines):
- a status first (`# 201 ...`, `# -> 204: ...`) is the status it must get;
  with none, any 2xx;
- `+ Location` and `ETag` there are headers it must carry;
- the first `{...}` is the body's shape: each quoted key must be in the JSON
  answer, a key followed by `:{...}` or `:[{...}]` is checked inside, and
  one followed by a number must have that value (to the digits shown);
  `items [{...}]` is the shape of each element of `items`.
A read (no -X, no -d) whose answer differs is asked again for up to 8 s, as a
person would look again (the road segments are computed in the background).
A `curl -N` stream is cut after 2 s, as a person presses Ctrl-C. A block
that starts an instance of its own (`make run`, `build/rtstate`) must be
skipped: the test fails it rather than run it.

DOC_PACE=N waits N seconds before each command, as a person typing does
(`DOC_PACE=6 make doc-test`: longer than the default client timeout and
cleanup interval together).

The status comes from the headers each curl wrote: the session's `curl` is a
wrapper that adds `-D <file>` and calls the real one.

Prints a line per command and "N passed, N failed" (scripts/test.sh counts).
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
README = os.path.join(ROOT, "README.md")
HOST = "localhost:8080"

passed = failed = 0


def verdict(ok, what, why=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok    " + what)
    else:
        failed += 1
        print("FAIL  " + what + ("\n      " + why.replace("\n", "\n      ") if why else ""))
    sys.stdout.flush()


# ---- reading the README ----------------------------------------------------


def blocks(lines):
    """Yields (marker, first line number, lines) for every ```sh block;
    marker is the `<!-- doc-test: ... -->` text right before it, or ''."""
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```sh":
            j = i - 1
            while j >= 0 and not lines[j].strip():
                j -= 1
            m = re.match(r"\s*<!--\s*doc-test:\s*(.*?)\s*-->", lines[j]) if j >= 0 else None
            k = i + 1
            while k < len(lines) and not lines[k].startswith("```"):
                k += 1
            yield (m.group(1) if m else ""), i + 2, lines[i + 1 : k]
            i = k
        i += 1


def split_line(line, state):
    """Scans one line of shell; state is the open quote ('' when none).
    Returns (code part, trailing comment or None, open quote at the end,
    whether the line ends in a backslash continuation)."""
    q = state
    i = 0
    while i < len(line):
        c = line[i]
        if q == "'":
            if c == "'":
                q = ""
        elif q == '"':
            if c == "\\":
                i += 1
            elif c == '"':
                q = ""
        elif c == "\\":
            if i == len(line) - 1:
                return line, None, q, True
            i += 1
        elif c in "'\"":
            q = c
        elif c == "#" and (i == 0 or line[i - 1] in " \t;"):
            return line[:i], line[i + 1 :].strip(), q, False
        i += 1
    return line, None, q, False


def commands(block, first):
    """The block's commands: dicts of line, text and expect (comment text)."""
    out = []
    cur = None
    q = ""
    cont = False
    for n, line in enumerate(block, first):
        if cur is not None and (q or cont):
            code, comment, q, cont = split_line(line, q)
            cur["text"] += "\n" + line
            if comment is not None:
                cur["expect"].append(comment)
            if not q and not cont:
                cur = None
            continue
        s = line.strip()
        if not s:
            continue
        if s.startswith("#"):
            if out and (s.startswith("# ->") or (out[-1]["open"] and re.match(r"#\s{2,}", s))):
                out[-1]["expect"].append(s[1:].strip())
                out[-1]["open"] = True
            elif out:
                out[-1]["open"] = False
            continue
        if out:
            out[-1]["open"] = False
        code, comment, q, cont = split_line(line, "")
        cur = {"line": n, "text": line, "expect": [], "open": comment is not None}
        if comment is not None:
            cur["expect"].append(comment)
        out.append(cur)
        if not q and not cont:
            cur = None
    return out


def read_readme():
    lines = open(README, encoding="utf-8").read().split("\n")
    start, todo = None, []
    for marker, first, block in blocks(lines):
        if marker == "start":
            start = (first, block)
        elif HOST in "\n".join(block) and not marker.startswith("skip"):
            todo.extend(commands(block, first))
    return start, todo


# ---- what a command is documented to answer --------------------------------


def skip_ws(s, i):
    while i < len(s) and s[i] in " \t\n":
        i += 1
    return i


def skip_scalar(s, i):
    """Past a value that is not an object or a list: up to , } ] at depth 0."""
    while i < len(s) and s[i] not in ",}]":
        if s[i] == '"':
            i = s.index('"', i + 1) if '"' in s[i + 1 :] else len(s)
        i += 1
    return i


def parse_list(s, i):
    """s[i] == '['; a list of objects gives ('list', shape), else None."""
    i = skip_ws(s, i + 1)
    shape = None
    if i < len(s) and s[i] == "{":
        shape, i = parse_obj(s, i)
        shape = ("list", shape)
    depth = 1
    while i < len(s) and depth:
        depth += {"[": 1, "]": -1}.get(s[i], 0)
        i += 1
    return shape, i


def parse_obj(s, i):
    """s[i] == '{'; returns ({key: sub-shape or None}, index past '}')."""
    keys = {}
    i += 1
    while i < len(s):
        i = skip_ws(s, i)
        if i >= len(s):
            break
        c = s[i]
        if c == "}":
            return keys, i + 1
        if c == ",":
            i += 1
        elif c == '"':
            end = s.index('"', i + 1)
            key = s[i + 1 : end]
            i = skip_ws(s, end + 1)
            keys[key] = None
            if i < len(s) and s[i] == ":":
                i = skip_ws(s, i + 1)
                if i < len(s) and s[i] == "{":
                    keys[key], i = parse_obj(s, i)
                elif i < len(s) and s[i] == "[":
                    keys[key], i = parse_list(s, i)
                else:
                    j = skip_scalar(s, i)
                    num = s[i:j].strip()
                    if re.fullmatch(r"-?\d+(\.\d+)?", num):  # shown to its digits
                        keys[key] = ("eq", float(num), len(num.partition(".")[2]))
                    i = j
        else:
            i = skip_scalar(s, i)
            if i < len(s) and s[i] == "]":
                i += 1
    return keys, i


def expectation(texts):
    """texts: the trailing comment, then the `# ->` lines; those, when there
    are any, are the expectation (the trailing comment is prose then)."""
    arrows = [i for i, t in enumerate(texts) if t.startswith("->")]
    text = " ".join(texts[arrows[0] :] if arrows else texts)
    text = re.sub(r"^->\s*", "", text)
    e = {"status": None, "headers": [], "shape": None, "items": None}
    m = re.match(r"(\d{3})\b", text)
    if m:
        e["status"] = int(m.group(1))
    if re.search(r"\+ Location\b", text):
        e["headers"].append("location")
    if re.search(r"\bETag\b", text):
        e["headers"].append("etag")
    m = re.search(r"\bitems \[\{", text)
    if m:
        e["items"], _ = parse_obj(text, m.end() - 1)
    elif "{" in text:
        e["shape"], _ = parse_obj(text, text.index("{"))
    return e


def shape_errors(shape, value, where):
    if not isinstance(value, dict):
        return ["%s is not a JSON object" % where]
    errs = []
    for key, sub in shape.items():
        if key not in value:
            errs.append("%s has no %r" % (where, key))
        elif isinstance(sub, dict) and sub and isinstance(value[key], dict):
            errs += shape_errors(sub, value[key], where + "." + key)
        elif isinstance(sub, tuple) and sub[0] == "eq":
            v = value[key]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or round(v, sub[2]) != sub[1]:
                errs.append("%s.%s is %r, the README shows %g" % (where, key, v, sub[1]))
        elif isinstance(sub, tuple) and isinstance(value[key], list):
            for n, item in enumerate(value[key]):
                errs += shape_errors(sub[1], item, "%s.%s[%d]" % (where, key, n))
    return errs


# ---- the instance and the session ------------------------------------------


def free_port():
    return int(
        subprocess.check_output(
            ["bash", "-c", '. "$1/scripts/ports.sh" && free_port', "-", ROOT], text=True
        )
    )


def start_service(tmp, settings):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "MONGODB_URI", "BIND")}
    env.update(settings)
    env.update({"PORT": str(port), "RUN_DIR": os.path.join(tmp, "var")})
    binary = os.path.abspath(os.path.join(ROOT, os.environ.get("RTSTATE_BIN", "build/rtstate")))
    log = open(os.path.join(tmp, "service.log"), "wb")
    proc = subprocess.Popen(
        [os.path.join(ROOT, "scripts/run.sh"), binary],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = "http://127.0.0.1:%d" % port
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=2) as r:
                if r.status == 200:
                    return proc, port
        except Exception:
            pass
        time.sleep(0.2)
    return proc, None


WRAPPER = """#!/bin/sh
# the doc test's curl: the real one, writing each answer's headers to a file
n=$(( $(cat "$DOCTEST_DIR/seq") + 1 ))
echo "$n" > "$DOCTEST_DIR/seq"
exec "$DOCTEST_CURL" -D "$DOCTEST_DIR/hdr.$n" --max-time "${DOCTEST_MAX_TIME:-30}" "$@"
"""


class Session:
    """One bash, fed the README's commands one after the other."""

    def __init__(self, tmp, port):
        self.dir = os.path.join(tmp, "doc")
        work = os.path.join(tmp, "work")  # where the reader stands: the repository's files, and room
        bindir = os.path.join(tmp, "bin")
        for d in (self.dir, work, bindir):
            os.makedirs(d)
        for name in ("examples",):
            os.symlink(os.path.join(ROOT, name), os.path.join(work, name))
        with open(os.path.join(bindir, "curl"), "w") as f:
            f.write(WRAPPER)
        os.chmod(os.path.join(bindir, "curl"), 0o755)
        with open(os.path.join(self.dir, "seq"), "w") as f:
            f.write("0\n")
        env = dict(os.environ)
        env["DOCTEST_CURL"] = shutil.which("curl")
        env["DOCTEST_DIR"] = self.dir
        env["PATH"] = bindir + os.pathsep + env["PATH"]
        self.port = port
        self.n = 0
        self.bash = subprocess.Popen(
            ["bash", "--norc", "--noprofile"], cwd=work, env=env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        )

    def seq(self):
        return int(open(os.path.join(self.dir, "seq")).read())

    def run(self, text):
        """Runs one command; returns (the last answer's headers, the output)."""
        self.n += 1
        n = self.n
        text = text.replace(HOST, "127.0.0.1:%d" % self.port)
        stream = re.search(r"\bcurl\s+(-\S+\s+)*-N\b", text) is not None
        before = self.seq()
        out = os.path.join(self.dir, "out.%d" % n)
        self.bash.stdin.write(
            ("export DOCTEST_MAX_TIME=2\n" if stream else "")
            + "{ %s\n} > '%s' 2> '%s.err'\n" % (text, out, out)
            + ("unset DOCTEST_MAX_TIME\n" if stream else "")
            + "echo __doc_done__\n"
        )
        self.bash.stdin.flush()
        while self.bash.stdout.readline().strip() != "__doc_done__":
            pass
        after = self.seq()
        hdr = b""
        if after > before:
            with open(os.path.join(self.dir, "hdr.%d" % after), "rb") as f:
                hdr = f.read()
        with open(out, "rb") as f:
            body = f.read()
        with open(out + ".err", "rb") as f:
            err = f.read()
        if hdr and body.startswith(hdr[:5]) and body.startswith(b"HTTP/"):
            body = body[len(hdr) :]  # curl -i: the same headers come first
        return hdr, body, err, after > before

    def close(self):
        self.bash.stdin.close()
        self.bash.wait(timeout=10)


def status_and_headers(hdr):
    text = hdr.decode("latin-1")
    status, headers = None, {}
    for line in text.split("\r\n"):
        m = re.match(r"HTTP/\S+ (\d{3})", line)
        if m:
            status, headers = int(m.group(1)), {}
        elif ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    return status, headers


def check(cmd, answer):
    """What differs from what the README shows, as a list of reasons."""
    hdr, body, err, asked = answer
    if "curl" in cmd["text"] and not asked:
        return ["curl did not run"]
    e = expectation(cmd["expect"])
    if not asked:
        return []
    status, headers = status_and_headers(hdr)
    why = []
    if status is None:
        return ["no answer: " + err.decode("utf-8", "replace").strip()]
    if e["status"] is not None and status != e["status"]:
        why.append("status %d, the README shows %d" % (status, e["status"]))
    if e["status"] is None and not 200 <= status < 300:
        why.append("status %d, the README shows a success" % status)
    for h in e["headers"]:
        if h not in headers:
            why.append("no %s header" % h)
    if e["shape"] is not None or e["items"] is not None:
        try:
            value = json.loads(body)
        except ValueError:
            return why + ["the answer is not JSON: %r" % body[:200]]
        if e["shape"] is not None:
            why += shape_errors(e["shape"], value, "the answer")
        if e["items"] is not None:
            items = value.get("items") if isinstance(value, dict) else None
            if not isinstance(items, list):
                why.append("the answer has no items list")
            else:
                for n, item in enumerate(items):
                    why += shape_errors(e["items"], item, "items[%d]" % n)
    return why


def is_read(text):
    return not re.search(r"\s(-X|-d|--data\S*|-T)\s", text + " ")


def main():
    start, todo = read_readme()
    if start is None:
        verdict(False, "README has a <!-- doc-test: start --> block with the make run line")
        return finish()
    first, block = start
    run_line = next((l for l in block if re.search(r"\bmake run\b", l)), "")
    settings = dict(re.findall(r"\b([A-Z][A-Z0-9_]*)=(\S+)", run_line.split("make run")[0]))
    settings.pop("RUN_DIR", None)  # the test keeps its own fresh one, in its temp dir
    tmp = tempfile.mkdtemp(prefix="rtstate-doc-")
    proc, port = start_service(tmp, settings)
    try:
        verdict(port is not None, "README.md:%d `%s` starts a fresh instance" % (first, run_line.strip()),
                open(os.path.join(tmp, "service.log"), errors="replace").read()[-2000:])
        if port is None:
            return finish()
        session = Session(tmp, port)
        pace = float(os.environ.get("DOC_PACE", "0"))
        for cmd in todo:
            if re.search(r"(^|[;&|]\s*)(\S+=\S+\s+)*(make|build/rtstate)\b", cmd["text"], re.M):
                verdict(False, "README.md:%d starts another instance: put <!-- doc-test: skip REASON -->"
                        " before its block" % cmd["line"])
                continue
            time.sleep(pace)
            deadline = time.time() + 8
            while True:
                why = check(cmd, session.run(cmd["text"]))
                if not why or not is_read(cmd["text"]) or time.time() > deadline:
                    break
                time.sleep(0.25)
            first_line = cmd["text"].split("\n")[0]
            first_line = split_line(first_line, "")[0].strip()
            verdict(not why, "README.md:%d %s" % (cmd["line"], first_line), "\n".join(why))
        session.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if not os.environ.get("KEEP_TMP"):
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("kept " + tmp)
    return finish()


def finish():
    print("\n%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
