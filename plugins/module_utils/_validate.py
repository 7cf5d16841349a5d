# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Input checks that run before any request is sent, and the OData literal builder.

Every function raises ValueError with a message a person can act on; modules turn it into
fail_json. Nothing here talks to the network.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

_HEX = re.compile(r"[0-9a-fA-F]+")
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_DURATION = re.compile(r"(\d+)\s*(w|d|h|m|s)", re.IGNORECASE)
_DURATION_FULL = re.compile(r"(?:\d+\s*[wdhms]\s*)+", re.IGNORECASE)
_DURATION_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
# C0 controls and DEL, except tab, line feed and carriage return, which a multi-line comment may hold.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# The collection's own bound on a comment: MDE documents none, but an audit comment longer than
# this is a templating accident (a whole alert body) rather than a note for the next analyst.
MAX_COMMENT_LENGTH = 4000


def _describe(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "...'"


def normalize_sha1(value: object, option: str = "sha1") -> str:
    """A SHA-1 as 40 lowercase hex digits; SHA-256 and MD5 get a message of their own."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{option} is required and must be a 40-character hexadecimal SHA-1")
    if value != value.strip() or any(ch.isspace() for ch in value):
        raise ValueError(f"{option} {_describe(value)} contains whitespace; give the 40 hexadecimal digits only")
    if not _HEX.fullmatch(value):
        raise ValueError(f"{option} {_describe(value)} is not hexadecimal; a SHA-1 is 40 characters 0-9 and a-f")
    if len(value) == 64:
        raise ValueError(f"{option} looks like a SHA-256 (64 hex digits); StopAndQuarantineFile accepts SHA-1 only. "
                         "Use secops.defender.defender_indicator with a FileSha256 indicator to block it instead")
    if len(value) == 32:
        raise ValueError(f"{option} looks like an MD5 (32 hex digits); StopAndQuarantineFile accepts SHA-1 only. "
                         "Use secops.defender.defender_indicator with a FileMd5 indicator to block it instead")
    if len(value) != 40:
        raise ValueError(f"{option} has {len(value)} hex digits; a SHA-1 has exactly 40")
    return value.lower()


def normalize_file_hash(value: object, option: str = "indicator_value") -> tuple[str, str]:
    """(lowercase hash, MDE indicatorType) for a SHA-1, SHA-256 or MD5."""
    if not isinstance(value, str) or not value or any(ch.isspace() for ch in value) or not _HEX.fullmatch(value):
        raise ValueError(f"{option} {_describe(value)} must be a SHA-1 (40), SHA-256 (64) or MD5 (32) hexadecimal hash")
    kinds = {40: "FileSha1", 64: "FileSha256", 32: "FileMd5"}
    if len(value) not in kinds:
        raise ValueError(f"{option} has {len(value)} hex digits; expected 40 (SHA-1), 64 (SHA-256) or 32 (MD5)")
    return value.lower(), kinds[len(value)]


def normalize_machine_id(value: object, option: str = "machine_id") -> str:
    """A Defender device id: 40 hex digits (lowercased). Anything else could change the URL path."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{option} is required and must be a 40-character hexadecimal Defender device id")
    if len(value) != 40 or not _HEX.fullmatch(value):
        raise ValueError(f"{option} {_describe(value)} is not a Defender device id (40 hexadecimal characters, "
                         "as in the portal URL /machines/<id>); to target a host name use defender_machine_info first")
    return value.lower()


def normalize_action_id(value: object, option: str = "id") -> str:
    """A MachineAction id: a GUID (lowercased). Anything else could change the URL path."""
    if not isinstance(value, str) or not _GUID.fullmatch(value.strip()):
        raise ValueError(f"{option} {_describe(value)} is not a machine action id (a GUID such as "
                         "44cffc15-0e3d-4cbf-96aa-bf76f9b27f5e)")
    return value.strip().lower()


