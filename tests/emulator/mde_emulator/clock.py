# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The emulated clock: ``time_scale`` emulated seconds pass per real second."""

from __future__ import annotations

import datetime
import threading
import time

_TICKS = 10_000_000  # .NET ticks per second: timestamps carry 7 fractional digits


class Clock:
    """Monotonic emulated clock, starting at the real wall-clock time."""

    def __init__(self, time_scale: float = 1.0) -> None:
        self._lock = threading.Lock()
        self._real0 = time.monotonic()
        self._emu0 = time.time()
        self._scale = float(time_scale)

    @property
    def scale(self) -> float:
        return self._scale

    def now(self) -> float:
        """Emulated time in epoch seconds."""
        with self._lock:
            return self._emu0 + (time.monotonic() - self._real0) * self._scale

    def set_scale(self, time_scale: float) -> None:
        """Change the speed without making the emulated time jump."""
        if time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        with self._lock:
            real = time.monotonic()
            self._emu0 = self._emu0 + (real - self._real0) * self._scale
            self._real0 = real
            self._scale = float(time_scale)

    def to_real(self, emulated_seconds: float) -> float:
        return emulated_seconds / self._scale


def iso(ts: float | None) -> str | None:
    """Format epoch seconds like the service: ``2018-12-04T12:15:40.6052029Z``."""
    if ts is None:
        return None
    ticks = int(round(ts * _TICKS))
    seconds, frac = divmod(ticks, _TICKS)
    base = datetime.datetime.fromtimestamp(seconds, tz=datetime.timezone.utc)
    return base.strftime("%Y-%m-%dT%H:%M:%S") + ".%07dZ" % frac


def parse_iso(text: str) -> float:
    """Parse an ISO-8601 timestamp (any number of fractional digits, ``Z`` or offset; date only allowed)."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    frac = 0.0
    if "." in value:
        head, rest = value.split(".", 1)
        digits = ""
        while rest and rest[0].isdigit():
            digits += rest[0]
            rest = rest[1:]
        frac = float("0." + digits) if digits else 0.0
        value = head + rest
    if "T" not in value and len(value) >= 10:
        value = value[:10] + "T00:00:00" + value[10:]
    parsed = datetime.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed.timestamp() + frac
