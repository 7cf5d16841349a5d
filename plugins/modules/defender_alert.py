#!/usr/bin/python
# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: defender_alert
short_description: Update a Defender for Endpoint alert - status, owner, classification, determination, comment
version_added: 2.0.0
description:
  - Updates one Microsoft Defender for Endpoint alert, or a list of alerts, with C(PATCH /api/alerts/{id}), setting
    its status, who it is assigned to, its classification and determination, and adding a comment.
  - B(Idempotent.) Each alert is read first. Only the fields that differ are sent, and a comment is added only when
    the alert does not carry the same text yet, so running the same task twice adds it once (C(changed=false)).
  - B(Never twice.) When an update gets no clear answer (server error, timeout), the alert is read back and only
    what is still missing is sent, so a comment is not added twice.
  - With O(alerts), one task updates many alerts with one token, paced under the API's 100 calls per minute; an alert
    that fails is listed in RV(failed_alerts) and the others are still updated.
author:
  - secops.defender contributors (@secops)
options:
  id:
    description:
      - Id of the alert, for example C(da637472900382838869_1364969609) (C(event.defender.id) in a rulebook).
      - Exactly one of O(id) and O(alerts) is required.
    type: str
  alerts:
    description:
      - Several alerts in one task. Each item is a dict with C(id) and any of C(status), C(assigned_to),
        C(classification), C(determination) and C(comment); a key left out takes the module option of the same name.
    type: list
    elements: dict
  status:
    description: The alert's status.
    type: str
    choices: [New, InProgress, Resolved]
  assigned_to:
    description: Owner of the alert, usually a user principal name. Compared without regard to case.
    type: str
  classification:
    description: Whether the alert is real.
    type: str
    choices: [TruePositive, InformationalExpectedActivity, FalsePositive]
  determination:
    description:
      - What the alert was, in update-alert.md's names. An alert that reads C(ConfirmedUserActivity) or C(Clean)
        (the names alerts.md uses) counts as V(ConfirmedActivity) or V(NotMalicious).
    type: str
    choices: [MultiStagedAttack, MaliciousUserActivity, CompromisedUser, Malware, Phishing, UnwantedSoftware, SecurityTesting,
              LineOfBusinessApplication, ConfirmedActivity, NotMalicious, InsufficientData, Other]
  comment:
    description:
      - A comment to add to the alert, unless the alert already has one with the same text.
      - Must not be empty; up to 4000 characters.
    type: str
extends_documentation_fragment:
  - secops.defender.auth
  - secops.defender.auth.pacing
  - secops.defender.attributes
  - secops.defender.attributes.CHECK_MODE_FULL
attributes:
  diff_mode:
    support: full
    description: Shows the fields that change and the comment added, before and after (predicted in check mode).
