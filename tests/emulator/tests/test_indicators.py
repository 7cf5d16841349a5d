# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""POST/GET/DELETE /api/indicators (reference §6)."""

from __future__ import annotations

import json
import os

import pytest
from conftest import DEMO_SHA1, EMULATOR_ROOT, error_of, odata_error_of

SHA256 = "22dc653dfb0a14751702873d2238e78bff661f0003fec84fb3dc47744b9657e3"


def indicator(**changes):
    body = {"indicatorValue": SHA256, "indicatorType": "FileSha256", "action": "BlockAndRemediate", "title": "demo file",
            "description": "quarantined by the emulator tests", "severity": "High", "generateAlert": True}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def test_create_update_list_delete(emu):
    resp = emu.call("POST", "/api/indicators", json=indicator())
    assert resp.status_code == 200  # not 201 (post-ti-indicator.md)
    created = resp.json()
    assert created["@odata.context"] == emu.url + "/api/$metadata#Indicators/$entity"
    assert created["indicatorValue"] == SHA256 and created["action"] == "BlockAndRemediate" and created["id"]
    updated = emu.call("POST", "/api/indicators", json=indicator(action="Block", title="renamed")).json()
    assert updated["id"] == created["id"] and updated["action"] == "Block" and updated["title"] == "renamed"
    emu.call("POST", "/api/indicators", json=indicator(indicatorValue=DEMO_SHA1, indicatorType="FileSha1", action="Audit"))
    listed = emu.call("GET", "/api/indicators").json()
    assert listed["@odata.context"] == emu.url + "/api/$metadata#Indicators" and len(listed["value"]) == 2
    found = emu.call("GET", "/api/indicators?$filter=indicatorValue eq '%s' and indicatorType eq 'FileSha256'" % SHA256).json()["value"]
    assert [i["id"] for i in found] == [created["id"]]
    assert len(emu.call("GET", "/api/indicators?$filter=action eq 'Audit'").json()["value"]) == 1
    odata_error_of(emu.call("GET", "/api/indicators?$filter=title eq 'x'"))
    resp = emu.call("DELETE", "/api/indicators/" + created["id"])
    assert resp.status_code == 204 and resp.content == b""
    assert error_of(emu.call("DELETE", "/api/indicators/" + created["id"]))[:2] == (404, "ResourceNotFound")


@pytest.mark.parametrize("changes, expected", [
    ({"title": None}, (400, "MissingRequiredParameter", "Parameter title is missing.")),
    ({"description": None}, (400, "MissingRequiredParameter", "Parameter description is missing.")),
    ({"indicatorValue": None}, (400, "MissingRequiredParameter", "Parameter indicatorValue is missing.")),
    ({"indicatorType": "Sha256"}, (400, "InvalidInput", None)),
    ({"action": "Quarantine"}, (400, "InvalidInput", None)),
    ({"action": "Audit", "generateAlert": False}, (400, "InvalidInput", None)),
    ({"indicatorType": "FileSha1"}, (400, "InvalidHashValue", "Hash value %s is invalid." % SHA256)),
    ({"indicatorType": "FileMd5"}, (400, "InvalidHashValue", None)),
    ({"indicatorType": "IpAddress", "indicatorValue": "10.0.0.300"}, (400, "InvalidIpAddress", "IP address 10.0.0.300 is invalid.")),
    ({"indicatorType": "DomainName", "indicatorValue": "not a domain"}, (400, "InvalidDomainName", None)),
    ({"indicatorType": "Url", "indicatorValue": "http://"}, (400, "InvalidUrl", None)),
    ({"severity": "Critical"}, (400, "InvalidInput", None)),
])
def test_validation(emu, changes, expected):
    status, code, message = error_of(emu.call("POST", "/api/indicators", json=indicator(**changes)))
    assert (status, code) == expected[:2]
    if expected[2]:
        assert message == expected[2]


@pytest.mark.parametrize("changes", [{"indicatorType": "IpAddress", "indicatorValue": "203.0.113.9"},
                                     {"indicatorType": "DomainName", "indicatorValue": "bad.example.com"},
                                     {"indicatorType": "Url", "indicatorValue": "https://bad.example.com/x"},
                                     {"indicatorType": "CertificateThumbprint", "indicatorValue": DEMO_SHA1, "action": "Allowed"},
                                     {"indicatorType": "FileMd5", "indicatorValue": "b6b504a9b276fb51d5837e1d84d80215", "action": "Warn"}])
