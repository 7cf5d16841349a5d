# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import json
import os
import subprocess
import sys
from unittest import mock

import pytest
from ansible import constants as C
from ansible.errors import AnsibleParserError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader

from ansible_collections.secops.defender.plugins.inventory.machines import InventoryModule, machines_filter
from ansible_collections.secops.defender.tests.unit.fakes import FakeResponse, FakeSession

API = "https://api.test"
PLUGIN = "secops.defender.machines"
# The directory above ansible_collections/, for ansible-doc.
COLLECTIONS_PATH = os.path.abspath(os.path.join(os.path.dirname(__file__), *[".."] * 7))
ENV_NAMES = ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "DEFENDER_ACCESS_TOKEN", "DEFENDER_API_URL",
             "DEFENDER_AUTHORITY_URL", "DEFENDER_CA_PATH", "DEFENDER_VALIDATE_CERTS", "DEFENDER_CALLS_PER_MINUTE",
             "DEFENDER_CLOUD", "DEFENDER_AUTH_METHOD", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_FEDERATED_TOKEN_FILE")


def machine(number, name, **extra):
    return {"id": f"{number:040x}", "computerDnsName": name, "osPlatform": "Windows10", "healthStatus": "Active",
            "riskScore": "Low", "exposureLevel": "Medium", "machineTags": ["finance"], "lastIpAddress": f"10.0.0.{number}",
            "lastSeen": f"2026-11-2{number % 10}T10:00:00Z", "isPotentialDuplication": False, "mergedIntoMachineId": None,
            **extra}


FLEET = [
    machine(1, "desk-01.contoso.local"),
    machine(2, "srv-01.contoso.local", osPlatform="WindowsServer2022", machineTags=["servers", "tier0"]),
    machine(3, "desk-02.contoso.local", lastSeen="2026-11-27T10:00:00Z"),
    # An older record of desk-02 that Defender merged into the live one.
    machine(4, "desk-02.contoso.local", lastSeen="2025-06-02T10:00:00Z", isPotentialDuplication=True,
            mergedIntoMachineId=f"{3:040x}", healthStatus="Inactive"),
]


@pytest.fixture(scope="module")
def plugin_options():
    """The plugin's options exactly as Ansible documents and resolves them (doc fragments merged by ansible-doc).

    A plain pytest run has no collection loader for inventory_loader, so the definitions come from ansible-doc and
    are registered with Ansible's config manager, which then resolves file, extra vars, env and defaults itself."""
    ansible_doc = os.path.join(os.path.dirname(sys.executable), "ansible-doc")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_PATH, ANSIBLE_NOCOLOR="1")
    out = subprocess.run([ansible_doc, "-t", "inventory", "--json", PLUGIN], env=env, check=True,
                         capture_output=True, text=True).stdout
    options = json.loads(out)[PLUGIN]["doc"]["options"]
    C.config.initialize_plugin_configuration_definitions("inventory", PLUGIN, options)
    return options


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, plugin_options):  # pylint: disable=unused-argument  # it registers the options
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def session():
    fake = FakeSession(lambda call: FakeResponse(200, {"value": FLEET}))
    with mock.patch("ansible_collections.secops.defender.plugins.module_utils._factory.build_session", return_value=fake):
        yield fake


def new_plugin() -> InventoryModule:
    plugin = InventoryModule()
    plugin._load_name = PLUGIN  # what inventory_loader sets; the option definitions are registered under it
    return plugin


def run(tmp_path, text: str, cache: bool = False, name: str = "test.defender_machines.yml", extra_vars=None):
    path = tmp_path / name
    path.write_text("plugin: secops.defender.machines\n" + text)
    plugin = new_plugin()
    inventory = InventoryData()
    with mock.patch("ansible.plugins.inventory.load_extra_vars", return_value=dict(extra_vars or {})):
        plugin.parse(inventory, DataLoader(), str(path), cache=cache)
    if plugin.get_option("cache"):
        plugin.update_cache_if_changed()
    return inventory


def hosts_of(inventory, group: str) -> list:
    return sorted(host.name for host in inventory.groups[group].get_hosts())


