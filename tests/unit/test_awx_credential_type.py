# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""extensions/awx/credential_type.yml, rendered by AWX's own injection code, against the modules.

The credential type is useful only if what the controller injects is what the modules read. The
rendering is AWX's: ``inject_credential`` from awx-plugins.interfaces, the code the controller calls
for every credential of a job (awx/main/models/credential.py delegates to it). For each way a user
fills the credential in (client secret, certificate, workload identity token file, nothing: the
execution node's managed identity) the injected environment is fed to the modules' own argument spec
and auth method choice. The names themselves are checked against the one table of connection options
in tests/unit/test_connection_options.py.
"""

from __future__ import annotations

import os
import re
import stat

import pytest
import yaml
from awx_plugins.interfaces._temporary_private_api import ManagedCredentialType
from awx_plugins.interfaces._temporary_private_credential_api import Credential
from awx_plugins.interfaces._temporary_private_inject_api import inject_credential
from jinja2 import meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.secops.defender.plugins.module_utils._auth import choose_auth_method, read_secret_files
from ansible_collections.secops.defender.plugins.module_utils._module import DEFENDER_AUTH_ARGSPEC

CREDENTIAL_TYPE = os.path.join(os.path.dirname(__file__), "..", "..", "extensions", "awx", "credential_type.yml")
PEM = "-----BEGIN CERTIFICATE-----\nMIIB...\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nMIIE...\n-----END PRIVATE KEY-----\n"

# The controller's JSON schema for a field (awx/main/fields.py, CredentialTypeInputField):
# additionalProperties is false, so any other key is refused when the type is created.
FIELD_KEYS = {"id", "label", "type", "format", "choices", "help_text", "multiline", "secret", "ask_at_runtime", "default"}
FIELD_ID = re.compile(r"^[a-zA-Z_]+[a-zA-Z0-9_]*$")
# The controller's schema for file injectors (awx/main/fields.py, CredentialTypeInjectorField).
FILE_KEY = re.compile(r"^template(\.[a-zA-Z_]+[a-zA-Z0-9_]*)?$")
ENV_NAME = re.compile(r"^[a-zA-Z_]+[a-zA-Z0-9_]*$")


@pytest.fixture(scope="module")
def credential_type():
    with open(CREDENTIAL_TYPE, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@pytest.fixture(scope="module")
def fields(credential_type):
    return {field["id"]: field for field in credential_type["inputs"]["fields"]}


@pytest.fixture
def inject(credential_type, tmp_path):
    """inject(inputs) -> (env, safe_env, args, private data dir), as the controller prepares a job."""
    cred_type = ManagedCredentialType(namespace="secops_defender", name=credential_type["name"],
                                      kind=credential_type["kind"], inputs=credential_type["inputs"],
                                      injectors=credential_type["injectors"])

    def run(inputs: dict):
        private_data_dir = tmp_path / f"pdd{len(list(tmp_path.iterdir()))}"
        (private_data_dir / "env").mkdir(parents=True)
        env, safe_env, args = {}, {}, []
        inject_credential(cred_type, Credential(inputs=inputs), env, safe_env, args, str(private_data_dir),
                          container_root=str(private_data_dir))
        return env, safe_env, args, private_data_dir
    return run


def module_params(env: dict, monkeypatch, node_env: dict | None = None) -> dict:
    """The auth/connection parameters a module ends up with in the job's environment (on that node)."""
    for spec in DEFENDER_AUTH_ARGSPEC.values():
        for name in spec.get("fallback", (None, []))[1]:
            monkeypatch.delenv(name, raising=False)
    for name in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT", "IDENTITY_SERVER_THUMBPRINT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {**(node_env or {}), **env}.items():
        monkeypatch.setenv(name, value)
    result = ArgumentSpecValidator(DEFENDER_AUTH_ARGSPEC).validate({})
    assert not result.error_messages, result.error_messages
    return result.validated_parameters


def host_path(path: str, private_data_dir) -> str:
    """A file injector's path is where the execution environment mounts the private data dir (/runner)."""
    assert path.startswith("/runner/env/"), path
    return str(private_data_dir) + path[len("/runner"):]


def template_variables(template: str) -> set:
    return meta.find_undeclared_variables(ImmutableSandboxedEnvironment().parse(template)) - {"tower"}


def test_fields_follow_the_controller_schema(credential_type, fields):
    assert set(credential_type) <= {"name", "description", "kind", "inputs", "injectors"}
    assert credential_type["kind"] in ("cloud", "net")
    assert len(fields) == len(credential_type["inputs"]["fields"]), "field ids must be unique"
    for field_id, field in fields.items():
        assert set(field) <= FIELD_KEYS, f"{field_id}: keys the controller refuses: {set(field) - FIELD_KEYS}"
        assert FIELD_ID.match(field_id) and field_id != "tower"
        assert field.get("label") and field.get("type") in ("string", "boolean")
    assert set(credential_type["inputs"]["required"]) <= set(fields)
    assert set(credential_type["injectors"]) <= {"env", "file", "extra_vars"}
    files = set(credential_type["injectors"].get("file", {}))
    assert all(FILE_KEY.match(key) for key in files), files
    assert "template" not in files or len(files) == 1, "the controller refuses `template` next to `template.<name>`"
    for name in credential_type["injectors"]["env"]:
        # The controller refuses ANSIBLE_* names when the type is saved (inject_credential does not check it).
        assert ENV_NAME.match(name) and not name.startswith("ANSIBLE_"), name


def test_every_field_reaches_an_injector_and_nothing_else_is_used(credential_type, fields):
    used = set()
    for injector in credential_type["injectors"].values():
        for template in injector.values():
            used |= template_variables(template)
    assert used == set(fields)


def test_no_secret_is_ever_in_the_job_environment_only_in_private_files(inject, fields, monkeypatch):
    # ansible-runner records the job's environment in artifacts/<job>/command and the job's processes can read
    # it in /proc: each secret field reaches the modules as a file of the private data dir instead.
    secret_fields = {name for name, field in fields.items() if field.get("secret")}
    assert secret_fields == {"client_secret", "client_certificate", "client_certificate_password"}
    assert fields["client_certificate"].get("multiline") is True
    inputs = {"tenant_id": "t-1", "client_id": "c-1", "client_secret": "s3cret~value", "client_certificate": PEM,
              "client_certificate_password": "pass-phrase"}
    env, safe_env, args, pdd = inject(inputs)
    for secret in (inputs[name] for name in secret_fields):
        assert not [name for name, value in {**env, **safe_env}.items() if secret in value], "a secret in the env"
        assert secret not in " ".join(args)
    for name, field in (("DEFENDER_CLIENT_SECRET_FILE", "client_secret"), ("AZURE_CLIENT_CERTIFICATE_PATH", "client_certificate"),
                        ("DEFENDER_CLIENT_CERTIFICATE_PASSWORD_FILE", "client_certificate_password")):
        path = host_path(env[name], pdd)
        with open(path, encoding="utf-8") as handle:
            assert handle.read() == inputs[field]
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    params = module_params(env, monkeypatch)
    params["client_secret_file"] = host_path(params["client_secret_file"], pdd)
    params["client_certificate_password_file"] = host_path(params["client_certificate_password_file"], pdd)
    resolved = read_secret_files(params)
    assert (resolved["client_secret"], resolved["client_certificate_password"]) == ("s3cret~value", "pass-phrase")


def test_every_field_filled_in_renders(inject, fields):
    inputs = {field_id: (field.get("choices") or ["x"])[-1] for field_id, field in fields.items()}
    env, _safe_env, args, _pdd = inject(inputs)
    assert not args  # env and file injectors only: nothing on the command line
    module_choices = DEFENDER_AUTH_ARGSPEC["auth_method"]["choices"]
    assert set(fields["auth_method"]["choices"]) <= set(module_choices)
    assert sorted(fields["cloud"]["choices"]) == sorted(DEFENDER_AUTH_ARGSPEC["cloud"]["choices"])
    assert env["DEFENDER_CLOUD"] == inputs["cloud"] and env["DEFENDER_AUTH_METHOD"] == inputs["auth_method"]


def test_client_secret(inject, monkeypatch):
    env, _safe_env, _args, pdd = inject({"tenant_id": "t-1", "client_id": "c-1", "client_secret": "s3cret"})
    assert env["AZURE_CLIENT_CERTIFICATE_PATH"] == "" and env["AZURE_FEDERATED_TOKEN_FILE"] == ""
    assert env["DEFENDER_CLIENT_CERTIFICATE_PASSWORD_FILE"] == ""
    params = module_params(env, monkeypatch)
    assert (params["tenant_id"], params["client_id"], params["client_secret"]) == ("t-1", "c-1", None)
    assert params["client_secret_file"] == env["DEFENDER_CLIENT_SECRET_FILE"]
    with open(host_path(params["client_secret_file"], pdd), encoding="utf-8") as handle:
        assert handle.read() == "s3cret"
    assert params["cloud"] == "commercial" and params["auth_method"] == "auto"
    assert not params["api_url"] and not params["authority_url"]
    assert choose_auth_method(params) == "client_secret"


def test_certificate_is_written_to_a_private_file_the_modules_are_pointed_at(inject, monkeypatch):
    env, safe_env, _args, pdd = inject({"tenant_id": "t-1", "client_id": "c-1", "client_certificate": PEM,
                                        "cloud": "gcc_high"})
    path = host_path(env["AZURE_CLIENT_CERTIFICATE_PATH"], pdd)
    with open(path, encoding="utf-8") as handle:
        assert handle.read() == PEM
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert PEM not in repr(safe_env)
    params = module_params(env, monkeypatch)
    assert params["client_certificate_path"] == env["AZURE_CLIENT_CERTIFICATE_PATH"] and not params["client_secret_file"]
    assert params["cloud"] == "gcc_high"
    assert choose_auth_method(params) == "certificate"


def test_certificate_wins_over_a_secret_filled_in_too(inject, monkeypatch):
    env, _safe_env, _args, _pdd = inject({"tenant_id": "t", "client_id": "c", "client_secret": "s", "client_certificate": PEM})
    assert choose_auth_method(module_params(env, monkeypatch)) == "certificate"


def test_workload_identity_token_file(inject, monkeypatch):
    token_file = "/var/run/secrets/azure/tokens/azure-identity-token"
    env, _safe_env, _args, _pdd = inject({"tenant_id": "t-1", "client_id": "c-1", "federated_token_file": token_file})
    assert env["AZURE_CLIENT_CERTIFICATE_PATH"] == "" and env["DEFENDER_CLIENT_SECRET_FILE"] == ""
    params = module_params(env, monkeypatch)
    assert params["federated_token_file"] == token_file
    assert choose_auth_method(params) == "workload_identity"


def test_nothing_filled_in_uses_the_managed_identity_the_execution_node_announces(inject, monkeypatch):
    env, _safe_env, _args, _pdd = inject({})
    assert env["DEFENDER_AUTH_METHOD"] == "auto" and env["DEFENDER_CLOUD"] == "commercial"
    assert all(env[name] == "" for name in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "DEFENDER_CLIENT_SECRET_FILE",
                                            "AZURE_CLIENT_CERTIFICATE_PATH", "DEFENDER_CLIENT_CERTIFICATE_PASSWORD_FILE",
                                            "AZURE_FEDERATED_TOKEN_FILE"))
    node = {"IDENTITY_ENDPOINT": "http://127.0.0.1:41000/msi/token", "IDENTITY_HEADER": "node-header"}
    assert choose_auth_method(module_params(env, monkeypatch, node_env=node)) == "managed_identity"
    with pytest.raises(ValueError, match="No credentials"):
        choose_auth_method(module_params(env, monkeypatch))


