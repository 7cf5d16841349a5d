# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.secops.defender.plugins.module_utils import _machines
from ansible_collections.secops.defender.plugins.module_utils._errors import DefenderError


class FakeClient:
    def __init__(self, pages=None, fail=None):
        self.queries = []
        self.pages = pages or {}
        self.fail = fail

    def get_all(self, path, params=None, page_size=None):
        self.queries.append((path, dict(params or {}), page_size))
        if self.fail:
            raise self.fail
        return list(self.pages.get(path, []))


@pytest.mark.parametrize("dns_name, name, expected", [
    ("desk-01.contoso.local", "desk-01", True),
    ("DESK-01.Contoso.Local", "desk-01", True),
    ("desk-01", "desk-01", True),
    ("desk-01.contoso.local", "desk-01.contoso.local", True),
    ("desk-010.contoso.local", "desk-01", False),
    ("xdesk-01.contoso.local", "desk-01", False),
    ("desk-01.contoso.local", "desk-01.contoso", False),
    ("desk-01.contoso.local.", "desk-01.contoso.local", True),
    ("", "desk-01", False),
])
def test_matches_name_is_exact(dns_name, name, expected):
    assert _machines.matches_name({"computerDnsName": dns_name}, name) is expected


def test_name_clause_cannot_break_out_of_the_literal():
    # normalize_name refuses quotes; the clause doubles them anyway (defence in depth).
    assert _machines.name_clause("o'brien") == "(startswith(computerDnsName,'o''brien.') or computerDnsName eq 'o''brien')"


@pytest.mark.parametrize("value", ["", " ", "a b", "a'b", "a*", "a..b", ".a", None, 5])
def test_normalize_name_refuses(value):
    with pytest.raises(ValueError):
        _machines.normalize_name(value)


def test_normalize_name_lowers_and_drops_trailing_dot():
    assert _machines.normalize_name(" Desk-01.Contoso.Local. ") == "desk-01.contoso.local"


def test_find_by_names_chunks_queries():
    names = [f"host-{i}" for i in range(_machines.NAMES_PER_QUERY + 1)]
    client = FakeClient({"/api/machines": [{"id": "1", "computerDnsName": "host-0.a"}, {"id": "2", "computerDnsName": "host-15"}]})
    found = _machines.find_by_names(client, names, ["healthStatus eq 'Active'"], page_size=50)
    assert len(client.queries) == 2
    assert client.queries[1][1]["$filter"] == "(startswith(computerDnsName,'host-15.') or computerDnsName eq 'host-15') and healthStatus eq 'Active'"
    assert client.queries[0][2] == 50
    assert [m["id"] for m in found["host-0"]] == ["1"]
    assert [m["id"] for m in found["host-15"]] == ["2"]
    assert found["host-1"] == []


def test_split_duplicates():
    records = [{"id": "a"}, {"id": "b", "isPotentialDuplication": True}, {"id": "c", "mergedIntoMachineId": "a"}]
    kept, left_out = _machines.split_duplicates(records, False)
    assert [m["id"] for m in kept] == ["a"] and [m["id"] for m in left_out] == ["b", "c"]
    assert _machines.split_duplicates(records, True) == (records, [])


def test_list_machines_404_is_empty_other_errors_raise():
    assert _machines.list_machines(FakeClient(fail=DefenderError("none", status=404, code="NotFound"))) == []
    with pytest.raises(DefenderError):
        _machines.list_machines(FakeClient(fail=DefenderError("no", status=403, code="Forbidden")))
