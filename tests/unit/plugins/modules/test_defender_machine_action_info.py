# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from unittest import mock

import pytest

from ansible_collections.secops.defender.plugins.modules import defender_machine_action_info as module
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
SHA1 = "87662bc3d60e4200ceaf7aae249d1c343f4b83c9"
M1 = "1e5bc9d7e413ddd7902c2932e418702b84d0cc07"
A1 = "44cffc15-0e3d-4cbf-96aa-bf76f9b27f5e"
A2 = "55cffc15-0e3d-4cbf-96aa-bf76f9b27f5e"


def action(action_id, status="Pending", sha1=SHA1, action_type="StopAndQuarantineFile", **extra):
    return {"id": action_id, "type": action_type, "machineId": M1, "status": status, "requestor": "app",
            "creationDateTimeUtc": "2026-11-28T11:59:00.1234567Z", "lastUpdateTimeUtc": "2026-11-28T11:59:00Z",
            "relatedFileInfo": {"fileIdentifier": sha1, "fileIdentifierType": "Sha1"} if sha1 else None, **extra}


def listing(*actions, next_link=None):
    body = {"value": list(actions)}
    if next_link:
        body["@odata.nextLink"] = next_link
    return FakeResponse(200, body)


@pytest.fixture(autouse=True)
def no_sleep():
    with mock.patch("time.sleep"):
        yield


def run(args, script=(), default=None, token=TOKEN, check_mode=False):
    session = FakeSession(ScriptedHandler(list(script), default))
    base = {"api_url": "https://api.test", "access_token": token}
    base.update(args)
    with mock.patch("ansible_collections.secops.defender.plugins.module_utils._factory.build_session", return_value=session):
        result, failed = run_module(module.main, base, check_mode=check_mode)
    return result, failed, session


def test_one_action_by_id():
    result, failed, session = run({"id": A1.upper()}, [("GET", f"/api/machineactions/{A1}", FakeResponse(200, {
        "@odata.context": "x", **action(A1, "Succeeded")}))])
    assert not failed and not result["changed"]
    assert [a["id"] for a in result["machine_actions"]] == [A1]
    assert result["machine_actions"][0]["last_update_date_time_utc"] == "2026-11-28T11:59:00Z"
    assert "@odata.context" not in result["machine_actions"][0]
    assert len(session.calls) == 1


def test_unknown_id_is_an_empty_list():
    result, failed, _session = run({"id": A1}, [("GET", f"/api/machineactions/{A1}", error(404, "ResourceNotFound"))])
    assert not failed and result["machine_actions"] == []


def test_filters_become_one_odata_filter_and_sha1_is_matched_client_side():
    other = "0" * 40
    result, failed, session = run(
        {"machine_id": M1, "type": "StopAndQuarantineFile", "status": ["Pending", "InProgress"], "requestor": "o'neil@contoso.com",
         "created_after": "2026-11-01", "sha1": SHA1.upper()},
        [("GET", "/api/machineactions", listing(action(A1), action(A2, sha1=other)))])
    assert not failed
    assert [a["id"] for a in result["machine_actions"]] == [A1]
    assert session.calls[0]["params"]["$filter"] == (
        "type eq 'StopAndQuarantineFile' and machineId eq '1e5bc9d7e413ddd7902c2932e418702b84d0cc07' and "
        "requestor eq 'o''neil@contoso.com' and (status eq 'Pending' or status eq 'InProgress') and "
        "creationDateTimeUtc ge 2026-11-01T00:00:00Z")


def test_created_after_duration():
    result, failed, session = run({"created_after": "2h"}, [("GET", "/api/machineactions", listing())])
    assert not failed and result["machine_actions"] == []
    assert session.calls[0]["params"]["$filter"].startswith("creationDateTimeUtc ge 20")


def test_no_filter_lists_everything_and_follows_next_link():
    page2 = "https://api.test/api/machineactions?$skip=1"
    result, failed, session = run({}, [
        ("GET", "$skip=1", listing(action(A2))),
        ("GET", "/api/machineactions", listing(action(A1), next_link=page2)),
    ])
    assert not failed
    assert [a["id"] for a in result["machine_actions"]] == [A1, A2]
    assert "$filter" not in session.calls[0]["params"]


def test_page_size_pages_with_top_and_skip():
    ids = [f"{i:08x}-0000-0000-0000-000000000000" for i in range(5)]

    def pages(call):
        skip = int(call["params"].get("$skip", 0))
        return listing(*[action(i) for i in ids[skip:skip + int(call["params"]["$top"])]])
    result, failed, session = run({"machine_id": M1, "page_size": 2}, default=pages)
    assert not failed
    assert [a["id"] for a in result["machine_actions"]] == ids
    assert [c["params"].get("$skip") for c in session.calls] == [None, 2, 4]


def test_wait_for_terminal_polls_one_action_by_id():
    result, failed, session = run(
        {"id": A1, "wait_for_terminal": True, "poll_interval": 0.01, "calls_per_minute": 60000, "wait_timeout": 30},
        [("GET", f"/api/machineactions/{A1}", FakeResponse(200, action(A1, "Pending"))),
         ("GET", f"/api/machineactions/{A1}", FakeResponse(200, action(A1, "InProgress"))),
         ("GET", f"/api/machineactions/{A1}", FakeResponse(200, action(A1, "Succeeded")))])
    assert not failed, result["msg"]
    assert result["machine_actions"][0]["status"] == "Succeeded"
    assert result["timed_out_action_ids"] == []
    assert len(session.calls) == 3


