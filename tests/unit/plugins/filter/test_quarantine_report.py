# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The quarantine_file role's filters: input checks, targets, the report and its CSV."""

from __future__ import annotations

import csv
import importlib
import io

import pytest
import yaml

from ansible_collections.secops.defender.plugins.filter.quarantine_report import (
    quarantine_inputs,
    quarantine_report,
    quarantine_report_csv,
    quarantine_targets,
)

SHA1 = "87662bc3d60e4200ceaf7aae249d1c343f4b83c9"
SHA256 = "22dc653dfb0a14751702873d2238e78bff661f0003fec84fb3dc47744b9657e3"
DESK, SRV, LAPTOP, OTHER = "c" * 40, "d" * 40, "e" * 40, "f" * 40
CLI_NAMES = {key: f"-e {key}" for key in ("sha1", "comment", "machine_names", "machine_ids", "everywhere_seen", "wait",
                                          "wait_timeout", "block_everywhere", "dry_run")}
ROLE_INPUTS = {"sha1": SHA1.upper(), "comment": " INC-4711 ", "machine_ids": [DESK.upper()], "machine_names": [],
               "everywhere_seen": False, "wait": True, "wait_timeout": 600, "poll_interval": 10, "batch_size": 100,
               "max_machines": 1000, "skip_if_succeeded_within": "24h", "block_everywhere": False,
               "indicator_title": "Blocked", "dry_run": False, "fail_on_error": True, "stamp_job": True,
               "report_path": None}


def errors_of(**changes):
    return quarantine_inputs({**ROLE_INPUTS, **changes})["errors"]


# --- quarantine_inputs ------------------------------------------------------------------------
def test_good_inputs_are_normalized():
    checked = quarantine_inputs({**ROLE_INPUTS, "machine_ids": f"{DESK.upper()}, {SRV};{DESK}", "machine_names": "desk-01 srv-01",
                                 "wait": "yes", "dry_run": "False", "wait_timeout": "90", "skip_if_succeeded_within": 0})
    assert checked["errors"] == []
    assert checked["sha1"] == SHA1 and checked["comment"] == checked["comment_sent"] == "INC-4711"
    assert checked["machine_ids"] == [DESK, SRV] and checked["machine_names"] == ["desk-01", "srv-01"]
    assert checked["wait"] is True and checked["dry_run"] is False and checked["wait_timeout"] == 90.0
    assert checked["skip_if_succeeded_within"] == "0" and checked["job"] is None and checked["report_path"] is None


@pytest.mark.parametrize("value", ["ture", "maybe", "", 2, None])
def test_a_boolean_typo_is_an_error_naming_the_variable_the_user_set(value):
    # The bool filter turned 'ture' into False with a deprecation warning, and the device was quarantined.
    raw = {"sha1": SHA1, "comment": "x", "machine_ids": [DESK], "machine_names": [], "everywhere_seen": False,
           "dry_run": value}
    errors = quarantine_inputs(raw, names=CLI_NAMES)["errors"]
    assert errors == [f"-e dry_run must be true or false, not {value!r} (yes/no, on/off and 1/0 are accepted too); "
                      "nothing was sent."]
    assert errors_of(wait=value)[0].startswith("quarantine_file_wait must be true or false")


@pytest.mark.parametrize("changes, expected", [
    ({"sha1": SHA256}, "quarantine_file_sha1 looks like a SHA-256 (64 hex digits); StopAndQuarantineFile accepts SHA-1 "
                       "only. Use secops.defender.defender_indicator"),
    ({"sha1": "5d41402abc4b2a76b9719d911017c592"}, "quarantine_file_sha1 looks like an MD5"),
    ({"sha1": None}, "quarantine_file_sha1 is required"),
    ({"comment": "   "}, "quarantine_file_comment must not be empty: Defender records it"),
    ({"comment": None}, "quarantine_file_comment is required"),
    ({"machine_ids": ["desk-01.contoso.local"]}, "quarantine_file_machine_ids: 'desk-01.contoso.local' is not a Defender "
                                                 "device id (40 hexadecimal characters) but looks like a host name; give "
                                                 "host names in quarantine_file_machine_names."),
    ({"machine_ids": ["abc123"]}, "quarantine_file_machine_ids: 'abc123' has 6 hexadecimal characters"),
    ({"machine_ids": [], "machine_names": " , "}, "Nothing to act on: give quarantine_file_machine_names (host names), "
                                                  "quarantine_file_machine_ids"),
    ({"wait_timeout": "ten"}, "quarantine_file_wait_timeout must be a number greater than 0, not 'ten'."),
    ({"batch_size": 0}, "quarantine_file_batch_size must be a whole number greater than 0"),
    ({"batch_size": 1.5}, "quarantine_file_batch_size must be a whole number greater than 0"),
    ({"skip_if_succeeded_within": "a while"}, "quarantine_file_skip_if_succeeded_within 'a while' is not a duration"),
    ({"indicator_title": " "}, "quarantine_file_indicator_title must not be empty."),
    ({"report_path": "reports/INC-1"}, "quarantine_file_report_path must be an absolute path"),
    ({"report_path": "/no/such/dir/INC-1"}, "quarantine_file_report_path: the directory /no/such/dir does not exist"),
])
def test_each_bad_input_gets_its_own_message(changes, expected):
    errors = errors_of(**changes)
    assert len(errors) == 1 and errors[0].startswith(expected), errors


