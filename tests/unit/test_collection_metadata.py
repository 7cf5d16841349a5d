# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Things declared in two places must stay equal: action group, auth docs and argument spec, version."""

from __future__ import annotations

import ast
import os
import re

import pytest
import yaml

from ansible_collections.secops.defender.plugins.doc_fragments.auth import ModuleDocFragment as AuthFragment
from ansible_collections.secops.defender.plugins.module_utils._module import DEFENDER_AUTH_ARGSPEC, PACING_OPTIONS
from ansible_collections.secops.defender.plugins.module_utils._version import COLLECTION_VERSION

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODULES = sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, "plugins", "modules")) if f.endswith(".py") and f != "__init__.py")


def _module_doc(name: str) -> dict:
    with open(os.path.join(ROOT, "plugins", "modules", name + ".py"), encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "DOCUMENTATION":
            return yaml.safe_load(node.value.value)
    raise AssertionError(f"{name} has no DOCUMENTATION")


def test_every_module_is_in_the_action_group():
    with open(os.path.join(ROOT, "meta", "runtime.yml"), encoding="utf-8") as handle:
        runtime = yaml.safe_load(handle)
    assert sorted(runtime["action_groups"]["defender"]) == MODULES


@pytest.mark.parametrize("name", MODULES)
def test_every_module_documents_the_group_and_the_auth_options(name):
    fragments = _module_doc(name).get("extends_documentation_fragment", [])
    assert "secops.defender.attributes" in fragments
    assert "secops.defender.auth" in fragments
    pacing = "secops.defender.auth.pacing_unused" if name == "defender_token" else "secops.defender.auth.pacing"
    assert pacing in fragments


def test_auth_fragment_matches_the_argument_spec():
    documented = yaml.safe_load(AuthFragment.DOCUMENTATION)["options"]
    pacing = yaml.safe_load(AuthFragment.PACING)["options"]
    assert set(pacing) == set(PACING_OPTIONS) and not set(pacing) & set(documented)
    documented.update(pacing)
    assert set(documented) == set(DEFENDER_AUTH_ARGSPEC)
    for name, spec in DEFENDER_AUTH_ARGSPEC.items():
        doc = documented[name]
        assert doc["type"] == spec["type"], name
        assert doc.get("default") == spec.get("default"), name
        assert doc.get("choices") == spec.get("choices"), name
        env = spec["fallback"][1] if "fallback" in spec else []
        text = " ".join(doc["description"])
        assert re.findall(r"value of the E\((\w+)\) environment variable is used", text) == env, name


def test_secrets_are_no_log():
    secrets = {name for name, spec in DEFENDER_AUTH_ARGSPEC.items() if spec.get("no_log")}
    assert {"client_secret", "client_certificate_password", "access_token", "proxy"} <= secrets


def test_version_matches_galaxy_yml():
    with open(os.path.join(ROOT, "galaxy.yml"), encoding="utf-8") as handle:
        assert yaml.safe_load(handle)["version"] == COLLECTION_VERSION
