# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secret-less auth: the auth_method choice, managed identity and workload identity federation."""

from __future__ import annotations

import time
from collections import namedtuple
from unittest import mock

import pytest
import requests

from ansible_collections.secops.defender.plugins.module_utils import _auth
from ansible_collections.secops.defender.plugins.module_utils._client import build_session
from ansible_collections.secops.defender.plugins.module_utils._errors import DefenderError
from ansible_collections.secops.defender.plugins.modules import defender_token
from ansible_collections.secops.defender.tests.unit.fakes import FakeResponse, FakeSession, make_jwt, run_module

Endpoints = namedtuple("Endpoints", "api_url authority_url scope resource")
ENDPOINTS = Endpoints("https://api.test", "https://login.test", "https://api.securitycenter.microsoft.com/.default",
                      "https://api.securitycenter.microsoft.com")
TENANT = "11111111-2222-3333-4444-555555555555"
MI_ENDPOINT = "http://localhost:8081/msi/token"
MI_HEADER = "header-value-4c1d"
MI_ENV = ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT", "MSI_ENDPOINT",
          "MSI_SECRET", "AZUREPS_HOST_ENVIRONMENT", "AZURE_POD_IDENTITY_AUTHORITY_HOST")


@pytest.fixture(name="no_identity_env")
def fixture_no_identity_env(monkeypatch):
    """A host with no managed identity endpoint in its environment."""
    for name in MI_ENV:
        monkeypatch.delenv(name, raising=False)
    # msal also detects an Arc agent by a file on disk.
    monkeypatch.setattr("msal.managed_identity._get_arc_endpoint", lambda: None)


@pytest.fixture(name="app_service")
def fixture_app_service(no_identity_env, monkeypatch):
    """App Service / Functions: the platform sets IDENTITY_ENDPOINT and IDENTITY_HEADER."""
    del no_identity_env
    monkeypatch.setenv("IDENTITY_ENDPOINT", MI_ENDPOINT)
    monkeypatch.setenv("IDENTITY_HEADER", MI_HEADER)


def mi_answer(token, client_id="mi-client"):
    # The App Service 2019-08-01 shape: expires_on in epoch seconds, as a string.
    return FakeResponse(200, {"access_token": token, "expires_on": str(int(time.time()) + 86399),
                              "resource": "https://api.securitycenter.microsoft.com", "token_type": "Bearer",
                              "client_id": client_id})


def scripted(answers):
    answers = list(answers)
    return FakeSession(lambda call: answers.pop(0))


def login(token_answers):
    """A fake Entra ID: OpenID configuration, then the scripted token answers."""
    answers = list(token_answers)

    def handler(call):
        if call["url"].endswith("/v2.0/.well-known/openid-configuration"):
            return FakeResponse(200, {"authorization_endpoint": f"https://login.test/{TENANT}/oauth2/v2.0/authorize",
                                      "token_endpoint": f"https://login.test/{TENANT}/oauth2/v2.0/token"})
        return answers.pop(0)
    return FakeSession(handler)


def token_answer(token):
    return FakeResponse(200, {"token_type": "Bearer", "expires_in": 3599, "access_token": token})


# --- which method --------------------------------------------------------------------------------------------
APP = {"tenant_id": TENANT, "client_id": "app"}


@pytest.mark.parametrize("params, expected", [
    ({"access_token": "t", "client_secret": "s", "federated_token_file": "f", **APP}, "access_token"),
    ({"client_certificate_path": "c.pem", "client_secret": "s", "federated_token_file": "f", **APP}, "certificate"),
    ({"client_secret": "s", "federated_token_file": "f", **APP}, "client_secret"),
    ({"federated_token_file": "f", "managed_identity_client_id": "m", **APP}, "workload_identity"),
    ({"managed_identity_client_id": "m"}, "managed_identity"),
    ({"client_secret": "", "auth_method": "auto"}, "managed_identity"),  # IDENTITY_ENDPOINT in the environment
    ({"client_secret": "s", "auth_method": "managed_identity", **APP}, "managed_identity"),  # explicit wins
])
def test_auto_takes_the_first_credential_present(app_service, params, expected):
    del app_service
    assert _auth.choose_auth_method(params) == expected


