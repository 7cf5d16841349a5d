# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the quarantine_file role: its input checks, its targets and its report, in Python once.

The role's tasks only call these and show what they return; the modules' own rules (what a SHA-1 is, how
a terminal action failed) are imported from module_utils so that a message reads the same wherever it
comes from. Each filter is registered, with its documentation, in the file of its name.
"""

from __future__ import annotations

import csv
import io
import os
import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.secops.defender.plugins.module_utils._actions import (
    ACTIVE_STATUSES,
    TERMINAL_STATUSES,
    UNSUCCESSFUL_STATUSES,
    outcome_message,
)
from ansible_collections.secops.defender.plugins.module_utils._validate import (
    normalize_comment,
    normalize_sha1,
    parse_duration,
)

ROLE_PREFIX = "quarantine_file_"
BOOLEANS = ("everywhere_seen", "wait", "block_everywhere", "dry_run", "fail_on_error", "stamp_job")
LISTS = ("machine_ids", "machine_names")
NUMBERS = {"wait_timeout": float, "poll_interval": float, "batch_size": int, "max_machines": int}
_SEPARATORS = re.compile(r"[,;\s]+")
_DEVICE_ID = re.compile(r"[0-9a-fA-F]{40}")
_CSV_FIELDS = ("device_id", "device_name", "action_id", "status", "error", "started", "finished")
# Listed by name in a failure message; the rest are in the report.
_NAMED_IN_MESSAGE = 25


class Names:
    """How messages name an input: the variable the user set (`-e machine_names` in the playbook), else the role's."""

    def __init__(self, names: dict | None) -> None:
        self._names = dict(names or {})

    def __call__(self, key: str) -> str:
        return str(self._names.get(key) or ROLE_PREFIX + key)


# --- quarantine_inputs ----------------------------------------------------------------------
def quarantine_inputs(raw: dict, names: dict | None = None) -> dict:
    """Every input of the role checked strictly and normalized; `errors` lists what is wrong, each naming its variable.

    Keys left out of `raw` are not checked and not returned; a value of None is "not given".
    """
    if not isinstance(raw, dict):
        raise AnsibleFilterError("quarantine_inputs expects a dict of the role's inputs")
    name = Names(names)
    out: dict = {}
    errors: list = []

    def check(key, convert):
        if key not in raw:
            return
        try:
            out[key] = convert(raw[key], name(key))
        except ValueError as exc:
            errors.append(str(exc))

    check("sha1", _sha1)
    check("comment", _comment)
    for key in BOOLEANS:
        check(key, _boolean)
    for key in LISTS:
        check(key, _string_list)
    for key, kind in NUMBERS.items():
        check(key, lambda value, shown, kind=kind: _positive(value, shown, kind))
    check("skip_if_succeeded_within", _succeeded_within)
    check("indicator_title", _text)
    check("report_path", _report_files)
    if "machine_ids" in out:
        errors.extend(_device_id_errors(out["machine_ids"], name))
        out["machine_ids"] = list(dict.fromkeys(i.lower() for i in out["machine_ids"]))
    if {"machine_ids", "machine_names", "everywhere_seen"} <= set(out) and \
            not (out["machine_ids"] or out["machine_names"] or out["everywhere_seen"]):
        errors.append(f"Nothing to act on: give {name('machine_names')} (host names), {name('machine_ids')} (Defender "
                      f"device ids) or {name('everywhere_seen')}=true.")
    if "comment" in out:
        out["comment_sent"] = _stamped(out["comment"], raw, out, errors, name)
    out["job"] = _job(raw)
    out["errors"] = errors
    return out


def _sha1(value, shown: str) -> str:
    if value is None:
        raise ValueError(f"{shown} is required: the SHA-1 of the file (40 hexadecimal characters).")
    return normalize_sha1(str(value).strip() if isinstance(value, str) else value, shown)