def test_verify_file_accepts_the_naming_convention_only(tmp_path):
    plugin = InventoryModule()
    for name, expected in (("prod.defender_machines.yml", True), ("defender_machines.yaml", True),
                           ("machines.yml", False), ("prod.aws_ec2.yml", False)):
        path = tmp_path / name
        path.write_text("plugin: secops.defender.machines\n")
        assert plugin.verify_file(str(path)) is expected, name


def test_hosts_vars_and_keyed_groups(tmp_path, session):
    inventory = run(tmp_path, f"api_url: {API}\naccess_token: tok\n"
                              "keyed_groups:\n  - key: mde_os_platform | lower\n    prefix: mde_os\n"
                              "  - key: mde_machine_tags\n    prefix: mde_tag\n"
                              "groups:\n  mde_servers: mde_os_platform.startswith('WindowsServer')\n")
    assert sorted(inventory.hosts) == ["desk-01.contoso.local", "desk-02.contoso.local", "srv-01.contoso.local"]
    assert hosts_of(inventory, "mde_os_windows10") == ["desk-01.contoso.local", "desk-02.contoso.local"]
    assert hosts_of(inventory, "mde_tag_tier0") == ["srv-01.contoso.local"]
    assert hosts_of(inventory, "mde_servers") == ["srv-01.contoso.local"]
    hostvars = inventory.get_host("desk-02.contoso.local").vars
    assert hostvars["mde_machine_id"] == f"{3:040x}"  # the live record, the merged duplicate is left out
    assert hostvars["mde_os_platform"] == "Windows10"
    assert hostvars["mde_health_status"] == "Active"
    assert hostvars["mde_risk_score"] == "Low"
    assert hostvars["mde_exposure_level"] == "Medium"
    assert hostvars["mde_machine_tags"] == ["finance"]
    assert hostvars["mde_last_ip_address"] == "10.0.0.3"
    assert hostvars["mde_last_seen"] == "2026-11-27T10:00:00Z"
    [call] = session.calls
    assert call["method"] == "GET" and call["url"] == f"{API}/api/machines"
    assert call["headers"]["Authorization"] == "Bearer tok"


def test_kept_duplicate_never_shares_a_host_name(tmp_path, session):
    inventory = run(tmp_path, f"api_url: {API}\naccess_token: tok\nexclude_duplicates: false\n")
    assert inventory.get_host("desk-02.contoso.local").vars["mde_machine_id"] == f"{3:040x}"
    assert inventory.get_host(f"{4:040x}").vars["mde_machine_id"] == f"{4:040x}"


def test_hostnames_option(tmp_path, session):
    inventory = run(tmp_path, f"api_url: {API}\naccess_token: tok\nhostnames: [lastIpAddress]\n")
    assert sorted(inventory.hosts) == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]


def test_filters_are_sent_as_one_odata_filter(tmp_path, session):
    run(tmp_path, f"api_url: {API}\naccess_token: tok\nhealth_status: [Active, Inactive]\nos_platform: [Windows10]\n"
                  "machine_tags: [o'brien]\nodata_filter: riskScore eq 'High'\n")
    assert session.calls[0]["params"]["$filter"] == (
        "(healthStatus eq 'Active' or healthStatus eq 'Inactive') and (osPlatform eq 'Windows10') and "
        "(machineTags/any(tag: tag eq 'o''brien')) and (riskScore eq 'High')")


def test_machines_filter_without_options():
    assert machines_filter() is None
    assert machines_filter(os_platform=["Linux"]) == "osPlatform eq 'Linux'"


def test_credentials_fall_back_to_the_environment(tmp_path, session, monkeypatch):
    monkeypatch.setenv("DEFENDER_ACCESS_TOKEN", "from-env")
    monkeypatch.setenv("DEFENDER_API_URL", "https://env.test")
    run(tmp_path, "")
    assert session.calls[0]["url"] == "https://env.test/api/machines"
    assert session.calls[0]["headers"]["Authorization"] == "Bearer from-env"


def test_the_file_wins_over_the_environment(tmp_path, session, monkeypatch):
    monkeypatch.setenv("DEFENDER_API_URL", "https://env.test")
    monkeypatch.setenv("DEFENDER_VALIDATE_CERTS", "false")
    run(tmp_path, f"api_url: {API}\naccess_token: tok\nvalidate_certs: true\n")
    assert session.calls[0]["url"] == f"{API}/api/machines"


