# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The machine-action domain: find an action already under way, submit exactly once, wait, cancel.

Takes a DefenderClient and plain values; knows nothing of Ansible.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone

from ._errors import AmbiguousRequestError, DefenderError
from ._validate import odata_datetime, odata_string

STOP_AND_QUARANTINE = "StopAndQuarantineFile"
MACHINE_ACTIONS = "/api/machineactions"
ACTIVE_STATUSES = ("Pending", "InProgress")
TERMINAL_STATUSES = frozenset(("Succeeded", "Failed", "TimeOut", "Cancelled"))
UNSUCCESSFUL_STATUSES = frozenset(("Failed", "TimeOut", "Cancelled"))
# After an ambiguous POST we look for an action created since we sent it, minus this allowance for
# the difference between our clock and the service's.
CLOCK_SKEW = timedelta(minutes=2)
# A new action can be missing from GET /api/machineactions/{id} for a moment (XSOAR retries 3 x 1 s).
NEW_ACTION_GRACE_SECONDS = 60.0
_FRACTION = re.compile(r"(\.\d{6})\d+")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def is_terminal(action: dict | str | None) -> bool:
    status = action.get("status") if isinstance(action, dict) else action
    return status in TERMINAL_STATUSES


def last_update(action: dict) -> str | None:
    # The entity documents lastUpdateDateTimeUtc; the list examples show lastUpdateTimeUtc (machineaction.md).
    return action.get("lastUpdateDateTimeUtc") or action.get("lastUpdateTimeUtc")


def file_identifier(action: dict) -> str:
    info = action.get("relatedFileInfo") or {}
    return str(info.get("fileIdentifier") or "").lower()


