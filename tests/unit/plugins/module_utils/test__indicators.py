# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from ansible_collections.secops.defender.plugins.module_utils import _indicators

NOW = datetime(2026, 11, 28, 12, 0, 0, 500000, tzinfo=timezone.utc)


def test_duration_is_from_now_to_the_second():
    exp = _indicators.parse_expiration("2h", NOW)
    assert exp.seconds == 7200 and exp.moment == datetime(2026, 11, 28, 14, 0, 0, tzinfo=timezone.utc)
    assert _indicators.parse_expiration("3600", NOW).seconds == 3600


def test_date_with_offset_is_utc():
    exp = _indicators.parse_expiration("2026-12-01T10:00:00+02:00", NOW)
    assert exp.seconds is None and exp.moment == datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("value", ["2026-11-28", "2020-01-01T00:00:00Z", "tomorrow", "-5d"])
def test_refused(value):
    with pytest.raises(ValueError):
        _indicators.parse_expiration(value, NOW)


@pytest.mark.parametrize("current, expected", [
    ("2026-11-28T13:00:00Z", True),            # ahead, not later than now + 2h
    ("2026-11-28T14:00:00.9999999Z", True),    # the value written by the last run, with 7 fractional digits
    ("2026-11-28T14:00:02Z", False),           # later than asked: shortened
    ("2026-11-28T11:00:00Z", False),           # expired: renewed
    (None, False),                             # never expires: given one
])
def test_duration_matches(current, expected):
    assert _indicators.parse_expiration("2h", NOW).matches(current, NOW) is expected


def test_changes_compare_only_wanted_fields():
    existing = {"action": "Block", "title": "t", "severity": "High", "rbacGroupNames": ["b", "a"], "generateAlert": None}
    assert _indicators.changes(existing, {"action": "Block", "rbacGroupNames": ["a", "b"], "generateAlert": False}, None, NOW) == {}
    assert _indicators.changes(existing, {"severity": "Low"}, None, NOW) == {"severity": "Low"}


def test_build_body_keeps_existing_and_preserved_fields():
    existing = {"id": "1", "indicatorValue": "x", "action": "Block", "title": "t", "description": "d", "educateUrl": "https://e",
                "expirationTime": None, "createdBy": "someone"}
    body = _indicators.build_body("x", "FileSha1", existing, {"action": "Warn"})
    assert body == {"indicatorValue": "x", "indicatorType": "FileSha1", "action": "Warn", "title": "t", "description": "d",
                    "educateUrl": "https://e"}
