# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The request log behind ``GET /_emulator/log``: never a token, secrets and assertions redacted."""

from __future__ import annotations

import copy
import threading

REDACTED = "***"
SECRET_FIELDS = ("client_secret", "client_assertion", "assertion", "password", "refresh_token", "access_token")


def redact(body):
    if isinstance(body, dict):
        return {k: (REDACTED if k.lower() in SECRET_FIELDS else redact(v)) for k, v in body.items()}
    if isinstance(body, list):
        return [redact(v) for v in body]
    return body


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[dict] = []
        self._seq = 0

    def clear(self) -> None:
        with self._lock:
            self._entries = []
            self._seq = 0

    def add(self, entry: dict) -> None:
        with self._lock:
            self._seq += 1
            record = {"seq": self._seq}
            record.update(entry)
            record["body"] = redact(record.get("body"))
            self._entries.append(record)

    def entries(self, since: int = 0) -> list[dict]:
        with self._lock:
            return [copy.deepcopy(e) for e in self._entries if e["seq"] > since]
