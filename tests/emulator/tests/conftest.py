# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures: one emulator process per test session, reset before every test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
import requests

EMULATOR_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO_SHA1 = "87662bc3d60e4200ceaf7aae249d1c343f4b83c9"
SECOND_SHA1 = "13cab0433629cfe5307f0a71ee097f78fe671474"
SCOPE = "https://api.securitycenter.microsoft.com/.default"
MACHINES = {
    "desk-01": "c14c4bab3d1b0e54b0df1fce5c08c5546a8415da",
    "desk-02": "df21618bd0c1bed98c5c96fec2a60378b5caa8af",
    "desk-02-old": "85dd0a019d24900c608a6160f9da9ff75d4cdac6",
    "desk-010": "880d66a6daf57f515d6aa298c82a311b12883cb0",
    "srv-01": "643d53c73e952687f5e3427b9b75da74f71e616d",
    "offline-01": "b87d9f6874f2f3519c43fa25e6b28615aeee3872",
    "fail-01": "ae995c875d6e2cdc631a2aee7043a04d16d677f4",
    "lnx-01": "3eb84f77f8c745ddc5298fa048c2ef3bab269e64",
    "web-01-contoso": "bff6c0b43e73f0a73e9eaec85d7c4094524a1fae",
    "web-01-fabrikam": "b10159a732974397d551937a792582267d797868",
}


class Emu:
    """A thin test client: every call passes ``verify=ca_path`` itself (REQUESTS_CA_BUNDLE trap)."""

    def __init__(self, info: dict) -> None:
        self.info = info
        self.url = info["url"]
        self.ca = info["ca_path"]
        self.tenant = info["tenant_id"]
        self.http = requests.Session()
        self._tokens: dict[str, str] = {}

    def control(self, method: str, path: str, body: dict | None = None) -> requests.Response:
        return self.http.request(method, self.url + "/_emulator/" + path, json=body, verify=self.ca, timeout=30)

    def reset(self, **body) -> None:
        resp = self.control("POST", "reset", body)
        assert resp.status_code == 200, resp.text
        self._tokens.clear()

    def config(self, **changes) -> dict:
        resp = self.control("POST", "config", changes)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def client(self, name: str) -> dict:
        return self.info["clients"][name]

    def token_request(self, form: dict, tenant: str | None = None) -> requests.Response:
        return self.http.post("%s/%s/oauth2/v2.0/token" % (self.url, tenant or self.tenant), data=form, verify=self.ca, timeout=30)

    def token(self, name: str = "full", scope: str = SCOPE) -> str:
        key = name + " " + scope
        if key not in self._tokens:
            client = self.client(name)
            resp = self.token_request({"grant_type": "client_credentials", "client_id": client["client_id"],
                                       "client_secret": client["client_secret"], "scope": scope})
            assert resp.status_code == 200, resp.text
            self._tokens[key] = resp.json()["access_token"]
        return self._tokens[key]

    def call(self, method: str, path: str, client: str | None = "full", token: str | None = None, **kwargs) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if token is None and client is not None:
            token = self.token(client)
        if token is not None:
            headers["Authorization"] = "Bearer " + token
        return self.http.request(method, self.url + path, headers=headers, verify=self.ca, timeout=30, **kwargs)

    def quarantine(self, machine: str, sha1: str = DEMO_SHA1, client: str = "full", comment: str = "emulator test") -> requests.Response:
        return self.call("POST", "/api/machines/%s/StopAndQuarantineFile" % MACHINES.get(machine, machine), client,
                         json={"Comment": comment, "Sha1": sha1})

    def advance(self, emulated_seconds: float) -> None:
        """Let at least ``emulated_seconds`` pass on the emulated clock (a fast clock for 50 ms, then back).

        More may pass on a busy machine, never less. Cached tokens are dropped: they may have expired.
        """
        scale = self.control("GET", "config").json()["time_scale"]
        self.config(time_scale=emulated_seconds / 0.05)
        time.sleep(0.05)
        self.config(time_scale=scale)
        self._tokens.clear()

    def log(self) -> list[dict]:
        return self.control("GET", "log").json()["requests"]


@pytest.fixture(scope="session", name="emulator_process")
def fixture_emulator_process(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("mde-state")
    env = dict(os.environ, PYTHONPATH=EMULATOR_ROOT)
    command = [sys.executable, "-m", "mde_emulator", "--state-dir", str(state_dir), "--port", "0"]
    with subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as proc:
        info_path = state_dir / "emulator.json"
        deadline = time.monotonic() + 30
        while not info_path.exists():
            if proc.poll() is not None:
                raise RuntimeError("emulator exited: %s" % proc.stderr.read().decode())
            if time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("emulator did not start")
            time.sleep(0.05)
        yield json.loads(info_path.read_text())
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def emu(emulator_process) -> Emu:
    client = Emu(emulator_process)
    client.reset()
    return client


def error_of(resp: requests.Response) -> tuple[int, str, str]:
    body = resp.json()["error"]
    return resp.status_code, body["code"], body["message"]


ODATA_PREFIX = "The query specified in the URI is not valid. "


def odata_error_of(resp: requests.Response) -> str:
    """The message of an OData query error, after checking its shape (empty code, no target)."""
    assert resp.status_code == 400, resp.text
    assert set(resp.json()) == {"error"} and set(resp.json()["error"]) == {"code", "message", "details"}, resp.text
    error = resp.json()["error"]
    assert error["code"] == "" and error["details"] == [] and error["message"].startswith(ODATA_PREFIX), resp.text
    return error["message"]
