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
  - B(Idempotent.) Before sending, the module looks for a C(Pending) or C(InProgress) action for the same device
    and file (and, with O(skip_if_succeeded_within), a recent C(Succeeded) one). If there is one, nothing is sent,
    C(changed=false) and that action is returned. A concurrent duplicate answered with
    C(400 ActiveRequestAlreadyExists) is handled the same way.
  - B(Never sent twice.) When the request fails without a clear answer (server error, timeout, dropped connection),
    the device's actions are read first and the request is sent again only if no action was created.
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
    type: str
  max_machines:
    description:
      - Upper bound on the length of O(machine_ids), checked before any request. The portal stops at 1000 devices;
        for a tenant-wide response prefer a C(BlockAndRemediate) file indicator.
    type: int
    default: 1000
extends_documentation_fragment:
  - secops.defender.auth
  - secops.defender.attributes
  - secops.defender.attributes.CHECK_MODE_FULL
  - secops.defender.attributes.DIFF_NONE
notes:
  - Check mode runs every read (token, permission preflight, lookup of actions under way) and sends no action;
    C(changed) is what a real run would report.
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
  description: Fleet mode, the devices that failed, with the reason.
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
  sample:
    - machine_id: 0000000000000000000000000000000000000000
      code: ResourceNotFound
      message: "Machine 0000000000000000000000000000000000000000 was not found (HTTP 404, request id 43f4cb08-...)"
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
ansible_facts:
  description: Facts set for later tasks on the same host.
  returned: when O(machine_id) is used and an action exists or was created
  type: dict
  contains:
    defender_machine_action:
      description: Same as RV(machine_action).
      type: dict
