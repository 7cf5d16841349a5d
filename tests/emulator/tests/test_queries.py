# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""OData $filter, $top, $skip and paging on machine actions, machines, files and indicators (reference §6, §7)."""

from __future__ import annotations

import urllib.parse

import pytest
from conftest import DEMO_SHA1, MACHINES, SECOND_SHA1, error_of, odata_error_of


def values(resp):
    assert resp.status_code == 200, resp.text
    return resp.json()["value"]


def get(emu, path, **params):
    query = urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
    return emu.call("GET", path + ("?" + query if query else ""))


@pytest.fixture(name="three_actions")
def fixture_three_actions(emu):
    ids = {}
    for name in ("desk-01", "desk-02", "srv-01"):
        ids[name] = emu.quarantine(name).json()["id"]
    emu.control("POST", "actions/%s/status" % ids["srv-01"], {"status": "Succeeded"})
    return ids


def test_list_actions_shape_and_order(emu, three_actions):
    resp = get(emu, "/api/machineactions")
    body = resp.json()
    assert body["@odata.context"] == emu.url + "/api/$metadata#MachineActions"
    assert [a["id"] for a in body["value"]] == list(reversed(three_actions.values()))  # newest first
    assert "@odata.nextLink" not in body
    assert "lastUpdateDateTimeUtc" in body["value"][0]


@pytest.mark.usefixtures("three_actions")
def test_list_last_update_field_can_mimic_the_doc_examples(emu):
    emu.config(list_last_update_field="lastUpdateTimeUtc")
    action = values(get(emu, "/api/machineactions"))[0]
    assert "lastUpdateTimeUtc" in action and "lastUpdateDateTimeUtc" not in action
    single = emu.call("GET", "/api/machineactions/" + action["id"]).json()
    assert "lastUpdateDateTimeUtc" in single


@pytest.mark.parametrize("expr, expected", [
    ("machineId eq '%s'" % MACHINES["desk-01"], ["desk-01"]),
    ("machineId eq '%s'" % MACHINES["desk-01"].upper(), ["desk-01"]),
    ("status eq 'Pending'", ["desk-01", "desk-02"]),
    ("status ne 'Pending'", ["srv-01"]),
    ("machineId eq '%s' and type eq 'StopAndQuarantineFile' and status eq 'Pending'" % MACHINES["desk-02"], ["desk-02"]),
    ("(status eq 'Succeeded' or machineId eq '%s') and type eq 'StopAndQuarantineFile'" % MACHINES["desk-01"], ["desk-01", "srv-01"]),
    ("status eq 'Succeeded' or (machineId eq '%s' and status eq 'Nope')" % MACHINES["desk-01"], ["srv-01"]),
    ("creationDateTimeUtc gt 2020-01-01T00:00:00Z", ["desk-01", "desk-02", "srv-01"]),
    ("creationDateTimeUtc ge 2018-08-01Z and creationDateTimeUtc lt 2020-01-01T00:00:00.1234567Z", []),
    ("creationDateTimeUtc le 2999-01-01T00:00:00.5Z", ["desk-01", "desk-02", "srv-01"]),
    ("requestor eq 'O''Brien@contoso.com'", []),
])
def test_action_filters(emu, three_actions, expr, expected):
    names = {v: k for k, v in three_actions.items()}
    got = [names[a["id"]] for a in values(get(emu, "/api/machineactions", **{"$filter": expr}))]
    assert sorted(got) == sorted(expected)


def test_requestor_and_id_filters(emu, three_actions):
    client_id = emu.client("full")["client_id"]
    assert len(values(get(emu, "/api/machineactions", **{"$filter": "requestor eq '%s'" % client_id}))) == 3
    one = values(get(emu, "/api/machineactions", **{"$filter": "id eq '%s'" % three_actions["desk-02"]}))
    assert [a["machineId"] for a in one] == [MACHINES["desk-02"]]


@pytest.mark.parametrize("expr", ["title eq 'x'", "computerDnsName eq 'desk-01.contoso.local'", "foo eq 'x'", "status eq",
                                  "status eq 'Pending' and", "(status eq 'Pending'", "creationDateTimeUtc gt '2020-01-01'",
                                  "lastUpdateDateTimeUtc gt 2020-01-01Z", "status eq 'it's'"])
@pytest.mark.usefixtures("three_actions")
def test_unsupported_or_malformed_filter_is_odata_error(emu, expr):
    odata_error_of(get(emu, "/api/machineactions", **{"$filter": expr}))