def _comment(value, shown: str) -> str:
    if value is None:
        raise ValueError(f"{shown} is required: the audit comment recorded with every action (a ticket or alert id).")
    return normalize_comment(value, shown)


def _boolean(value, shown: str) -> bool:
    # The bool filter turns 'ture' into False: a typo in dry_run must not send real actions.
    try:
        return boolean(value, strict=True)
    except TypeError:
        raise ValueError(f"{shown} must be true or false, not {value!r} (yes/no, on/off and 1/0 are accepted too); "
                         "nothing was sent.") from None


def _string_list(value, shown: str) -> list:
    if value is None:
        return []
    if isinstance(value, str):
        items = _SEPARATORS.split(value)
    elif isinstance(value, (list, tuple)):
        items = value
    else:
        raise ValueError(f"{shown} must be a list, or one string with the values separated by commas, not {value!r}.")
    result = []
    for item in items:
        if not isinstance(item, (str, int)) or isinstance(item, bool):
            raise ValueError(f"{shown} holds {item!r}; give names or ids as text.")
        if str(item).strip():
            result.append(str(item).strip())
    return result


def _device_id_errors(ids: list, name: Names) -> list:
    errors = []
    for value in ids:
        if _DEVICE_ID.fullmatch(value):
            continue
        if "." in value or not all(c in "0123456789abcdefABCDEF" for c in value):
            errors.append(f"{name('machine_ids')}: {value!r} is not a Defender device id (40 hexadecimal characters) but "
                          f"looks like a host name; give host names in {name('machine_names')}.")
        else:
            errors.append(f"{name('machine_ids')}: {value!r} has {len(value)} hexadecimal characters; a Defender device "
                          "id has 40 (as in the portal URL /machines/<id>).")
    return errors


def _positive(value, shown: str, kind):
    what = "a whole number" if kind is int else "a number"
    try:
        if isinstance(value, bool):
            raise ValueError
        number = kind(value) if not isinstance(value, str) or kind is float else int(value.strip())
    except (TypeError, ValueError):
        raise ValueError(f"{shown} must be {what} greater than 0, not {value!r}.") from None
    if number <= 0 or (kind is int and isinstance(value, float) and not value.is_integer()):
        raise ValueError(f"{shown} must be {what} greater than 0, not {value!r}.")
    return number


def _succeeded_within(value, shown: str) -> str:
    if value is None or str(value).strip() in ("0", "0s", ""):
        return "0"
    parse_duration(value, shown)
    return str(value).strip()


