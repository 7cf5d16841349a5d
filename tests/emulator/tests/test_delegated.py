# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Delegated (user) tokens: ROPC as in the native-app doc, /_emulator/tokens/delegated, and scp-based checks (reference §5)."""

from __future__ import annotations

import warnings

import msal
import pytest
from conftest import DEMO_SHA1, MACHINES, error_of
from test_identity import claims_of, pinned_session

API = "https://api.securitycenter.microsoft.com"
UPN = "analyst@contoso.onmicrosoft.com"
QUARANTINE_PATH = "/api/machines/%s/StopAndQuarantineFile" % MACHINES["desk-01"]


def ropc(emu, scope, username=UPN, password=None, client="native", **extra):
    form = {"grant_type": "password", "client_id": emu.client(client)["client_id"], "scope": scope, "username": username,
            "password": emu.info["users"]["analyst"]["password"] if password is None else password, **extra}
    return emu.token_request(form)


def user_token(emu, *permissions, **body):
    resp = emu.control("POST", "tokens/delegated", {"scp": " ".join(permissions), "upn": UPN, **body})
    assert resp.status_code == 200, resp.text
    return resp.json()["access_token"]


def quarantine(emu, token, machine="desk-01", sha1=DEMO_SHA1):
    return emu.call("POST", "/api/machines/%s/StopAndQuarantineFile" % MACHINES[machine], token=token,
                    json={"Comment": "delegated test", "Sha1": sha1})


def test_emulator_json_lists_the_user_and_the_native_client(emu):
    assert emu.info["users"]["analyst"]["upn"] == UPN and emu.info["users"]["analyst"]["object_id"]
    native = emu.client("native")
    assert native["public"] is True and native["roles"] == [] and "Machine.StopAndQuarantine" in native["delegated"]
    assert "client_secret" not in native


def test_ropc_v2_gives_a_user_token_with_scp_and_no_roles(emu):
    scope = "%s/Machine.Read %s/Machine.StopAndQuarantine openid profile offline_access" % (API, API)
    resp = ropc(emu, scope, client_info="1")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3599
    assert body["scope"] == "%s/Machine.Read %s/Machine.StopAndQuarantine openid profile offline_access" % (API, API)
    assert body["id_token"] and body["client_info"]
    claims = claims_of(body["access_token"])
    assert claims["scp"] == "Machine.Read Machine.StopAndQuarantine" and "roles" not in claims
    assert claims["upn"] == UPN and claims["oid"] == emu.info["users"]["analyst"]["object_id"]
    assert claims["aud"] == API and claims["appid"] == emu.client("native")["client_id"] and claims["idtyp"] == "user"
    assert claims_of(body["id_token"])["preferred_username"] == UPN


def test_user_token_quarantines_with_the_user_as_requestor(emu):
    token = ropc(emu, "%s/Machine.Read %s/Machine.StopAndQuarantine" % (API, API)).json()["access_token"]
    resp = quarantine(emu, token)
    assert resp.status_code == 201, resp.text
    assert resp.json()["requestor"] == UPN
    listed = emu.call("GET", "/api/machineactions", token=token, params={"$filter": "requestor eq '%s'" % UPN}).json()["value"]
    assert [a["id"] for a in listed] == [resp.json()["id"]]
    entry = [e for e in emu.log() if e["api"] == "POST /api/machines/{id}/StopAndQuarantineFile"][0]
    assert entry["upn"] == UPN and entry["client_id"] == emu.client("native")["client_id"]
    token_entry = [e for e in emu.log() if e["path"].endswith("/oauth2/v2.0/token")][0]
    assert token_entry["body"]["password"] == "***" and token_entry["upn"] == UPN
    assert emu.info["users"]["analyst"]["password"] not in str(emu.log())


