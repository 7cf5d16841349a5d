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
CLOCK_SKEW = timedelta(minutes=5)
# A new action can be missing from GET /api/machineactions/{id} for a moment (XSOAR retries 3 x 1 s).
NEW_ACTION_GRACE_SECONDS = 60.0
# How long to look for an action after an ambiguous POST or a 400 "already in progress" before
# concluding (the list endpoint can lag a new action; polls allow it the same 60 s).
PATIENCE_SECONDS = 60.0
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
                  requestor: str | None = None, or_created_since: datetime | None = None) -> str:
    """An OData $filter on the properties the list API supports (type, status, machineId, requestor,
    creationDateTimeUtc). action_type=None leaves the type out (any type); may return ''.
    or_created_since adds "or created since then" to the status alternatives (any status)."""
    parts = [f"type eq {odata_string(action_type)}"] if action_type else []
    if machine_id:
        parts.append(f"machineId eq {odata_string(machine_id)}")
    if requestor:
        parts.append(f"requestor eq {odata_string(requestor)}")
    alternatives = [f"status eq {odata_string(status)}" for status in statuses]
    if succeeded_since is not None:
        alternatives.append(f"(status eq 'Succeeded' and creationDateTimeUtc ge {odata_datetime(succeeded_since)})")
    if or_created_since is not None:
        alternatives.append(f"creationDateTimeUtc ge {odata_datetime(or_created_since)}")
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


def _newest(actions) -> dict | None:
    actions = list(actions)
    return max(actions, key=_rank) if actions else None


# Action ids per list query: keeps the URL short (each clause is about 50 characters).
IDS_PER_QUERY = 15


def actions_by_ids(client, ids: list) -> list:
    """The actions with these ids, in list queries of IDS_PER_QUERY ids ($filter on id is documented on the live
    get-machineactions-collection page); a service that refuses an id filter (older pages list no id) with a 400
    is asked one GET per id instead. Unknown ids are left out."""
    found: list = []
    for start in range(0, len(ids), IDS_PER_QUERY):
        chunk = [str(i).lower() for i in ids[start:start + IDS_PER_QUERY]]
        flt = " or ".join(f"id eq {odata_string(i)}" for i in chunk)
        try:
            found.extend(a for a in list_actions(client, flt) if str(a.get("id")).lower() in chunk)
        except DefenderError as exc:
            if exc.status != 400:
                raise
            for action_id in chunk:
                try:
                    found.append(get_action(client, action_id))
                except DefenderError as missing:
                    if missing.status != 404:
                        raise
    return found


def find_existing(client, machine_ids: list, sha1: str, succeeded_since: datetime | None = None) -> dict:
    """Per machine, the Pending/InProgress (or, with succeeded_since, recently Succeeded) action for the file."""
    return Quarantine(client, sha1, "").look_up(machine_ids, succeeded_since)


def is_duplicate_refusal(error: DefenderError) -> bool:
    """400 ActiveRequestAlreadyExists / "Action is already in progress" (microsoft-365-docs #5702)."""
    return error.code == "ActiveRequestAlreadyExists" or "already in progress" in (error.message or "").lower()


def describe(action: dict) -> str:
    """'action <id> (StopAndQuarantineFile of <file>, Pending)' for messages."""
    what = action.get("type") or "action"
    if file_identifier(action):
        what += f" of {file_identifier(action)}"
    return f"action {action.get('id')} ({what}, {action.get('status')})"


class BlockedByAction(DefenderError):
    """Defender refused the request because another action is pending on the device: nothing was created."""

    def __init__(self, machine_id: str, blocking: dict | None, error: DefenderError | None = None) -> None:
        if blocking is not None:
            message = (f"Defender refused a new StopAndQuarantineFile on device {machine_id}: {describe(blocking)}, "
                       f"requested by {blocking.get('requestor') or 'someone'} at {blocking.get('creationDateTimeUtc')}, is "
                       "still pending on it (Defender allows one such action at a time). Wait for it to finish or cancel it "
                       "(defender_machine_action_cancel), then run again")
        else:
            message = (f"Defender refused a new StopAndQuarantineFile on device {machine_id} because an action is already "
                       f"in progress, but no pending action on the device could be found within {PATIENCE_SECONDS:g} s "
                       "(the listing may lag); run again later")
        super().__init__(message, status=getattr(error, "status", None) or 400, code="ActiveRequestAlreadyExists",
                         target=getattr(error, "target", None), method="POST",
                         path=f"/api/machines/{machine_id}/StopAndQuarantineFile")
        self.blocking = blocking

    @property
    def hint(self) -> str | None:
        return None  # the message already says what to do


