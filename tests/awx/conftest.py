# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the AWX job harness: one emulator for the session, the collection built once and installed the
way a project sync installs it, and a way to launch job templates against the emulator."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import urllib.request

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import awx_job  # noqa: E402  pylint: disable=wrong-import-position

EMULATOR_SH = os.path.join(awx_job.ROOT, "tests", "utils", "emulator.sh")


class Emulator:
    """The emulator's emulator.json plus its control endpoints."""

    def __init__(self, info: dict) -> None:
        self.info = info
        self._context = ssl.create_default_context(cafile=info["ca_path"])

    def call(self, method: str, path: str, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.info["url"] + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, context=self._context, timeout=60) as answer:
            text = answer.read().decode()
        return json.loads(text) if text else None

    def reset(self, config: dict | None = None, fleet: dict | None = None) -> None:
        body = {"config": config or {}}
        if fleet:
            body["fleet"] = fleet
        self.call("POST", "/_emulator/reset", body)

    def log(self) -> list:
        return self.call("GET", "/_emulator/log")["requests"]

    def state(self) -> dict:
        return self.call("GET", "/_emulator/state")

    def actions(self, sha1: str) -> list:
        return [action for action in self.state()["actions"] if action["type"] == "StopAndQuarantineFile"
                and (action.get("relatedFileInfo") or {}).get("fileIdentifier", "").lower() == sha1]

    def secrets(self) -> list:
        """Every credential the emulator knows: client secrets and private keys (one line of each PEM body)."""
        values = [client["client_secret"] for client in self.info["clients"].values() if client.get("client_secret")]
        for client in self.info["clients"].values():
            if client.get("certificate_path"):
                with open(client["certificate_path"], encoding="utf-8") as handle:
                    key = handle.read().split("PRIVATE KEY-----", 1)[1]
                values.extend(line for line in key.splitlines()[1:4] if len(line) > 40)
        managed = self.info.get("managed_identity") or {}
        if managed.get("header"):
            values.append(managed["header"])
        return values


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    state_dir = str(tmp_path_factory.mktemp("emulator"))
    env = dict(os.environ, EMULATOR_PYTHON=sys.executable)
    subprocess.run([EMULATOR_SH, "start", state_dir], check=True, env=env)
    try:
        with open(os.path.join(state_dir, "emulator.json"), encoding="utf-8") as handle:
            yield Emulator(json.load(handle))
    finally:
        subprocess.run([EMULATOR_SH, "stop", state_dir], check=False, env=env)


@pytest.fixture(scope="session")
def awx_project(tmp_path_factory):
    """The collection built into a tarball, a project whose collections/requirements.yml names it, and the
    collections the project sync installs from it (what every job of that project gets)."""
    work = str(tmp_path_factory.mktemp("awx"))
    tarball = awx_job.build_collection(work)
    project = awx_job.make_project(work, tarball)
    return {"work": work, "tarball": tarball, "project": project,
            "collections": awx_job.install_project_collections(project, work)}


@pytest.fixture
def launch(awx_project, emulator):
    """launch(template, job_id, node_env=None) -> a started Job (call .wait())."""
    def run(template: awx_job.JobTemplate, job_id: int, node_env: dict | None = None) -> awx_job.Job:
        job = awx_job.prepare(template, job_id, awx_project["work"], awx_project["project"], awx_project["collections"])
        _inputs, node = awx_job.emulator_inputs(emulator.info)
        node.update(node_env or {})
        return awx_job.start(job, template.playbook, awx_job.execution_node_env(node))
    return run
