# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from unittest import mock

import pytest
from ansible.module_utils import basic

from ansible_collections.secops.defender.plugins.modules import defender_indicator as module
from ansible_collections.secops.defender.tests.unit.fakes import (
    FULL_ROLES,
    FakeResponse,
    FakeSession,
    error,
    make_jwt,
    run_module,
)

TOKEN = make_jwt(roles=FULL_ROLES)
SHA256 = "3395856ce81f2b7382dee72602f798b642f14140a2b8d8b5a7d5fd1d1e0bb8f4"
SHA1 = "87662bc3d60e4200ceaf7aae249d1c343f4b83c9"
MD5 = "5d41402abc4b2a76b9719d911017c592"
WANTED = {"indicator_value": SHA256, "action": "BlockAndRemediate", "title": "INC-1", "description": "dropper"}


class FakeIndicators:
    """A tiny indicator store answering GET/POST/DELETE like the API (POST creates or updates by value)."""

    def __init__(self, *existing, hidden=()):
        self.items = {str(i["id"]): dict(i) for i in (*existing, *hidden)}
        self.hidden = {str(i["id"]) for i in hidden}  # made elsewhere: a Ti.ReadWrite app does not see them

    def __call__(self, call):
        if call["method"] == "GET":
            value = call["params"]["$filter"].split("'")[1]
            return FakeResponse(200, {"value": [i for key, i in self.items.items()
                                                if i["indicatorValue"].lower() == value and key not in self.hidden]})
        if call["method"] == "POST":
            body = call["json"]
            found = next((i for i in self.items.values() if i["indicatorValue"] == body["indicatorValue"]), None)
            record = {**(found or {"id": str(len(self.items) + 100), "createdBy": "our-app"}), **body}
            self.items[record["id"]] = record
            return FakeResponse(200, {"@odata.context": "x", **record})
        if call["method"] == "DELETE":
            del self.items[call["url"].rsplit("/", 1)[1]]
            return FakeResponse(204)
        raise AssertionError(call)


def indicator(**extra):
    return {"id": "7", "indicatorValue": SHA256, "indicatorType": "FileSha256", "action": "BlockAndRemediate",
            "title": "INC-1", "description": "dropper", "severity": "High", "expirationTime": None,
            "recommendedActions": None, "rbacGroupNames": ["Servers", "Desktops"], "generateAlert": False,
            "application": "portal-app", **extra}


@pytest.fixture(autouse=True)
def no_sleep():
    with mock.patch("time.sleep"):
        yield


def run(args, store=None, token=TOKEN, check_mode=False, diff=False):
    store = store if store is not None else FakeIndicators()
    session = FakeSession(store)
    base = {"api_url": "https://api.test", "access_token": token}
    base.update(args)
    if diff:
        base["_ansible_diff"] = True
    warnings: list = []
    with mock.patch("ansible_collections.secops.defender.plugins.module_utils._factory.build_session", return_value=session), \
            mock.patch.object(basic.AnsibleModule, "warn", lambda _self, warning: warnings.append(warning)):
        result, failed = run_module(module.main, base, check_mode=check_mode)
    result["warnings"] = warnings
    return result, failed, session


def posts(session):
    return session.calls_to("POST", "/api/indicators")


def test_create_with_inferred_type():
    result, failed, session = run({**WANTED, "indicator_value": SHA256.upper(), "severity": "High",
                                   "rbac_group_names": ["Servers"], "generate_alert": True}, diff=True)
    assert not failed, result["msg"]
    assert result["changed"]
    assert posts(session)[0]["json"] == {
        "indicatorValue": SHA256, "indicatorType": "FileSha256", "action": "BlockAndRemediate", "title": "INC-1",
        "description": "dropper", "severity": "High", "rbacGroupNames": ["Servers"], "generateAlert": True}
    assert result["indicator"]["id"] == "100"
    assert result["indicator"]["indicator_type"] == "FileSha256"
    assert result["diff"]["before"] == {}
    assert result["diff"]["after"]["action"] == "BlockAndRemediate"
    assert set(result["changed_fields"]) == {"action", "title", "description", "severity", "rbac_group_names", "generate_alert"}
    assert session.calls[0]["params"] == {"$filter": f"indicatorValue eq '{SHA256}'"}


@pytest.mark.parametrize("value, kind", [(SHA1, "FileSha1"), (MD5, "FileMd5")])
def test_type_inferred_from_length(value, kind):
    result, failed, session = run({**WANTED, "indicator_value": value})
    assert not failed and posts(session)[0]["json"]["indicatorType"] == kind


def test_same_values_are_a_no_op():
    store = FakeIndicators(indicator())
    result, failed, session = run({**WANTED, "severity": "High", "rbac_group_names": ["Desktops", "Servers"]}, store, diff=True)
    assert not failed and not result["changed"]
    assert not posts(session)
    assert result["indicator"]["id"] == "7"
    assert result["diff"]["before"] == result["diff"]["after"]
    assert result["changed_fields"] == []


