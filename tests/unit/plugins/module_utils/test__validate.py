# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from hypothesis import given, strategies as st

from ansible_collections.secops.defender.plugins.module_utils import _validate as v

SHA1 = "87662bc3d60e4200ceaf7aae249d1c343f4b83c9"


def test_sha1_is_lowercased():
    assert v.normalize_sha1(SHA1.upper()) == SHA1


@pytest.mark.parametrize("value, message", [
    ("", "is required"),
    (None, "is required"),
    (SHA1[:-1], "39 hex digits"),
    (SHA1 + "0", "41 hex digits"),
    ("g" * 40, "not hexadecimal"),
    (" " + SHA1, "whitespace"),
    (SHA1[:20] + " " + SHA1[20:39], "whitespace"),
    ("a" * 64, "SHA-256"),
    ("a" * 32, "MD5"),
])
def test_bad_sha1(value, message):
    with pytest.raises(ValueError, match=message):
        v.normalize_sha1(value)


@pytest.mark.parametrize("value", ["abc", "../" + "a" * 37, "a" * 39 + "/", "a" * 39 + "?", "a" * 39 + "#", "a" * 41, "", None])
def test_bad_machine_id(value):
    with pytest.raises(ValueError, match="machine_id"):
        v.normalize_machine_id(value)


def test_machine_ids_dedup_and_bound():
    ids, dups = v.normalize_machine_ids(["A" * 40, "a" * 40, "b" * 40], 5)
    assert ids == ["a" * 40, "b" * 40] and dups == ["a" * 40]
    with pytest.raises(ValueError, match="more than max_machines"):
        v.normalize_machine_ids([f"{i:040x}" for i in range(3)], 2)
    with pytest.raises(ValueError, match="empty"):
        v.normalize_machine_ids([], 2)


@pytest.mark.parametrize("value, message", [
    ("", "must not be empty"), ("   \n", "must not be empty"), ("bad\x00byte", "control characters"),
    ("x" * 100_000, "characters long"),
])
def test_bad_comment(value, message):
    with pytest.raises(ValueError, match=message):
        v.normalize_comment(value)


def test_comment_allows_new_lines():
    assert v.normalize_comment(" line 1\nline 2\t ") == "line 1\nline 2"


@pytest.mark.parametrize("value, seconds", [("24h", 86400), ("30m", 1800), ("7d", 604800), ("1h30m", 5400), ("90", 90),
                                            (45, 45), ("2w", 1209600), ("10s", 10)])
def test_durations(value, seconds):
    assert v.parse_duration(value, "x") == seconds


@pytest.mark.parametrize("value", ["-5m", "0", "soon", "5 years", True, "h"])
def test_bad_durations(value):
    with pytest.raises(ValueError):
        v.parse_duration(value, "x")


def test_time_or_duration():
    now = datetime(2026, 1, 2, 3, 0, 0, tzinfo=timezone.utc)
    assert v.parse_time_or_duration("2h", "x", now) == datetime(2026, 1, 2, 1, 0, 0, tzinfo=timezone.utc)
    assert v.parse_time_or_duration("2025-12-31", "x", now) == datetime(2025, 12, 31, tzinfo=timezone.utc)
    assert v.parse_time_or_duration("2025-12-31T10:00:00Z", "x", now) == datetime(2025, 12, 31, 10, tzinfo=timezone.utc)


@pytest.mark.parametrize("url, expected", [
    ("https://eu.api.security.microsoft.com/", "https://eu.api.security.microsoft.com"),
    ("https://api.security.microsoft.com/api", "https://api.security.microsoft.com"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ("http://localhost:8080/", "http://localhost:8080"),
    ("http://[::1]:8080", "http://[::1]:8080"),
])
def test_api_url(url, expected):
    assert v.normalize_api_url(url) == expected


@pytest.mark.parametrize("url, message", [
    ("http://api.security.microsoft.com", "only sent over https"),
    ("http://10.0.0.1", "only sent over https"),
    ("ftp://x", "absolute https"),
    ("api.security.microsoft.com", "absolute https"),
    ("https://x.test/?a=b", "query string"),
])
def test_bad_api_url(url, message):
    with pytest.raises(ValueError, match=message):
        v.normalize_api_url(url)


def test_file_hash_types():
    assert v.normalize_file_hash("A" * 64) == ("a" * 64, "FileSha256")
    assert v.normalize_file_hash("a" * 40) == ("a" * 40, "FileSha1")
    assert v.normalize_file_hash("a" * 32) == ("a" * 32, "FileMd5")
    with pytest.raises(ValueError):
        v.normalize_file_hash("a" * 33)


def test_negative_values():
    with pytest.raises(ValueError, match="greater than zero"):
        v.validate_positive(-1, "timeout")
    v.validate_positive(0, "retry_timeout", allow_zero=True)


# -- property-based: the OData literal builder can never be broken out of


def _parse_literal(text: str) -> tuple[str, str]:
    """Read one OData string literal from the start of text: (value, rest)."""
    assert text[0] == "'"
    value, i = [], 1
    while True:
        if text[i] == "'":
            if i + 1 < len(text) and text[i + 1] == "'":
                value.append("'")
                i += 2
                continue
            return "".join(value), text[i + 1:]
        value.append(text[i])
        i += 1


printable = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=80)


@given(printable)
def test_odata_string_round_trips_and_never_ends_early(value):
    literal = v.odata_string(value)
    parsed, rest = _parse_literal(literal + " and id eq 'x'")
    assert parsed == value
    assert rest == " and id eq 'x'"


@given(st.text(max_size=60))
def test_sha1_validator_accepts_only_40_hex(value):
    try:
        result = v.normalize_sha1(value)
    except ValueError as exc:
        assert str(exc)
    else:
        assert re.fullmatch(r"[0-9a-f]{40}", result)


@given(st.text(max_size=60))
def test_machine_id_validator_never_lets_path_characters_through(value):
    try:
        result = v.normalize_machine_id(value)
    except ValueError:
        return
    assert re.fullmatch(r"[0-9a-f]{40}", result)


@given(st.text(max_size=200))
def test_comment_validator_output_has_no_control_characters(value):
    try:
        result = v.normalize_comment(value)
    except ValueError:
        return
    assert result and not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", result)


@pytest.mark.parametrize("calls_per_minute", [0, -5])
def test_poll_interval_check_names_a_bad_calls_per_minute(calls_per_minute):
    # Found by reliability_bad_input: calls_per_minute 0 was reported as "poll_interval 10 is below 60 s".
    with pytest.raises(ValueError, match="^calls_per_minute must be greater than zero"):
        v.validate_poll_interval(10, calls_per_minute)


@given(st.floats(min_value=0, max_value=1e6, allow_nan=False), st.integers(min_value=1, max_value=100000))
def test_poll_interval_never_polls_faster_than_the_pace(poll_interval, calls_per_minute):
    try:
        v.validate_poll_interval(poll_interval, calls_per_minute)
    except ValueError as exc:
        assert "poll_interval" in str(exc) and poll_interval < 60.0 / calls_per_minute
    else:
        assert poll_interval >= 60.0 / calls_per_minute
