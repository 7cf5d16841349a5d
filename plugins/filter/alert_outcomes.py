# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The alerts filter of the Event-Driven loop: what each alert of a file event gets told of its device's outcome.

Used by playbooks/quarantine_on_alert.yml between the quarantine_file runbook and defender_alert; the text is made
here once, not in Jinja.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

PREFIX = "secops.defender:"  # our comments start so (the source also knows its own comments by it)


def _device(alert: dict, outcome: dict | None) -> str:
    return str((outcome or {}).get("computer_dns_name") or alert.get("computer_dns_name") or alert.get("machine_id"))


def comment_for(sha1: str, alert: dict, outcome: dict | None) -> str:
    """The comment one alert gets: its device's outcome (status, action id, message), or why there is none."""
    if not alert.get("machine_id"):
        return f"{PREFIX} file {sha1} not quarantined: the alert names no device"
    if outcome is None:
        return f"{PREFIX} StopAndQuarantineFile {sha1} on {_device(alert, None)}: no outcome (the runbook did not reach this device)"
    text = f"{PREFIX} StopAndQuarantineFile {sha1} on {_device(alert, outcome)}: {outcome.get('status')}"
    if outcome.get("action_id"):
        text += f" (action {outcome['action_id']})"
    if outcome.get("message"):
        text += f": {outcome['message']}"
    return text


def alert_outcomes(file_event: dict, report: dict | None = None, status_on_success: str | None = "InProgress") -> list:
    """One update per alert of a file event of secops.defender.alerts: {"id", "comment"[, "status"]}.

    `report` is the quarantine_file role's defender_quarantine_report (its `machines`, one entry per device);
    an alert whose device succeeded also gets `status_on_success` (none when empty)."""
    if not isinstance(file_event, dict) or not isinstance(file_event.get("alerts"), list) or not file_event.get("sha1"):
        raise AnsibleFilterError("alert_outcomes expects the file event of secops.defender.alerts (sha1 and alerts)")
    machines = (report or {}).get("machines") or []
    by_machine = {str(entry.get("machine_id")).lower(): entry for entry in machines if isinstance(entry, dict)}
    updates = []
    for alert in file_event["alerts"]:
        machine_id = str(alert.get("machine_id") or "").lower()
        outcome = by_machine.get(machine_id) if machine_id else None
        update = {"id": alert.get("id"), "comment": comment_for(file_event["sha1"], alert, outcome)}
        if outcome and outcome.get("status") == "Succeeded" and status_on_success:
            update["status"] = status_on_success
        updates.append(update)
    return updates


DOCUMENTATION = r"""
name: alert_outcomes
author: secops.defender contributors (@secops)
version_added: 2.0.0
short_description: What each alert of a file event is told of its device's quarantine
description:
- Takes a file event of the C(secops.defender.alerts) event source (C(sha1) and its C(alerts)) and the report of the C(secops.defender.quarantine_file)
  role (C(defender_quarantine_report)), and returns one update per alert for M(secops.defender.defender_alert)'s O(secops.defender.defender_alert#module:alerts)
  option.
- The comment names the file, the device, its outcome (C(Succeeded), C(Failed), C(NotSent), ...), the action id and the message;
  an alert without a device, or whose device the runbook did not reach, says so.
- An alert whose device succeeded also gets O(status_on_success).
positional: _input, report, status_on_success
options:
  _input:
    description: The file event (C(ansible_eda.event.defender_file)).
    type: dict
    required: true
  report:
    description: The role's report; devices not in it get "no outcome".
    type: dict
  status_on_success:
    description: Status for the alerts whose device succeeded; empty for none.
    type: str
    default: InProgress
"""

EXAMPLES = r"""
- name: Comment on every alert (one task, one token)
  secops.defender.defender_alert:
    alerts: "{{ ansible_eda.event.defender_file | secops.defender.alert_outcomes(defender_quarantine_report, 'InProgress') }}"
"""

RETURN = r"""
_value:
  description: One dict per alert, C(id), C(comment) and, when its device succeeded, C(status).
  type: list
  elements: dict
"""


class FilterModule:
    """The Event-Driven loop's filter."""

    def filters(self):
        return {"alert_outcomes": alert_outcomes}
