# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sliding-window rate limits per client app and per API, on the emulated clock.

The reference gives "100 calls per minute and 1500 calls per hour" for each API. A call that is
answered 429 is not counted (the limiter rejects it before the service does any work), so a
client that honours Retry-After gets through as soon as a slot frees.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections import defaultdict
from typing import NamedTuple


class Refusal(NamedTuple):
    """Why a call is refused: the emulated seconds until a slot frees, and the window that is spent."""
    wait: float
    limit: int
    window: str  # "1m" or "1h", as the service's message words it


class RateLimiter:
    def __init__(self, per_minute: int = 100, per_hour: int = 1500) -> None:
        self.per_minute = per_minute
        self.per_hour = per_hour
        self._calls: dict[tuple[str, str], list[float]] = defaultdict(list)
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()

    def acquire(self, client_id: str, api: str, now: float) -> Refusal | None:
        """Record a call and return None, or say how long to wait and which window is spent.

        The wait is until the call that must leave the window does: for a spent hourly budget, what
        remains of the hour since that call (up to 3600 s), not a minute.
        """
        with self._lock:
            calls = self._calls[(client_id, api)]
            del calls[:bisect.bisect_right(calls, now - 3600.0)]
            refusals = []
            for window, limit, name in ((60.0, self.per_minute, "1m"), (3600.0, self.per_hour, "1h")):
                start = bisect.bisect_right(calls, now - window)
                in_window = len(calls) - start
                if in_window >= limit:
                    # The oldest call that must leave the window for the count to drop below the limit.
                    oldest = calls[start + in_window - limit]
                    refusals.append(Refusal(max(oldest + window - now, 0.0), limit, name))
            if refusals:
                return max(refusals, key=lambda r: r.wait)
            calls.append(now)
            return None


def retry_after_header(real_seconds: float, scale: float) -> str:
    """Integer seconds at scale 1 (as the service); a decimal when the clock is scaled (test-only)."""
    if scale == 1:
        return str(max(1, int(math.ceil(real_seconds))))
    return "%.3f" % max(0.001, math.ceil(real_seconds * 1000) / 1000.0)