def test_messages_name_the_command_line_variables():
    raw = {"sha1": SHA256, "comment": "", "machine_ids": "desk-01", "machine_names": [], "everywhere_seen": "no"}
    errors = quarantine_inputs(raw, names=CLI_NAMES)["errors"]
    assert errors[0].startswith("-e sha1 looks like a SHA-256") and errors[1].startswith("-e comment must not be empty")
    assert "give host names in -e machine_names" in errors[2]
    assert not any("quarantine_file_" in e for e in errors)


def test_report_path_gives_a_json_and_a_csv_file(tmp_path):
    for given in (tmp_path / "INC-1", tmp_path / "INC-1.json", tmp_path / "INC-1.CSV"):
        assert quarantine_inputs({"report_path": str(given)})["report_path"] == {
            "json": str(tmp_path / "INC-1") + ".json", "csv": str(tmp_path / "INC-1") + ".csv"}


def test_the_awx_job_is_stamped_into_the_comment_once():
    checked = quarantine_inputs({"comment": "INC-4711", "job_id": 4242, "job_template_name": "Quarantine a file"})
    assert checked["comment_sent"] == "INC-4711 (AWX job 4242)"
    assert checked["job"] == {"id": "4242", "template_name": "Quarantine a file"}
    assert quarantine_inputs({"comment": "INC-4711 (AWX job 4242)", "job_id": 4242})["comment_sent"] == "INC-4711 (AWX job 4242)"
    unstamped = quarantine_inputs({"comment": "INC-4711", "job_id": 4242, "stamp_job": False})
    assert unstamped["comment_sent"] == "INC-4711" and unstamped["job"]["id"] == "4242"
    assert quarantine_inputs({"comment": "INC-4711", "job_id": ""})["job"] is None


# --- quarantine_targets -------------------------------------------------------------------------
def machine(machine_id, name):
    return {"id": machine_id, "computer_dns_name": name}


def test_targets_merge_ids_names_and_the_devices_that_saw_the_file():
    checked = quarantine_inputs({**ROLE_INPUTS, "machine_ids": [DESK], "machine_names": ["srv-01"]})
    by_name = {"changed": False, "machine_ids": [SRV], "machines": [machine(SRV, "srv-01.contoso.local")], "not_found": []}
    seen = {"machine_ids": [SRV.upper(), LAPTOP], "machines": [machine(LAPTOP, "laptop-7.contoso.local")]}
    targets = quarantine_targets(checked, by_name=by_name, seen=seen)
    assert targets == {"machine_ids": [DESK, SRV, LAPTOP], "errors": [],
                       "names": {SRV: "srv-01.contoso.local", LAPTOP: "laptop-7.contoso.local"}}
    assert quarantine_targets(checked, by_name={"skipped": True}, seen=None)["machine_ids"] == [DESK]


def test_an_ambiguous_name_names_the_role_variables_not_the_module_options():
    failed = {"failed": True, "msg": "... give the device id (machine_id), the FQDN, or allow_multiple=true ...",
              "not_found": ["no-such-host"], "candidates": [
                  {"name": "web-01", "id": SRV, "computer_dns_name": "web-01.contoso.local", "last_seen": "2026-11-27",
                   "health_status": "Active"},
                  {"name": "web-01", "id": OTHER, "computer_dns_name": "web-01.fabrikam.local", "last_seen": "2026-11-20",
                   "health_status": "Inactive"}]}
    errors = quarantine_targets({"machine_ids": []}, by_name=failed, names=CLI_NAMES)["errors"]
    assert errors[0].startswith("-e machine_names: 'web-01' matches 2 devices: web-01.contoso.local (" + SRV)
    assert "web-01.fabrikam.local (" + OTHER in errors[0]
    assert "Give the full name (FQDN) in -e machine_names, or the device id in -e machine_ids." in errors[0]
    assert errors[1].startswith("-e machine_names: no device matches 'no-such-host'")
    assert not any("allow_multiple" in e or "machine_id)" in e for e in errors)


