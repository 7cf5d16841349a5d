# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import base64
import errno
import hashlib
import json
import os
import socket
import stat
import tempfile
from collections import namedtuple

import pytest
import requests

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


def secret_params(**extra):
    return {"tenant_id": TENANT, "client_id": "app", "client_secret": "s", **extra}


def test_roles_of_an_app_token():
    assert _auth.token_roles(make_jwt(roles=["Machine.Read.All"])) == {"Machine.Read.All"}
    assert _auth.token_roles(make_jwt()) == set()  # an app token without any application permission
    assert _auth.token_roles(make_jwt(scp="Machine.Read")) is None  # delegated: the API judges
    assert _auth.token_roles("opaque") is None


@pytest.mark.parametrize("token", [
    make_jwt(scp="Machine.Read Machine.StopAndQuarantine"),
    make_jwt(scp="Machine.Read", roles=["Machine.Read.All"]),  # both claims: a user's token, the user's rights decide
    make_jwt(scp=""),  # an empty scp is still a delegated token
], ids=["scp", "scp-and-roles", "empty-scp"])
def test_a_delegated_token_is_never_refused_by_the_preflight(token):
    """A user token carries scp (and the user's portal role decides); only the API can judge it."""
    assert _auth.token_roles(token) is None
    assert _auth.missing_roles(token, _auth.STOP_AND_QUARANTINE_ROLES) == []
    assert _auth.permission_warnings(token, _auth.STOP_AND_QUARANTINE_ROLES) == []


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


@pytest.mark.parametrize("requirement", [_auth.STOP_AND_QUARANTINE_ROLES, _auth.MACHINE_ACTION_READ_ROLES,
                                         _auth.FILE_MACHINES_ROLES])
def test_read_all_alone_is_accepted_with_a_warning_to_grant_read_write(requirement):
    """Microsoft's live pages (Nov 2025+) list Machine.ReadWrite.All, not Read.All, for these calls."""
    token = make_jwt(roles=["Machine.StopAndQuarantine", "Machine.Read.All"])
    assert _auth.missing_roles(token, requirement) == []
    warnings = _auth.permission_warnings(token, requirement)
    assert len(warnings) == 1
    assert warnings[0].startswith("The token has Machine.Read.All but not Machine.ReadWrite.All")
    assert "Grant Machine.ReadWrite.All" in warnings[0]


@pytest.mark.parametrize("roles", [["Machine.StopAndQuarantine", "Machine.ReadWrite.All"],
                                   ["Machine.StopAndQuarantine", "Machine.Read.All", "Machine.ReadWrite.All"]])
def test_read_write_gets_no_warning(roles):
    assert _auth.permission_warnings(make_jwt(roles=roles), _auth.STOP_AND_QUARANTINE_ROLES) == []


def test_get_machines_still_lists_read_all_so_no_warning():
    assert _auth.permission_warnings(make_jwt(roles=["Machine.Read.All"]), _auth.MACHINE_READ_ROLES) == []


def test_a_missing_permission_is_reported_by_missing_roles_not_as_a_warning():
    token = make_jwt(roles=["Machine.StopAndQuarantine"])
    assert _auth.permission_warnings(token, _auth.STOP_AND_QUARANTINE_ROLES) == []
    assert _auth.permission_warnings("opaque", _auth.STOP_AND_QUARANTINE_ROLES) == []


# --- access_token ------------------------------------------------------------------------------------------
NOW = 1_800_000_000  # 2027-01-15 08:00:00 UTC


def test_static_token_strips_bearer_and_never_renews():
    provider = _auth.StaticTokenProvider("Bearer abc ")
    assert provider.get_token() == "abc"
    with pytest.raises(DefenderError, match="cannot be renewed") as info:
        provider.get_token(force_refresh=True)
    assert info.value.status == 401 and info.value.code == "Unauthorized"


def test_an_expired_access_token_says_when_it_expired_and_how_to_fix_it():
    provider = _auth.StaticTokenProvider(make_jwt(exp=NOW - 300), now=lambda: NOW)
    with pytest.raises(DefenderError) as info:
        provider.get_token(force_refresh=True)
    assert info.value.message == ("The access_token expired at 2027-01-15 07:55:00 UTC (5 min ago) and cannot be "
                                  "renewed: obtain a new access_token or give client credentials (client_id/client_secret) "
                                  "so the module can renew it")


