# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The secops.defender.alerts event source, against a scripted alerts API, with an injected clock (no wall time)."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import re
import stat
from datetime import datetime, timedelta, timezone

import pytest
import requests

from ansible_collections.secops.defender.extensions.eda.plugins.event_source import alerts as source
from ansible_collections.secops.defender.plugins.module_utils._client import DefenderClient
from ansible_collections.secops.defender.tests.unit.fakes import FakeResponse, FakeSession, error, make_jwt

SHA_A = "8563f95b2f8a284fc99da44500cd51a77c1ff36c"
SHA_B = "13cab0433629cfe5307f0a71ee097f78fe671474"
M1, M2, M3 = "1" * 40, "2" * 40, "3" * 40
T0 = datetime(2026, 11, 30, 10, 0, 0, tzinfo=timezone.utc)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%06d0Z" % moment.microsecond


def make_alert(alert_id, at, machine=M1, sha1s=(SHA_A,), severity="High", evidence=None, **extra):
    items = evidence if evidence is not None else [
        {"entityType": "File", "sha1": sha1, "fileName": "x.exe"} for sha1 in sha1s]
    return {"id": alert_id, "title": f"malware {alert_id}", "severity": severity, "status": "New", "machineId": machine,
            "computerDnsName": f"{(machine or 'none')[:4]}.contoso.local", "alertCreationTime": stamp(at), "lastUpdateTime": stamp(at),
            "comments": [], "evidence": items, **extra}


class Clock:
    """Monotonic and wall clocks that move only when something sleeps."""

    def __init__(self) -> None:
        self.t = 0.0
        self.slept: list = []

    def monotonic(self) -> float:
        return self.t

    def now(self) -> datetime:
        return T0 + timedelta(seconds=self.t)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)


class Tokens:
    method = "client_secret"
    refreshable = True

    def __init__(self, roles=("Alert.Read.All",)) -> None:
        self.requests_sent = 0
        self.roles = list(roles)

    def get_token(self, force_refresh=False):
        self.requests_sent += 1
        return make_jwt(roles=self.roles, n=self.requests_sent)


class AlertsApi:
    """GET /api/alerts with `lastUpdateTime ge <literal>`; faults are scripted per call."""

    def __init__(self) -> None:
        self.alerts: list = []
        self.faults: list = []  # answers or exceptions for the next calls, before the real answer
        self.visible = lambda alert: True  # the indexing delay: what the list shows now
        self.queries: list = []

    def __call__(self, call):
        self.queries.append(call["params"].get("$filter"))
        if self.faults:
            fault = self.faults.pop(0)
            if isinstance(fault, Exception):
                raise fault
            return fault
        assert call["params"].get("$expand") == "evidence"
        found = re.match(r"lastUpdateTime ge (\S+)", call["params"].get("$filter", ""))
        since = source.parse_time(found.group(1)) if found else None
        value = [copy.deepcopy(a) for a in self.alerts
                 if self.visible(a) and self.since_ok(a, since)]
        return FakeResponse(200, {"value": value})

    @staticmethod
    def since_ok(alert, since):
        return since is None or not alert.get("lastUpdateTime") or source.parse_time(alert["lastUpdateTime"]) >= since


class ListQueue(asyncio.Queue):
    def __init__(self) -> None:
        super().__init__()
        self.events: list = []

    async def put(self, item):
        self.events.append(item)


def build(api, clock, tmp_path=None, tokens=None, **options):
    args = {"poll_interval": 30, "client_id": "c", "tenant_id": "t", "client_secret": "s", "api_url": "https://api.test"}
    if tmp_path is not None:
        args["checkpoint_path"] = str(tmp_path / "state" / "checkpoint.json")
    args.update(options)
    opts = source.source_options(args)
    session = FakeSession(api)
    tokens = tokens or Tokens()
    client = DefenderClient("https://api.test", tokens, session, clock=clock.monotonic, sleep=clock.sleep, backoff_base=1)
    checkpoint = source.Checkpoint(opts["checkpoint_path"])
    return source.AlertSource(opts, client, checkpoint, clock=clock.monotonic, sleep=clock.async_sleep, now=clock.now)


