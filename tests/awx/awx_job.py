# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a job template the way AWX runs it, without an AWX: a private data directory as AWX builds it,
the credential rendered by AWX's own injection code, run by AWX's own engine (ansible-runner).

    python tests/awx/awx_job.py --answers answers.yml --credential credential.yml [--emulator STATE/emulator.json]

What is AWX's and what is ours:

- AWX's code: ``inject_credential`` (awx-plugins.interfaces: what the controller calls for each credential of a
  job) renders extensions/awx/credential_type.yml; ``ansible-runner`` (what runs every AWX job) runs the playbook
  and writes the job events, the final stats event with the set_stats artifacts, stdout and status.
- Ours, after AWX's documented behaviour (docs/awx.md, ../shared facts): the private data dir layout
  (``env/envvars``, ``env/extravars``, ``env/cmdline``, ``env/settings``, ``inventory/``, ``project/``,
  ``requirements_collections/`` from the project's ``collections/requirements.yml``), the survey checks at launch,
  the precedence of template extra vars, survey defaults, answers and AWX's job variables (``awx_job_id``,
  ``tower_job_id``, ...), and the ``!unsafe`` marking of launch-time values.
- The execution environment is this machine: the job's process gets ``node_env`` (PATH to an ansible-core with
  the collection's Python requirements, and whatever the EE image would carry, such as a CA bundle) and paths
  the credential's file injector gives as ``/runner/...`` point into the private data dir, as the EE's mount does.
- Deviation: AWX runs with ``suppress_output_file``; here ``artifacts/<job id>/stdout`` is kept so that a test can
  read the whole output.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import glob
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

import yaml
from ansible_runner.utils import args2cmdline
from awx_plugins.interfaces._temporary_private_api import ManagedCredentialType
from awx_plugins.interfaces._temporary_private_credential_api import Credential
from awx_plugins.interfaces._temporary_private_inject_api import build_safe_env, inject_credential

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CREDENTIAL_TYPE = os.path.join(ROOT, "extensions", "awx", "credential_type.yml")
SURVEY = os.path.join(ROOT, "extensions", "awx", "survey.json")
# The project of docs/awx.md, "3. Project": a one-line playbook that imports the collection's.
PROJECT_PLAYBOOK = "playbooks/defender_quarantine_file.yml"
PROJECT_PLAYBOOK_TEXT = """---
- name: Stop and quarantine a file (secops.defender)
  ansible.builtin.import_playbook: secops.defender.awx_quarantine_file
"""
# AWX's Demo Inventory: localhost, run with the Python that runs ansible-playbook.
INVENTORY_TEXT = 'localhost ansible_connection=local ansible_python_interpreter="{{ ansible_playbook_python }}"\n'
IN_CONTAINER_ROOT = "/runner"


class SurveyError(ValueError):
    """The controller refuses the launch (HTTP 400): no job is created."""


class UnsafeText(str):
    """A launch-time string: AWX writes these with !unsafe, so that Ansible never templates them."""


class _ExtraVarsDumper(yaml.SafeDumper):
    pass


_ExtraVarsDumper.add_representer(UnsafeText, lambda dumper, data: dumper.represent_scalar("!unsafe", str(data)))


def mark_unsafe(value):
    if isinstance(value, str):
        return UnsafeText(value)
    if isinstance(value, dict):
        return {key: mark_unsafe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [mark_unsafe(item) for item in value]
    return value


def load(path: str):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle) if path.endswith(".json") else yaml.safe_load(handle)


def survey_vars(spec: dict, answers: dict) -> dict:
    """The survey's defaults and answers as extra vars, or SurveyError with every refusal (AWX checks them at launch)."""
    values, errors = {}, []
    for question in spec["spec"]:
        name, kind = question["variable"], question["type"]
        if name not in answers:
            if question.get("required") and question.get("default") in (None, ""):
                errors.append(f"'{name}' value missing")
            elif question.get("default") not in (None, ""):
                values[name] = question["default"]
            continue
        answer = answers[name]
        if kind in ("text", "textarea", "password"):
            if not isinstance(answer, str):
                errors.append(f"Value {answer!r} for '{name}' expected to be a string")
                continue
            if question.get("required") and answer == "":
                errors.append(f"'{name}' value missing")
            if "min" in question and len(answer) < int(question["min"]):
                errors.append(f"'{name}' value {answer!r} is too small (length is {len(answer)}, must be at least {question['min']})")
            if "max" in question and len(answer) > int(question["max"]):
                errors.append(f"'{name}' value is too large (length is {len(answer)}, must be no more than {question['max']})")
        elif kind == "multiplechoice":
            choices = question["choices"] if isinstance(question["choices"], list) else question["choices"].split("\n")
            if answer not in choices:
                errors.append(f"Value {answer!r} for '{name}' expected to be one of {choices}")
        elif kind in ("integer", "float"):
            number = int(answer) if kind == "integer" else float(answer)
            if ("min" in question and number < question["min"]) or ("max" in question and number > question["max"]):
                errors.append(f"'{name}' value {answer} is out of range")
        values[name] = answer
    if errors:
        raise SurveyError("; ".join(errors))
    return values


