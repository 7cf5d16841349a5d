# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from ansible_collections.secops.defender.plugins.module_utils import _actions
from ansible_collections.secops.defender.plugins.module_utils._auth import StaticTokenProvider
from ansible_collections.secops.defender.plugins.module_utils._client import DefenderClient
from ansible_collections.secops.defender.plugins.module_utils._errors import DefenderError
from ansible_collections.secops.defender.tests.unit.fakes import FakeResponse, FakeSession, ScriptedHandler, error

SHA1 = "87662bc3d60e4200ceaf7aae249d1c343f4b83c9"
M1 = "1" * 40
M2 = "2" * 40
NOW = datetime(2026, 11, 28, 12, 0, 0, tzinfo=timezone.utc)


def action(action_id, machine=M1, status="Pending", sha1=SHA1, created="2026-11-28T11:59:00.1234567Z", **extra):
    return {"id": action_id, "type": "StopAndQuarantineFile", "machineId": machine, "status": status,
            "creationDateTimeUtc": created, "relatedFileInfo": {"fileIdentifier": sha1, "fileIdentifierType": "Sha1"},
            **extra}


def listing(*actions):
    return FakeResponse(200, {"@odata.context": "x", "value": list(actions)})


def client_for(script, default=None):
    session = FakeSession(ScriptedHandler(script, default))
    client = DefenderClient("https://api.test", StaticTokenProvider("t"), session, sleep=lambda s: None)
    return client, session


def test_filter_uses_only_supported_properties():
    flt = _actions.action_filter(statuses=_actions.ACTIVE_STATUSES, machine_id=M1, succeeded_since=NOW)
    assert flt == (f"type eq 'StopAndQuarantineFile' and machineId eq '{M1}' and (status eq 'Pending' or "
                   "status eq 'InProgress' or (status eq 'Succeeded' and creationDateTimeUtc ge 2026-11-28T12:00:00Z))")
    assert _actions.action_filter(created_since=NOW) == "type eq 'StopAndQuarantineFile' and creationDateTimeUtc ge 2026-11-28T12:00:00Z"


def test_parse_time_reads_seven_fraction_digits():
    assert _actions.parse_time("2018-12-04T12:15:40.6052029Z") == datetime(2018, 12, 4, 12, 15, 40, 605202, tzinfo=timezone.utc)
    assert _actions.parse_time(None) is None and _actions.parse_time("garbage") is None


def test_last_update_accepts_both_names():
    assert _actions.last_update({"lastUpdateTimeUtc": "a"}) == "a"
    assert _actions.last_update({"lastUpdateDateTimeUtc": "b", "lastUpdateTimeUtc": "a"}) == "b"


def test_find_existing_matches_file_and_machine_client_side():
    client, session = client_for([("GET", "/api/machineactions", listing(
        action("other-file", sha1="0" * 40),
        action("other-machine", machine=M2),
        action("mine", status="InProgress"),
    ))])
    assert _actions.find_existing(client, [M1], SHA1) == {M1: action("mine", status="InProgress")}
    assert f"machineId eq '{M1}'" in session.calls[0]["params"]["$filter"]


def test_find_existing_for_a_fleet_is_one_query():
    client, session = client_for([("GET", "/api/machineactions", listing(action("a", M1), action("b", M2)))])
    found = _actions.find_existing(client, [M1, M2, "3" * 40], SHA1)
    assert set(found) == {M1, M2}
    assert len(session.calls) == 1 and "machineId" not in session.calls[0]["params"]["$filter"]


def test_find_existing_prefers_an_active_action_to_a_recent_success():
    client, _session = client_for([("GET", "/api/machineactions", listing(
        action("done", status="Succeeded", created="2026-11-28T11:59:30Z"), action("busy", created="2026-11-28T11:00:00Z")))])
    assert _actions.find_existing(client, [M1], SHA1, succeeded_since=NOW)[M1]["id"] == "busy"


def test_submit_posts_the_case_sensitive_body_once():
    client, session = client_for([("POST", "/StopAndQuarantineFile", FakeResponse(201, action("new")))])
    assert _actions.submit_stop_and_quarantine(client, M1, SHA1, "why") == (action("new"), True)
    assert session.calls[0]["json"] == {"Comment": "why", "Sha1": SHA1}
    assert session.calls[0]["url"] == f"https://api.test/api/machines/{M1}/StopAndQuarantineFile"


def test_ambiguous_failure_after_creation_reads_back_and_does_not_resend():
    client, session = client_for([
        ("POST", "/StopAndQuarantineFile", error(503, "ServiceUnavailable")),
        ("GET", "/api/machineactions", listing(action("created-by-us"))),
    ])
    result = _actions.submit_stop_and_quarantine(client, M1, SHA1, "why", now=lambda: NOW)
    assert result == (action("created-by-us"), True)
    assert len(session.calls_to("POST", "/StopAndQuarantineFile")) == 1
    assert "creationDateTimeUtc ge 2026-11-28T11:58:00Z" in session.calls[1]["params"]["$filter"]


