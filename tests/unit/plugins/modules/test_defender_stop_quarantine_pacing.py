# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pacing_state: one run hands its rate-limit window to the next (the role's batches are separate runs)."""

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
    make_jwt,
    run_module,
)

SHA1 = "87662bc3d60e4200ceaf7aae249d1c343f4b83c9"
QUARANTINE = "POST /api/machines/{id}/StopAndQuarantineFile"
NOW = datetime(2026, 11, 28, 12, 0, 0, tzinfo=timezone.utc)


class FakeTime:
    """Monotonic and wall clocks that only the fake sleep moves; each module run may start a new monotonic origin."""

    def __init__(self) -> None:
        self.mono = 100.0
        self.wall = 1_764_331_200.0
        self.sleeps: list = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.mono += seconds
        self.wall += seconds


@pytest.fixture(name="clocks")
def fixture_clocks():
    clocks = FakeTime()
    with mock.patch("time.monotonic", lambda: clocks.mono), mock.patch("time.time", lambda: clocks.wall), \
            mock.patch("time.sleep", clocks.sleep), mock.patch.object(_actions, "utcnow", lambda: NOW), \
            mock.patch.object(module, "utcnow", lambda: NOW):
        yield clocks


def answer(call):
    if call["method"] == "GET":
        return FakeResponse(200, {"value": []})
    machine = call["url"].split("/")[-2]
    return FakeResponse(201, {"id": f"action-{machine[:4]}", "type": "StopAndQuarantineFile", "machineId": machine,
                              "status": "Pending", "requestorComment": "INC-1", "creationDateTimeUtc": "2026-11-28T12:00:00Z",
                              "relatedFileInfo": {"fileIdentifier": SHA1, "fileIdentifierType": "Sha1"}})


def run(machine_ids, **args):
    session = FakeSession(answer)
    base = {"api_url": "https://api.test", "access_token": make_jwt(roles=FULL_ROLES), "comment": "INC-1", "sha1": SHA1,
            "machine_ids": machine_ids, "calls_per_minute": 2, "poll_interval": 30, **args}
    with mock.patch("ansible_collections.secops.defender.plugins.module_utils._factory.build_session", return_value=session):
        result, failed = run_module(module.main, base)
    return result, failed, session


def test_the_next_run_waits_for_the_window_it_was_handed(clocks):
    first, failed, _session = run(["1" * 40, "2" * 40])
    assert not failed and clocks.sleeps == []
    assert len(first["pacing_state"]["apis"][QUARANTINE]["calls"]) == 2

    clocks.mono = 7.0  # another process: another monotonic origin; the wall clock goes on
    clocks.wall += 1.0
    second, failed, _session = run(["3" * 40], pacing_state=first["pacing_state"])
    assert not failed and second["created_machine_ids"] == ["3" * 40]
    # Two POSTs in the last minute at 2 per minute: the third waits for the first to leave the window.
    assert clocks.sleeps == [pytest.approx(59.0, abs=0.01)]
    assert len(second["pacing_state"]["apis"][QUARANTINE]["calls"]) == 3


def test_without_the_state_the_next_run_would_send_into_the_window(clocks):
    first, _failed, _session = run(["1" * 40, "2" * 40])
    clocks.mono = 7.0
    clocks.wall += 1.0
    second, failed, _session = run(["3" * 40])
    assert not failed and clocks.sleeps == []  # the service, which counts both runs, would answer 429
    assert len(second["pacing_state"]["apis"][QUARANTINE]["calls"]) == 1
    assert first["pacing_state"] != second["pacing_state"]


def test_a_bad_pacing_state_fails_before_any_request(clocks):
    result, failed, session = run(["1" * 40], pacing_state={"version": 1, "apis": {"GET /x": {"calls": ["yesterday"]}}})
    assert failed and "pacing_state is not a pacing state returned by an earlier task" in result["msg"]
    assert session.calls == [] and clocks.sleeps == []