def job_meta_vars(job_id: int, template_name: str, template_id: int = 7, project_revision: str = "0" * 40) -> dict:
    """AWX's job variables, each under both prefixes, as awx_meta_vars() gives them for a manual launch."""
    meta = {"job_id": job_id, "job_launch_type": "manual", "job_template_id": template_id,
            "job_template_name": template_name, "user_id": 1, "user_name": "soc-analyst", "user_email": "",
            "user_first_name": "", "user_last_name": "", "inventory_id": 1, "inventory_name": "Demo Inventory",
            "project_revision": project_revision, "project_scm_branch": "main", "execution_node": "localhost"}
    return {f"{prefix}_{key}": value for prefix in ("awx", "tower") for key, value in meta.items()}


@dataclasses.dataclass
class JobTemplate:
    """What a job template holds, for one launch."""

    credential_inputs: dict
    answers: dict
    template_name: str = "Defender: stop and quarantine a file"
    extra_vars: dict = dataclasses.field(default_factory=dict)  # the template's own variables (may hold Jinja)
    survey: dict = dataclasses.field(default_factory=lambda: load(SURVEY))
    credential_type: dict = dataclasses.field(default_factory=lambda: load(CREDENTIAL_TYPE))
    playbook: str = PROJECT_PLAYBOOK
    verbosity: int = 0
    job_timeout: int = 1800


@dataclasses.dataclass
class Job:
    job_id: int
    private_data_dir: str
    env: dict
    safe_env: dict
    process: subprocess.Popen | None = None
    started: float = 0.0
    duration: float = 0.0

    @property
    def artifacts(self) -> str:
        return os.path.join(self.private_data_dir, "artifacts", str(self.job_id))

    def wait(self, timeout: float | None = None) -> Job:
        self.process.wait(timeout=timeout)
        self.duration = time.monotonic() - self.started
        return self

    def read(self, name: str) -> str:
        with open(os.path.join(self.artifacts, name), encoding="utf-8") as handle:
            return handle.read()

    @property
    def status(self) -> str:
        return self.read("status").strip()

    @property
    def rc(self) -> int:
        return int(self.read("rc").strip())

    @property
    def stdout(self) -> str:
        return self.read("stdout")

    def events(self) -> list:
        events = []
        for path in glob.glob(os.path.join(self.artifacts, "job_events", "*.json")):
            with open(path, encoding="utf-8") as handle:
                events.append(json.load(handle))
        return sorted(events, key=lambda event: event["counter"])

    def artifact_data(self) -> dict:
        """What AWX hands to the next node of a workflow: set_stats data of the final playbook_on_stats event."""
        stats = [event for event in self.events() if event["event"] == "playbook_on_stats"]
        return stats[-1]["event_data"].get("artifact_data", {}) if stats else {}


def install_project_collections(project_dir: str, cache_dir: str) -> str:
    """What a project sync does with collections/requirements.yml: ansible-galaxy into a cache, reused by jobs."""
    target = os.path.join(cache_dir, "requirements_collections")
    galaxy = shutil.which("ansible-galaxy") or os.path.join(os.path.dirname(sys.executable), "ansible-galaxy")
    subprocess.run([galaxy, "collection", "install", "--offline", "--force", "-r",
                    os.path.join(project_dir, "collections", "requirements.yml"), "-p", target],
                   check=True, capture_output=True, text=True)
    return target


