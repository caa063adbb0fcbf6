"""Checks the Kubernetes manifests in deploy/kubernetes/, offline.

    python manifests.py DIR [RTSTATE_BIN]

Run by tests/k8s/validate.sh with the venv that has kubernetes-validate
(which bundles the Kubernetes JSON schemas) and PyYAML. One test per line,
then "N passed, N failed":
  - every manifest validates, strictly (no unknown field), against the
    schemas of an older and the newest Kubernetes version bundled;
  - kustomization.yaml parses, lists only files that exist, and every
    manifest but the example Secret;
  - the Deployment does what running rtstate needs (probes on /livez and
    /readyz, a grace period above SHUTDOWN_DELAY_S + SHUTDOWN_GRACE_S,
    non-root, read-only root, no privilege escalation, no capabilities,
    requests and limits, secrets from the Secret, BIND on every interface),
    the Service reaches its port, and the example Secret holds placeholders
    only and every key the Deployment reads;
  - every variable the Deployment sets is one the service knows (from
    `rtstate --help`, when the binary is given).
"""
import os
import re
import subprocess
import sys

import kubernetes_validate
import yaml

VERSIONS = ("1.28.0", kubernetes_validate.latest_version())
EXAMPLE = "secret.example.yaml"

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


def schemas(directory, names):
    for name in names:
        problems = []
        try:
            docs = load(os.path.join(directory, name))
        except yaml.YAMLError as e:
            check(name + " is valid YAML", False, str(e).replace("\n", " "))
            continue
        for doc in docs:
            for v in VERSIONS:
                try:
                    kubernetes_validate.validate(doc, v, strict=True)
                except kubernetes_validate.ValidationError as e:
                    where = ".".join(str(p) for p in e.path)
                    problems.append("%s %s (%s): %s" % (doc.get("kind"), where, v, e.message))
                except Exception as e:  # no schema for the kind, or not a resource at all
                    problems.append("%s (%s): %s" % (doc.get("kind"), v, e))
        check("%s matches the Kubernetes %s schemas (%d resource%s)" % (
            name, " and ".join(VERSIONS), len(docs), "" if len(docs) == 1 else "s"),
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


def env_value(container, name):
    for e in container.get("env", []):
        if e["name"] == name:
            return e.get("value")
    return None


def deployment_rules(d, services, secret):
    pod = d["spec"]["template"]["spec"]
    c = pod["containers"][0]
    sc, psc = c.get("securityContext", {}), pod.get("securityContext", {})

    def probe(kind, path):
        p = c.get(kind) or {}
        return (p.get("httpGet") or {}).get("path") == path

    check("liveness and startup probes GET /livez, readiness GET /readyz",
          probe("livenessProbe", "/livez") and probe("startupProbe", "/livez")
          and probe("readinessProbe", "/readyz"))
    delay = int(env_value(c, "SHUTDOWN_DELAY_S") or 0)
    grace = int(env_value(c, "SHUTDOWN_GRACE_S") or 25)
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
    check("logs are JSON", env_value(c, "LOG_FORMAT") == "json")
    check("BIND is every interface (the binary's own default is loopback: probes would fail)",
          env_value(c, "BIND") in ("0.0.0.0", "::"))

    # what the pod reads from the Secret: env keys and the token volume's items
    name = secret["metadata"]["name"]
    refs = {e["valueFrom"]["secretKeyRef"]["key"]: e["name"] for e in c.get("env", [])
            if "secretKeyRef" in e.get("valueFrom", {}) and e["valueFrom"]["secretKeyRef"]["name"] == name}
    vols = {v["name"]: v for v in pod.get("volumes", [])}
    files = {}
    for m in c.get("volumeMounts", []):
        s = vols.get(m["name"], {}).get("secret")
        if s and s.get("secretName") == name:
            for item in s.get("items", []):
                files[m["mountPath"].rstrip("/") + "/" + item["path"]] = item["key"]
    token_files = {v: env_value(c, v) for v in ("API_TOKEN_FILE", "READ_TOKEN_FILE", "ADMIN_TOKEN_FILE")
                   if env_value(c, v)}
    check("REDIS_URL and MONGODB_URI come from the Secret",
          set(refs.values()) >= {"REDIS_URL", "MONGODB_URI"}, str(refs))
    check("API_TOKEN_FILE is set, and every *_TOKEN_FILE names a file mounted from the Secret",
          "API_TOKEN_FILE" in token_files and all(f in files for f in token_files.values()),
          str(token_files))
    keys = set(secret.get("stringData", {})) | set(secret.get("data", {}))
    wanted = set(refs) | set(files.values())
    check("the example Secret has every key the Deployment reads", wanted <= keys,
          ", ".join(sorted(wanted - keys)))
    values = list(secret.get("stringData", {}).values())
    check("the example Secret holds placeholders only (CHANGE-ME), no data",
          values and all("CHANGE-ME" in v for v in values) and not secret.get("data"))

    ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
    labels = d["spec"]["template"]["metadata"].get("labels", {})
    good = []
    for s in services:
        sel = s["spec"].get("selector", {})
        good.append(sel and all(labels.get(k) == v for k, v in sel.items())
                    and all(p.get("targetPort") in ports or p.get("targetPort") in ports.values()
                            for p in s["spec"]["ports"]))
    check("the Service selects the pods and targets a port they open", services and all(good))
    check("the Deployment's selector matches its pod labels",
          all(labels.get(k) == v for k, v in d["spec"]["selector"]["matchLabels"].items()))
    return c


def known_variables(c, rtstate_bin):
    if not rtstate_bin or not os.access(rtstate_bin, os.X_OK):
        return
    out = subprocess.run([rtstate_bin, "--help"], capture_output=True, text=True, timeout=10)
    text = out.stdout + out.stderr
    names = [e["name"] for e in c.get("env", [])]
    unknown = [n for n in names if not re.search(r"\b%s\b" % re.escape(n), text)]
    check("every variable the Deployment sets is one `rtstate --help` lists", not unknown,
          ", ".join(unknown))


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
    deployments, secrets = by_kind.get("Deployment", []), by_kind.get("Secret", [])
    check("one Deployment and one example Secret", len(deployments) == 1 and len(secrets) == 1)
    if len(deployments) == 1 and len(secrets) == 1:
        c = deployment_rules(deployments[0], by_kind.get("Service", []), secrets[0])
        known_variables(c, rtstate_bin)
    print()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
