# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The machine lookup domain: by id, by name (safely), by file, by raw filter.

Name matching is exact, never a prefix: 'desk-01' finds 'desk-01' and 'desk-01.contoso.local', not
'desk-010.contoso.local'. The server-side filter only narrows the download; the match itself is
decided here, case-insensitively. Takes a DefenderClient and plain values; knows nothing of Ansible.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from ._errors import DefenderError
from ._validate import odata_string

MACHINES = "/api/machines"
HEALTH_STATUSES = ("Active", "Inactive", "ImpairedCommunication", "NoSensorData", "NoSensorDataImpairedCommunication",
                   "Unknown")
# Names per list query: keeps the URL short while a role resolving many hosts needs few calls.
NAMES_PER_QUERY = 15
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def normalize_name(value: object, option: str = "name") -> str:
    """A host name or FQDN, lowercased, without a trailing dot; no wildcards or spaces."""
    text = value.strip().rstrip(".") if isinstance(value, str) else ""
    if not text or not _NAME.fullmatch(text) or ".." in text:
        raise ValueError(f"{option} {value!r} is not a host name or FQDN (letters, digits, '-', '_' and dots; "
                         "matching is exact, so no wildcards)")
    return text.lower()


def short_name(dns_name: str) -> str:
    return dns_name.split(".", 1)[0]


def matches_name(machine: dict, name: str) -> bool:
    """Exact, case-insensitive match on the FQDN or on the short name up to the first dot."""
    dns_name = str(machine.get("computerDnsName") or "").lower().rstrip(".")
    return bool(dns_name) and (dns_name == name or short_name(dns_name) == name)


def name_clause(name: str) -> str:
    """A server-side filter that returns at least every exact match of name (and maybe more)."""
    if "." in name:
        return f"computerDnsName eq {odata_string(name)}"
    return f"(startswith(computerDnsName,{odata_string(name + '.')}) or computerDnsName eq {odata_string(name)})"


def narrow_clauses(health_status: str | None = None, os_platform: str | None = None) -> list[str]:
    parts = []
    if health_status:
        parts.append(f"healthStatus eq {odata_string(health_status)}")
    if os_platform:
        parts.append(f"osPlatform eq {odata_string(os_platform)}")
    return parts


def narrowed(machines: list, health_status: str | None = None, os_platform: str | None = None) -> list:
    """Client-side narrowing too: /api/files/{sha1}/machines takes no documented $filter."""
    def keep(machine: dict) -> bool:
        if health_status and str(machine.get("healthStatus") or "").lower() != health_status.lower():
            return False
        return not (os_platform and str(machine.get("osPlatform") or "").lower() != os_platform.lower())
    return [m for m in machines if keep(m)]


def is_duplicate(machine: dict) -> bool:
    """MDE's device deduplication marks records: isPotentialDuplication, or mergedIntoMachineId set."""
    return bool(machine.get("isPotentialDuplication")) or bool(machine.get("mergedIntoMachineId"))


def split_duplicates(machines: list, include_duplicates: bool) -> tuple[list, list]:
    """(machines kept, duplicate records left out)."""
    if include_duplicates:
        return list(machines), []
    return [m for m in machines if not is_duplicate(m)], [m for m in machines if is_duplicate(m)]


def list_machines(client, flt: str | None = None, page_size: int | None = None) -> list:
    """GET /api/machines, every page. "If there are no recent machines, you see 404" (get-machines.md)."""
    params = {"$filter": flt} if flt else {}
    try:
        return client.get_all(MACHINES, params, page_size=page_size)
    except DefenderError as exc:
        if exc.status == 404:
            return []
        raise


def get_machine(client, machine_id: str) -> dict | None:
    """One machine by id, None when Defender does not know it (or it is outside the app's device groups)."""
    try:
        return client.get(f"{MACHINES}/{quote(machine_id, safe='')}")
    except DefenderError as exc:
        if exc.status == 404:
            return None
        raise


def machines_with_file(client, sha1: str, page_size: int | None = None) -> list:
    """Every machine that has seen the file (SHA-1 only; an unknown file is 200 with an empty set, or a 404)."""
    try:
        return client.get_all(f"/api/files/{quote(sha1, safe='')}/machines", page_size=page_size)
    except DefenderError as exc:
        if exc.status == 404:
            return []
        raise


def find_by_names(client, names: list, extra_clauses=(), page_size: int | None = None) -> dict:
    """{name: [machines matching exactly]} with one list query per NAMES_PER_QUERY names."""
    found: dict = {name: [] for name in names}
    for start in range(0, len(names), NAMES_PER_QUERY):
        chunk = names[start:start + NAMES_PER_QUERY]
        flt = " or ".join(name_clause(n) for n in chunk)
        if len(chunk) > 1:
            flt = f"({flt})"
        flt = " and ".join([flt, *extra_clauses])
        for machine in list_machines(client, flt, page_size):
            for name in chunk:
                if matches_name(machine, name) and machine not in found[name]:
                    found[name].append(machine)
    return found


def candidate(machine: dict) -> dict:
    """What a person needs to pick the right one among several matches."""
    return {"id": machine.get("id"), "computer_dns_name": machine.get("computerDnsName"),
            "last_seen": machine.get("lastSeen"), "health_status": machine.get("healthStatus")}