@pytest.mark.parametrize("scp, path, missing", [
    (["Machine.Read"], QUARANTINE_PATH, "(Machine.StopAndQuarantine)"),
    (["Machine.StopAndQuarantine"], QUARANTINE_PATH, "(Machine.Read, Machine.ReadWrite)"),
    (["Machine.StopAndQuarantine"], "/api/machines", "(Machine.Read, Machine.ReadWrite)"),
    (["Machine.Read"], "/api/files/" + DEMO_SHA1, "(File.Read.All)"),
    (["Machine.Read"], "/api/indicators", "(Ti.ReadWrite, Ti.Read)"),
    (["Alert.Read"], "/api/machineactions", "(Machine.Read, Machine.ReadWrite)"),
])
def test_scp_decides_like_the_roles(emu, scp, path, missing):
    method = "POST" if path == QUARANTINE_PATH else "GET"
    resp = emu.call(method, path, token=user_token(emu, *scp), json={"Comment": "x", "Sha1": DEMO_SHA1} if method == "POST" else None)
    assert error_of(resp) == (403, "Forbidden", "The application does not have any of the required delegated permissions %s to access "
                                                "the resource." % missing)


@pytest.mark.parametrize("scp", [["Machine.Read", "Machine.StopAndQuarantine"], ["Machine.ReadWrite", "Machine.StopAndQuarantine"]])
def test_read_or_readwrite_with_stop_and_quarantine_is_enough(emu, scp):
    assert quarantine(emu, user_token(emu, *scp)).status_code == 201


def test_other_delegated_routes_record_the_user(emu):
    token = user_token(emu, "Machine.ReadWrite", "Machine.StopAndQuarantine", "Ti.ReadWrite", "File.Read.All")
    action = quarantine(emu, token).json()
    cancelled = emu.call("POST", "/api/machineactions/%s/cancel" % action["id"], token=token, json={"Comment": "x"}).json()
    assert cancelled["cancellationRequestor"] == UPN
    indicator = emu.call("POST", "/api/indicators", token=token, json={
        "indicatorValue": DEMO_SHA1, "indicatorType": "FileSha1", "action": "Audit", "generateAlert": True, "title": "t",
        "description": "d"}).json()
    assert (indicator["createdBy"], indicator["sourceType"], indicator["createdByDisplayName"]) == (UPN, "User", "SOC Analyst")
    assert emu.call("GET", "/api/files/" + DEMO_SHA1, token=token).status_code == 200


def test_default_scope_grants_every_consented_permission(emu):
    claims = claims_of(ropc(emu, API + "/.default").json()["access_token"])
    assert claims["scp"].split() == emu.client("native")["delegated"]


def test_windowsatpservice_resource(emu):
    resp = ropc(emu, "https://securitycenter.onmicrosoft.com/windowsatpservice/Machine.Read")
    assert resp.status_code == 200, resp.text
    assert emu.call("GET", "/api/machines", token=resp.json()["access_token"]).status_code == 200


@pytest.mark.parametrize("changes, status, error, aadsts", [
    ({"password": "wrong"}, 400, "invalid_grant", 50126),
    ({"username": "nobody@contoso.onmicrosoft.com"}, 400, "invalid_grant", 50034),
    ({"username": ""}, 400, "invalid_request", 900144),
    ({"scope": API + "/Machine.Isolate"}, 400, "invalid_grant", 65001),
    ({"scope": API + "/Machine.Read https://graph.microsoft.com/User.Read"}, 400, "invalid_scope", 28000),
    ({"scope": "openid profile"}, 400, "invalid_scope", 70011),
    ({"scope": "https://example.com/Machine.Read"}, 400, "invalid_resource", 500011),
    ({"client": "full"}, 401, "invalid_client", 7000218),  # a confidential app must still authenticate itself
])
def test_ropc_errors(emu, changes, status, error, aadsts):
    changes = dict({"scope": API + "/Machine.Read"}, **changes)
    resp = ropc(emu, **changes)
    assert resp.status_code == status, resp.text
    assert resp.json()["error"] == error and resp.json()["error_codes"] == [aadsts]


def test_public_client_cannot_use_client_credentials(emu):
    resp = emu.token_request({"grant_type": "client_credentials", "client_id": emu.client("native")["client_id"],
                              "scope": API + "/.default"})
    assert resp.status_code == 401 and resp.json()["error_codes"] == [7000218]


