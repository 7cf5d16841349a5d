# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""secops.defender.alerts: an Event-Driven Ansible source that polls Microsoft Defender for Endpoint alerts."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import tempfile
import time
import traceback
from datetime import datetime, timedelta, timezone
from pathlib import Path

DOCUMENTATION = r"""
---
short_description: Poll Microsoft Defender for Endpoint alerts, one event per alert update
description:
  - Polls C(GET /api/alerts?$filter=lastUpdateTime ge ...&$expand=evidence) every O(poll_interval) seconds through
    the collection's own client, with the same authentication options and environment variables as the
    C(secops.defender) modules, the same pacing under Defender's 100 calls per minute, the same handling of
    429 (Retry-After), server errors, dropped connections and expired tokens, and the same error messages.
  - Each alert update becomes one event (C(defender_kind=alert)). The keys of an alert event are
    C(defender) (the alert as the API returns it, with its C(evidence) and C(comments)),
    C(defender_alert_id), C(defender_machine_id) (null when the alert has none),
    C(defender_sha1s) (the unique lowercase SHA-1s of its C(File) and C(Process) evidence),
    C(defender_new_sha1s) (those this source has not delivered for this alert before),
    C(defender_first_seen) (true the first time this source emits the alert) and
    C(defender_flags) (any of C(no_machine_id), C(no_evidence), C(no_file_evidence)). A sample is under RETURN.
  - An alert is emitted once per change of its C(lastUpdateTime) at most, never twice for the same update, also
    across restarts when O(checkpoint_path) is set. Every query overlaps the previous one by O(overlap) seconds
    (clock skew, the service's indexing delay) and what was already emitted is left out.
  - With O(group_by_file=true) the source also emits, after the alert events of each poll, one C(defender_kind=file)
    event per SHA-1 that is new on one or more alerts of that poll, listing them all (C(defender_file)). This is how
    an outbreak of hundreds of alerts for one file becomes a few runbook runs instead of hundreds, without
    dropping any alert (see docs/event-driven.md).
  - Transient failures (throttling, server errors, connections) are logged and the next poll tries again; the source
    ends (and with it ansible-rulebook) only on a configuration error, such as bad credentials, a missing
    C(Alert.Read.All) permission or an invalid O(filter), with a message that says what to fix.
version_added: 2.0.0
options:
  poll_interval:
    description: Seconds between the starts of two polls.
    type: float
    default: 30
  filter:
    description:
      - An extra OData C($filter) expression, joined with C(and) to the C(lastUpdateTime) condition, for example
        C(status eq 'New'). Defender documents C(alertCreationTime), C(lastUpdateTime), C(incidentId),
        C(investigationId), C(status), C(severity) and C(category) as filterable.
    type: str
  min_severity:
    description:
      - Leave out alerts below this severity (C(UnSpecified) < C(Informational) < C(Low) < C(Medium) < C(High)).
        Applied by the source, because Defender documents no ordering operator for the severity enum.
    type: str
    choices: [UnSpecified, Informational, Low, Medium, High]
    default: UnSpecified
  lookback:
    description:
      - On a first start (no checkpoint), also emit alerts updated this long ago (for example V(1h), V(2d)) or since
        this ISO-8601 time. Default is only alerts from now on.
      - Ignored once O(checkpoint_path) holds a watermark.
    type: str
  checkpoint_path:
    description:
      - File that keeps the watermark and the alert updates already emitted, written atomically with mode C(0600)
        after every event. With it, a restart neither re-fires an alert nor misses one that arrived while the source
        was down. Without it, the state lives in memory only.
    type: path
  overlap:
    description: Seconds each query reaches back before the newest C(lastUpdateTime) seen.
    type: float
    default: 60
  remember:
    description:
      - How long the source remembers an alert it emitted (C(defender_first_seen), C(defender_new_sha1s)), as a
        duration such as V(7d).
    type: str
    default: 7d
  group_by_file:
    description: Also emit one C(defender_kind=file) event per new SHA-1 and poll (see above).
    type: bool
    default: false
  tenant_id:
    description: As for the modules (E(AZURE_TENANT_ID)). Every authentication and connection option of the
      C(secops.defender) modules is accepted with the same name, default and environment variable (C(client_id),
      C(client_secret), C(client_secret_file), C(client_certificate_path), C(access_token), C(token_cache_path),
      C(auth_method), C(managed_identity_client_id), C(federated_token_file), C(cloud), C(api_url), C(authority_url),
      C(scope), C(validate_certs), C(ca_path), C(proxy), C(timeout), C(retry_timeout), C(calls_per_minute),
      C(calls_per_hour), ...).
    type: str
notes:
  - Needs the application permission C(Alert.Read.All) (or C(Alert.ReadWrite.All)); checked at start.
  - The Python packages C(requests) and C(msal) must be installed where ansible-rulebook runs (the decision environment).
"""