def test_ambiguous_failure_before_creation_resends_once():
    client, session = client_for([
        ("POST", "/StopAndQuarantineFile", error(500, "InternalServerError")),
        ("GET", "/api/machineactions", listing()),
        ("POST", "/StopAndQuarantineFile", FakeResponse(201, action("second-try"))),
    ])
    assert _actions.submit_stop_and_quarantine(client, M1, SHA1, "why")[0]["id"] == "second-try"
    assert len(session.calls_to("POST", "/StopAndQuarantineFile")) == 2


def test_ambiguous_every_time_gives_up_after_the_attempts():
    client, session = client_for([], default=lambda call: error(503, "ServiceUnavailable") if call["method"] == "POST"
                                 else listing())
    with pytest.raises(DefenderError) as info:
        _actions.submit_stop_and_quarantine(client, M1, SHA1, "why", attempts=3)
    assert info.value.status == 503
    assert len(session.calls_to("POST", "/StopAndQuarantineFile")) == 3


def test_duplicate_400_returns_the_pending_action_unchanged():
    client, _session = client_for([
        ("POST", "/StopAndQuarantineFile", error(400, "ActiveRequestAlreadyExists", "Action is already in progress")),
        ("GET", "/api/machineactions", listing(action("theirs"))),
    ])
    assert _actions.submit_stop_and_quarantine(client, M1, SHA1, "why") == (action("theirs"), False)


def test_duplicate_400_for_another_file_is_reported():
    client, _session = client_for([
        ("POST", "/StopAndQuarantineFile", error(400, "ActiveRequestAlreadyExists", "Action is already in progress")),
        ("GET", "/api/machineactions", listing(action("theirs", sha1="f" * 40))),
    ])
    with pytest.raises(DefenderError) as info:
        _actions.submit_stop_and_quarantine(client, M1, SHA1, "why")
    assert info.value.code == "ActiveRequestAlreadyExists"


def test_other_errors_are_raised_without_retry():
    client, session = client_for([("POST", "/StopAndQuarantineFile", error(404, "ResourceNotFound", "Machine x was not found"))])
    with pytest.raises(DefenderError) as info:
        _actions.submit_stop_and_quarantine(client, M1, SHA1, "why")
    assert info.value.status == 404 and len(session.calls) == 1


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_watcher_single_action_polls_by_id_and_tolerates_an_early_404():
    clock = Clock()
    client, session = client_for([
        ("GET", "/api/machineactions/a1", error(404, "ResourceNotFound")),
        ("GET", "/api/machineactions/a1", FakeResponse(200, action("a1", status="InProgress"))),
        ("GET", "/api/machineactions/a1", FakeResponse(200, action("a1", status="Succeeded"))),
    ])
    watcher = _actions.ActionWatcher(client, {M1: action("a1")}, clock=clock, sleep=clock.sleep, now=lambda: NOW)
    assert watcher.wait(timeout=100, poll_interval=5) == []
    assert [h["status"] for h in watcher.history[M1]] == ["Pending", "InProgress", "Succeeded"]
    assert len(session.calls) == 3 and clock.now == 15


def test_watcher_fleet_polls_with_one_list_query_per_interval():
    clock = Clock()
    fleet = {f"{i:040x}": action(f"a{i}", machine=f"{i:040x}") for i in range(50)}
    finished = [dict(a, status="Succeeded") for a in fleet.values()]
    client, session = client_for([("GET", "/api/machineactions", listing(*finished[:25])),
                                  ("GET", "/api/machineactions", listing(*finished))])
    watcher = _actions.ActionWatcher(client, fleet, clock=clock, sleep=clock.sleep, now=lambda: NOW)
    assert watcher.wait(timeout=100, poll_interval=10) == []
    assert len(session.calls) == 2  # two polls for 50 actions


def test_watcher_times_out_with_the_keys_still_pending():
    clock = Clock()
    client, _session = client_for([], default=lambda call: FakeResponse(200, action("a1")))
    watcher = _actions.ActionWatcher(client, {M1: action("a1")}, clock=clock, sleep=clock.sleep, now=lambda: NOW)
    assert watcher.wait(timeout=30, poll_interval=10) == [M1]
    assert clock.now == 30


def test_cancel_reads_back_after_an_ambiguous_failure():
    client, session = client_for([
        ("POST", "/cancel", error(503, "ServiceUnavailable")),
        ("GET", "/api/machineactions/a1", FakeResponse(200, action("a1", status="Cancelled"))),
    ])
    assert _actions.cancel_action(client, "a1", "stop")["status"] == "Cancelled"
    assert session.calls[0]["json"] == {"Comment": "stop"}


def test_outcome_message():
    assert _actions.outcome_message(action("a1", status="Failed", errorHResult=-2147024894)) == \
        "action a1 ended Failed (errorHResult -2147024894)"
