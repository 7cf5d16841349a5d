# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""StopAndQuarantineFile, the MachineAction entity, its lifecycle and cancel (reference §1, §2, §6, §8)."""

from __future__ import annotations

import json
import re
import time

import pytest
from conftest import DEMO_SHA1, MACHINES, SECOND_SHA1, error_of

ACTION_KEYS = ["@odata.context", "id", "type", "title", "requestor", "requestorComment", "status", "machineId", "computerDnsName",
               "creationDateTimeUtc", "lastUpdateDateTimeUtc", "cancellationRequestor", "cancellationComment", "cancellationDateTimeUtc",
               "errorHResult", "scope", "externalId", "requestSource", "relatedFileInfo", "commands", "troubleshootInfo"]
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z$")
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def wait_status(emu, action_id, wanted, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        action = emu.call("GET", "/api/machineactions/" + action_id).json()
        if action["status"] == wanted or time.monotonic() > deadline:
            return action
        time.sleep(0.02)


def test_created_action_has_the_full_field_set_in_order(emu):
    resp = emu.quarantine("desk-01", comment="Stop and quarantine file on machine due to alert 441688558380765161_2136280442")
    assert resp.status_code == 201
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    action = resp.json()
    assert list(action) == ACTION_KEYS
    assert action["@odata.context"] == emu.url + "/api/$metadata#MachineActions/$entity"
    assert GUID.match(action["id"])
    assert action["type"] == "StopAndQuarantineFile"
    assert DEMO_SHA1 in action["title"] and "desk-01.contoso.local" in action["title"]
    assert action["requestor"] == emu.client("full")["client_id"]
    assert action["requestorComment"].startswith("Stop and quarantine file on machine")
    assert action["status"] == "Pending"
    assert action["machineId"] == MACHINES["desk-01"] and action["computerDnsName"] == "desk-01.contoso.local"
    assert TIMESTAMP.match(action["creationDateTimeUtc"]) and TIMESTAMP.match(action["lastUpdateDateTimeUtc"])
    assert action["cancellationRequestor"] is None and action["cancellationComment"] is None and action["cancellationDateTimeUtc"] is None
    assert action["errorHResult"] == 0 and action["scope"] is None and action["externalId"] is None
    assert action["requestSource"] == "PublicApi"
    assert action["relatedFileInfo"] == {"fileIdentifier": DEMO_SHA1, "fileIdentifierType": "Sha1"}
    assert action["commands"] == [] and action["troubleshootInfo"] is None
    got = emu.call("GET", "/api/machineactions/" + action["id"])
    assert got.status_code == 200 and list(got.json()) == ACTION_KEYS


def test_v1_prefix_is_the_same_api(emu):
    resp = emu.call("POST", "/api/v1.0/machines/%s/StopAndQuarantineFile" % MACHINES["srv-01"], json={"Comment": "c", "Sha1": DEMO_SHA1})
    assert resp.status_code == 201
    assert emu.call("GET", "/api/v1.0/machineactions/" + resp.json()["id"]).status_code == 200


@pytest.mark.parametrize("body, expected", [
    ({"Comment": "c", "sha1": DEMO_SHA1}, (400, "MissingRequiredParameter", "Parameter Sha1 is missing.")),
    ({"comment": "c", "Sha1": DEMO_SHA1}, (400, "MissingRequiredParameter", "Parameter Comment is missing.")),
    ({"Comment": "c", "SHA1": DEMO_SHA1}, (400, "MissingRequiredParameter", "Parameter Sha1 is missing.")),
    ({"Comment": "c", "Sha1": "xyz"}, (400, "InvalidHashValue", "Hash value xyz is invalid.")),
    ({"Comment": "c", "Sha1": DEMO_SHA1 + "00"}, (400, "InvalidHashValue", "Hash value %s00 is invalid." % DEMO_SHA1)),
    ({"Comment": "", "Sha1": DEMO_SHA1}, (400, "InvalidInput", "Invalid input Comment.")),
    ({"Comment": "c", "Sha1": 5}, (400, "InvalidRequestBody", "Request body is incorrect")),
])
def test_body_errors(emu, body, expected):
    resp = emu.call("POST", "/api/machines/%s/StopAndQuarantineFile" % MACHINES["desk-01"], json=body)
    assert error_of(resp) == expected
    assert GUID.match(resp.json()["error"]["target"])
    assert resp.headers["request-id"] == resp.json()["error"]["target"]


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b"", b"\"text\""])
def test_not_a_json_object(emu, raw):
    resp = emu.call("POST", "/api/machines/%s/StopAndQuarantineFile" % MACHINES["desk-01"], data=raw,
                    headers={"Content-Type": "application/json"})
    assert error_of(resp)[:2] == (400, "InvalidRequestBody")


