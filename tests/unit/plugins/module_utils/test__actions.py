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
    assert _actions.submit_stop_and_quarantine(client, M1, SHA1, "why", now=lambda: NOW) == (action("new"), True)
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
    assert "creationDateTimeUtc ge 2026-11-28T11:55:00Z" in session.calls[1]["params"]["$filter"]


def test_ambiguous_failure_before_creation_resends_once():
    client, session = client_for([
        ("POST", "/StopAndQuarantineFile", error(500, "InternalServerError")),
        ("POST", "/StopAndQuarantineFile", FakeResponse(201, action("second-try", created="2026-11-28T12:00:01Z"))),
    ], default=lambda call: listing())
    assert _actions.submit_stop_and_quarantine(client, M1, SHA1, "why", now=lambda: NOW)[0]["id"] == "second-try"
    assert len(session.calls_to("POST", "/StopAndQuarantineFile")) == 2


def test_ambiguous_every_time_gives_up_after_the_attempts():
    client, session = client_for([], default=lambda call: error(503, "ServiceUnavailable") if call["method"] == "POST"
                                 else listing())
    with pytest.raises(DefenderError) as info:
        _actions.submit_stop_and_quarantine(client, M1, SHA1, "why", attempts=3, now=lambda: NOW)
    assert info.value.status == 503
    assert len(session.calls_to("POST", "/StopAndQuarantineFile")) == 3


def test_duplicate_400_returns_the_pending_action_unchanged():
    client, _session = client_for([
        ("POST", "/StopAndQuarantineFile", error(400, "ActiveRequestAlreadyExists", "Action is already in progress")),
        ("GET", "/api/machineactions", listing(action("theirs"))),
    ])
    assert _actions.submit_stop_and_quarantine(client, M1, SHA1, "why", now=lambda: NOW) == (action("theirs"), False)


def test_duplicate_400_for_another_file_is_reported():
    client, _session = client_for([
        ("POST", "/StopAndQuarantineFile", error(400, "ActiveRequestAlreadyExists", "Action is already in progress")),
        ("GET", "/api/machineactions", listing(action("theirs", sha1="f" * 40))),
    ])
    with pytest.raises(DefenderError) as info:
        _actions.submit_stop_and_quarantine(client, M1, SHA1, "why", now=lambda: NOW)
    assert info.value.code == "ActiveRequestAlreadyExists"


def test_other_errors_are_raised_without_retry():
    client, session = client_for([("POST", "/StopAndQuarantineFile", error(404, "ResourceNotFound", "Machine x was not found"))])
    with pytest.raises(DefenderError) as info:
        _actions.submit_stop_and_quarantine(client, M1, SHA1, "why", now=lambda: NOW)
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


# --- "never twice" when the service is slow or the history is busy -------------------------------------

def quarantine(client, slept=None, **kwargs):
    return _actions.Quarantine(client, SHA1, "why", now=lambda: NOW, sleep=(slept.append if slept is not None else None),
                               **kwargs)


def test_read_back_never_adopts_an_older_action_of_the_same_file():
    # An earlier attempt failed a minute ago; this POST got a 503 before anything was created.
    old = action("old-failed", status="Failed", created="2026-11-28T11:59:00Z", requestorComment="why")
    client, session = client_for([
        ("GET", "/api/machineactions", listing(old)),  # the look-up sees it (created within the skew window)
        ("POST", "/StopAndQuarantineFile", error(503, "ServiceUnavailable")),
        ("POST", "/StopAndQuarantineFile", FakeResponse(201, action("new", created="2026-11-28T12:00:02Z"))),
    ], default=lambda call: listing(old))
    q = quarantine(client, [])
    assert q.look_up([M1]) == {}
    assert q.submit(M1) == (action("new", created="2026-11-28T12:00:02Z"), True)
    assert len(session.calls_to("POST", "/StopAndQuarantineFile")) == 2


