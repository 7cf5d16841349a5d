#!/usr/bin/python
# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: defender_machine_action_info
short_description: Get Defender for Endpoint machine actions, optionally waiting until they finish
version_added: 1.0.0
description:
  - Reads Microsoft Defender for Endpoint machine actions (response actions such as C(StopAndQuarantineFile) or
    C(Isolate)), either one by O(id) (C(GET /api/machineactions/{id})) or a list (C(GET /api/machineactions)) narrowed by
    O(machine_id), O(type), O(status), O(requestor), O(created_after) and O(sha1).
  - Every page of the list is read (C(@odata.nextLink), else C($top)/C($skip) with O(page_size)).
  - With O(wait_for_terminal=true), waits until every action found is C(Succeeded), C(Failed), C(TimeOut) or
    C(Cancelled). One action is polled by id; several are polled with one list query per poll, so the number of
    calls does not grow with the number of actions. Errors of a poll that may pass (server errors, throttling)
    do not end the wait; the last one is reported if O(wait_timeout) passes.
author:
  - secops.defender contributors (@secops)
options:
  id:
    description:
      - Id (a GUID) of one machine action. Mutually exclusive with O(ids) and the list filters.
      - An unknown id returns an empty RV(machine_actions).
    type: str
  ids:
    description:
      - Ids (GUIDs) of several machine actions, for example those a runbook created. Mutually exclusive with O(id)
        and the list filters.
      - Read with list queries of 15 ids each (C($filter=id eq ... or id eq ...)), not one call per id; a service
        that refuses a filter on C(id) is asked by id instead. Unknown ids are left out of RV(machine_actions).
      - With O(wait_for_terminal=true), exactly these actions are waited for, and no others; another person's
        action on the same file or device does not delay the wait.
    type: list
    elements: str
    version_added: 2.0.0
  machine_id:
    description:
      - Keep only actions on this device (40 hexadecimal characters).
    type: str
  type:
    description:
      - Keep only actions of this type.
    type: str
    choices: [RunAntiVirusScan, Offboard, LiveResponse, CollectInvestigationPackage, Isolate, Unisolate,
              StopAndQuarantineFile, RestrictCodeExecution, UnrestrictCodeExecution]
  status:
    description:
      - Keep only actions in one of these statuses.
    type: list
    elements: str
    choices: [Pending, InProgress, Succeeded, Failed, TimeOut, Cancelled]
  requestor:
    description:
      - Keep only actions requested by this identity (a user principal name, or the app id for applications).
    type: str
  created_after:
    description:
      - Keep only actions created at or after this time, an ISO 8601 date or date and time (V(2026-11-01),
        V(2026-11-01T08:00:00Z)) or a duration meaning that long ago (V(2h), V(30m), V(7d)).
    type: str
  sha1:
    description:
      - Keep only actions on this file (the action's C(relatedFileInfo.fileIdentifier)).
      - Defender cannot filter on the file, so the actions matching the other filters are read and this one is
        applied here; combine it with O(machine_id), O(type) or O(created_after) to keep the download small.
    type: str
  page_size:
    description:
      - Actions asked for per call (C($top)), then C($skip) to the next page, when Defender does not send
        C(@odata.nextLink). Between 1 and 10000. When not set, Defender's own page size applies.
    type: int
  wait_for_terminal:
    description:
      - Wait until every action found has a final status. The task fails if O(wait_timeout) passes first, and
        still returns the actions and RV(timed_out_action_ids).
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait with O(wait_for_terminal=true).
    type: float
    default: 600
  poll_interval:
    description:
      - Seconds between polls with O(wait_for_terminal=true).
      - Must be at least 60 / O(calls_per_minute) seconds so that polling alone cannot exceed the rate limit.
    type: float
    default: 10
extends_documentation_fragment:
  - secops.defender.auth
  - secops.defender.auth.pacing
  - secops.defender.attributes
  - secops.defender.attributes.INFO_MODULE
notes:
  - Needs the application permission C(Machine.Read.All) or C(Machine.ReadWrite.All).
  - Live response actions started from the portal's device page are not in this API (Microsoft's note).
  - The module is part of the C(secops.defender.defender) action group, so C(module_defaults) for
    C(group/secops.defender.defender) apply to it.
seealso:
  - module: secops.defender.defender_stop_quarantine
  - module: secops.defender.defender_machine_action_cancel
  - name: List machine actions API
    description: Microsoft's reference for C(GET /api/machineactions) and its filters.
    link: https://learn.microsoft.com/en-us/defender-endpoint/api/get-machineactions-collection