def test_update_sends_the_whole_indicator_with_the_change_and_keeps_fields_not_managed():
    store = FakeIndicators(indicator())
    result, failed, session = run({**WANTED, "action": "Block"}, store, diff=True)
    assert not failed and result["changed"]
    assert result["changed_fields"] == ["action"]
    body = posts(session)[0]["json"]
    assert body == {"indicatorValue": SHA256, "indicatorType": "FileSha256", "action": "Block", "title": "INC-1",
                    "description": "dropper", "severity": "High", "rbacGroupNames": ["Servers", "Desktops"],
                    "generateAlert": False, "application": "portal-app"}
    assert result["diff"]["before"]["action"] == "BlockAndRemediate"
    assert result["diff"]["after"]["action"] == "Block"
    assert result["indicator"]["action"] == "Block"


def test_check_mode_predicts_exactly_and_sends_nothing():
    args = {**WANTED, "action": "Block", "severity": "Low"}
    checked, failed, session = run(args, FakeIndicators(indicator()), check_mode=True, diff=True)
    assert not failed and checked["changed"] and not posts(session)
    real, _failed, _session = run(args, FakeIndicators(indicator()), diff=True)
    assert checked["diff"] == real["diff"]
    assert checked["changed_fields"] == real["changed_fields"] == ["action", "severity"]
    assert checked["indicator"] == real["indicator"]


def test_check_mode_create():
    result, failed, session = run(WANTED, check_mode=True, diff=True)
    assert not failed and result["changed"] and not posts(session)
    assert result["indicator"]["indicator_value"] == SHA256 and "id" not in result["indicator"]


def test_create_needs_title_and_description_but_update_does_not():
    result, failed, session = run({"indicator_value": SHA256, "action": "Block"})
    assert failed and "title and description are required" in result["msg"]
    assert not posts(session)
    result, failed, session = run({"indicator_value": SHA256, "action": "Block"}, FakeIndicators(indicator()))
    assert not failed and result["changed"] and posts(session)[0]["json"]["title"] == "INC-1"


def test_delete():
    store = FakeIndicators(indicator())
    result, failed, session = run({"indicator_value": SHA256, "state": "absent"}, store, diff=True)
    assert not failed and result["changed"]
    assert session.calls_to("DELETE", "/api/indicators/7")
    assert result["indicator"]["id"] == "7"
    assert result["diff"]["after"] == {} and result["diff"]["before"]["action"] == "BlockAndRemediate"
    assert store.items == {}


def test_delete_check_mode_and_absent_no_op():
    store = FakeIndicators(indicator())
    result, failed, session = run({"indicator_value": SHA256, "state": "absent"}, store, check_mode=True)
    assert not failed and result["changed"] and not session.calls_to("DELETE", "") and store.items
    result, failed, session = run({"indicator_value": SHA256, "state": "absent"})
    assert not failed and not result["changed"] and not session.calls_to("DELETE", "")
    assert "indicator" not in result


def test_expiration_date_compared_to_the_second():
    store = FakeIndicators(indicator(expirationTime="2099-12-31T00:00:00.0000000Z"))
    result, failed, session = run({**WANTED, "expiration": "2099-12-31"}, store)
    assert not failed and not result["changed"]
    result, failed, session = run({**WANTED, "expiration": "2099-12-31T12:00:00Z"}, store)
    assert not failed and result["changed"]
    assert posts(session)[0]["json"]["expirationTime"] == "2099-12-31T12:00:00Z"