def test_extra_vars_set_what_the_file_leaves_out_and_win_over_the_environment(tmp_path, session, monkeypatch):
    monkeypatch.setenv("DEFENDER_API_URL", "https://env.test")
    monkeypatch.setenv("DEFENDER_ACCESS_TOKEN", "from-env")
    run(tmp_path, "", extra_vars={"defender_api_url": API, "defender_access_token": "from-var"})
    assert session.calls[0]["url"] == f"{API}/api/machines"
    assert session.calls[0]["headers"]["Authorization"] == "Bearer from-var"
    run(tmp_path, "access_token: from-file\n", extra_vars={"defender_api_url": API, "defender_access_token": "from-var"})
    assert session.calls[1]["headers"]["Authorization"] == "Bearer from-file"


def test_a_template_in_the_file_is_rendered_but_a_secret_from_the_environment_is_not(tmp_path, session, monkeypatch):
    monkeypatch.setenv("DEFENDER_API_URL", API)
    run(tmp_path, "access_token: \"{{ 'ren' ~ 'dered' }}\"\n")
    assert session.calls[0]["headers"]["Authorization"] == "Bearer rendered"
    monkeypatch.setenv("DEFENDER_ACCESS_TOKEN", "{{ not-a-template }}")
    run(tmp_path, "")
    assert session.calls[1]["headers"]["Authorization"] == "Bearer {{ not-a-template }}"


def test_the_options_are_those_of_the_modules_with_their_env_vars(plugin_options):
    assert plugin_options["client_secret"]["env"] == [{"name": "AZURE_CLIENT_SECRET"}]
    assert plugin_options["client_secret"]["vars"][0]["name"] == "defender_client_secret"
    assert plugin_options["tenant_id"]["ini"][0] == {"section": "secops_defender", "key": "tenant_id", "version_added": "2.0.0",
                                                     "version_added_collection": "secops.defender"}


def test_cache_serves_the_second_run(tmp_path, session):
    config = (f"api_url: {API}\naccess_token: tok\ncache: true\ncache_plugin: jsonfile\n"
              f"cache_connection: {tmp_path / 'cache'}\ncache_timeout: 600\n")
    first = run(tmp_path, config, cache=True)
    second = run(tmp_path, config, cache=True)
    assert len(session.calls) == 1
    assert sorted(second.hosts) == sorted(first.hosts)
    run(tmp_path, config, cache=False)  # --flush-cache
    assert len(session.calls) == 2


def test_a_tenant_without_devices_is_an_empty_inventory(tmp_path):
    # "If there are no recent machines, you see 404 Not Found" (get-machines.md)
    body = {"error": {"code": "ResourceNotFound", "message": "No machines were found", "target": "req-1"}}
    fake = FakeSession(lambda call: FakeResponse(404, body))
    with mock.patch("ansible_collections.secops.defender.plugins.module_utils._factory.build_session", return_value=fake):
        inventory = run(tmp_path, f"api_url: {API}\naccess_token: tok\n")
    assert not inventory.hosts


def test_api_error_is_a_parser_error_with_the_reason(tmp_path):
    # A parser error is what the inventory manager reports as this source's failure, and what unparsed_is_failed
    # turns into a failed run (tests/integration/targets/inventory_machines shows both).
    body = {"error": {"code": "Forbidden", "message": "Missing application roles", "target": "req-9"}}
    fake = FakeSession(lambda call: FakeResponse(403, body))
    with mock.patch("ansible_collections.secops.defender.plugins.module_utils._factory.build_session", return_value=fake):
        with pytest.raises(AnsibleParserError, match=r"cannot read the Defender for Endpoint devices: .*HTTP 403.*req-9"):
            run(tmp_path, f"api_url: {API}\naccess_token: tok\n")


def test_bad_option_fails_before_any_request(tmp_path, session):
    with pytest.raises(AnsibleParserError, match="api_url uses http://"):
        run(tmp_path, "api_url: http://api.example.com\naccess_token: tok\n")
    assert session.calls == []


def test_no_credentials_is_a_parser_error_that_says_what_to_set(tmp_path, session):
    with pytest.raises(AnsibleParserError, match="No credentials"):
        run(tmp_path, f"api_url: {API}\n")
    assert session.calls == []