"""

import time
from datetime import timedelta

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.secops.defender.plugins.module_utils._actions import (
    ActionWatcher,
    UNSUCCESSFUL_STATUSES,
    cancel_action,
    find_existing,
    outcome_message,
    submit_stop_and_quarantine,
    utcnow,
)
from ansible_collections.secops.defender.plugins.module_utils._auth import STOP_AND_QUARANTINE_ROLES
from ansible_collections.secops.defender.plugins.module_utils._errors import DefenderError
from ansible_collections.secops.defender.plugins.module_utils._module import (
    client_from_module,
    defender_argument_spec,
    fail_with_error,
    require_roles,
    snake_action,
)
from ansible_collections.secops.defender.plugins.module_utils._validate import (
    normalize_comment,
    normalize_machine_id,
    normalize_machine_ids,
    normalize_sha1,
    parse_duration,
    validate_poll_interval,
    validate_positive,
)


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
        inputs["succeeded_within"] = (parse_duration(params["skip_if_succeeded_within"], "skip_if_succeeded_within")
                                      if params["skip_if_succeeded_within"] else None)
        validate_positive(params["wait_timeout"], "wait_timeout")
        validate_poll_interval(params["poll_interval"], params["calls_per_minute"])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    return inputs


def submit_all(module, client, inputs: dict, to_submit: list) -> tuple[dict, list, dict]:
    """POST for each device (paced by the client): (actions by device, devices with a new action, errors)."""
    actions, new, errors = {}, [], {}
    for machine_id in to_submit:
        try:
            actions[machine_id], created = submit_stop_and_quarantine(client, machine_id, inputs["sha1"], inputs["comment"])
        except DefenderError as exc:
            if module.params["machine_id"] is not None:
                fail_with_error(module, exc, changed=False, api_calls=dict(client.stats))
            errors[machine_id] = exc
            continue
        if created:
            new.append(machine_id)
    return actions, new, errors


def wait_for(module, client, actions: dict, result: dict) -> tuple[dict, list]:
    params = module.params
    watcher = ActionWatcher(client, actions)
    started = time.monotonic()
    try:
        timed_out = watcher.wait(params["wait_timeout"], params["poll_interval"])
        if timed_out and params["cancel_on_timeout"]:
            for machine_id in timed_out:
                comment = f"Cancelled by secops.defender: not finished within wait_timeout ({params['wait_timeout']:g} s)"
                watcher.actions[machine_id] = cancel_action(client, watcher.actions[machine_id]["id"], comment)
    except DefenderError as exc:
        fail_with_error(module, exc, changed=True, **result)
    result["elapsed"] = round(time.monotonic() - started, 3)
    result["timed_out_machine_ids"] = timed_out
    if params["machine_id"] is not None:
        result["status_history"] = watcher.history[params["machine_id"].lower()]
    return watcher.actions, timed_out


def main():
    module = AnsibleModule(
        argument_spec=defender_argument_spec(
            machine_id={"type": "str"},
            machine_ids={"type": "list", "elements": "str"},
            sha1={"type": "str", "required": True},
            comment={"type": "str", "required": True},
            wait={"type": "bool", "default": False},
            wait_timeout={"type": "float", "default": 600.0},
            poll_interval={"type": "float", "default": 10.0},
            cancel_on_timeout={"type": "bool", "default": False},
            skip_if_succeeded_within={"type": "str"},
            max_machines={"type": "int", "default": 1000},
        ),
        mutually_exclusive=[("machine_id", "machine_ids")],
        required_one_of=[("machine_id", "machine_ids")],
        supports_check_mode=True,
    )
    inputs = validated_inputs(module)
    single = module.params["machine_id"] is not None
    client = client_from_module(module)
    require_roles(module, client, STOP_AND_QUARANTINE_ROLES, "stop and quarantine files")

    succeeded_since = None
    if inputs["succeeded_within"]:
        succeeded_since = utcnow().replace(microsecond=0) - timedelta(seconds=inputs["succeeded_within"])
    try:
        existing = find_existing(client, inputs["machine_ids"], inputs["sha1"], succeeded_since)
    except DefenderError as exc:
        fail_with_error(module, exc, changed=False, api_calls=dict(client.stats))
    to_submit = [m for m in inputs["machine_ids"] if m not in existing]

    if module.check_mode:
        result = {"changed": bool(to_submit), "created_machine_ids": to_submit, "existing_machine_ids": sorted(existing),
                  "auth_method": client.tokens.method}
        if single and to_submit:
            result["request"] = {"method": "POST", "path": f"/api/machines/{to_submit[0]}/StopAndQuarantineFile",
                                 "body": {"Comment": inputs["comment"], "Sha1": inputs["sha1"]}}
        finish(module, client, result, existing, {}, single)

    submitted, new, errors = submit_all(module, client, inputs, to_submit)
    result = {"changed": bool(new), "created_machine_ids": new,
              "existing_machine_ids": sorted(set(existing) | (set(submitted) - set(new))), "auth_method": client.tokens.method}
    actions = {**existing, **submitted}
    if module.params["wait"] and actions:
        actions, timed_out = wait_for(module, client, actions, result)
        for machine_id in timed_out:
            if actions[machine_id].get("status") not in UNSUCCESSFUL_STATUSES:
                errors[machine_id] = DefenderError(
                    f"action {actions[machine_id]['id']} still {actions[machine_id].get('status')} after "
                    f"wait_timeout ({module.params['wait_timeout']:g} s)", code="WaitTimeout")
    finish(module, client, result, actions, errors, single)


def finish(module, client, result: dict, actions: dict, errors: dict, single: bool) -> None:
    """exit_json or fail_json with every outcome; unsuccessful terminal actions fail the task."""
    for machine_id, action in actions.items():
        if action.get("status") in UNSUCCESSFUL_STATUSES and machine_id not in errors:
            errors[machine_id] = DefenderError(outcome_message(action), code=action.get("status"))
    result["api_calls"] = dict(client.stats)
    if single:
        action = snake_action(next(iter(actions.values()), None))
        if action:
            result["machine_action"] = action
            result["ansible_facts"] = {"defender_machine_action": action}
        if errors:
            error = next(iter(errors.values()))
            module.fail_json(msg=f"Stop and quarantine did not succeed: {error}", error_code=error.code, **result)
        module.exit_json(**result)
    result["machine_actions"] = [snake_action(a) for a in actions.values()]
    result["failed_machines"] = [{"machine_id": m, "code": e.code, "message": str(e)} for m, e in errors.items()]
    if errors:
        total = len(set(actions) | set(errors))
        module.fail_json(msg=f"Stop and quarantine failed on {len(errors)} of {total} device(s); see failed_machines", **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
