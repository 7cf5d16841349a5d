# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from unittest import mock

from ansible_collections.secops.defender.plugins.module_utils._module import DefenderModule
from ansible_collections.secops.defender.plugins.modules import defender_token as module
from ansible_collections.secops.defender.tests.unit.fakes import FakeResponse, FakeSession, run_module

TENANT = "beb92235-bde3-4f88-9418-4b4cca3a5e4d"
TOKEN = ("eyJhbGciOiJSUzI1NiJ9.eyJyb2xlcyI6WyJNYWNoaW5lLlJlYWQuQWxsIl0sImV4cCI6MTc2NDM1NDMwMX0.c2ln")


def login(call):
    if call["url"].endswith("/.well-known/openid-configuration"):
        return FakeResponse(200, {"authorization_endpoint": f"https://login.test/{TENANT}/oauth2/v2.0/authorize",
                                  "token_endpoint": f"https://login.test/{TENANT}/oauth2/v2.0/token"})
    return FakeResponse(200, {"token_type": "Bearer", "expires_in": 3599, "access_token": TOKEN})


def run(args):
    session = FakeSession(login)
    base = {"tenant_id": TENANT, "client_id": "app", "client_secret": "s", "authority_url": "https://login.test"}
    base.update(args)
    with mock.patch("ansible_collections.secops.defender.plugins.module_utils._factory.build_session", return_value=session):
        return run_module(module.main, base), session


def test_refuses_without_no_log_and_sends_nothing():
    (result, failed), session = run({})
    assert failed and "no_log" in result["msg"] and "access_token" not in result
    assert session.calls == []


def test_returns_the_token_and_its_facts():
    (result, failed), session = run({"_ansible_no_log": True})
    assert not failed
    assert result["access_token"] == TOKEN
    assert result["roles"] == ["Machine.Read.All"]
    assert result["expires_on"] == "2025-11-28T18:25:01Z"
    assert result["auth_method"] == "client_secret"
    assert len([c for c in session.calls if c["method"] == "POST"]) == 1


def test_a_secret_read_from_client_secret_file_is_sent_and_masked_like_the_option(tmp_path):
    secret_file = tmp_path / "client_secret"
    secret_file.write_text("file-s3cret\n")
    masked = {}
    original_exit = DefenderModule.exit

    def exit_and_record(self, **result):
        masked.update(no_log_values=set(self.no_log_values))
        original_exit(self, **result)

    with mock.patch.object(DefenderModule, "exit", exit_and_record):
        (result, failed), session = run({"_ansible_no_log": True, "client_secret": None,
                                         "client_secret_file": str(secret_file)})
    assert not failed and result["auth_method"] == "client_secret"
    [post] = [c for c in session.calls if c["method"] == "POST"]
    assert post["data"]["client_secret"] == "file-s3cret"
    assert "file-s3cret" in masked["no_log_values"], "Ansible masks it in every output, as it does client_secret"


def test_an_unreadable_client_secret_file_fails_before_any_request(tmp_path):
    (result, failed), session = run({"_ansible_no_log": True, "client_secret": None,
                                     "client_secret_file": str(tmp_path / "gone")})
    assert failed and result["msg"].startswith(f"client_secret_file {tmp_path / 'gone'}: cannot read the file")
    assert session.calls == []