def run(src, polls=1):
    queue = ListQueue()
    asyncio.run(src.run(queue, polls=polls))
    return queue.events


def kinds(events, kind="alert"):
    return [e for e in events if e["defender_kind"] == kind]


@pytest.mark.asyncio
async def test_one_alert_one_event_with_the_documented_shape():
    api, clock = AlertsApi(), Clock()
    src = build(api, clock)
    api.alerts.append(make_alert("da1_1", T0 + timedelta(seconds=5), sha1s=(SHA_A.upper(), SHA_A, SHA_B)))
    clock.t = 10
    queue = ListQueue()
    await src.run(queue, polls=1)
    (event,) = queue.events
    assert event["defender"]["id"] == "da1_1" and event["defender_alert_id"] == "da1_1"
    assert event["defender_sha1s"] == [SHA_A, SHA_B] == event["defender_new_sha1s"]
    assert event["defender_machine_id"] == M1 and event["defender_first_seen"] is True and event["defender_flags"] == []
    # The first query reaches back `overlap` seconds before the source started, on our clock.
    assert api.queries == [f"lastUpdateTime ge {(T0 - timedelta(seconds=60)).strftime('%Y-%m-%dT%H:%M:%SZ')}"]


def test_emitted_once_per_update_and_the_loop_never_refires():
    api, clock = AlertsApi(), Clock()
    src = build(api, clock)
    api.alerts.append(make_alert("da1_1", T0))
    assert len(run(src, polls=3)) == 1  # three polls, the alert is in every answer (overlap), one event
    api.alerts[0]["lastUpdateTime"] = stamp(clock.now())
    api.alerts[0]["comments"].append({"comment": "quarantined"})
    (update,) = run(src, polls=2)
    assert update["defender_first_seen"] is False and update["defender_new_sha1s"] == []
    assert update["defender"]["comments"] == [{"comment": "quarantined"}]


def test_poll_interval_is_kept_from_start_to_start():
    api, clock = AlertsApi(), Clock()
    src = build(api, clock, poll_interval=30)
    run(src, polls=3)
    assert clock.slept == [30, 30]


def test_checkpoint_restart_neither_refires_nor_misses(tmp_path):
    api, clock = AlertsApi(), Clock()
    api.alerts.append(make_alert("da1_1", T0))
    first = build(api, clock, tmp_path)
    assert len(run(first, polls=1)) == 1
    path = tmp_path / "state" / "checkpoint.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert os.listdir(path.parent) == ["checkpoint.json"]  # written atomically: no temporary file left
    # Down for ten minutes; an alert arrives meanwhile.
    clock.t += 600
    api.alerts.append(make_alert("da2_2", T0 + timedelta(seconds=300), machine=M2))
    second = build(api, clock, tmp_path)
    events = run(second, polls=2)
    assert [e["defender_alert_id"] for e in events] == ["da2_2"]
    assert json.loads(path.read_text())["watermark"].startswith("2026-11-30T10:05:00")


def test_a_late_indexed_alert_is_still_emitted_within_the_overlap():
    api, clock = AlertsApi(), Clock()
    src = build(api, clock, overlap=60)
    clock.t = 100
    late = make_alert("da_late", T0 + timedelta(seconds=95))
    api.alerts += [make_alert("da_first", T0 + timedelta(seconds=99)), late]
    api.visible = lambda alert: alert["id"] != "da_late"  # indexed only after the first poll
    assert [e["defender_alert_id"] for e in run(src)] == ["da_first"]
    api.visible = lambda alert: True
    assert [e["defender_alert_id"] for e in run(src)] == ["da_late"]


def test_429_5xx_and_dropped_connections_are_ridden_out_without_wall_time():
    api, clock = AlertsApi(), Clock()
    src = build(api, clock)
    api.alerts.append(make_alert("da1_1", T0))
    api.faults = [error(429, "TooManyRequests", headers={"Retry-After": "7"}), error(503, "ServiceUnavailable"),
                  requests.exceptions.ConnectionError("Connection aborted.")]
    events = run(src)
    assert [e["defender_alert_id"] for e in events] == ["da1_1"]
    assert 7 in clock.slept and src.client.stats["429"] == 1 and src.client.stats["5xx"] == 1
    assert src.failures == 0