def test_auto_without_any_credential_or_identity_endpoint(no_identity_env):
    del no_identity_env
    with pytest.raises(ValueError, match="No credentials.*auth_method to managed_identity or workload_identity"):
        _auth.build_token_provider({"tenant_id": TENANT, "client_id": "app"}, ENDPOINTS, None)


@pytest.mark.parametrize("params, message", [
    ({"auth_method": "client_secret", **APP}, r"client secret authentication needs client_secret \(or AZURE_CLIENT_SECRET\)"),
    ({"auth_method": "certificate", "client_secret": "s", **APP}, "certificate authentication needs client_certificate_path"),
    ({"auth_method": "access_token", "client_secret": "s", **APP}, r"needs access_token \(or DEFENDER_ACCESS_TOKEN\)"),
    ({"auth_method": "workload_identity", **APP}, r"needs federated_token_file \(or AZURE_FEDERATED_TOKEN_FILE\)"),
    ({"auth_method": "workload_identity", "federated_token_file": "/nonexistent/token"}, "needs tenant_id and client_id"),
    ({"auth_method": "workload_identity", "federated_token_file": "/nonexistent/token", **APP}, "is not a file"),
    ({"auth_method": "kerberos"}, "auth_method must be one of"),
])
def test_explicit_method_with_missing_inputs_fails_before_any_request(no_identity_env, params, message):
    del no_identity_env
    http = FakeSession(lambda call: pytest.fail(f"request sent: {call['url']}"))
    with pytest.raises(ValueError, match=message):
        _auth.build_token_provider(params, ENDPOINTS, http)


# --- managed identity ----------------------------------------------------------------------------------------
def test_system_assigned_identity_on_app_service(app_service):
    del app_service
    http = scripted([mi_answer("mi-1"), mi_answer("mi-2")])
    provider = _auth.build_token_provider({"auth_method": "managed_identity"}, ENDPOINTS, http)
    assert provider.method == "managed_identity"
    assert provider.get_token() == "mi-1"
    assert provider.get_token() == "mi-1"  # msal's cache: no second request
    assert provider.get_token(force_refresh=True) == "mi-2"  # a 401 from the API renews it
    assert len(http.calls) == 2
    call = http.calls[0]
    assert call["method"] == "GET" and call["url"] == MI_ENDPOINT
    assert call["params"] == {"api-version": "2019-08-01", "resource": "https://api.securitycenter.microsoft.com"}
    assert call["headers"]["X-IDENTITY-HEADER"] == MI_HEADER


def test_user_assigned_identity_is_named_by_its_client_id(app_service):
    del app_service
    http = scripted([mi_answer("mi-1", "uami")])
    provider = _auth.build_token_provider({"managed_identity_client_id": "uami"}, ENDPOINTS, http)
    assert provider.get_token() == "mi-1"
    assert http.calls[0]["params"]["client_id"] == "uami"


def test_managed_identity_asks_for_the_clouds_resource_not_a_scope(app_service):
    del app_service
    gov = Endpoints("https://api-gov.securitycenter.microsoft.us", "https://login.microsoftonline.us",
                    "https://securitycenter.onmicrosoft.us/windowsatpservice/.default",
                    "https://securitycenter.onmicrosoft.us/windowsatpservice")
    http = scripted([mi_answer("mi-1")])
    _auth.build_token_provider({"auth_method": "managed_identity"}, gov, http).get_token()
    assert http.calls[0]["params"]["resource"] == "https://securitycenter.onmicrosoft.us/windowsatpservice"


def test_wrong_identity_header_is_a_clear_error_without_the_header(app_service):
    del app_service
    http = scripted([FakeResponse(401, {"statusCode": 401, "message": "X-IDENTITY-HEADER does not match"})])
    provider = _auth.build_token_provider({"auth_method": "managed_identity"}, ENDPOINTS, http)
    with pytest.raises(DefenderError) as info:
        provider.get_token()
    text = str(info.value)
    assert info.value.code == "ManagedIdentityError"
    assert f"system-assigned identity) to the App Service endpoint {MI_ENDPOINT} failed" in text
    assert "401, X-IDENTITY-HEADER does not match" in text
    assert MI_HEADER not in text


