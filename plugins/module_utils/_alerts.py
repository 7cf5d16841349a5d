# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The alerts domain: list, read and update Defender for Endpoint alerts; where an alert keeps its files.

Plain values only (no Ansible): the defender_alert module and the secops.defender.alerts event source use it.
Facts (MicrosoftDocs/defender-docs): alerts.md (entity and evidence), get-alerts.md ($filter on lastUpdateTime,
$expand=evidence, 100 calls per minute), update-alert.md (PATCH body, values, 200 with the alert).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from ._auth import AnyOf
from ._client import AmbiguousRequestError
from ._validate import normalize_comment, odata_datetime

ALERTS = "/api/alerts"

# get-alerts.md: Alert.Read.All or Alert.ReadWrite.All; update-alert.md prints "Alerts.ReadWrite.All", a typo for the
# permission the API lists (Alert.ReadWrite.All, "Read and write all alerts").
ALERT_READ_ROLES = (AnyOf("Alert.Read.All", "Alert.ReadWrite.All"),)
ALERT_WRITE_ROLES = (("Alert.ReadWrite.All",),)

SEVERITIES = ("UnSpecified", "Informational", "Low", "Medium", "High")  # alerts.md, lowest first
STATUSES = ("New", "InProgress", "Resolved")  # what PATCH takes (the entity also reads Unknown)
CLASSIFICATIONS = ("TruePositive", "InformationalExpectedActivity", "FalsePositive")
# update-alert.md's names. alerts.md spells two of them differently; an alert read back with those counts as equal.
DETERMINATIONS = ("MultiStagedAttack", "MaliciousUserActivity", "CompromisedUser", "Malware", "Phishing", "UnwantedSoftware",
                  "SecurityTesting", "LineOfBusinessApplication", "ConfirmedActivity", "NotMalicious", "InsufficientData", "Other")
_SAME_DETERMINATION = {"ConfirmedUserActivity": "ConfirmedActivity", "Clean": "NotMalicious"}
# Body keys as update-alert.md's example writes them (body keys are case-sensitive, common-errors.md).
UPDATABLE = ("status", "assignedTo", "classification", "determination")

# Evidence kinds whose sha1 is a file that StopAndQuarantineFile can act on: the file itself, or a process's image.
FILE_EVIDENCE_TYPES = ("File", "Process")
_SHA1 = re.compile(r"^[0-9a-fA-F]{40}$")
_ALERT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")


def normalize_alert_id(value: object, option: str = "id") -> str:
    """An alert id such as da637472900382838869_1364969609 (letters, digits, _ . : -); never a path."""
    if not isinstance(value, str) or not _ALERT_ID.match(value.strip()):
        raise ValueError(f"{option} {value!r} is not an alert id (for example da637472900382838869_1364969609)")
    return value.strip()