def parse_time(value: str | None) -> datetime | None:
    """MDE timestamps carry 7 fractional digits ('2018-12-04T12:15:40.6052029Z'); Python reads 6."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(_FRACTION.sub(r"\1", value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def action_filter(action_type: str | None = STOP_AND_QUARANTINE, statuses=(), machine_id: str | None = None,
                  created_since: datetime | None = None, succeeded_since: datetime | None = None,
                  requestor: str | None = None) -> str:
    """An OData $filter on the properties the list API supports (type, status, machineId, requestor,
    creationDateTimeUtc). action_type=None leaves the type out (any type); may return ''."""
    parts = [f"type eq {odata_string(action_type)}"] if action_type else []
    if machine_id:
        parts.append(f"machineId eq {odata_string(machine_id)}")
    if requestor:
        parts.append(f"requestor eq {odata_string(requestor)}")
    alternatives = [f"status eq {odata_string(status)}" for status in statuses]
    if succeeded_since is not None:
        alternatives.append(f"(status eq 'Succeeded' and creationDateTimeUtc ge {odata_datetime(succeeded_since)})")
    if alternatives:
        parts.append("(" + " or ".join(alternatives) + ")" if len(alternatives) > 1 else alternatives[0])
    if created_since is not None:
        parts.append(f"creationDateTimeUtc ge {odata_datetime(created_since)}")
    return " and ".join(parts)


def list_actions(client, flt: str, page_size: int | None = None) -> list:
    params = {"$filter": flt} if flt else {}
    if page_size:
        return client.get_all(MACHINE_ACTIONS, params, page_size=page_size)
    return client.get_all(MACHINE_ACTIONS, params)


def _rank(action: dict) -> tuple:
    created = parse_time(action.get("creationDateTimeUtc")) or datetime.min.replace(tzinfo=timezone.utc)
    return (action.get("status") in ACTIVE_STATUSES, created)


def find_existing(client, machine_ids: list, sha1: str, succeeded_since: datetime | None = None) -> dict:
    """Per machine, the Pending/InProgress (or, with succeeded_since, recently Succeeded) action for the file.

    One list query whatever the number of machines; the file is matched on relatedFileInfo, which the
    API cannot filter on.
    """
    single = machine_ids[0] if len(machine_ids) == 1 else None
    flt = action_filter(STOP_AND_QUARANTINE, ACTIVE_STATUSES, machine_id=single, succeeded_since=succeeded_since)
    wanted = set(machine_ids)
    found: dict = {}
    for action in list_actions(client, flt):
        machine = str(action.get("machineId") or "").lower()
        status = action.get("status")
        if machine not in wanted or file_identifier(action) != sha1:
            continue
        if status not in ACTIVE_STATUSES and not (succeeded_since is not None and status == "Succeeded"):
            continue
        if machine not in found or _rank(action) > _rank(found[machine]):
            found[machine] = action
    return found


def _read_back(client, machine_id: str, sha1: str, since: datetime) -> dict | None:
    flt = action_filter(STOP_AND_QUARANTINE, machine_id=machine_id, created_since=since)
    matches = [a for a in list_actions(client, flt) if file_identifier(a) == sha1]
    return max(matches, key=_rank) if matches else None


def submit_stop_and_quarantine(client, machine_id: str, sha1: str, comment: str, attempts: int = 3,
                               now=utcnow, sleep=None, settle: float = 1.0) -> tuple[dict, bool]:
    """POST StopAndQuarantineFile at most once per created action: (action, created).

    - An ambiguous failure (5xx, timeout, reset) is never blindly resent: the machine's actions are
      read first, and the POST is sent again only if none was created for this file.
    - 400 ActiveRequestAlreadyExists ("Action is already in progress", microsoft-365-docs #5702) means
      another request won the race: the pending action is looked up and returned, created=False.
    """
    path = f"/api/machines/{machine_id}/StopAndQuarantineFile"
    body = {"Comment": comment, "Sha1": sha1}  # keys are case-sensitive (common-errors.md)
    last_error: DefenderError | None = None
    for _attempt in range(attempts):
        started = now()
        try:
            return client.post(path, body), True
        except AmbiguousRequestError as exc:
            last_error = exc
            (sleep or client.sleep)(settle)  # let the service record what it did before reading it
            created = _read_back(client, machine_id, sha1, started - CLOCK_SKEW)
            if created is not None:
                return created, True
        except DefenderError as exc:
            if exc.code == "ActiveRequestAlreadyExists" or "already in progress" in (exc.message or "").lower():
                existing = find_existing(client, [machine_id], sha1).get(machine_id)
                if existing is not None:
                    return existing, False
            raise
    raise last_error  # type: ignore[misc]


def get_action(client, action_id: str) -> dict:
    return client.get(f"{MACHINE_ACTIONS}/{action_id}")


def cancel_action(client, action_id: str, comment: str) -> dict:
    """POST .../cancel; after an ambiguous failure, read the action instead of sending again."""
    try:
        return client.post(f"{MACHINE_ACTIONS}/{action_id}/cancel", {"Comment": comment})
    except AmbiguousRequestError:
        action = get_action(client, action_id)
        if action.get("status") == "Cancelled":
            return action
        raise


class ActionWatcher:
    """Polls actions until each is terminal, with list queries for many (calls per poll do not grow with the fleet)."""

    def __init__(self, client, actions: dict, clock=None, sleep=None, now=utcnow,
                 action_type: str | None = STOP_AND_QUARANTINE) -> None:
        self.client = client
        self.action_type = action_type  # the list poll's type filter; None for actions of any type
        self.actions = dict(actions)  # key (machine id) -> action
        self.history = {key: [_seen(a, now())] for key, a in self.actions.items()}
        self._clock = clock or time.monotonic
        self._sleep = sleep or time.sleep
        self._now = now
        self.polls = 0

    def pending(self) -> list:
        return [key for key, action in self.actions.items() if not is_terminal(action)]

    def wait(self, timeout: float, poll_interval: float) -> list:
        """Poll until all are terminal or timeout passes; returns the keys still not terminal."""
        started = self._clock()
        deadline = started + timeout
        while self.pending():
            remaining = deadline - self._clock()
            if remaining <= 0:
                break
            self._sleep(min(poll_interval, remaining))
            self.poll(self._clock() - started)
        return self.pending()

    def poll(self, elapsed: float = 0.0) -> None:
        self.polls += 1
        pending = self.pending()
        if len(pending) == 1:
            key = pending[0]
            try:
                self._update(key, get_action(self.client, self.actions[key]["id"]))
            except DefenderError as exc:
                if exc.status != 404 or elapsed > NEW_ACTION_GRACE_SECONDS:
                    raise
            return
        oldest = min((parse_time(self.actions[k].get("creationDateTimeUtc")) or self._now()) for k in pending)
        by_id = {str(self.actions[k].get("id")): k for k in pending}
        for action in list_actions(self.client, action_filter(self.action_type, created_since=oldest - timedelta(seconds=1))):
            key = by_id.get(str(action.get("id")))
            if key is not None:
                self._update(key, action)

    def _update(self, key, action: dict) -> None:
        if action.get("status") != self.actions[key].get("status"):
            self.history[key].append(_seen(action, self._now()))
        self.actions[key] = action


def _seen(action: dict, when: datetime) -> dict:
    return {"status": action.get("status"), "seen_at": when.strftime("%Y-%m-%dT%H:%M:%SZ")}


def outcome_message(action: dict) -> str:
    """Why a terminal action did not succeed, for msg and failed_machines."""
    status = action.get("status")
    text = f"action {action.get('id')} ended {status}"
    if action.get("errorHResult"):
        text += f" (errorHResult {action['errorHResult']})"
    if status == "Cancelled" and action.get("cancellationComment"):
        text += f": {action['cancellationComment']}"
    return text
