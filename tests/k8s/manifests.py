"""Checks the Kubernetes manifests in deploy/kubernetes/, offline.

    python manifests.py DIR [RTSTATE_BIN]

Run by tests/k8s/validate.sh with the venv that has kubernetes-validate
(which bundles the Kubernetes JSON schemas), jsonschema and PyYAML. One test
per line, then "N passed, N failed":
  - every manifest validates, strictly (no unknown field), against the
    schemas of an older and the newest Kubernetes version bundled; the
    ServiceMonitor (a custom resource, for which kubernetes-validate has no
    schema) against servicemonitor.schema.yaml beside this file;
  - kustomization.yaml parses, lists only files that exist, and every
    manifest but the example Secret;
  - the Deployment does what running rtstate needs (probes on /livez and
    /readyz, a grace period above SHUTDOWN_DELAY_S + SHUTDOWN_GRACE_S,
    non-root, read-only root, no privilege escalation, no capabilities,
    requests and limits, spread over nodes and zones, secrets from the
    Secret, BIND on every interface), the Service reaches its port, and the
    example Secret holds placeholders only and every key the Deployment reads;
  - the objects around it agree with it: the PodDisruptionBudget, the
    HorizontalPodAutoscaler, the ServiceMonitor and the NetworkPolicy select
    its pods, name its ports, and allow what it needs and no more;
  - every variable the Deployment sets is one the service knows (from
    `rtstate --help`), and, when the binary is given, the service started the
    way the Deployment starts it, with the token volume as the kubelet mounts
    it from a Secret with or without the read token, does what README says.
"""
import math
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import jsonschema
import kubernetes_validate
import yaml