def test_a_failed_lookup_and_too_many_devices_stop_before_sending():
    errors = quarantine_targets({"machine_ids": []}, seen={"failed": True, "msg": "Forbidden"})["errors"]
    assert errors == ["Listing the devices that have seen the file failed (quarantine_file_everywhere_seen=true): "
                      "Forbidden. Nothing was sent."]
    errors = quarantine_targets({"machine_ids": [DESK, SRV], "max_machines": 1})["errors"]
    assert errors[0].startswith("2 target devices is more than quarantine_file_max_machines (1); nothing was sent.")


# --- quarantine_report --------------------------------------------------------------------------
def action(action_id, machine_id, status="Pending", name=None, **extra):
    return {"id": action_id, "machine_id": machine_id, "status": status, "computer_dns_name": name,
            "creation_date_time_utc": "2026-11-28T12:00:00.1234567Z", "last_update_date_time_utc": "2026-11-28T12:00:09Z",
            "error_h_result": 0, **extra}


def context(*machine_ids, **changes):
    return {"sha1": SHA1, "comment": "INC-4711", "dry_run": False, "wait": True, "wait_timeout": 600.0,
            "block_everywhere": False, "machine_ids": list(machine_ids), "names": {}, "job": None, "report_files": None,
            **changes}


def batch(machine_ids, **result):
    defaults = {"changed": bool(result.get("created_machine_ids")), "machine_actions": [], "failed_machines": [],
                "not_sent_machine_ids": [], "created_machine_ids": [], "existing_machine_ids": []}
    return {"machine_ids": machine_ids, "result": {**defaults, **result}}


def test_report_after_waiting_on_our_actions_only():
    batches = [batch([DESK, SRV], machine_actions=[action("a1", DESK, name="desk-01"), action("a2", SRV, name="srv-01")],
                     created_machine_ids=[DESK], existing_machine_ids=[SRV])]
    before = quarantine_report(batches, context(DESK, SRV))
    assert before["pending_action_ids"] == ["a1", "a2"]
    waited = {"machine_actions": [action("a1", DESK, "Succeeded", name="desk-01"), action("a2", SRV, "Succeeded")],
              "timed_out_action_ids": []}
    report = quarantine_report(batches, context(DESK, SRV), waited=waited)
    assert report["counts"] == {"Succeeded": 2} and report["failed_machines"] == [] and report["failure_message"] is None
    assert report["new_actions"] == 1 and report["existing_actions"] == 1 and report["changed"]
    assert report["machines"][0] == {"machine_id": DESK, "computer_dns_name": "desk-01", "status": "Succeeded",
                                     "action_id": "a1", "new_action": True, "started": "2026-11-28T12:00:00.1234567Z",
                                     "finished": "2026-11-28T12:00:09Z"}
    assert report["summary"][:2] == [f"StopAndQuarantineFile {SHA1} on 2 device(s): 2 Succeeded",
                                     "Sent 1 new action(s); 1 device(s) already had one under way or done"]
    assert report["pending_action_ids"] == []


def test_an_app_level_failure_is_reported_once_and_no_device_counts_as_sent():
    # A client without Machine.StopAndQuarantine: the first batch fails its preflight, the second never runs.
    refused = batch([DESK, SRV], failed=True, error_code="MissingPermission",
                    msg="The token for this app cannot stop and quarantine files: it lacks Machine.StopAndQuarantine")
    report = quarantine_report([refused], context(DESK, SRV, LAPTOP, OTHER, names={DESK: "desk-01.contoso.local"}))
    assert report["counts"] == {"NotSent": 4} and report["not_sent_count"] == 4 and report["new_actions"] == 0
    assert report["stopped"]["code"] == "MissingPermission"
    assert [line for line in report["summary"] if "Machine.StopAndQuarantine" in line] == [
        "STOPPED: 4 device(s) not sent: The token for this app cannot stop and quarantine files: it lacks "
        "Machine.StopAndQuarantine"]
    assert not any(line.startswith("FAILED") for line in report["summary"])
    assert report["failure_message"].startswith("The run stopped before sending to 4 of 4 device(s): The token")
    assert f"Not sent: desk-01.contoso.local ({DESK}), {SRV}, {LAPTOP}, {OTHER}." in report["failure_message"]


