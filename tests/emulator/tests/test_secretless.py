# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Managed identity (App Service endpoint) and workload identity federation, raw and through msal."""

from __future__ import annotations

import time

import msal
import pytest
from conftest import SCOPE
from test_identity import claims_of, pinned_session

RESOURCE = "https://api.securitycenter.microsoft.com"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def msi(emu, header=None, **params):
    query = {"api-version": "2019-08-01", "resource": RESOURCE, **params}
    mi_info = emu.info["managed_identity"]
    headers = {"X-IDENTITY-HEADER": mi_info["header"] if header is None else header}
    return emu.http.get(mi_info["endpoint"], params=query, headers=headers, verify=emu.ca, timeout=30)


def federated_token(emu, **body):
    resp = emu.control("POST", "federated-token", body)
    assert resp.status_code == 200, resp.text
    return resp.json()["token"]


def federated_request(emu, assertion, client="workload"):
    return emu.token_request({"grant_type": "client_credentials", "client_id": emu.client(client)["client_id"],
                              "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion, "scope": SCOPE})


def test_emulator_json_describes_the_identities(emu):
    mi_info = emu.info["managed_identity"]
    assert mi_info["endpoint"] == emu.url + "/msi/token" and len(mi_info["header"]) >= 16
    assert mi_info["identities"]["mi-system"]["type"] == "system"
    assert mi_info["identities"]["mi-user"]["type"] == "user"
    assert emu.client("workload")["federated"][0]["subject"] == "system:serviceaccount:soc:ansible"
    assert "client_secret" not in emu.client("workload")


def test_system_assigned_identity_token_has_its_roles(emu):
    resp = msi(emu)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    system = emu.info["managed_identity"]["identities"]["mi-system"]
    assert set(body) == {"access_token", "expires_on", "resource", "token_type", "client_id"}
    assert body["resource"] == RESOURCE and body["token_type"] == "Bearer" and body["client_id"] == system["client_id"]
    assert isinstance(body["expires_on"], str) and int(body["expires_on"]) - time.time() > 3000
    claims = claims_of(body["access_token"])
    assert claims["appid"] == system["client_id"] and claims["oid"] == system["object_id"]
    assert claims["roles"] == system["roles"] and claims["aud"] == RESOURCE
    assert emu.call("GET", "/api/machines", token=body["access_token"]).status_code == 200
    entry = emu.log()[0]
    assert entry["path"] == "/msi/token" and entry["status"] == 200 and entry["client_id"] == system["client_id"]
    assert emu.info["managed_identity"]["header"] not in str(entry)


def test_user_assigned_identity_by_client_id_or_object_id(emu):
    user = emu.info["managed_identity"]["identities"]["mi-user"]
    for params in ({"client_id": user["client_id"]}, {"principal_id": user["object_id"]}):
        resp = msi(emu, **params)
        assert resp.status_code == 200, resp.text
        assert claims_of(resp.json()["access_token"])["appid"] == user["client_id"]


@pytest.mark.parametrize("header, params, status, code, message", [
    ("wrong", {}, 401, "invalid_identity_header", "X-IDENTITY-HEADER header is missing or does not match"),
    ("", {}, 401, "invalid_identity_header", "X-IDENTITY-HEADER header is missing or does not match"),
    (None, {"api-version": "2017-09-01"}, 400, "unsupported_api_version", "api-version '2017-09-01' is not supported"),
    (None, {"resource": "https://vault.azure.net"}, 400, "invalid_resource", "AADSTS500011"),
    (None, {"client_id": "00000000-0000-0000-0000-000000000000"}, 400, "identity_not_found",
     "Unable to load the proper Managed Identity."),
])
def test_managed_identity_errors(emu, header, params, status, code, message):
    resp = msi(emu, header=header, **params)
    assert resp.status_code == status
    assert message in resp.json()["message"] and resp.json()["statusCode"] == status
    assert emu.log()[-1]["error_code"] == code


def test_msal_managed_identity_client_on_app_service(emu, monkeypatch):
    monkeypatch.setenv("IDENTITY_ENDPOINT", emu.info["managed_identity"]["endpoint"])
    monkeypatch.setenv("IDENTITY_HEADER", emu.info["managed_identity"]["header"])
    user = emu.info["managed_identity"]["identities"]["mi-user"]
    client = msal.ManagedIdentityClient(msal.UserAssignedManagedIdentity(client_id=user["client_id"]),
                                        http_client=pinned_session(emu.ca))
    result = client.acquire_token_for_client(resource=RESOURCE)
    assert "access_token" in result, result
    assert 3000 < result["expires_in"] <= 3599
    assert claims_of(result["access_token"])["appid"] == user["client_id"]
    monkeypatch.setenv("IDENTITY_HEADER", "stale-header")
    fresh = msal.ManagedIdentityClient(msal.SystemAssignedManagedIdentity(), http_client=pinned_session(emu.ca))
    failed = fresh.acquire_token_for_client(resource=RESOURCE)
    assert "access_token" not in failed and "X-IDENTITY-HEADER" in failed["error_description"]


def test_federated_token_gets_an_access_token(emu):
    resp = federated_request(emu, federated_token(emu))
    assert resp.status_code == 200, resp.text
    claims = claims_of(resp.json()["access_token"])
    workload = emu.client("workload")
    assert claims["appid"] == workload["client_id"] and claims["roles"] == workload["roles"]
    assert emu.call("GET", "/api/machines", token=resp.json()["access_token"]).status_code == 200
    entry = emu.log()[0]
    assert entry["client_id"] == workload["client_id"] and entry["body"]["client_assertion"] == "***"


@pytest.mark.parametrize("mint, status, aadsts, message", [
    ({"lifetime": -3600}, 401, 700024, "Client assertion is not within its valid time range"),
    ({"subject": "system:serviceaccount:default:other"}, 400, 70021, "No matching federated identity record found"),
    ({"issuer": "https://token.actions.githubusercontent.com"}, 400, 70021, "No matching federated identity record found"),
    ({"audience": "api://something-else"}, 400, 700212, "No matching federated identity record found for presented assertion audience"),
])
def test_federated_token_refusals(emu, mint, status, aadsts, message):
    resp = federated_request(emu, federated_token(emu, **mint))
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["error"] == "invalid_client" and body["error_codes"] == [aadsts]
    assert ("AADSTS%d: %s" % (aadsts, message)) in body["error_description"]


def test_federated_token_signed_by_another_key_is_refused(emu):
    header, payload, _signature = federated_token(emu).split(".")
    forged = header + "." + payload + "." + federated_token(emu, issuer="https://evil.example").split(".")[2]
    resp = federated_request(emu, forged)
    assert resp.status_code == 401 and resp.json()["error_codes"] == [700027]


def test_certificate_assertions_still_work_for_federated_clients_and_others(emu):
    # A federated token for an app without federated credentials falls to the certificate checks.
    resp = federated_request(emu, federated_token(emu), client="cert")
    assert resp.status_code == 401 and resp.json()["error_codes"] == [700027]


def test_msal_with_a_callable_assertion(emu):
    tokens = iter([federated_token(emu), federated_token(emu, lifetime=-3600)])
    app = msal.ConfidentialClientApplication(emu.client("workload")["client_id"],
                                             client_credential={"client_assertion": lambda: next(tokens)},
                                             authority="%s/%s" % (emu.url, emu.tenant), instance_discovery=False,
                                             http_client=pinned_session(emu.ca))
    assert "access_token" in app.acquire_token_for_client([SCOPE])
    for token in list(app.token_cache.search(app.token_cache.CredentialType.ACCESS_TOKEN)):
        app.token_cache.remove_at(token)
    stale = app.acquire_token_for_client([SCOPE])
    assert stale["error"] == "invalid_client" and "AADSTS700024" in stale["error_description"]