EXAMPLES = r"""
- name: Quarantine files from Defender alerts
  hosts: localhost
  sources:
    - name: defender_alerts
      secops.defender.alerts:
        poll_interval: 30
        min_severity: Medium
        checkpoint_path: /var/lib/eda/defender-alerts.json
        group_by_file: true
  rules:
    - name: Every new file on alerts
      condition: event.defender_kind == "file"
      action:
        run_playbook:
          name: secops.defender.quarantine_on_alert
    - name: Alerts nothing can be done about
      condition: event.defender_kind == "alert" and event.defender_first_seen == true and event.defender_flags is select("search", "evidence")
      action:
        debug:
          msg: "alert {{ event.defender_alert_id }} has no file to quarantine: {{ event.defender_flags }}"
"""

RETURN = r"""
event:
  description: One alert update (defender_kind alert) or one file on the alerts of a poll (defender_kind file).
  returned: always
  type: dict
  sample:
    defender_kind: alert
    defender_alert_id: da637472900382838869_1364969609
    defender_machine_id: 111e6dd8c833c8a052ea231ec1b19adaf497b625
    defender_sha1s: [8563f95b2f8a284fc99da44500cd51a77c1ff36c]
    defender_new_sha1s: [8563f95b2f8a284fc99da44500cd51a77c1ff36c]
    defender_first_seen: true
    defender_flags: []
    defender:
      id: da637472900382838869_1364969609
      title: Low-reputation arbitrary code executed by signed executable
      severity: Low
      status: New
      machineId: 111e6dd8c833c8a052ea231ec1b19adaf497b625
      computerDnsName: temp123.middleeast.corp.microsoft.com
      lastUpdateTime: "2021-01-26T20:33:59.2Z"
      comments: []
      evidence:
        - entityType: File
          sha1: 8563f95b2f8a284fc99da44500cd51a77c1ff36c
          fileName: suspicious.dll
          filePath: c:\temp
file_event:
  description: With group_by_file, one per SHA-1 that is new on alerts of one poll.
  returned: when group_by_file is true
  type: dict
  sample:
    defender_kind: file
    defender_file:
      sha1: 8563f95b2f8a284fc99da44500cd51a77c1ff36c
      alert_count: 2
      alert_ids: [da637472900382838869_1364969609, da637472900382838870_1364969610]
      machine_ids: [111e6dd8c833c8a052ea231ec1b19adaf497b625, 5b2c0ab5e5d9f7f0f1c8d8d7e1a3c8b0e4f6a2d1]
      alerts:
        - id: da637472900382838869_1364969609
          title: Low-reputation arbitrary code executed by signed executable
          severity: Low
          machine_id: 111e6dd8c833c8a052ea231ec1b19adaf497b625
          computer_dns_name: temp123.middleeast.corp.microsoft.com
          last_update_time: "2021-01-26T20:33:59.2Z"
          flags: []
"""


