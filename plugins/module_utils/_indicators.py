# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The file indicator domain: read the indicator of a hash, compare it with what is wanted, build the body.

POST /api/indicators creates or updates by value and answers 200 with the entity (post-ti-indicator.md);
an update replaces the indicator, so the body always carries the fields already set. Only the fields
the user gave are compared. Takes a DefenderClient and plain values; knows nothing of Ansible.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

from ._actions import parse_time
from ._validate import odata_datetime, odata_string, parse_duration, parse_time_or_duration

INDICATORS = "/api/indicators"
# "The prior response actions (AlertAndBlock, and Alert) will be supported until January 2022" (ti-indicator.md).
ACTIONS = ("Allowed", "Audit", "Block", "BlockAndRemediate", "Warn")
# Warn is documented for Defender for Cloud Apps (URLs and domains), not for file hashes (reference "Corrections").
FILE_ACTIONS = ("Allowed", "Audit", "Block", "BlockAndRemediate")
WARN_REFUSED = ("action Warn is not available for file indicators: Microsoft documents Warn for Defender for Cloud Apps "
                "(URLs and domains), not for file hashes. Use Audit to alert only, Block or BlockAndRemediate to stop the "
                "file, or Allowed")
# Roles that see every indicator; with only Ti.ReadWrite an app sees the ones it created. (The permission check
# itself, INDICATOR_ROLES, lives with the others in _auth.)
SEES_ALL_ROLES = frozenset(("Ti.ReadWrite.All", "Ti.Read.All"))
SEVERITIES = ("Informational", "Low", "Medium", "High")
# Module option -> body key. Body keys are case-sensitive (common-errors.md).
MANAGED = {
    "action": "action",
    "title": "title",
    "description": "description",
    "severity": "severity",
    "expiration": "expirationTime",
    "recommended_actions": "recommendedActions",
    "rbac_group_names": "rbacGroupNames",
    "generate_alert": "generateAlert",
}
# Set by other tools (portal, other APIs); an update must not drop them.
PRESERVED = ("application", "educateUrl")
IDENTITY = ("indicatorValue", "indicatorType")


@dataclass(frozen=True)
class Expiration:
    """A wanted expiration: a fixed moment, or a duration from now (seconds set)."""

    moment: datetime
    seconds: int | None = None

    def matches(self, current: str | None, now: datetime) -> bool:
        have = parse_time(current)
        if have is None:
            return False
        if self.seconds is None:
            return abs((have - self.moment).total_seconds()) < 1
        # A duration is met by an expiration still ahead and no later than now + duration, so a re-run
        # does not push the expiration back each time.
        return now < have <= now + timedelta(seconds=self.seconds, milliseconds=999)


def parse_expiration(value: str, now: datetime, option: str = "expiration") -> Expiration:
    """A date/time (ISO 8601) or a duration from now (30d, 12h, 90m, seconds); never in the past."""
    try:
        seconds = parse_duration(value, option)
    except ValueError:
        seconds = None
    if seconds is not None:
        return Expiration(now.replace(microsecond=0) + timedelta(seconds=seconds), seconds)
    try:
        moment = parse_time_or_duration(value, option, now)
    except ValueError:
        raise ValueError(f"{option} {value!r} is neither a date (2026-12-31 or 2026-12-31T18:00:00Z) "
                         "nor a duration (30d, 12h, 90m or a number of seconds)") from None
    if moment <= now:
        raise ValueError(f"{option} {value!r} is in the past; Defender would treat the indicator as expired")
    return Expiration(moment.astimezone(timezone.utc))


def sees_only_own(roles: set | None) -> bool:
    """An app token with Ti.ReadWrite but not Ti.ReadWrite.All (nor Ti.Read.All): Defender shows it only the
    indicators it created. A user token (roles None) is judged by the user's rights: not flagged."""
    return roles is not None and "Ti.ReadWrite" in roles and not roles.intersection(SEES_ALL_ROLES)


