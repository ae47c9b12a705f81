#!/usr/bin/env python3
"""Side by side: checkov's findings on the deployment fixtures against ready's `deployment` check.

Usage: checkov_compare.py CHECKOV_JSON DEPLOY_DIR READY_JSON...

CHECKOV_JSON is `checkov -d DEPLOY_DIR --framework kubernetes,dockerfile -o json` (a list with
one entry per framework, or one object when only one framework found files). Each READY_JSON is
`ready audit MODEL --project DIR --format json` for one fixture project under DEPLOY_DIR; its
`deployment` check carries every finding under `metrics.findings` (ready's `Finding`: level,
rule, file, line, object, container, field, message).

Prints, for each checkov finding of the ids in CHECKOV_IDS, whether ready reports the same
thing (the same file, the same object, the same field path), then every finding only ready
reports (the value comparisons). Exit status 1 when checkov reports a memory, probe or image
finding that ready misses (GATING), 0 otherwise; 2 on unreadable input.

The ids, names and field paths below are the ones checkov 3.3.30 reports (seen on manifests with
no resources, a `:latest` image, no probes, and Dockerfiles with `FROM python:latest`, no USER
and no HEALTHCHECK): failed Kubernetes checks name the field in
`check_result.evaluated_keys` (`spec/template/spec/containers/[0]/resources/limits/memory`), the
object as `resource` = `Kind.namespace.name`, the file as `file_path` relative to the scanned
folder or its parent (`file_abs_path` doubles the folder for Kubernetes, so it is not used);
Dockerfile checks name the instruction after the file in `resource` (`/bad/Dockerfile.FROM`, or
`/bad/Dockerfile.` for a missing one).
"""

import json
import os
import sys

# checkov id -> (category, field the finding is about (relative to the container for Kubernetes;
# the instruction for a Dockerfile), ready rule ids that report it).
CHECKOV_IDS = {
    "CKV_K8S_12": ("memory", "resources.requests.memory", ["memory_request"]),
    "CKV_K8S_13": ("memory", "resources.limits.memory", ["memory_limit"]),
    "CKV_K8S_8": ("probe", "livenessProbe", ["liveness_probe", "liveness_kills_startup"]),
    "CKV_K8S_9": ("probe", "readinessProbe", ["readiness_probe", "startup_budget"]),
    "CKV_K8S_14": ("image", "image", ["image_pinned"]),
    "CKV_K8S_43": ("image", "image", ["image_pinned"]),
    "CKV_K8S_10": ("cpu", "resources.requests.cpu", ["cpu_request"]),
    "CKV_K8S_11": ("cpu", "resources.limits.cpu", ["cpu_limit", "cpu_threads"]),
    "CKV_DOCKER_7": ("image", "FROM", ["base_image_pinned", "image_pinned"]),
    "CKV_DOCKER_2": ("healthcheck", "HEALTHCHECK", ["healthcheck"]),
    "CKV_DOCKER_3": ("user", "USER", ["non_root_user", "user"]),
}
# A checkov finding of these categories that ready misses fails the comparison.
GATING = {"memory", "probe", "image"}


def die(message):
    print(f"checkov_compare: {message}", file=sys.stderr)
    sys.exit(2)


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        die(f"{path}: {e}")


def relative(path, root):
    """`path` (absolute, or relative to the working folder) relative to `root`, with `/`."""
    return os.path.relpath(os.path.abspath(path), os.path.abspath(root)).replace(os.sep, "/")


def checkov_file(reported, deploy_dir, known):
    """The fixture file a checkov `file_path` names: the known file whose path relative to
    DEPLOY_DIR ends it (checkov prefixes either the scanned folder's name or nothing)."""
    reported = reported.lstrip("/")
    matches = [k for k in known if reported == k or reported.endswith("/" + k)]
    return max(matches, key=len) if matches else reported


def field_path(keys):
    """`spec/template/spec/containers/[0]/image` -> `spec.template.spec.containers[0].image`."""
    return ".".join(keys.split("/")).replace(".[", "[")