def test_no_identity_endpoint_reachable(no_identity_env):
    del no_identity_env

    def refuse(call):
        raise requests.exceptions.ConnectionError(f"refused: {call['url']}")

    http = FakeSession(refuse)
    provider = _auth.build_token_provider({"auth_method": "managed_identity"}, ENDPOINTS, http)
    with pytest.raises(DefenderError, match=r"Cannot reach the managed identity instance metadata endpoint \(IMDS\) "
                                            r"http://169.254.169.254: ConnectionError") as info:
        provider.get_token()
    assert info.value.code == "ManagedIdentityUnavailable"
    assert http.calls[0]["headers"]["Metadata"] == "true"


def test_managed_identity_bypasses_the_proxy_but_keeps_the_ca(app_service, monkeypatch):
    """IMDS and the App Service endpoint are host-local: no proxy, and ca_path still applies."""
    del app_service
    monkeypatch.setenv("HTTPS_PROXY", "http://env-proxy:3128")
    sent = []

    def fake_request(self, method, url, *args, **kwargs):
        del self, args
        sent.append((method, url, kwargs))
        return FakeResponse(200, mi_answer("mi-1")._body)

    session = build_session("/etc/defender/ca.pem", "http://proxy:3128", 7.0)
    with mock.patch.object(requests.Session, "request", fake_request):
        assert _auth.build_token_provider({"auth_method": "managed_identity"}, ENDPOINTS, session).get_token() == "mi-1"
        session.get("https://api.test/api/machines")
    mi_url, mi_kwargs, api_kwargs = sent[0][1], sent[0][2], sent[1][2]
    assert mi_url == MI_ENDPOINT
    assert mi_kwargs["proxies"] == {"http": None, "https": None}
    assert mi_kwargs["verify"] == "/etc/defender/ca.pem" and mi_kwargs["timeout"] == 7.0
    assert api_kwargs["proxies"] == {"http": "http://proxy:3128", "https": "http://proxy:3128"}


def test_defender_token_reports_managed_identity(app_service):
    del app_service
    token = make_jwt(roles=["Machine.Read.All"], exp=int(time.time()) + 3600)
    http = scripted([mi_answer(token)])
    with mock.patch("ansible_collections.secops.defender.plugins.module_utils._factory.build_session", return_value=http):
        result, failed = run_module(defender_token.main, {"auth_method": "managed_identity", "_ansible_no_log": True})
    assert not failed, result
    assert result["auth_method"] == "managed_identity" and result["roles"] == ["Machine.Read.All"]


