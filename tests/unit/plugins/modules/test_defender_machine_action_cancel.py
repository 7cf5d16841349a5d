# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from unittest import mock

import pytest

from ansible_collections.secops.defender.plugins.modules import defender_machine_action_cancel as module
from ansible_collections.secops.defender.tests.unit.fakes import (
    FULL_ROLES,
    FakeResponse,
    FakeSession,
    ScriptedHandler,
    error,
    make_jwt,
    run_module,
)

TOKEN = make_jwt(roles=FULL_ROLES)
A1 = "44cffc15-0e3d-4cbf-96aa-bf76f9b27f5e"
PATH = f"/api/machineactions/{A1}"


def action(status="Pending", **extra):
    return FakeResponse(200, {"@odata.context": "x", "id": A1, "type": "StopAndQuarantineFile", "status": status,
                              "machineId": "1" * 40, **extra})


@pytest.fixture(autouse=True)
def no_sleep():
    with mock.patch("time.sleep"):
        yield


def run(args, script=(), token=TOKEN, check_mode=False, diff=False):
    session = FakeSession(ScriptedHandler(list(script)))
    base = {"api_url": "https://api.test", "access_token": token, "id": A1, "comment": "wrong device"}
    base.update(args)
    if diff:
        base["_ansible_diff"] = True
    with mock.patch("ansible_collections.secops.defender.plugins.module_utils._factory.build_session", return_value=session):
        result, failed = run_module(module.main, base, check_mode=check_mode)
    return result, failed, session


def test_cancels_a_pending_action():
    result, failed, session = run({}, [
        ("GET", PATH, action("Pending")),
        ("POST", f"{PATH}/cancel", action("Cancelled", cancellationComment="wrong device")),
    ], diff=True)
    assert not failed and result["changed"]
    assert result["machine_action"]["status"] == "Cancelled"
    assert result["machine_action"]["cancellation_comment"] == "wrong device"
    assert result["previous_status"] == "Pending"
    assert result["diff"] == {"before": {"status": "Pending"}, "after": {"status": "Cancelled"}}
    assert session.calls_to("POST", "/cancel")[0]["json"] == {"Comment": "wrong device"}


@pytest.mark.parametrize("status", ["Succeeded", "Failed", "TimeOut", "Cancelled"])
def test_terminal_action_is_not_an_error_and_nothing_is_sent(status):
    result, failed, session = run({}, [("GET", PATH, action(status))], diff=True)
    assert not failed and not result["changed"]
    assert result["machine_action"]["status"] == status
    assert result["diff"] == {"before": {"status": status}, "after": {"status": status}}
    assert not session.calls_to("POST", "")


def test_check_mode_reports_the_cancel_without_sending_it():
    result, failed, session = run({}, [("GET", PATH, action("InProgress"))], check_mode=True, diff=True)
    assert not failed and result["changed"]
    assert result["request"] == {"method": "POST", "path": f"{PATH}/cancel", "body": {"Comment": "wrong device"}}
    assert result["machine_action"]["status"] == "InProgress"
    assert result["diff"]["after"] == {"status": "Cancelled"}
    assert not session.calls_to("POST", "")


def test_check_mode_on_a_terminal_action():
    result, failed, session = run({}, [("GET", PATH, action("Succeeded"))], check_mode=True)
    assert not failed and not result["changed"] and "request" not in result


def test_action_finishing_between_read_and_cancel_is_not_an_error():
    result, failed, _session = run({}, [
        ("GET", PATH, action("InProgress")),
        ("POST", f"{PATH}/cancel", error(400, "BadRequest", "already in a final state")),
        ("GET", PATH, action("Succeeded")),
    ])
    assert not failed and not result["changed"]
    assert result["machine_action"]["status"] == "Succeeded"


def test_other_400_still_fails():
    result, failed, _session = run({}, [
        ("GET", PATH, action("Pending")),
        ("POST", f"{PATH}/cancel", error(400, "InvalidRequestBody", "bad")),
        ("GET", PATH, action("Pending")),
    ])
    assert failed and result["error_code"] == "InvalidRequestBody" and not result["changed"]


def test_ambiguous_failure_is_read_back_not_resent():
    result, failed, session = run({}, [
        ("GET", PATH, action("Pending")),
        ("POST", f"{PATH}/cancel", error(503, "ServiceUnavailable")),
        ("GET", PATH, action("Cancelled")),
    ])
    assert not failed and result["changed"]
    assert result["machine_action"]["status"] == "Cancelled"
    assert len(session.calls_to("POST", "/cancel")) == 1


def test_unknown_action_fails_with_the_api_error():
    result, failed, _session = run({}, [("GET", PATH, error(404, "ResourceNotFound", "Machine action was not found", "req-3"))])
    assert failed and result["status"] == 404 and result["request_id"] == "req-3" and not result["changed"]


@pytest.mark.parametrize("args, message", [
    ({"id": "1234"}, "is not a machine action id"),
    ({"comment": "  "}, "comment must not be empty"),
])
def test_validation_before_any_request(args, message):
    result, failed, session = run(args)
    assert failed and message in result["msg"]
    assert session.calls == []


def test_permission_preflight():
    result, failed, session = run({}, token=make_jwt(roles=["Machine.Read.All"]))
    assert failed and result["error_code"] == "MissingPermission"
    assert "Machine.StopAndQuarantine" in result["msg"]
    assert session.calls == []
