# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Alerts: list ($filter, $expand=evidence, indexing delay), get, PATCH, permissions, rate limits, outbreak generator."""

from __future__ import annotations

import time

from conftest import DEMO_SHA1, MACHINES, error_of, odata_error_of

SEEDED = "da638000000000000001_1000000001"
NO_EVIDENCE = "da638000000000000002_1000000002"


def raise_alerts(emu, **body):
    resp = emu.control("POST", "alerts", body)
    assert resp.status_code == 201, resp.text
    return resp.json()["alerts"]


def listed(emu, client="soc", **params):
    resp = emu.call("GET", "/api/alerts", client, params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()["value"]


def test_list_has_evidence_only_with_expand(emu):
    plain = {a["id"]: a for a in listed(emu)}
    assert "evidence" not in plain[SEEDED]
    expanded = {a["id"]: a for a in listed(emu, **{"$expand": "evidence"})}
    files = [e for e in expanded[SEEDED]["evidence"] if e["entityType"] == "File"]
    assert files[0]["sha1"] == DEMO_SHA1
    # Every evidence object carries every key (alerts.md example).
    assert "registryKey" in files[0] and files[0]["registryKey"] is None
    assert expanded[NO_EVIDENCE]["evidence"] == []


def test_get_by_id_has_evidence_without_expand(emu):
    resp = emu.call("GET", "/api/alerts/" + SEEDED, "soc")
    assert resp.status_code == 200
    assert resp.json()["evidence"] and resp.json()["@odata.context"].endswith("#Alerts/$entity")
    assert error_of(emu.call("GET", "/api/alerts/da0_0", "soc"))[:2] == (404, "ResourceNotFound")


def test_filter_on_last_update_time_and_severity(emu):
    new = raise_alerts(emu, alerts=[{"machineId": MACHINES["srv-01"], "sha1": DEMO_SHA1, "severity": "Low"}])[0]
    emu.advance(5)  # past the indexing delay
    since = new["alertCreationTime"][:19] + "Z"
    ids = [a["id"] for a in listed(emu, **{"$filter": "lastUpdateTime ge %s" % since})]
    assert ids == [new["id"]]
    assert listed(emu, **{"$filter": "lastUpdateTime ge %s and severity eq 'High'" % since}) == []
    assert [a["id"] for a in listed(emu, **{"$filter": "status eq 'New' and alertCreationTime ge %s" % since})] == [new["id"]]


def test_unknown_expand_and_filter_property_are_odata_errors(emu):
    odata_error_of(emu.call("GET", "/api/alerts", "soc", params={"$expand": "machine"}))
    odata_error_of(emu.call("GET", "/api/alerts", "soc", params={"$filter": "title eq 'x'"}))


def test_a_new_alert_is_listed_after_the_indexing_delay(emu):
    emu.config(alert_list_lag_seconds=30)
    new = raise_alerts(emu, alerts=[{"machineId": MACHINES["desk-01"], "sha1": DEMO_SHA1}])[0]
    assert new["id"] not in [a["id"] for a in listed(emu)]
    assert emu.call("GET", "/api/alerts/" + new["id"], "soc").status_code == 200  # by id at once
    emu.advance(31)
    assert new["id"] in [a["id"] for a in listed(emu)]


def test_patch_updates_fields_appends_the_comment_and_moves_last_update_time(emu):
    before = emu.call("GET", "/api/alerts/" + SEEDED, "soc").json()
    resp = emu.call("PATCH", "/api/alerts/" + SEEDED, "soc", json={"status": "InProgress", "comment": "quarantined"})
    assert resp.status_code == 200, resp.text
    after = resp.json()
    assert after["status"] == "InProgress" and after["lastUpdateTime"] > before["lastUpdateTime"]
    assert after["comments"][-1]["comment"] == "quarantined"
    assert after["comments"][-1]["createdBy"] == emu.client("soc")["client_id"]
    body = {"status": "Resolved", "classification": "TruePositive", "determination": "Malware"}
    resolved = emu.call("PATCH", "/api/alerts/" + SEEDED, "soc", json=body).json()
    assert resolved["resolvedTime"] and resolved["classification"] == "TruePositive"


def test_patch_refuses_bad_values_and_unknown_keys(emu):
    path = "/api/alerts/" + SEEDED
    assert error_of(emu.call("PATCH", path, "soc", json={"status": "Closed"}))[:2] == (400, "InvalidInput")
    assert error_of(emu.call("PATCH", path, "soc", json={"Status": "Resolved"}))[:2] == (400, "InvalidRequestBody")
    assert error_of(emu.call("PATCH", path, "soc", json={}))[:2] == (400, "InvalidInput")
    assert error_of(emu.call("PATCH", "/api/alerts/da0_0", "soc", json={"comment": "x"}))[:2] == (404, "ResourceNotFound")


def test_permissions(emu):
    assert error_of(emu.call("GET", "/api/alerts", "full"))[:2] == (403, "Forbidden")
    assert emu.call("GET", "/api/alerts", "alert-reader").status_code == 200
    status, code, message = error_of(emu.call("PATCH", "/api/alerts/" + SEEDED, "alert-reader", json={"comment": "x"}))
    assert (status, code) == (403, "Forbidden") and "Alert.ReadWrite.All" in message


def test_alerts_have_their_own_rate_limit(emu):
    emu.config(rate_limit_per_minute=3)
    for _call in range(3):
        assert emu.call("GET", "/api/alerts", "soc").status_code == 200
    throttled = emu.call("GET", "/api/alerts", "soc")
    assert throttled.status_code == 429 and throttled.headers["Retry-After"]
    assert emu.call("GET", "/api/alerts/" + SEEDED, "soc").status_code == 200  # another API, its own window


def test_outbreak_spreads_alerts_over_time(emu):
    emu.reset(fleet={"count": 20, "sha1": DEMO_SHA1}, config={"alert_list_lag_seconds": 0})
    fleet = [m["id"] for m in emu.control("GET", "state").json()["machines"] if m["computerDnsName"].startswith("fleet-")]
    raised = raise_alerts(emu, outbreak={"sha1": DEMO_SHA1, "machine_ids": fleet, "spread_seconds": 600})
    assert len(raised) == 20 and len({a["machineId"] for a in raised}) == 20
    first = len([a for a in listed(emu) if a["machineId"] in fleet])
    assert 1 <= first < 20
    emu.advance(601)
    assert len([a for a in listed(emu) if a["machineId"] in fleet]) == 20


def test_service_update_moves_last_update_time(emu):
    before = emu.call("GET", "/api/alerts/" + SEEDED, "soc").json()["lastUpdateTime"]
    time.sleep(0.01)
    resp = emu.control("POST", "alerts/%s/update" % SEEDED, {"investigationState": "Running"})
    assert resp.status_code == 200 and resp.json()["lastUpdateTime"] > before