def _text(value, shown: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{shown} must not be empty.")
    return value.strip()


def _report_files(value, shown: str) -> dict | None:
    """<path>.json and <path>.csv, in a directory that exists and can be written, checked before anything is sent."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise ValueError(f"{shown} must be a path, not {value!r}.")
    base = os.path.expanduser(value.strip())
    if not os.path.isabs(base):
        raise ValueError(f"{shown} must be an absolute path (the files are written on the controller), not {value!r}.")
    root, extension = os.path.splitext(base)
    if extension.lower() in (".json", ".csv"):
        base = root
    directory = os.path.dirname(base) or "/"
    if not os.path.isdir(directory):
        raise ValueError(f"{shown}: the directory {directory} does not exist; nothing was sent.")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise ValueError(f"{shown}: the directory {directory} cannot be written; nothing was sent.")
    return {"json": base + ".json", "csv": base + ".csv"}


def _job(raw: dict) -> dict | None:
    """The AWX / Automation Platform job running the role (its extra variables awx_job_id or tower_job_id)."""
    job_id = raw.get("job_id")
    if job_id in (None, ""):
        return None
    return {"id": str(job_id), "template_name": raw.get("job_template_name") or None}


def _stamped(comment: str, raw: dict, out: dict, errors: list, name: Names) -> str:
    """The comment sent with each action: with '(AWX job <id>)' appended when run as a job (unless stamp_job is false)."""
    job = _job(raw)
    if not job or not out.get("stamp_job", True) or f"(AWX job {job['id']})" in comment:
        return comment
    stamped = f"{comment} (AWX job {job['id']})"
    try:
        return normalize_comment(stamped, name("comment"))
    except ValueError as exc:
        errors.append(f"{exc} (with the job stamp; set {name('stamp_job')}=false to leave it out).")
        return comment


# --- quarantine_targets ---------------------------------------------------------------------
def quarantine_targets(inputs: dict, by_name: dict | None = None, seen: dict | None = None,
                       names: dict | None = None) -> dict:
    """The target devices (each once) and their names from the look-ups; `errors` stops the run before any action."""
    name = Names(names)
    errors: list = []
    ids = list(inputs.get("machine_ids") or [])
    known: dict = {}
    for lookup in (by_name, seen):
        for machine in _ran(lookup).get("machines") or []:
            known[str(machine.get("id")).lower()] = machine.get("computer_dns_name")
    by_name = _ran(by_name)
    if by_name:
        errors.extend(_name_errors(by_name, inputs, name))
        ids += [str(i).lower() for i in by_name.get("machine_ids") or []]
    seen = _ran(seen)
    if seen:
        if _failed(seen):
            errors.append(f"Listing the devices that have seen the file failed ({name('everywhere_seen')}=true): "
                          f"{seen.get('msg')}. Nothing was sent.")
        ids += [str(i).lower() for i in seen.get("machine_ids") or []]
    ids = list(dict.fromkeys(ids))
    maximum = inputs.get("max_machines")
    if maximum and len(ids) > maximum:
        errors.append(f"{len(ids)} target devices is more than {name('max_machines')} ({maximum}); nothing was sent. For "
                      f"a tenant-wide response set {name('block_everywhere')}=true (a BlockAndRemediate indicator), or "
                      f"raise {name('max_machines')}.")
    return {"machine_ids": ids, "names": known, "errors": errors}


def _ran(result) -> dict:
    """A registered result that ran (a skipped task or none at all counts as nothing)."""
    return result if isinstance(result, dict) and not result.get("skipped") and result else {}


def _failed(result: dict) -> bool:
    """Whether the module failed. The role runs its modules with failed_when=false, which rewrites `failed` to false
    (and sets failed_when_result); the modules return `msg` only when they fail."""
    return bool(result.get("failed")) or ("failed_when_result" in result and bool(result.get("msg")))


def _name_errors(found: dict, inputs: dict, name: Names) -> list:
    errors = []
    candidates: dict = {}
    for candidate in found.get("candidates") or []:
        candidates.setdefault(candidate.get("name"), []).append(candidate)
    for asked, matches in candidates.items():
        listing = "; ".join(f"{m.get('computer_dns_name')} ({m.get('id')}, last seen {m.get('last_seen')}, "
                            f"{m.get('health_status')})" for m in matches)
        errors.append(f"{name('machine_names')}: {asked!r} matches {len(matches)} devices: {listing}. Give the full name "
                      f"(FQDN) in {name('machine_names')}, or the device id in {name('machine_ids')}. Nothing was sent.")
    unknown = found.get("not_found") or []
    if unknown:
        errors.append(f"{name('machine_names')}: no device matches {', '.join(repr(n) for n in unknown)} (a name must be "
                      "the device's full name or its short name, ignoring case). Nothing was sent.")
    if _failed(found) and not candidates and not unknown:
        errors.append(f"Resolving {name('machine_names')} failed: {found.get('msg')}. Nothing was sent.")
    return errors


# --- quarantine_report ----------------------------------------------------------------------
def quarantine_report(batches: list, context: dict, indicator: dict | None = None, waited: dict | None = None) -> dict:
    """The run's report, per device, from the batches' results, the indicator task and the wait (see the .yml)."""
    if not isinstance(batches, list) or not isinstance(context, dict):
        raise AnsibleFilterError("quarantine_report expects the list of batches and the run's context")
    run = _Run(context, waited)
    for batch in batches:
        run.add_batch(batch.get("machine_ids") or [], _ran(batch.get("result")))
    machines = [run.device(machine_id) for machine_id in context.get("machine_ids") or []]
    failed = [m for m in machines if m.get("error_code")]
    counts: dict = {}
    for machine in machines:
        counts[machine["status"]] = counts.get(machine["status"], 0) + 1
    block = _indicator(indicator, context)
    report = {
        "sha1": context.get("sha1"),
        "comment": context.get("comment"),
        "dry_run": bool(context.get("dry_run")),
        "changed": run.changed or bool(block and block.get("changed")),
        "total": len(machines),
        "counts": dict(sorted(counts.items())),
        "new_actions": len(run.created),
        "existing_actions": len(run.existing),
        "failed_count": len(failed),
        "failed_machines": failed,
        "not_sent_count": counts.get("NotSent", 0),
        "stopped": run.stopped,
        "pending_action_ids": [m["action_id"] for m in machines if m["status"] in ACTIVE_STATUSES and m.get("action_id")],
        "machines": machines,
        "indicator": block,
        "job": context.get("job"),
        "report_files": context.get("report_files"),
    }
    report["summary"] = _summary(report, context)
    report["failure_message"] = _failure_message(report)
    return report


class _Run:
    """What the batches and the wait say about each device."""

    def __init__(self, context: dict, waited: dict | None) -> None:
        self.context = context
        self.actions: dict = {}
        self.errors: dict = {}
        self.created: set = set()
        self.existing: set = set()
        self.would_fail: set = set()
        self.ran: set = set()
        self.changed = False
        self.stopped: dict | None = None
        waited = _ran(waited)
        self.wait_ran = bool(waited)
        self.waited = {str(a.get("id")): a for a in waited.get("machine_actions") or []}
        self.timed_out = {str(i) for i in waited.get("timed_out_action_ids") or []}
        self.wait_error = waited.get("msg") if _failed(waited) and not self.timed_out else None
        self.poll_error = waited.get("msg") if _failed(waited) and self.timed_out else None

    def add_batch(self, machine_ids: list, result: dict) -> None:
        self.ran.update(machine_ids)
        self.changed = self.changed or bool(result.get("changed"))
        for action in result.get("machine_actions") or []:
            self.actions[str(action.get("machine_id")).lower()] = action
        for error in result.get("failed_machines") or []:
            self.errors[str(error.get("machine_id")).lower()] = error
        created = set(result.get("created_machine_ids") or [])
        self.created.update(created)
        self.existing.update(result.get("existing_machine_ids") or [])
        self.would_fail.update(result.get("would_fail_machine_ids") or [])
        not_sent = result.get("not_sent_machine_ids") or []
        unhandled = [m for m in machine_ids if m not in self.actions and m not in self.errors and m not in created]
        if not (_failed(result) and (not_sent or unhandled)):
            return
        # An error every device would meet (permission, sign-in, throttling beyond the deadline): said once, and
        # the device that met it counts as not sent too (nothing was carried out there).
        if self.stopped is None:
            self.stopped = {"code": result.get("error_code") or "Error", "message": result.get("msg") or "the batch failed",
                            "status": result.get("status"), "retry_after": result.get("retry_after")}
        for machine_id in machine_ids:
            error = self.errors.get(machine_id)
            stopped_by_it = bool(error) and error.get("code") == result.get("error_code") and machine_id not in self.actions
            if machine_id in unhandled or stopped_by_it:
                self.errors[machine_id] = {"machine_id": machine_id, "code": "NotSent", "message": ""}

    def device(self, machine_id: str) -> dict:
        action = self.actions.get(machine_id)
        error = self.errors.get(machine_id)
        if machine_id not in self.ran:
            error = {"code": "NotSent", "message": ""}  # never reached: an earlier batch stopped the run
        if action is not None:
            action = self.waited.get(str(action.get("id")), action)
            error = error if error and error.get("code") == "NotSent" else (self._wait_error(action) or error)
        entry = {
            "machine_id": machine_id,
            "computer_dns_name": (action or {}).get("computer_dns_name") or self.context.get("names", {}).get(machine_id),
            "status": self._status(machine_id, action, error),
            "action_id": (action or {}).get("id"),
            "new_action": machine_id in self.created,
            "started": (action or {}).get("creation_date_time_utc"),
            "finished": (action or {}).get("last_update_date_time_utc") if (action or {}).get("status") in TERMINAL_STATUSES
            else None,
        }
        if error:
            code = error.get("code") or "Error"
            message = error.get("message") or ""
            if code == "NotSent":
                reason = (self.stopped or {}).get("message") or "an error that applies to every device stopped the run"
                message = f"not sent: {reason}"
            entry.update(error_code=code, message=message)
        return entry

    def _status(self, machine_id: str, action: dict | None, error: dict | None) -> str:
        if error and error.get("code") == "NotSent":
            return "NotSent"
        if action is not None:
            return action.get("status") or "Unknown"
        if self.context.get("dry_run") and machine_id in self.would_fail:
            return "WouldFail"
        if self.context.get("dry_run") and machine_id in self.created:
            return "WouldSubmit"
        return "Error" if error else "Unknown"

    def _wait_error(self, action: dict) -> dict | None:
        status = action.get("status")
        if status in UNSUCCESSFUL_STATUSES:
            return {"code": status, "message": outcome_message({
                "id": action.get("id"), "status": status, "errorHResult": action.get("error_h_result"),
                "cancellationComment": action.get("cancellation_comment")})}
        if status not in ACTIVE_STATUSES or not self.context.get("wait") or self.context.get("dry_run") or not self.wait_ran:
            return None
        timeout = self.context.get("wait_timeout")
        if str(action.get("id")) in self.timed_out:
            _before, said, last_poll = (self.poll_error or "").partition("; the last poll failed: ")
            last = f"; the last poll failed: {last_poll}" if said else ""
            return {"code": "WaitTimeout", "message": f"action {action.get('id')} still {status} after wait_timeout "
                                                      f"({timeout:g} s){last}"}
        if self.wait_error:
            return {"code": "WaitFailed", "message": f"action {action.get('id')} still {status}; waiting failed: "
                                                     f"{self.wait_error}"}
        if str(action.get("id")) not in self.waited:
            return {"code": "WaitFailed", "message": f"action {action.get('id')} still {status}: Defender did not list it "
                                                     "while waiting (run again later to read its outcome)"}
        return None


def _indicator(result: dict | None, context: dict) -> dict | None:
    if not context.get("block_everywhere"):
        return None
    result = _ran(result)
    if not result:
        return {"indicator_value": context.get("sha1"), "action": "BlockAndRemediate", "changed": False,
                "error": {"code": "NotRun", "message": "the indicator task did not run", "status": None}}
    if _failed(result):
        return {"indicator_value": context.get("sha1"), "action": "BlockAndRemediate", "changed": bool(result.get("changed")),
                "error": {"code": result.get("error_code") or "Error", "message": result.get("msg") or "failed",
                          "status": result.get("status")}}
    return {**(result.get("indicator") or {}), "changed": bool(result.get("changed")), "error": None}


def _shown(machine: dict) -> str:
    return f"{machine['computer_dns_name']} ({machine['machine_id']})" if machine.get("computer_dns_name") \
        else machine["machine_id"]


def _summary(report: dict, context: dict) -> list:
    dry = "DRY RUN: " if report["dry_run"] else ""
    lines = []
    if report["total"]:
        counts = ", ".join(f"{n} {status}" for status, n in report["counts"].items())
        lines.append(f"{dry}StopAndQuarantineFile {report['sha1']} on {report['total']} device(s): {counts}")
        lines.append(f"{'Would send' if report['dry_run'] else 'Sent'} {report['new_actions']} new action(s); "
                     f"{report['existing_actions']} device(s) already had one under way or done")
    else:
        lines.append(f"{dry}No target device: nothing to quarantine for {report['sha1']}")
    if report["stopped"]:
        lines.append(f"STOPPED: {report['not_sent_count']} device(s) not sent: {report['stopped']['message']}")
    block = report["indicator"]
    if block is not None:
        if block.get("error"):
            lines.append(f"FAILED BlockAndRemediate indicator for {report['sha1']}: {block['error']['message']}")
        else:
            what = ("would be created or updated" if report["dry_run"] else "created or updated") if block.get("changed") \
                else "already in place"
            ident = f" (id {block['id']})" if block.get("id") else ""
            lines.append(f"BlockAndRemediate indicator for {report['sha1']}: {what}{ident}")
    for machine in report["failed_machines"]:
        if machine["error_code"] != "NotSent":
            lines.append(f"FAILED {_shown(machine)}: {machine['message']}")
    job = context.get("job")
    if job:
        lines.append(f"AWX job {job['id']}" + (f" ({job['template_name']})" if job.get("template_name") else ""))
    return lines


def _listed(machines: list) -> str:
    shown = ", ".join(_shown(m) for m in machines[:_NAMED_IN_MESSAGE])
    more = len(machines) - _NAMED_IN_MESSAGE
    return shown + (f" and {more} more" if more > 0 else "")


def _failure_message(report: dict) -> str | None:
    """Why the run fails at the end (with fail_on_error), naming the devices; None when nothing failed."""
    parts = []
    not_sent = [m for m in report["failed_machines"] if m["error_code"] == "NotSent"]
    failed = [m for m in report["failed_machines"] if m["error_code"] != "NotSent"]
    if report["stopped"]:
        parts.append(f"The run stopped before sending to {len(not_sent)} of {report['total']} device(s): "
                     f"{report['stopped']['message'].rstrip('.')}. Not sent: {_listed(not_sent)}.")
    if failed:
        verb = "would fail" if report["dry_run"] else "failed"
        parts.append(f"Stop and quarantine {verb} on {len(failed)} of {report['total']} device(s): {_listed(failed)}.")
    block = report["indicator"]
    if block and block.get("error"):
        parts.append(f"The BlockAndRemediate indicator for {report['sha1']} failed: {block['error']['message'].rstrip('.')}.")
    if not parts:
        return None
    return " ".join(parts) + " The summary above and defender_quarantine_report give every reason."


# --- quarantine_report_csv ------------------------------------------------------------------
def quarantine_report_csv(report: dict) -> str:
    """One CSV row per device: device_id, device_name, action_id, status, error, started, finished."""
    if not isinstance(report, dict) or "machines" not in report:
        raise AnsibleFilterError("quarantine_report_csv expects the report made by secops.defender.quarantine_report")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_CSV_FIELDS)
    for machine in report["machines"]:
        error = f"{machine['error_code']}: {machine.get('message') or ''}".rstrip(": ") if machine.get("error_code") else ""
        writer.writerow([_cell(v) for v in (machine["machine_id"], machine.get("computer_dns_name"), machine.get("action_id"),
                                            machine["status"], error, machine.get("started"), machine.get("finished"))])
    return out.getvalue()


def _cell(value) -> str:
    """A spreadsheet must not take a cell for a formula (a comment or a message starting with '=', '+', '-', '@')."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


DOCUMENTATION = r"""
name: quarantine_report
author: secops.defender contributors (@secops)
version_added: 2.0.0
short_description: The per-device report of the quarantine_file role
description:
- Builds the report C(defender_quarantine_report) of the role C(secops.defender.quarantine_file) from the results of its batches
  of M(secops.defender.defender_stop_quarantine), of the indicator task (M(secops.defender.defender_indicator)) and of the
  wait (M(secops.defender.defender_machine_action_info) with O(secops.defender.defender_machine_action_info#module:ids)).
- The outcome of each device, the summary lines and the final failure message are computed here only; the role shows them.
- An error that applies to every device (a missing permission, a sign-in failure, throttling beyond the deadline) stops the
  run; the report says so once (RV(_value.stopped)) and gives the devices not sent the status C(NotSent).
positional: _input, context
options:
  _input:
    description:
    - The batches run so far, each a dict with C(machine_ids) (the batch's devices) and C(result) (the registered result of
      M(secops.defender.defender_stop_quarantine) for them, run with C(failed_when=false)).
    type: list
    elements: dict
    required: true
  context:
    description:
    - The run, a dict with C(sha1), C(comment), C(dry_run), C(wait), C(wait_timeout), C(block_everywhere), C(machine_ids),
      C(names), C(job) and C(report_files). C(machine_ids) lists every target device, including those no batch reached.
    type: dict
    required: true
  indicator:
    description: The registered result of the indicator task (C(failed_when=false)), or a skipped result.
    type: dict
  waited:
    description: The registered result of the wait (C(failed_when=false)), or a skipped result.
    type: dict
"""

EXAMPLES = r"""
- name: Build the report
  ansible.builtin.set_fact:
    defender_quarantine_report: >-
      {{ batches | secops.defender.quarantine_report(context, indicator=indicator_result, waited=wait_result) }}
"""

RETURN = r"""
_value:
  description: The report.
  type: dict
  contains:
    sha1:
      description: The file.
      type: str
    comment:
      description: The comment sent with every action (with the AWX job stamp when there is one).
      type: str
    dry_run:
      description: Whether nothing was sent (check mode).
      type: bool
    changed:
      description: Whether an action or the indicator was (or in a dry run would be) created or changed.
      type: bool
    total:
      description: Target devices.
      type: int
    counts:
      description:
      - Devices by final status, C(Succeeded), C(Failed), C(TimeOut), C(Cancelled), C(Pending), C(InProgress), C(Error) (Defender
        refused the request), C(NotSent), and in a dry run C(WouldSubmit) and C(WouldFail).
      type: dict
    new_actions:
      description: Actions created by this run (in a dry run, that would be).
      type: int
    existing_actions:
      description: Devices that already had an action for the file under way or recently succeeded.
      type: int
    failed_count:
      description: Devices in RV(_value.failed_machines).
      type: int
    failed_machines:
      description: The entries of RV(_value.machines) that failed or were not sent.
      type: list
      elements: dict
    not_sent_count:
      description: Devices never sent because the run stopped.
      type: int
    stopped:
      description: Why the run stopped sending (C(code), C(message), C(status), C(retry_after)), or C(none).
      type: dict
    pending_action_ids:
      description: The actions of the run still C(Pending) or C(InProgress).
      type: list
      elements: str
    machines:
      description:
      - One entry per device, C(machine_id), C(computer_dns_name), C(status), C(action_id), C(new_action), C(started) and
        C(finished) (the action's creation and, once final, last update), and C(error_code) and C(message) when it failed.
      type: list
      elements: dict
    indicator:
      description:
      - With C(block_everywhere), the indicator (Defender's fields in snake_case) with C(changed) and C(error) (C(none), or
        C(code), C(message), C(status) when the block failed); else C(none).
      type: dict
    job:
      description: The AWX / Automation Platform job (C(id), C(template_name)), or C(none).
      type: dict
    report_files:
      description: The files the role writes the report to (C(json), C(csv)), or C(none).
      type: dict
    summary:
      description: The lines the role shows.
      type: list
      elements: str
    failure_message:
      description: Why the run fails at the end (devices named with their ids), or C(none) when nothing failed.
      type: str
"""


class FilterModule:
    """The quarantine_report filter; quarantine_inputs, quarantine_targets and quarantine_report_csv are implemented
    above and registered by their own files (one filter per file, each with its documentation)."""

    def filters(self):
        return {"quarantine_report": quarantine_report}