def test_machine_platform_and_file_errors(emu):
    assert error_of(emu.quarantine("0" * 40)) == (404, "ResourceNotFound", "Machine %s was not found" % ("0" * 40))
    assert error_of(emu.quarantine("lnx-01")) == (400, "OsPlatformNotSupported", "OS Platform Linux isn't supported for this action.")
    assert error_of(emu.quarantine("desk-010")) == (404, "ResourceNotFound", "Sha1 %s was not found in machine %s"
                                                    % (DEMO_SHA1, MACHINES["desk-010"]))


def test_duplicate_while_active_is_rejected_and_other_file_is_not(emu):
    first = emu.quarantine("desk-02")
    assert first.status_code == 201
    assert error_of(emu.quarantine("desk-02")) == (400, "ActiveRequestAlreadyExists", "Action is already in progress")
    assert emu.quarantine("desk-02", sha1=SECOND_SHA1).status_code == 201
    assert emu.quarantine("desk-01").status_code == 201
    created = [e for e in emu.log() if e["api"] == "POST /api/machines/{id}/StopAndQuarantineFile" and e["status"] == 201]
    assert len(created) == 3 and all(e["action_id"] for e in created)


def test_lifecycle_pending_inprogress_succeeded_then_new_request_allowed(emu):
    emu.config(time_scale=50, pending_seconds=5, in_progress_seconds=10)
    action = emu.quarantine("desk-01").json()
    in_progress = wait_status(emu, action["id"], "InProgress")
    assert in_progress["status"] == "InProgress"
    assert in_progress["lastUpdateDateTimeUtc"] > action["creationDateTimeUtc"]
    done = wait_status(emu, action["id"], "Succeeded")
    assert done["status"] == "Succeeded" and done["errorHResult"] == 0
    assert emu.quarantine("desk-01").status_code == 201  # terminal actions do not block a new one


def test_failed_outcome_carries_error_hresult(emu):
    emu.config(time_scale=1000)
    action = emu.quarantine("fail-01").json()
    done = wait_status(emu, action["id"], "Failed")
    assert done["status"] == "Failed" and done["errorHResult"] == -2147024894


def test_offline_machine_stays_pending_then_times_out(emu):
    emu.config(time_scale=1000, offline_timeout_seconds=200)
    action = emu.quarantine("offline-01").json()
    time.sleep(0.05)  # 50 emulated seconds: an online machine would be InProgress by now
    assert emu.call("GET", "/api/machineactions/" + action["id"]).json()["status"] == "Pending"
    done = wait_status(emu, action["id"], "TimeOut")
    assert done["status"] == "TimeOut"


def test_cancel(emu):
    action = emu.quarantine("desk-01").json()
    assert error_of(emu.call("POST", "/api/machineactions/%s/cancel" % action["id"], json={"comment": "x"}))[:2] == \
        (400, "MissingRequiredParameter")
    resp = emu.call("POST", "/api/machineactions/%s/cancel" % action["id"], json={"Comment": "false positive"})
    assert resp.status_code == 200
    cancelled = resp.json()
    assert cancelled["status"] == "Cancelled"
    assert cancelled["cancellationComment"] == "false positive"
    assert cancelled["cancellationRequestor"] == emu.client("full")["client_id"]
    assert TIMESTAMP.match(cancelled["cancellationDateTimeUtc"])
    status, code, message = error_of(emu.call("POST", "/api/machineactions/%s/cancel" % action["id"], json={"Comment": "again"}))
    assert (status, code) == (400, "BadRequest") and "final state" in message
    assert error_of(emu.call("POST", "/api/machineactions/00000000-0000-4000-8000-000000000000/cancel",
                             json={"Comment": "x"}))[:2] == (404, "ResourceNotFound")


def test_get_unknown_action_is_404(emu):
    assert error_of(emu.call("GET", "/api/machineactions/00000000-0000-4000-8000-000000000000"))[:2] == (404, "ResourceNotFound")


def test_forced_status_control(emu):
    action = emu.quarantine("desk-01").json()
    resp = emu.control("POST", "actions/%s/status" % action["id"], {"status": "Failed", "errorHResult": -1})
    assert resp.status_code == 200
    got = emu.call("GET", "/api/machineactions/" + action["id"]).json()
    assert got["status"] == "Failed" and got["errorHResult"] == -1