def test_read_back_never_adopts_someone_elses_action():
    theirs = action("theirs", status="Succeeded", created="2026-11-28T12:00:01Z", requestorComment="another analyst")
    client, session = client_for([
        ("POST", "/StopAndQuarantineFile", error(503, "ServiceUnavailable")),
        ("POST", "/StopAndQuarantineFile", FakeResponse(201, action("ours", created="2026-11-28T12:00:03Z"))),
    ], default=lambda call: listing(theirs))
    assert quarantine(client, []).submit(M1)[0]["id"] == "ours"
    assert len(session.calls_to("POST", "/StopAndQuarantineFile")) == 2


def test_a_lagging_listing_is_read_patiently_and_nothing_is_resent():
    created = action("ours", created="2026-11-28T12:00:01Z", requestorComment="why")
    reads = []

    def lagging(call):
        reads.append(call)
        return listing(created) if len(reads) >= 4 else listing()
    client, session = client_for([("POST", "/StopAndQuarantineFile", error(503, "ServiceUnavailable"))], default=lagging)
    slept = []
    assert quarantine(client, slept).submit(M1) == (created, True)
    assert len(session.calls_to("POST", "/StopAndQuarantineFile")) == 1
    assert len(reads) == 4 and sum(slept) < _actions.PATIENCE_SECONDS


def test_a_listing_that_lags_past_patience_then_a_400_adopts_our_action():
    created = action("ours", created="2026-11-28T12:00:01Z", requestorComment="why")
    state = {"visible": False}

    def answer(call):
        if call["method"] == "POST":
            if not session.calls_to("POST", "/StopAndQuarantineFile")[:-1]:
                return error(504, "GatewayTimeout")  # created, answer lost
            state["visible"] = True
            return error(400, "ActiveRequestAlreadyExists", "Action is already in progress")
        return listing(created) if state["visible"] else listing()
    client, session = client_for([], default=answer)
    slept = []
    assert quarantine(client, slept).submit(M1) == (created, True)
    assert len(session.calls_to("POST", "/StopAndQuarantineFile")) == 2
    assert sum(slept) <= 2 * _actions.PATIENCE_SECONDS + 1


def test_a_400_for_another_file_pending_on_the_device_names_the_blocking_action():
    blocking = action("blocker", sha1="f" * 40, status="InProgress", requestor="soc@contoso.com")
    client, session = client_for([
        ("POST", "/StopAndQuarantineFile", error(400, "ActiveRequestAlreadyExists", "Action is already in progress")),
    ], default=lambda call: listing(blocking))
    with pytest.raises(_actions.BlockedByAction) as info:
        quarantine(client, []).submit(M1)
    text = str(info.value)
    assert "blocker" in text and "f" * 40 in text and "InProgress" in text and "soc@contoso.com" in text
    assert info.value.code == "ActiveRequestAlreadyExists" and len(session.calls_to("POST", "/Stop")) == 1


def test_a_400_with_nothing_to_be_found_fails_after_patience_without_resending():
    client, session = client_for([
        ("POST", "/StopAndQuarantineFile", error(400, "ActiveRequestAlreadyExists", "Action is already in progress")),
    ], default=lambda call: listing())
    slept = []
    with pytest.raises(_actions.BlockedByAction) as info:
        quarantine(client, slept).submit(M1)
    assert "could be found within 60 s" in str(info.value)
    assert sum(slept) == pytest.approx(_actions.PATIENCE_SECONDS)
    assert len(session.calls_to("POST", "/Stop")) == 1


def test_a_201_with_an_action_the_look_up_saw_is_not_a_change():
    pending = action("pending", created="2026-11-28T11:58:00Z")
    client, _session = client_for([("GET", "/api/machineactions", listing(pending)),
                                   ("POST", "/StopAndQuarantineFile", FakeResponse(201, pending))])
    q = quarantine(client)
    q.look_up([M1])  # created 2 minutes before: within the look-up's window, so its id is known
    assert q.submit(M1) == (pending, False)


def test_a_201_with_someone_elses_action_the_look_up_missed_is_not_a_change():
    older = action("older", created="2026-11-28T11:59:40Z", requestorComment="other run")
    client, _session = client_for([("POST", "/StopAndQuarantineFile", FakeResponse(201, older))])
    assert quarantine(client).submit(M1) == (older, False)