def test_managed_identity_chosen_explicitly_with_a_user_assigned_identity(inject, monkeypatch):
    env, _safe_env, _args, _pdd = inject({"auth_method": "managed_identity", "managed_identity_client_id": "mi-1"})
    params = module_params(env, monkeypatch)
    assert params["managed_identity_client_id"] == "mi-1"
    assert choose_auth_method(params) == "managed_identity"


def test_overrides_reach_the_modules(inject, monkeypatch):
    env, _safe_env, _args, _pdd = inject({"tenant_id": "t", "client_id": "c", "client_secret": "s", "cloud": "commercial",
                                          "api_url": "https://eu.api.security.microsoft.com",
                                          "authority_url": "https://login.microsoftonline.com"})
    params = module_params(env, monkeypatch)
    assert params["api_url"] == "https://eu.api.security.microsoft.com"
    assert params["authority_url"] == "https://login.microsoftonline.com"


def test_eda_credential_type_renders_the_source_variables(tmp_path):
    # EDA controller's injection code is not published on its own; AWX's renders the same injector format
    # (extra_vars written to a private file and passed as -e @file), which is what a rulebook activation gets.
    with open(os.path.join(os.path.dirname(CREDENTIAL_TYPE), "eda_credential_type.yml"), encoding="utf-8") as handle:
        eda = yaml.safe_load(handle)
    assert set(eda) <= {"name", "description", "inputs", "injectors"} and set(eda["injectors"]) == {"extra_vars"}
    assert not any(name.upper().startswith("EDA_") for name in eda["injectors"]["extra_vars"])
    assert {f["id"] for f in eda["inputs"]["fields"] if f.get("secret")} == {"client_secret"}
    cred_type = ManagedCredentialType(namespace="secops_defender_eda", name=eda["name"], kind="cloud",
                                      inputs=eda["inputs"], injectors=eda["injectors"])
    (tmp_path / "env").mkdir()
    env, safe_env, args = {}, {}, []
    inject_credential(cred_type, Credential(inputs={"tenant_id": "t-1", "client_id": "c-1", "client_secret": "s3cret"}),
                      env, safe_env, args, str(tmp_path), container_root=str(tmp_path))
    assert not env and args[0] == "-e" and args[1].startswith(f"@{tmp_path}/env/")
    with open(args[1][1:], encoding="utf-8") as handle:
        extra_vars = yaml.safe_load(handle)
    assert stat.S_IMODE(os.stat(args[1][1:]).st_mode) == 0o400
    assert extra_vars == {"defender_tenant_id": "t-1", "defender_client_id": "c-1", "defender_client_secret": "s3cret",
                          "defender_cloud": "commercial", "defender_api_url": "", "defender_authority_url": ""}