def test_a_rejected_access_token_that_has_not_expired_says_so():
    provider = _auth.StaticTokenProvider(make_jwt(exp=NOW + 600), now=lambda: NOW)
    with pytest.raises(DefenderError) as info:
        provider.get_token(force_refresh=True)
    assert "was rejected although its exp claim says it is valid until 2027-01-15 08:10:00 UTC" in info.value.message
    assert "revoked or be for another tenant, cloud or API" in info.value.message


def test_an_opaque_access_token_cannot_say_when():
    with pytest.raises(DefenderError, match="rejected as invalid or expired and cannot be renewed: obtain a new access_token"):
        _auth.StaticTokenProvider("opaque", now=lambda: NOW).get_token(force_refresh=True)


# --- audience ----------------------------------------------------------------------------------------------
COMMERCIAL = "https://api.securitycenter.microsoft.com"


@pytest.mark.parametrize("aud, expected", [
    ("https://api.securitycenter.microsoft.com", COMMERCIAL),
    ("HTTPS://API.SecurityCenter.Microsoft.com/", COMMERCIAL),  # case and a trailing slash do not matter
    ("https://api.securitycenter.microsoft.com", COMMERCIAL + "/.default"),  # a scope is accepted as the resource
    ("https://securitycenter.onmicrosoft.com/windowsatpservice", COMMERCIAL),  # the same API's other identifier URI
    ("fc780465-2017-40d4-a0c5-307022471b92", COMMERCIAL),  # the WindowsDefenderATP appId
    (["https://graph.microsoft.com", COMMERCIAL], COMMERCIAL),
    ("https://api-gov.securitycenter.microsoft.us", "https://securitycenter.onmicrosoft.us/windowsatpservice"),
])
def test_a_token_for_defender_is_no_audience_mismatch(aud, expected):
    assert _auth.audience_mismatch(make_jwt(aud=aud), expected) is None


@pytest.mark.parametrize("aud, expected", [
    ("https://graph.microsoft.com", COMMERCIAL),
    ("00000003-0000-0000-c000-000000000000", COMMERCIAL),  # Microsoft Graph's appId
    ("https://securitycenter.onmicrosoft.us/windowsatpservice", COMMERCIAL),  # a US Government token
    (COMMERCIAL, "https://securitycenter.onmicrosoft.us/windowsatpservice/.default"),
])
def test_a_token_for_another_api_is_an_audience_mismatch(aud, expected):
    assert _auth.audience_mismatch(make_jwt(aud=aud), expected) == aud


def test_audience_of_an_opaque_token_or_without_aud_is_unknown():
    assert _auth.audience_mismatch("opaque", COMMERCIAL) is None
    assert _auth.audience_mismatch(make_jwt(aud=""), COMMERCIAL) is None


def test_the_provider_gives_the_audience_hint_for_a_403():
    provider = _auth.build_token_provider({"access_token": "t"}, ENDPOINTS, None)
    assert provider.audience_hint(make_jwt()) is None
    hint = provider.audience_hint(make_jwt(aud="https://graph.microsoft.com/"))
    assert hint == ("The token's audience is https://graph.microsoft.com/, the API expects "
                    "https://api.securitycenter.microsoft.com: check scope and cloud (or where the access_token was obtained).")
    error = DefenderError("The application does not have any of the required permissions", status=403,
                          code="Forbidden", extra_hint=hint)
    assert str(error).endswith(hint)


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


def test_client_secret_file_is_read_and_sent_like_the_secret(tmp_path):
    secret_file = tmp_path / "client_secret"
    secret_file.write_text("s3cret~.value\n")  # a line ending is not part of the secret
    http = identity([token_answer("tok-1")])
    provider = _auth.build_token_provider({"tenant_id": TENANT, "client_id": "app", "client_secret_file": str(secret_file)},
                                          ENDPOINTS, http)
    assert provider.method == "client_secret" and provider.get_token() == "tok-1"
    [post] = [c for c in http.calls if c["method"] == "POST"]
    assert post["data"]["client_secret"] == "s3cret~.value"


def test_client_secret_file_counts_for_auto_and_reading_twice_reads_once(tmp_path):
    secret_file = tmp_path / "client_secret"
    secret_file.write_text("s")
    params = {"tenant_id": TENANT, "client_id": "app", "client_secret_file": str(secret_file)}
    assert _auth.choose_auth_method(params) == "client_secret"
    resolved = _auth.read_secret_files(params)
    assert resolved["client_secret"] == "s" and "client_secret_file" not in resolved
    secret_file.unlink()
    assert _auth.read_secret_files(resolved) == resolved, "an already resolved dict is not read again"
    assert params["client_secret_file"] == str(secret_file), "the caller's dict is left as it was"