def build_collection(work_dir: str, source: str = ROOT) -> str:
    """secops-defender-<version>.tar.gz from a checkout (what a release uploads)."""
    galaxy = shutil.which("ansible-galaxy") or os.path.join(os.path.dirname(sys.executable), "ansible-galaxy")
    out = subprocess.run([galaxy, "collection", "build", "--force", "--output-path", work_dir, source],
                         check=True, capture_output=True, text=True).stdout
    return out.strip().split()[-1]


def make_project(work_dir: str, tarball: str) -> str:
    """The project of docs/awx.md: the one-line playbook and collections/requirements.yml for the collection."""
    project = os.path.join(work_dir, "project")
    os.makedirs(os.path.join(project, "playbooks"), exist_ok=True)
    os.makedirs(os.path.join(project, "collections"), exist_ok=True)
    with open(os.path.join(project, PROJECT_PLAYBOOK), "w", encoding="utf-8") as handle:
        handle.write(PROJECT_PLAYBOOK_TEXT)
    with open(os.path.join(project, "collections", "requirements.yml"), "w", encoding="utf-8") as handle:
        yaml.safe_dump({"collections": [{"name": tarball, "type": "file"}]}, handle)
    return project


def _to_host(value: str, private_data_dir: str) -> str:
    if isinstance(value, str) and value.startswith(IN_CONTAINER_ROOT + "/"):
        return private_data_dir + value[len(IN_CONTAINER_ROOT):]
    return value


def _write(path: str, text: str, mode: int = 0o600) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, mode)


def prepare(template: JobTemplate, job_id: int, work_dir: str, project_dir: str, collections_dir: str) -> Job:
    """The private data dir of one job, as AWX's RunJob builds it (the survey is checked first: SurveyError)."""
    launch = survey_vars(template.survey, template.answers)
    private_data_dir = tempfile.mkdtemp(prefix=f"awx_{job_id}_", dir=work_dir)
    os.chmod(private_data_dir, 0o700)
    for name in ("env", "inventory"):
        os.makedirs(os.path.join(private_data_dir, name), mode=0o700)
    shutil.copytree(project_dir, os.path.join(private_data_dir, "project"))
    shutil.copytree(collections_dir, os.path.join(private_data_dir, "requirements_collections"))

    # Template variables, then survey defaults and answers (runtime: !unsafe), then AWX's job variables.
    extra_vars = {**copy.deepcopy(template.extra_vars), **mark_unsafe(launch),
                  **mark_unsafe(job_meta_vars(job_id, template.template_name))}
    _write(os.path.join(private_data_dir, "env", "extravars"), yaml.dump(extra_vars, Dumper=_ExtraVarsDumper))

    env = {"JOB_ID": str(job_id), "INVENTORY_ID": "1", "PROJECT_REVISION": "0" * 40, "MAX_EVENT_RES": "700000",
           "ANSIBLE_RETRY_FILES_ENABLED": "False", "ANSIBLE_FORCE_COLOR": "True", "AWX_PRIVATE_DATA_DIR": private_data_dir,
           "ANSIBLE_COLLECTIONS_PATH": os.path.join(private_data_dir, "requirements_collections"),
           "ANSIBLE_SSH_CONTROL_PATH_DIR": os.path.join(private_data_dir, "cp")}
    safe_env = build_safe_env(env)
    args = []
    definition = template.credential_type
    cred_type = ManagedCredentialType(namespace="secops_defender", name=definition["name"], kind=definition["kind"],
                                      inputs=definition["inputs"], injectors=definition["injectors"])
    inject_credential(cred_type, Credential(inputs=template.credential_inputs), env, safe_env, args, private_data_dir,
                      container_root=private_data_dir)
    env = {name: _to_host(value, private_data_dir) for name, value in env.items()}
    if template.verbosity:
        args.append("-" + "v" * template.verbosity)

    _write(os.path.join(private_data_dir, "env", "envvars"), yaml.safe_dump(env))
    _write(os.path.join(private_data_dir, "env", "cmdline"), args2cmdline(*args))
    _write(os.path.join(private_data_dir, "env", "settings"), yaml.safe_dump(
        {"job_timeout": template.job_timeout, "suppress_ansible_output": True, "suppress_output_file": False}))
    _write(os.path.join(private_data_dir, "inventory", "hosts"), INVENTORY_TEXT)
    return Job(job_id=job_id, private_data_dir=private_data_dir, env=env, safe_env=safe_env)