def _collection_root_on_path() -> None:
    """Import this collection's own module_utils, wherever the collection was installed (ansible-rulebook loads this
    file with runpy, outside Ansible's collection loader)."""
    here = Path(__file__).resolve()
    if len(here.parents) > 7 and here.parents[6].name == "ansible_collections":
        root = str(here.parents[7])
        if root not in sys.path:
            sys.path.insert(0, root)


_collection_root_on_path()

# pylint: disable=wrong-import-position
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator  # noqa: E402

from ansible_collections.secops.defender.plugins.module_utils._alerts import (  # noqa: E402
    ALERT_READ_ROLES,
    SEVERITIES,
    alert_flags,
    file_sha1s,
    list_alerts,
    parse_time,
    severity_rank,
)
from ansible_collections.secops.defender.plugins.module_utils._auth import missing_roles  # noqa: E402
from ansible_collections.secops.defender.plugins.module_utils._errors import DefenderError, MissingLibraryError  # noqa: E402
from ansible_collections.secops.defender.plugins.module_utils._factory import build_client  # noqa: E402
from ansible_collections.secops.defender.plugins.module_utils._module import DEFENDER_AUTH_ARGSPEC  # noqa: E402
from ansible_collections.secops.defender.plugins.module_utils._validate import parse_duration, parse_time_or_duration  # noqa: E402

LOG = logging.getLogger("secops.defender.alerts")

SOURCE_OPTIONS = {
    "poll_interval": {"type": "float", "default": 30.0},
    "filter": {"type": "str"},
    "min_severity": {"type": "str", "default": "UnSpecified", "choices": list(SEVERITIES)},
    "lookback": {"type": "str"},
    "checkpoint_path": {"type": "path"},
    "overlap": {"type": "float", "default": 60.0},
    "remember": {"type": "str", "default": "7d"},
    "group_by_file": {"type": "bool", "default": False},
}
# Errors a next poll would meet again: a person must fix the configuration (credentials, permission, filter).
FATAL_STATUSES = (400, 401, 403)
FATAL_CODES = frozenset(("invalid_client", "unauthorized_client", "invalid_tenant", "invalid_scope", "invalid_request",
                         "MissingPermission", "InvalidAuthority", "TokenCacheError", "TLSError"))
CHECKPOINT_VERSION = 1


class ConfigurationError(Exception):
    """The source cannot run as configured; the message says what to fix."""


def source_options(args: dict) -> dict:
    """The checked options: the modules' auth/connection spec (same env fallbacks) plus the source's own."""
    spec = {name: dict(option) for name, option in DEFENDER_AUTH_ARGSPEC.items()}
    spec.update(SOURCE_OPTIONS)
    # A rulebook hands on variables that may be unset as "" (`{{ defender_tenant_id | default('') }}`): an empty
    # value counts as not given, so that the environment fallbacks and defaults apply.
    given = {key: value for key, value in (args or {}).items() if not key.startswith("eda_") and value != ""}
    result = ArgumentSpecValidator(spec).validate(given)
    if result.error_messages:  # (result.errors is always true: an error collection without __len__)
        raise ConfigurationError("secops.defender.alerts: " + "; ".join(result.error_messages))
    options = result.validated_parameters
    try:
        if options["poll_interval"] <= 0:
            raise ValueError("poll_interval must be greater than zero")
        if options["overlap"] < 0:
            raise ValueError("overlap must be zero or more")
        options["remember_seconds"] = parse_duration(options["remember"], "remember")
        if options["lookback"]:
            parse_time_or_duration(options["lookback"], "lookback")
    except ValueError as exc:
        raise ConfigurationError(f"secops.defender.alerts: {exc}") from None
    return options


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if moment else None