def test_valid_types(emu, changes):
    assert emu.call("POST", "/api/indicators", json=indicator(**changes)).status_code == 200


def test_active_indicator_limit(emu):
    emu.config(max_active_indicators=2)
    for number in range(2):
        value = "%064x" % number
        assert emu.call("POST", "/api/indicators", json=indicator(indicatorValue=value)).status_code == 200
    assert error_of(emu.call("POST", "/api/indicators", json=indicator(indicatorValue="%064x" % 9)))[:2] == (400, "BadRequest")
    # Updating an existing one is still allowed, and expired ones do not count.
    assert emu.call("POST", "/api/indicators", json=indicator(indicatorValue="%064x" % 1, title="again")).status_code == 200
    emu.call("POST", "/api/indicators", json=indicator(indicatorValue="%064x" % 1, expirationTime="2001-01-01T00:00:00Z"))
    assert emu.call("POST", "/api/indicators", json=indicator(indicatorValue="%064x" % 9)).status_code == 200


def test_indicator_roles(emu):
    assert error_of(emu.call("POST", "/api/indicators", "quarantine-only", json=indicator()))[:2] == (403, "Forbidden")
    assert emu.call("POST", "/api/indicators", "readwrite", json=indicator()).status_code == 200


# --- visibility: Ti.ReadWrite sees only its own indicators (get-ti-indicators-collection.md) ------------------
def seed_with_portal_indicator(**fields) -> dict:
    with open(os.path.join(EMULATOR_ROOT, "seeds", "default.json"), encoding="utf-8") as handle:
        seed = json.load(handle)
    seed["indicators"] = [{"indicatorValue": SHA256, "indicatorType": "FileSha256", "action": "Allowed",
                           "title": "LOB tool", "description": "false positive, allowed by the SOC", **fields}]
    return seed


def values_seen(emu, client: str) -> list:
    return [i["indicatorValue"] for i in emu.call("GET", "/api/indicators", client).json()["value"]]


def test_ti_readwrite_sees_only_the_indicators_it_created(emu):
    emu.reset(seed=seed_with_portal_indicator())
    portal = emu.call("GET", "/api/indicators").json()["value"][0]
    assert (portal["createdBySource"], portal["createdBy"], portal["sourceType"]) == ("Portal", "analyst@contoso.com", "User")
    assert emu.call("POST", "/api/indicators", "readwrite", json=indicator(indicatorValue=DEMO_SHA1, indicatorType="FileSha1")
                    ).status_code == 200
    assert values_seen(emu, "readwrite") == [DEMO_SHA1]  # not the portal's
    assert sorted(values_seen(emu, "full")) == sorted([DEMO_SHA1, SHA256])  # Ti.ReadWrite.All sees all
    flt = "/api/indicators?$filter=indicatorValue eq '%s'" % SHA256
    assert emu.call("GET", flt, "readwrite").json()["value"] == []
    # Deleting what it cannot see is a 404, as for an unknown id.
    assert error_of(emu.call("DELETE", "/api/indicators/" + portal["id"], "readwrite"))[:2] == (404, "ResourceNotFound")
    assert emu.call("GET", flt).json()["value"][0]["id"] == portal["id"]


def test_a_post_replaces_an_indicator_the_app_cannot_see(emu):
    """POST submits *or updates* by value: the blind write a client must never make (issue 11)."""
    emu.reset(seed=seed_with_portal_indicator(severity="Low", rbacGroupNames=["Servers"], expirationTime="2099-01-01T00:00:00Z"))
    portal_id = emu.call("GET", "/api/indicators").json()["value"][0]["id"]
    answer = emu.call("POST", "/api/indicators", "readwrite", json=indicator(severity=None)).json()
    assert answer["id"] == portal_id and answer["createdBy"] == "analyst@contoso.com"
    after = emu.call("GET", "/api/indicators").json()["value"][0]
    assert after["action"] == "BlockAndRemediate" and after["rbacGroupNames"] == [] and after["expirationTime"] is None
    assert after["lastUpdatedBy"] == emu.client("readwrite")["client_id"]


def test_seeded_indicators_keep_their_ids_and_new_ones_follow(emu):
    emu.reset(seed=seed_with_portal_indicator(id="41"))
    created = emu.call("POST", "/api/indicators", json=indicator(indicatorValue=DEMO_SHA1, indicatorType="FileSha1")).json()
    assert created["id"] == "42"