def checkov_findings(report, deploy_dir, known):
    runs = report if isinstance(report, list) else [report]
    found = []
    for run in runs:
        if "results" not in run:  # no file of that framework: a bare summary
            continue
        for c in run["results"]["failed_checks"]:
            if c["check_id"] not in CHECKOV_IDS:
                continue
            category, field, rules = CHECKOV_IDS[c["check_id"]]
            file = checkov_file(c["file_path"], deploy_dir, known)
            if run["check_type"] == "kubernetes":
                kind, _, rest = c["resource"].partition(".")
                _, _, name = rest.partition(".")
                keys = (c["check_result"].get("evaluated_keys") or [])
                path = field_path(keys[0]) if keys else field
                obj = f"{kind}/{name}"
            else:
                path, obj = field, None
            found.append(
                {
                    "id": c["check_id"],
                    "name": c["check_name"],
                    "category": category,
                    "file": file,
                    "lines": c.get("file_line_range") or [],
                    "object": obj,
                    "field": path,
                    "rules": rules,
                    "dockerfile": run["check_type"] == "dockerfile",
                }
            )
    return found


def ready_findings(paths, deploy_dir):
    """Every finding of each report's deployment check that is not `ok`; and the reports that
    have no deployment check."""
    found, without = [], []
    for path in paths:
        report = load(path)
        check = next((c for c in report.get("checks", []) if c.get("id") == "deployment"), None)
        if check is None:
            without.append(path)
            continue
        for f in check.get("metrics", {}).get("findings", []):
            if f.get("level") == "ok":
                continue
            found.append(dict(f, file=relative(f["file"], deploy_dir)))
    return found, without


def related(a, b):
    """Two field paths about the same thing: equal, or one inside the other below a container
    (`...containers[0].readinessProbe` and `...containers[0].readinessProbe.timeoutSeconds`)."""
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    return long.startswith(short + ".") and "containers[" in short and not short.endswith("]")


def same(c, r):
    if c["file"] != r["file"]:
        return False
    if c["dockerfile"]:
        if r.get("object") is not None or not r["field"].upper().startswith(c["field"]):
            return False
        # A multi-stage file: the FROM checkov names must be the line ready names.
        if c["field"] == "FROM" and r.get("line") and c["lines"]:
            return c["lines"][0] <= r["line"] <= c["lines"][-1]
        return True
    return r.get("object") == c["object"] and related(c["field"], r["field"])


def main(argv):
    if len(argv) < 3:
        die("usage: checkov_compare.py CHECKOV_JSON DEPLOY_DIR READY_JSON...")
    checkov_json, deploy_dir, ready_jsons = argv[0], argv[1], argv[2:]
    known = sorted(
        relative(os.path.join(d, f), deploy_dir) for d, _, files in os.walk(deploy_dir) for f in files
    )
    theirs = checkov_findings(load(checkov_json), deploy_dir, known)
    ours, without = ready_findings(ready_jsons, deploy_dir)
    for path in without:
        print(f"note: {os.path.basename(path)} has no deployment check: ready reports nothing there")
    matched, missed = set(), []
    print(f"{'checkov':<13} {'file':<34} {'object':<24} {'field':<55} ready")
    for c in theirs:
        hits = [i for i, r in enumerate(ours) if same(c, r)]
        matched.update(hits)
        if hits:
            rules = sorted({ours[i]["rule"] for i in hits})
            unmapped = [r for r in rules if r not in c["rules"]]
            answer = "same: " + ", ".join(f"{ours[i]['level']} {ours[i]['rule']}" for i in hits)
            if unmapped:
                answer += f" (rule not in the mapping {c['rules']})"
        else:
            answer = "MISSED" if c["category"] in GATING else "not reported (not gated)"
            if c["category"] in GATING:
                missed.append(c)
        print(f"{c['id']:<13} {c['file']:<34} {c['object'] or '-':<24} {c['field']:<55} {answer}")
    only = [r for i, r in enumerate(ours) if i not in matched]
    print(f"\nonly ready reports ({len(only)}):")
    for r in only:
        where = f"{r['file']}:{r['line']}" if r.get("line") else r["file"]
        print(f"  {r['level']:<8} {r['rule']:<22} {where} {r.get('object') or '-'} {r['field']}: {r['message']}")
    gating = [c for c in theirs if c["category"] in GATING]
    print(
        f"\ncheckov: {len(theirs)} finding(s) compared, {len(gating)} on memory/probes/images; "
        f"ready missed {len(missed)} of those; {len(only)} reported by ready alone"
    )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
