# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from unittest import mock

import pytest

from ansible_collections.secops.defender.plugins.modules import defender_machine_info as module
from ansible_collections.secops.defender.tests.unit.fakes import (
    FULL_ROLES,
    FakeResponse,
    FakeSession,
    ScriptedHandler,
    error,
    make_jwt,
    run_module,
)

TOKEN = make_jwt(roles=FULL_ROLES)
SHA1 = "87662bc3d60e4200ceaf7aae249d1c343f4b83c9"


def machine(number, name, **extra):
    return {"id": f"{number:040x}", "computerDnsName": name, "healthStatus": "Active", "osPlatform": "Windows11",
            "lastSeen": "2026-11-28T10:00:00Z", "isPotentialDuplication": False, "mergedIntoMachineId": None, **extra}


def listing(*machines, next_link=None):
    body = {"@odata.context": "https://api.test/api/$metadata#Machines", "value": list(machines)}
    if next_link:
        body["@odata.nextLink"] = next_link
    return FakeResponse(200, body)


@pytest.fixture(autouse=True)
def no_sleep():
    with mock.patch("time.sleep"):
        yield


def run(args, script=(), default=None, token=TOKEN, check_mode=False):
    session = FakeSession(ScriptedHandler(list(script), default))
    base = {"api_url": "https://api.test", "access_token": token}
    base.update(args)
    with mock.patch("ansible_collections.secops.defender.plugins.module_utils._factory.build_session", return_value=session):
        result, failed = run_module(module.main, base, check_mode=check_mode)
    return result, failed, session


def test_short_name_matches_exactly_never_a_prefix():
    # The server-side startswith() also returns desk-010; the module must leave it out.
    result, failed, session = run({"name": "DESK-01"}, [("GET", "/api/machines", listing(
        machine(1, "desk-01.contoso.local"), machine(2, "desk-010.contoso.local"), machine(3, "desk-01x")))])
    assert not failed, result["msg"]
    assert result["machine_ids"] == [f"{1:040x}"]
    assert result["machines"][0]["computer_dns_name"] == "desk-01.contoso.local"
    assert result["machines"][0]["health_status"] == "Active"
    assert result["machine_ids_by_name"] == {"desk-01": [f"{1:040x}"]}
    flt = session.calls[0]["params"]["$filter"]
    assert flt == "(startswith(computerDnsName,'desk-01.') or computerDnsName eq 'desk-01')"
    assert not result["changed"]


def test_fqdn_is_queried_with_eq_and_matches_only_the_full_name():
    result, failed, session = run({"name": "desk-01.contoso.local"}, [("GET", "/api/machines", listing(
        machine(1, "DESK-01.contoso.local"), machine(2, "desk-01")))])
    assert not failed
    assert result["machine_ids"] == [f"{1:040x}"]
    assert session.calls[0]["params"]["$filter"] == "computerDnsName eq 'desk-01.contoso.local'"


def test_ambiguous_name_fails_and_lists_candidates():
    result, failed, _session = run({"name": "web"}, [("GET", "/api/machines", listing(
        machine(1, "web.contoso.local", lastSeen="2026-11-01T00:00:00Z"),
        machine(2, "web.fabrikam.local", healthStatus="Inactive")))])
    assert failed
    assert "match more than one device" in result["msg"]
    assert f"{1:040x}" in result["msg"] and "web.fabrikam.local" in result["msg"] and "Inactive" in result["msg"]
    assert result["candidates"] == [
        {"name": "web", "id": f"{1:040x}", "computer_dns_name": "web.contoso.local", "last_seen": "2026-11-01T00:00:00Z",
         "health_status": "Active"},
        {"name": "web", "id": f"{2:040x}", "computer_dns_name": "web.fabrikam.local", "last_seen": "2026-11-28T10:00:00Z",
         "health_status": "Inactive"},
    ]


def test_allow_multiple_returns_every_match():
    result, failed, _session = run({"name": "web", "allow_multiple": True}, [("GET", "/api/machines", listing(
        machine(1, "web.contoso.local"), machine(2, "web.fabrikam.local")))])
    assert not failed
    assert result["machine_ids"] == [f"{1:040x}", f"{2:040x}"]


def test_duplicates_left_out_unless_asked():
    records = [machine(1, "db.contoso.local"), machine(2, "db.contoso.local", isPotentialDuplication=True),
               machine(3, "db.contoso.local", mergedIntoMachineId=f"{1:040x}")]
    result, failed, _session = run({"name": "db"}, [("GET", "/api/machines", listing(*records))])
    assert not failed, result["msg"]
    assert result["machine_ids"] == [f"{1:040x}"]
    assert result["excluded_duplicate_ids"] == [f"{2:040x}", f"{3:040x}"]

    result, failed, _session = run({"name": "db", "include_duplicates": True, "allow_multiple": True},
                                   [("GET", "/api/machines", listing(*records))])
    assert not failed and len(result["machine_ids"]) == 3


def test_quote_in_name_is_refused_before_any_request():
    result, failed, session = run({"name": "x') or (id ne 'y"})
    assert failed and "is not a host name" in result["msg"]
    assert session.calls == []