VERSIONS = ("1.28.0", kubernetes_validate.latest_version())
EXAMPLE = "secret.example.yaml"
HERE = os.path.dirname(os.path.abspath(__file__))
# custom resources: (apiVersion, kind) -> a JSON Schema beside this file
CRD_SCHEMAS = {("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitor.schema.yaml"}
TOKEN_VARS = ("API_TOKEN_FILE", "READ_TOKEN_FILE", "ADMIN_TOKEN_FILE")
DNS = {("UDP", 53), ("TCP", 53)}

passed = failed = 0


def check(what, good, detail=""):
    global passed, failed
    if good:
        passed += 1
        print("ok    " + what)
    else:
        failed += 1
        print("FAIL  " + what + (": " + detail if detail else ""))


def load(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def crd_validator(doc):
    """(schema file name, validator) for a custom resource, or None."""
    name = CRD_SCHEMAS.get((doc.get("apiVersion"), doc.get("kind")))
    if not name:
        return None
    with open(os.path.join(HERE, name)) as f:
        schema = yaml.safe_load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    return name, jsonschema.Draft202012Validator(schema)


def schemas(directory, names):
    for name in names:
        problems, against = [], set()
        try:
            docs = load(os.path.join(directory, name))
        except yaml.YAMLError as e:
            check(name + " is valid YAML", False, str(e).replace("\n", " "))
            continue
        for doc in docs:
            crd = crd_validator(doc)
            if crd:
                against.add("tests/k8s/" + crd[0])
                for e in crd[1].iter_errors(doc):
                    where = ".".join(str(p) for p in e.absolute_path)
                    problems.append("%s %s: %s" % (doc.get("kind"), where, e.message))
                continue
            against.add("the Kubernetes %s schemas" % " and ".join(VERSIONS))
            for v in VERSIONS:
                try:
                    kubernetes_validate.validate(doc, v, strict=True)
                except kubernetes_validate.ValidationError as e:
                    where = ".".join(str(p) for p in e.path)
                    problems.append("%s %s (%s): %s" % (doc.get("kind"), where, v, e.message))
                except Exception as e:  # no schema for the kind, or not a resource at all
                    problems.append("%s (%s): %s" % (doc.get("kind"), v, e))
        check("%s matches %s (%d resource%s)" % (
            name, " and ".join(sorted(against)) or "no schema", len(docs), "" if len(docs) == 1 else "s"),
            docs and not problems, "; ".join(problems))


def kustomization(directory, manifests):
    try:
        k = load(os.path.join(directory, "kustomization.yaml"))[0]
    except Exception as e:
        check("kustomization.yaml parses", False, str(e))
        return
    res = k.get("resources") or []
    check("kustomization.yaml is a Kustomization with resources",
          k.get("kind") == "Kustomization" and k.get("apiVersion", "").startswith("kustomize.config.k8s.io/")
          and isinstance(res, list) and res)
    missing = [r for r in res if not os.path.isfile(os.path.join(directory, r))]
    check("every resource kustomization.yaml lists exists", not missing, ", ".join(missing))
    unlisted = sorted(set(manifests) - set(res) - {EXAMPLE})
    check("kustomization.yaml lists every manifest but the example Secret",
          not unlisted and EXAMPLE not in res, ", ".join(unlisted) or EXAMPLE + " is listed")


def selects(selector, labels):
    """Whether a LabelSelector (matchLabels, matchExpressions) selects a pod
    with these labels. An empty selector counts as selecting nothing: for the
    objects here, selecting every pod is always a mistake."""
    selector = selector or {}
    ml, me = selector.get("matchLabels") or {}, selector.get("matchExpressions") or []
    if not ml and not me:
        return False
    if any(labels.get(k) != v for k, v in ml.items()):
        return False
    for e in me:
        k, vals = e["key"], e.get("values") or []
        ok = {"In": k in labels and labels[k] in vals, "NotIn": labels.get(k) not in vals,
              "Exists": k in labels, "DoesNotExist": k not in labels}.get(e["operator"])
        if not ok:
            return False
    return True


class Manifests:
    """The objects of the directory, and what the checks read from them."""

    def __init__(self, by_kind):
        one = lambda kind: (by_kind.get(kind) or [None])[0]  # noqa: E731
        self.deployment, self.secret = one("Deployment"), one("Secret")
        self.services = by_kind.get("Service", [])
        self.hpa, self.pdb = one("HorizontalPodAutoscaler"), one("PodDisruptionBudget")
        self.np, self.sm = one("NetworkPolicy"), one("ServiceMonitor")
        self.pod = self.deployment["spec"]["template"]["spec"]
        self.c = self.pod["containers"][0]
        self.labels = self.deployment["spec"]["template"]["metadata"].get("labels", {})
        self.ports = {p.get("name"): p["containerPort"] for p in self.c.get("ports", [])}
        self.secret_values = dict(self.secret.get("stringData") or {})
        self.files = self._secret_files()

    def env(self, name):
        for e in self.c.get("env", []):
            if e["name"] == name:
                return e.get("value")
        return None

    def _secret_files(self):
        """{path in the container: (Secret key, optional)} for every file the
        container mounts from the Secret, from secret or projected volumes."""
        name = self.secret["metadata"]["name"]
        vols = {v["name"]: v for v in self.pod.get("volumes", [])}
        files = {}
        for m in self.c.get("volumeMounts", []):
            v = vols.get(m["name"], {})
            sources = [v["secret"] | {"name": v["secret"].get("secretName")}] if "secret" in v else []
            sources += [s["secret"] for s in (v.get("projected") or {}).get("sources", []) if "secret" in s]
            for s in sources:
                if s.get("name") != name:
                    continue
                items = s.get("items") or [{"key": k, "path": k} for k in self.secret_values]
                for item in items:
                    files[m["mountPath"].rstrip("/") + "/" + item["path"]] = (item["key"], s.get("optional", False))
        return files

    def token_files(self):
        return {v: self.env(v) for v in TOKEN_VARS if self.env(v)}

    def min_replicas(self):
        if self.hpa:
            return self.hpa["spec"].get("minReplicas", 1)
        return self.deployment["spec"].get("replicas", 1)


def deployment_rules(m):
    c, pod, d = m.c, m.pod, m.deployment
    sc, psc = c.get("securityContext", {}), pod.get("securityContext", {})

    def probe(kind, path):
        p = c.get(kind) or {}
        return (p.get("httpGet") or {}).get("path") == path

    check("liveness and startup probes GET /livez, readiness GET /readyz",
          probe("livenessProbe", "/livez") and probe("startupProbe", "/livez")
          and probe("readinessProbe", "/readyz"))
    delay = int(m.env("SHUTDOWN_DELAY_S") or 0)
    grace = int(m.env("SHUTDOWN_GRACE_S") or 25)
    tgps = pod.get("terminationGracePeriodSeconds", 30)
    check("terminationGracePeriodSeconds (%s) above SHUTDOWN_DELAY_S + SHUTDOWN_GRACE_S (%d + %d)"
          % (tgps, delay, grace), tgps > delay + grace and delay > 0)
    check("runs as non-root, read-only root, no privilege escalation, capabilities dropped",
          (sc.get("runAsNonRoot") or psc.get("runAsNonRoot")) is True
          and (sc.get("runAsUser") or psc.get("runAsUser") or 0) != 0
          and sc.get("readOnlyRootFilesystem") is True
          and sc.get("allowPrivilegeEscalation") is False
          and sc.get("capabilities", {}).get("drop") == ["ALL"])
    res = c.get("resources", {})
    check("cpu and memory requests and limits are set",
          all(k in res.get(kind, {}) for kind in ("requests", "limits") for k in ("cpu", "memory")))
    check("logs are JSON", m.env("LOG_FORMAT") == "json")
    check("BIND is every interface (the binary's own default is loopback: probes would fail)",
          m.env("BIND") in ("0.0.0.0", "::"))

    good = []
    for s in m.services:
        good.append(selects({"matchLabels": s["spec"].get("selector")}, m.labels)
                     and all(p.get("targetPort") in m.ports or p.get("targetPort") in m.ports.values()
                             for p in s["spec"]["ports"]))
    check("the Service selects the pods and targets a port they open", m.services and all(good))
    check("the Deployment's selector matches its pod labels", selects(d["spec"]["selector"], m.labels))

    spread = {t.get("topologyKey"): t for t in pod.get("topologySpreadConstraints", [])}
    host, zone = spread.get("kubernetes.io/hostname"), spread.get("topology.kubernetes.io/zone")
    check("pods spread over nodes and zones (maxSkew 1), each constraint selecting the pods",
          host and zone and all(t.get("maxSkew") == 1 and selects(t.get("labelSelector"), m.labels)
                                for t in spread.values()), ", ".join(spread) or "no constraint")
    check("the zone spread never blocks scheduling (ScheduleAnyway)",
          zone and zone.get("whenUnsatisfiable") == "ScheduleAnyway")


def secret_rules(m):
    c = m.c
    name = m.secret["metadata"]["name"]
    refs = {e["valueFrom"]["secretKeyRef"]["key"]: e["name"] for e in c.get("env", [])
            if "secretKeyRef" in e.get("valueFrom", {}) and e["valueFrom"]["secretKeyRef"]["name"] == name}
    token_files = m.token_files()
    check("REDIS_URL and MONGODB_URI come from the Secret",
          set(refs.values()) >= {"REDIS_URL", "MONGODB_URI"}, str(refs))
    check("API_TOKEN_FILE is set, and every *_TOKEN_FILE names a file mounted from the Secret",
          "API_TOKEN_FILE" in token_files and all(f in m.files for f in token_files.values()),
          str(token_files))
    required = sorted(k for k, optional in m.files.values() if not optional)
    check("the token volume requires no key of the Secret (optional), so a Secret without a token mounts",
          m.files and not required, "required: " + ", ".join(required))
    keys = set(m.secret_values) | set(m.secret.get("data") or {})
    wanted = set(refs) | {k for k, _ in m.files.values()}
    check("the example Secret has every key the Deployment reads", wanted <= keys,
          ", ".join(sorted(wanted - keys)))
    values = list(m.secret_values.values())
    check("the example Secret holds placeholders only (CHANGE-ME), no data",
          values and all("CHANGE-ME" in v for v in values) and not m.secret.get("data"))


def scaled(value, n):
    """A PodDisruptionBudget's int-or-percent for n pods (percentages round up)."""
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(n * int(value[:-1]) / 100)
    return int(value)


def pdb_rules(m):
    if not m.pdb:
        check("a PodDisruptionBudget", False)
        return
    spec, n = m.pdb["spec"], m.min_replicas()
    check("the PodDisruptionBudget selects the Deployment's pods", selects(spec.get("selector"), m.labels))
    if "maxUnavailable" in spec:
        evictable = scaled(spec["maxUnavailable"], n)
    else:
        evictable = n - scaled(spec.get("minAvailable", 0), n)
    check("at the fewest replicas (%d) the PodDisruptionBudget lets a drain evict a pod (%d) and keeps one serving"
          % (n, evictable), 1 <= evictable <= n - 1)


def hpa_rules(m):
    if not m.hpa:
        check("a HorizontalPodAutoscaler", False)
        return
    spec = m.hpa["spec"]
    ref = spec.get("scaleTargetRef", {})
    check("the HPA scales the Deployment",
          ref.get("kind") == "Deployment" and ref.get("apiVersion") == "apps/v1"
          and ref.get("name") == m.deployment["metadata"]["name"], str(ref))
    cpu = [x for x in spec.get("metrics", []) if x.get("type") == "Resource"
           and x["resource"]["name"] == "cpu" and x["resource"]["target"].get("type") == "Utilization"]
    no_request = [c["name"] for c in m.pod["containers"]
                  if "cpu" not in (c.get("resources") or {}).get("requests", {})]
    check("the HPA targets CPU utilization, and every container requests CPU (utilization is of the request)",
          cpu and not no_request, ", ".join(no_request) or "no CPU utilization metric")
    lo, hi = spec.get("minReplicas", 1), spec.get("maxReplicas", 0)
    check("HPA bounds: 2 <= minReplicas (%s) <= maxReplicas (%s)" % (lo, hi), 2 <= lo <= hi)
    window = ((spec.get("behavior") or {}).get("scaleDown") or {}).get("stabilizationWindowSeconds")
    check("the HPA scales down after a stabilization window (%ss)" % window, (window or 0) > 0)
    check("the Deployment sets no replicas: the HPA owns the count",
          "replicas" not in m.deployment["spec"])


def seconds(duration):
    """A Prometheus duration (1m30s, 500ms) in seconds."""
    unit = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    return sum(int(n) * unit[u] for n, u in re.findall(r"(\d+)(ms|[smhdwy])", duration or ""))


def servicemonitor_rules(m):
    if not m.sm:
        check("a ServiceMonitor", False)
        return
    spec = m.sm["spec"]
    targets = [s for s in m.services if selects(spec.get("selector"), s["metadata"].get("labels", {}))]
    check("the ServiceMonitor selects the Service, and the Service selects the pods",
          targets and all(selects({"matchLabels": s["spec"].get("selector")}, m.labels) for s in targets))
    names = {p.get("name") for s in targets for p in s["spec"]["ports"]}
    bad = [e for e in spec.get("endpoints", [])
           if e.get("port") not in names or e.get("path") != "/metrics" or not e.get("interval")
           or seconds(e.get("scrapeTimeout")) > seconds(e.get("interval"))]
    check("every ServiceMonitor endpoint names the Service's port (%s), scrapes /metrics, every interval, "
          "within it" % ", ".join(sorted(n for n in names if n)),
          spec.get("endpoints") and not bad, str(bad))
    read = m.env("READ_TOKEN_FILE")
    read_key = m.files.get(read, (None,))[0]
    auth = [(e.get("authorization") or {}).get("credentials") for e in spec.get("endpoints", [])]
    want = {"name": m.secret["metadata"]["name"], "key": read_key}
    check("the ServiceMonitor sends the read token from the Secret exactly when READ_TOKEN_FILE is set",
          all((a and {k: a.get(k) for k in want} == want) if read else not a for a in auth), str(auth))


def url_ports(url, default):
    """The ports of a redis:// or mongodb:// URL's hosts (several for a replica set)."""
    hosts = re.sub(r"^[a-z+]+://", "", url).split("/")[0].split("@")[-1]
    return {int(h.rsplit(":", 1)[1]) if ":" in h else default for h in hosts.split(",") if h}


def networkpolicy_rules(m):
    if not m.np:
        check("a NetworkPolicy", False)
        return
    spec = m.np["spec"]
    check("the NetworkPolicy selects the pods and governs both ingress and egress",
          selects(spec.get("podSelector"), m.labels) and set(spec.get("policyTypes", [])) == {"Ingress", "Egress"})

    def ports(rule):
        return {(p.get("protocol", "TCP"), m.ports.get(p.get("port"), p.get("port"))) for p in rule.get("ports", [])}

    http = {("TCP", m.ports.get("http"))}
    ingress = spec.get("ingress", [])
    check("NetworkPolicy ingress: only the http port (%d), from listed peers only" % m.ports.get("http"),
          ingress and all(ports(r) == http and r.get("from") and not any("endPort" in p for p in r["ports"])
                          for r in ingress), str(ingress))
    want = set(DNS)
    want |= {("TCP", p) for p in url_ports(m.secret_values.get("redis-url", ""), 6379)}
    want |= {("TCP", p) for p in url_ports(m.secret_values.get("mongodb-uri", ""), 27017)}
    egress = spec.get("egress", [])
    got = set().union(*(ports(r) for r in egress)) if egress else set()
    open_rules = [r for r in egress if not r.get("ports") or not r.get("to") or any(
        (p.get("ipBlock") or {}).get("cidr") in ("0.0.0.0/0", "::/0") for p in r["to"])]
    check("NetworkPolicy egress: only DNS, Redis and MongoDB (%s), each to listed peers only"
          % ", ".join("%s/%s" % (port, proto) for proto, port in sorted(want, key=lambda x: (x[1], x[0]))),
          got == want and not open_rules,
          "allows %s; open rules %s" % (sorted(got, key=str), open_rules))


def known_variables(m, rtstate_bin):
    out = subprocess.run([rtstate_bin, "--help"], capture_output=True, text=True, timeout=10)
    text = out.stdout + out.stderr
    names = [e["name"] for e in m.c.get("env", [])]
    unknown = [n for n in names if not re.search(r"\b%s\b" % re.escape(n), text)]
    check("every variable the Deployment sets is one `rtstate --help` lists", not unknown,
          ", ".join(unknown))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status(port, method, path, token=None):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), method=method,
                                 data=b"{}" if method == "POST" else None)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:  # refused, reset, timed out: no answer
        return None


