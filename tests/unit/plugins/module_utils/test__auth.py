# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import base64
import hashlib
import os
import stat
from collections import namedtuple

import pytest

from ansible_collections.secops.defender.plugins.module_utils import _auth
from ansible_collections.secops.defender.plugins.module_utils._errors import DefenderError
from ansible_collections.secops.defender.tests.unit.fakes import FakeResponse, FakeSession, make_jwt

Endpoints = namedtuple("Endpoints", "api_url authority_url scope resource")
ENDPOINTS = Endpoints("https://api.test", "https://login.test", "https://api.securitycenter.microsoft.com/.default",
                      "https://api.securitycenter.microsoft.com")
TENANT = "11111111-2222-3333-4444-555555555555"


def identity(token_answers):
    """A fake login host: OpenID configuration, then the scripted token answers."""
    answers = list(token_answers)

    def handler(call):
        if call["url"].endswith("/v2.0/.well-known/openid-configuration"):
            return FakeResponse(200, {"authorization_endpoint": f"https://login.test/{TENANT}/oauth2/v2.0/authorize",
                                      "token_endpoint": f"https://login.test/{TENANT}/oauth2/v2.0/token",
                                      "issuer": f"https://login.test/{TENANT}/v2.0"})
        return answers.pop(0)
    return FakeSession(handler)


def token_answer(token="tok-1"):
    return FakeResponse(200, {"token_type": "Bearer", "expires_in": 3599, "access_token": token})


def test_roles_of_an_app_token():
    assert _auth.token_roles(make_jwt(roles=["Machine.Read.All"])) == {"Machine.Read.All"}
    assert _auth.token_roles(make_jwt()) == set()  # an app token without any application permission
    assert _auth.token_roles(make_jwt(scp="Machine.Read")) is None  # delegated: the API judges
    assert _auth.token_roles("opaque") is None


@pytest.mark.parametrize("roles, missing", [
    (["Machine.StopAndQuarantine", "Machine.Read.All"], []),
    (["Machine.StopAndQuarantine", "Machine.ReadWrite.All"], []),
    (["Machine.StopAndQuarantine"], ["Machine.Read.All or Machine.ReadWrite.All"]),
    (["Machine.Read.All"], ["Machine.StopAndQuarantine"]),
    ([], ["Machine.StopAndQuarantine", "Machine.Read.All or Machine.ReadWrite.All"]),
])
def test_stop_and_quarantine_needs_both_permissions(roles, missing):
    """microsoft-365-docs #6055: Machine.StopAndQuarantine AND one of the read permissions."""
    assert _auth.missing_roles(make_jwt(roles=roles), _auth.STOP_AND_QUARANTINE_ROLES) == missing


def test_static_token_strips_bearer_and_never_renews():
    provider = _auth.StaticTokenProvider("Bearer abc ")
    assert provider.get_token() == "abc"
    with pytest.raises(DefenderError, match="cannot be renewed"):
        provider.get_token(force_refresh=True)


def test_no_credentials_is_a_clear_error():
    with pytest.raises(ValueError, match="No credentials"):
        _auth.build_token_provider({}, ENDPOINTS, None)
    with pytest.raises(ValueError, match="needs tenant_id and client_id"):
        _auth.build_token_provider({"client_secret": "s"}, ENDPOINTS, None)


def test_access_token_wins_and_needs_no_msal(monkeypatch):
    monkeypatch.setattr(_auth, "_import_msal", lambda: pytest.fail("msal imported"))
    provider = _auth.build_token_provider({"access_token": "t", "client_secret": "s", "tenant_id": TENANT,
                                           "client_id": "c"}, ENDPOINTS, None)
    assert provider.method == "access_token" and provider.get_token() == "t"


def test_client_secret_through_msal_to_the_authority_with_the_scope():
    http = identity([token_answer("tok-1"), token_answer("tok-2")])
    provider = _auth.build_token_provider({"tenant_id": TENANT, "client_id": "app", "client_secret": "s3cret"},
                                          ENDPOINTS, http)
    assert provider.method == "client_secret"
    assert provider.get_token() == "tok-1"
    assert provider.get_token() == "tok-1"  # from msal's cache: no second request
    assert provider.get_token(force_refresh=True) == "tok-2"
    posts = [c for c in http.calls if c["method"] == "POST"]
    assert len(posts) == 2
    assert posts[0]["url"] == f"https://login.test/{TENANT}/oauth2/v2.0/token"
    assert posts[0]["data"]["scope"].endswith("https://api.securitycenter.microsoft.com/.default")
    assert posts[0]["data"]["client_secret"] == "s3cret"