def test_certificate_password_file_reaches_the_certificate(tmp_path):
    pem = tmp_path / "app.pem"
    pem.write_text(_pem("ENCRYPTED PRIVATE KEY", b"key") + _pem("CERTIFICATE", b"der"))
    password_file = tmp_path / "passphrase"
    password_file.write_text("pass phrase\r\n")
    resolved = _auth.read_secret_files({"client_certificate_path": str(pem),
                                        "client_certificate_password_file": str(password_file)})
    assert resolved["client_certificate_password"] == "pass phrase"
    assert _auth.load_certificate_credential(resolved["client_certificate_path"],
                                             resolved["client_certificate_password"])["passphrase"] == "pass phrase"


@pytest.mark.parametrize("content, params, message", [
    (None, {}, r"client_secret_file .*/missing: cannot read the file \(No such file or directory\)"),
    ("", {}, r"client_secret_file .*/secret is empty"),
    ("\n", {}, r"client_secret_file .*/secret is empty"),
    (b"\xff\xfe", {}, r"client_secret_file .*/secret: cannot read the file \(UnicodeDecodeError\)"),
    ("s", {"client_secret": "other"}, r"client_secret and client_secret_file are both set \(AZURE_CLIENT_SECRET and "
                                      r"DEFENDER_CLIENT_SECRET_FILE count too\): give one"),
], ids=["missing", "empty", "only-a-newline", "not-text", "both"])
def test_a_secret_file_that_cannot_be_used_fails_before_any_request(tmp_path, content, params, message):
    path = tmp_path / ("missing" if content is None else "secret")
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    http = FakeSession(lambda call: pytest.fail(f"a request was sent: {call['url']}"))
    with pytest.raises(ValueError, match=message) as info:
        _auth.build_token_provider({"tenant_id": TENANT, "client_id": "app", "client_secret_file": str(path), **params},
                                   ENDPOINTS, http)
    assert "other" not in str(info.value)
    assert http.calls == []


def test_a_directory_as_secret_file_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match=r"client_certificate_password_file .*: cannot read the file \(Is a directory\)"):
        _auth.read_secret_files({"client_certificate_password_file": str(tmp_path)})


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


@pytest.mark.parametrize("status, code, description", [
    (401, "invalid_client", "AADSTS7000215: Invalid client secret provided."),
    (400, "invalid_request", "AADSTS900144: The request body must contain the following parameter: 'grant_type'."),
    (400, "invalid_scope", "AADSTS1002012: The provided value for scope https://x/.default is not valid."),
    (400, "unauthorized_client", "AADSTS700016: Application with identifier 'app' was not found in the directory."),
])
def test_token_errors_report_the_status_the_service_answered(status, code, description):
    http = identity([FakeResponse(status, {"error": code, "error_description": description + "\r\nTrace ID: x"})])
    with pytest.raises(DefenderError) as info:
        _auth.build_token_provider(secret_params(), ENDPOINTS, http).get_token()
    assert (info.value.status, info.value.code) == (status, code)
    assert info.value.message == f"Token request to https://login.test/{TENANT} failed: {description}"


def discovery_answer(answer):
    """A login host whose OpenID discovery gets `answer`; a token request would fail the test."""
    def handler(call):
        if call["url"].endswith("/v2.0/.well-known/openid-configuration"):
            return answer
        raise AssertionError(f"unexpected {call['method']} {call['url']}")
    return FakeSession(handler)


def test_wrong_tenant_is_named_with_the_option_to_fix():
    """Entra ID answers discovery for an unknown tenant with 400 invalid_tenant; msal only raises a ValueError."""
    http = discovery_answer(FakeResponse(400, {
        "error": "invalid_tenant", "error_codes": [90002], "correlation_id": "corr-9",
        "error_description": f"AADSTS90002: Tenant '{TENANT}' not found. Check to make sure you have the correct "
                             "tenant ID and are signing into the correct cloud.\r\nTrace ID: t\r\nCorrelation ID: corr-9"}))
    with pytest.raises(DefenderError) as info:
        _auth.build_token_provider(secret_params(), ENDPOINTS, http).get_token()
    error = info.value
    assert (error.status, error.code, error.target) == (400, "invalid_tenant", "corr-9")
    assert error.message == (f"Tenant {TENANT} was not found at https://login.test (AADSTS90002): check tenant_id "
                             "(AZURE_TENANT_ID) and cloud")
    assert "Authority would typically be" not in str(error) and "set cloud" in error.hint