def test_throttling_beyond_the_deadline_stops_the_run_and_the_device_that_met_it_is_not_sent():
    stopped = batch([DESK, SRV, LAPTOP], failed=True, error_code="TooManyRequests", status=429, retry_after=3600.0,
                    msg="Stopped sending: Throttled ... Run again after 2026-11-28T13:00:00Z",
                    machine_actions=[action("a1", DESK)], created_machine_ids=[DESK], not_sent_machine_ids=[LAPTOP],
                    failed_machines=[{"machine_id": SRV, "code": "TooManyRequests", "message": "Throttled"},
                                     {"machine_id": LAPTOP, "code": "NotSent", "message": "not sent: Throttled"}])
    report = quarantine_report([stopped], context(DESK, SRV, LAPTOP, OTHER),
                               waited={"machine_actions": [action("a1", DESK, "Succeeded")]})
    assert report["counts"] == {"NotSent": 3, "Succeeded": 1}
    assert report["stopped"]["retry_after"] == 3600.0
    assert all(m["message"].startswith("not sent: Stopped sending: Throttled") for m in report["failed_machines"])


def test_wait_outcomes_per_device():
    batches = [batch([DESK, SRV, LAPTOP, OTHER], machine_actions=[action(f"a{i}", m) for i, m in enumerate((DESK, SRV, LAPTOP, OTHER))],
                     created_machine_ids=[DESK, SRV, LAPTOP, OTHER])]
    waited = {"failed": True, "msg": "1 of 3 action(s) still not finished after wait_timeout (600 s): a1; the last poll "
                                     "failed: 503 Service Unavailable",
              "timed_out_action_ids": ["a1"],
              "machine_actions": [action("a0", DESK, "Failed", error_h_result=-2147024894), action("a1", SRV, "Pending"),
                                  action("a3", OTHER, "Cancelled", cancellation_comment="by the analyst"),
                                  action("foreign", "9" * 40, "Pending")]}
    report = quarantine_report(batches, context(DESK, SRV, LAPTOP, OTHER), waited=waited)
    by_id = {m["machine_id"]: m for m in report["machines"]}
    assert (by_id[DESK]["error_code"], by_id[DESK]["message"]) == ("Failed", "action a0 ended Failed (errorHResult -2147024894)")
    assert by_id[SRV]["error_code"] == "WaitTimeout"
    assert by_id[SRV]["message"] == "action a1 still Pending after wait_timeout (600 s); the last poll failed: 503 Service Unavailable"
    assert by_id[LAPTOP]["error_code"] == "WaitFailed" and "did not list it while waiting" in by_id[LAPTOP]["message"]
    assert by_id[OTHER]["message"] == "action a3 ended Cancelled: by the analyst"
    assert report["total"] == 4  # the foreign action is no device of ours
    assert report["failure_message"].startswith("Stop and quarantine failed on 4 of 4 device(s): " + DESK)


def test_a_failed_block_is_reported_and_fails_the_run_but_the_devices_were_handled():
    batches = [batch([DESK], machine_actions=[action("a1", DESK)], created_machine_ids=[DESK])]
    indicator = {"failed": True, "error_code": "BadRequest", "status": 400,
                 "msg": "Maximum number of active indicators (15000) per tenant has been reached."}
    report = quarantine_report(batches, context(DESK, block_everywhere=True), indicator=indicator,
                               waited={"machine_actions": [action("a1", DESK, "Succeeded")]})
    assert report["counts"] == {"Succeeded": 1}
    assert report["indicator"]["error"] == {"code": "BadRequest", "status": 400, "message": indicator["msg"]}
    assert f"FAILED BlockAndRemediate indicator for {SHA1}: Maximum number" in report["summary"][2]
    assert report["failure_message"].startswith(f"The BlockAndRemediate indicator for {SHA1} failed: Maximum number")
    ok = quarantine_report(batches, context(DESK, block_everywhere=True),
                           indicator={"changed": True, "indicator": {"id": "7", "action": "BlockAndRemediate"}})
    assert ok["indicator"] == {"id": "7", "action": "BlockAndRemediate", "changed": True, "error": None}
    assert f"BlockAndRemediate indicator for {SHA1}: created or updated (id 7)" in ok["summary"]