class Checkpoint:
    """The watermark and what was emitted: {"version", "watermark", "alerts": {id: {"last_update", "sha1s"}}}.

    Written atomically (a temporary file in the same directory, then rename) with mode 0600.
    """

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.watermark: datetime | None = None
        self.alerts: dict[str, dict] = {}
        if path and os.path.exists(path):
            self._load()

    def _load(self) -> None:
        try:
            with open(self.path, encoding="utf-8") as handle:
                data = json.load(handle)
            if not isinstance(data, dict) or data.get("version") != CHECKPOINT_VERSION:
                raise ValueError("not a checkpoint of this source")
            self.watermark = parse_time(data.get("watermark"))
            self.alerts = {str(key): value for key, value in (data.get("alerts") or {}).items() if isinstance(value, dict)}
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"secops.defender.alerts: checkpoint_path {self.path} cannot be read ({exc}); "
                                     "move it away to start from now (or from lookback)") from None

    def save(self) -> None:
        if not self.path:
            return
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, mode=0o700, exist_ok=True)
        data = {"version": CHECKPOINT_VERSION, "watermark": _iso(self.watermark), "alerts": self.alerts}
        handle, temporary = tempfile.mkstemp(prefix=".checkpoint-", dir=directory)
        try:
            os.fchmod(handle, 0o600)
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(data, out, separators=(",", ":"))
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise


def _brief(alert: dict) -> dict:
    return {"id": alert.get("id"), "title": alert.get("title"), "severity": alert.get("severity"),
            "machine_id": (alert.get("machineId") or "").lower() or None, "computer_dns_name": alert.get("computerDnsName"),
            "last_update_time": alert.get("lastUpdateTime"), "flags": alert_flags(alert)}


class Delivery:
    """One event and what the checkpoint records once it is on the queue."""

    __slots__ = ("event", "alert_id", "last_update", "sha1s")

    def __init__(self, event: dict, alert_id: str | None = None, last_update: str | None = None, sha1s=None) -> None:
        self.event = event
        self.alert_id = alert_id
        self.last_update = last_update
        self.sha1s = sha1s or {}  # alert id -> SHA-1s this event delivers


