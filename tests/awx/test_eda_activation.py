# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shipped rulebook started the way an EDA controller rulebook activation starts it.

An activation runs ``ansible-rulebook --rulebook <rulebook> --vars <file> -i <inventory>`` in its decision
environment. Its variables are the activation's own plus what the attached credentials inject, and EDA
controller injects a credential as extra variables only: extensions/awx/eda_credential_type.yml, rendered
here by AWX's injection code (EDA controller's is not published on its own; the injector format is the same).
The process environment is the decision environment's: no Defender credential in it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time

import pytest
import yaml
from awx_plugins.interfaces._temporary_private_api import ManagedCredentialType
from awx_plugins.interfaces._temporary_private_credential_api import Credential
from awx_plugins.interfaces._temporary_private_inject_api import inject_credential

import awx_job

RULEBOOK = "secops.defender.quarantine_on_alert"
SRV_01 = "643d53c73e952687f5e3427b9b75da74f71e616d"
SHA1 = "87662bc3d60e4200ceaf7aae249d1c343f4b83c9"
EDA_BIN = os.environ.get("EDA_BIN", os.path.join(awx_job.ROOT, ".venv", "eda", "bin"))
JAVA_HOME = os.environ.get("EDA_JAVA_HOME") or os.environ.get("JAVA_HOME") or ""


class ActivationIgnoresTheCredential(AssertionError):
    """The rulebook does not hand the credential's variables to the source (it reads the environment only)."""


def injected_vars(emulator, tmp_path) -> dict:
    with open(os.path.join(awx_job.ROOT, "extensions", "awx", "eda_credential_type.yml"), encoding="utf-8") as handle:
        definition = yaml.safe_load(handle)
    cred_type = ManagedCredentialType(namespace="secops_defender_eda", name=definition["name"], kind="cloud",
                                      inputs=definition["inputs"], injectors=definition["injectors"])
    client = emulator.info["clients"]["soc"]  # Alert.ReadWrite.All and the machine permissions
    inputs = {"tenant_id": emulator.info["tenant_id"], "client_id": client["client_id"],
              "client_secret": client["client_secret"], "api_url": emulator.info["url"], "authority_url": emulator.info["url"]}
    (tmp_path / "env").mkdir()
    args = []
    inject_credential(cred_type, Credential(inputs=inputs), {}, {}, args, str(tmp_path), container_root=str(tmp_path))
    with open(args[1][1:], encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@pytest.mark.skipif(not os.path.exists(os.path.join(EDA_BIN, "ansible-rulebook")) or not os.path.isdir(JAVA_HOME),
                    reason="no ansible-rulebook (make venv-eda) or no Java 17 (EDA_JAVA_HOME)")
def test_an_activation_with_the_eda_credential_quarantines_and_comments(emulator, awx_project, tmp_path):
    emulator.reset({"time_scale": 10, "alert_list_lag_seconds": 1})
    variables = {**injected_vars(emulator, tmp_path), "poll_interval": 2, "min_severity": "Low"}
    assert variables["defender_client_secret"] == emulator.info["clients"]["soc"]["client_secret"]
    vars_path = tmp_path / "activation-vars.yml"
    vars_path.write_text(yaml.safe_dump(variables))
    inventory = tmp_path / "inventory.yml"
    inventory.write_text('all:\n  hosts:\n    localhost:\n      ansible_connection: local\n'
                         '      ansible_python_interpreter: "{{ ansible_playbook_python }}"\n')
    # The decision environment: ansible-rulebook, Java, the collection, the CA the EE image trusts. No credential.
    env = awx_job.execution_node_env({"PATH": os.pathsep.join([EDA_BIN, os.path.join(JAVA_HOME, "bin"), "/usr/bin", "/bin"]),
                                      "JAVA_HOME": JAVA_HOME, "ANSIBLE_COLLECTIONS_PATH": awx_project["collections"],
                                      "DEFENDER_CA_PATH": emulator.info["ca_path"], "PYTHONUNBUFFERED": "1",
                                      "ANSIBLE_NOCOLOR": "1", "DEFENDER_CALLS_PER_MINUTE": "1000"})
    log_path = tmp_path / "activation.log"
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen([shutil.which("ansible-rulebook", path=env["PATH"]), "--rulebook", RULEBOOK,
                                    "--vars", str(vars_path), "-i", str(inventory), "--shutdown-delay", "5", "-v"],
                                   env=env, cwd=str(tmp_path), stdout=log, stderr=subprocess.STDOUT)
    try:
        alert = emulator.call("POST", "/_emulator/alerts", {"alerts": [
            {"machineId": SRV_01, "sha1": SHA1, "title": "'EmulatorTest' malware was detected"}]})["alerts"][0]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            alerts = {a["id"]: a for a in emulator.call("GET", "/_emulator/alerts")["alerts"]}
            if alerts[alert["id"]].get("comments"):
                break
            time.sleep(1)
        output = log_path.read_text(encoding="utf-8", errors="replace")
        if process.poll() is not None and "No credentials" in output:
            raise ActivationIgnoresTheCredential(output[-1500:])
        actions = emulator.actions(SHA1)
        assert [a["machineId"] for a in actions] == [SRV_01], output[-3000:]
        assert alerts[alert["id"]]["comments"], output[-3000:]
        assert variables["defender_client_secret"] not in output
        assert json.dumps(variables["defender_client_secret"])[1:-1] not in json.dumps(emulator.log())
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