def test_seeded_actions_of_other_types(emu):
    seed = emu.control("GET", "state").json()
    seed_doc = {"tenant_id": emu.tenant, "clients": [], "machines": seed["machines"], "files": seed["files"]}
    with open(emu.info["seed"], encoding="utf-8") as handle:
        seed_doc["clients"] = json.load(handle)["clients"]
    seed_doc["actions"] = [
        {"type": "RunAntiVirusScan", "scope": "Quick", "machineId": MACHINES["desk-01"], "status": "Succeeded",
         "requestor": "Analyst@contoso.com", "creationDateTimeUtc": "2026-11-01T10:00:00.1234567Z"},
        {"id": "44cffc15-0e3d-4cbf-96aa-bf76f9b27f5e", "machineId": MACHINES["desk-02"], "status": "Pending", "sha1": DEMO_SHA1,
         "age_seconds": 120},
    ]
    emu.reset(seed=seed_doc)
    listed = emu.call("GET", "/api/machineactions").json()["value"]
    assert sorted(a["type"] for a in listed) == ["RunAntiVirusScan", "StopAndQuarantineFile"]
    scan = [a for a in listed if a["type"] == "RunAntiVirusScan"][0]
    assert scan["scope"] == "Quick" and scan["relatedFileInfo"] is None
    assert scan["creationDateTimeUtc"] == "2026-11-01T10:00:00.1234567Z"
    # The seeded pending action blocks a duplicate and can be cancelled.
    assert error_of(emu.quarantine("desk-02"))[:2] == (400, "ActiveRequestAlreadyExists")
    assert emu.quarantine("desk-01").status_code == 201  # a scan does not block a quarantine
    resp = emu.call("POST", "/api/machineactions/44cffc15-0e3d-4cbf-96aa-bf76f9b27f5e/cancel", json={"Comment": "x"})
    assert resp.json()["status"] == "Cancelled"


def test_duplicate_can_answer_with_the_pending_action(emu):
    emu.config(duplicate_response="existing")
    first = emu.quarantine("desk-01").json()
    again = emu.quarantine("desk-01")
    assert again.status_code == 201 and again.json()["id"] == first["id"]
    assert len(emu.control("GET", "state").json()["actions"]) == 1


def test_duplicate_scope_device_blocks_any_file(emu):
    emu.config(duplicate_scope="device")
    first = emu.quarantine("desk-02").json()
    assert error_of(emu.quarantine("desk-02", sha1=SECOND_SHA1)) == (400, "ActiveRequestAlreadyExists", "Action is already in progress")
    assert error_of(emu.quarantine("desk-02"))[:2] == (400, "ActiveRequestAlreadyExists")
    assert emu.quarantine("desk-01").status_code == 201  # another device is not blocked
    emu.control("POST", "actions/%s/status" % first["id"], {"status": "Succeeded"})
    assert emu.quarantine("desk-02", sha1=SECOND_SHA1).status_code == 201  # a terminal action no longer blocks


def test_duplicate_scope_device_existing_answers_the_other_files_action(emu):
    emu.config(duplicate_scope="device", duplicate_response="existing")
    first = emu.quarantine("desk-02").json()
    again = emu.quarantine("desk-02", sha1=SECOND_SHA1)
    assert again.status_code == 201
    body = again.json()
    assert body["id"] == first["id"] and body["relatedFileInfo"]["fileIdentifier"] == DEMO_SHA1  # not the file asked for
    assert body["@odata.context"].endswith("$metadata#MachineActions/$entity")
    assert len(emu.control("GET", "state").json()["actions"]) == 1
    entry = [e for e in emu.log() if e["api"] == "POST /api/machines/{id}/StopAndQuarantineFile"][-1]
    assert entry["status"] == 201 and entry["action_id"] is None  # nothing was created


def test_duplicate_scope_device_prefers_the_same_file(emu):
    # Two actions pending on one device (made under the file scope), then the device scope.
    other = emu.quarantine("desk-02", sha1=SECOND_SHA1).json()
    same = emu.quarantine("desk-02").json()
    emu.config(duplicate_scope="device", duplicate_response="existing")
    assert emu.quarantine("desk-02").json()["id"] == same["id"]
    assert emu.quarantine("desk-02", sha1=SECOND_SHA1).json()["id"] == other["id"]


def test_duplicate_scope_config_is_checked(emu):
    assert emu.control("GET", "config").json()["duplicate_scope"] == "file"
    resp = emu.control("POST", "config", {"duplicate_scope": "tenant"})
    assert resp.status_code == 400 and "'file', 'device'" in resp.json()["error"]["message"]
