# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Injected faults: after ``skip`` matching requests, the next ``count`` fail in a chosen way (docs/design.md)."""

from __future__ import annotations

import re
import threading

# Error answers, then the transport faults: "drop" (no answer), "truncate" (headers, then half the
# body and a closed connection) and "delay" (a slow request or answer).
ERROR_KINDS = ("400", "401", "403", "404", "429", "500", "503")
KINDS = ERROR_KINDS + ("drop", "truncate", "delay")
FIELDS = ("method", "path", "query", "kind", "when", "count", "skip", "delay", "retry_after", "code", "message")


def _count(spec: dict, key: str, default: int, minimum: int) -> int:
    value = spec.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError("%s must be an integer >= %d, got %r" % (key, minimum, value))
    return value


def _regex(spec: dict, key: str, default: str | None) -> str | None:
    value = spec.get(key, default)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("%s must be a regular expression (a string), got %r" % (key, value))
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError("%s is not a valid regular expression: %s" % (key, exc)) from None
    return value


def check_spec(spec: dict) -> dict:
    """A fault as stored, from a POST /_emulator/faults body; ValueError says what is wrong."""
    unknown = sorted(set(spec) - set(FIELDS))
    if unknown:
        raise ValueError("unknown fault field(s) %s (known: %s)" % (", ".join(unknown), ", ".join(FIELDS)))
    kind = str(spec.get("kind", ""))
    if kind not in KINDS:
        raise ValueError("kind must be one of %s" % ", ".join(KINDS))
    when = spec.get("when", "before")
    if when not in ("before", "after"):
        raise ValueError("when must be 'before' or 'after'")
    for key in ("delay", "retry_after"):
        if key in spec and (isinstance(spec[key], bool) or not isinstance(spec[key], (int, float)) or spec[key] < 0):
            raise ValueError("%s must be a non-negative number of real seconds" % key)
    for key in ("code", "message"):
        if key in spec and (kind not in ERROR_KINDS or not isinstance(spec[key], str)):
            raise ValueError("%s must be a string, and only goes with the error kinds (%s)" % (key, ", ".join(ERROR_KINDS)))
    method = spec.get("method")
    if method is not None and not isinstance(method, str):
        raise ValueError("method must be a string such as 'GET'")
    count = _count(spec, "count", 1, 1)
    return {"id": 0, "method": method.upper() if method else None, "path": _regex(spec, "path", ".*"),
            "query": _regex(spec, "query", None), "kind": kind, "when": when, "count": count, "remaining": count, "fired": 0,
            "skip": _count(spec, "skip", 0, 0), "passed": 0, "delay": float(spec.get("delay", 1.0)),
            "retry_after": spec.get("retry_after", 1), "code": spec.get("code"), "message": spec.get("message")}


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[dict] = []
        self._next_id = 1

    def clear(self) -> None:
        with self._lock:
            self._faults = []

    def add(self, spec: dict) -> dict:
        fault = check_spec(spec)
        with self._lock:
            fault["id"] = self._next_id
            self._next_id += 1
            self._faults.append(fault)
        return dict(fault)

    def take(self, method: str, path: str, query: str = "") -> dict | None:
        """Consume and return the first fault that fires on this request, if any.

        A matching fault first lets ``skip`` requests pass (counted in ``passed``); a request it lets
        pass may still meet a later fault of the list.
        """
        with self._lock:
            for fault in self._faults:
                if fault["remaining"] <= 0:
                    continue
                if fault["method"] and fault["method"] != method.upper():
                    continue
                if not re.search(fault["path"], path):
                    continue
                if fault["query"] is not None and not re.search(fault["query"], query):
                    continue
                if fault["passed"] < fault["skip"]:
                    fault["passed"] += 1
                    continue
                fault["remaining"] -= 1
                fault["fired"] += 1
                return dict(fault)
        return None

    def list(self) -> list[dict]:
        with self._lock:
            return [dict(f) for f in self._faults]