"""

EXAMPLES = r"""
- name: One action by id
  secops.defender.defender_machine_action_info:
    id: 44cffc15-0e3d-4cbf-96aa-bf76f9b27f5e
  register: one
  delegate_to: localhost

- name: Stop and quarantine actions for a file in the last two hours that are still under way
  secops.defender.defender_machine_action_info:
    type: StopAndQuarantineFile
    sha1: 87662bc3d60e4200ceaf7aae249d1c343f4b83c9
    status: [Pending, InProgress]
    created_after: 2h
  register: running
  delegate_to: localhost

- name: Wait up to 30 minutes until the actions of a device have finished
  secops.defender.defender_machine_action_info:
    machine_id: 1e5bc9d7e413ddd7902c2932e418702b84d0cc07
    status: [Pending, InProgress]
    wait_for_terminal: true
    wait_timeout: 1800
    poll_interval: 30
  register: done
  delegate_to: localhost

- name: Show the outcome
  ansible.builtin.debug:
    msg: "{{ done.machine_actions | map(attribute='status') | list }}"
"""

RETURN = r"""
machine_actions:
  description:
    - The machine actions found (after waiting, their last status), newest first as Defender lists them, with
      Defender's fields in snake_case.
  returned: always
  type: list
  elements: dict
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
      description: The comment given with the action.
      type: str
    status:
      description: One of C(Pending), C(InProgress), C(Succeeded), C(Failed), C(TimeOut), C(Cancelled).
      type: str
      sample: Succeeded
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
      description: Action scope, where the type has one.
      type: str
    external_id:
      description: Correlation id given by the requestor.
      type: str
    request_source:
      description: Where the request came from, C(PublicApi) for the API.
      type: str
    related_file_info:
      description: The file of a file action, C(file_identifier) and C(file_identifier_type).
      type: dict
    commands:
      description: Live response commands.
      type: list
    troubleshoot_info:
      description: Troubleshooting information.
      type: str
not_found_ids:
  description:
    - With O(ids), the ids of actions Defender did not list. With O(wait_for_terminal=true) each was polled for
      60 seconds first, as the listing can lag a new action.
  returned: when O(ids) is used
  type: list
  elements: str
  version_added: 2.0.0
timed_out_action_ids:
  description: With O(wait_for_terminal=true), the actions still not finished when O(wait_timeout) passed.
  returned: when O(wait_for_terminal=true)
  type: list
  elements: str
elapsed:
  description: Seconds spent waiting.
  returned: when O(wait_for_terminal=true)
  type: float
api_calls:
  description: HTTP calls made, per API and for tokens.
  returned: always
  type: dict