def test_top_skip_and_limits(emu, three_actions):
    assert len(values(get(emu, "/api/machineactions", **{"$top": "2"}))) == 2
    assert len(values(get(emu, "/api/machineactions", **{"$top": "10000"}))) == 3
    pages = [[a["id"] for a in values(get(emu, "/api/machineactions", **{"$skip": str(skip), "$top": "1"}))] for skip in range(4)]
    assert pages == [[three_actions["srv-01"]], [three_actions["desk-02"]], [three_actions["desk-01"]], []]
    assert "'10000' for Top query has been exceeded" in odata_error_of(get(emu, "/api/machineactions", **{"$top": "10001"}))
    assert "non-negative integer" in odata_error_of(get(emu, "/api/machineactions", **{"$top": "-1"}))
    odata_error_of(get(emu, "/api/machines", **{"$top": "10001"}))


def test_paging_with_next_link(emu):
    emu.reset(fleet={"count": 25, "prefix": "pg"}, config={"page_size": 10})
    seen = []
    url = emu.url + "/api/machines?$filter=startswith(computerDnsName,'pg-')"
    pages = 0
    while url:
        resp = emu.call("GET", url[len(emu.url):])
        body = resp.json()
        seen += [m["computerDnsName"] for m in body["value"]]
        url = body.get("@odata.nextLink")
        pages += 1
        assert url is None or url.startswith(emu.url + "/api/machines?")
    assert pages == 3 and len(seen) == 25 and len(set(seen)) == 25
    assert seen[0] == "pg-0025.contoso.local"  # onboarded last: newest first
    # With $top there is no nextLink.
    body = get(emu, "/api/machines", **{"$top": "30"}).json()
    assert len(body["value"]) == 30 and "@odata.nextLink" not in body


def test_fleet_ids_are_deterministic(emu):
    emu.reset(fleet={"count": 3})
    first = [m["id"] for m in values(get(emu, "/api/machines", **{"$filter": "startswith(computerDnsName,'fleet-')"}))]
    emu.reset(fleet={"count": 3})
    again = [m["id"] for m in values(get(emu, "/api/machines", **{"$filter": "startswith(computerDnsName,'fleet-')"}))]
    assert first == again and len(first) == 3
    assert values(get(emu, "/api/files/%s/machines" % DEMO_SHA1))[0]["computerDnsName"] == "fleet-0003.contoso.local"


MACHINE_KEYS = ["id", "computerDnsName", "firstSeen", "lastSeen", "osPlatform", "onboardingStatus", "osProcessor", "version", "osBuild",
                "lastIpAddress", "lastExternalIpAddress", "healthStatus", "rbacGroupName", "rbacGroupId", "riskScore", "aadDeviceId",
                "machineTags", "exposureLevel", "deviceValue", "ipAddresses", "osArchitecture", "isPotentialDuplication",
                "mergedIntoMachineId"]


def test_machines_entity_and_lookup(emu):
    resp = get(emu, "/api/machines")
    body = resp.json()
    assert body["@odata.context"] == emu.url + "/api/$metadata#Machines"
    assert len(body["value"]) == 10 and list(body["value"][0]) == MACHINE_KEYS
    one = emu.call("GET", "/api/machines/" + MACHINES["srv-01"])
    assert one.status_code == 200 and one.json()["osPlatform"] == "WindowsServer2022"
    assert one.json()["@odata.context"] == emu.url + "/api/$metadata#Machines/$entity"
    by_name = emu.call("GET", "/api/machines/desk-02.contoso.local").json()
    assert by_name["id"] == MACHINES["desk-02"]  # the live record, not the merged duplicate
    assert error_of(emu.call("GET", "/api/machines/" + "f" * 40)) == (404, "ResourceNotFound", "Machine %s was not found" % ("f" * 40))