class Quarantine:
    """StopAndQuarantineFile of one file, at most one action per device ("never twice"), on every path the
    service can take:

    - look_up() reads, in one list query for the whole fleet, every action for the file that is under
      way (or recently succeeded) and every one created lately, and remembers their ids: an action
      known before a POST was sent can never be taken for the one that POST created.
    - An ambiguous failure (5xx, timeout, reset, cut-off answer) is never blindly resent: the device's
      actions are read back patiently (the listing can lag a new action), and the POST is sent again
      only if none that this request could have created appears within PATIENCE_SECONDS.
    - 400 ActiveRequestAlreadyExists: the pending action for this file is found (patiently) and
      returned, created only if an earlier ambiguous attempt of ours made it; a pending action for
      another file (Defender may refuse per device, #5702/#5903) fails the device as BlockedByAction.
    - 201 with an action that already existed (Defender sometimes answers a duplicate so) is not new.
    """

    def __init__(self, client, sha1: str, comment: str, now=None, sleep=None, attempts: int = 3,
                 patience: float | None = None) -> None:
        self.client = client
        self.sha1 = sha1
        self.comment = comment
        # utcnow is looked up at call time, so that tests can patch it
        self._now = now or (lambda: utcnow())  # pylint: disable=unnecessary-lambda
        self._sleep = sleep or client.sleep
        self.attempts = attempts
        self.patience = PATIENCE_SECONDS if patience is None else patience
        self.known_ids: set = set()

    # -- reads
    def look_up(self, machine_ids: list, succeeded_since: datetime | None = None) -> dict:
        """Per machine, the active (or, with succeeded_since, recently Succeeded) action for the file; one query."""
        single = machine_ids[0] if len(machine_ids) == 1 else None
        flt = action_filter(STOP_AND_QUARANTINE, ACTIVE_STATUSES, machine_id=single, succeeded_since=succeeded_since,
                            or_created_since=self._now() - CLOCK_SKEW)
        wanted = set(machine_ids)
        found: dict = {}
        for action in list_actions(self.client, flt):
            machine = str(action.get("machineId") or "").lower()
            if machine not in wanted:
                continue
            self.known_ids.add(str(action.get("id")))
            if file_identifier(action) != self.sha1:
                continue
            status = action.get("status")
            recent_success = succeeded_since is not None and status == "Succeeded" and _created_since(action, succeeded_since)
            if status not in ACTIVE_STATUSES and not recent_success:
                continue
            if machine not in found or _rank(action) > _rank(found[machine]):
                found[machine] = action
        return found

    def _device_actions(self, machine_id: str, since: datetime) -> list:
        """The device's StopAndQuarantineFile actions that are active or were created since `since`."""
        flt = action_filter(STOP_AND_QUARANTINE, ACTIVE_STATUSES, machine_id=machine_id, or_created_since=since)
        return [a for a in list_actions(self.client, flt) if str(a.get("machineId") or "").lower() == machine_id]

    def _could_be_ours(self, action: dict, first_sent: datetime) -> bool:
        """Only an action this run's request could have created: for this file, not known before we sent,
        created after we sent (allowing for clock skew), with our comment."""
        if str(action.get("id")) in self.known_ids or file_identifier(action) != self.sha1:
            return False
        comment = action.get("requestorComment")
        if comment is not None and self.comment and comment != self.comment:
            return False
        return _created_since(action, first_sent - CLOCK_SKEW, default=True)

    def _patiently(self, find):
        """Call find() now and then with backoff until it returns something or `patience` seconds are spent."""
        waited, delay = 0.0, 1.0
        while True:
            found = find()
            if found is not None or waited >= self.patience:
                return found
            step = min(delay, self.patience - waited)
            self._sleep(step)
            waited += step
            delay = min(delay * 2, 15.0)

    # -- the write
    def submit(self, machine_id: str) -> tuple[dict, bool]:
        """(action, created): POST at most once per created action; see the class docstring."""
        path = f"/api/machines/{machine_id}/StopAndQuarantineFile"
        body = {"Comment": self.comment, "Sha1": self.sha1}  # keys are case-sensitive (common-errors.md)
        first_sent: datetime | None = None
        last_error: DefenderError | None = None
        for _attempt in range(self.attempts):
            first_sent = first_sent or self._now()
            try:
                answer = self.client.post(path, body)
            except AmbiguousRequestError as exc:
                last_error = exc
                self._sleep(1.0)  # let the service record what it did before reading it
                ours = self._read_back(machine_id, first_sent, exc)
                if ours is not None:
                    return ours, True
                continue  # nothing this request could have created appeared: it was not carried out
            except DefenderError as exc:
                if not is_duplicate_refusal(exc):
                    raise
                return self._after_refusal(machine_id, first_sent if last_error is not None else None, exc)
            return self._answered(machine_id, answer)
        raise last_error  # type: ignore[misc]

    def _read_back(self, machine_id: str, first_sent: datetime, ambiguous: AmbiguousRequestError) -> dict | None:
        def find():
            return _newest(a for a in self._device_actions(machine_id, first_sent - CLOCK_SKEW)
                           if self._could_be_ours(a, first_sent))
        try:
            return self._patiently(find)
        except DefenderError as exc:  # we cannot tell whether it was created: never resend blindly
            raise AmbiguousRequestError(f"{ambiguous.message}, and reading the device's actions back failed ({exc}); "
                                        "the action may exist", status=ambiguous.status, code=ambiguous.code,
                                        target=ambiguous.target, method=ambiguous.method, path=ambiguous.path) from None

    def _after_refusal(self, machine_id: str, first_sent: datetime | None, refusal: DefenderError) -> tuple[dict, bool]:
        """400 already in progress: ours (an earlier ambiguous attempt made it), another's for this file, or a block."""
        since = (first_sent or self._now()) - CLOCK_SKEW

        def find():
            actions = self._device_actions(machine_id, since)
            if first_sent is not None:
                ours = _newest(a for a in actions if self._could_be_ours(a, first_sent))
                if ours is not None:
                    return ours, True
            same_file = _newest(a for a in actions if file_identifier(a) == self.sha1 and a.get("status") in ACTIVE_STATUSES)
            if same_file is not None:
                return same_file, False
            other = _newest(a for a in actions if a.get("status") in ACTIVE_STATUSES)
            return None if other is None else (other, None)

        found = self._patiently(find)
        if found is None:
            raise BlockedByAction(machine_id, None, refusal)
        action, created = found
        if created is None:
            raise BlockedByAction(machine_id, action, refusal)
        return action, created

    def _answered(self, machine_id: str, action) -> tuple[dict, bool]:
        """201: a new action, or (a duplicate answered with the pending one) an action that existed already."""
        if not isinstance(action, dict) or not action.get("id"):
            raise AmbiguousRequestError("The API answered the request without a machine action; it may have been "
                                        "carried out", code="InvalidResponse", method="POST",
                                        path=f"/api/machines/{machine_id}/StopAndQuarantineFile")
        if file_identifier(action) and file_identifier(action) != self.sha1:
            raise BlockedByAction(machine_id, action)
        # Not the creation time: the service's clock and ours may differ by more than any allowance.
        comment = action.get("requestorComment")
        existed = str(action.get("id")) in self.known_ids or (comment is not None and comment != self.comment)
        self.known_ids.add(str(action.get("id")))
        return action, not existed