# --- workload identity federation ----------------------------------------------------------------------------
def test_federated_token_is_read_again_for_every_token_request(tmp_path):
    token_file = tmp_path / "azure-identity-token"
    token_file.write_text("federated-1\n")
    http = login([token_answer("tok-1"), token_answer("tok-2")])
    provider = _auth.build_token_provider({"federated_token_file": str(token_file), **APP}, ENDPOINTS, http)
    assert provider.method == "workload_identity"
    assert provider.get_token() == "tok-1"
    token_file.write_text("federated-2\n")  # the kubelet rotated it
    assert provider.get_token() == "tok-1"  # cached token: the file is not needed
    assert provider.get_token(force_refresh=True) == "tok-2"
    posts = [c for c in http.calls if c["method"] == "POST"]
    assert [p["data"]["client_assertion"] for p in posts] == ["federated-1", "federated-2"]
    assert posts[0]["data"]["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    assert posts[0]["data"]["client_id"] == "app" and "client_secret" not in posts[0]["data"]
    assert posts[0]["url"] == f"https://login.test/{TENANT}/oauth2/v2.0/token"


def test_stale_assertion_names_the_file(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("stale")
    http = login([FakeResponse(401, {"error": "invalid_client", "error_description":
                                     "AADSTS700024: Client assertion is not within its valid time range.\r\nTrace ID: x"})])
    provider = _auth.build_token_provider({"auth_method": "workload_identity", "federated_token_file": str(token_file),
                                           **APP}, ENDPOINTS, http)
    with pytest.raises(DefenderError) as info:
        provider.get_token()
    assert info.value.code == "invalid_client"
    assert "AADSTS700024: Client assertion is not within its valid time range" in str(info.value)
    assert f"client assertion read from {token_file}" in str(info.value)


def test_federated_token_file_gone_at_request_time(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("x")
    provider = _auth.build_token_provider({"federated_token_file": str(token_file), **APP}, ENDPOINTS, login([]))
    token_file.write_text("")
    with pytest.raises(DefenderError, match="federated token file .* is empty"):
        provider.get_token()
    token_file.unlink()
    with pytest.raises(DefenderError, match=r"Cannot read the federated token file .*FileNotFoundError"):
        provider.get_token()


def test_unmatched_federated_credential_keeps_its_400_and_names_the_file(tmp_path):
    """AADSTS70021 comes with 400 (not 401): the file is still named."""
    token_file = tmp_path / "token"
    token_file.write_text("federated")
    http = login([FakeResponse(400, {"error": "invalid_client", "error_description":
                                     "AADSTS70021: No matching federated identity record found for presented assertion."})])
    provider = _auth.build_token_provider({"federated_token_file": str(token_file), **APP}, ENDPOINTS, http)
    with pytest.raises(DefenderError) as info:
        provider.get_token()
    assert (info.value.status, info.value.code) == (400, "invalid_client")
    assert info.value.message.endswith(f"AADSTS70021: No matching federated identity record found for presented "
                                       f"assertion. (workload identity: client assertion read from {token_file})")


# --- token_cache_path with secret-less methods ---------------------------------------------------------------
def _corrupt_cache(tmp_path):
    path = tmp_path / "tokens.json"
    path.write_text("{truncated")
    path.chmod(0o600)
    return path


def test_managed_identity_replaces_a_corrupt_cache_with_a_warning(app_service, tmp_path):
    del app_service
    path = _corrupt_cache(tmp_path)
    shown = []
    provider = _auth.build_token_provider({"auth_method": "managed_identity", "token_cache_path": str(path)}, ENDPOINTS,
                                          scripted([mi_answer("mi-1")]), warn=shown.append)
    assert provider.get_token() == "mi-1"
    assert shown == [f"token_cache_path {path} is not a valid token cache (not JSON); starting a new one"]
    again = scripted([])
    assert _auth.build_token_provider({"auth_method": "managed_identity", "token_cache_path": str(path)}, ENDPOINTS,
                                      again).get_token() == "mi-1"
    assert not again.calls


def test_workload_identity_replaces_a_corrupt_cache_with_a_warning(tmp_path):
    path = _corrupt_cache(tmp_path)
    token_file = tmp_path / "federated"
    token_file.write_text("federated-1")
    provider = _auth.build_token_provider({"federated_token_file": str(token_file), "token_cache_path": str(path), **APP},
                                          ENDPOINTS, login([token_answer("tok-1")]))
    assert provider.get_token() == "tok-1"
    assert provider.warnings == [f"token_cache_path {path} is not a valid token cache (not JSON); starting a new one"]


def test_managed_identity_cache_in_a_missing_directory(app_service, tmp_path):
    del app_service
    path = tmp_path / "cache" / "tokens.json"
    provider = _auth.build_token_provider({"auth_method": "managed_identity", "token_cache_path": str(path)}, ENDPOINTS,
                                          scripted([mi_answer("mi-1")]))
    assert provider.get_token() == "mi-1" and path.is_file()


def test_managed_identity_cache_under_a_file_fails_before_any_request(app_service, tmp_path):
    del app_service
    (tmp_path / "file").write_text("x")
    http = scripted([])
    provider = _auth.build_token_provider({"auth_method": "managed_identity",
                                           "token_cache_path": str(tmp_path / "file" / "tokens.json")}, ENDPOINTS, http)
    with pytest.raises(DefenderError, match=r"tokens.json: /.*/file is not a directory \(code TokenCacheError\)") as info:
        provider.get_token()
    assert info.value.code == "TokenCacheError" and not http.calls


def test_managed_identity_error_keeps_the_status_it_was_answered_with(no_identity_env):
    """IMDS answers an unknown user-assigned identity with 400, not 401."""
    del no_identity_env
    http = scripted([FakeResponse(400, {"error": "invalid_request", "error_description": "Identity not found"})])
    provider = _auth.build_token_provider({"auth_method": "managed_identity", "managed_identity_client_id": "nope"},
                                          ENDPOINTS, http)
    with pytest.raises(DefenderError) as info:
        provider.get_token()
    assert (info.value.status, info.value.code) == (400, "ManagedIdentityError")
    assert "(user-assigned identity nope) to the instance metadata endpoint (IMDS) http://169.254.169.254 failed: " \
           "Identity not found" in info.value.message