@pytest.mark.parametrize("expr, expected", [
    ("computerDnsName eq 'desk-01.contoso.local'", ["desk-01.contoso.local"]),
    ("computerDnsName eq 'DESK-01.contoso.local'", ["desk-01.contoso.local"]),
    ("startswith(computerDnsName,'desk-01')", ["desk-01.contoso.local", "desk-010.contoso.local"]),
    ("startswith(computerDnsName,'web-01.')", ["web-01.contoso.local", "web-01.fabrikam.local"]),
    ("computerDnsName eq 'desk-02.contoso.local'", ["desk-02.contoso.local", "desk-02.contoso.local"]),
    ("osPlatform eq 'Linux'", ["lnx-01.contoso.local"]),
    ("healthStatus ne 'Active' and riskScore eq 'Medium'", ["offline-01.contoso.local"]),
    ("riskScore eq 'High'", ["srv-01.contoso.local", "fail-01.contoso.local"]),
    ("exposureLevel eq 'High' and rbacGroupId eq 201", ["srv-01.contoso.local"]),
    ("lastSeen lt 2026-01-01Z", ["desk-02.contoso.local"]),
    ("machineTags/any(t: t eq 'vip')", ["desk-02.contoso.local"]),
    ("id eq '%s'" % MACHINES["lnx-01"], ["lnx-01.contoso.local"]),
])
def test_machine_filters(emu, expr, expected):
    got = [m["computerDnsName"] for m in values(get(emu, "/api/machines", **{"$filter": expr}))]
    assert sorted(got) == sorted(expected)


def test_machine_filter_on_unfilterable_property(emu):
    assert odata_error_of(get(emu, "/api/machines", **{"$filter": "osProcessor eq 'x64'"})) == \
        "The query specified in the URI is not valid. The property 'osProcessor' cannot be used in the $filter query option."


def test_files(emu):
    resp = emu.call("GET", "/api/files/" + DEMO_SHA1)
    assert resp.status_code == 200
    entity = resp.json()
    assert entity["@odata.context"] == emu.url + "/api/$metadata#Files/$entity"
    assert entity["sha1"] == DEMO_SHA1 and len(entity["sha256"]) == 64 and len(entity["md5"]) == 32
    assert emu.call("GET", "/api/files/" + entity["sha256"]).json()["sha1"] == DEMO_SHA1
    assert error_of(emu.call("GET", "/api/files/" + "a" * 40))[:2] == (404, "ResourceNotFound")
    assert error_of(emu.call("GET", "/api/files/nothex"))[:2] == (400, "InvalidHashValue")


def test_file_machines(emu):
    names = sorted(m["computerDnsName"] for m in values(emu.call("GET", "/api/files/%s/machines" % DEMO_SHA1)))
    assert "desk-01.contoso.local" in names and "desk-010.contoso.local" not in names and len(names) == 8
    assert [m["id"] for m in values(emu.call("GET", "/api/files/%s/machines" % SECOND_SHA1))] == [MACHINES["desk-02"]]
    assert values(emu.call("GET", "/api/files/%s/machines" % ("b" * 40))) == []
    sha256 = emu.call("GET", "/api/files/" + DEMO_SHA1).json()["sha256"]
    assert error_of(emu.call("GET", "/api/files/%s/machines" % sha256))[:2] == (400, "InvalidHashValue")


def test_odata_error_shape_is_asp_net_odata_not_mde(emu):
    resp = get(emu, "/api/machineactions", **{"$stop": "2"})
    # Verbatim from microsoft-365-docs #12682: empty code, details, no target.
    assert resp.json() == {"error": {"code": "", "message": "The query specified in the URI is not valid. Custom query option '$stop' "
                                     "that starts with '$' is not supported.", "details": []}}
    assert resp.headers["request-id"]
    entry = [e for e in emu.log() if e["path"] == "/api/machineactions"][-1]
    assert entry["status"] == 400 and entry["error_code"] == ""


@pytest.mark.parametrize("params, words", [
    ({"$expand": "x"}, "Query option 'Expand' is not allowed."),
    ({"$Top": "1"}, "Custom query option '$Top'"),
    ({"$skip": "x"}, "Invalid value 'x' for $skip query option found."),
    ({"$orderby": "title"}, "The property 'title' cannot be used in the $orderby query option."),
    ({"$orderby": "nope desc"}, "Could not find a property named 'nope' on type 'microsoft.windowsDefenderATP.api.MachineAction'."),
    ({"$orderby": "status sideways"}, "Syntax error at position 0 in 'status sideways'."),
    ({"$select": "id,nope"}, "Could not find a property named 'nope'"),
    ({"$count": "maybe"}, "'maybe' is not a valid count option."),
])
@pytest.mark.usefixtures("three_actions")
def test_invalid_query_options(emu, params, words):
    assert words in odata_error_of(get(emu, "/api/machineactions", **params))


def test_other_query_parameters_are_ignored(emu, three_actions):
    assert len(values(get(emu, "/api/machineactions", **{"api-version": "1.0", "$count": "true"}))) == len(three_actions)


