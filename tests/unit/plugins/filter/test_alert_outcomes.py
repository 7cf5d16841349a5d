# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.secops.defender.plugins.filter.alert_outcomes import FilterModule, alert_outcomes

SHA1 = "87662bc3d60e4200ceaf7aae249d1c343f4b83c9"
M1 = "643d53c73e952687f5e3427b9b75da74f71e616d"
M2 = "bff6c0b43e73f0a73e9eaec85d7c4094524a1fae"


def event(*alerts):
    return {"sha1": SHA1, "alerts": list(alerts), "machine_ids": [a["machine_id"] for a in alerts if a.get("machine_id")]}


def test_each_alert_is_told_its_own_devices_outcome():
    report = {"machines": [
        {"machine_id": M1.upper(), "computer_dns_name": "srv-01.contoso.local", "status": "Succeeded", "action_id": "a-1"},
        {"machine_id": M2, "status": "Failed", "action_id": "a-2", "message": "action a-2 ended Failed (errorHResult -5)"},
    ]}
    updates = alert_outcomes(event({"id": "da1", "machine_id": M1}, {"id": "da2", "machine_id": M2,
                                                                     "computer_dns_name": "web-01"}), report, "Resolved")
    assert updates == [
        {"id": "da1", "comment": f"secops.defender: StopAndQuarantineFile {SHA1} on srv-01.contoso.local: Succeeded (action a-1)",
         "status": "Resolved"},
        {"id": "da2", "comment": f"secops.defender: StopAndQuarantineFile {SHA1} on web-01: Failed (action a-2): "
                                 "action a-2 ended Failed (errorHResult -5)"},
    ]


def test_an_alert_without_a_device_or_an_outcome_says_so():
    updates = alert_outcomes(event({"id": "da1"}, {"id": "da2", "machine_id": M2}), {"machines": []})
    assert updates[0]["comment"] == f"secops.defender: file {SHA1} not quarantined: the alert names no device"
    assert "no outcome (the runbook did not reach this device)" in updates[1]["comment"]
    assert all("status" not in u for u in updates)


def test_no_status_when_asked_for_none_and_no_report_at_all():
    updates = alert_outcomes(event({"id": "da1", "machine_id": M1}), None, "")
    assert updates == [{"id": "da1", "comment": mock_text(M1)}]


def mock_text(machine):
    return f"secops.defender: StopAndQuarantineFile {SHA1} on {machine}: no outcome (the runbook did not reach this device)"


@pytest.mark.parametrize("bad", [None, {}, {"sha1": SHA1}, {"alerts": []}, "text"])
def test_anything_but_a_file_event_is_a_clear_error(bad):
    with pytest.raises(AnsibleFilterError) as info:
        alert_outcomes(bad)
    assert "file event of secops.defender.alerts" in str(info.value)


def test_the_filter_is_registered():
    assert FilterModule().filters()["alert_outcomes"] is alert_outcomes
