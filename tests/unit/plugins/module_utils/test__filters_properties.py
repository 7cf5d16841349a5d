# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Property-based tests of the OData filter builders: whatever a name or id holds, it stays inside its literal."""

from __future__ import annotations

import re

from hypothesis import given, strategies as st

from ansible_collections.secops.defender.plugins.module_utils import _actions, _machines

# Any text without control characters (odata_string refuses those with its own message).
text = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=60)
quotes = st.text(alphabet="'\"()/?#&=% .-aA0", min_size=1, max_size=30)


def split_filter(flt: str) -> tuple[str, list]:
    """OData's own reading of a filter: (the text outside literals with each literal as ?, the literals' values)."""
    skeleton, values, i = [], [], 0
    while i < len(flt):
        if flt[i] != "'":
            skeleton.append(flt[i])
            i += 1
            continue
        value, i = [], i + 1
        while True:
            assert i < len(flt), f"unterminated literal in {flt!r}"
            if flt[i] == "'" and flt[i + 1:i + 2] == "'":
                value.append("'")
                i += 2
            elif flt[i] == "'":
                i += 1
                break
            else:
                value.append(flt[i])
                i += 1
        skeleton.append("?")
        values.append("".join(value))
    return "".join(skeleton), values


@given(st.one_of(text, quotes))
def test_name_clause_keeps_any_name_inside_its_literals(name):
    skeleton, values = split_filter(_machines.name_clause(name))
    if "." in name:
        assert (skeleton, values) == ("computerDnsName eq ?", [name])
    else:
        assert (skeleton, values) == ("(startswith(computerDnsName,?) or computerDnsName eq ?)", [name + ".", name])


@given(st.one_of(text, quotes))
def test_normalize_name_accepts_only_host_name_characters(value):
    try:
        name = _machines.normalize_name(value)
    except ValueError as exc:
        assert "is not a host name or FQDN" in str(exc)
        return
    assert re.fullmatch(r"[a-z0-9_][a-z0-9_.-]*", name) and "'" not in name


@given(st.one_of(text, quotes), st.one_of(text, quotes))
def test_action_filter_keeps_requestor_and_machine_inside_their_literals(requestor, machine_id):
    flt = _actions.action_filter(statuses=("Pending", "InProgress"), machine_id=machine_id, requestor=requestor)
    skeleton, values = split_filter(flt)
    assert skeleton == "type eq ? and machineId eq ? and requestor eq ? and (status eq ? or status eq ?)"
    assert values == ["StopAndQuarantineFile", machine_id, requestor, "Pending", "InProgress"]
