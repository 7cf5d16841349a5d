# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import copy
from unittest import mock

import pytest
import requests

from ansible_collections.secops.defender.plugins.modules import defender_alert as module
from ansible_collections.secops.defender.tests.unit.fakes import FakeResponse, FakeSession, error, make_jwt, run_module

TOKEN = make_jwt(roles=["Alert.ReadWrite.All"])
A1 = "da637472900382838869_1364969609"
A2 = "da637472900382838870_1364969610"


def alert(alert_id=A1, **fields):
    body = {"id": alert_id, "status": "New", "assignedTo": None, "classification": None, "determination": None,
            "title": "malware", "comments": [], "lastUpdateTime": "2026-11-30T10:00:00.1234567Z"}
    body.update(fields)
    return body


class FakeTenant:
    """Alerts that GET reads and PATCH changes as update-alert.md describes (comment appended)."""

    def __init__(self, *alerts) -> None:
        self.alerts = {a["id"]: copy.deepcopy(a) for a in alerts}
        self.fail_patch_after = None  # an exception raised after the PATCH was carried out

    def __call__(self, call):
        alert_id = call["url"].rsplit("/", 1)[1]
        if alert_id not in self.alerts:
            return error(404, "ResourceNotFound", f"Alert {alert_id} was not found")
        current = self.alerts[alert_id]
        if call["method"] == "PATCH":
            body = call["json"]
            current.update({k: v for k, v in body.items() if k != "comment"})
            if body.get("comment"):
                current["comments"].append({"comment": body["comment"], "createdBy": "a", "createdTime": "now"})
            if self.fail_patch_after:
                failure, self.fail_patch_after = self.fail_patch_after, None
                raise failure
        return FakeResponse(200, copy.deepcopy(current))


@pytest.fixture(autouse=True)
def no_sleep():
    with mock.patch("time.sleep"):
        yield


def run(args, tenant, token=TOKEN, check_mode=False, diff=False):
    session = FakeSession(tenant)
    base = {"api_url": "https://api.test", "access_token": token, **args}
    if diff:
        base["_ansible_diff"] = True
    with mock.patch("ansible_collections.secops.defender.plugins.module_utils._factory.build_session", return_value=session):
        result, failed = run_module(module.main, base, check_mode=check_mode)
    return result, failed, session


def test_sends_only_what_changes_and_the_comment_once():
    tenant = FakeTenant(alert(status="InProgress"))
    result, failed, session = run({"id": A1, "status": "InProgress", "assigned_to": "soc@contoso.com", "comment": "done"}, tenant)
    assert not failed and result["changed"]
    assert session.calls_to("PATCH", A1)[0]["json"] == {"assignedTo": "soc@contoso.com", "comment": "done"}
    assert result["alert"]["comments"][0]["comment"] == "done" and result["updated_alert_ids"] == [A1]

    again, failed, session = run({"id": A1, "status": "InProgress", "assigned_to": "SOC@contoso.com", "comment": "done"}, tenant)
    assert not failed and not again["changed"] and not session.calls_to("PATCH", A1)
    assert len(tenant.alerts[A1]["comments"]) == 1


def test_check_mode_predicts_and_sends_nothing():
    tenant = FakeTenant(alert())
    result, failed, session = run({"id": A1, "status": "Resolved", "comment": "x"}, tenant, check_mode=True, diff=True)
    assert not failed and result["changed"] and not session.calls_to("PATCH", A1)
    assert result["request"] == {A1: {"status": "Resolved", "comment": "x"}}
    assert result["diff"][A1] == {"before": {"status": "New"}, "after": {"status": "Resolved", "comment_added": "x"}}


def test_determination_read_with_the_entity_name_is_not_sent_again():
    tenant = FakeTenant(alert(classification="InformationalExpectedActivity", determination="ConfirmedUserActivity"))
    result, failed, session = run({"id": A1, "classification": "InformationalExpectedActivity",
                                   "determination": "ConfirmedActivity"}, tenant)
    assert not failed and not result["changed"] and not session.calls_to("PATCH", A1)


def test_lost_answer_is_read_back_and_the_comment_not_added_twice():
    tenant = FakeTenant(alert())
    tenant.fail_patch_after = requests.exceptions.ConnectionError("reset by peer")
    result, failed, session = run({"id": A1, "status": "InProgress", "comment": "quarantined"}, tenant)
    assert not failed and result["changed"]
    assert len(session.calls_to("PATCH", A1)) == 1
    assert [c["comment"] for c in tenant.alerts[A1]["comments"]] == ["quarantined"]


def test_missing_permission_fails_before_any_request():
    result, failed, session = run({"id": A1, "comment": "x"}, FakeTenant(alert()), token=make_jwt(roles=["Alert.Read.All"]))
    assert failed and result["error_code"] == "MissingPermission" and "Alert.ReadWrite.All" in result["msg"]
    assert not session.calls


@pytest.mark.parametrize("args, text", [
    ({"id": A1}, "nothing to update"),
    ({"id": "../machines", "comment": "x"}, "not an alert id"),
    ({"id": A1, "comment": "  "}, "must not be empty"),
    ({"alerts": [{"id": A1, "comment": "x"}, {"id": A1, "comment": "y"}]}, "more than once"),
    ({"alerts": [{"id": A1, "colour": "red"}]}, "unknown key"),
    ({"alerts": [{"id": A1, "status": "Closed"}]}, "alerts[0]: status 'Closed'"),
])
def test_input_errors_fail_before_any_request(args, text):
    result, failed, session = run(args, FakeTenant(alert()))
    assert failed and text in result["msg"] and not session.calls


def test_list_mode_updates_each_and_reports_the_failed_one():
    tenant = FakeTenant(alert(A1), alert(A2, status="InProgress"))
    result, failed, session = run({"status": "InProgress", "alerts": [
        {"id": A1, "comment": "device 1: Succeeded"},
        {"id": "da0_0", "comment": "gone"},
        {"id": A2, "comment": "device 2: Failed", "status": None},
    ]}, tenant)
    assert failed and result["changed"]
    assert [f["id"] for f in result["failed_alerts"]] == ["da0_0"] and result["failed_alerts"][0]["status"] == 404
    assert result["updated_alert_ids"] == [A1, A2]
    assert session.calls_to("PATCH", A1)[0]["json"] == {"status": "InProgress", "comment": "device 1: Succeeded"}
    assert session.calls_to("PATCH", A2)[0]["json"] == {"comment": "device 2: Failed"}
    assert [a["id"] for a in result["alerts"]] == [A1, A2]
    assert result["api_calls"]["PATCH /api/alerts/{id}"] == 2


def test_list_mode_stops_on_an_error_every_alert_would_meet():
    def forbidden(call):
        return error(403, "Forbidden", "no")
    result, failed, session = run({"comment": "x", "alerts": [{"id": A1}, {"id": A2}]}, forbidden)
    assert failed and result["status"] == 403 and result["not_sent_alert_ids"] == [A2]
    assert len(session.calls) == 1
