# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from datetime import datetime, timezone
from unittest import mock

import pytest

from ansible_collections.secops.defender.plugins.module_utils import _actions
from ansible_collections.secops.defender.plugins.modules import defender_stop_quarantine as module
from ansible_collections.secops.defender.tests.unit.fakes import (
    FULL_ROLES,
    FakeResponse,
    FakeSession,
    ScriptedHandler,
    error,
    make_jwt,
    run_module,
)

SHA1 = "87662bc3d60e4200ceaf7aae249d1c343f4b83c9"
M1 = "1e5bc9d7e413ddd7902c2932e418702b84d0cc07"
M2 = "2" * 40
TOKEN = make_jwt(roles=FULL_ROLES)


def action(action_id, machine=M1, status="Pending", sha1=SHA1, **extra):
    return {"@odata.context": "https://api.test/api/$metadata#MachineActions/$entity", "id": action_id,
            "type": "StopAndQuarantineFile", "machineId": machine, "status": status, "errorHResult": 0,
            "computerDnsName": "desk-01", "creationDateTimeUtc": "2026-11-28T11:59:00.1234567Z",
            "lastUpdateTimeUtc": "2026-11-28T11:59:00Z",
            "relatedFileInfo": {"fileIdentifier": sha1, "fileIdentifierType": "Sha1"}, **extra}


def listing(*actions):
    return FakeResponse(200, {"value": list(actions)})