def test_a_dry_run_shows_what_would_be_sent_and_what_would_fail():
    checked = batch([DESK, SRV], changed=True, created_machine_ids=[DESK], would_fail_machine_ids=[SRV], failed=True,
                    msg="Stop and quarantine would fail on 1 of 2 device(s); see failed_machines",
                    failed_machines=[{"machine_id": SRV, "code": "ResourceNotFound", "message": "a real run would fail there"}])
    report = quarantine_report([checked], context(DESK, SRV, dry_run=True))
    assert report["counts"] == {"WouldFail": 1, "WouldSubmit": 1} and report["stopped"] is None
    assert report["summary"][0].startswith("DRY RUN: StopAndQuarantineFile") and report["summary"][1].startswith("Would send 1")
    assert report["failure_message"].startswith("Stop and quarantine would fail on 1 of 2 device(s): " + SRV)


def test_the_job_is_in_the_report_and_the_summary():
    report = quarantine_report([], context(job={"id": "4242", "template_name": "Quarantine"}))
    assert report["job"] == {"id": "4242", "template_name": "Quarantine"}
    assert report["summary"] == [f"No target device: nothing to quarantine for {SHA1}", "AWX job 4242 (Quarantine)"]


# --- quarantine_report_csv ----------------------------------------------------------------------
def test_csv_one_row_per_device_and_no_formula():
    batches = [batch([DESK, SRV], machine_actions=[action("a1", DESK, "Succeeded", name="desk-01")], created_machine_ids=[DESK],
                     failed_machines=[{"machine_id": SRV, "code": "ResourceNotFound", "message": "=HYPERLINK(\"x\")"}])]
    rows = list(csv.reader(io.StringIO(quarantine_report_csv(quarantine_report(batches, context(DESK, SRV))))))
    assert rows[0] == ["device_id", "device_name", "action_id", "status", "error", "started", "finished"]
    assert rows[1] == [DESK, "desk-01", "a1", "Succeeded", "", "2026-11-28T12:00:00.1234567Z", "2026-11-28T12:00:09Z"]
    assert rows[2] == [SRV, "", "", "Error", "ResourceNotFound: =HYPERLINK(\"x\")", "", ""]
    assert quarantine_report_csv({"machines": [{"machine_id": "=1+1", "status": "-x"}]}).splitlines()[1] == "'=1+1,,,'-x,,,"


@pytest.mark.parametrize("name", ["quarantine_inputs", "quarantine_targets", "quarantine_report", "quarantine_report_csv"])
def test_each_filter_is_registered_by_the_file_of_its_name_with_its_documentation(name):
    plugin = importlib.import_module(f"ansible_collections.secops.defender.plugins.filter.{name}")
    assert set(plugin.FilterModule().filters()) == {name}
    assert yaml.safe_load(plugin.DOCUMENTATION)["name"] == name
    assert yaml.safe_load(plugin.RETURN)["_value"]


def test_results_of_tasks_run_with_failed_when_false_still_count_as_failed():
    # The role runs its modules with failed_when=false, which turns `failed` into false: `msg` tells.
    rewritten = {"failed": False, "failed_when_result": False, "changed": False}
    indicator = {**rewritten, "error_code": "Forbidden", "status": 403, "msg": "Forbidden"}
    refused = batch([DESK], **rewritten, error_code="MissingPermission", msg="lacks Machine.StopAndQuarantine")
    report = quarantine_report([refused], context(DESK, block_everywhere=True), indicator=indicator)
    assert report["indicator"]["error"]["code"] == "Forbidden" and report["stopped"]["code"] == "MissingPermission"
    ok = quarantine_report([batch([DESK], **rewritten, machine_actions=[action("a1", DESK)], created_machine_ids=[DESK])],
                           context(DESK, block_everywhere=True), indicator={**rewritten, "indicator": {"id": "7"}})
    assert ok["stopped"] is None and ok["indicator"]["error"] is None and ok["counts"] == {"Pending": 1}
    errors = quarantine_targets({"machine_ids": []}, by_name={**rewritten, "msg": "401 invalid_client", "not_found": []})["errors"]
    assert errors == ["Resolving quarantine_file_machine_names failed: 401 invalid_client. Nothing was sent."]
