# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: machines
short_description: Microsoft Defender for Endpoint devices as inventory hosts
version_added: 1.0.0
description:
  - Reads the devices of a Microsoft Defender for Endpoint tenant (C(GET /api/machines)) and adds each one as a host,
    with its Defender properties as host variables prefixed C(mde_) (for example C(mde_machine_id)).
  - Host variables include C(mde_machine_id), C(mde_computer_dns_name), C(mde_os_platform), C(mde_version),
    C(mde_health_status), C(mde_risk_score), C(mde_exposure_level), C(mde_device_value), C(mde_machine_tags),
    C(mde_last_ip_address), C(mde_last_external_ip_address), C(mde_last_seen), C(mde_rbac_group_name) and every
    other field Defender returns for the device, in snake_case.
  - Groups come from the standard O(keyed_groups), O(groups) and O(compose) options; for example a keyed group on
    C(mde_os_platform | lower) with prefix C(mde_os) gives C(mde_os_windows10).
  - The devices are Defender records, not SSH or WinRM targets. Run the collection's modules for them on the
    controller (C(delegate_to) V(localhost)), with the module's O(secops.defender.defender_stop_quarantine#module:machine_id)
    set to the host variable C(mde_machine_id).
  - The configuration file name must end in C(defender_machines.yml) or C(defender_machines.yaml).
  - Uses the same authentication and connection options as the modules. An option the configuration file does
    not set is read from an extra variable (C(defender_tenant_id), ...), then from the same environment variable
    as for the modules (C(AZURE_TENANT_ID), C(AZURE_CLIENT_ID), C(AZURE_CLIENT_SECRET), C(DEFENDER_API_URL), ...),
    then from the C([secops_defender]) section of C(ansible.cfg). C(module_defaults) does not apply to inventory plugins.
  - When Defender cannot be read (a wrong secret, a missing permission, no connection) the plugin fails with the
    cause. Ansible then shows it as a warning and goes on with an empty inventory unless inventory failures are
    fatal; set C(unparsed_is_failed=true) in the C([inventory]) section of C(ansible.cfg) (or
    E(ANSIBLE_INVENTORY_UNPARSED_FAILED=true)) so that such a run stops instead of matching no hosts.
  - Needs the application permission C(Machine.Read.All) (or C(Machine.ReadWrite.All)).
author:
  - secops.defender contributors (@secops)
