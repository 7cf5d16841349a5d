#!/usr/bin/python
# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: defender_indicator
short_description: Manage Defender for Endpoint file indicators (block, audit, warn or allow a file hash)
version_added: 1.0.0
description:
  - Creates, updates or deletes a Microsoft Defender for Endpoint file indicator for a SHA-1, SHA-256 or MD5 hash
    (C(POST /api/indicators), C(DELETE /api/indicators/{id})). An indicator applies to every device of the tenant
    (or of O(rbac_group_names)), including devices that have not seen the file yet.
  - For a SHA-256 or an MD5, or for more devices than M(secops.defender.defender_stop_quarantine) should address
    one by one, a C(BlockAndRemediate) indicator is the tenant-wide way to stop a file.
  - B(Idempotent.) The indicator of the hash is read first (C(GET /api/indicators)) and compared with the options
    that are set; options left out are not compared and are kept as they are. The indicator is written only when
    something differs, and C(changed) says so.
  - An update sends the whole indicator, the fields already set included, because Defender replaces the indicator
    with the body it receives.
  - B(What the app can see.) With C(Ti.ReadWrite.All) the app sees every indicator. With only C(Ti.ReadWrite),
    Defender shows it only the indicators it created, so one made in the portal or by another app is invisible, and
    a POST (which submits I(or updates) by value) would replace it blindly. The module then warns, and refuses to
    write when it sees no indicator for the hash unless O(overwrite_unseen=true).
author:
  - secops.defender contributors (@secops)
