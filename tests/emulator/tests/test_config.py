# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""/_emulator/config: every key listed by GET, every bad value refused with a 400 that says why."""

from __future__ import annotations

import pytest

EXPECTED_DEFAULTS = {
    "time_scale": 1.0,
    "rate_limit_per_minute": 100,
    "rate_limit_per_hour": 1500,
    "token_lifetime": 3599,
    "pending_seconds": 5.0,
    "in_progress_seconds": 10.0,
    "offline_timeout_seconds": 259200.0,
    "page_size": 10000,
    "list_last_update_field": "lastUpdateDateTimeUtc",
    "max_active_indicators": 15000,
    "duplicate_response": "error",
    "list_order": "newest_first",
    "list_lag_seconds": 0,
    "get_by_id_lag_seconds": 0,
    "duplicate_scope": "file",
    "files_machines_ignore_skip": False,
    "cloud": "commercial",
    "accepted_audiences": ["https://api.securitycenter.microsoft.com", "https://securitycenter.onmicrosoft.com/windowsatpservice"],
}


def test_get_lists_every_key_with_its_default(emu):
    config = emu.control("GET", "config").json()
    for key, value in EXPECTED_DEFAULTS.items():
        assert config[key] == value, key


@pytest.mark.parametrize("changes, words", [
    ({"nope": 1}, ["unknown config key 'nope'", "page_size"]),
    ({"page_size": "10"}, ["'page_size'", "integer >= 1", "'10' (str)"]),
    ({"page_size": 0}, ["'page_size'", "integer >= 1", "0 (int)"]),
    ({"page_size": 2.5}, ["'page_size'", "integer"]),
    ({"rate_limit_per_hour": True}, ["'rate_limit_per_hour'", "True (bool)"]),
    ({"time_scale": 0}, ["'time_scale'", "number > 0"]),
    ({"pending_seconds": -1}, ["'pending_seconds'", ">= 0"]),
    ({"duplicate_response": "maybe"}, ["'duplicate_response'", "'error', 'existing'", "'maybe'"]),
    ({"list_last_update_field": None}, ["'list_last_update_field'", "None (NoneType)"]),
    ({"files_machines_ignore_skip": 1}, ["'files_machines_ignore_skip'", "true or false", "1 (int)"]),
    ({"list_order": "random"}, ["'list_order'", "'newest_first', 'oldest_first'"]),
])
def test_bad_value_is_a_400_that_names_key_and_expectation(emu, changes, words):
    resp = emu.control("POST", "config", changes)
    assert resp.status_code == 400
    message = resp.json()["error"]["message"]
    for word in words:
        assert word in message, message


def test_a_bad_key_refuses_the_whole_change(emu):
    resp = emu.control("POST", "config", {"page_size": 5, "duplicate_response": "maybe"})
    assert resp.status_code == 400
    assert emu.control("GET", "config").json()["page_size"] == 10000


def test_reset_validates_its_config_too(emu):
    assert emu.control("POST", "reset", {"config": {"page_size": -3}}).status_code == 400
    assert emu.control("POST", "reset", {"config": ["page_size"]}).status_code == 400
    assert emu.control("GET", "config").json()["page_size"] == 10000


def test_post_answers_the_whole_config_and_reset_restores_defaults(emu):
    changed = emu.config(page_size=7)
    assert changed["page_size"] == 7 and set(EXPECTED_DEFAULTS) <= set(changed)
    emu.reset()
    assert emu.control("GET", "config").json()["page_size"] == 10000