def test_token_error_is_mapped_without_the_secret():
    http = identity([FakeResponse(401, {"error": "invalid_client", "error_description":
                                        "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x",
                                        "correlation_id": "corr-1"})])
    provider = _auth.build_token_provider({"tenant_id": TENANT, "client_id": "app", "client_secret": "s3cret"},
                                          ENDPOINTS, http)
    with pytest.raises(DefenderError) as info:
        provider.get_token()
    assert info.value.code == "invalid_client" and info.value.target == "corr-1"
    assert "AADSTS7000215" in str(info.value) and "s3cret" not in str(info.value) and "Trace ID" not in str(info.value)


def test_token_cache_file_is_0600_and_reused(tmp_path):
    path = str(tmp_path / "tokens.json")
    params = {"tenant_id": TENANT, "client_id": "app", "client_secret": "s", "token_cache_path": path}
    first = identity([token_answer("tok-1")])
    assert _auth.build_token_provider(params, ENDPOINTS, first).get_token() == "tok-1"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    second = identity([])  # a new task: the cached token is used, no request at all
    assert _auth.build_token_provider(params, ENDPOINTS, second).get_token() == "tok-1"
    assert not [c for c in second.calls if c["method"] == "POST"]


def test_token_cache_readable_by_others_is_refused(tmp_path):
    path = tmp_path / "tokens.json"
    path.write_text("{}")
    path.chmod(0o644)
    provider = _auth.build_token_provider({"tenant_id": TENANT, "client_id": "app", "client_secret": "s",
                                           "token_cache_path": str(path)}, ENDPOINTS, identity([]))
    with pytest.raises(DefenderError, match="chmod 600"):
        provider.get_token()


def _pem(tag: str, der: bytes) -> str:
    body = base64.b64encode(der).decode()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return f"-----BEGIN {tag}-----\n" + "\n".join(lines) + f"\n-----END {tag}-----\n"


def test_certificate_thumbprint_is_computed(tmp_path):
    der = b"fake-der-certificate"
    path = tmp_path / "app.pem"
    path.write_text(_pem("PRIVATE KEY", b"key") + _pem("CERTIFICATE", der))
    credential = _auth.load_certificate_credential(str(path), password="pw")
    assert credential["thumbprint"] == hashlib.sha1(der).hexdigest()
    assert credential["private_key"].startswith("-----BEGIN PRIVATE KEY-----")
    assert credential["passphrase"] == "pw"


def test_certificate_without_key_or_cert(tmp_path):
    only_cert = tmp_path / "cert.pem"
    only_cert.write_text(_pem("CERTIFICATE", b"x"))
    with pytest.raises(ValueError, match="holds no private key"):
        _auth.load_certificate_credential(str(only_cert))
    only_key = tmp_path / "key.pem"
    only_key.write_text(_pem("RSA PRIVATE KEY", b"x"))
    with pytest.raises(ValueError, match="holds no certificate"):
        _auth.load_certificate_credential(str(only_key))
    assert _auth.load_certificate_credential(str(only_key), thumbprint="AB:CD")["thumbprint"] == "abcd"
    with pytest.raises(ValueError, match="cannot read"):
        _auth.load_certificate_credential(str(tmp_path / "missing.pem"))


def test_tls_failure_on_the_token_request_says_tls():
    import requests  # pylint: disable=import-outside-toplevel

    def handler(call):
        raise requests.exceptions.SSLError("HTTPSConnectionPool(host='login.test'): Max retries exceeded "
                                           "(Caused by SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] "
                                           "certificate verify failed: self-signed certificate in certificate chain')))")
    provider = _auth.build_token_provider({"tenant_id": TENANT, "client_id": "app", "client_secret": "s"},
                                          ENDPOINTS, FakeSession(handler))
    with pytest.raises(DefenderError) as info:
        provider.get_token()
    assert info.value.code == "TLSError"
    assert "login.test" in str(info.value) and "self-signed certificate" in str(info.value) and "ca_path" in str(info.value)


def test_token_requests_are_counted_but_cache_hits_are_not():
    http = identity([token_answer("tok-1")])
    provider = _auth.build_token_provider({"tenant_id": TENANT, "client_id": "app", "client_secret": "s"}, ENDPOINTS, http)
    provider.get_token()
    provider.get_token()
    assert provider.requests_sent == 1
