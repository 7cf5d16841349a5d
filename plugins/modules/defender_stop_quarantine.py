#!/usr/bin/python
# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: defender_stop_quarantine
short_description: Stop a file and quarantine it on Defender for Endpoint devices
version_added: 1.0.0
description:
  - Sends the Microsoft Defender for Endpoint response action C(StopAndQuarantineFile)
    (C(POST /api/machines/{id}/StopAndQuarantineFile)) for one device or a fleet of devices,
    and optionally waits until the device reports the outcome.
  - The file's processes are stopped, the file is quarantined and persistent data such as registry keys is removed.
    The file can be restored from quarantine on the device later.
  - B(Idempotent.) Before sending, the module looks, in one list query for all devices, for a C(Pending) or
    C(InProgress) action for the same device and file, or a C(Succeeded) one within O(skip_if_succeeded_within)
    (24 hours by default). If there is one, nothing is sent, C(changed=false) and that action is returned.
    A concurrent duplicate answered with C(400 ActiveRequestAlreadyExists), or with C(201) and the pending
    action, is handled the same way.
  - B(Never sent twice.) When the request fails without a clear answer (server error, timeout, dropped connection,
    an answer cut off half-way), the device's actions are read back, patiently (up to 60 seconds, as the listing
    can lag a new action), and the request is sent again only if no action that this request could have created
    appeared. An older action for the same file, or someone else's, is never taken for this run's.
  - B(Another action in the way.) If Defender refuses the request because another StopAndQuarantineFile action
    (for another file) is pending on the device, the device fails with C(changed=false) and a message naming the
    blocking action (id, file, status, requestor).
  - B(Errors that apply to every device) (throttling beyond O(retry_timeout), a token that cannot be renewed,
    a missing permission, a feature the tenant lacks) stop a fleet run at once; the devices not sent yet are
    listed in RV(not_sent_machine_ids), and the message says when to run again.
  - B(Permission preflight.) With an application token the module checks, before sending, that the app holds
    C(Machine.StopAndQuarantine) and one of C(Machine.Read.All) or C(Machine.ReadWrite.All); Defender needs both.
  - The action runs on Windows 10 1703 or later, Windows 11 and Windows Server 2012 R2 or later, for files
    observed on the device in the last 30 days, not signed by Microsoft or a trusted publisher.
author:
  - secops.defender contributors (@secops)
options:
  machine_id:
    description:
      - Defender device id (40 hexadecimal characters) of the one device to act on.
      - Exactly one of O(machine_id) and O(machine_ids) is required.
      - To start from a host name use M(secops.defender.defender_machine_info) first.
    type: str
  machine_ids:
    description:
      - Device ids for a fleet run. One list query finds the actions already under way, the requests are paced
        under the API's rate limit, and status is polled with list queries.
      - Duplicates are dropped (with a warning). The task fails if any device failed; the result still carries
        every outcome in RV(machine_actions) and RV(failed_machines).
    type: list
    elements: str
  sha1:
    description:
      - SHA-1 of the file (40 hexadecimal characters; upper case is accepted and lowered).
      - SHA-256 and MD5 are refused with a pointer to M(secops.defender.defender_indicator), because this action takes SHA-1 only.
    type: str
    required: true
  comment:
    description:
      - Comment recorded with the action for the audit trail (for example the alert or ticket id). Must not be empty.
    type: str
    required: true
  wait:
    description:
      - Wait until each action is C(Succeeded), C(Failed), C(TimeOut) or C(Cancelled).
      - C(Failed), C(TimeOut) and C(Cancelled) fail the task, with the status and C(errorHResult) in the message.
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait when O(wait=true). When they pass the task fails (after cancelling the actions if O(cancel_on_timeout=true)).
      - An offline device keeps its action C(Pending) until it checks in, possibly for days.
    type: float
    default: 600
  poll_interval:
    description:
      - Seconds between status polls when O(wait=true).
      - Must be at least 60 / O(calls_per_minute) seconds so that polling alone cannot exceed the rate limit.
    type: float
    default: 10
  cancel_on_timeout:
    description:
      - When O(wait_timeout) passes, cancel the actions that are still not finished, with a comment saying so.
    type: bool
    default: false
  skip_if_succeeded_within:
    description:
      - Also count a C(Succeeded) action for the same device and file created within this duration as done
        (C(changed=false)), for example V(24h), V(30m), V(7d) or a number of seconds.
      - The default makes a second run of the same task change nothing. V(0) forces a new action even when the
        file was quarantined a moment ago (for example after it was restored from quarantine).
      - Before 2.0.0 the default was to count only C(Pending) and C(InProgress) actions as done.
    type: str
    default: 24h
  max_machines:
    description:
      - Upper bound on the length of O(machine_ids), checked before any request. The portal stops at 1000 devices;
        for a tenant-wide response prefer a C(BlockAndRemediate) file indicator.
    type: int
    default: 1000
  pacing_state:
    description:
      - The RV(pacing_state) of the previous run of this module, to carry its rate-limit window on. The calls it made
        in the last hour per API are counted as if made by this run, so its first calls wait for a free slot instead
        of meeting the service's window (a C(429) each time). The role C(secops.defender.quarantine_file) hands it
        from each batch to the next.
      - The times are wall-clock epoch seconds, so hand it on from a run on the same controller.
    type: dict
    version_added: 2.0.0
