# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test doubles shared by the unit tests: a scripted HTTP session, JWTs, and a module runner."""

from __future__ import annotations

import base64
import contextlib
import json
from unittest import mock

import requests
from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19
    @contextlib.contextmanager
    def patch_module_args(args):
        with mock.patch.object(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args}))):
            yield

FULL_ROLES = ["Machine.StopAndQuarantine", "Machine.Read.All", "File.Read.All", "Ti.ReadWrite.All"]


def make_jwt(roles=None, scp=None, **claims) -> str:
    """An unsigned JWT with the given claims (the client never verifies signatures; the API does)."""
    body = {"aud": "https://api.securitycenter.microsoft.com", "tid": "t", "appid": "a", **claims}
    if roles is not None:
        body["roles"] = roles
    if scp is not None:
        body["scp"] = scp

    def enc(value):
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()
    return f"{enc({'alg': 'RS256', 'typ': 'JWT'})}.{enc(body)}.c2ln"


class FakeResponse:
    def __init__(self, status: int = 200, body=None, headers=None) -> None:
        self.status_code = status
        self._body = body
        self.headers = requests.structures.CaseInsensitiveDict(headers or {})
        self.content = b"" if body is None else json.dumps(body).encode()
        self.text = self.content.decode()
        self.reason = "Fake"

    def json(self):
        if self._body is None:
            raise ValueError("no body")
        return self._body


def error(status: int, code: str, message: str = "msg", target: str = "req-1", headers=None) -> FakeResponse:
    return FakeResponse(status, {"error": {"code": code, "message": message, "target": target}}, headers)


class FakeSession:
    """Answers each request with handler(call) -> FakeResponse (or raises); records every call."""

    def __init__(self, handler) -> None:
        self.handler = handler
        self.calls: list = []

    def request(self, method, url, params=None, json=None, headers=None, **kwargs):  # pylint: disable=redefined-outer-name
        call = {"method": method, "url": url, "params": dict(params or {}), "json": json, "headers": dict(headers or {}), **kwargs}
        self.calls.append(call)
        return self.handler(call)

    def get(self, url, **kwargs):
        return self.request("GET", url, **kwargs)

    def post(self, url, **kwargs):
        return self.request("POST", url, **kwargs)

    def close(self):
        pass

    def calls_to(self, method: str, fragment: str) -> list:
        return [c for c in self.calls if c["method"] == method and fragment in c["url"]]


class ScriptedHandler:
    """Pops scripted answers per (method, url fragment); falls back to a default."""

    def __init__(self, script: list, default=None) -> None:
        self.script = list(script)  # [(method, fragment, response_or_exception_or_callable)]
        self.default = default

    def __call__(self, call):
        for index, (method, fragment, answer) in enumerate(self.script):
            if method == call["method"] and fragment in call["url"]:
                del self.script[index]
                if callable(answer) and not isinstance(answer, FakeResponse):
                    answer = answer(call)
                if isinstance(answer, Exception):
                    raise answer
                return answer
        if self.default is not None:
            return self.default(call)
        raise AssertionError(f"unexpected call {call['method']} {call['url']} {call['params']}")


class ModuleExit(SystemExit):
    def __init__(self, result: dict, failed: bool) -> None:
        super().__init__(result.get("msg", ""))
        self.result = result
        self.failed = failed


def run_module(main, args: dict, check_mode: bool = False) -> tuple[dict, bool]:
    """Run a module's main() with args; returns (result, failed)."""
    def exit_json(self, **result):
        raise ModuleExit(result, False)

    def fail_json(self, msg="", **result):
        result["msg"] = msg
        raise ModuleExit(result, True)

    args = dict(args)
    if check_mode:
        args["_ansible_check_mode"] = True
    with patch_module_args(args), \
            mock.patch.object(basic.AnsibleModule, "exit_json", exit_json), \
            mock.patch.object(basic.AnsibleModule, "fail_json", fail_json):
        try:
            main()
        except ModuleExit as done:
            return done.result, done.failed
    raise AssertionError("module returned without exit_json or fail_json")
