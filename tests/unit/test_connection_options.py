# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One table of connection options and their environment variables, not one copy per consumer.

DEFENDER_AUTH_ARGSPEC (plugins/module_utils/_module.py) is the table: option names, types and the
env fallbacks of the modules. Everything else that names an option or its variable is checked
against it here: the modules' doc fragment (DOCUMENTATION, PACING), the plugins' doc fragment
(PLUGINS: env, ini and vars entries, read by the machines inventory through get_option), the AWX
credential type's injectors, the EDA controller credential type's extra vars, and the hints of the
auth code.
"""

from __future__ import annotations

import ast
import os
import re

import pytest
import yaml

from ansible_collections.secops.defender.plugins.doc_fragments.auth import ModuleDocFragment as AuthFragment
from ansible_collections.secops.defender.plugins.module_utils import _auth
from ansible_collections.secops.defender.plugins.module_utils._module import DEFENDER_AUTH_ARGSPEC, PACING_OPTIONS

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
INI_SECTION = "secops_defender"
VAR_PREFIX = "defender_"
# Credential fields named after an option, except the secrets, which reach their option as a file the
# controller writes (a file injector), never as an environment variable.
FIELD_OPTION = {"client_certificate": "client_certificate_path", "client_secret": "client_secret_file",
                "client_certificate_password": "client_certificate_password_file"}

TABLE = {name: list(spec.get("fallback", (None, []))[1]) for name, spec in DEFENDER_AUTH_ARGSPEC.items()}


def load_yaml(*path):
    with open(os.path.join(ROOT, *path), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def plugin_doc(path: str) -> dict:
    with open(os.path.join(ROOT, path), encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "DOCUMENTATION":
            return yaml.safe_load(node.value.value)
    raise AssertionError(f"{path} has no DOCUMENTATION")


def documented_env(option_doc: dict) -> list:
    text = " ".join(option_doc["description"])
    return re.findall(r"value of the E\((\w+)\) environment variable is used", text)


def test_the_table_has_an_env_var_for_every_option_a_person_sets():
    # client_certificate_thumbprint is the one exception: it only ever accompanies a key-only PEM file.
    assert [name for name, env in TABLE.items() if not env] == ["client_certificate_thumbprint"]
    names = [env for envs in TABLE.values() for env in envs]
    assert len(names) == len(set(names)), "an env var must feed one option"


def test_module_fragment_names_each_options_env_var():
    documented = {**yaml.safe_load(AuthFragment.DOCUMENTATION)["options"], **yaml.safe_load(AuthFragment.PACING)["options"]}
    assert set(documented) == set(TABLE)
    for name, env in TABLE.items():
        assert documented_env(documented[name]) == env, name


def test_plugin_fragment_gives_each_option_its_env_var_ini_entry_and_variable():
    plugins = yaml.safe_load(AuthFragment.PLUGINS)["options"]
    described = yaml.safe_load(AuthFragment.DOCUMENTATION)["options"]
    assert set(plugins) == set(TABLE) - set(PACING_OPTIONS) == set(described)
    for name, entry in plugins.items():
        assert set(entry) == ({"env", "ini", "vars"} if TABLE[name] else {"ini", "vars"}), name
        assert [e["name"] for e in entry.get("env", [])] == TABLE[name], name
        assert [(i["section"], i["key"]) for i in entry["ini"]] == [(INI_SECTION, name)], name
        assert [v["name"] for v in entry["vars"]] == [VAR_PREFIX + name], name


def test_the_inventory_plugin_takes_the_plugin_fragment():
    fragments = plugin_doc("plugins/inventory/machines.py")["extends_documentation_fragment"]
    assert fragments[:2] == ["secops.defender.auth", "secops.defender.auth.plugins"]
    notes = " ".join(yaml.safe_load(AuthFragment.DOCUMENTATION).get("notes", []))
    assert "module_defaults" not in notes, "the shared options' notes reach plugins, which take no module_defaults"


def test_awx_credential_type_injects_each_field_as_its_options_env_var():
    credential_type = load_yaml("extensions", "awx", "credential_type.yml")
    fields = [field["id"] for field in credential_type["inputs"]["fields"]]
    options = [FIELD_OPTION.get(field, field) for field in fields]
    assert set(options) <= set(TABLE), f"fields that are no option: {set(options) - set(TABLE)}"
    injected = credential_type["injectors"]["env"]
    assert sorted(injected) == sorted(TABLE[option][0] for option in options)
    for field, option in zip(fields, options):
        template = injected[TABLE[option][0]]
        if field in FIELD_OPTION:
            assert re.search(r"\btower\.filename\.%s\b" % field, template), f"{TABLE[option][0]} is not the file of {field}"
            assert credential_type["injectors"]["file"][f"template.{field}"] == "{{ %s }}" % field
        else:
            assert re.search(r"\{\{\s*%s\b" % field, template), f"{TABLE[option][0]} is not rendered from {field}"


def test_eda_credential_type_injects_the_plugin_variables():
    credential_type = load_yaml("extensions", "awx", "eda_credential_type.yml")
    assert set(credential_type["injectors"]) == {"extra_vars"}, "EDA controller injects extra_vars for rulebooks"
    fields = {field["id"] for field in credential_type["inputs"]["fields"]}
    assert fields <= set(TABLE) - set(PACING_OPTIONS)
    plugin_vars = {VAR_PREFIX + name for name in fields}
    extra_vars = credential_type["injectors"]["extra_vars"]
    assert set(extra_vars) == plugin_vars
    for name, template in extra_vars.items():
        assert re.search(r"\{\{\s*%s\b" % name[len(VAR_PREFIX):], template), name


@pytest.mark.parametrize("option", ["tenant_id", "client_id", "client_secret", "client_certificate_path", "access_token",
                                    "federated_token_file"])
def test_the_auth_hints_name_the_options_env_var(option):
    with pytest.raises(ValueError) as failure:
        _auth._require({}, "some_method", option)  # pylint: disable=protected-access  # the hint users read
    assert f"(or {TABLE[option][0]})" in str(failure.value)
