#!/usr/bin/python
# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: defender_machine_action_cancel
short_description: Cancel a Defender for Endpoint machine action that has not finished
version_added: 1.0.0
description:
  - Cancels a Microsoft Defender for Endpoint machine action (C(POST /api/machineactions/{id}/cancel)) that is still
    C(Pending) or C(InProgress), with a comment for the audit trail.
  - B(Idempotent.) The action is read first. An action that has already finished (C(Succeeded), C(Failed),
    C(TimeOut) or C(Cancelled)) is not an error; nothing is sent, C(changed=false) and the action is returned.
    The same holds when the action finishes between the read and the cancel request.
  - B(Never sent twice.) When the cancel request fails without a clear answer (server error, timeout), the action
    is read back instead of sending the request again.
author:
  - secops.defender contributors (@secops)
options:
  id:
    description:
      - Id (a GUID) of the machine action, for example RV(secops.defender.defender_stop_quarantine#module:machine_action.id).
    type: str
    required: true
  comment:
    description:
      - Why the action is cancelled, recorded with the action for the audit trail. Must not be empty.
    type: str
    required: true
extends_documentation_fragment:
  - secops.defender.auth
  - secops.defender.auth.pacing
  - secops.defender.attributes
  - secops.defender.attributes.CHECK_MODE_FULL
attributes:
  diff_mode:
    support: full
    description: Shows the action's status before and after (predicted in check mode).
notes:
  - Needs one of the application permissions that can start an action (C(Machine.StopAndQuarantine),
    C(Machine.Isolate), C(Machine.Scan), ...) and C(Machine.Read.All) or C(Machine.ReadWrite.All) to read the
    action. With an application token the module checks this before sending.
  - Check mode reads the action and reports whether a real run would cancel it, without sending the cancel request.
  - The module is part of the C(secops.defender.defender) action group, so C(module_defaults) for
    C(group/secops.defender.defender) apply to it.
seealso:
  - module: secops.defender.defender_machine_action_info
  - module: secops.defender.defender_stop_quarantine
  - name: Cancel machine action API
    description: Microsoft's reference for the call this module makes.
    link: https://learn.microsoft.com/en-us/defender-endpoint/api/cancel-machine-action
"""

EXAMPLES = r"""
- name: Cancel a stop and quarantine action sent by mistake
  secops.defender.defender_machine_action_cancel:
    id: 44cffc15-0e3d-4cbf-96aa-bf76f9b27f5e
    comment: "INC-4711: wrong device, cancelled by the on-call analyst"
  register: cancelled
  delegate_to: localhost

- name: Cancel every action of a device that is still pending
  block:
    - name: Find them
      secops.defender.defender_machine_action_info:
        machine_id: 1e5bc9d7e413ddd7902c2932e418702b84d0cc07
        status: [Pending]
      register: pending

    - name: Cancel them
      secops.defender.defender_machine_action_cancel:
        id: "{{ item.id }}"
        comment: "CHG-1234: device is being reimaged"
      loop: "{{ pending.machine_actions }}"
      loop_control:
        label: "{{ item.id }} {{ item.type }}"
  delegate_to: localhost
"""

RETURN = r"""
machine_action:
  description:
    - The machine action with Defender's fields in snake_case, as Defender returned it after the cancel request,
      or as read when nothing was sent (already finished, or check mode).
    - Same fields as RV(secops.defender.defender_machine_action_info#module:machine_actions).
  returned: success
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
    status:
      description: The status; C(Cancelled) after a successful cancel.
      type: str
      sample: Cancelled
    machine_id:
      description: Device id.
      type: str
    computer_dns_name:
      description: Device name.
      type: str
    requestor:
      description: Who asked for the action.
      type: str
    requestor_comment:
      description: The comment given with the action.
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
    creation_date_time_utc:
      description: When the action was created.
      type: str
    last_update_date_time_utc:
      description: When the status last changed.
      type: str
    related_file_info:
      description: The file of a file action.
      type: dict
previous_status:
  description: The action's status when it was read, before any cancel request.
  returned: success
  type: str
  sample: Pending
request:
  description: In check mode, the request a real run would send.
  returned: in check mode when the action would be cancelled
  type: dict
  sample: {"method": "POST", "path": "/api/machineactions/44cffc15-.../cancel", "body": {"Comment": "INC-4711"}}
diff:
  description: The status before and after, in diff mode.
  returned: in diff mode
  type: dict
  sample: {"before": {"status": "Pending"}, "after": {"status": "Cancelled"}}
api_calls:
  description: HTTP calls made, per API and for tokens.
  returned: always
  type: dict
"""

from ansible_collections.secops.defender.plugins.module_utils._actions import (
    MACHINE_ACTIONS,
    cancel_action,
    get_action,
    is_terminal,
)
from ansible_collections.secops.defender.plugins.module_utils._auth import CANCEL_ROLES, MACHINE_ACTION_READ_ROLES
from ansible_collections.secops.defender.plugins.module_utils._module import DefenderModule, snake_action
from ansible_collections.secops.defender.plugins.module_utils._validate import normalize_action_id, normalize_comment


def validated_inputs(module) -> dict:
    """Every input check, before any request is sent."""
    try:
        return {"id": normalize_action_id(module.params["id"]), "comment": normalize_comment(module.params["comment"])}
    except ValueError as exc:
        module.fail(msg=str(exc))


def cancel_unless_finished(client, action_id: str, comment: str) -> tuple[dict, bool]:
    """(action, changed). cancel_action returns the action as it ended when it finished since we read it."""
    action = cancel_action(client, action_id, comment)
    return action, action.get("status") == "Cancelled"


def run(module: DefenderModule) -> None:
    inputs = validated_inputs(module)
    client = module.client
    module.require_roles(CANCEL_ROLES + MACHINE_ACTION_READ_ROLES, "cancel machine actions")

    action = get_action(client, inputs["id"])
    before = action.get("status")
    would_change = not is_terminal(action)
    module.result.update(previous_status=before, machine_action=snake_action(action))
    if module.check_mode and would_change:
        module.result.update(changed=True, request={"method": "POST", "path": f"{MACHINE_ACTIONS}/{inputs['id']}/cancel",
                                                    "body": {"Comment": inputs["comment"]}})
    elif would_change:
        # An ambiguous failure was read back by cancel_action and found not cancelled: raised, changed stays false.
        action, module.result["changed"] = cancel_unless_finished(client, inputs["id"], inputs["comment"])
        module.result["machine_action"] = snake_action(action)
    after = "Cancelled" if module.check_mode and would_change else action.get("status")
    if module._diff:
        module.result["diff"] = {"before": {"status": before}, "after": {"status": after}}
    module.exit()


def main():
    module = DefenderModule(
        argument_spec={
            "id": {"type": "str", "required": True},
            "comment": {"type": "str", "required": True},
        },
        supports_check_mode=True,
    )
    module.run(run)


if __name__ == "__main__":
    main()
