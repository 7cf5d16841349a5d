#!/usr/bin/python
# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: defender_machine_info
short_description: Find Defender for Endpoint devices by id, name, file or filter
version_added: 1.0.0
description:
  - Looks up Microsoft Defender for Endpoint devices (machines) and returns them with their ids, so that later
    tasks (for example M(secops.defender.defender_stop_quarantine)) can act on them.
  - Finds devices by O(machine_id) (C(GET /api/machines/{id})), by O(name) (C(GET /api/machines) with a
    C(computerDnsName) filter), by O(sha1) (every device that has seen the file, C(GET /api/files/{sha1}/machines))
    or by a raw OData O(filter). With none of these, every device is listed (narrowed by O(health_status) and
    O(os_platform)).
  - B(Safe name matching.) A name matches a device whose C(computerDnsName) equals it, or whose short name (up to the
    first dot) equals it, ignoring case. It never matches a prefix or a substring, so V(desk-01) does not find
    C(desk-010.contoso.local). A name that matches more than one device fails the task and lists the candidates,
    unless O(allow_multiple=true).
  - Records that Defender marks as potential duplicates (C(isPotentialDuplication)) or as merged into another
    device (C(mergedIntoMachineId)) are left out unless O(include_duplicates=true).
  - Every page of the answer is read (C(@odata.nextLink), else C($top)/C($skip) with O(page_size)).
author:
  - secops.defender contributors (@secops)
