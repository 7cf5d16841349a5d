# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The emulator's config (``/_emulator/config``): defaults and the check of every key.

One rule per key: a change with any bad key is refused as a whole (400 naming the key, the
expected value and what was given), so a test never runs with half of its config applied.
"""

from __future__ import annotations

import copy
from typing import Any, Callable

from .identity import CLOUD_AUDIENCES

DEFAULT_CONFIG: dict[str, Any] = {
    "time_scale": 1.0,
    "rate_limit_per_minute": 100,
    "rate_limit_per_hour": 1500,
    "token_lifetime": 3599,
    "pending_seconds": 5.0,
    "in_progress_seconds": 10.0,
    "offline_timeout_seconds": 3 * 24 * 3600.0,
    "page_size": 10000,
    "list_last_update_field": "lastUpdateDateTimeUtc",
    "max_active_indicators": 15000,
    "duplicate_response": "error",
    "list_order": "newest_first",
    "list_lag_seconds": 0.0,
    "get_by_id_lag_seconds": 0.0,
    "duplicate_scope": "file",
    "files_machines_ignore_skip": False,
    "alert_list_lag_seconds": 3.0,
    "cloud": "commercial",
    "accepted_audiences": list(CLOUD_AUDIENCES["commercial"]),
}


def _shown(value: Any) -> str:
    return "%r (%s)" % (value, type(value).__name__)


def _number(minimum: float, inclusive: bool, integer: bool = False) -> Callable[[str, Any], Any]:
    kind = "an integer" if integer else "a number"
    bound = "%s %s" % (">=" if inclusive else ">", minimum if not integer else int(minimum))

    def check(key: str, value: Any) -> Any:
        types = (int,) if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, types):
            raise ValueError("config key %r must be %s %s, got %s" % (key, kind, bound, _shown(value)))
        if value < minimum or (value == minimum and not inclusive):
            raise ValueError("config key %r must be %s %s, got %s" % (key, kind, bound, _shown(value)))
        return value
    return check


def _one_of(*choices: str) -> Callable[[str, Any], Any]:
    def check(key: str, value: Any) -> Any:
        if not isinstance(value, str) or value not in choices:
            raise ValueError("config key %r must be one of %s, got %s" % (key, ", ".join(repr(c) for c in choices), _shown(value)))
        return value
    return check


def _boolean(key: str, value: Any) -> Any:
    if not isinstance(value, bool):
        raise ValueError("config key %r must be true or false, got %s" % (key, _shown(value)))
    return value


def _audiences(key: str, value: Any) -> Any:
    if not isinstance(value, list) or not value or not all(isinstance(a, str) and a.strip() for a in value):
        raise ValueError("config key %r must be a non-empty list of resource URIs, got %s" % (key, _shown(value)))
    return [a.strip().rstrip("/") for a in value]


RULES: dict[str, Callable[[str, Any], Any]] = {
    "time_scale": _number(0, inclusive=False),
    "rate_limit_per_minute": _number(1, inclusive=True, integer=True),
    "rate_limit_per_hour": _number(1, inclusive=True, integer=True),
    "token_lifetime": _number(1, inclusive=True, integer=True),
    "pending_seconds": _number(0, inclusive=True),
    "in_progress_seconds": _number(0, inclusive=True),
    "offline_timeout_seconds": _number(0, inclusive=False),
    "page_size": _number(1, inclusive=True, integer=True),
    "list_last_update_field": _one_of("lastUpdateDateTimeUtc", "lastUpdateTimeUtc"),
    "max_active_indicators": _number(1, inclusive=True, integer=True),
    "duplicate_response": _one_of("error", "existing"),
    "list_order": _one_of("newest_first", "oldest_first"),
    "list_lag_seconds": _number(0, inclusive=True),
    "get_by_id_lag_seconds": _number(0, inclusive=True),
    "duplicate_scope": _one_of("file", "device"),
    "files_machines_ignore_skip": _boolean,
    "alert_list_lag_seconds": _number(0, inclusive=True),
    "cloud": _one_of(*CLOUD_AUDIENCES),
    "accepted_audiences": _audiences,
}


def defaults() -> dict[str, Any]:
    return copy.deepcopy(DEFAULT_CONFIG)


def validate_config(changes: Any) -> dict[str, Any]:
    """Checked copy of a config change; ValueError says which key is wrong and why."""
    if not isinstance(changes, dict):
        raise ValueError("config must be a JSON object of key: value")
    clean = {}
    for key, value in changes.items():
        rule = RULES.get(key)
        if rule is None:
            raise ValueError("unknown config key %r (known: %s)" % (key, ", ".join(sorted(RULES))))
        clean[key] = rule(key, copy.deepcopy(value))
    if "cloud" in clean and "accepted_audiences" not in clean:
        clean["accepted_audiences"] = list(CLOUD_AUDIENCES[clean["cloud"]])  # the cloud's own, unless given too
    return clean