def start(job: Job, playbook: str, node_env: dict) -> Job:
    """Start `ansible-runner run` for the job in its own process (one execution node each)."""
    runner = shutil.which("ansible-runner", path=node_env.get("PATH")) or os.path.join(os.path.dirname(sys.executable),
                                                                                       "ansible-runner")
    job.started = time.monotonic()
    job.process = subprocess.Popen([runner, "run", job.private_data_dir, "-p", playbook, "--ident", str(job.job_id)],
                                   env=node_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return job


def execution_node_env(extra: dict | None = None) -> dict:
    """The environment of the execution environment's process: this Python's bin first on PATH, nothing inherited
    that could carry credentials, plus `extra` (what the EE image or the node would set)."""
    env = {"PATH": os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"]),
           "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    env.update(extra or {})
    return env


def emulator_inputs(emulator: dict, client: str = "full") -> tuple[dict, dict]:
    """Credential inputs for one of the emulator's clients, and the node env that trusts its CA."""
    inputs = {"tenant_id": emulator["tenant_id"], "client_id": emulator["clients"][client]["client_id"],
              "api_url": emulator["url"], "authority_url": emulator["url"]}
    if emulator["clients"][client].get("client_secret"):
        inputs["client_secret"] = emulator["clients"][client]["client_secret"]
    return inputs, {"DEFENDER_CA_PATH": emulator["ca_path"]}


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(description="Rehearse the secops.defender job template without an AWX: "
                                                 "AWX's credential injection and job engine (ansible-runner).")
    parser.add_argument("--answers", required=True, help="survey answers (YAML/JSON), as an analyst would give them")
    parser.add_argument("--credential", help="credential inputs (YAML/JSON): tenant_id, client_id, client_secret, ...")
    parser.add_argument("--emulator", help="emulator.json of a running emulator: its 'full' client is the credential")
    parser.add_argument("--extra-vars", help="the job template's own variables (YAML/JSON)")
    parser.add_argument("--node-env", action="append", default=[], metavar="NAME=VALUE",
                        help="environment of the execution node (e.g. DEFENDER_CA_PATH=/etc/pki/ca.pem)")
    parser.add_argument("--job-id", type=int, default=4711)
    parser.add_argument("--template-name", default=JobTemplate.template_name)
    parser.add_argument("--verbosity", type=int, default=0)
    parser.add_argument("--work-dir", help="where the project and the private data dir go (default: a new temp dir)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the private data dir (it holds the credential, as in AWX while a job runs)")
    args = parser.parse_args(argv)
    if not args.credential and not args.emulator:
        parser.error("give --credential, or --emulator for the emulator's client")

    inputs, node = emulator_inputs(load(args.emulator)) if args.emulator else ({}, {})
    if args.credential:
        inputs = load(args.credential)
    node.update(dict(item.split("=", 1) for item in args.node_env))
    work_dir = args.work_dir or tempfile.mkdtemp(prefix="awx-job-")
    os.makedirs(work_dir, exist_ok=True)
    tarball = build_collection(work_dir)
    project = make_project(work_dir, tarball)
    collections = install_project_collections(project, work_dir)
    template = JobTemplate(credential_inputs=inputs, answers=load(args.answers), template_name=args.template_name,
                           extra_vars=load(args.extra_vars) if args.extra_vars else {}, verbosity=args.verbosity)
    try:
        job = prepare(template, args.job_id, work_dir, project, collections)
    except SurveyError as exc:
        print(f"launch refused by the survey: {exc}", file=sys.stderr)
        return 2
    start(job, template.playbook, execution_node_env(node)).wait()
    sys.stdout.write(job.stdout)
    report = job.artifact_data().get("defender_quarantine_report")
    status = job.status
    print(f"\njob {job.job_id}: {status} (rc {job.rc}) in {job.duration:.1f} s")
    print("job environment as the controller stores it:", json.dumps(job.safe_env, sort_keys=True))
    if report:
        print("workflow artifact defender_quarantine_report:", json.dumps(report.get("summary"), indent=2))
    if args.keep:
        print("private data dir (it holds the credential: delete it when done):", shlex.quote(job.private_data_dir))
    else:  # as AWX does at the end of a job: the credential must not stay on disk
        shutil.rmtree(job.private_data_dir, ignore_errors=True)
        if not args.work_dir:
            shutil.rmtree(work_dir, ignore_errors=True)
    return 0 if status == "successful" else 1


if __name__ == "__main__":
    sys.exit(main())