options:
  state:
    description:
      - V(present) creates the indicator or updates it to match the options; V(absent) deletes it if it exists.
    type: str
    choices: [present, absent]
    default: present
  indicator_value:
    description:
      - The file hash. Its kind is inferred from the length (40 hex digits C(FileSha1), 64 C(FileSha256),
        32 C(FileMd5)) and checked before any request. Upper case is accepted and lowered.
    type: str
    required: true
  action:
    description:
      - What Defender does when it sees the file. Required with O(state=present).
      - V(Audit) needs O(generate_alert=true) (Defender's rule, checked before any request).
    type: str
    choices:
      Allowed: The file is allowed (for example a false positive).
      Audit: An alert only; needs O(generate_alert=true).
      Block: The file is blocked from running.
      BlockAndRemediate: The file is blocked and remediated (quarantined) where it is found.
      Warn: >-
        Refused before any request since 2.0.0: Microsoft documents C(Warn) for Defender for Cloud Apps (URLs and
        domains), not for file hashes.
  title:
    description:
      - Indicator title (shown in alerts). Required to create an indicator.
    type: str
  description:
    description:
      - Indicator description. Required to create an indicator.
    type: str
  severity:
    description:
      - Severity of the alerts the indicator raises.
    type: str
    choices: [Informational, Low, Medium, High]
  expiration:
    description:
      - When the indicator expires, an ISO 8601 date or date and time in UTC unless an offset is given
        (V(2026-12-31), V(2026-12-31T18:00:00Z)), or a duration from now (V(30d), V(12h), V(90m), or seconds).
      - A date is compared to the second. A duration is met by an expiration that is still ahead and no later than
        now plus the duration, so re-running a play does not push the expiration back; a later or past expiration,
        or none, is set to now plus the duration.
      - A date in the past is refused.
    type: str
  recommended_actions:
    description:
      - Recommended actions shown with the alerts.
    type: str
  rbac_group_names:
    description:
      - Device group names the indicator applies to. When not set on creation, it applies to every device.
      - Compared as a set (order does not matter). An empty list applies the indicator to every device.
    type: list
    elements: str
  generate_alert:
    description:
      - Whether Defender raises an alert when it sees the file. Must be V(true) with O(action=Audit).
    type: bool
  overwrite_unseen:
    description:
      - Only matters for a token with C(Ti.ReadWrite) but not C(Ti.ReadWrite.All). Such an app cannot see an
        indicator for the hash made in the portal or by another app, and Defender's POST would replace it with this
        task's fields, resetting the others. With V(false) the module writes nothing when it sees no indicator for the
        hash and fails with C(error_code=IndicatorNotVisible); with V(true) it writes anyway (and warns if Defender's
        answer shows that another's indicator was replaced).
      - Granting C(Ti.ReadWrite.All) is the better fix.
    type: bool
    default: false
    version_added: 2.0.0
extends_documentation_fragment:
  - secops.defender.auth
  - secops.defender.auth.pacing
  - secops.defender.attributes
  - secops.defender.attributes.CHECK_MODE_FULL
attributes:
  diff_mode:
    support: full
    description: Shows the indicator's value, type and the fields set by the options, before and after.
notes:
  - Needs the application permission C(Ti.ReadWrite.All) (Microsoft's page for this call now lists only it for
    applications). C(Ti.ReadWrite) is still accepted but sees only the app's own indicators (see O(overwrite_unseen)).
    With an application token the module checks this before any request.
  - Defender allows 15,000 active indicators per tenant; above that a new indicator is refused with C(400).
  - Check mode reads the indicator and predicts exactly what a real run would change, without writing.
  - The module is part of the C(secops.defender.defender) action group, so C(module_defaults) for
    C(group/secops.defender.defender) apply to it.
seealso:
  - module: secops.defender.defender_stop_quarantine
  - name: Submit or update indicator API
    description: Microsoft's reference for C(POST /api/indicators).
    link: https://learn.microsoft.com/en-us/defender-endpoint/api/post-ti-indicator
  - name: Indicator resource type
    description: The fields of an indicator and the supported actions.
    link: https://learn.microsoft.com/en-us/defender-endpoint/api/ti-indicator
"""

EXAMPLES = r"""
- name: Block a SHA-256 on every device and remove it where it is found, for 30 days
  secops.defender.defender_indicator:
    indicator_value: 3395856ce81f2b7382dee72602f798b642f14140a2b8d8b5a7d5fd1d1e0bb8f4
    action: BlockAndRemediate
    title: "INC-4711 dropper"
    description: "Dropper from alert da637292525687361436"
    severity: High
    expiration: 30d
    generate_alert: true
  delegate_to: localhost

- name: Audit a file on the servers' device group only
  secops.defender.defender_indicator:
    indicator_value: 87662bc3d60e4200ceaf7aae249d1c343f4b83c9
    action: Audit
    generate_alert: true
    title: "Watch tool.exe"
    description: "Admin tool seen on servers; audit before deciding"
    rbac_group_names: [Servers]
  delegate_to: localhost

- name: Allow an MD5 (a false positive), showing what changes
  secops.defender.defender_indicator:
    indicator_value: 5d41402abc4b2a76b9719d911017c592
    action: Allowed
    title: "FP-12"
    description: "Line-of-business tool, false positive"
  diff: true
  delegate_to: localhost

- name: Remove the indicator when the incident is closed
  secops.defender.defender_indicator:
    indicator_value: 3395856ce81f2b7382dee72602f798b642f14140a2b8d8b5a7d5fd1d1e0bb8f4
    state: absent
  delegate_to: localhost
"""

RETURN = r"""
indicator:
  description:
    - With O(state=present), the indicator as Defender returned it after the write, or as read when nothing changed;
      in check mode, as it would be after the write (without the fields Defender sets, such as C(id), on creation).
    - With O(state=absent), the indicator that was (or in check mode would be) deleted.
    - Defender's fields in snake_case; the main ones are listed.
  returned: when the indicator exists, or is or would be created
  type: dict
  contains:
    id:
      description: Indicator id.
      type: str
      sample: "995"
    indicator_value:
      description: The hash.
      type: str
    indicator_type:
      description: C(FileSha1), C(FileSha256) or C(FileMd5).
      type: str
    action:
      description: The action.
      type: str
      sample: BlockAndRemediate
    title:
      description: Title.
      type: str
    description:
      description: Description.
      type: str
    severity:
      description: Severity.
      type: str
    expiration_time:
      description: When the indicator expires (null for never).
      type: str
    recommended_actions:
      description: Recommended actions.
      type: str
    rbac_group_names:
      description: Device group names it applies to.
      type: list
    generate_alert:
      description: Whether it raises alerts.
      type: bool
    creation_time_date_time_utc:
      description: When it was created.
      type: str
    created_by:
      description: Who created it.
      type: str
    last_update_time:
      description: When it was last updated.
      type: str
changed_fields:
  description: The options whose value differed (and were, or in check mode would be, written), as body keys in snake_case.
  returned: with O(state=present)
  type: list
  elements: str
  sample: [action, expiration_time]
diff:
  description: The indicator's value, type and managed fields before and after, in diff mode.
  returned: in diff mode
  type: dict
  contains:
    before:
      description: Before the change (empty when the indicator did not exist).
      type: dict
    after:
      description: After the change (empty when it was deleted).
      type: dict
api_calls:
  description: HTTP calls made, per API and for tokens.
  returned: always
  type: dict
"""

from datetime import datetime, timezone

from ansible_collections.secops.defender.plugins.module_utils._auth import INDICATOR_ROLES, token_claims, token_roles
from ansible_collections.secops.defender.plugins.module_utils._indicators import (
    ACTIONS,
    MANAGED,
    SEVERITIES,
    WARN_REFUSED,
    build_body,
    changes,
    delete_indicator,
    diff_view,
    find_indicator,
    parse_expiration,
    predicted,
    replaced_someone_elses,
    save_indicator,
    sees_only_own,
    unseen_message,
    visibility_warning,
)
from ansible_collections.secops.defender.plugins.module_utils._module import DefenderModule, snake_entity
from ansible_collections.secops.defender.plugins.module_utils._validate import normalize_file_hash


def validated_inputs(module, now: datetime) -> dict:
    """Every input check, before any request is sent; returns the value, its type and the wanted body fields."""
    params = module.params
    try:
        value, indicator_type = normalize_file_hash(params["indicator_value"])
        wanted = {}
        for option in ("action", "title", "description", "severity", "recommended_actions", "generate_alert"):
            if params[option] is None:
                continue
            if isinstance(params[option], str) and not params[option].strip():
                raise ValueError(f"{option} must not be empty; leave it out to keep the indicator's current value")
            wanted[MANAGED[option]] = params[option].strip() if isinstance(params[option], str) else params[option]
        if params["rbac_group_names"] is not None:
            if any(not name.strip() for name in params["rbac_group_names"]):
                raise ValueError("rbac_group_names holds an empty name")
            wanted["rbacGroupNames"] = [name.strip() for name in params["rbac_group_names"]]
        if params["action"] == "Warn":
            raise ValueError(WARN_REFUSED)
        if params["action"] == "Audit" and params["generate_alert"] is not True:
            raise ValueError("action Audit needs generate_alert: true (Defender refuses an Audit indicator without alerts)")
        expiration = parse_expiration(params["expiration"], now) if params["expiration"] is not None else None
    except ValueError as exc:
        module.fail(msg=str(exc))
    return {"value": value, "type": indicator_type, "wanted": wanted, "expiration": expiration}


def ensure_present(module, client, inputs: dict, existing: dict | None, now: datetime, blind: bool) -> dict:
    """blind: the app cannot see other sources' indicators and sees none for the hash (see overwrite_unseen)."""
    changed = changes(existing, inputs["wanted"], inputs["expiration"], now)
    if blind and not module.params["overwrite_unseen"]:
        module.fail(msg=unseen_message(inputs["value"]), error_code="IndicatorNotVisible")
    if existing is None and not ({"title", "description"} <= set(changed)):
        module.fail(msg=f"No indicator exists for {inputs['value']}; title and description are required to create one")
    result = {"changed": bool(changed), "changed_fields": sorted(snake_entity(changed) or {})}
    after = existing
    if changed:
        body = build_body(inputs["value"], inputs["type"], existing, changed)
        after = predicted(existing, body) if module.check_mode else (save_indicator(client, body) or predicted(existing, body))
        claims = token_claims(client.token()) or {}
        replaced = blind and not module.check_mode and replaced_someone_elses(after, claims.get("appid") or claims.get("azp"))
        if replaced:
            module.warn(replaced)
    result["indicator"] = snake_entity(after)
    if module._diff:
        keys = [*inputs["wanted"], *(["expirationTime"] if inputs["expiration"] else [])]
        result["diff"] = {"before": snake_entity(diff_view(existing, keys)) or {},
                          "after": snake_entity(diff_view(after, keys)) or {}}
    return result


def ensure_absent(module, client, inputs: dict, existing: dict | None) -> dict:
    result = {"changed": existing is not None}
    if existing is not None:
        if not module.check_mode:
            delete_indicator(client, existing["id"])
        result["indicator"] = snake_entity(existing)
    if module._diff:
        keys = [key for key in MANAGED.values() if existing and key in existing]
        result["diff"] = {"before": snake_entity(diff_view(existing, keys)) or {}, "after": {}}
    return result


def run(module: DefenderModule) -> None:
    now = datetime.now(timezone.utc)
    inputs = validated_inputs(module, now)
    client = module.client
    module.require_roles(INDICATOR_ROLES, "manage indicators")
    own_only = sees_only_own(token_roles(client.token()))
    if own_only:
        module.warn(visibility_warning(inputs["value"]))
    existing = find_indicator(client, inputs["value"], inputs["type"])
    if module.params["state"] == "present":
        result = ensure_present(module, client, inputs, existing, now, blind=own_only and existing is None)
    else:
        result = ensure_absent(module, client, inputs, existing)
    module.exit(**result)


def main():
    module = DefenderModule(
        argument_spec={
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "indicator_value": {"type": "str", "required": True},
            "action": {"type": "str", "choices": list(ACTIONS)},
            "title": {"type": "str"},
            "description": {"type": "str"},
            "severity": {"type": "str", "choices": list(SEVERITIES)},
            "expiration": {"type": "str"},
            "recommended_actions": {"type": "str"},
            "rbac_group_names": {"type": "list", "elements": "str"},
            "generate_alert": {"type": "bool"},
            "overwrite_unseen": {"type": "bool", "default": False},
        },
        required_if=[("state", "present", ("action",))],
        supports_check_mode=True,
    )
    module.run(run)


if __name__ == "__main__":
    main()
