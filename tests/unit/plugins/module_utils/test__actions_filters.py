# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The optional parameters of action_filter/list_actions/ActionWatcher used by defender_machine_action_info."""

from __future__ import annotations

from ansible_collections.secops.defender.plugins.module_utils import _actions


class FakeClient:
    def __init__(self, answer=()):
        self.calls = []
        self.answer = list(answer)

    def get_all(self, path, params=None, **kwargs):
        self.calls.append((path, params, kwargs))
        return list(self.answer)

    def get(self, path, params=None):
        raise AssertionError("a list query was expected")


def test_default_type_is_unchanged():
    assert _actions.action_filter() == "type eq 'StopAndQuarantineFile'"


def test_any_type_and_requestor():
    assert _actions.action_filter(None) == ""
    assert _actions.action_filter(None, requestor="o'neil") == "requestor eq 'o''neil'"
    assert _actions.action_filter("Isolate", statuses=("Pending",), requestor="a") == \
        "type eq 'Isolate' and requestor eq 'a' and status eq 'Pending'"


def test_list_actions_leaves_out_an_empty_filter_and_passes_page_size():
    client = FakeClient()
    _actions.list_actions(client, "")
    _actions.list_actions(client, "status eq 'Pending'", page_size=5)
    assert client.calls == [("/api/machineactions", {}, {}),
                            ("/api/machineactions", {"$filter": "status eq 'Pending'"}, {"page_size": 5})]


def test_watcher_polls_actions_of_any_type():
    pending = {"a": {"id": "a", "type": "Isolate", "status": "Pending", "creationDateTimeUtc": "2026-11-28T10:00:00Z"},
               "b": {"id": "b", "type": "RunAntiVirusScan", "status": "Pending", "creationDateTimeUtc": "2026-11-28T10:00:00Z"}}
    client = FakeClient([{"id": "a", "status": "Succeeded"}, {"id": "b", "status": "Failed"}])
    watcher = _actions.ActionWatcher(client, pending, action_type=None)
    watcher.poll()
    assert client.calls[0][1]["$filter"] == "creationDateTimeUtc ge 2026-11-28T09:59:59Z"
    assert watcher.pending() == []