options:
  plugin:
    description: Marks the file as a configuration of this plugin.
    type: str
    required: true
    choices: [secops.defender.machines]
  hostnames:
    description:
      - Machine properties (Defender's field names) tried in order for the inventory host name; the first that
        is set is used.
      - When two devices would get the same name (Defender keeps the name of a re-onboarded device), the later one
        falls back to the next property in the list and a warning is shown, so that a name never points at two devices.
    type: list
    elements: str
    default: [computerDnsName, id]
  health_status:
    description:
      - Only devices with one of these health states, for example V(Active).
      - Defender's states are C(Active), C(Inactive), C(ImpairedCommunication), C(NoSensorData),
        C(NoSensorDataImpairedCommunication) and C(Unknown).
    type: list
    elements: str
  os_platform:
    description: Only devices with one of these OS platforms, for example V(Windows10), V(Windows11), V(WindowsServer2022), V(Linux).
    type: list
    elements: str
  machine_tags:
    description: Only devices carrying at least one of these tags.
    type: list
    elements: str
  odata_filter:
    description:
      - An OData C($filter) expression added (with C(and)) to the filters above, for example
        C(riskScore eq 'High') or C(lastSeen gt 2026-11-01Z).
      - Defender filters devices on C(computerDnsName), C(id), C(version), C(deviceValue), C(aadDeviceId),
        C(machineTags), C(lastSeen), C(exposureLevel), C(onboardingStatus), C(lastIpAddress), C(healthStatus),
        C(osPlatform), C(riskScore) and C(rbacGroupId).
    type: str
  exclude_duplicates:
    description:
      - Leave out devices Defender marks as potential duplicates or as merged into another device record.
    type: bool
    default: true
extends_documentation_fragment:
  - secops.defender.auth
  - secops.defender.auth.plugins
  - constructed
  - inventory_cache
notes:
  - With O(cache=true) the device list is kept by the cache plugin for O(cache_timeout) seconds, and
    C(ansible-inventory) or a playbook run within that time sends no request to Defender.
    C(--flush-cache) forces a new read.
  - Defender allows 100 calls per minute and 1,500 per hour to C(GET /api/machines); one inventory run makes one
    call per 10,000 devices (plus one token request).
seealso:
  - module: secops.defender.defender_machine_info
  - module: secops.defender.defender_stop_quarantine
"""

EXAMPLES = r"""
# contoso.defender_machines.yml -- credentials from AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET
plugin: secops.defender.machines
health_status: [Active]
keyed_groups:
  - key: mde_os_platform | lower
    prefix: mde_os
  - key: mde_health_status | lower
    prefix: mde_health
  - key: mde_risk_score | lower
    prefix: mde_risk
  - key: mde_machine_tags | map('lower') | list
    prefix: mde_tag
groups:
  mde_high_exposure: mde_exposure_level == 'High'
compose:
  mde_short_name: mde_computer_dns_name.split('.')[0]

# A US Government tenant, servers only, cached for an hour
plugin: secops.defender.machines
cloud: gcc_high
tenant_id: 00000000-0000-0000-0000-000000000000
client_id: 11111111-1111-1111-1111-111111111111
client_certificate_path: /etc/pki/defender/app.pem
odata_filter: "startswith(osPlatform, 'WindowsServer')"
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/defender-inventory
cache_timeout: 3600

# ansible.cfg -- fail the run when Defender cannot be read, and set options once for every inventory file
# (keep the secret in the environment, AZURE_CLIENT_SECRET, or in the file through a vault lookup):
# [inventory]
# unparsed_is_failed = true
#
# [secops_defender]
# tenant_id = 00000000-0000-0000-0000-000000000000
# client_id = 11111111-1111-1111-1111-111111111111
# cloud = gcc_high

# And a play over one group (the devices are not SSH targets: act from localhost):
# - hosts: mde_os_windows10
#   gather_facts: false
#   tasks:
#     - name: Quarantine the dropper wherever it runs
#       secops.defender.defender_stop_quarantine:
#         machine_id: "{{ mde_machine_id }}"
#         sha1: 87662bc3d60e4200ceaf7aae249d1c343f4b83c9
#         comment: "INC-4711"
#       delegate_to: localhost
"""

from ansible.errors import AnsibleParserError
from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.secops.defender.plugins.module_utils._errors import DefenderError, MissingLibraryError
from ansible_collections.secops.defender.plugins.module_utils._factory import build_client
from ansible_collections.secops.defender.plugins.module_utils._machines import is_duplicate, list_machines
from ansible_collections.secops.defender.plugins.module_utils._module import DEFENDER_AUTH_ARGSPEC, PACING_OPTIONS
from ansible_collections.secops.defender.plugins.module_utils._validate import odata_string

HOSTVAR_PREFIX = "mde_"
CONFIG_SUFFIXES = ("defender_machines.yml", "defender_machines.yaml")


def machine_hostvars(machine: dict) -> dict:
    """Defender's machine fields in snake_case with the mde_ prefix; the id as mde_machine_id."""
    fields = {key: value for key, value in machine.items() if not key.startswith("@odata")}
    snake = camel_dict_to_snake_dict(fields)
    snake["machine_id"] = snake.pop("id", None)
    return {HOSTVAR_PREFIX + key: value for key, value in snake.items()}


def machines_filter(health_status=None, os_platform=None, machine_tags=None, odata_filter=None) -> str | None:
    """The OData $filter for the options: any value within an option, every option."""
    parts = []
    for field, values in (("healthStatus", health_status), ("osPlatform", os_platform)):
        if values:
            parts.append(" or ".join(f"{field} eq {odata_string(v)}" for v in values))
    if machine_tags:
        parts.append(" or ".join(f"machineTags/any(tag: tag eq {odata_string(v)})" for v in machine_tags))
    if odata_filter:
        parts.append(odata_filter)
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else " and ".join(f"({p})" for p in parts)


def live_first(machines: list) -> list:
    """Live records before duplicates, each most recently seen first, so a contested name goes to the live device."""
    recent = sorted(machines, key=lambda m: m.get("lastSeen") or "", reverse=True)
    return sorted(recent, key=is_duplicate)


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "secops.defender.machines"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(CONFIG_SUFFIXES)

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        config = self._read_config_data(path)
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache") and cache
        update_cache = self.get_option("cache") and not cache
        machines = None
        if use_cache:
            try:
                machines = self._cache[cache_key]
            except KeyError:
                update_cache = True
        if machines is None:
            machines = self._fetch(config)
        if update_cache:
            self._cache[cache_key] = machines
        self._populate(machines)

    def _connection_params(self, config: dict) -> dict:
        """The auth/connection options as Ansible resolved them: the file, extra vars, env, ansible.cfg."""
        params = {}
        for name in DEFENDER_AUTH_ARGSPEC:
            if name in PACING_OPTIONS:
                continue  # one list call per 10,000 devices: the client's default pacing is enough
            value = self.get_option(name)
            # Only the configuration file may hold templates (e.g. a vault lookup); a secret that comes from
            # the environment or a variable is taken as it is.
            if name in config and isinstance(value, str) and self.templar.is_template(value):
                value = self.templar.template(value)
            params[name] = value
        return params

    def _fetch(self, config: dict) -> list:
        # AnsibleParserError is what the inventory manager reports as this source's failure (with the cause), and
        # what unparsed_is_failed turns into a failed run.
        try:
            client = build_client(self._connection_params(config), warn=self.display.warning)
            flt = machines_filter(self.get_option("health_status"), self.get_option("os_platform"),
                                  self.get_option("machine_tags"), self.get_option("odata_filter"))
            return list_machines(client, flt)
        except (ValueError, DefenderError) as exc:
            raise AnsibleParserError(f"secops.defender.machines: cannot read the Defender for Endpoint devices: {exc}") from None
        except MissingLibraryError as exc:
            raise AnsibleParserError(f"secops.defender.machines needs the Python library {exc.library}: "
                                     "install it in the Python that runs Ansible") from None

    def _populate(self, machines: list) -> None:
        strict = self.get_option("strict")
        taken: dict = {}
        for machine in live_first(machines):
            if self.get_option("exclude_duplicates") and is_duplicate(machine):
                continue
            host = self._host_name(machine, taken)
            if host is None:
                continue
            self.inventory.add_host(host)
            hostvars = machine_hostvars(machine)
            for key, value in hostvars.items():
                self.inventory.set_variable(host, key, value)
            self._set_composite_vars(self.get_option("compose"), hostvars, host, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), hostvars, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hostvars, host, strict=strict)

    def _host_name(self, machine: dict, taken: dict) -> str | None:
        for field in self.get_option("hostnames"):
            name = machine.get(field)
            if not name:
                continue
            name = str(name)
            if name in taken:
                self.display.warning(f"Defender devices {taken[name]} and {machine.get('id')} are both named {name}; "
                                     f"the second is tried under its next hostnames property")
                continue
            taken[name] = machine.get("id")
            return name
        self.display.warning(f"Defender device {machine.get('id')} has none of the hostnames properties "
                             f"({', '.join(self.get_option('hostnames'))}) free; it is left out")
        return None