def test_malformed_tenant_keeps_entra_ids_reason():
    http = discovery_answer(FakeResponse(400, {
        "error": "invalid_request", "error_description": "AADSTS900023: Specified tenant identifier 'not a tenant' is "
                                                         "neither a valid DNS name, nor a valid external domain.\r\nTrace ID: t"}))
    with pytest.raises(DefenderError) as info:
        _auth.build_token_provider(secret_params(tenant_id="not a tenant"), ENDPOINTS, http).get_token()
    assert (info.value.status, info.value.code) == (400, "invalid_request")
    assert info.value.message.endswith("failed: AADSTS900023: Specified tenant identifier 'not a tenant' is neither a "
                                       "valid DNS name, nor a valid external domain.")


def test_authority_url_that_is_no_login_host():
    http = discovery_answer(FakeResponse(404, None))
    with pytest.raises(DefenderError) as info:
        _auth.build_token_provider(secret_params(), ENDPOINTS, http).get_token()
    assert (info.value.status, info.value.code) == (404, "InvalidAuthority")
    assert info.value.message == (f"https://login.test is not a login authority: its OpenID configuration "
                                  f"https://login.test/{TENANT}/v2.0/.well-known/openid-configuration answered HTTP 404: "
                                  "check authority_url and tenant_id")


def test_login_host_unavailable():
    with pytest.raises(DefenderError) as info:
        _auth.build_token_provider(secret_params(), ENDPOINTS, discovery_answer(FakeResponse(503, None))).get_token()
    assert (info.value.status, info.value.code) == (503, "AuthenticationFailed")
    assert "answered HTTP 503 to GET https://login.test/" in info.value.message


def _real_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    return session


def test_refused_login_endpoint_names_it_and_the_options():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
    port = sock.getsockname()[1]
    endpoints = ENDPOINTS._replace(authority_url=f"https://127.0.0.1:{port}")
    try:
        with pytest.raises(DefenderError) as info:
            _auth.build_token_provider(secret_params(), endpoints, _real_session()).get_token()
    finally:
        sock.close()
    assert info.value.code == "ConnectionRefused"
    assert info.value.message == (f"Connection refused by 127.0.0.1:{port} (GET https://127.0.0.1:{port}/{TENANT}/v2.0/"
                                  ".well-known/openid-configuration): check authority_url and proxy")


def test_unresolvable_login_host():
    endpoints = ENDPOINTS._replace(authority_url="https://nonexistent.invalid")
    with pytest.raises(DefenderError) as info:
        _auth.build_token_provider(secret_params(), endpoints, _real_session()).get_token()
    assert info.value.code == "NameResolutionError"
    assert info.value.message.startswith("The host name nonexistent.invalid could not be resolved (GET https://")


# --- token_cache_path --------------------------------------------------------------------------------------
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


