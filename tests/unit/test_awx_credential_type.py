# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""extensions/awx/credential_type.yml against the modules' own argument spec.

The credential type is useful only if what the controller injects is what the modules read:
every env var must be an env fallback of DEFENDER_AUTH_ARGSPEC, every field must reach an
injector, and secrets must be marked secret. The rendering tests copy what the controller
does (awx/main/models/credential/__init__.py, CredentialType.inject_credential): only fields
with a value are in the template namespace, the file is always written, and every env var is
always set, possibly to an empty string.
"""

from __future__ import annotations

import os
import re

import pytest
import yaml
from jinja2 import StrictUndefined, meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.secops.defender.plugins.module_utils._auth import build_token_provider
from ansible_collections.secops.defender.plugins.module_utils._module import DEFENDER_AUTH_ARGSPEC

CREDENTIAL_TYPE = os.path.join(os.path.dirname(__file__), "..", "..", "extensions", "awx", "credential_type.yml")

# The controller's JSON schema for a field (awx/main/fields.py, CredentialTypeInputField):
# additionalProperties is false, so any other key is refused when the type is created.
FIELD_KEYS = {"id", "label", "type", "format", "choices", "help_text", "multiline", "secret", "ask_at_runtime", "default"}
FIELD_ID = re.compile(r"^[a-zA-Z_]+[a-zA-Z0-9_]*$")


@pytest.fixture(scope="module")
def credential_type():
    with open(CREDENTIAL_TYPE, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@pytest.fixture(scope="module")
def fields(credential_type):
    return {field["id"]: field for field in credential_type["inputs"]["fields"]}


def env_fallbacks() -> dict:
    """Env var name -> module option, from the argument spec (the source of truth)."""
    names = {}
    for option, spec in DEFENDER_AUTH_ARGSPEC.items():
        fallback = spec.get("fallback")
        if fallback:
            for name in fallback[1]:
                names[name] = option
    return names


def template_variables(template: str) -> set:
    env = ImmutableSandboxedEnvironment()
    return meta.find_undeclared_variables(env.parse(template)) - {"tower"}


def all_templates(credential_type):
    for kind, injector in credential_type["injectors"].items():
        for key, template in injector.items():
            yield kind, key, template


def inject(credential_type, values: dict, filename: str = "/runner/env/tmpcert") -> dict:
    """The env the controller would give ansible-playbook for a credential with these values."""

    class Tower:
        pass

    tower = Tower()
    namespace = {key: value for key, value in values.items() if value != ""}
    namespace["tower"] = tower
    sandbox = ImmutableSandboxedEnvironment()
    if "template" in credential_type["injectors"].get("file", {}):
        tower.filename = filename
    return {name: sandbox.from_string(template).render(**namespace)
            for name, template in credential_type["injectors"]["env"].items()}


def module_params(env: dict, monkeypatch) -> dict:
    """The auth/connection parameters a module ends up with when it runs in that env."""
    for name in env_fallbacks():
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = ArgumentSpecValidator(DEFENDER_AUTH_ARGSPEC).validate({})
    assert not result.error_messages, result.error_messages
    return result.validated_parameters


def test_every_injected_env_var_is_an_env_fallback_of_the_modules(credential_type):
    injected = set(credential_type["injectors"]["env"])
    unknown = injected - set(env_fallbacks())
    assert not unknown, f"injected but read by no module option: {sorted(unknown)}"


def test_injects_the_documented_env_vars(credential_type):
    assert set(credential_type["injectors"]["env"]) == {
        "AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH",
        "AZURE_CLIENT_CERTIFICATE_PASSWORD", "DEFENDER_CLOUD", "DEFENDER_API_URL", "DEFENDER_AUTHORITY_URL",
    }


def test_each_env_var_is_fed_by_the_field_of_the_same_option(credential_type):
    fallbacks = env_fallbacks()
    file_fields = set()
    for template in credential_type["injectors"].get("file", {}).values():
        file_fields |= template_variables(template)
    for name, template in credential_type["injectors"]["env"].items():
        option = fallbacks[name]
        used = template_variables(template)
        if option == "client_certificate_path":
            assert "tower.filename" in template and used <= file_fields, template
        else:
            assert used == {option}, f"{name} is rendered from {sorted(used)}, expected the field {option}"


def test_every_input_is_used_by_an_injector(credential_type, fields):
    used = set()
    for _kind, _key, template in all_templates(credential_type):
        used |= template_variables(template)
    assert set(fields) - used == set(), "fields that reach no injector"
    assert used - set(fields) == set(), "injectors that reference undefined fields"


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
    assert all(not name.startswith("ANSIBLE_") for name in credential_type["injectors"]["env"])


def test_templates_pass_the_controller_validation(credential_type, fields):
    # The controller renders every template with StrictUndefined and each field set to 'EXAMPLE'.
    class Tower:
        filename = "EXAMPLE_FILENAME"

    namespace = {field_id: "EXAMPLE" for field_id in fields}
    namespace["tower"] = Tower()
    sandbox = ImmutableSandboxedEnvironment(undefined=StrictUndefined)
    for _kind, _key, template in all_templates(credential_type):
        sandbox.from_string(template).render(**namespace)


def test_secret_fields_are_secret(credential_type, fields):
    fallbacks = env_fallbacks()
    must_be_secret = set()
    for template in credential_type["injectors"].get("file", {}).values():
        must_be_secret |= template_variables(template)  # the PEM holds the private key
    for name, template in credential_type["injectors"]["env"].items():
        if DEFENDER_AUTH_ARGSPEC[fallbacks[name]].get("no_log"):
            must_be_secret |= template_variables(template)
    assert must_be_secret >= {"client_secret", "client_certificate", "client_certificate_password"}
    for field_id in must_be_secret:
        assert fields[field_id].get("secret") is True, f"{field_id} must be secret: true"
    assert fields["client_certificate"].get("multiline") is True


def test_cloud_choices_are_the_modules_choices(fields):
    assert sorted(fields["cloud"]["choices"]) == sorted(DEFENDER_AUTH_ARGSPEC["cloud"]["choices"])


def test_secret_only_credential_authenticates_with_the_secret(credential_type, monkeypatch):
    env = inject(credential_type, {"tenant_id": "t-1", "client_id": "c-1", "client_secret": "s3cret"})
    assert env["AZURE_CLIENT_CERTIFICATE_PATH"] == ""
    assert env["DEFENDER_CLOUD"] == "commercial"
    params = module_params(env, monkeypatch)
    assert (params["tenant_id"], params["client_id"], params["client_secret"]) == ("t-1", "c-1", "s3cret")
    assert not params["client_certificate_path"] and not params["api_url"] and not params["authority_url"]
    assert params["cloud"] == "commercial"
    assert build_token_provider(params, endpoints=_Endpoints(), http_client=None).method == "client_secret"


def test_certificate_credential_points_the_modules_at_the_injected_file(credential_type, monkeypatch):
    env = inject(credential_type, {"tenant_id": "t-1", "client_id": "c-1", "client_certificate": "-----BEGIN ...",
                                   "cloud": "gcc_high", "api_url": "", "authority_url": ""},
                 filename="/runner/env/tmpabc")
    params = module_params(env, monkeypatch)
    assert params["client_certificate_path"] == "/runner/env/tmpabc"
    assert not params["client_secret"]
    assert params["cloud"] == "gcc_high"


def test_overrides_reach_the_modules(credential_type, monkeypatch):
    env = inject(credential_type, {"tenant_id": "t", "client_id": "c", "client_secret": "s", "cloud": "commercial",
                                   "api_url": "https://eu.api.security.microsoft.com",
                                   "authority_url": "https://login.microsoftonline.com"})
    params = module_params(env, monkeypatch)
    assert params["api_url"] == "https://eu.api.security.microsoft.com"
    assert params["authority_url"] == "https://login.microsoftonline.com"


class _Endpoints:
    authority_url = "https://login.microsoftonline.com"
    scope = "https://api.securitycenter.microsoft.com/.default"