extends_documentation_fragment:
  - secops.defender.auth
  - secops.defender.auth.pacing
  - secops.defender.attributes
  - secops.defender.attributes.CHECK_MODE_FULL
  - secops.defender.attributes.DIFF_NONE
notes:
  - Check mode runs every read (token, permission preflight, lookup of actions under way, and one
    C(GET /api/files/{sha1}/machines) to check that each device is known and has seen the file) and sends no
    action; C(changed), RV(created_machine_ids) and the failure a real run would meet (an unknown device, a
    device that never saw the file) are predicted. Needs O(skip_if_succeeded_within) and the file listing to
    be as in a real run.
  - Defender's API allows 100 calls per minute and 1,500 per hour per API; a fleet of N devices needs about
    N / 100 minutes.
seealso:
  - module: secops.defender.defender_machine_info
  - module: secops.defender.defender_machine_action_info
  - module: secops.defender.defender_machine_action_cancel
  - module: secops.defender.defender_indicator
  - name: Stop and quarantine file API
    description: Microsoft's reference for the call this module makes.
    link: https://learn.microsoft.com/en-us/defender-endpoint/api/stop-and-quarantine-file
"""

EXAMPLES = r"""
- name: Stop and quarantine a file on one device, credentials from the environment (AZURE_TENANT_ID, ...)
  secops.defender.defender_stop_quarantine:
    machine_id: 1e5bc9d7e413ddd7902c2932e418702b84d0cc07
    sha1: 87662bc3d60e4200ceaf7aae249d1c343f4b83c9
    comment: "INC-4711: quarantine dropper found by alert da637292525687361436"
  delegate_to: localhost

- name: Same, waiting for the device to report, with credentials set once for the whole play
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/secops.defender.defender:
      tenant_id: "{{ defender_tenant_id }}"
      client_id: "{{ defender_client_id }}"
      client_secret: "{{ defender_client_secret }}"
  tasks:
    - name: Quarantine and wait up to 15 minutes
      secops.defender.defender_stop_quarantine:
        machine_id: "{{ mde_machine_id }}"
        sha1: "{{ alert_sha1 }}"
        comment: "{{ ticket_id }}: stop and quarantine"
        wait: true
        wait_timeout: 900
        cancel_on_timeout: true

    - name: The action is also a host fact
      ansible.builtin.debug:
        msg: "{{ defender_machine_action.id }} is {{ defender_machine_action.status }}"