class AlertPoller:
    """The synchronous part: one poll's query and the events it yields (run off the event loop)."""

    def __init__(self, client, options: dict, checkpoint: Checkpoint, now=None) -> None:
        self.client = client
        self.options = options
        self.checkpoint = checkpoint
        self.now = now or (lambda: datetime.now(timezone.utc))
        if checkpoint.watermark is None:
            # First start: from now on (on our clock, so the overlap also covers a skewed one), or the lookback.
            lookback = options.get("lookback")
            checkpoint.watermark = parse_time_or_duration(lookback, "lookback", now=self.now()) if lookback else self.now()

    def since(self) -> datetime:
        return self.checkpoint.watermark - timedelta(seconds=self.options["overlap"])

    def poll(self) -> tuple[list[Delivery], datetime]:
        alerts = list_alerts(self.client, self.since(), self.options["filter"])
        return self.deliveries(alerts)

    def deliveries(self, alerts: list) -> tuple[list[Delivery], datetime]:
        """(the events of one answer, oldest update first; the newest update seen).

        The caller moves the watermark only once every event is on the queue: a source stopped half-way through
        a poll starts again from the old watermark and leaves out what it had emitted.
        """
        newest = self.checkpoint.watermark
        records = []
        for alert in alerts:
            if not isinstance(alert, dict) or not alert.get("id"):
                LOG.warning("secops.defender.alerts: skipped an answer item without an id: %.200r", alert)
                continue
            try:
                updated = parse_time(alert.get("lastUpdateTime")) or parse_time(alert.get("alertCreationTime"))
            except ValueError:
                updated = None
            records.append((updated, str(alert["id"]), alert))
        records.sort(key=lambda r: (r[0] or datetime.min.replace(tzinfo=timezone.utc), r[1]))
        out: list[Delivery] = []
        groups: dict[str, list] = {}
        minimum = severity_rank(self.options["min_severity"])
        for updated, alert_id, alert in records:
            if updated is not None and updated > newest:
                newest = updated
            if severity_rank(alert.get("severity")) < minimum:
                continue
            known = self.checkpoint.alerts.get(alert_id)
            stamp = alert.get("lastUpdateTime") or alert.get("alertCreationTime")
            sha1s = file_sha1s(alert)
            delivered = set(known.get("sha1s", [])) if known else set()
            new_sha1s = [sha1 for sha1 in sha1s if sha1 not in delivered]
            if not self._emitted(known, stamp, updated):
                event = self.alert_event(alert, sha1s, new_sha1s, known is None)
                # Without grouping the alert event delivers its new files; with it, the file event does.
                carried = {} if self.options["group_by_file"] else {alert_id: new_sha1s}
                out.append(Delivery(event, alert_id, stamp, carried))
            if self.options["group_by_file"]:
                for sha1 in new_sha1s:
                    groups.setdefault(sha1, []).append(alert)
        for sha1, members in groups.items():
            out.append(Delivery(self.file_event(sha1, members), sha1s={str(a["id"]): [sha1] for a in members}))
        return out, newest

    @staticmethod
    def _emitted(known: dict | None, stamp: str | None, updated: datetime | None) -> bool:
        if not known:
            return False
        if known.get("last_update") == stamp:
            return True
        try:
            before = parse_time(known.get("last_update"))
        except ValueError:
            return False
        return before is not None and updated is not None and updated <= before  # an older copy (a lagging replica)

    @staticmethod
    def alert_event(alert: dict, sha1s: list, new_sha1s: list, first_seen: bool) -> dict:
        machine_id = alert.get("machineId")
        return {"defender_kind": "alert", "defender": alert, "defender_alert_id": str(alert["id"]),
                "defender_machine_id": machine_id.lower() if isinstance(machine_id, str) and machine_id else None,
                "defender_sha1s": sha1s, "defender_new_sha1s": new_sha1s, "defender_first_seen": first_seen,
                "defender_flags": alert_flags(alert)}

    @staticmethod
    def file_event(sha1: str, members: list) -> dict:
        briefs = [_brief(alert) for alert in members]
        machine_ids = list(dict.fromkeys(b["machine_id"] for b in briefs if b["machine_id"]))
        return {"defender_kind": "file", "defender_file": {"sha1": sha1, "alert_count": len(briefs),
                                                           "alert_ids": [b["id"] for b in briefs],
                                                           "machine_ids": machine_ids, "alerts": briefs}}

    def record(self, delivery: Delivery) -> None:
        """The event is on the queue: remember it, and forget alerts older than `remember`."""
        alerts = self.checkpoint.alerts
        if delivery.alert_id is not None:
            entry = alerts.setdefault(delivery.alert_id, {"sha1s": []})
            entry["last_update"] = delivery.last_update
        for alert_id, sha1s in delivery.sha1s.items():
            entry = alerts.setdefault(alert_id, {"sha1s": []})
            entry["sha1s"] = list(dict.fromkeys(entry.get("sha1s", []) + list(sha1s)))
        horizon = self.checkpoint.watermark - timedelta(seconds=self.options["remember_seconds"])
        for alert_id in [key for key, entry in alerts.items() if _older(entry.get("last_update"), horizon)]:
            del alerts[alert_id]


def _older(stamp: str | None, horizon: datetime) -> bool:
    try:
        moment = parse_time(stamp)
    except ValueError:
        return False  # an alert without a readable time stays remembered, or it would fire on every poll
    return moment is not None and moment < horizon


def is_fatal(error: Exception) -> bool:
    """A configuration error: the next poll would fail the same way."""
    if isinstance(error, (ConfigurationError, MissingLibraryError, ValueError)):
        return True
    return isinstance(error, DefenderError) and (error.status in FATAL_STATUSES or error.code in FATAL_CODES)