NOW = datetime(2026, 11, 28, 12, 0, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def fixed_time():
    """The actions below are dated 2026-11-28 11:59: the module's 'now' is 12:00 that day, and sleeps are instant."""
    with mock.patch("time.sleep"), mock.patch.object(_actions, "utcnow", lambda: NOW), \
            mock.patch.object(module, "utcnow", lambda: NOW):
        yield


def run(args, script=(), default=None, check_mode=False, token=TOKEN):
    session = FakeSession(ScriptedHandler(list(script), default))
    base = {"api_url": "https://api.test", "access_token": token, "comment": "INC-1", "sha1": SHA1}
    base.update(args)
    with mock.patch("ansible_collections.secops.defender.plugins.module_utils._factory.build_session", return_value=session):
        result, failed = run_module(module.main, base, check_mode=check_mode)
    return result, failed, session


def test_happy_path_single_machine():
    result, failed, session = run({"machine_id": M1}, [
        ("GET", "/api/machineactions", listing()),
        ("POST", f"/api/machines/{M1}/StopAndQuarantineFile", FakeResponse(201, action("a1"))),
    ])
    assert not failed and result["changed"]
    assert result["machine_action"]["id"] == "a1"
    assert result["machine_action"]["related_file_info"] == {"file_identifier": SHA1, "file_identifier_type": "Sha1"}
    assert result["machine_action"]["last_update_date_time_utc"] == "2026-11-28T11:59:00Z"
    assert "@odata.context" not in result["machine_action"]
    assert result["ansible_facts"]["defender_machine_action"]["id"] == "a1"
    assert result["auth_method"] == "access_token"
    assert session.calls[-1]["json"] == {"Comment": "INC-1", "Sha1": SHA1}
    assert result["created_machine_ids"] == [M1]


def test_existing_pending_action_means_no_change_and_no_post():
    result, failed, session = run({"machine_id": M1}, [("GET", "/api/machineactions", listing(action("old")))])
    assert not failed and not result["changed"]
    assert result["machine_action"]["id"] == "old" and result["existing_machine_ids"] == [M1]
    assert not session.calls_to("POST", "")


def test_recent_success_counts_as_done_only_when_asked():
    done = action("done", status="Succeeded")
    result, _failed, session = run({"machine_id": M1, "skip_if_succeeded_within": "24h"},
                                   [("GET", "/api/machineactions", listing(done))])
    assert not result["changed"] and result["machine_action"]["status"] == "Succeeded"
    assert "status eq 'Succeeded' and creationDateTimeUtc ge" in session.calls[0]["params"]["$filter"]


@pytest.mark.parametrize("existing, changed", [((), True), ((action("old"),), False)])
def test_check_mode_reads_and_predicts_without_posting(existing, changed):
    result, failed, session = run({"machine_id": M1}, [("GET", "/api/machineactions", listing(*existing)),
                                                       ("GET", f"/api/files/{SHA1}/machines", listing({"id": M1}))],
                                  check_mode=True)
    assert not failed and result["changed"] is changed
    assert not session.calls_to("POST", "")
    if changed:
        assert result["request"]["body"] == {"Comment": "INC-1", "Sha1": SHA1}
        assert "machine_action" not in result
    else:
        assert result["machine_action"]["id"] == "old"


def test_race_answered_with_duplicate_400_is_not_a_failure():
    result, failed, _session = run({"machine_id": M1}, [
        ("GET", "/api/machineactions", listing()),
        ("POST", "/StopAndQuarantineFile", error(400, "ActiveRequestAlreadyExists", "Action is already in progress")),
        ("GET", "/api/machineactions", listing(action("winner"))),
    ])
    assert not failed and not result["changed"] and result["machine_action"]["id"] == "winner"


@pytest.mark.parametrize("roles, missing", [
    (["Machine.StopAndQuarantine"], "Machine.Read.All or Machine.ReadWrite.All"),
    (["Machine.Read.All"], "Machine.StopAndQuarantine"),
])
def test_permission_preflight_fails_before_any_request(roles, missing):
    result, failed, session = run({"machine_id": M1}, token=make_jwt(roles=roles))
    assert failed and result["error_code"] == "MissingPermission" and missing in result["msg"]
    assert session.calls == []


def test_api_error_is_mapped_with_status_code_and_request_id():
    result, failed, _session = run({"machine_id": M1}, [
        ("GET", "/api/machineactions", listing()),
        ("POST", "/StopAndQuarantineFile", error(404, "ResourceNotFound", f"Sha1 {SHA1} was not found in machine {M1}",
                                                 target="req-42")),
    ])
    assert failed
    assert (result["status"], result["error_code"], result["request_id"]) == (404, "ResourceNotFound", "req-42")
    assert "has not seen this file" in result["msg"]


@pytest.mark.parametrize("args, message", [
    ({"machine_id": M1, "sha1": "a" * 64}, "SHA-256"),
    ({"machine_id": M1, "sha1": "a" * 32}, "MD5"),
    ({"machine_id": "../../etc", }, "not a Defender device id"),
    ({"machine_id": M1, "comment": "  "}, "must not be empty"),
    ({"machine_id": M1, "poll_interval": 0.1}, "poll_interval"),
    ({"machine_id": M1, "wait_timeout": -1}, "wait_timeout"),
    ({"machine_id": M1, "skip_if_succeeded_within": "soon"}, "not a duration"),
    ({"machine_ids": [M1, M2], "max_machines": 1}, "more than max_machines"),
    ({"machine_id": M1, "api_url": "http://api.security.microsoft.com"}, "only sent over https"),
    ({"machine_id": M1, "timeout": -3}, "timeout must be greater than zero"),
])
def test_bad_input_fails_before_any_request(args, message):
    result, failed, session = run(args)
    assert failed and message in result["msg"]
    assert session.calls == []


def test_exactly_one_of_machine_id_and_machine_ids():
    result, failed, session = run({})
    assert failed and "machine_id" in result["msg"] and session.calls == []
    result, failed, session = run({"machine_id": M1, "machine_ids": [M2]})
    assert failed and "mutually exclusive" in result["msg"] and session.calls == []


def test_wait_until_succeeded_reports_history():
    result, failed, _session = run({"machine_id": M1, "wait": True, "poll_interval": 1, "wait_timeout": 60}, [
        ("GET", "/api/machineactions", listing()),
        ("POST", "/StopAndQuarantineFile", FakeResponse(201, action("a1"))),
        ("GET", "/api/machineactions/a1", FakeResponse(200, action("a1", status="InProgress"))),
        ("GET", "/api/machineactions/a1", FakeResponse(200, action("a1", status="Succeeded"))),
    ])
    assert not failed and result["machine_action"]["status"] == "Succeeded"
    assert [h["status"] for h in result["status_history"]] == ["Pending", "InProgress", "Succeeded"]


def test_wait_to_failed_fails_the_task_with_the_hresult():
    result, failed, _session = run({"machine_id": M1, "wait": True, "poll_interval": 1}, [
        ("GET", "/api/machineactions", listing()),
        ("POST", "/StopAndQuarantineFile", FakeResponse(201, action("a1"))),
        ("GET", "/api/machineactions/a1", FakeResponse(200, action("a1", status="Failed", errorHResult=-2147024894))),
    ])
    assert failed and result["changed"]
    assert "ended Failed (errorHResult -2147024894)" in result["msg"]
    assert result["machine_action"]["status"] == "Failed"


def test_wait_timeout_cancels_when_asked():
    clock = iter(range(0, 10000, 5))
    with mock.patch("ansible_collections.secops.defender.plugins.module_utils._actions.time.monotonic",
                    side_effect=lambda: next(clock)):
        result, failed, session = run({"machine_id": M1, "wait": True, "poll_interval": 1, "wait_timeout": 12,
                                       "cancel_on_timeout": True}, [
            ("GET", "/api/machineactions", listing()),
            ("POST", "/StopAndQuarantineFile", FakeResponse(201, action("a1"))),
            ("POST", "/api/machineactions/a1/cancel",
             FakeResponse(200, action("a1", status="Cancelled", cancellationComment="timeout"))),
        ], default=lambda call: FakeResponse(200, action("a1")))
    assert failed and result["timed_out_machine_ids"] == [M1]
    assert result["machine_action"]["status"] == "Cancelled"
    assert "wait_timeout" in session.calls_to("POST", "/cancel")[0]["json"]["Comment"]


def test_fleet_reports_every_machine_and_fails_on_any_failure():
    unknown = "f" * 40
    result, failed, session = run({"machine_ids": [M1, M2, unknown, M1.upper()]}, [
        ("GET", "/api/machineactions", listing(action("old", machine=M2))),
        ("POST", f"/api/machines/{M1}/", FakeResponse(201, action("a1"))),
        ("POST", f"/api/machines/{unknown}/", error(404, "ResourceNotFound", f"Machine {unknown} was not found")),
    ])
    assert failed and result["changed"]
    assert {a["id"] for a in result["machine_actions"]} == {"a1", "old"}
    assert result["failed_machines"] == [{"machine_id": unknown, "code": "ResourceNotFound",
                                          "message": mock.ANY}]
    assert result["created_machine_ids"] == [M1] and result["existing_machine_ids"] == [M2]
    assert len(session.calls_to("POST", "")) == 2  # the duplicate M1 is sent once


def test_fleet_wait_polls_with_list_queries():
    machines = [f"{i:040x}" for i in range(1, 21)]
    created = {m: action(f"a{i}", machine=m) for i, m in enumerate(machines)}
    script = [("GET", "/api/machineactions", listing())]
    script += [("POST", f"/api/machines/{m}/", FakeResponse(201, a)) for m, a in created.items()]
    script += [("GET", "/api/machineactions", listing(*[dict(a, status="Succeeded") for a in created.values()]))]
    result, failed, session = run({"machine_ids": machines, "wait": True, "poll_interval": 1}, script)
    assert not failed, result["msg"] if failed else ""
    assert {a["status"] for a in result["machine_actions"]} == {"Succeeded"}
    assert len(session.calls_to("GET", "/api/machineactions")) == 2


def login(call):
    if call["url"].endswith("/.well-known/openid-configuration"):
        return FakeResponse(200, {"authorization_endpoint": "https://login.test/t/oauth2/v2.0/authorize",
                                  "token_endpoint": "https://login.test/t/oauth2/v2.0/token"})
    return FakeResponse(401, {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."})


def test_secrets_never_in_the_result():
    result, failed, _session = run({"machine_id": M1, "access_token": None, "tenant_id": "t", "client_id": "c",
                                    "client_secret": "very-secret-value"}, default=login)
    assert failed and result["error_code"] == "invalid_client" and "AADSTS7000215" in result["msg"]
    assert "very-secret-value" not in repr(result)
    result, failed, _session = run({"machine_id": M1}, [("GET", "/api/machineactions", error(500, "InternalServerError"))],
                                   default=lambda call: error(500, "InternalServerError"))
    assert failed and TOKEN not in repr(result)


# --- the module never crashes after it has sent something ---------------------------------------------

def created_then(*poll_answers, args=None, default=None):
    script = [("GET", "/api/machineactions", listing()), ("POST", "/StopAndQuarantineFile", FakeResponse(201, action("a1")))]
    script += [("GET", "/api/machineactions/a1", answer) for answer in poll_answers]
    return run({"machine_id": M1, "wait": True, "poll_interval": 5, "wait_timeout": 30, **(args or {})}, script, default)


def assert_outcome_kept(result):
    assert result["changed"] is True
    assert result["created_machine_ids"] == [M1] and result["machine_action"]["id"] == "a1"
    assert "api_calls" in result and result["auth_method"] == "access_token"


def test_reads_that_keep_failing_while_waiting_end_in_a_timeout_that_keeps_every_outcome():
    result, failed, _session = created_then(default=lambda call: error(503, "ServiceUnavailable", target="r-5"))
    assert failed and "still Pending after wait_timeout" in result["msg"] and "the last poll failed" in result["msg"]
    assert_outcome_kept(result)


def test_an_expired_access_token_while_waiting_fails_with_every_outcome():
    result, failed, _session = created_then(error(401, "Unauthorized", "The token is expired"))
    assert failed and result["status"] == 401 and "access_token" in result["msg"]
    assert_outcome_kept(result)


def test_throttling_beyond_the_deadline_while_waiting_keeps_polling_then_reports():
    result, failed, _session = created_then(
        default=lambda call: error(429, "TooManyRequests", headers={"Retry-After": "3600"}))
    assert failed and "still Pending" in result["msg"] and "3600" in result["msg"]
    assert_outcome_kept(result)


def test_a_cancel_that_races_a_finished_action_reports_how_it_ended():
    state = {"cancelled": False}

    def answer(call):
        if call["method"] == "POST":  # the action finished a moment before the cancel arrived
            state["cancelled"] = True
            return error(400, "InvalidRequest", "Cannot cancel an action in a final state")
        return FakeResponse(200, action("a1", status="Succeeded" if state["cancelled"] else "Pending"))
    result, failed, _session = created_then(args={"cancel_on_timeout": True, "wait_timeout": 10}, default=answer)
    assert not failed, result["msg"]
    assert_outcome_kept(result)
    assert result["machine_action"]["status"] == "Succeeded" and result["timed_out_machine_ids"] == [M1]


def test_an_unexpected_exception_after_the_write_is_a_failure_with_changed_not_a_traceback():
    with mock.patch.object(module.ActionWatcher, "wait", side_effect=RuntimeError("boom")):
        result, failed, _session = created_then()
    assert failed and "RuntimeError: boom" in result["msg"] and "report this as a bug" in result["msg"]
    assert_outcome_kept(result)
    assert "Traceback" in result["exception"]


# --- "never twice" seen from the module -----------------------------------------------------------------

def test_another_file_pending_on_the_device_fails_unchanged_naming_the_blocking_action():
    blocker = action("blocker", sha1="f" * 40, status="InProgress", requestor="soc@contoso.com")
    result, failed, session = run({"machine_id": M1}, [
        ("GET", "/api/machineactions", listing()),
        ("POST", "/StopAndQuarantineFile", error(400, "ActiveRequestAlreadyExists", "Action is already in progress")),
    ], default=lambda call: listing(blocker))
    assert failed and result["changed"] is False
    assert "blocker" in result["msg"] and "f" * 40 in result["msg"] and "InProgress" in result["msg"]
    assert len(session.calls_to("POST", "")) == 1


def test_a_201_with_the_pending_action_the_look_up_saw_is_no_change():
    pending = action("pending", requestorComment="someone else")
    result, failed, _session = run({"machine_id": M1, "skip_if_succeeded_within": "0"}, [
        ("GET", "/api/machineactions", listing(dict(pending, status="Failed"))),
        ("POST", "/StopAndQuarantineFile", FakeResponse(201, pending)),
    ])
    assert not failed and result["changed"] is False and result["existing_machine_ids"] == [M1]


def test_a_rerun_after_success_sends_nothing_by_default():
    done = action("done", status="Succeeded")
    result, failed, session = run({"machine_ids": [M1, M2]}, [
        ("GET", "/api/machineactions", listing(done, action("done2", machine=M2, status="Succeeded")))])
    assert not failed and result["changed"] is False and sorted(result["existing_machine_ids"]) == sorted([M1, M2])
    assert not session.calls_to("POST", "")
    assert "status eq 'Succeeded' and creationDateTimeUtc ge 2026-11-27T12:00:00Z" in session.calls[0]["params"]["$filter"]


def test_skip_if_succeeded_within_zero_forces_a_new_action():
    result, failed, session = run({"machine_id": M1, "skip_if_succeeded_within": "0"}, [
        ("GET", "/api/machineactions", listing(action("done", status="Succeeded"))),
        ("POST", "/StopAndQuarantineFile", FakeResponse(201, action("again", requestorComment="INC-1")))])
    assert not failed and result["changed"] and result["machine_action"]["id"] == "again"
    assert "Succeeded" not in session.calls[0]["params"]["$filter"].split("or creationDateTimeUtc")[0]


# --- a fleet stops once an error applies to every device ----------------------------------------------

FLEET = [f"{i:040x}" for i in range(1, 6)]


def fleet_run(second_answer):
    script = [("GET", "/api/machineactions", listing()),
              ("POST", f"/api/machines/{FLEET[0]}/", FakeResponse(201, action("a0", machine=FLEET[0]))),
              ("POST", f"/api/machines/{FLEET[1]}/", second_answer)]
    return run({"machine_ids": FLEET, "retry_timeout": 300}, script)


def test_throttling_beyond_the_deadline_stops_the_fleet_and_says_when_to_retry():
    result, failed, session = fleet_run(error(429, "TooManyRequests", "Rate limit is exceeded", headers={"Retry-After": "2400"}))
    assert failed and result["changed"] is True
    assert len(session.calls_to("POST", "")) == 2
    assert result["not_sent_machine_ids"] == FLEET[2:]
    assert result["created_machine_ids"] == [FLEET[0]]
    assert {f["machine_id"]: f["code"] for f in result["failed_machines"]} == {
        FLEET[1]: "TooManyRequests", FLEET[2]: "NotSent", FLEET[3]: "NotSent", FLEET[4]: "NotSent"}
    assert "Run again after 2026-11-28T12:40:00Z" in result["msg"] and "asked to wait 2400 s" in result["msg"]
    assert result["retry_after"] == 2400


@pytest.mark.parametrize("answer", [error(403, "Forbidden", "The application does not have the permission"),
                                    error(403, "DisabledFeature", "Stop and quarantine is not enabled"),
                                    error(401, "Unauthorized", "expired")])
def test_tenant_wide_errors_stop_the_fleet(answer):
    result, failed, session = fleet_run(answer)
    assert failed and len(session.calls_to("POST", "")) == 2
    assert result["not_sent_machine_ids"] == FLEET[2:] and "were not sent" in result["msg"]


def test_a_device_error_does_not_stop_the_fleet():
    script = [("GET", "/api/machineactions", listing())]
    script += [("POST", f"/api/machines/{m}/", error(404, "ResourceNotFound", "Machine was not found") if i == 1
                else FakeResponse(201, action(f"a{i}", machine=m))) for i, m in enumerate(FLEET)]
    result, failed, session = run({"machine_ids": FLEET}, script)
    assert failed and len(session.calls_to("POST", "")) == 5 and result["not_sent_machine_ids"] == []


# --- check mode predicts the sends that would fail ------------------------------------------------------

def test_check_mode_predicts_an_unknown_device():
    result, failed, session = run({"machine_id": M1}, [
        ("GET", "/api/machineactions", listing()),
        ("GET", f"/api/files/{SHA1}/machines", listing()),
        ("GET", f"/api/machines/{M1}", error(404, "ResourceNotFound"))], check_mode=True)
    assert failed and result["changed"] is False and result["created_machine_ids"] == []
    assert f"Machine {M1} was not found" in result["msg"] and "Check mode" in result["msg"]
    assert not session.calls_to("POST", "")


def test_check_mode_predicts_a_device_that_never_saw_the_file():
    result, failed, _session = run({"machine_id": M1}, [
        ("GET", "/api/machineactions", listing()),
        ("GET", f"/api/files/{SHA1}/machines", listing({"id": M2})),
        ("GET", f"/api/machines/{M1}", FakeResponse(200, {"id": M1}))], check_mode=True)
    assert failed and result["changed"] is False
    assert f"Sha1 {SHA1} was not found in machine {M1}" in result["msg"]


def test_check_mode_for_a_fleet_asks_once_for_every_device():
    result, failed, session = run({"machine_ids": FLEET}, [
        ("GET", "/api/machineactions", listing()),
        ("GET", f"/api/files/{SHA1}/machines", listing(*[{"id": m} for m in FLEET[:3]]))], check_mode=True)
    assert failed and result["changed"] is True
    assert result["created_machine_ids"] == FLEET[:3] and result["would_fail_machine_ids"] == FLEET[3:]
    assert len(session.calls) == 2 and "would fail on 2 of 5" in result["msg"]