- name: A fleet, skipping devices where the file was quarantined in the last day
  secops.defender.defender_stop_quarantine:
    machine_ids: "{{ affected_machine_ids }}"
    sha1: 87662bc3d60e4200ceaf7aae249d1c343f4b83c9
    comment: "INC-4711: fleet response"
    skip_if_succeeded_within: 24h
    wait: true
  register: fleet
  delegate_to: localhost

- name: Show the devices that failed
  ansible.builtin.debug:
    var: fleet.failed_machines

- name: US Government (GCC High) tenant with a certificate
  secops.defender.defender_stop_quarantine:
    cloud: gcc_high
    tenant_id: 00000000-0000-0000-0000-000000000000
    client_id: 11111111-1111-1111-1111-111111111111
    client_certificate_path: /etc/pki/defender/app.pem
    machine_id: 1e5bc9d7e413ddd7902c2932e418702b84d0cc07
    sha1: 87662bc3d60e4200ceaf7aae249d1c343f4b83c9
    comment: "CASE-981"
  delegate_to: localhost
"""

RETURN = r"""
machine_action:
  description:
    - The MachineAction of the device (O(machine_id) mode), with Defender's fields in snake_case.
    - The new action when one was sent, or the one already under way when nothing was sent.
    - In check mode, the action under way if there is one, else not returned (see RV(request)).
  returned: when O(machine_id) is used and an action exists or was created
  type: dict
  contains:
    id:
      description: Action id.
      type: str
      sample: 44cffc15-0e3d-4cbf-96aa-bf76f9b27f5e
    type:
      description: Action type.
      type: str
      sample: StopAndQuarantineFile
    title:
      description: Action title.
      type: str
    requestor:
      description: Who asked for the action (the app id for application tokens).
      type: str
    requestor_comment:
      description: The comment given.
      type: str
    status:
      description: One of C(Pending), C(InProgress), C(Succeeded), C(Failed), C(TimeOut), C(Cancelled).
      type: str
      sample: Pending
    machine_id:
      description: Device id.
      type: str
    computer_dns_name:
      description: Device name.
      type: str
    creation_date_time_utc:
      description: When the action was created.
      type: str
    last_update_date_time_utc:
      description: When the status last changed (Defender's C(lastUpdateTimeUtc) is returned under this name too).
      type: str
    cancellation_requestor:
      description: Who cancelled the action.
      type: str
    cancellation_comment:
      description: Cancellation comment.
      type: str
    cancellation_date_time_utc:
      description: When the action was cancelled.
      type: str
    error_h_result:
      description: Windows HRESULT of a failed action (C(0) otherwise).
      type: int
    scope:
      description: Action scope (null for this action).
      type: str
    external_id:
      description: Correlation id given by the requestor.
      type: str
    request_source:
      description: Where the request came from, C(PublicApi) for the API.
      type: str
    related_file_info:
      description: The file, C(file_identifier) and C(file_identifier_type) (C(Sha1)).
      type: dict
    commands:
      description: Live response commands (empty for this action).
      type: list
    troubleshoot_info:
      description: Troubleshooting information.
      type: str
machine_actions:
  description:
    - Fleet mode, one MachineAction per device that has one (new, under way or found recent), same fields as RV(machine_action).
  returned: when O(machine_ids) is used
  type: list
  elements: dict
failed_machines:
  description:
    - Fleet mode, the devices that failed (in check mode, would fail), with the reason. Devices not sent because
      an error applied to every device have the code C(NotSent).
  returned: when O(machine_ids) is used
  type: list
  elements: dict
  contains:
    machine_id:
      description: Device id.
      type: str
    code:
      description: Defender's error code (for example C(ResourceNotFound)) or the final action status (C(Failed), C(TimeOut), C(Cancelled)).
      type: str
    message:
      description: What happened, with the request id where Defender gave one.
      type: str
    blocking_action_id:
      description: The pending action that made Defender refuse this device's request, when there is one.
      type: str
      returned: when another action blocked the device
  sample:
    - machine_id: "0000000000000000000000000000000000000000"
      code: ResourceNotFound
      message: "Machine 0000000000000000000000000000000000000000 was not found (HTTP 404, request id 43f4cb08-...)"
not_sent_machine_ids:
  description:
    - Fleet mode, devices never sent because an error that applies to every device stopped the run (see C(msg)
      and RV(retry_after)). Run the task again later; devices already handled are skipped.
  returned: when O(machine_ids) is used
  type: list
  elements: str
  version_added: 2.0.0
would_fail_machine_ids:
  description: Check mode, devices a real run would fail on (unknown to Defender, or the file was never seen there).
  returned: in check mode
  type: list
  elements: str
  version_added: 2.0.0
retry_after:
  description: Seconds the service asked to wait (C(Retry-After)) when throttling stopped the run.
  returned: when a run was stopped by throttling
  type: float
  version_added: 2.0.0
created_machine_ids:
  description: Devices for which an action was created by this run (in check mode, would be created).
  returned: always
  type: list
  elements: str
existing_machine_ids:
  description: Devices skipped because an action for the file was already under way or recently succeeded.
  returned: always
  type: list
  elements: str
request:
  description: In check mode, the request a real run would send (O(machine_id) mode, when it would send one).
  returned: in check mode when an action would be created
  type: dict
  sample: {"method": "POST", "path": "/api/machines/1e5b.../StopAndQuarantineFile", "body": {"Comment": "INC-4711", "Sha1": "8766..."}}
status_history:
  description: O(machine_id) mode with O(wait=true), each status seen and when.
  returned: when O(wait=true) and O(machine_id) is used
  type: list
  elements: dict
elapsed:
  description: Seconds spent waiting for the actions to finish.
  returned: when O(wait=true)
  type: float
timed_out_machine_ids:
  description: Devices whose action was still not finished when O(wait_timeout) passed.
  returned: when O(wait=true)
  type: list
  elements: str
auth_method:
  description: How the token was obtained (C(access_token), C(client_secret), C(certificate), ...); never the credential.
  returned: always
  type: str
  sample: client_secret
api_calls:
  description: HTTP calls made, per API and for tokens, retries on throttling (C(429)) included.
  returned: always
  type: dict
pacing_state:
  description:
    - The calls this run (and the run whose O(pacing_state) it was given) made in the last hour, per API, in
      wall-clock epoch seconds, and any C(Retry-After) still to wait. Pass it as O(pacing_state) to the next run.
  returned: always, once the options are accepted
  type: dict
  version_added: 2.0.0
  sample: {"version": 1, "apis": {"POST /api/machines/{id}/StopAndQuarantineFile": {"calls": [1767225600.125, 1767225600.377]}}}
ansible_facts:
  description: Facts set for later tasks on the same host.
  returned: when O(machine_id) is used and an action exists or was created
  type: dict
  contains:
    defender_machine_action:
      description: Same as RV(machine_action).
      type: dict
"""

from datetime import timedelta

from ansible_collections.secops.defender.plugins.module_utils._actions import (
    ActionWatcher,
    BlockedByAction,
    Quarantine,
    UNSUCCESSFUL_STATUSES,
    cancel_action,
    outcome_message,
    utcnow,
)
from ansible_collections.secops.defender.plugins.module_utils._auth import STOP_AND_QUARANTINE_ROLES
from ansible_collections.secops.defender.plugins.module_utils._client import applies_to_all, check_pacing_state
from ansible_collections.secops.defender.plugins.module_utils._errors import AmbiguousRequestError, DefenderError
from ansible_collections.secops.defender.plugins.module_utils._machines import get_machine, machines_with_file
from ansible_collections.secops.defender.plugins.module_utils._module import DefenderModule, snake_action
from ansible_collections.secops.defender.plugins.module_utils._validate import (
    normalize_comment,
    normalize_machine_id,
    normalize_machine_ids,
    normalize_sha1,
    parse_duration,
    validate_poll_interval,
    validate_positive,
)

# A recent success counts as done unless the user asks otherwise (Ansible's "a second run changes nothing").
DEFAULT_SUCCEEDED_WITHIN = "24h"


def validated_inputs(module) -> dict:
    """Every input check, before any request is sent."""
    params = module.params
    try:
        inputs = {"sha1": normalize_sha1(params["sha1"]), "comment": normalize_comment(params["comment"])}
        validate_positive(params["max_machines"], "max_machines")
        if params["machine_id"] is not None:
            inputs["machine_ids"] = [normalize_machine_id(params["machine_id"])]
        else:
            inputs["machine_ids"], duplicates = normalize_machine_ids(params["machine_ids"], params["max_machines"])
            if duplicates:
                shown = ", ".join(sorted(set(duplicates))[:10])
                module.warn(f"machine_ids lists {len(duplicates)} device(s) more than once; each gets one request: {shown}")
        # 0 (in any unit) forces a new action even after a recent success
        within = parse_duration(params["skip_if_succeeded_within"], "skip_if_succeeded_within", allow_zero=True)
        inputs["succeeded_within"] = within or None
        validate_positive(params["wait_timeout"], "wait_timeout")
        validate_poll_interval(params["poll_interval"], params["calls_per_minute"])
        if params["pacing_state"] is not None:
            check_pacing_state(params["pacing_state"])
    except ValueError as exc:
        module.fail(msg=str(exc))
    return inputs


class Outcome:
    """Everything known about each device so far; rendered into every exit and every failure."""

    def __init__(self, single: bool, devices: list) -> None:
        self.single = single
        self.devices = devices
        self.actions: dict = {}  # machine id -> MachineAction (new, existing or adopted)
        self.created: list = []  # devices with an action created by this run
        self.existing: list = []  # devices skipped: an action was under way or recently succeeded
        self.errors: dict = {}  # machine id -> DefenderError
        self.not_sent: list = []  # devices never sent because an error applied to every device
        self.would_fail: list = []  # check mode: devices a real run would fail on
        self.possibly_created = False  # an ambiguous write whose outcome is unknown
        self.limiter = None  # the client's RateLimiter, whose window is handed to the next run (pacing_state)

    @property
    def changed(self) -> bool:
        return bool(self.created) or self.possibly_created

    def render(self) -> dict:
        result = {"changed": self.changed, "created_machine_ids": list(self.created),
                  "existing_machine_ids": sorted(set(self.existing))}
        if self.limiter is not None:
            result["pacing_state"] = self.limiter.state()
        if self.single:
            action = snake_action(next(iter(self.actions.values()), None))
            if action:
                result["machine_action"] = action
                result["ansible_facts"] = {"defender_machine_action": action}
            return result
        result["machine_actions"] = [snake_action(a) for a in self.actions.values()]
        result["failed_machines"] = [failure(m, e) for m, e in self.errors.items()]
        result["not_sent_machine_ids"] = list(self.not_sent)
        return result


def failure(machine_id: str, error: DefenderError) -> dict:
    entry = {"machine_id": machine_id, "code": error.code, "message": str(error)}
    if isinstance(error, BlockedByAction) and error.blocking:
        entry["blocking_action_id"] = error.blocking.get("id")
    return entry


def predict(module, client, inputs: dict, outcome: Outcome, to_submit: list) -> list:
    """Check mode: the devices a real run would send to, after leaving out those it would fail on.

    One GET /api/files/{sha1}/machines answers, for every device at once, whether Defender knows it and
    has seen the file (only such devices can be sent the action)."""
    seen = {str(m.get("id") or "").lower() for m in machines_with_file(client, inputs["sha1"])}
    would_send = []
    for machine_id in to_submit:
        if machine_id in seen:
            would_send.append(machine_id)
            continue
        outcome.would_fail.append(machine_id)
        if outcome.single and get_machine(client, machine_id) is None:
            reason = f"Machine {machine_id} was not found"
        elif outcome.single:
            reason = f"Sha1 {inputs['sha1']} was not found in machine {machine_id}"
        else:
            reason = f"Machine {machine_id} is unknown or has not seen file {inputs['sha1']}"
        outcome.errors[machine_id] = DefenderError(
            f"{reason} (it is not among the devices Defender lists for the file): a real run would fail there",
            status=404, code="ResourceNotFound", method="POST", path=f"/api/machines/{machine_id}/StopAndQuarantineFile")
    module.result["would_fail_machine_ids"] = list(outcome.would_fail)
    return would_send


def submit_all(quarantine: Quarantine, outcome: Outcome, to_submit: list) -> DefenderError | None:
    """POST for each device (paced by the client). Stops at an error that every further device would meet
    too (throttled beyond the deadline, a token that cannot be renewed, a missing permission, ...): the
    devices not sent yet are recorded as not sent, and that error is returned."""
    for index, machine_id in enumerate(to_submit):
        try:
            action, created = quarantine.submit(machine_id)
        except DefenderError as exc:
            outcome.errors[machine_id] = exc
            if isinstance(exc, AmbiguousRequestError):
                outcome.possibly_created = True
            if applies_to_all(exc):
                outcome.not_sent = to_submit[index + 1:]
                for other in outcome.not_sent:
                    outcome.errors[other] = DefenderError(f"not sent: {exc.message}", status=exc.status, code="NotSent")
                return exc
            continue
        outcome.actions[machine_id] = action
        (outcome.created if created else outcome.existing).append(machine_id)
    return None


def wait_for(module, client, outcome: Outcome) -> None:
    params = module.params
    watcher = ActionWatcher(client, outcome.actions)
    try:
        timed_out = watcher.wait(params["wait_timeout"], params["poll_interval"])
    finally:
        outcome.actions.update(watcher.actions)
        module.result["elapsed"] = round(watcher.elapsed, 3)
        if outcome.single:
            module.result["status_history"] = watcher.history[next(iter(outcome.actions))]
    module.result["timed_out_machine_ids"] = timed_out
    last_poll_error = f"; the last poll failed: {watcher.poll_errors[-1]}" if watcher.poll_errors else ""
    for machine_id in timed_out:
        action = outcome.actions[machine_id]
        if params["cancel_on_timeout"]:
            comment = f"Cancelled by secops.defender: not finished within wait_timeout ({params['wait_timeout']:g} s)"
            try:
                action = outcome.actions[machine_id] = cancel_action(client, action["id"], comment)
            except DefenderError as exc:
                outcome.errors[machine_id] = DefenderError(f"action {action['id']} still {action.get('status')} after "
                                                           f"wait_timeout, and cancelling it failed: {exc}", code=exc.code)
                continue
        if action.get("status") not in UNSUCCESSFUL_STATUSES and action.get("status") != "Succeeded":
            outcome.errors[machine_id] = DefenderError(
                f"action {action['id']} still {action.get('status')} after wait_timeout ({params['wait_timeout']:g} s)"
                f"{last_poll_error}", code="WaitTimeout")


def run(module: DefenderModule) -> None:
    inputs = validated_inputs(module)
    outcome = Outcome(module.params["machine_id"] is not None, inputs["machine_ids"])
    module.outcome_hook = outcome.render
    client = module.client
    client.limiter.load_state(module.params["pacing_state"])
    outcome.limiter = client.limiter
    module.require_roles(STOP_AND_QUARANTINE_ROLES, "stop and quarantine files")

    succeeded_since = None
    if inputs["succeeded_within"]:
        succeeded_since = utcnow().replace(microsecond=0) - timedelta(seconds=inputs["succeeded_within"])
    quarantine = Quarantine(client, inputs["sha1"], inputs["comment"])
    existing = quarantine.look_up(inputs["machine_ids"], succeeded_since)
    outcome.actions.update(existing)
    outcome.existing.extend(existing)
    to_submit = [m for m in inputs["machine_ids"] if m not in existing]

    if module.check_mode:
        outcome.created = predict(module, client, inputs, outcome, to_submit)
        if outcome.single and outcome.created:
            module.result["request"] = {"method": "POST", "path": f"/api/machines/{outcome.created[0]}/StopAndQuarantineFile",
                                        "body": {"Comment": inputs["comment"], "Sha1": inputs["sha1"]}}
        finish(module, outcome)

    stopped = submit_all(quarantine, outcome, to_submit)
    if stopped is not None:
        finish(module, outcome, stopped)
    if module.params["wait"] and outcome.actions:
        wait_for(module, client, outcome)
    finish(module, outcome)


def finish(module, outcome: Outcome, stopped: DefenderError | None = None) -> None:
    """exit or fail with every outcome; unsuccessful terminal actions fail the task."""
    for machine_id, action in outcome.actions.items():
        if action.get("status") in UNSUCCESSFUL_STATUSES and machine_id not in outcome.errors:
            outcome.errors[machine_id] = DefenderError(outcome_message(action), code=action.get("status"))
    verb = "would fail" if module.check_mode else "failed"
    if stopped is not None:
        module.fail(stopped, msg=stopped_message(outcome, stopped))
    if outcome.single and outcome.errors:
        error = next(iter(outcome.errors.values()))
        prefix = "Check mode: a real run would fail" if module.check_mode else "Stop and quarantine did not succeed"
        module.fail(error, msg=f"{prefix}: {error}")
    if outcome.errors:
        total = len(outcome.devices)
        module.fail(msg=f"Stop and quarantine {verb} on {len(outcome.errors)} of {total} device(s); see failed_machines")
    module.exit()


def stopped_message(outcome: Outcome, error: DefenderError) -> str:
    """Why sending stopped, what was and was not sent, and when to try again."""
    sent = len(outcome.created) + len(outcome.existing)
    text = (f"Stopped sending: {error}. {len(outcome.not_sent)} device(s) were not sent (not_sent_machine_ids); "
            f"{sent} had an action created or under way")
    retry_after = getattr(error, "retry_after", None)
    if retry_after:
        when = (utcnow() + timedelta(seconds=retry_after)).strftime("%Y-%m-%dT%H:%M:%SZ")
        text += f". Run again after {when} (the service asked to wait {retry_after:g} s)"
    elif error.status in (401, 403) or error.code in ("Forbidden", "DisabledFeature", "MissingPermission"):
        text += ". Fix the cause above, then run again: devices already handled are skipped"
    return text


def main():
    module = DefenderModule(
        argument_spec={
            "machine_id": {"type": "str"},
            "machine_ids": {"type": "list", "elements": "str"},
            "sha1": {"type": "str", "required": True},
            "comment": {"type": "str", "required": True},
            "wait": {"type": "bool", "default": False},
            "wait_timeout": {"type": "float", "default": 600.0},
            "poll_interval": {"type": "float", "default": 10.0},
            "cancel_on_timeout": {"type": "bool", "default": False},
            "skip_if_succeeded_within": {"type": "str", "default": DEFAULT_SUCCEEDED_WITHIN},
            "max_machines": {"type": "int", "default": 1000},
            "pacing_state": {"type": "dict"},
        },
        mutually_exclusive=[("machine_id", "machine_ids")],
        required_one_of=[("machine_id", "machine_ids")],
        supports_check_mode=True,
    )
    module.run(run)


if __name__ == "__main__":
    main()
