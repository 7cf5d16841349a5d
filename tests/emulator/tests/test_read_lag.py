# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A new action missing from the read views for a while (list_lag_seconds, get_by_id_lag_seconds).

Reference "Corrections": lists and GET by id can lag a new action (demisto retries ResourceNotFound
3 x 1 s on a fresh action). The duplicate rule still sees it: only the read views lag.
"""

from __future__ import annotations

from conftest import MACHINES, error_of


def listed_ids(emu, **params):
    resp = emu.call("GET", "/api/machineactions", params=params)
    assert resp.status_code == 200, resp.text
    return [a["id"] for a in resp.json()["value"]]


def test_defaults_have_no_lag(emu):
    action = emu.quarantine("desk-01").json()
    assert listed_ids(emu) == [action["id"]]
    assert emu.call("GET", "/api/machineactions/" + action["id"]).status_code == 200


def test_list_lag_hides_a_new_action_from_lists_only(emu):
    emu.config(list_lag_seconds=600)
    action = emu.quarantine("desk-01").json()
    assert listed_ids(emu) == []
    assert listed_ids(emu, **{"$filter": "machineId eq '%s'" % MACHINES["desk-01"]}) == []
    assert listed_ids(emu, **{"$filter": "id eq '%s'" % action["id"]}) == []
    assert emu.call("GET", "/api/machineactions/" + action["id"]).json()["status"] == "Pending"
    # The service knows the action: a duplicate is refused during the lag.
    assert error_of(emu.quarantine("desk-01")) == (400, "ActiveRequestAlreadyExists", "Action is already in progress")
    state = emu.control("GET", "state").json()["actions"]
    assert [a["id"] for a in state] == [action["id"]] and state[0]["_emulator"]["listed"] is False
    emu.advance(600)
    assert listed_ids(emu) == [action["id"]]


def test_duplicate_answered_with_the_lagging_action(emu):
    emu.config(list_lag_seconds=600, duplicate_response="existing")
    first = emu.quarantine("desk-01").json()
    again = emu.quarantine("desk-01")
    assert again.status_code == 201 and again.json()["id"] == first["id"]
    assert listed_ids(emu) == []


def test_get_by_id_lag_answers_404_resource_not_found(emu):
    emu.config(get_by_id_lag_seconds=600)
    action = emu.quarantine("desk-01").json()
    unknown = "00000000-0000-4000-8000-000000000000"
    fresh = error_of(emu.call("GET", "/api/machineactions/" + action["id"]))
    assert fresh == (404, "ResourceNotFound", "Machine action %s was not found" % action["id"])
    assert error_of(emu.call("GET", "/api/machineactions/" + unknown))[:2] == fresh[:2]  # indistinguishable from unknown
    assert listed_ids(emu) == [action["id"]]  # the list does not lag unless list_lag_seconds says so
    emu.advance(600)
    assert emu.call("GET", "/api/machineactions/" + action["id"]).status_code == 200


def test_lag_is_fixed_when_the_action_is_created(emu):
    emu.config(list_lag_seconds=600)
    lagging = emu.quarantine("desk-01").json()
    emu.config(list_lag_seconds=0)
    prompt = emu.quarantine("desk-02").json()
    assert listed_ids(emu) == [prompt["id"]]
    assert lagging["id"] not in listed_ids(emu)


def test_lag_config_is_checked(emu):
    assert emu.control("POST", "config", {"list_lag_seconds": -1}).status_code == 400
    assert emu.control("POST", "config", {"get_by_id_lag_seconds": "5"}).status_code == 400
    config = emu.control("GET", "config").json()
    assert config["list_lag_seconds"] == 0 and config["get_by_id_lag_seconds"] == 0


def test_cancel_finds_an_action_the_read_views_do_not_show_yet(emu):
    emu.config(list_lag_seconds=600, get_by_id_lag_seconds=600)
    action = emu.quarantine("desk-01").json()
    resp = emu.call("POST", "/api/machineactions/%s/cancel" % action["id"], json={"Comment": "x"})
    assert resp.status_code == 200 and resp.json()["status"] == "Cancelled"