options:
  machine_id:
    description:
      - Defender device id (40 hexadecimal characters).
      - A device found by id is returned even when it is marked as a duplicate, with a warning naming the device
        it was merged into.
      - Mutually exclusive with O(name), O(sha1) and O(filter).
    type: str
  name:
    description:
      - One host name or FQDN, or a list of them (for example to resolve a runbook's hosts in one task).
      - Each name matches exactly, ignoring case, either the full C(computerDnsName) or its short name.
        A name with a dot is taken as an FQDN and matches only the full name.
      - Names are looked up 15 at a time, so a list of N names needs about N / 15 calls.
      - A name that matches nothing is listed in RV(not_found) (and fails the task with O(fail_on_missing=true)).
      - Mutually exclusive with O(machine_id), O(sha1) and O(filter).
    type: list
    elements: str
    aliases: [names]
  sha1:
    description:
      - SHA-1 of a file (40 hexadecimal characters); returns every device that has seen it.
      - Defender accepts SHA-1 only here. An unknown file returns no devices.
      - Mutually exclusive with O(machine_id), O(name) and O(filter).
    type: str
  filter:
    description:
      - A raw OData C($filter) for C(GET /api/machines), for example V(riskScore eq 'High') or
        V(machineTags/any(t:t eq 'ring0'\)). Defender filters on C(computerDnsName), C(id), C(version),
        C(deviceValue), C(aadDeviceId), C(machineTags), C(lastSeen), C(exposureLevel), C(onboardingStatus),
        C(lastIpAddress), C(healthStatus), C(osPlatform), C(riskScore) and C(rbacGroupId).
      - Sent as given; quote string literals yourself (a quote inside a literal is doubled, C('')).
      - Mutually exclusive with O(machine_id), O(name) and O(sha1).
    type: str
  health_status:
    description:
      - Keep only devices with this health status.
    type: str
    choices: [Active, Inactive, ImpairedCommunication, NoSensorData, NoSensorDataImpairedCommunication, Unknown]
  os_platform:
    description:
      - Keep only devices with this OS platform, spelled as Defender does, for example V(Windows10), V(Windows11),
        V(WindowsServer2019), V(Linux) or V(macOS).
    type: str
  allow_multiple:
    description:
      - Return every device a name matches instead of failing when a name matches more than one.
    type: bool
    default: false
  include_duplicates:
    description:
      - Also return records that Defender marks as potential duplicates or as merged into another device.
    type: bool
    default: false
  fail_on_missing:
    description:
      - Fail when O(machine_id) or one of the names in O(name) matches no device.
    type: bool
    default: false
  page_size:
    description:
      - Devices asked for per call (C($top)), then C($skip) to the next page, when Defender does not send
        C(@odata.nextLink). Between 1 and 10000. When not set, Defender's own page size applies.
    type: int
extends_documentation_fragment:
  - secops.defender.auth
  - secops.defender.auth.pacing
  - secops.defender.attributes
  - secops.defender.attributes.INFO_MODULE
notes:
  - Needs the application permission C(Machine.Read.All) or C(Machine.ReadWrite.All). Only devices in the app's
    device groups are returned.
  - The module is part of the C(secops.defender.defender) action group, so C(module_defaults) for
    C(group/secops.defender.defender) apply to it.
seealso:
  - module: secops.defender.defender_stop_quarantine
  - module: secops.defender.defender_machine_action_info
  - name: List machines API
    description: Microsoft's reference for C(GET /api/machines) and its filters.
    link: https://learn.microsoft.com/en-us/defender-endpoint/api/get-machines
  - name: Get file related machines API
    description: Microsoft's reference for C(GET /api/files/{id}/machines).
    link: https://learn.microsoft.com/en-us/defender-endpoint/api/get-file-related-machines
"""

EXAMPLES = r"""
- name: Resolve one host name to its Defender device id (fails if the name is ambiguous)
  secops.defender.defender_machine_info:
    name: desk-01
  register: found
  delegate_to: localhost

- name: Quarantine the file on that device
  secops.defender.defender_stop_quarantine:
    machine_id: "{{ found.machine_ids[0] }}"
    sha1: 87662bc3d60e4200ceaf7aae249d1c343f4b83c9
    comment: "INC-4711"
  delegate_to: localhost

- name: Resolve the hosts of a runbook at once, failing if one is unknown
  secops.defender.defender_machine_info:
    name: "{{ groups['workstations'] }}"
    fail_on_missing: true
  register: fleet
  delegate_to: localhost
  run_once: true

- name: Every active Windows 11 device that has seen a file
  secops.defender.defender_machine_info:
    sha1: 87662bc3d60e4200ceaf7aae249d1c343f4b83c9
    health_status: Active
    os_platform: Windows11
  register: seen
  delegate_to: localhost

- name: Devices with a high risk score, by raw OData filter
  secops.defender.defender_machine_info:
    filter: "riskScore eq 'High'"
  delegate_to: localhost

- name: One device by id, with credentials set once for every module of the collection
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/secops.defender.defender:
      tenant_id: "{{ defender_tenant_id }}"
      client_id: "{{ defender_client_id }}"
      client_secret: "{{ defender_client_secret }}"
  tasks:
    - name: Get the device
      secops.defender.defender_machine_info:
        machine_id: 1e5bc9d7e413ddd7902c2932e418702b84d0cc07
      register: device
"""

RETURN = r"""
machines:
  description:
    - The devices found, with Defender's fields in snake_case (documented below; Defender may add more).
    - Each device appears once, even when several names match it.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Device id.
      type: str
      sample: 1e5bc9d7e413ddd7902c2932e418702b84d0cc07
    computer_dns_name:
      description: Device name (FQDN).
      type: str
      sample: desk-01.contoso.local
    first_seen:
      description: When Defender first saw the device.
      type: str
    last_seen:
      description: When Defender last saw the device.
      type: str
      sample: "2026-11-28T10:15:00Z"
    os_platform:
      description: OS platform.
      type: str
      sample: Windows11
    os_processor:
      description: Processor architecture.
      type: str
    os_architecture:
      description: OS architecture.
      type: str
    version:
      description: OS version.
      type: str
    os_build:
      description: OS build number.
      type: int
    onboarding_status:
      description: Onboarding status.
      type: str
    health_status:
      description: One of C(Active), C(Inactive), C(ImpairedCommunication), C(NoSensorData),
        C(NoSensorDataImpairedCommunication), C(Unknown).
      type: str
      sample: Active
    last_ip_address:
      description: Last IP address on the device's network.
      type: str
    last_external_ip_address:
      description: Last IP address seen from the internet.
      type: str
    ip_addresses:
      description: IP addresses of the device's adapters.
      type: list
    rbac_group_name:
      description: Device group name.
      type: str
    rbac_group_id:
      description: Device group id.
      type: int
    risk_score:
      description: Risk score.
      type: str
    exposure_level:
      description: Exposure level.
      type: str
    device_value:
      description: Device value.
      type: str
    aad_device_id:
      description: Entra ID device id.
      type: str
    machine_tags:
      description: Tags.
      type: list
    is_potential_duplication:
      description: Whether Defender marks the record as a potential duplicate.
      type: bool
    merged_into_machine_id:
      description: The device this record was merged into, if any.
      type: str
machine_ids:
  description: The ids of RV(machines), in the same order.
  returned: always
  type: list
  elements: str
  sample: [1e5bc9d7e413ddd7902c2932e418702b84d0cc07]
machine_ids_by_name:
  description: For each name in O(name) (lowercased, without a trailing dot), the ids of the devices it matched.
  returned: when O(name) is used
  type: dict
  sample: {"desk-01": ["1e5bc9d7e413ddd7902c2932e418702b84d0cc07"], "desk-02": []}
not_found:
  description: The names, or the O(machine_id), that matched no device.
  returned: when O(name) or O(machine_id) is used
  type: list
  elements: str
excluded_duplicate_ids:
  description: Ids of matching records left out because Defender marks them as duplicates or merged.
  returned: always
  type: list
  elements: str
candidates:
  description:
    - When a name matched more than one device and O(allow_multiple=false), every match, to pick the right one.
  returned: on failure for an ambiguous name
  type: list
  elements: dict
  contains:
    name:
      description: The name that matched more than one device.
      type: str
    id:
      description: Device id.
      type: str
    computer_dns_name:
      description: Device name.
      type: str
    last_seen:
      description: When Defender last saw the device.
      type: str
    health_status:
      description: Device health status.
      type: str
api_calls:
  description: HTTP calls made, per API and for tokens.
  returned: always
  type: dict
"""

from ansible_collections.secops.defender.plugins.module_utils._auth import FILE_MACHINES_ROLES, MACHINE_READ_ROLES
from ansible_collections.secops.defender.plugins.module_utils._client import MAX_PAGE_SIZE
from ansible_collections.secops.defender.plugins.module_utils._machines import (
    HEALTH_STATUSES,
    candidate,
    find_by_names,
    get_machine,
    list_machines,
    machines_with_file,
    narrow_clauses,
    narrowed,
    normalize_name,
    split_duplicates,
)
from ansible_collections.secops.defender.plugins.module_utils._module import DefenderModule, snake_entity
from ansible_collections.secops.defender.plugins.module_utils._validate import normalize_machine_id, normalize_sha1


def validated_inputs(module) -> dict:
    """Every input check, before any request is sent."""
    params = module.params
    inputs = {}
    try:
        if params["machine_id"] is not None:
            inputs["machine_id"] = normalize_machine_id(params["machine_id"])
        if params["name"] is not None:
            names = [normalize_name(n, f"name[{i}]") for i, n in enumerate(params["name"])]
            if not names:
                raise ValueError("name is empty; give at least one host name")
            inputs["names"] = list(dict.fromkeys(names))
        if params["sha1"] is not None:
            inputs["sha1"] = normalize_sha1(params["sha1"])
        if params["filter"] is not None and not params["filter"].strip():
            raise ValueError("filter is empty; leave it out to list every device")
        if params["page_size"] is not None and not 1 <= params["page_size"] <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, got {params['page_size']}")
    except ValueError as exc:
        module.fail(msg=str(exc))
    return inputs


def by_id(module, client, machine_id: str, result: dict) -> list:
    machine = get_machine(client, machine_id)
    if machine is None:
        result["not_found"] = [machine_id]
        return []
    if machine.get("mergedIntoMachineId"):
        module.warn(f"Device {machine_id} was merged into {machine['mergedIntoMachineId']}; act on that id instead")
    elif machine.get("isPotentialDuplication"):
        module.warn(f"Defender marks device {machine_id} as a potential duplicate of another record")
    return narrowed([machine], module.params["health_status"], module.params["os_platform"])


def by_names(module, client, names: list, result: dict) -> list:
    params = module.params
    extra = narrow_clauses(params["health_status"], params["os_platform"])
    found = find_by_names(client, names, extra, params["page_size"])
    machines, ambiguous, excluded = [], [], []
    for name in names:
        kept, left_out = split_duplicates(narrowed(found[name], params["health_status"], params["os_platform"]),
                                          params["include_duplicates"])
        excluded.extend(left_out)
        if len(kept) > 1 and not params["allow_multiple"]:
            ambiguous.extend({"name": name, **candidate(m)} for m in kept)
        found[name] = kept
        machines.extend(kept)
    result["machine_ids_by_name"] = {name: [m.get("id") for m in found[name]] for name in names}
    result["not_found"] = [name for name in names if not found[name]]
    result["excluded_duplicate_ids"] = unique_ids(excluded)
    if ambiguous:
        names_text = ", ".join(sorted({c["name"] for c in ambiguous}))
        listing = "; ".join(f"{c['name']}: {c['id']} {c['computer_dns_name']} last seen {c['last_seen']} "
                            f"({c['health_status']})" for c in ambiguous)
        module.fail(msg=f"The name(s) {names_text} match more than one device; give the device id (machine_id), "
                        f"the FQDN, or allow_multiple=true. Candidates: {listing}", candidates=ambiguous)
    return machines


def by_list(module, client, inputs: dict, result: dict) -> list:
    params = module.params
    if "sha1" in inputs:
        machines = machines_with_file(client, inputs["sha1"], params["page_size"])
    else:
        clauses = narrow_clauses(params["health_status"], params["os_platform"])
        if params["filter"]:
            clauses.insert(0, f"({params['filter'].strip()})")
        machines = list_machines(client, " and ".join(clauses), params["page_size"])
    machines, excluded = split_duplicates(narrowed(machines, params["health_status"], params["os_platform"]),
                                          params["include_duplicates"])
    result["excluded_duplicate_ids"] = unique_ids(excluded)
    return machines


def unique_ids(machines: list) -> list:
    return list(dict.fromkeys(str(m.get("id")) for m in machines))


def run(module: DefenderModule) -> None:
    inputs = validated_inputs(module)
    client = module.client
    module.require_roles(FILE_MACHINES_ROLES if "sha1" in inputs else MACHINE_READ_ROLES, "read devices")

    result = module.result
    result["excluded_duplicate_ids"] = []
    if "machine_id" in inputs:
        machines = by_id(module, client, inputs["machine_id"], result)
    elif "names" in inputs:
        machines = by_names(module, client, inputs["names"], result)
    else:
        machines = by_list(module, client, inputs, result)

    unique = list({str(m.get("id")): m for m in machines}.values())
    result.update(machines=[snake_entity(m) for m in unique], machine_ids=[m.get("id") for m in unique])
    if module.params["fail_on_missing"] and result.get("not_found"):
        module.fail(msg=f"No device matches {', '.join(result['not_found'])}")
    module.exit()


def main():
    module = DefenderModule(
        argument_spec={
            "machine_id": {"type": "str"},
            "name": {"type": "list", "elements": "str", "aliases": ["names"]},
            "sha1": {"type": "str"},
            "filter": {"type": "str"},
            "health_status": {"type": "str", "choices": list(HEALTH_STATUSES)},
            "os_platform": {"type": "str"},
            "allow_multiple": {"type": "bool", "default": False},
            "include_duplicates": {"type": "bool", "default": False},
            "fail_on_missing": {"type": "bool", "default": False},
            "page_size": {"type": "int"},
        },
        mutually_exclusive=[("machine_id", "name", "sha1", "filter")],
        supports_check_mode=True,
    )
    module.run(run)


if __name__ == "__main__":
    main()