def test_expiration_duration_is_not_pushed_back_on_rerun():
    soon = (datetime.now(timezone.utc) + timedelta(days=29)).strftime("%Y-%m-%dT%H:%M:%SZ")
    store = FakeIndicators(indicator(expirationTime=soon))
    result, failed, session = run({**WANTED, "expiration": "30d"}, store)
    assert not failed and not result["changed"]
    # Later than now + duration (or none at all): set to now + duration.
    far = (datetime.now(timezone.utc) + timedelta(days=60)).strftime("%Y-%m-%dT%H:%M:%SZ")
    result, failed, session = run({**WANTED, "expiration": "30d"}, FakeIndicators(indicator(expirationTime=far)))
    assert not failed and result["changed"]
    sent = datetime.strptime(posts(session)[0]["json"]["expirationTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert abs((sent - datetime.now(timezone.utc) - timedelta(days=30)).total_seconds()) < 5


@pytest.mark.parametrize("args, message", [
    ({"indicator_value": "xyz"}, "must be a SHA-1 (40), SHA-256 (64) or MD5 (32)"),
    ({"indicator_value": "a" * 41}, "expected 40 (SHA-1), 64 (SHA-256) or 32 (MD5)"),
    ({"action": "Audit"}, "action Audit needs generate_alert: true"),
    ({"action": "Audit", "generate_alert": False}, "action Audit needs generate_alert: true"),
    ({"expiration": "2001-01-01"}, "is in the past"),
    ({"expiration": "soon"}, "is neither a date"),
    ({"title": " "}, "title must not be empty"),
    ({"rbac_group_names": ["ok", ""]}, "rbac_group_names holds an empty name"),
    ({"action": None}, "state is present but all of the following are missing: action"),
    ({"action": "AlertAndBlock"}, "value of action must be one of"),
    ({"action": "Warn"}, "action Warn is not available for file indicators: Microsoft documents Warn for Defender for "
                         "Cloud Apps"),
])
def test_validation_before_any_request(args, message):
    merged = {**WANTED, **args}
    merged = {k: v for k, v in merged.items() if v is not None}
    result, failed, session = run(merged)
    assert failed and message in result["msg"]
    assert session.calls == []


def test_audit_with_alert_is_accepted():
    result, failed, session = run({**WANTED, "action": "Audit", "generate_alert": True})
    assert not failed and posts(session)[0]["json"]["generateAlert"] is True


def test_permission_preflight_names_ti_readwrite_all():
    result, failed, session = run(WANTED, token=make_jwt(roles=["Machine.Read.All"]))
    assert failed and result["error_code"] == "MissingPermission"
    assert "Ti.ReadWrite.All or Ti.ReadWrite" in result["msg"]
    assert session.calls == []


READWRITE_ONLY = make_jwt(roles=["Ti.ReadWrite"], appid="our-app")
PORTAL = indicator(id="9", action="Allowed", createdBy="analyst@contoso.com", creationTimeDateTimeUtc="2026-01-01T00:00:00Z")


def test_ti_readwrite_only_warns_and_never_writes_blind():
    """With Ti.ReadWrite the portal's indicator is invisible; a POST would replace it (issue 11)."""
    store = FakeIndicators(hidden=[PORTAL])
    for check_mode in (True, False):
        result, failed, session = run(WANTED, store, token=READWRITE_ONLY, check_mode=check_mode)
        assert failed and result["error_code"] == "IndicatorNotVisible" and not result["changed"]
        assert "Nothing was written" in result["msg"] and "Ti.ReadWrite.All" in result["msg"]
        assert "overwrite_unseen=true" in result["msg"]
        assert any("Ti.ReadWrite but not Ti.ReadWrite.All" in w for w in result["warnings"])
        assert not posts(session)
    assert store.items["9"]["action"] == "Allowed"


def test_ti_readwrite_only_updates_its_own_indicator_and_warns():
    store = FakeIndicators(indicator(createdBy="our-app"), hidden=[])
    result, failed, session = run({**WANTED, "action": "Block"}, store, token=READWRITE_ONLY)
    assert not failed and result["changed"] and posts(session)[0]["json"]["action"] == "Block"
    assert any("cannot be seen" in w for w in result["warnings"])


def test_overwrite_unseen_writes_and_says_whose_indicator_it_replaced():
    store = FakeIndicators(hidden=[PORTAL])
    store.items["9"]["indicatorValue"] = SHA256
    result, failed, session = run({**WANTED, "overwrite_unseen": True}, store, token=READWRITE_ONLY)
    assert not failed and result["changed"] and len(posts(session)) == 1
    assert any("created by analyst@contoso.com" in w and "was replaced" in w for w in result["warnings"])
    # A write that created the app's own indicator says nothing more.
    result, failed, session = run({**WANTED, "overwrite_unseen": True}, FakeIndicators(), token=READWRITE_ONLY)
    assert not failed and not any("was replaced" in w for w in result["warnings"])


def test_ti_readwrite_all_sees_everything_and_gets_no_warning():
    result, failed, _session = run(WANTED, FakeIndicators(PORTAL), token=make_jwt(roles=["Ti.ReadWrite.All", "Ti.ReadWrite"]))
    assert not failed and result["changed"] and not result["warnings"]


def test_absent_with_ti_readwrite_only_warns_that_it_cannot_see_others():
    result, failed, session = run({"indicator_value": SHA256, "state": "absent"}, FakeIndicators(hidden=[PORTAL]),
                                  token=READWRITE_ONLY)
    assert not failed and not result["changed"] and not session.calls_to("DELETE", "")
    assert any("nor deleted" in w for w in result["warnings"])


def test_api_error_on_post():
    def handler(call):
        if call["method"] == "GET":
            return FakeResponse(200, {"value": []})
        return error(400, "BadRequest", "Maximum number of active indicators (15000) per tenant has been reached.", "req-4")
    result, failed, _session = run(WANTED, handler)
    assert failed and result["status"] == 400 and "15000" in result["msg"] and result["request_id"] == "req-4"
    assert TOKEN not in str(result)
