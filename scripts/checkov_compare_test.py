#!/usr/bin/env python3
"""Tests of scripts/checkov_compare.py on checkov 3.3.30's real output (recorded, trimmed to the
fields the comparison reads) and ready reports written by hand: which findings match, which are
missed, what only ready reports, and the exit status. Standard library only:
`python3 scripts/checkov_compare_test.py`."""

import contextlib
import io
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checkov_compare  # noqa: E402


def failed(check_id, name, file_path, resource, lines, keys=None):
    return {
        "check_id": check_id,
        "check_name": name,
        "file_path": file_path,
        "resource": resource,
        "file_line_range": lines,
        "check_result": {"result": "FAILED", "evaluated_keys": keys},
    }


# As checkov 3.3.30 printed them for `-d deploy` run from the folder above it (Kubernetes paths
# carry the scanned folder's name, Dockerfile paths do not); trimmed to the fields read.
CHECKOV = [
    {
        "check_type": "dockerfile",
        "results": {
            "failed_checks": [
                failed("CKV_DOCKER_7", "Ensure the base image uses a non latest version tag", "/bad/Dockerfile", "/bad/Dockerfile.FROM", [1, 1]),
                failed("CKV_DOCKER_3", "Ensure that a user for the container has been created", "/bad/Dockerfile", "/bad/Dockerfile.", [1, 4]),
            ]
        },
    },
    {
        "check_type": "kubernetes",
        "results": {
            "failed_checks": [
                failed("CKV_K8S_9", "Readiness Probe Should be Configured", "/deploy/bad/deployment.yaml", "Deployment.default.iris", [1, 19],
                       ["spec/template/spec/containers/[0]/readinessProbe"]),
                failed("CKV_K8S_43", "Image should use digest", "/deploy/bad/deployment.yaml", "Deployment.default.iris", [1, 19],
                       ["spec/template/spec/containers/[0]/image"]),
                failed("CKV_K8S_8", "Liveness Probe Should be Configured", "/deploy/bad/deployment.yaml", "Deployment.default.iris", [1, 19],
                       ["spec/template/spec/containers/[0]/livenessProbe"]),
                failed("CKV_K8S_11", "CPU limits should be set", "/deploy/bad/deployment.yaml", "Deployment.default.iris", [1, 19],
                       ["spec/template/spec/containers/[0]/resources/limits/cpu"]),
                failed("CKV_K8S_13", "Memory limits should be set", "/deploy/bare/pod.yaml", "Pod.default.iris-pod", [1, 9],
                       ["spec/containers/[0]/resources/limits/memory"]),
                # A finding on another object of the same file is not the same finding.
                failed("CKV_K8S_14", "Image Tag should be fixed - not latest or blank", "/deploy/bare/pod.yaml", "Pod.default.other", [11, 19],
                       ["spec/containers/[0]/image"]),
            ]
        },
    },
]


def finding(level, rule, file, obj, field, line=None, message="m"):
    return {"level": level, "rule": rule, "file": file, "line": line, "object": obj, "container": "server", "field": field, "message": message}


class CompareTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.deploy = os.path.join(self.dir.name, "deploy")
        for name in ["bad/Dockerfile", "bad/deployment.yaml", "bare/pod.yaml"]:
            os.makedirs(os.path.dirname(os.path.join(self.deploy, name)), exist_ok=True)
            open(os.path.join(self.deploy, name), "w").close()

    def tearDown(self):
        self.dir.cleanup()

    def write(self, name, value):
        path = os.path.join(self.dir.name, name)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(value, f)
        return path

    def report(self, name, findings):
        return self.write(name, {"checks": [{"id": "deployment", "metrics": {"findings": findings}}]})

    def run_compare(self, reports):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            status = checkov_compare.main([self.write("checkov.json", CHECKOV), self.deploy, *reports])
        return status, out.getvalue().splitlines()

    def rows(self, lines):
        """checkov id, file, object and the verdict of each row of the table."""
        return [(l.split()[0], l.split()[1], l.split()[2], l.split(None, 4)[4]) for l in lines[1 : lines.index("")]]

    def test_every_gating_finding_reported_by_ready_passes_and_the_rest_is_listed(self):
        d = self.deploy
        bad = os.path.join(d, "bad/deployment.yaml")
        container = "spec.template.spec.containers[0]"
        status, lines = self.run_compare([
            self.report("bad.json", [
                finding("problem", "image_pinned", os.path.join(d, "bad/Dockerfile"), None, "FROM", line=1),
                finding("problem", "readiness_probe", bad, "Deployment/iris", f"{container}.readinessProbe"),
                finding("problem", "image_pinned", bad, "Deployment/iris", f"{container}.image"),
                finding("advice", "liveness_probe", bad, "Deployment/iris", f"{container}.livenessProbe"),
                finding("problem", "memory_limit", bad, "Deployment/iris", f"{container}.resources.limits.memory", message="8Mi < 99Mi"),
                finding("ok", "cpu_request", bad, "Deployment/iris", f"{container}.resources.requests.cpu"),
            ]),
            self.report("bare.json", [
                finding("problem", "memory_limit", os.path.join(d, "bare/pod.yaml"), "Pod/iris-pod", "spec.containers[0].resources.limits"),
            ]),
        ])
        self.assertEqual(
            self.rows(lines),
            [
                ("CKV_DOCKER_7", "bad/Dockerfile", "-", "same: problem image_pinned"),
                ("CKV_DOCKER_3", "bad/Dockerfile", "-", "not reported (not gated)"),
                ("CKV_K8S_9", "bad/deployment.yaml", "Deployment/iris", "same: problem readiness_probe"),
                ("CKV_K8S_43", "bad/deployment.yaml", "Deployment/iris", "same: problem image_pinned"),
                ("CKV_K8S_8", "bad/deployment.yaml", "Deployment/iris", "same: advice liveness_probe"),
                ("CKV_K8S_11", "bad/deployment.yaml", "Deployment/iris", "not reported (not gated)"),
                ("CKV_K8S_13", "bare/pod.yaml", "Pod/iris-pod", "same: problem memory_limit"),
                ("CKV_K8S_14", "bare/pod.yaml", "Pod/other", "MISSED"),
            ],
        )
        self.assertIn(
            f"  problem  memory_limit           bad/deployment.yaml Deployment/iris {container}.resources.limits.memory: 8Mi < 99Mi", lines
        )
        self.assertEqual(lines[-1], "checkov: 8 finding(s) compared, 6 on memory/probes/images; ready missed 1 of those; 1 reported by ready alone")
        self.assertEqual(status, 1, "the image of Pod/other is missed")

    def test_nothing_missed_is_exit_zero_and_a_report_without_the_check_is_named(self):
        trimmed = [CHECKOV[0]]
        path = self.write("checkov.json", trimmed)
        ready = self.report("bad.json", [finding("problem", "image_pinned", os.path.join(self.deploy, "bad/Dockerfile"), None, "FROM", line=1)])
        old = self.write("old.json", {"checks": [{"id": "serialization", "metrics": {}}]})
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            status = checkov_compare.main([path, self.deploy, ready, old])
        self.assertEqual(status, 0, out.getvalue())
        self.assertEqual(out.getvalue().splitlines()[0], "note: old.json has no deployment check: ready reports nothing there")

    def test_a_from_on_another_line_is_another_stage(self):
        ready = self.report("bad.json", [finding("problem", "image_pinned", os.path.join(self.deploy, "bad/Dockerfile"), None, "FROM", line=7)])
        status, lines = self.run_compare([ready])
        self.assertEqual(self.rows(lines)[0], ("CKV_DOCKER_7", "bad/Dockerfile", "-", "MISSED"))
        self.assertEqual(status, 1)


if __name__ == "__main__":
    unittest.main()