notes:
  - Needs the application permission C(Alert.ReadWrite.All) (Microsoft's page prints it as C(Alerts.ReadWrite.All));
    with an application token the module checks this before any request. A delegated token needs C(Alert.ReadWrite)
    and the C(Alerts investigation) role.
  - Defender allows 100 calls per minute and 1,500 per hour for reading alerts and as many for updating them; a list of
    N alerts costs N reads and up to N updates.
  - The module is part of the C(secops.defender.defender) action group, so C(module_defaults) for
    C(group/secops.defender.defender) apply to it.
seealso:
  - module: secops.defender.defender_stop_quarantine
  - name: Update alert API
    description: Microsoft's reference for the call this module makes.
    link: https://learn.microsoft.com/en-us/defender-endpoint/api/update-alert
"""

EXAMPLES = r"""
- name: Record the outcome on the alert and take it
  secops.defender.defender_alert:
    id: da637472900382838869_1364969609
    status: InProgress
    assigned_to: soc-automation@contoso.com
    comment: "StopAndQuarantineFile 8563f95b... on desk-01: Succeeded (action 44cffc15-0e3d-4cbf-96aa-bf76f9b27f5e)"
  delegate_to: localhost

- name: Resolve an alert as malware
  secops.defender.defender_alert:
    id: "{{ alert_id }}"
    status: Resolved
    classification: TruePositive
    determination: Malware
    comment: "INC-4711: file removed, device rebuilt"
  delegate_to: localhost

- name: Comment on many alerts with one token, each with its own comment
  secops.defender.defender_alert:
    status: InProgress
    alerts:
      - id: da637472900382838869_1364969609
        comment: "quarantined on desk-01: Succeeded"
      - id: da637472900382838870_1364969610
        comment: "quarantined on desk-02: Failed (errorHResult -2147024894)"
        status: New
  register: commented
  delegate_to: localhost
"""

RETURN = r"""
alert:
  description: The alert as Defender returned it after the update, or as read when nothing was sent, in snake_case.
  returned: when O(id) is used
  type: dict
  contains:
    id:
      description: Alert id.
      type: str
      sample: da637472900382838869_1364969609
    status:
      description: C(New), C(InProgress) or C(Resolved).
      type: str
    assigned_to:
      description: Owner.
      type: str
    classification:
      description: Classification.
      type: str
    determination:
      description: Determination.
      type: str
    title:
      description: Title.
      type: str
    severity:
      description: Severity.
      type: str
    machine_id:
      description: Device id.
      type: str
    last_update_time:
      description: When the alert last changed.
      type: str
    comments:
      description: The alert's comments (C(comment), C(created_by), C(created_time)).
      type: list
      elements: dict
alerts:
  description: Every alert of O(alerts), in the same order, as after the update (or as read when nothing was sent).
  returned: when O(alerts) is used
  type: list
  elements: dict
request:
  description: The body sent (or, in check mode, that would be sent) to each alert that changed, by alert id.
  returned: always
  type: dict
  sample: {"da637472900382838869_1364969609": {"status": "InProgress", "comment": "quarantined"}}
updated_alert_ids:
  description: Alerts that were (or, in check mode, would be) updated.
  returned: always
  type: list
  elements: str
failed_alerts:
  description: Alerts that could not be read or updated, with C(id), C(status), C(error_code) and C(message).
  returned: when O(alerts) is used
  type: list
  elements: dict
not_sent_alert_ids:
  description: Alerts not tried because an error that every call would meet (permission, throttling) stopped the run.
  returned: when such an error stopped a run of O(alerts)
  type: list
  elements: str
diff:
  description: Before and after of the fields that change, per alert id, in diff mode.
  returned: in diff mode
  type: dict
api_calls:
  description: HTTP calls made, per API and for tokens.
  returned: always
  type: dict
"""

from ansible_collections.secops.defender.plugins.module_utils._alerts import (
    ALERT_WRITE_ROLES,
    CLASSIFICATIONS,
    DETERMINATIONS,
    STATUSES,
    get_alert,
    normalize_alert_id,
    plan_update,
    update_alert,
    validate_desired,
)
from ansible_collections.secops.defender.plugins.module_utils._client import applies_to_all
from ansible_collections.secops.defender.plugins.module_utils._errors import DefenderError
from ansible_collections.secops.defender.plugins.module_utils._module import DefenderModule, snake_entity

# Module option -> API body key.
FIELDS = {"status": "status", "assigned_to": "assignedTo", "classification": "classification",
          "determination": "determination", "comment": "comment"}


def desired_for(module, entry: dict, where: str) -> tuple[str, dict]:
    """(alert id, desired update in API keys) for one alert; module options fill what the entry leaves out."""
    unknown = sorted(set(entry) - set(FIELDS) - {"id"})
    if unknown:
        raise ValueError(f"{where} has unknown key(s) {', '.join(unknown)}; use id, {', '.join(FIELDS)}")
    alert_id = normalize_alert_id(entry.get("id"), f"{where} id")
    desired = {api: entry.get(option, module.params[option]) for option, api in FIELDS.items()}
    try:
        return alert_id, validate_desired(desired)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def validated_inputs(module) -> list[tuple[str, dict]]:
    """Every input check, before any request is sent."""
    try:
        if module.params["alerts"] is None:
            return [desired_for(module, {"id": module.params["id"]}, "id")]
        items = []
        for index, entry in enumerate(module.params["alerts"]):
            items.append(desired_for(module, entry if isinstance(entry, dict) else {}, f"alerts[{index}]"))
        ids = [alert_id for alert_id, _desired in items]
        if len(set(ids)) != len(ids):
            raise ValueError("alerts lists the same id more than once; give each alert once")
        return items
    except ValueError as exc:
        module.fail(msg=str(exc))


def diff_of(before: dict, body: dict) -> dict:
    shown = {key: before.get(key) for key in body if key != "comment"}
    after = {key: value for key, value in body.items() if key != "comment"}
    if "comment" in body:
        after["comment_added"] = body["comment"]
    return {"before": shown, "after": after}


def update_one(module, alert_id: str, desired: dict) -> dict:
    """Read, compare, write (not in check mode); records the outcome in module.result as it goes."""
    client = module.client
    alert = get_alert(client, alert_id)
    body = plan_update(alert, desired)
    if body:
        module.result["request"][alert_id] = body
        module.result["updated_alert_ids"].append(alert_id)
        if module._diff:
            module.result.setdefault("diff", {})[alert_id] = diff_of(alert, body)
        module.result["changed"] = True
        if not module.check_mode:
            alert, _sent = update_alert(client, alert_id, desired, alert=alert)
    return alert


def run(module: DefenderModule) -> None:
    items = validated_inputs(module)
    module.result.update(request={}, updated_alert_ids=[])
    module.require_roles(ALERT_WRITE_ROLES, "update alerts")
    if module.params["alerts"] is None:
        alert_id, desired = items[0]
        module.result["alert"] = snake_entity(update_one(module, alert_id, desired))
        module.exit()
    module.result.update(alerts=[], failed_alerts=[])
    for index, (alert_id, desired) in enumerate(items):
        try:
            module.result["alerts"].append(snake_entity(update_one(module, alert_id, desired)))
        except DefenderError as exc:
            module.result["failed_alerts"].append({"id": alert_id, "status": exc.status, "error_code": exc.code, "message": str(exc)})
            if applies_to_all(exc):  # every further alert would meet it too: stop, say which were not tried
                module.result["not_sent_alert_ids"] = [later for later, _d in items[index + 1:]]
                module.fail(exc)
    failed = module.result["failed_alerts"]
    if failed:
        module.fail(msg=f"{len(failed)} of {len(items)} alert(s) could not be updated (failed_alerts): {failed[0]['message']}")
    module.exit()


def main():
    module = DefenderModule(
        argument_spec={
            "id": {"type": "str"},
            "alerts": {"type": "list", "elements": "dict"},
            "status": {"type": "str", "choices": list(STATUSES)},
            "assigned_to": {"type": "str"},
            "classification": {"type": "str", "choices": list(CLASSIFICATIONS)},
            "determination": {"type": "str", "choices": list(DETERMINATIONS)},
            "comment": {"type": "str"},
        },
        mutually_exclusive=[("id", "alerts")],
        required_one_of=[("id", "alerts")],
        supports_check_mode=True,
    )
    module.run(run)


if __name__ == "__main__":
    main()
