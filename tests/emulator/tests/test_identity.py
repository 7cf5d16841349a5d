# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Token endpoint and discovery, through raw requests and through msal (secret and certificate)."""

from __future__ import annotations

import base64
import json
import pathlib
import time

import msal
import pytest
import requests
from conftest import SCOPE
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def claims_of(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def pinned_session(ca_path: str) -> requests.Session:
    """msal's http_client: force verify=ca_path per request, as REQUESTS_CA_BUNDLE would win otherwise."""
    class Pinned(requests.Session):
        def request(self, *args, **kwargs):  # pylint: disable=arguments-differ
            kwargs["verify"] = ca_path
            return super().request(*args, **kwargs)
    return Pinned()


def msal_app(emu, client_id, credential):
    return msal.ConfidentialClientApplication(client_id, client_credential=credential, authority="%s/%s" % (emu.url, emu.tenant),
                                              instance_discovery=False, http_client=pinned_session(emu.ca))


def test_openid_configuration(emu):
    resp = emu.http.get("%s/%s/v2.0/.well-known/openid-configuration" % (emu.url, emu.tenant), verify=emu.ca)
    assert resp.status_code == 200
    config = resp.json()
    assert config["token_endpoint"] == "%s/%s/oauth2/v2.0/token" % (emu.url, emu.tenant)
    assert config["token_endpoint"].startswith("https://")
    for key in ("authorization_endpoint", "issuer", "jwks_uri"):
        assert config[key]
    assert emu.http.get(config["jwks_uri"], verify=emu.ca).json()["keys"][0]["kty"] == "RSA"
    unknown = emu.http.get("%s/not-a-tenant/v2.0/.well-known/openid-configuration" % emu.url, verify=emu.ca)
    assert unknown.status_code == 400


def test_msal_client_secret(emu, monkeypatch):
    # The CA bundle exported on the machine points elsewhere: only the per-request verify makes this work.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    trapped = requests.Session()
    trapped.verify = emu.ca  # ignored: the environment's bundle wins when a call passes no verify
    with pytest.raises(requests.exceptions.SSLError):
        trapped.get("%s/%s/v2.0/.well-known/openid-configuration" % (emu.url, emu.tenant), timeout=10)
    client = emu.client("full")
    result = msal_app(emu, client["client_id"], client["client_secret"]).acquire_token_for_client([SCOPE])
    assert "access_token" in result, result
    assert result["token_type"] == "Bearer"
    assert result["expires_in"] == 3599
    claims = claims_of(result["access_token"])
    assert claims["aud"] == "https://api.securitycenter.microsoft.com"
    assert claims["iss"] == "https://sts.windows.net/%s/" % emu.tenant
    assert claims["tid"] == emu.tenant and claims["appid"] == client["client_id"]
    assert claims["roles"] == client["roles"] and claims["oid"]
    assert claims["exp"] - claims["iat"] == 3599 and claims["nbf"] <= claims["iat"]
    assert emu.call("GET", "/api/machines", token=result["access_token"]).status_code == 200


def test_msal_certificate_sha1_thumbprint(emu):
    client = emu.client("cert")
    pem = pathlib.Path(client["certificate_path"]).read_text(encoding="ascii")
    result = msal_app(emu, client["client_id"], {"private_key": pem, "thumbprint": client["thumbprint"]}).acquire_token_for_client([SCOPE])
    assert "access_token" in result, result
    assert claims_of(result["access_token"])["appid"] == client["client_id"]
    assert emu.call("GET", "/api/machines", token=result["access_token"]).status_code == 200
    token_calls = [e for e in emu.log() if e["path"].endswith("/oauth2/v2.0/token")]
    assert token_calls[-1]["client_id"] == client["client_id"]
    assert token_calls[-1]["body"]["client_assertion"] == "***"


def test_msal_certificate_public_certificate_sha256(emu):
    """With only public_certificate, msal 1.3x signs PS256 with an x5t#S256 header: accepted too."""
    client = emu.client("cert")
    pem = pathlib.Path(client["certificate_path"]).read_text(encoding="ascii")
    cert_only = pem[:pem.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")]
    app = msal_app(emu, client["client_id"], {"private_key": pem, "public_certificate": cert_only})
    result = app.acquire_token_for_client([SCOPE])
    assert "access_token" in result, result


def test_wrong_secret_is_invalid_client(emu):
    client = emu.client("full")
    result = msal_app(emu, client["client_id"], "not-the-secret").acquire_token_for_client([SCOPE])
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [7000215]
    assert result["error_description"].startswith("AADSTS7000215: Invalid client secret provided.")
    resp = emu.token_request({"grant_type": "client_credentials", "client_id": client["client_id"], "client_secret": "x", "scope": SCOPE})
    assert resp.status_code == 401
    assert {"error", "error_description", "error_codes", "timestamp", "trace_id", "correlation_id"} <= set(resp.json())


def test_unknown_client(emu):
    resp = emu.token_request({"grant_type": "client_credentials", "client_id": "00000000-1111-4222-8333-444444444444",
                              "client_secret": "x", "scope": SCOPE})
    assert resp.status_code == 400
    assert resp.json()["error"] == "unauthorized_client" and resp.json()["error_codes"] == [700016]


def test_assertion_signed_by_another_key_is_rejected(emu):
    client = emu.client("cert")
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other_pem = other_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()).decode()
    # Right thumbprint, wrong key: the signature check must fail.
    result = msal_app(emu, client["client_id"], {"private_key": other_pem, "thumbprint": client["thumbprint"]}).acquire_token_for_client([SCOPE])
    assert result["error"] == "invalid_client" and result["error_codes"] == [700027]
    # Unknown thumbprint: also 700027.
    result = msal_app(emu, client["client_id"], {"private_key": other_pem, "thumbprint": "ab" * 20}).acquire_token_for_client([SCOPE])
    assert result["error_codes"] == [700027]


def _assertion(key, thumbprint_hex: str, claims: dict) -> str:
    def enc(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    header = {"alg": "RS256", "typ": "JWT", "x5t": enc(bytes.fromhex(thumbprint_hex))}
    signing_input = enc(json.dumps(header).encode()) + "." + enc(json.dumps(claims).encode())
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + enc(signature)


@pytest.mark.parametrize("change, code", [({"aud": "https://login.microsoftonline.com/x/oauth2/v2.0/token"}, 700024),
                                          ({"exp": 1000}, 700024),
                                          ({"iss": "someone-else"}, 700021)])
def test_assertion_claims_are_checked(emu, change, code):
    client = emu.client("cert")
    key = serialization.load_pem_private_key(pathlib.Path(client["certificate_path"]).read_bytes(), None)
    now = time.time()
    claims = {"aud": "%s/%s/oauth2/v2.0/token" % (emu.url, emu.tenant), "iss": client["client_id"], "sub": client["client_id"],
              "exp": now + 600, "iat": now, "jti": "1"}
    claims.update(change)
    resp = emu.token_request({"grant_type": "client_credentials", "client_id": client["client_id"], "scope": SCOPE,
                              "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                              "client_assertion": _assertion(key, client["thumbprint"], claims)})
    assert resp.status_code == 401
    assert resp.json()["error_codes"] == [code]
    claims.update({"aud": "%s/%s/oauth2/v2.0/token" % (emu.url, emu.tenant), "exp": now + 600, "iss": client["client_id"]})
    ok = emu.token_request({"grant_type": "client_credentials", "client_id": client["client_id"], "scope": SCOPE,
                            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                            "client_assertion": _assertion(key, client["thumbprint"], claims)})
    assert ok.status_code == 200, ok.text


@pytest.mark.parametrize("scope", ["https://api.securitycenter.microsoft.com/.default", "https://api.security.microsoft.com/.default",
                                   "https://securitycenter.onmicrosoft.com/windowsatpservice/.default",
                                   "https://api-gcc.securitycenter.microsoft.us/.default",
                                   "https://api-gov.securitycenter.microsoft.us/.default",
                                   "https://securitycenter.onmicrosoft.us/windowsatpservice/.default"])
def test_every_defender_resource_is_a_valid_scope(emu, scope):
    """Entra issues a token for each; the API (commercial by default) takes only its own two audiences."""
    token = emu.token("full", scope)
    assert claims_of(token)["aud"] == scope[:-len("/.default")]
    commercial = ("https://api.securitycenter.microsoft.com/.default", "https://securitycenter.onmicrosoft.com/windowsatpservice/.default")
    assert emu.call("GET", "/api/machines", token=token).status_code == (200 if scope in commercial else 403)


@pytest.mark.parametrize("scope", ["https://example.com/.default", "https://api.securitycenter.microsoft.com",
                                   "https://api.securitycenter.microsoft.com/Machine.Read.All", ""])
def test_invalid_scope(emu, scope):
    client = emu.client("full")
    resp = emu.token_request({"grant_type": "client_credentials", "client_id": client["client_id"],
                              "client_secret": client["client_secret"], "scope": scope})
    assert resp.status_code == 400
    assert resp.json()["error"] in ("invalid_scope", "invalid_request")


def test_unsupported_grant(emu):
    resp = emu.token_request({"grant_type": "authorization_code", "client_id": emu.client("full")["client_id"], "scope": SCOPE})
    assert resp.status_code == 400 and resp.json()["error"] == "unsupported_grant_type"


def test_token_lifetime_and_expiry_on_the_emulated_clock(emu):
    emu.config(token_lifetime=2, time_scale=10)
    resp = emu.token_request({"grant_type": "client_credentials", "client_id": emu.client("full")["client_id"],
                              "client_secret": emu.client("full")["client_secret"], "scope": SCOPE})
    assert resp.json()["expires_in"] == 1  # real seconds, never below 1
    token = resp.json()["access_token"]
    assert emu.call("GET", "/api/machines", token=token).status_code == 200
    time.sleep(0.3)
    resp = emu.call("GET", "/api/machines", token=token)
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "Unauthorized"


def test_v1_token_endpoint_with_resource(emu):
    client = emu.client("full")
    form = {"grant_type": "client_credentials", "client_id": client["client_id"], "client_secret": client["client_secret"],
            "resource": "https://api.securitycenter.microsoft.com"}
    resp = emu.http.post("%s/%s/oauth2/token" % (emu.url, emu.tenant), data=form, verify=emu.ca)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["expires_in"] == "3599" and body["resource"] == "https://api.securitycenter.microsoft.com"
    assert emu.call("GET", "/api/machines", token=body["access_token"]).status_code == 200
    form["resource"] = "https://example.com"
    bad = emu.http.post("%s/%s/oauth2/token" % (emu.url, emu.tenant), data=form, verify=emu.ca)
    assert bad.status_code == 400 and bad.json()["error_codes"] == [500011]
