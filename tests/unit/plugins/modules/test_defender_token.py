# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from unittest import mock

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