def test_names_list_resolves_in_one_query_and_reports_missing():
    result, failed, session = run({"names": ["desk-01", "desk-02.contoso.local", "ghost"]}, [("GET", "/api/machines", listing(
        machine(1, "desk-01.contoso.local"), machine(2, "desk-02.contoso.local")))])
    assert not failed
    assert len(session.calls) == 1
    assert result["machine_ids"] == [f"{1:040x}", f"{2:040x}"]
    assert result["not_found"] == ["ghost"]
    assert result["machine_ids_by_name"]["ghost"] == []
    flt = session.calls[0]["params"]["$filter"]
    assert flt.startswith("((startswith(computerDnsName,'desk-01.') or computerDnsName eq 'desk-01') or "
                          "computerDnsName eq 'desk-02.contoso.local' or ")


def test_fail_on_missing():
    result, failed, _session = run({"name": ["ghost"], "fail_on_missing": True}, [("GET", "/api/machines", listing())])
    assert failed and "No device matches ghost" in result["msg"]


def test_no_recent_machines_404_is_an_empty_answer():
    result, failed, _session = run({"name": "desk-01"}, [("GET", "/api/machines", error(404, "NotFound", "No machines were found"))])
    assert not failed and result["machines"] == [] and result["not_found"] == ["desk-01"]


def test_health_and_platform_narrow_server_side_and_client_side():
    answer = listing(machine(1, "desk-01", osPlatform="Windows10"), machine(2, "desk-01.b", osPlatform="Windows11"))
    result, failed, session = run({"name": "desk-01", "health_status": "Active", "os_platform": "Windows11"},
                                  [("GET", "/api/machines", answer)])
    assert not failed
    assert result["machine_ids"] == [f"{2:040x}"]
    assert session.calls[0]["params"]["$filter"].endswith(" and healthStatus eq 'Active' and osPlatform eq 'Windows11'")


def test_by_id_returns_the_machine_and_warns_when_merged():
    mid = f"{7:040x}"
    with mock.patch("ansible.module_utils.basic.AnsibleModule.warn") as warn:
        result, failed, session = run({"machine_id": mid.upper()}, [("GET", f"/api/machines/{mid}", FakeResponse(200, {
            "@odata.context": "x", **machine(7, "old.contoso.local", mergedIntoMachineId=f"{8:040x}")}))])
    assert not failed
    assert result["machine_ids"] == [mid]
    assert f"merged into {8:040x}" in warn.call_args[0][0]
    assert "@odata.context" not in result["machines"][0]
    assert session.calls[0]["url"].endswith(f"/api/machines/{mid}")


def test_by_id_unknown():
    mid = f"{7:040x}"
    result, failed, _session = run({"machine_id": mid}, [("GET", f"/api/machines/{mid}", error(404, "ResourceNotFound"))])
    assert not failed and result["machines"] == [] and result["not_found"] == [mid]


def test_by_sha1_follows_next_link_and_narrows():
    page2 = "https://api.test/api/files/%s/machines?$skip=2" % SHA1
    result, failed, session = run({"sha1": SHA1.upper(), "health_status": "Active"}, [
        ("GET", "$skip=2", listing(machine(3, "c"), machine(4, "d", healthStatus="Inactive"))),
        ("GET", f"/api/files/{SHA1}/machines", listing(machine(1, "a"), machine(2, "b"), next_link=page2)),
    ])
    assert not failed
    assert result["machine_ids"] == [f"{i:040x}" for i in (1, 2, 3)]
    assert len(session.calls) == 2


def test_raw_filter_pages_with_top_and_skip():
    def pages(call):
        skip = int(call["params"].get("$skip", 0))
        items = [machine(i, f"m{i}") for i in range(5)][skip:skip + int(call["params"]["$top"])]
        return listing(*items)
    result, failed, session = run({"filter": "riskScore eq 'High'", "page_size": 2}, default=pages)
    assert not failed
    assert len(result["machine_ids"]) == 5
    assert [c["params"].get("$skip") for c in session.calls] == [None, 2, 4]
    assert session.calls[0]["params"]["$filter"] == "(riskScore eq 'High')"


def test_list_everything_without_selector():
    result, failed, session = run({}, [("GET", "/api/machines", listing(machine(1, "a")))])
    assert not failed and result["machine_ids"] == [f"{1:040x}"]
    assert "$filter" not in session.calls[0]["params"]


@pytest.mark.parametrize("args, message", [
    ({"machine_id": "desk-01"}, "is not a Defender device id"),
    ({"sha1": "a" * 64}, "SHA-256"),
    ({"filter": "  "}, "filter is empty"),
    ({"page_size": 0}, "page_size must be between 1 and 10000"),
    ({"name": ["a*"]}, "no wildcards"),
    ({"name": "a", "sha1": SHA1}, "mutually exclusive"),
])
def test_validation_before_any_request(args, message):
    result, failed, session = run(args)
    assert failed and message in result["msg"]
    assert session.calls == []


def test_missing_read_permission_fails_before_any_request():
    result, failed, session = run({"name": "a"}, token=make_jwt(roles=["Ti.ReadWrite"]))
    assert failed and result["error_code"] == "MissingPermission"
    assert session.calls == []


def test_api_error_is_reported_with_code_and_request_id():
    result, failed, _session = run({"filter": "bogus eq 1"}, [("GET", "/api/machines", error(400, "ODataError", "Invalid filter", "req-9"))])
    assert failed
    assert result["error_code"] == "ODataError" and result["request_id"] == "req-9" and result["status"] == 400
    assert TOKEN not in str(result)
