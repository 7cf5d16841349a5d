# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from unittest import mock

import pytest

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


@pytest.fixture(autouse=True)
def no_sleep():
    with mock.patch("time.sleep"):
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
    result, failed, session = run({"machine_id": M1}, [("GET", "/api/machineactions", listing(*existing))], check_mode=True)
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