def normalize_machine_ids(values: list, max_machines: int, option: str = "machine_ids") -> tuple[list[str], list[str]]:
    """(unique ids in order, duplicates dropped). Fails on an empty list or one over max_machines."""
    if not values:
        raise ValueError(f"{option} is empty; give at least one device id")
    ids = [normalize_machine_id(v, f"{option}[{i}]") for i, v in enumerate(values)]
    unique = list(dict.fromkeys(ids))
    if len(unique) > max_machines:
        raise ValueError(f"{option} has {len(unique)} devices, more than max_machines ({max_machines}); the portal itself "
                         "stops at 1000. For a tenant-wide response use a BlockAndRemediate file indicator "
                         "(secops.defender.defender_indicator) or raise max_machines deliberately")
    seen: set[str] = set()
    duplicates = [i for i in ids if i in seen or seen.add(i)]  # type: ignore[func-returns-value]
    return unique, duplicates


def normalize_comment(value: object, option: str = "comment") -> str:
    """A non-empty audit comment without control characters, within MAX_COMMENT_LENGTH."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{option} must not be empty: Defender records it with the action for the audit trail")
    if _CONTROL.search(value):
        raise ValueError(f"{option} contains control characters; remove them (tabs and new lines are allowed)")
    if len(value) > MAX_COMMENT_LENGTH:
        raise ValueError(f"{option} is {len(value)} characters long; the limit is {MAX_COMMENT_LENGTH}")
    return value.strip()


def parse_duration(value: object, option: str, allow_zero: bool = False) -> int:
    """Seconds in a duration such as '90s', '15m', '24h', '7d', '1h30m' or a plain number of seconds."""
    if isinstance(value, bool):
        raise ValueError(f"{option} must be a duration such as 30m, 24h or 7d")
    if isinstance(value, (int, float)):
        seconds = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        seconds = int(value.strip())
    elif isinstance(value, str) and _DURATION_FULL.fullmatch(value.strip()):
        seconds = sum(int(n) * _DURATION_UNITS[u.lower()] for n, u in _DURATION.findall(value))
    else:
        raise ValueError(f"{option} {_describe(value)} is not a duration; use a number of seconds or a value such as 30m, 24h, 7d")
    if seconds < 0 or (seconds == 0 and not allow_zero):
        raise ValueError(f"{option} must be a positive duration")
    return seconds


def parse_time_or_duration(value: object, option: str, now: datetime | None = None) -> datetime:
    """A point in time: an ISO-8601 date/time, or a duration meaning that long ago."""
    now = now or datetime.now(timezone.utc)
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}([T ][0-9:.]+)?(Z|[+-]\d{2}:?\d{2})?", value.strip()):
        text = value.strip().replace("Z", "+00:00")
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{option} {_describe(value)} is not a valid date/time") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return now - timedelta(seconds=parse_duration(value, option))


def normalize_api_url(value: str, option: str = "api_url") -> str:
    """An https base URL (plain http only to a loopback address, for local emulators), without /api."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"{option} {_describe(value)} must be an absolute https:// URL such as https://api.security.microsoft.com")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ValueError(f"{option} uses http:// to {parts.hostname}; bearer tokens are only sent over https:// "
                         "(plain http is allowed to a loopback address only)")
    if parts.query or parts.fragment:
        raise ValueError(f"{option} must not carry a query string or fragment")
    base = value.strip().rstrip("/")
    if base.lower().endswith("/api"):
        base = base[:-4]
    return base


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_positive(value: float | int | None, option: str, allow_zero: bool = False) -> None:
    if value is None:
        return
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{option} must be {'zero or more' if allow_zero else 'greater than zero'}, got {value}")


def validate_poll_interval(poll_interval: float, calls_per_minute: int) -> None:
    """Polling alone must stay within calls_per_minute; a bad calls_per_minute is named as such first."""
    validate_positive(calls_per_minute, "calls_per_minute")
    minimum = 60.0 / calls_per_minute
    if poll_interval < minimum:
        raise ValueError(f"poll_interval {poll_interval:g} is below {minimum:g} s, the pace that keeps "
                         f"polling within calls_per_minute ({calls_per_minute})")


def odata_string(value: str) -> str:
    """An OData string literal: quotes doubled, so a value can never end the literal early."""
    if not isinstance(value, str):
        raise ValueError("OData string literal must be text")
    if _CONTROL.search(value) or "\n" in value or "\r" in value:
        raise ValueError(f"{_describe(value)} contains control characters and cannot be used in a filter")
    return "'" + value.replace("'", "''") + "'"


def odata_datetime(moment: datetime) -> str:
    """An OData DateTimeOffset literal (UTC, second precision), as in `lastSeen gt 2018-08-01Z`."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