class AlertSource:
    """The asynchronous loop: poll in a thread, put each event, checkpoint after each one."""

    def __init__(self, options: dict, client, checkpoint: Checkpoint, clock=time.monotonic, sleep=asyncio.sleep,
                 now=None) -> None:
        self.options = options
        self.client = client
        self.checkpoint = checkpoint
        self.clock = clock
        self.sleep = sleep
        self.poller = AlertPoller(client, options, checkpoint, now=now)
        self.polls = 0
        self.failures = 0
        self.backoff = 0.0  # extra wait before the next poll (a Retry-After longer than poll_interval)

    async def preflight(self) -> None:
        """Fail at start, clearly, on credentials or a missing Alert.Read.All (a delegated token passes: no roles claim).

        A sign-in that fails for a passing reason (the identity platform unreachable) is tried again every poll_interval.
        """
        while True:
            try:
                token = await asyncio.to_thread(self.client.token)
                break
            except Exception as exc:  # pylint: disable=broad-exception-caught  # only configuration errors end the source
                if is_fatal(exc):
                    raise ConfigurationError(f"secops.defender.alerts: {exc}") from exc
                LOG.warning("secops.defender.alerts: sign-in failed, trying again in %g s: %s", self.options["poll_interval"], exc)
                await self.sleep(self.options["poll_interval"])
        missing = missing_roles(token, ALERT_READ_ROLES)
        if missing:
            raise ConfigurationError(
                f"secops.defender.alerts: the token for this app cannot read alerts: it lacks the application permission "
                f"{'; '.join(missing)} of the WindowsDefenderATP API. Add it under API permissions and grant admin consent.")

    async def run(self, queue: asyncio.Queue, polls: int | None = None) -> None:
        await self.preflight()
        await asyncio.to_thread(self.checkpoint.save)
        done = 0
        while polls is None or done < polls:
            started = self.clock()
            await self.poll_once(queue)
            self.polls += 1
            done += 1
            if polls is not None and done >= polls:
                break
            wait = max(0.0, self.options["poll_interval"] - (self.clock() - started)) + self.backoff
            self.backoff = 0.0
            await self.sleep(wait)

    async def poll_once(self, queue: asyncio.Queue) -> None:
        try:
            deliveries, newest = await asyncio.to_thread(self.poller.poll)
        except Exception as exc:  # pylint: disable=broad-exception-caught  # only configuration errors end the source
            if is_fatal(exc):
                raise ConfigurationError(f"secops.defender.alerts: {exc}") from exc
            self.failures += 1
            # Throttled beyond retry_timeout: wait what the service asked for, at least one poll_interval.
            self.backoff = max(0.0, float(getattr(exc, "retry_after", 0) or 0) - self.options["poll_interval"])
            LOG.warning("secops.defender.alerts: poll failed, trying again in %g s: %s",
                        self.options["poll_interval"] + self.backoff,
                        exc if isinstance(exc, DefenderError) else traceback.format_exc())
            return
        for delivery in deliveries:
            await queue.put(delivery.event)
            await asyncio.sleep(0)
            self.poller.record(delivery)
            await asyncio.to_thread(self.checkpoint.save)
        self.checkpoint.watermark = newest
        await asyncio.to_thread(self.checkpoint.save)


async def main(queue: asyncio.Queue, args: dict) -> None:
    """Entry point for ansible-rulebook."""
    options = source_options(args)
    checkpoint = Checkpoint(options["checkpoint_path"])
    try:
        client = await asyncio.to_thread(build_client, options, LOG.warning)
    except (ValueError, MissingLibraryError, DefenderError) as exc:
        raise ConfigurationError(f"secops.defender.alerts: {exc}") from exc
    source = AlertSource(options, client, checkpoint)
    try:
        await source.run(queue)
    except asyncio.CancelledError:
        LOG.info("secops.defender.alerts: stopping after %d poll(s)", source.polls)
        raise
    finally:
        client.session.close()


if __name__ == "__main__":
    class _PrintQueue(asyncio.Queue):
        async def put(self, item):
            print(json.dumps(item, indent=2))

    logging.basicConfig(level=logging.INFO)
    asyncio.run(main(_PrintQueue(), {"poll_interval": 10, "lookback": os.environ.get("LOOKBACK", "1h")}))