def _created_since(action: dict, since: datetime, default: bool = False) -> bool:
    created = parse_time(action.get("creationDateTimeUtc"))
    return default if created is None else created >= since


def submit_stop_and_quarantine(client, machine_id: str, sha1: str, comment: str, attempts: int = 3,
                               now=None, sleep=None, known_ids=()) -> tuple[dict, bool]:
    """One device's StopAndQuarantineFile through Quarantine.submit (see there)."""
    quarantine = Quarantine(client, sha1, comment, now=now, sleep=sleep, attempts=attempts)
    quarantine.known_ids.update(known_ids)
    return quarantine.submit(machine_id)


def get_action(client, action_id: str) -> dict:
    return client.get(f"{MACHINE_ACTIONS}/{action_id}")


def cancel_action(client, action_id: str, comment: str) -> dict:
    """POST .../cancel. After an ambiguous failure, read the action instead of sending again; when the
    cancel is refused because the action has just finished, return it as it ended."""
    try:
        return client.post(f"{MACHINE_ACTIONS}/{action_id}/cancel", {"Comment": comment})
    except AmbiguousRequestError:
        action = get_action(client, action_id)
        if action.get("status") == "Cancelled":
            return action
        raise
    except DefenderError as exc:
        if exc.status not in (400, 404, 409):
            raise
        action = get_action(client, action_id)
        if is_terminal(action):
            return action
        raise