class Pod:
    """rtstate started as the Deployment starts it (its literal variables,
    less `drop`), with the token volume as the kubelet mounts it from a
    Secret that holds only `keys` (values from the example Secret): a missing
    optional key is no file, a missing required one keeps the pod from
    starting. Redis is absent (a closed port): /livez and the token checks do
    not need it."""

    def __init__(self, m, rtstate_bin, keys, drop=()):
        self.proc, self.port, self.kubelet_refused, self.log = None, None, False, ""
        self.tmp = tempfile.TemporaryDirectory(prefix="rtstate-k8s-")
        for path, (key, optional) in m.files.items():
            if key not in keys:
                self.kubelet_refused |= not optional
                continue
            local = os.path.join(self.tmp.name, path.lstrip("/"))
            os.makedirs(os.path.dirname(local), exist_ok=True)
            with open(local, "w") as f:
                f.write(m.secret_values[key])
        if self.kubelet_refused:
            return
        env = {e["name"]: e["value"] for e in m.c.get("env", []) if "value" in e and e["name"] not in drop}
        for v in TOKEN_VARS:
            if v in env:
                env[v] = os.path.join(self.tmp.name, env[v].lstrip("/"))
        self.port = free_port()
        env.update(PORT=str(self.port), BIND="127.0.0.1", REDIS_URL="redis://127.0.0.1:1/0",
                   THREADS="2", SHUTDOWN_DELAY_S="0", SHUTDOWN_GRACE_S="2", LOG_LEVEL="warn",
                   PATH=os.environ.get("PATH", "/usr/bin:/bin"))
        self.proc = subprocess.Popen([rtstate_bin], env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        for _ in range(100):  # up to 10 s to answer /livez, or to exit
            if self.proc.poll() is not None:
                self.log = self.proc.stdout.read()
                return
            if status(self.port, "GET", "/livez") == 200:
                return
            time.sleep(0.1)

    def serving(self):
        return self.proc is not None and self.proc.poll() is None

    def exited_with(self, text):
        return self.proc is not None and self.proc.returncode not in (None, 0) and text in self.log

    def close(self):
        if self.serving():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.proc.stdout.close()
        self.tmp.cleanup()


def token_behaviour(m, rtstate_bin):
    """What README's Tokens and Kubernetes sections promise, with the binary."""
    tf = m.token_files()
    if "READ_TOKEN_FILE" not in tf or tf["READ_TOKEN_FILE"] not in m.files:
        check("READ_TOKEN_FILE is set and mounted (the token checks below need it)", False)
        return
    read_key = m.files[tf["READ_TOKEN_FILE"]][0]
    read = m.secret_values[read_key]
    every = set(m.secret_values)

    pod = Pod(m, rtstate_bin, every)
    try:
        got = pod.serving() and (status(pod.port, "GET", "/metrics"), status(pod.port, "POST", "/clients"),
                                 status(pod.port, "GET", "/metrics", read))
    finally:
        pod.close()
    check("with every key in the Secret the service starts; /metrics and POST /clients answer 401 "
          "without a token, /metrics 200 with the read token", got == (401, 401, 200),
          "kubelet refused the volume" if pod.kubelet_refused else "got %s %s" % (got, pod.log[-300:]))

    pod = Pod(m, rtstate_bin, every - {read_key})
    pod.close()
    check("without %s in the Secret but READ_TOKEN_FILE set, the volume mounts and the service refuses "
          "to start (no reads served without the token)" % read_key,
          not pod.kubelet_refused and pod.exited_with("token file is missing"),
          "kubelet refused the volume" if pod.kubelet_refused else "serving" if pod.port else pod.log[-300:])

    pod = Pod(m, rtstate_bin, every - {read_key}, drop=("READ_TOKEN_FILE",))
    try:
        got = pod.serving() and (status(pod.port, "GET", "/metrics"), status(pod.port, "POST", "/clients"))
    finally:
        pod.close()
    check("without %s in the Secret and READ_TOKEN_FILE deleted (reads left open), the pod starts: "
          "/metrics 200 without a token, POST /clients still 401" % read_key, got == (200, 401),
          "kubelet refused the volume: the key is required" if pod.kubelet_refused
          else "got %s %s" % (got, pod.log[-300:]))


def main():
    directory = sys.argv[1]
    rtstate_bin = sys.argv[2] if len(sys.argv) > 2 else None
    manifests = sorted(f for f in os.listdir(directory)
                       if f.endswith((".yaml", ".yml")) and f != "kustomization.yaml")
    schemas(directory, manifests)
    kustomization(directory, manifests)
    docs = [d for f in manifests for d in load(os.path.join(directory, f))]
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d.get("kind"), []).append(d)
    counts = {k: len(by_kind.get(k, [])) for k in (
        "Deployment", "Secret", "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy", "ServiceMonitor")}
    check("one Deployment, example Secret, HPA, PodDisruptionBudget, NetworkPolicy and ServiceMonitor",
          all(n == 1 for n in counts.values()), str(counts))
    if counts["Deployment"] == 1 and counts["Secret"] == 1:
        m = Manifests(by_kind)
        deployment_rules(m)
        secret_rules(m)
        pdb_rules(m)
        hpa_rules(m)
        servicemonitor_rules(m)
        networkpolicy_rules(m)
        if rtstate_bin and os.access(rtstate_bin, os.X_OK):
            known_variables(m, rtstate_bin)
            token_behaviour(m, rtstate_bin)
    print()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
