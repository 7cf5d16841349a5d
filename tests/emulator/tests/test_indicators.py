# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""POST/GET/DELETE /api/indicators (reference §6)."""

from __future__ import annotations

import pytest
from conftest import DEMO_SHA1, error_of, odata_error_of

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