def test_token_cache_in_a_missing_directory_creates_it_0700(tmp_path):
    path = tmp_path / "new" / "tokens.json"
    provider = _auth.build_token_provider(secret_params(token_cache_path=str(path)), ENDPOINTS, identity([token_answer()]))
    assert provider.get_token() == "tok-1"
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_token_cache_under_a_file_fails_before_any_request(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    path = blocker / "sub" / "tokens.json"
    http = identity([])
    provider = _auth.build_token_provider(secret_params(token_cache_path=str(path)), ENDPOINTS, http)
    with pytest.raises(DefenderError) as info:
        provider.get_token()
    assert info.value.code == "TokenCacheError"
    assert info.value.message == f"token_cache_path {path}: cannot create its directory {path.parent} (Not a directory)"
    assert not http.calls


def test_token_cache_in_a_directory_we_cannot_write(tmp_path, monkeypatch):
    path = tmp_path / "tokens.json"
    directory = str(tmp_path)
    real_access = os.access
    # As root (CI containers) a mode-0500 directory is still writable, so the answer of access(2) is stood in for.
    monkeypatch.setattr(os, "access", lambda p, mode: False if p == directory else real_access(p, mode))
    http = identity([])
    with pytest.raises(DefenderError) as info:
        _auth.build_token_provider(secret_params(token_cache_path=str(path)), ENDPOINTS, http).get_token()
    assert info.value.code == "TokenCacheError"
    assert info.value.message == f"token_cache_path {path}: cannot write to its directory {tmp_path} (Permission denied)"
    assert not http.calls


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write a read-only directory")
def test_token_cache_in_a_read_only_directory(tmp_path):
    directory = tmp_path / "ro"
    directory.mkdir(mode=0o500)
    with pytest.raises(DefenderError, match=r"cannot write to its directory .*ro \(Permission denied\)"):
        _auth.build_token_provider(secret_params(token_cache_path=str(directory / "t.json")), ENDPOINTS,
                                   identity([])).get_token()


def test_token_cache_that_cannot_be_written_names_the_os_reason(tmp_path, monkeypatch):
    def refuse(**kwargs):
        raise PermissionError(errno.EROFS, os.strerror(errno.EROFS), kwargs.get("dir"))
    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    path = tmp_path / "tokens.json"
    with pytest.raises(DefenderError) as info:
        _auth.build_token_provider(secret_params(token_cache_path=str(path)), ENDPOINTS, identity([token_answer()])).get_token()
    assert info.value.code == "TokenCacheError"
    assert info.value.message == f"token_cache_path {path}: cannot be written (Read-only file system)"


def test_token_cache_path_that_is_a_directory(tmp_path):
    with pytest.raises(DefenderError, match="is not a regular file") as info:
        _auth.build_token_provider(secret_params(token_cache_path=str(tmp_path)), ENDPOINTS, identity([])).get_token()
    assert info.value.code == "TokenCacheError"


@pytest.mark.parametrize("content, problem", [
    (b"{not json", "not JSON"),
    (b"[1, 2]", "not the token cache format"),
    (b'{"AccessToken": []}', "not the token cache format"),
    (b"\xff\xfe\x00garbage", "not UTF-8 text"),
])
def test_corrupt_token_cache_is_replaced_with_a_warning(tmp_path, content, problem):
    path = tmp_path / "tokens.json"
    path.write_bytes(content)
    path.chmod(0o600)
    provider = _auth.build_token_provider(secret_params(token_cache_path=str(path)), ENDPOINTS, identity([token_answer()]))
    assert provider.get_token() == "tok-1"
    assert provider.warnings == [f"token_cache_path {path} is not a valid token cache ({problem}); starting a new one"]
    assert "AccessToken" in json.loads(path.read_text())  # overwritten with a real cache
    again = identity([])
    assert _auth.build_token_provider(secret_params(token_cache_path=str(path)), ENDPOINTS, again).get_token() == "tok-1"
    assert not again.calls_to("POST", "/token")


def test_warnings_go_to_warn_when_given(tmp_path):
    path = tmp_path / "tokens.json"
    path.write_text("garbage")
    path.chmod(0o600)
    shown = []
    provider = _auth.build_token_provider(secret_params(token_cache_path=str(path)), ENDPOINTS, identity([token_answer()]),
                                          warn=shown.append)
    provider.get_token()
    assert shown == [f"token_cache_path {path} is not a valid token cache (not JSON); starting a new one"]
    assert provider.warnings == []


def test_an_empty_token_cache_file_is_a_new_cache_without_warning(tmp_path):
    path = tmp_path / "tokens.json"
    path.write_text("")
    path.chmod(0o600)
    provider = _auth.build_token_provider(secret_params(token_cache_path=str(path)), ENDPOINTS, identity([token_answer()]))
    assert provider.get_token() == "tok-1" and provider.warnings == []


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


class _HtmlAnswer(FakeResponse):
    """What a proxy or gateway sends instead of Entra ID's JSON."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.text = "<html>gateway</html>"

    def json(self):
        raise ValueError("not JSON")


@pytest.mark.parametrize("status, code, text", [
    (502, "AuthenticationFailed", f"The login endpoint answered HTTP 502 to POST https://login.test/{TENANT}/oauth2/v2.0/token"),
    (407, "AuthenticationFailed", "answered HTTP 407 without a token error: check proxy and authority_url"),
])
def test_a_token_answer_that_is_not_json_reports_its_status(status, code, text):
    with pytest.raises(DefenderError) as info:
        _auth.build_token_provider(secret_params(), ENDPOINTS, identity([_HtmlAnswer(status)])).get_token()
    assert (info.value.status, info.value.code) == (status, code)
    assert text in info.value.message