def visibility_warning(value: str) -> str:
    return (f"The token has Ti.ReadWrite but not Ti.ReadWrite.All: Defender shows this app only the indicators it "
            f"created, so an indicator for {value} made in the portal or by another app cannot be seen (nor compared, "
            "nor deleted) here. Grant Ti.ReadWrite.All (WindowsDefenderATP application permission, with admin consent)")


def unseen_message(value: str) -> str:
    return (f"No indicator for {value} is visible to this app, but one made in the portal or by another app may exist: "
            "the token has Ti.ReadWrite, not Ti.ReadWrite.All, and Defender shows such an app only its own indicators. "
            "Defender's POST /api/indicators submits or updates by value, so writing now could replace that indicator "
            "and lose what it holds. Nothing was written. Grant Ti.ReadWrite.All, or set overwrite_unseen=true to "
            "write anyway")


def replaced_someone_elses(answer: dict | None, app_id: str | None) -> str | None:
    """After a write this app could not check first: a warning when Defender answered with another's indicator."""
    created_by = (answer or {}).get("createdBy")
    if not created_by or not app_id or str(created_by).lower() == str(app_id).lower():
        return None
    return (f"Defender answered with indicator {answer.get('id')} created by {created_by} at "
            f"{answer.get('creationTimeDateTimeUtc')}: an indicator this app could not see was replaced "
            "(overwrite_unseen=true); fields this task did not set were reset")


def find_indicator(client, value: str, indicator_type: str) -> dict | None:
    """The indicator of this hash, if any (the value is matched ignoring case, the type exactly)."""
    for item in client.get_all(INDICATORS, {"$filter": f"indicatorValue eq {odata_string(value)}"}):
        if str(item.get("indicatorValue") or "").lower() == value and item.get("indicatorType") == indicator_type:
            return item
    return None


def _same(key: str, have, want) -> bool:
    if key == "rbacGroupNames":
        return sorted(have or []) == sorted(want)
    if key == "generateAlert":
        return bool(have) == bool(want)
    return (have or "") == (want or "")


def changes(existing: dict | None, wanted: dict, expiration: Expiration | None, now: datetime) -> dict:
    """The body fields that differ from the indicator (all of wanted when there is none)."""
    found = {}
    for key, want in wanted.items():
        if existing is None or not _same(key, existing.get(key), want):
            found[key] = want
    if expiration is not None and (existing is None or not expiration.matches(existing.get("expirationTime"), now)):
        found["expirationTime"] = odata_datetime(expiration.moment)
    return found


def build_body(value: str, indicator_type: str, existing: dict | None, changed: dict) -> dict:
    """The POST body: what the indicator already has (managed and preserved fields), then the changes."""
    body = {"indicatorValue": value, "indicatorType": indicator_type}
    if existing:
        for key in (*MANAGED.values(), *PRESERVED):
            if existing.get(key) is not None:
                body[key] = existing[key]
    body.update(changed)
    return body


def predicted(existing: dict | None, body: dict) -> dict:
    """The indicator as it will be after the POST (for check mode)."""
    return {**(existing or {}), **body}


def save_indicator(client, body: dict) -> dict:
    return client.post(INDICATORS, body)


def delete_indicator(client, indicator_id) -> None:
    client.delete(f"{INDICATORS}/{quote(str(indicator_id), safe='')}")


def diff_view(indicator: dict | None, keys) -> dict:
    """The fields shown in diff mode: the identity and the ones the user manages; times to the second."""
    if not indicator:
        return {}
    view = {}
    for key in (*IDENTITY, *keys):
        value = indicator.get(key)
        if key == "expirationTime" and value:
            moment = parse_time(value)
            value = odata_datetime(moment) if moment else value
        if key == "rbacGroupNames" and value is not None:
            value = sorted(value)
        view[key] = value
    return view