def test_a_poll_that_keeps_failing_is_logged_and_the_next_one_recovers():
    api, clock = AlertsApi(), Clock()
    src = build(api, clock)
    api.alerts.append(make_alert("da1_1", T0))
    api.faults = [error(500, "InternalServerError")] * 6
    events = run(src, polls=2)
    assert src.failures == 1 and [e["defender_alert_id"] for e in events] == ["da1_1"]


def test_a_throttle_beyond_retry_timeout_waits_what_the_service_asked():
    api, clock = AlertsApi(), Clock()
    src = build(api, clock, retry_timeout=60)
    src.client.policy.retry_timeout = 60
    api.faults = [error(429, "TooManyRequests", headers={"Retry-After": "600"})]
    run(src, polls=2)
    assert src.failures == 1 and clock.slept[-1] == 600


def test_an_expired_token_is_renewed_on_a_quiet_night():
    api, clock = AlertsApi(), Clock()
    tokens = Tokens()
    src = build(api, clock, tokens=tokens)
    run(src, polls=1)
    clock.t += 8 * 3600
    api.faults = [error(401, "Unauthorized", "token expired")]
    api.alerts.append(make_alert("da1_1", clock.now()))
    events = run(src, polls=1)
    assert [e["defender_alert_id"] for e in events] == ["da1_1"] and tokens.requests_sent == 2


def test_malformed_alerts_are_emitted_and_flagged_never_a_crash():
    api, clock = AlertsApi(), Clock()
    src = build(api, clock, group_by_file=True)
    api.alerts += [
        make_alert("da_noev", T0, evidence=[]),
        make_alert("da_nomachine", T0, machine=None),
        make_alert("da_user", T0, evidence=[{"entityType": "User", "accountName": "x"}, {"entityType": "File", "sha1": None},
                                            "garbage"]),
        make_alert("da_notime", T0, lastUpdateTime=None, alertCreationTime="not a time"),
        {"title": "no id"},
    ]
    events = run(src)
    flags = {e["defender_alert_id"]: e["defender_flags"] for e in kinds(events)}
    assert flags == {"da_noev": ["no_evidence"], "da_nomachine": ["no_machine_id"], "da_user": ["no_file_evidence"],
                     "da_notime": []}
    (file_event,) = kinds(events, "file")
    assert file_event["defender_file"]["machine_ids"] == [M1]  # the alert without a device is listed, not targeted
    assert sorted(file_event["defender_file"]["alert_ids"]) == ["da_nomachine", "da_notime"]
    assert run(src) == []


def test_group_by_file_one_event_per_new_file_per_poll():
    api, clock = AlertsApi(), Clock()
    src = build(api, clock, group_by_file=True)
    api.alerts += [make_alert(f"da{i}", T0 + timedelta(seconds=i), machine=m) for i, m in enumerate((M1, M2, M3))]
    api.alerts.append(make_alert("dab", T0, machine=M1, sha1s=(SHA_B,)))
    events = run(src)
    assert len(kinds(events)) == 4
    files = {e["defender_file"]["sha1"]: e["defender_file"] for e in kinds(events, "file")}
    assert files[SHA_A]["machine_ids"] == [M1, M2, M3] and files[SHA_A]["alert_count"] == 3
    assert files[SHA_B]["alert_ids"] == ["dab"]
    # A later update of the same alerts (our comment) brings no file event again.
    for alert in api.alerts:
        alert["lastUpdateTime"] = stamp(T0 + timedelta(seconds=20))
    assert kinds(run(src), "file") == []


