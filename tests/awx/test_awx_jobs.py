# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Job templates run as AWX runs them (tests/awx/awx_job.py): AWX's credential injection, AWX's job engine
(ansible-runner), the survey of extensions/awx/survey.json, against the emulator.

Everything is asserted from what AWX itself would see (ansible-runner's status, job events, final stats event
and artifacts) and from the emulator's request log and state.
"""

from __future__ import annotations

import json
import os
import re
import stat

import pytest

import awx_job

SHA1 = "87662bc3d60e4200ceaf7aae249d1c343f4b83c9"
DESK_01 = "c14c4bab3d1b0e54b0df1fce5c08c5546a8415da"
SRV_01 = "643d53c73e952687f5e3427b9b75da74f71e616d"
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}")
ANSWERS = {"sha1": SHA1, "comment": "INC-4711 rehearsal", "machine_names": "desk-01.contoso.local\nsrv-01.contoso.local",
           "wait": "true"}
# The template's own variables: poll often, the emulator's clock runs fast.
FAST = {"quarantine_file_poll_interval": 1}
OUTPUT = os.path.join(awx_job.ROOT, "tests", "output")


def template(credential_inputs: dict, answers: dict | None = None, **kwargs) -> awx_job.JobTemplate:
    return awx_job.JobTemplate(credential_inputs=credential_inputs, answers=dict(answers or ANSWERS),
                               extra_vars={**FAST, **kwargs.pop("extra_vars", {})}, **kwargs)


def leaks(job: awx_job.Job, secrets: list, node_env: dict | None = None) -> list:
    """Secrets or tokens anywhere in the job's artifacts directory: stdout, job events, the final stats, and
    ansible-runner's `command`, which records the whole environment the job ran with.

    The credential puts no secret in that environment (its file injectors write them to private files), so
    the one thing `command` may hold is what the execution node itself has in its environment (`node_env`,
    such as an App Service IDENTITY_HEADER), which ansible-runner records as it records PATH."""
    found = []
    node_values = set((node_env or {}).values())
    for folder, _dirs, files in os.walk(job.artifacts):
        for name in files:
            path = os.path.join(folder, name)
            relpath = os.path.relpath(path, job.artifacts)
            with open(path, encoding="utf-8", errors="replace") as handle:
                text = handle.read()
            excused = node_values if relpath == "command" else set()
            found.extend(f"{relpath}: {secret[:6]}..." for secret in secrets if secret in text and secret not in excused)
            if JWT.search(text):
                found.append(f"{relpath}: a JWT")
    return found


def run_ok(launch, emulator, credential_inputs: dict, job_id: int, node_env: dict | None = None, **kwargs) -> awx_job.Job:
    emulator.reset({"time_scale": 20})
    job = launch(template(credential_inputs, **kwargs), job_id, node_env).wait(timeout=600)
    assert job.status == "successful", job.stdout[-3000:]
    assert job.rc == 0
    return job


def assert_quarantined(job: awx_job.Job, emulator, machine_ids: list, requestor: str, node_env: dict | None = None) -> dict:
    """Each device got one action, by this identity; the workflow artifact is in the final stats event."""
    actions = emulator.actions(SHA1)
    assert sorted(a["machineId"] for a in actions) == sorted(machine_ids)
    assert {a["requestor"] for a in actions} == {requestor}
    assert {a["status"] for a in actions} == {"Succeeded"}
    assert job.events()[-1]["event"] == "playbook_on_stats"
    report = job.artifact_data()["defender_quarantine_report"]
    assert report["total"] == len(machine_ids) and report["failed_count"] == 0
    assert report["sha1"] == SHA1
    assert not leaks(job, emulator.secrets(), node_env)
    return report


def test_client_secret(launch, emulator):
    inputs, _node = awx_job.emulator_inputs(emulator.info)
    job = run_ok(launch, emulator, inputs, 4711)
    report = assert_quarantined(job, emulator, [DESK_01, SRV_01], inputs["client_id"])
    assert report["counts"] == {"Succeeded": 2}
    # Neither the job's environment nor what the controller stores of it holds the secret: only its file's path.
    assert "AZURE_CLIENT_SECRET" not in job.env and job.env["DEFENDER_CLIENT_SECRET_FILE"]
    assert inputs["client_secret"] not in json.dumps(job.env) + json.dumps(job.safe_env)


def test_certificate_from_the_file_injector(launch, emulator):
    with open(emulator.info["clients"]["cert"]["certificate_path"], encoding="utf-8") as handle:
        pem = handle.read()
    inputs, _node = awx_job.emulator_inputs(emulator.info, "cert")
    job = run_ok(launch, emulator, {**inputs, "client_certificate": pem}, 4712)
    path = job.env["AZURE_CLIENT_CERTIFICATE_PATH"]
    assert path.startswith(os.path.join(job.private_data_dir, "env", "")), path
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert_quarantined(job, emulator, [DESK_01, SRV_01], inputs["client_id"])
    assert [r for r in emulator.log() if r["path"].endswith("/oauth2/v2.0/token")], "a token was asked for"


def test_workload_identity_token_file_on_the_node(launch, emulator, tmp_path):
    emulator.reset({"time_scale": 20})
    token = emulator.call("POST", "/_emulator/federated-token", {"audience": "api://AzureADTokenExchange"})["token"]
    token_file = tmp_path / "azure-identity-token"
    token_file.write_text(token)
    inputs, _node = awx_job.emulator_inputs(emulator.info, "workload")
    inputs["federated_token_file"] = str(token_file)
    job = launch(template(inputs), 4713).wait(timeout=600)
    assert job.status == "successful", job.stdout[-3000:]
    assert_quarantined(job, emulator, [DESK_01, SRV_01], inputs["client_id"])
    assert token not in job.stdout


def test_nothing_filled_in_uses_the_managed_identity_of_the_execution_node(launch, emulator):
    managed = emulator.info["managed_identity"]
    system = next(identity for identity in managed["identities"].values() if identity.get("type", "system") == "system")
    # The credential holds only where the API is (the emulator); no secret, no id.
    inputs = {"api_url": emulator.info["url"], "authority_url": emulator.info["url"]}
    node = {"IDENTITY_ENDPOINT": managed["endpoint"], "IDENTITY_HEADER": managed["header"]}
    job = run_ok(launch, emulator, inputs, 4714, node_env=node)
    assert_quarantined(job, emulator, [DESK_01, SRV_01], system["client_id"], node_env=node)
    assert [r for r in emulator.log() if r["path"] == "/msi/token"], "the token came from the node's identity endpoint"


def test_no_secret_in_the_artifacts_not_even_in_the_environment_ansible_runner_records(launch, emulator):
    inputs, _node = awx_job.emulator_inputs(emulator.info)
    job = run_ok(launch, emulator, inputs, 4715, verbosity=3)
    assert not leaks(job, emulator.secrets()), "with -vvv, nothing in stdout, job events, command or other artifacts"
    # The secret reached the modules as a file of the private data dir (0600), named in the environment.
    env = json.loads(job.read("command"))["env"]
    assert "AZURE_CLIENT_SECRET" not in env
    secret_file = env["DEFENDER_CLIENT_SECRET_FILE"]
    assert secret_file.startswith(os.path.join(job.private_data_dir, "env", "")), secret_file
    assert stat.S_IMODE(os.stat(secret_file).st_mode) == 0o600
    with open(secret_file, encoding="utf-8") as handle:
        assert handle.read() == inputs["client_secret"]
    # Nor is it in the environment file of the private data dir, which AWX passes to the worker.
    with open(os.path.join(job.private_data_dir, "env", "envvars"), encoding="utf-8") as handle:
        assert inputs["client_secret"] not in handle.read()


@pytest.mark.parametrize("answers, extra_vars, message", [
    ({"sha1": "z" * 40}, {}, r"sha1 .*SHA-1"),
    ({"comment": "   "}, {}, r"comment .*empty"),
    ({"machine_names": "", "machine_ids": "\n".join(["%040x" % n for n in range(1, 4)])},
     {"quarantine_file_max_machines": 2}, r"3 target devices is more than quarantine_file_max_machines \(2\); nothing was sent"),
    ({"dry_run": "maybe"}, {}, None),  # refused by the survey itself (a multiple choice): no job
], ids=["bad-sha1", "blank-comment", "over-the-cap", "survey-choice"])
def test_an_invalid_answer_fails_the_job_with_a_clear_message_and_sends_nothing(
        launch, emulator, answers, extra_vars, message):
    emulator.reset({"time_scale": 20})
    inputs, _node = awx_job.emulator_inputs(emulator.info)
    if message is None:
        with pytest.raises(awx_job.SurveyError, match="expected to be one of"):
            launch(template(inputs, {**ANSWERS, **answers}), 4720)
        assert emulator.log() == []
        return
    job = launch(template(inputs, {**ANSWERS, **answers}, extra_vars=extra_vars), 4721).wait(timeout=600)
    assert job.status == "failed" and job.rc != 0
    failed = [event for event in job.events() if event["event"] == "runner_on_failed"]
    assert len(failed) == 1 and re.search(message, failed[0]["event_data"]["res"]["msg"]), failed
    assert emulator.log() == [], "nothing reached Defender, not even a token request"


def test_the_survey_refuses_what_awx_refuses_before_any_job(launch, emulator):
    inputs, _node = awx_job.emulator_inputs(emulator.info)
    with pytest.raises(awx_job.SurveyError, match="'sha1' value .* is too small"):
        launch(template(inputs, {**ANSWERS, "sha1": SHA1[:39]}), 4730)
    with pytest.raises(awx_job.SurveyError, match="'comment' value missing"):
        launch(template(inputs, {**ANSWERS, "comment": ""}), 4731)


def test_an_answer_is_never_templated(launch, emulator):
    # AWX writes launch-time values with !unsafe: an analyst's text cannot make Ansible run a lookup.
    inputs, _node = awx_job.emulator_inputs(emulator.info)
    comment = "INC-1 {{ lookup('ansible.builtin.env', 'AZURE_CLIENT_SECRET') }}"
    job = run_ok(launch, emulator, inputs, 4740, answers={**ANSWERS, "comment": comment,
                                                          "machine_names": "desk-01.contoso.local"})
    [action] = emulator.actions(SHA1)
    assert action["requestorComment"].startswith(comment)
    assert inputs["client_secret"] not in json.dumps(emulator.log())
    assert not leaks(job, emulator.secrets())


def test_the_job_is_stamped_into_the_audit_trail(launch, emulator):
    # Issue 11: the comment gets "(AWX job <awx_job_id>)" and the report carries the job id and template name.
    inputs, _node = awx_job.emulator_inputs(emulator.info)
    job = run_ok(launch, emulator, inputs, 4750, template_name="SOC: quarantine (harness)",
                 answers={**ANSWERS, "machine_names": "desk-01.contoso.local"})
    [action] = emulator.actions(SHA1)
    assert action["requestorComment"] == f"{ANSWERS['comment']} (AWX job 4750)"
    report = json.dumps(job.artifact_data()["defender_quarantine_report"])
    assert "4750" in report and "SOC: quarantine (harness)" in report


def test_two_jobs_at_once_for_the_same_app(launch, emulator):
    """Two job templates launched together on two execution nodes, 300 devices each, one app registration."""
    scale = 10
    emulator.reset({"time_scale": scale}, fleet={"count": 600, "prefix": "fleet", "sha1": SHA1})
    machines = sorted(m["id"] for m in emulator.state()["machines"] if m["computerDnsName"].startswith("fleet-"))
    assert len(machines) == 600
    inputs, _node = awx_job.emulator_inputs(emulator.info)
    # The modules pace on the real clock: tell them the emulator's pace (100/min and 1,500/h per emulated minute).
    node = {"DEFENDER_CALLS_PER_MINUTE": str(100 * scale), "DEFENDER_CALLS_PER_HOUR": str(1500 * scale)}
    jobs = [launch(template(inputs, {**ANSWERS, "machine_names": "", "comment": f"INC-9 wave {n}",
                                     "machine_ids": "\n".join(machines[n * 300:(n + 1) * 300])}), 4800 + n, node)
            for n in range(2)]
    for job in jobs:
        job.wait(timeout=1200)
    for job in jobs:
        assert job.status == "successful", job.stdout[-3000:]
    actions = emulator.actions(SHA1)
    per_device = {}
    for action in actions:
        per_device.setdefault(action["machineId"], []).append(action)
    duplicates = sum(len(found) - 1 for found in per_device.values())
    failures = sum(1 for m in machines if [a["status"] for a in per_device.get(m, [])] != ["Succeeded"])
    reports = [job.artifact_data()["defender_quarantine_report"] for job in jobs]
    figures = {"devices": 600, "jobs": 2, "time_scale": scale, "duplicates": duplicates, "failures": failures,
               "durations_s": [round(job.duration, 1) for job in jobs],
               "floor_s": 600 / (100 * scale) * 60,
               "posts": sum(1 for r in emulator.log() if r["method"] == "POST" and r["path"].endswith("/StopAndQuarantineFile")),
               "throttled_429": sum(1 for r in emulator.log() if r["status"] == 429)}
    os.makedirs(OUTPUT, exist_ok=True)
    with open(os.path.join(OUTPUT, "awx-concurrent-jobs.json"), "w", encoding="utf-8") as handle:
        json.dump(figures, handle, indent=2)
    print("two concurrent AWX jobs:", json.dumps(figures))
    assert (duplicates, failures) == (0, 0)
    assert [report["total"] for report in reports] == [300, 300]
    assert [report["failed_count"] for report in reports] == [0, 0]