# Errors of a poll that the next poll may not meet: the watcher keeps polling until its deadline.
def _transient(error: DefenderError) -> bool:
    return isinstance(error, AmbiguousRequestError) or (error.status or 0) >= 500 or error.status == 429 or \
        error.code in ("Timeout", "ConnectionError", "IncompleteAnswer", "Unreachable", "InvalidResponse")


class ActionWatcher:
    """Polls actions until each is terminal, with list queries for many (calls per poll do not grow with the fleet).

    Waits on the client's clock and sleep (injected in tests). The wait always progresses towards its
    deadline: elapsed time is the larger of the clock's and the sum of the sleeps, so a clock that does
    not move (a patched sleep) cannot make it loop for ever; at most timeout / poll_interval + 1 polls.
    """

    def __init__(self, client, actions: dict, clock=None, sleep=None, now=utcnow,
                 action_type: str | None = STOP_AND_QUARANTINE, by_ids: bool = False) -> None:
        self.client = client
        self.action_type = action_type  # the list poll's type filter; None for actions of any type
        self.by_ids = by_ids  # poll exactly these actions by id (list queries), not every action since the oldest
        self.actions = dict(actions)  # key (machine id) -> action
        self.history = {key: [_seen(a, now())] for key, a in self.actions.items()}
        self._clock = clock or getattr(client, "clock", None) or time.monotonic
        self._sleep = sleep or getattr(client, "sleep", None) or time.sleep
        self._now = now
        self.polls = 0
        self.elapsed = 0.0
        self.poll_errors: list = []  # transient errors met while polling (the last one is reported on timeout)
        self.unseen: list = []  # keys of placeholders ({"id": ...}, no status) never seen within NEW_ACTION_GRACE_SECONDS

    def pending(self) -> list:
        return [key for key, action in self.actions.items() if not is_terminal(action) and key not in self.unseen]

    def _give_up_on_unseen(self) -> None:
        """A placeholder for an id the listing has not shown yet (it can lag a new action) is polled for
        NEW_ACTION_GRACE_SECONDS; then it is taken as unknown and no longer waited for."""
        if self.elapsed > NEW_ACTION_GRACE_SECONDS:
            self.unseen.extend(key for key in self.pending() if self.actions[key].get("status") is None)

    def wait(self, timeout: float, poll_interval: float) -> list:
        """Poll until all are terminal or timeout passes; returns the keys still not terminal."""
        started = self._clock()
        slept = 0.0
        poll_interval = max(poll_interval, 0.001)
        while self.pending():
            self.elapsed = max(self._clock() - started, slept)
            remaining = timeout - self.elapsed
            if remaining <= 0:
                break
            step = min(poll_interval, remaining)
            self._sleep(step)
            slept += step
            self.elapsed = max(self._clock() - started, slept)
            try:
                self.poll(self.elapsed)
            except DefenderError as exc:
                if not _transient(exc):
                    raise
                self.poll_errors.append(exc)
            self._give_up_on_unseen()
        self.elapsed = max(self._clock() - started, slept)
        return self.pending()

    def poll(self, elapsed: float = 0.0) -> None:
        self.polls += 1
        pending = self.pending()
        if len(pending) == 1:
            key = pending[0]
            try:
                self._update(key, get_action(self.client, self.actions[key]["id"]))
            except DefenderError as exc:
                # GET by id can lag a new action (demisto retries ResourceNotFound on a fresh one)
                placeholder = self.actions[key].get("status") is None  # given by id, never seen: see _give_up_on_unseen
                if exc.status != 404 or (elapsed > NEW_ACTION_GRACE_SECONDS and not placeholder):
                    raise
            return
        by_id = {str(self.actions[k].get("id")).lower(): k for k in pending}
        created = [parse_time(self.actions[k].get("creationDateTimeUtc")) for k in pending]
        if self.by_ids and (len(pending) <= IDS_PER_QUERY or None in created):
            polled = actions_by_ids(self.client, list(by_id))
        elif self.by_ids:  # many ids: one listing since the oldest (paged) costs less than one query per 15 ids
            polled = list_actions(self.client, action_filter(self.action_type, created_since=min(created) - timedelta(seconds=1)))
        else:
            oldest = min((parse_time(self.actions[k].get("creationDateTimeUtc")) or self._now()) for k in pending)
            polled = list_actions(self.client, action_filter(self.action_type, created_since=oldest - timedelta(seconds=1)))
        for action in polled:
            key = by_id.get(str(action.get("id")).lower())
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