def test_restart_in_the_middle_of_a_poll_delivers_the_rest_once(tmp_path):
    api, clock = AlertsApi(), Clock()
    api.alerts += [make_alert(f"da{i}", T0 + timedelta(seconds=i), machine=m) for i, m in enumerate((M1, M2, M3))]
    first = build(api, clock, tmp_path, group_by_file=True)

    class StopAfterTwo(ListQueue):
        async def put(self, item):
            if len(self.events) == 2:
                raise asyncio.CancelledError()
            self.events.append(item)

    queue = StopAfterTwo()
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(first.run(queue, polls=1))
    second = build(api, clock, tmp_path, group_by_file=True)
    rest = run(second)
    assert [e["defender_alert_id"] for e in kinds(rest)] == ["da2"]
    (file_event,) = kinds(rest, "file")
    assert file_event["defender_file"]["machine_ids"] == [M1, M2, M3]
    assert run(build(api, clock, tmp_path, group_by_file=True)) == []


def test_min_severity_and_filter():
    api, clock = AlertsApi(), Clock()
    src = build(api, clock, min_severity="Medium", filter="status eq 'New'")
    api.alerts += [make_alert("low", T0, severity="Low"), make_alert("high", T0, severity="High")]
    assert [e["defender_alert_id"] for e in run(src)] == ["high"]
    assert api.queries[0].endswith(" and (status eq 'New')")


def test_lookback_reaches_back_on_a_first_start():
    api, clock = AlertsApi(), Clock()
    api.alerts.append(make_alert("old", T0 - timedelta(hours=2)))
    src = build(api, clock, lookback="3h")
    assert src.checkpoint.watermark < T0 - timedelta(hours=2)


def test_missing_alert_permission_ends_the_source_with_a_clear_message():
    api, clock = AlertsApi(), Clock()
    src = build(api, clock, tokens=Tokens(roles=["Machine.Read.All"]))
    with pytest.raises(source.ConfigurationError, match="Alert.Read.All"):
        run(src)


def test_an_invalid_filter_ends_the_source():
    api, clock = AlertsApi(), Clock()
    src = build(api, clock)
    api.faults = [FakeResponse(400, {"error": {"code": "", "message": "The query specified in the URI is not valid.", "details": []}})]
    with pytest.raises(source.ConfigurationError, match="not valid"):
        run(src)


def test_bad_credentials_end_the_source():
    api, clock = AlertsApi(), Clock()

    class Refused(Tokens):
        def get_token(self, force_refresh=False):
            raise source.DefenderError("AADSTS7000215: Invalid client secret provided", status=401, code="invalid_client")
    with pytest.raises(source.ConfigurationError, match="Invalid client secret"):
        run(build(api, clock, tokens=Refused()))


def test_options_use_the_modules_environment_variables(monkeypatch):
    monkeypatch.setenv("AZURE_CLIENT_ID", "from-env")
    monkeypatch.setenv("DEFENDER_VALIDATE_CERTS", "false")
    options = source.source_options({"poll_interval": "5"})
    assert options["client_id"] == "from-env" and options["validate_certs"] is False and options["poll_interval"] == 5.0
    with pytest.raises(source.ConfigurationError, match="poll_intervall"):
        source.source_options({"poll_intervall": 5})
    with pytest.raises(source.ConfigurationError, match="remember"):
        source.source_options({"remember": "soon"})


def test_documented_options_match_the_option_table():
    import yaml  # pylint: disable=import-outside-toplevel
    documented = set(yaml.safe_load(source.DOCUMENTATION)["options"])
    assert documented - {"tenant_id"} == set(source.SOURCE_OPTIONS)
    text = " ".join(yaml.safe_load(source.DOCUMENTATION)["options"]["tenant_id"]["description"].split())
    for name in source.DEFENDER_AUTH_ARGSPEC:
        if name not in ("tenant_id", "client_certificate_password", "client_certificate_password_file",
                        "client_certificate_thumbprint"):
            assert f"C({name})" in text, name


@pytest.mark.asyncio
async def test_main_stops_cleanly_when_cancelled(monkeypatch):
    api, clock = AlertsApi(), Clock()
    closed = []
    session = FakeSession(api)
    session.close = lambda: closed.append(True)

    def fake_build_client(options, warn=None):
        return DefenderClient("https://api.test", Tokens(), session, clock=clock.monotonic, sleep=clock.sleep)
    monkeypatch.setattr(source, "build_client", fake_build_client)
    task = asyncio.create_task(source.main(ListQueue(), {"poll_interval": 3600}))
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert closed == [True]