def test_confidential_client_with_its_secret_may_sign_a_user_in(emu):
    resp = ropc(emu, API + "/.default", client="full", client_secret=emu.client("full")["client_secret"])
    # The full app has no delegated permission consented: Entra asks for consent.
    assert resp.status_code == 400 and resp.json()["error_codes"] == [65001]


def test_v1_ropc_with_resource_as_in_the_native_app_doc(emu):
    form = {"grant_type": "password", "client_id": emu.client("native")["client_id"], "resource": API, "username": UPN,
            "password": emu.info["users"]["analyst"]["password"]}
    resp = emu.http.post("%s/%s/oauth2/token" % (emu.url, emu.tenant), data=form, verify=emu.ca)
    assert resp.status_code == 200, resp.text
    claims = claims_of(resp.json()["access_token"])
    assert claims["scp"].split() == emu.client("native")["delegated"] and claims["upn"] == UPN
    assert resp.json()["resource"] == API


def realm_session(emu):
    """msal builds the user-realm URL from the authority's host name without its port: send it to the emulator."""
    portless = "https://%s/" % emu.url.split("//")[1].rsplit(":", 1)[0]
    pinned = pinned_session(emu.ca)

    class Realm(type(pinned)):
        def request(self, method, url, *args, **kwargs):  # pylint: disable=arguments-differ
            if url.startswith(portless):
                url = emu.url + "/" + url[len(portless):]
            return super().request(method, url, *args, **kwargs)
    return Realm()


def test_msal_public_client_username_password(emu):
    app = msal.PublicClientApplication(emu.client("native")["client_id"], authority="%s/%s" % (emu.url, emu.tenant),
                                       instance_discovery=False, http_client=realm_session(emu))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # msal deprecates ROPC for public clients
        result = app.acquire_token_by_username_password(UPN, emu.info["users"]["analyst"]["password"],
                                                        scopes=[API + "/Machine.Read", API + "/Machine.StopAndQuarantine"])
    assert "access_token" in result, result
    claims = claims_of(result["access_token"])
    assert claims["scp"] == "Machine.Read Machine.StopAndQuarantine" and "roles" not in claims
    assert result["id_token_claims"]["preferred_username"] == UPN
    assert quarantine(emu, result["access_token"]).status_code == 201
    assert any(e["path"].startswith("/common/userrealm/") for e in emu.log())


def test_user_token_for_another_audience_is_403_and_expired_is_401(emu):
    graph = user_token(emu, "Machine.Read", aud="https://graph.microsoft.com")
    assert error_of(emu.call("GET", "/api/machines", token=graph)) == \
        (403, "Forbidden", "The application does not have any of the required delegated permissions (Machine.Read, Machine.ReadWrite) "
                           "to access the resource.")
    token = user_token(emu, "Machine.Read")
    assert emu.call("GET", "/api/machines", token=token).status_code == 200
    emu.control("POST", "tokens/expire")
    assert error_of(emu.call("GET", "/api/machines", token=token))[:2] == (401, "Unauthorized")


def test_minted_token_claims_and_checks(emu):
    token = user_token(emu, "Machine.Read", upn="Other.Person@contoso.onmicrosoft.com")
    claims = claims_of(token)
    assert claims["upn"] == "Other.Person@contoso.onmicrosoft.com" and claims["oid"] and "roles" not in claims
    assert claims["appid"] == emu.client("native")["client_id"]
    listed = emu.control("POST", "tokens/delegated", {"scp": ["Machine.Read", "Machine.StopAndQuarantine"], "upn": UPN}).json()
    assert claims_of(listed["access_token"])["scp"] == "Machine.Read Machine.StopAndQuarantine"
    assert claims_of(listed["access_token"])["oid"] == emu.info["users"]["analyst"]["object_id"]
    for bad in ({"upn": UPN}, {"scp": "Machine.Read"}, {"scp": 5, "upn": UPN}, {"scp": "Machine.Read", "upn": "nobody"}):
        assert emu.control("POST", "tokens/delegated", bad).status_code == 400


def test_user_realm(emu):
    resp = emu.http.get("%s/common/userrealm/%s?api-version=1.0" % (emu.url, UPN), verify=emu.ca)
    assert resp.status_code == 200 and resp.json()["account_type"] == "Managed"