def severity_rank(severity: str | None) -> int:
    """Position in alerts.md's order (UnSpecified lowest); an unknown or missing severity ranks lowest."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else 0


def parse_time(text: str | None) -> datetime | None:
    """A service timestamp (up to 7 fractional digits, Z or an offset) as an aware datetime; None stays None."""
    if not text:
        return None
    match = re.match(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?$", str(text).strip())
    if not match:
        raise ValueError(f"not a timestamp: {text!r}")
    head, fraction, zone = match.groups()
    zone = "+00:00" if zone in (None, "Z") else zone[:3] + ":" + zone[-2:]
    # Python before 3.11 parses exactly 6 fractional digits; the service writes 7.
    return datetime.fromisoformat(f"{head}.{((fraction or '') + '000000')[:6]}{zone}").astimezone(timezone.utc)


def updated_since_filter(since: datetime | None, extra: str | None = None) -> str | None:
    """`lastUpdateTime ge <literal>` (get-alerts.md's own example), and the caller's filter in parentheses."""
    parts = []
    if since is not None:
        parts.append(f"lastUpdateTime ge {odata_datetime(since)}")
    if extra and extra.strip():
        parts.append(f"({extra.strip()})" if parts else extra.strip())
    return " and ".join(parts) or None


def list_alerts(client, since: datetime | None = None, extra_filter: str | None = None, evidence: bool = True) -> list[dict]:
    """Every alert updated at or after `since` (second precision, rounded down), with its evidence.

    No $orderby: get-alerts.md does not list it for alerts. Paging follows @odata.nextLink, else $top/$skip
    (DefenderClient.get_all); an alert updated while we page moves past `since` and comes back on the next call.
    """
    params = {}
    query = updated_since_filter(since, extra_filter)
    if query:
        params["$filter"] = query
    if evidence:
        params["$expand"] = "evidence"
    return client.get_all(ALERTS, params)


def get_alert(client, alert_id: str) -> dict:
    """One alert with its evidence and comments (get-alert-info-by-id.md; 404 ResourceNotFound when unknown)."""
    return client.get(f"{ALERTS}/{alert_id}")


def file_sha1s(alert: dict) -> list[str]:
    """The unique SHA-1s (lowercase, in evidence order) of the alert's File and Process evidence."""
    found: list[str] = []
    for item in alert.get("evidence") or []:
        if not isinstance(item, dict) or item.get("entityType") not in FILE_EVIDENCE_TYPES:
            continue
        sha1 = item.get("sha1")
        if isinstance(sha1, str) and _SHA1.match(sha1) and sha1.lower() not in found:
            found.append(sha1.lower())
    return found


def alert_flags(alert: dict) -> list[str]:
    """What an automation cannot act on: no_machine_id, no_evidence, no_file_evidence."""
    flags = []
    if not alert.get("machineId"):
        flags.append("no_machine_id")
    if not alert.get("evidence"):
        flags.append("no_evidence")
    elif not file_sha1s(alert):
        flags.append("no_file_evidence")
    return flags


def has_comment(alert: dict, text: str) -> bool:
    """Whether the alert already carries this comment (compared without surrounding white space)."""
    wanted = text.strip()
    return any(isinstance(c, dict) and str(c.get("comment") or "").strip() == wanted for c in alert.get("comments") or [])


def _same(field: str, current, wanted) -> bool:
    if field == "determination":
        return _SAME_DETERMINATION.get(current, current) == _SAME_DETERMINATION.get(wanted, wanted)
    if field == "assignedTo":
        return str(current or "").lower() == str(wanted or "").lower()
    return current == wanted


def plan_update(alert: dict, desired: dict) -> dict:
    """The PATCH body that brings `alert` to `desired` (API keys): changed fields only, the comment once.

    update-alert.md: "For best performance, you shouldn't include existing values that haven't change[d]".
    An empty body means nothing to do.
    """
    body = {field: value for field, value in desired.items()
            if field in UPDATABLE and value is not None and not _same(field, alert.get(field), value)}
    comment = desired.get("comment")
    if comment and not has_comment(alert, comment):
        body["comment"] = comment
    return body


def validate_desired(desired: dict) -> dict:
    """Check values before any request; ValueError names the field. Returns the desired update in API keys."""
    clean = {}
    for field, choices in (("status", STATUSES), ("classification", CLASSIFICATIONS), ("determination", DETERMINATIONS)):
        value = desired.get(field)
        if value is not None and value not in choices:
            raise ValueError(f"{field} {value!r} is not one of {', '.join(choices)}")
        clean[field] = value
    assigned = desired.get("assignedTo")
    clean["assignedTo"] = assigned.strip() if isinstance(assigned, str) and assigned.strip() else None
    comment = desired.get("comment")
    clean["comment"] = normalize_comment(comment) if comment is not None else None
    if not any(value is not None for value in clean.values()):
        raise ValueError("nothing to update: give at least one of status, assigned_to, classification, determination, comment")
    return clean


def update_alert(client, alert_id: str, desired: dict, alert: dict | None = None) -> tuple[dict, dict]:
    """Bring one alert to `desired`: (the alert as it ends, the body sent or {} when nothing was needed).

    Read first (unless `alert` is given), send only the difference. A PATCH whose answer is lost may have been carried
    out and a comment would be added twice: read the alert back and send only what is still missing (at most once more).
    """
    alert = alert if alert is not None else get_alert(client, alert_id)
    body = plan_update(alert, desired)
    if not body:
        return alert, {}
    try:
        return client.patch(f"{ALERTS}/{alert_id}", body) or get_alert(client, alert_id), body
    except AmbiguousRequestError:
        alert = get_alert(client, alert_id)
        rest = plan_update(alert, desired)
        if not rest:
            return alert, body
        return client.patch(f"{ALERTS}/{alert_id}", rest) or get_alert(client, alert_id), body