def test_wait_for_terminal_polls_many_with_one_list_query_of_any_type():
    first = [action(A1), action(A2, action_type="Isolate", sha1=None)]
    done = [action(A1, "Succeeded"), action(A2, "Failed", action_type="Isolate", sha1=None)]
    result, failed, session = run(
        {"machine_id": M1, "wait_for_terminal": True, "poll_interval": 0.01, "calls_per_minute": 60000},
        [("GET", "/api/machineactions", listing(*first)), ("GET", "/api/machineactions", listing(*done))])
    assert not failed, result["msg"]
    assert [a["status"] for a in result["machine_actions"]] == ["Succeeded", "Failed"]
    poll = session.calls[1]["params"]["$filter"]
    assert poll.startswith("creationDateTimeUtc ge ") and "type eq" not in poll


def test_wait_for_terminal_times_out_and_fails_with_the_actions():
    result, failed, _session = run(
        {"id": A1, "wait_for_terminal": True, "poll_interval": 0.01, "calls_per_minute": 60000, "wait_timeout": 0.05},
        default=lambda call: FakeResponse(200, action(A1, "Pending")))
    assert failed
    assert "still not finished" in result["msg"]
    assert result["timed_out_action_ids"] == [A1]
    assert result["machine_actions"][0]["status"] == "Pending"


@pytest.mark.parametrize("args, message", [
    ({"id": "../machines"}, "is not a machine action id"),
    ({"machine_id": "desk-01"}, "is not a Defender device id"),
    ({"sha1": "xyz"}, "not hexadecimal"),
    ({"created_after": "yesterday"}, "is neither a date (2026-11-01 or 2026-11-01T08:00:00Z) nor a duration"),
    ({"page_size": 10001}, "page_size must be between"),
    ({"wait_for_terminal": True, "poll_interval": 0.1}, "poll_interval 0.1 is below 0.6"),
    ({"id": A1, "machine_id": M1}, "mutually exclusive"),
    ({"status": ["Done"]}, "value of status must be one or more of"),
])
def test_validation_before_any_request(args, message):
    result, failed, session = run(args)
    assert failed and message in result["msg"]
    assert session.calls == []


def test_api_error():
    result, failed, _session = run({}, [("GET", "/api/machineactions", error(403, "Forbidden", "no", "req-2"))])
    assert failed and result["error_code"] == "Forbidden" and result["request_id"] == "req-2"


# --- ids: exactly these actions, a listing that lags a new one, many ids -------------------------------

def ids_listing(call, statuses):
    """The list API for an `id eq ... or id eq ...` filter: the actions asked for that `statuses` knows."""
    asked = [part.split("'")[1] for part in call["params"].get("$filter", "").split(" or ") if "id eq" in part]
    return listing(*[action(i, statuses[i]) for i in asked if statuses.get(i)])


def test_ids_read_exactly_those_actions_with_list_queries():
    ids = [f"{n:08x}-0e3d-4cbf-96aa-bf76f9b27f5e" for n in range(20)]
    statuses = {i: "Succeeded" for i in ids}
    result, failed, session = run({"ids": ids}, default=lambda call: ids_listing(call, statuses))
    assert not failed and len(result["machine_actions"]) == 20 and result["not_found_ids"] == []
    assert len(session.calls) == 2  # 15 + 5 ids


def test_ids_waits_for_an_action_the_listing_does_not_show_yet():
    statuses = {A1: "Pending", A2: None}
    polls = []

    def answer(call):
        polls.append(call)
        if len(polls) == 4:  # the new action appears in the listing on the 4th call
            statuses[A2] = "Pending"
        if len(polls) >= 6:
            statuses[A1] = statuses[A2] = "Succeeded"
        return ids_listing(call, statuses)
    result, failed, _session = run({"ids": [A1, A2], "wait_for_terminal": True, "poll_interval": 1, "wait_timeout": 120},
                                   default=answer)
    assert not failed, result["msg"]
    assert sorted(a["id"] for a in result["machine_actions"]) == sorted([A1, A2])
    assert {a["status"] for a in result["machine_actions"]} == {"Succeeded"}
    assert result["not_found_ids"] == []


def test_ids_gives_up_on_an_unknown_id_after_the_grace_period_not_the_whole_wait():
    statuses = {A1: "Succeeded"}
    result, failed, session = run({"ids": [A1, A2], "wait_for_terminal": True, "poll_interval": 5, "wait_timeout": 3600},
                                  default=lambda call: ids_listing(call, statuses) if "$filter" in call["params"]
                                  else error(404, "ResourceNotFound"))
    assert not failed, result["msg"]
    assert [a["id"] for a in result["machine_actions"]] == [A1]
    assert result["not_found_ids"] == [A2]
    assert 60 <= result["elapsed"] < 80 and len(session.calls) < 20


def test_many_ids_are_polled_with_one_listing_not_one_query_per_15():
    ids = [f"{n:08x}-0e3d-4cbf-96aa-bf76f9b27f5e" for n in range(45)]
    statuses = {i: "Pending" for i in ids}
    calls = []

    def answer(call):
        calls.append(call)
        if "id eq" in call["params"].get("$filter", ""):
            return ids_listing(call, statuses)
        return listing(*[action(i, "Succeeded") for i in ids])  # the poll: type and creation time
    result, failed, _session = run({"ids": ids, "wait_for_terminal": True, "poll_interval": 1}, default=answer)
    assert not failed, result["msg"]
    polls = [c for c in calls if "id eq" not in c["params"].get("$filter", "")]
    assert len(polls) == 1 and "creationDateTimeUtc ge" in polls[0]["params"]["$filter"]
