# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""docs/getting-started.md as a new user follows it: install from a checkout (the tarball way is what every AWX
job of this directory does), run the runbook by its name, and the credential check of section 5, taken from
the page itself, against the emulator."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

import awx_job

PAGE = os.path.join(awx_job.ROOT, "docs", "getting-started.md")
SHA1 = "87662bc3d60e4200ceaf7aae249d1c343f4b83c9"
BIN = os.path.dirname(sys.executable)


def page() -> str:
    with open(PAGE, encoding="utf-8") as handle:
        return handle.read()


def user_env(emulator, collections_path: str, **credential) -> dict:
    """A shell with the credential exported as the page says (AZURE_*), pointed at the emulator."""
    client = emulator.info["clients"]["full"]
    values = {"AZURE_TENANT_ID": emulator.info["tenant_id"], "AZURE_CLIENT_ID": client["client_id"],
              "AZURE_CLIENT_SECRET": client["client_secret"], "DEFENDER_API_URL": emulator.info["url"],
              "DEFENDER_AUTHORITY_URL": emulator.info["url"], "DEFENDER_CA_PATH": emulator.info["ca_path"],
              "ANSIBLE_COLLECTIONS_PATH": collections_path, "ANSIBLE_NOCOLOR": "1",
              "ANSIBLE_PYTHON_INTERPRETER": sys.executable}
    values.update(credential)
    return awx_job.execution_node_env(values)


def run(args: list, env: dict, cwd: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def installed_from_checkout(tmp_path_factory) -> str:
    target = str(tmp_path_factory.mktemp("from-checkout"))
    done = run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", ".", "--force", "-p", target],
               awx_job.execution_node_env(), awx_job.ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert os.path.isfile(os.path.join(target, "ansible_collections", "secops", "defender", "MANIFEST.json"))
    return target


def test_the_page_shows_the_commands_tested_here():
    text = page()
    for command in ("ansible-galaxy collection install . --force", "ansible-galaxy collection build .",
                    "ansible-galaxy collection install secops-defender-<version>.tar.gz",
                    "ansible-playbook secops.defender.quarantine_file", "tests/utils/emulator.sh start"):
        assert command in text, command


def test_a_playbook_of_the_clone_without_installing_finds_no_role(emulator, tmp_path):
    done = run([os.path.join(BIN, "ansible-playbook"), "playbooks/quarantine_file.yml",
                "-e", f"sha1={SHA1}", "-e", "comment=x", "-e", "machine_names=desk-01.contoso.local"],
               user_env(emulator, str(tmp_path)), awx_job.ROOT)
    assert done.returncode != 0
    message = "the role 'secops.defender.quarantine_file' was not found"
    assert message in done.stdout + done.stderr
    assert re.sub(r"\s+", " ", message) in re.sub(r"\s+", " ", page())


def test_installed_from_a_checkout_the_runbook_runs_by_its_name(emulator, installed_from_checkout, tmp_path):
    emulator.reset({"time_scale": 20})
    done = run([os.path.join(BIN, "ansible-playbook"), "secops.defender.quarantine_file",
                "-e", f"sha1={SHA1}", "-e", "comment=INC-4711", "-e", "machine_names=desk-01.contoso.local",
                "-e", "wait_timeout=120"], user_env(emulator, installed_from_checkout), str(tmp_path))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    actions = [a for a in emulator.state()["actions"] if a["type"] == "StopAndQuarantineFile"]
    assert [(a["computerDnsName"], a["status"]) for a in actions] == [("desk-01.contoso.local", "Succeeded")]


def check_playbook() -> str:
    match = re.search(r"Save as `check-defender.yml`:\s*```yaml\n(.*?)```", page(), re.S)
    assert match, "section 5 has no check-defender.yml block"
    return match.group(1)


def test_the_credential_check_of_the_page_passes_with_a_good_secret(emulator, installed_from_checkout, tmp_path):
    emulator.reset({"time_scale": 20})
    (tmp_path / "check-defender.yml").write_text(check_playbook())
    done = run([os.path.join(BIN, "ansible-playbook"), "check-defender.yml"],
               user_env(emulator, installed_from_checkout), str(tmp_path))
    assert done.returncode == 0, done.stdout[-3000:]
    assert re.search(r"client_secret: \[.*Machine.StopAndQuarantine.*\], expires", done.stdout), done.stdout[-2000:]
    assert "desk-01.contoso.local" in done.stdout


def test_the_credential_check_of_the_page_shows_why_it_failed(emulator, installed_from_checkout, tmp_path):
    (tmp_path / "check-defender.yml").write_text(check_playbook())
    done = run([os.path.join(BIN, "ansible-playbook"), "check-defender.yml"],
               user_env(emulator, installed_from_checkout, AZURE_CLIENT_SECRET="Emu8Q~not-the-secret"), str(tmp_path))
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "AADSTS7000215: Invalid client secret provided" in output
    assert "Emu8Q~not-the-secret" not in output
    quote = re.search(r"for example\s+`(AADSTS7000215:[^`]*)`", page())
    assert quote and re.sub(r"\s+", " ", quote.group(1)) in re.sub(r"\s+", " ", output)