"""

from ansible_collections.secops.defender.plugins.module_utils._actions import (
    ActionWatcher,
    action_filter,
    actions_by_ids,
    file_identifier,
    get_action,
    list_actions,
)
from ansible_collections.secops.defender.plugins.module_utils._auth import MACHINE_ACTION_READ_ROLES
from ansible_collections.secops.defender.plugins.module_utils._client import MAX_PAGE_SIZE
from ansible_collections.secops.defender.plugins.module_utils._errors import DefenderError
from ansible_collections.secops.defender.plugins.module_utils._module import DefenderModule, snake_action
from ansible_collections.secops.defender.plugins.module_utils._validate import (
    normalize_action_id,
    normalize_machine_id,
    normalize_sha1,
    odata_string,
    parse_time_or_duration,
    validate_poll_interval,
    validate_positive,
)

ACTION_TYPES = ("RunAntiVirusScan", "Offboard", "LiveResponse", "CollectInvestigationPackage", "Isolate", "Unisolate",
                "StopAndQuarantineFile", "RestrictCodeExecution", "UnrestrictCodeExecution")
STATUSES = ("Pending", "InProgress", "Succeeded", "Failed", "TimeOut", "Cancelled")
LIST_FILTERS = ("machine_id", "type", "status", "requestor", "created_after", "sha1")


def validated_inputs(module) -> dict:
    """Every input check, before any request is sent."""
    params = module.params
    inputs = {}
    try:
        if params["id"] is not None:
            inputs["id"] = normalize_action_id(params["id"])
        if params["ids"] is not None:
            if not params["ids"]:
                raise ValueError("ids is empty; give at least one machine action id")
            inputs["ids"] = list(dict.fromkeys(normalize_action_id(i, "ids") for i in params["ids"]))
        if params["machine_id"] is not None:
            inputs["machine_id"] = normalize_machine_id(params["machine_id"])
        if params["sha1"] is not None:
            inputs["sha1"] = normalize_sha1(params["sha1"])
        if params["created_after"] is not None:
            try:
                inputs["created_since"] = parse_time_or_duration(params["created_after"], "created_after")
            except ValueError:
                raise ValueError(f"created_after {params['created_after']!r} is neither a date (2026-11-01 or "
                                 "2026-11-01T08:00:00Z) nor a duration (2h, 30m, 7d or a number of seconds)") from None
        if params["requestor"] is not None:
            odata_string(params["requestor"])  # no control characters
            if not params["requestor"].strip():
                raise ValueError("requestor is empty")
        if params["page_size"] is not None and not 1 <= params["page_size"] <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, got {params['page_size']}")
        validate_positive(params["wait_timeout"], "wait_timeout")
        if params["wait_for_terminal"]:
            validate_poll_interval(params["poll_interval"], params["calls_per_minute"])
    except ValueError as exc:
        module.fail(msg=str(exc))
    return inputs


def find_actions(module, client, inputs: dict) -> list:
    params = module.params
    if "ids" in inputs:
        return actions_by_ids(client, inputs["ids"])
    if "id" in inputs:
        try:
            return [get_action(client, inputs["id"])]
        except DefenderError as exc:
            if exc.status == 404:
                return []
            raise
    flt = action_filter(params["type"], statuses=tuple(dict.fromkeys(params["status"] or ())),
                        machine_id=inputs.get("machine_id"), created_since=inputs.get("created_since"),
                        requestor=params["requestor"])
    actions = list_actions(client, flt, params["page_size"])
    if "sha1" in inputs:
        # relatedFileInfo is not filterable (get-machineactions-collection.md): matched here.
        actions = [a for a in actions if file_identifier(a) == inputs["sha1"]]
    return actions


def wait_for_terminal(module, client, actions: list) -> list:
    """Poll until each action is terminal; fails with the actions when wait_timeout passes first."""
    params = module.params
    types = {a.get("type") for a in actions if a.get("type")}
    watcher = ActionWatcher(client, {str(a.get("id")): a for a in actions},
                            action_type=types.pop() if len(types) == 1 else None, by_ids=bool(params["ids"]))
    try:
        timed_out = watcher.wait(params["wait_timeout"], params["poll_interval"])
    finally:
        module.result["machine_actions"] = [snake_action(a) for a in watcher.actions.values() if a.get("status")]
        module.result["elapsed"] = round(watcher.elapsed, 3)
    module.result["timed_out_action_ids"] = timed_out
    if params["ids"]:
        module.result["not_found_ids"] = [watcher.actions[key]["id"] for key in watcher.unseen]
    actions = [a for key, a in watcher.actions.items() if key not in watcher.unseen]
    if timed_out:
        last = f"; the last poll failed: {watcher.poll_errors[-1]}" if watcher.poll_errors else ""
        module.fail(msg=f"{len(timed_out)} of {len(actions)} action(s) still not finished after wait_timeout "
                        f"({params['wait_timeout']:g} s): {', '.join(timed_out)}{last}")
    return actions


def run(module: DefenderModule) -> None:
    inputs = validated_inputs(module)
    client = module.client
    module.require_roles(MACHINE_ACTION_READ_ROLES, "read machine actions")
    actions = find_actions(module, client, inputs)
    module.result["machine_actions"] = [snake_action(a) for a in actions]
    if "ids" in inputs:
        seen = {str(a.get("id")).lower() for a in actions}
        missing = [i for i in inputs["ids"] if i not in seen]
        module.result["not_found_ids"] = missing
        if module.params["wait_for_terminal"]:
            # The listing can lag a new action: an id it does not show yet is polled for a while, not dropped.
            actions = actions + [{"id": i} for i in missing]
    if module.params["wait_for_terminal"]:
        actions = wait_for_terminal(module, client, actions)
    module.exit(machine_actions=[snake_action(a) for a in actions])


def main():
    module = DefenderModule(
        argument_spec={
            "id": {"type": "str"},
            "ids": {"type": "list", "elements": "str"},
            "machine_id": {"type": "str"},
            "type": {"type": "str", "choices": list(ACTION_TYPES)},
            "status": {"type": "list", "elements": "str", "choices": list(STATUSES)},
            "requestor": {"type": "str"},
            "created_after": {"type": "str"},
            "sha1": {"type": "str"},
            "page_size": {"type": "int"},
            "wait_for_terminal": {"type": "bool", "default": False},
            "wait_timeout": {"type": "float", "default": 600.0},
            "poll_interval": {"type": "float", "default": 10.0},
        },
        mutually_exclusive=[("id", "ids")] + [(key, name) for key in ("id", "ids") for name in LIST_FILTERS],
        supports_check_mode=True,
    )
    module.run(run)


if __name__ == "__main__":
    main()