def test_a_201_with_a_pending_action_for_another_file_is_a_block_not_a_change():
    other = action("other", sha1="e" * 40, created="2026-11-28T11:59:30Z")
    client, _session = client_for([("POST", "/StopAndQuarantineFile", FakeResponse(201, other))])
    with pytest.raises(_actions.BlockedByAction):
        quarantine(client).submit(M1)


def test_a_read_back_that_fails_is_ambiguous_and_not_resent():
    client, session = client_for([("POST", "/StopAndQuarantineFile", error(503, "ServiceUnavailable"))],
                                 default=lambda call: error(500, "InternalServerError"))
    with pytest.raises(_actions.AmbiguousRequestError) as info:
        quarantine(client, []).submit(M1)
    assert "reading the device's actions back failed" in str(info.value)
    assert len(session.calls_to("POST", "/Stop")) == 1


def test_look_up_remembers_every_recent_action_and_asks_for_them_in_one_query():
    client, session = client_for([("GET", "/api/machineactions", listing(
        action("a", status="Failed"), action("b", machine=M2, sha1="0" * 40), action("c", machine="9" * 40)))])
    q = quarantine(client)
    assert q.look_up([M1, M2]) == {}
    assert q.known_ids == {"a", "b"}
    assert "creationDateTimeUtc ge 2026-11-28T11:55:00Z" in session.calls[0]["params"]["$filter"]
    assert len(session.calls) == 1


# --- waits always progress; poll errors --------------------------------------------------------------------

def test_a_wait_with_a_clock_that_never_moves_still_ends_at_its_deadline():
    slept = []
    client, session = client_for([], default=lambda call: FakeResponse(200, action("a1")))
    watcher = _actions.ActionWatcher(client, {M1: action("a1")}, clock=lambda: 5.0, sleep=slept.append, now=lambda: NOW)
    assert watcher.wait(timeout=600, poll_interval=10) == [M1]
    assert sum(slept) == pytest.approx(600) and len(session.calls) == 60


def test_the_watcher_uses_the_clients_clock_and_sleep():
    clock = Clock()
    session = FakeSession(ScriptedHandler([], lambda call: FakeResponse(200, action("a1"))))
    client = DefenderClient("https://api.test", StaticTokenProvider("t"), session, clock=clock, sleep=clock.sleep)
    watcher = _actions.ActionWatcher(client, {M1: action("a1")}, now=lambda: NOW)
    assert watcher.wait(timeout=50, poll_interval=10) == [M1]
    assert clock.now == 50


def test_a_poll_that_fails_for_a_while_does_not_end_the_wait():
    clock = Clock()
    answers = [error(503, "ServiceUnavailable")] * 12 + [FakeResponse(200, action("a1", status="Succeeded"))]
    client, _session = client_for([], default=lambda call: answers.pop(0))
    client.policy.max_attempts = 2
    watcher = _actions.ActionWatcher(client, {M1: action("a1")}, clock=clock, sleep=clock.sleep, now=lambda: NOW)
    assert watcher.wait(timeout=600, poll_interval=10) == []
    assert watcher.poll_errors and watcher.poll_errors[0].status == 503


def test_a_poll_refused_for_good_ends_the_wait_with_the_error():
    clock = Clock()
    client, _session = client_for([], default=lambda call: error(403, "Forbidden"))
    watcher = _actions.ActionWatcher(client, {M1: action("a1")}, clock=clock, sleep=clock.sleep, now=lambda: NOW)
    with pytest.raises(DefenderError) as info:
        watcher.wait(timeout=600, poll_interval=10)
    assert info.value.status == 403


def test_cancel_that_races_a_finished_action_returns_it_as_it_ended():
    client, _session = client_for([
        ("POST", "/cancel", error(400, "InvalidRequest", "Action is in a final state and cannot be cancelled")),
        ("GET", "/api/machineactions/a1", FakeResponse(200, action("a1", status="Succeeded"))),
    ])
    assert _actions.cancel_action(client, "a1", "stop")["status"] == "Succeeded"
