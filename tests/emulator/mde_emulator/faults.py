# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Injected faults: the next N matching requests fail in a chosen way (docs/design.md)."""

from __future__ import annotations

import re
import threading

KINDS = ("500", "503", "429", "401", "drop", "delay")


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[dict] = []
        self._next_id = 1

    def clear(self) -> None:
        with self._lock:
            self._faults = []

    def add(self, spec: dict) -> dict:
        kind = str(spec.get("kind", ""))
        if kind not in KINDS:
            raise ValueError("kind must be one of %s" % ", ".join(KINDS))
        when = spec.get("when", "before")
        if when not in ("before", "after"):
            raise ValueError("when must be 'before' or 'after'")
        count = spec.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError("count must be a positive integer")
        path = spec.get("path", ".*")
        try:
            re.compile(path)
        except re.error as exc:
            raise ValueError("path is not a valid regular expression: %s" % exc) from None
        for key in ("delay", "retry_after"):
            if key in spec and (isinstance(spec[key], bool) or not isinstance(spec[key], (int, float)) or spec[key] < 0):
                raise ValueError("%s must be a non-negative number of real seconds" % key)
        method = spec.get("method")
        fault = {"id": 0, "method": method.upper() if method else None, "path": path, "kind": kind, "when": when, "count": count,
                 "remaining": count, "fired": 0, "delay": float(spec.get("delay", 1.0)), "retry_after": spec.get("retry_after", 1)}
        with self._lock:
            fault["id"] = self._next_id
            self._next_id += 1
            self._faults.append(fault)
        return dict(fault)

    def take(self, method: str, path: str) -> dict | None:
        """Consume and return the first fault matching this request, if any."""
        with self._lock:
            for fault in self._faults:
                if fault["remaining"] <= 0:
                    continue
                if fault["method"] and fault["method"] != method.upper():
                    continue
                if not re.search(fault["path"], path):
                    continue
                fault["remaining"] -= 1
                fault["fired"] += 1
                return dict(fault)
        return None

    def list(self) -> list[dict]:
        with self._lock:
            return [dict(f) for f in self._faults]