def test_orderby_and_select(emu, three_actions):
    ordered = values(get(emu, "/api/machineactions", **{"$orderby": "status desc,machineId"}))
    assert [a["status"] for a in ordered] == ["Succeeded", "Pending", "Pending"]
    assert [a["machineId"] for a in ordered[1:]] == sorted([MACHINES["desk-01"], MACHINES["desk-02"]])
    body = get(emu, "/api/machineactions", **{"$select": "id,status", "$orderby": "machineId asc"}).json()
    assert body["@odata.context"].endswith("#MachineActions(id,status)")
    assert all(set(a) == {"id", "status"} for a in body["value"]) and len(body["value"]) == 3
    machines = values(get(emu, "/api/machines", **{"$orderby": "lastSeen", "$select": "computerDnsName,lastSeen"}))
    assert [m["lastSeen"] for m in machines] == sorted(m["lastSeen"] for m in machines)
    assert "single value of primitive type" in odata_error_of(get(emu, "/api/machines", **{"$orderby": "machineTags"}))


def test_list_order_newest_first_by_default_and_switchable(emu, three_actions):
    created = list(three_actions.values())
    indicator = {"indicatorType": "FileSha1", "action": "Audit", "generateAlert": True, "title": "t", "description": "d"}
    for value in ("a" * 40, "b" * 40):
        assert emu.call("POST", "/api/indicators", json=dict(indicator, indicatorValue=value)).status_code == 200
    actions = values(get(emu, "/api/machineactions"))
    stamps = [a["creationDateTimeUtc"] for a in actions]
    assert [a["id"] for a in actions] == created[::-1] and stamps == sorted(stamps, reverse=True)
    machines = values(get(emu, "/api/machines"))
    assert [m["firstSeen"] for m in machines] == sorted((m["firstSeen"] for m in machines), reverse=True)
    assert [i["indicatorValue"] for i in values(get(emu, "/api/indicators"))] == ["b" * 40, "a" * 40]
    file_machines = values(get(emu, "/api/files/%s/machines" % DEMO_SHA1))
    assert [m["firstSeen"] for m in file_machines] == sorted((m["firstSeen"] for m in file_machines), reverse=True)

    emu.config(list_order="oldest_first")
    assert [a["id"] for a in values(get(emu, "/api/machineactions"))] == created
    assert [m["id"] for m in values(get(emu, "/api/machines"))] == [m["id"] for m in machines[::-1]]
    assert [i["indicatorValue"] for i in values(get(emu, "/api/indicators"))] == ["a" * 40, "b" * 40]
    # Paging follows the order in both directions: the pages, put together, are the whole list.
    pages = [values(get(emu, "/api/machines", **{"$top": "3", "$skip": str(skip)})) for skip in range(0, 12, 3)]
    assert [m["id"] for page in pages for m in page] == [m["id"] for m in machines[::-1]]


def test_paging_with_skip_is_consistent_newest_first(emu):
    emu.reset(fleet={"count": 7, "prefix": "nf"})
    expr = {"$filter": "startswith(computerDnsName,'nf-')"}
    whole = [m["computerDnsName"] for m in values(get(emu, "/api/machines", **expr))]
    assert whole == ["nf-%04d.contoso.local" % n for n in range(7, 0, -1)]
    paged = [m["computerDnsName"] for skip in (0, 3, 6) for m in values(get(emu, "/api/machines", **expr, **{"$top": "3", "$skip": str(skip)}))]
    assert paged == whole


def test_file_machines_can_ignore_top_and_skip(emu):
    emu.reset(fleet={"count": 12, "prefix": "fm"}, config={"page_size": 5})
    path = "/api/files/%s/machines" % DEMO_SHA1
    paged = get(emu, path, **{"$top": "4", "$skip": "4"}).json()
    assert len(paged["value"]) == 4
    first = get(emu, path).json()
    assert len(first["value"]) == 5 and "$skip=5" in first["@odata.nextLink"]  # by default: paged like the other lists

    emu.config(files_machines_ignore_skip=True)
    whole = values(get(emu, path))
    assert len(whole) == 20  # 8 seeded + 12 fleet, in one answer, page_size or not
    for params in ({"$top": "4"}, {"$top": "4", "$skip": "4"}, {"$skip": "100"}):
        body = get(emu, path, **params).json()
        assert [m["id"] for m in body["value"]] == [m["id"] for m in whole] and "@odata.nextLink" not in body
    # Still checked, though ignored; the other lists keep paging.
    odata_error_of(get(emu, path, **{"$top": "-1"}))
    assert len(values(get(emu, "/api/machines", **{"$top": "4", "$skip": "4"}))) == 4
