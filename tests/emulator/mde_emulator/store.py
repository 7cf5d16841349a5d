# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Emulated tenant data: machines, files, machine actions (with their lifecycle) and indicators.

All times are emulated epoch seconds; the action status is computed lazily from the clock on
every read, so nothing runs in the background.
"""

from __future__ import annotations

import copy
import hashlib
import threading

from .alerts import AlertBook
from .clock import iso, parse_iso
from .config import defaults
from .errors import new_guid

TERMINAL = ("Succeeded", "Failed", "TimeOut", "Cancelled")
ACTIVE = ("Pending", "InProgress")

MACHINE_FIELDS = ("id", "computerDnsName", "firstSeen", "lastSeen", "osPlatform", "onboardingStatus", "osProcessor", "version", "osBuild",
                  "lastIpAddress", "lastExternalIpAddress", "healthStatus", "rbacGroupName", "rbacGroupId", "riskScore", "aadDeviceId",
                  "machineTags", "exposureLevel", "deviceValue", "ipAddresses", "osArchitecture", "isPotentialDuplication",
                  "mergedIntoMachineId")
# Seed-only keys that drive the emulation and are not part of the Machine entity.
MACHINE_EMULATION_KEYS = ("online", "files", "outcome", "errorHResult")

FILE_FIELDS = ("sha1", "sha256", "md5", "globalPrevalence", "globalFirstObserved", "globalLastObserved", "size", "fileType", "isPeFile",
               "filePublisher", "fileProductName", "signer", "issuer", "signerHash", "isValidCertificate", "determinationType",
               "determinationValue")

ACTION_FIELDS = ("id", "type", "title", "requestor", "requestorComment", "status", "machineId", "computerDnsName", "creationDateTimeUtc",
                 "lastUpdateDateTimeUtc", "cancellationRequestor", "cancellationComment", "cancellationDateTimeUtc", "errorHResult", "scope",
                 "externalId", "requestSource", "relatedFileInfo", "commands", "troubleshootInfo")

INDICATOR_FIELDS = ("id", "indicatorValue", "indicatorType", "action", "application", "source", "sourceType", "title",
                    "creationTimeDateTimeUtc", "createdBy", "expirationTime", "lastUpdateTime", "lastUpdatedBy", "severity", "description",
                    "recommendedActions", "rbacGroupNames", "rbacGroupIds", "generateAlert", "createdBySource", "createdByDisplayName",
                    "mitreTechniques", "educateUrl")


def _machine_defaults(name: str, index: int, created: float) -> dict:
    digest = hashlib.sha1(name.lower().encode()).digest()
    return {
        "firstSeen": iso(created - 86400 * (30 + digest[0])),
        "lastSeen": iso(created - digest[1] * 60),
        "osPlatform": "Windows11",
        "onboardingStatus": "Onboarded",
        "osProcessor": "x64",
        "version": "23H2",
        "osBuild": 22631,
        "lastIpAddress": "10.0.%d.%d" % (index // 250, index % 250 + 4),
        "lastExternalIpAddress": "203.0.113.%d" % (digest[2] % 250 + 1),
        "healthStatus": "Active",
        "rbacGroupName": None,
        "rbacGroupId": 0,
        "riskScore": "None",
        "aadDeviceId": None,
        "machineTags": [],
        "exposureLevel": "Low",
        "deviceValue": "Normal",
        "ipAddresses": [],
        "osArchitecture": "64-bit",
        "isPotentialDuplication": False,
        "mergedIntoMachineId": None,
        "online": True,
        "files": [],
        "outcome": "Succeeded",
        "errorHResult": 0,
    }


def fleet_machines(count: int, prefix: str = "fleet", sha1: str = "", os_platform: str = "Windows11", start: int = 0,
                   now: float | None = None) -> list[dict]:
    """N deterministic Windows machines ``<prefix>-0001.contoso.local``...; ids are the SHA-1 of the name.

    They were onboarded one a minute, 30 days before ``now``, in number order: newest-first lists
    show the highest number first.
    """
    machines = []
    for number in range(1, count + 1):
        name = "%s-%04d.contoso.local" % (prefix, number)
        extra = {} if now is None else {"firstSeen": iso(now - 30 * 86400 + 60 * number)}
        machines.append({
            **extra,
            "id": hashlib.sha1(name.encode()).hexdigest(),
            "computerDnsName": name,
            "osPlatform": os_platform,
            "lastIpAddress": "10.%d.%d.%d" % (100 + (start + number) // 62500, (number // 250) % 250, number % 250 + 4),
            "files": [sha1] if sha1 else [],
            "machineTags": ["fleet"],
        })
    return machines


class Store:
    """All mutable emulated data; callers hold ``lock`` around every use."""

    def __init__(self, clock) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.config = defaults()
        self.machines: dict[str, dict] = {}
        self.files: dict[str, dict] = {}
        self.actions: dict[str, dict] = {}
        self.indicators: dict[str, dict] = {}
        self.alerts = AlertBook(self)  # alerts.py
        self._indicator_seq = 0
        self._action_seq = 0

    # --- loading ------------------------------------------------------------------------
    def load(self, seed: dict, fleet: dict | None = None) -> None:
        now = self.clock.now()
        self.machines = {}
        self.files = {}
        self.actions = {}
        self.indicators = {}
        self._indicator_seq = 0
        self._action_seq = 0
        entries = list(seed.get("machines", []))
        if fleet:
            entries += fleet_machines(int(fleet.get("count", 0)), fleet.get("prefix", "fleet"),
                                      fleet.get("sha1", "87662bc3d60e4200ceaf7aae249d1c343f4b83c9"),
                                      fleet.get("os_platform", "Windows11"), len(entries), now)
        for index, entry in enumerate(entries):
            machine = _machine_defaults(entry["computerDnsName"], index, now)
            machine.update(copy.deepcopy(entry))
            machine["id"] = machine["id"].lower()
            machine["files"] = [f.lower() for f in machine.get("files", [])]
            self.machines[machine["id"]] = machine
        for entry in seed.get("files", []):
            record = {field: None for field in FILE_FIELDS}
            record.update(copy.deepcopy(entry))
            record["sha1"] = record["sha1"].lower()
            self.files[record["sha1"]] = record
        for entry in seed.get("actions", []):
            self._seed_action(entry, now)
        self.alerts.load(seed.get("alerts", []))
        for entry in seed.get("indicators", []):
            self._seed_indicator(entry, now)

    def _seed_action(self, entry: dict, now: float) -> None:
        """A pre-existing action (any type) frozen at its seeded status, e.g. noise in GET /api/machineactions."""
        machine = self.machines[entry["machineId"].lower()]
        if "creationDateTimeUtc" in entry:
            created = parse_iso(entry["creationDateTimeUtc"])
        else:
            created = now - float(entry.get("age_seconds", 3600))
        updated = parse_iso(entry["lastUpdateDateTimeUtc"]) if entry.get("lastUpdateDateTimeUtc") else created
        sha1 = entry.get("sha1")
        action = self._new_action(machine, sha1.lower() if sha1 else None, entry.get("requestorComment", ""),
                                  entry.get("requestor", "Analyst@contoso.com"))
        action.update({"id": entry.get("id", action["id"]).lower(), "created": created, "type": entry.get("type", "StopAndQuarantineFile"),
                       "scope": entry.get("scope"), "list_lag_seconds": 0.0, "get_by_id_lag_seconds": 0.0,
                       "forced": (entry.get("status", "Succeeded"), updated, int(entry.get("errorHResult", 0))),
                       # Seeded timestamps are shown verbatim: a float cannot hold 7 fractional digits of an epoch time.
                       "created_text": entry.get("creationDateTimeUtc"),
                       "updated_text": entry.get("lastUpdateDateTimeUtc") or entry.get("creationDateTimeUtc")})
        self.actions[action["id"]] = action

    # --- machines and files ---------------------------------------------------------------
    def find_machine(self, key: str) -> dict | None:
        """By machine id, or (as GET /api/machines/{id} allows) by exact computer name."""
        machine = self.machines.get(key.lower())
        if machine is not None:
            return machine
        named = [m for m in self.machines.values() if m["computerDnsName"].lower() == key.lower()]
        # A merged duplicate keeps the name; the live record is the one that was not merged away.
        named.sort(key=lambda m: m.get("mergedIntoMachineId") is not None)
        return named[0] if named else None

    @staticmethod
    def machine_entity(machine: dict) -> dict:
        return {field: copy.deepcopy(machine.get(field)) for field in MACHINE_FIELDS}

    def machine_list(self, newest_first: bool = True) -> list[dict]:
        return [self.machine_entity(m) for m in self._ordered_machines(self.machines.values(), newest_first)]

    def _ordered_machines(self, machines, newest_first: bool) -> list[dict]:
        """Newest (latest firstSeen, i.e. onboarded last) first; ties in the order they were loaded."""
        index = {machine_id: number for number, machine_id in enumerate(self.machines)}

        def key(machine: dict) -> tuple:
            seen = machine.get("firstSeen")
            return (parse_iso(seen) if seen else float("-inf"), index[machine["id"]])
        return sorted(machines, key=key, reverse=newest_first)

    def find_file(self, file_hash: str) -> dict | None:
        key = file_hash.lower()
        if key in self.files:
            return self.files[key]
        for record in self.files.values():
            if (record.get("sha256") or "").lower() == key:
                return record
        return None

    @staticmethod
    def file_entity(record: dict) -> dict:
        return {field: copy.deepcopy(record.get(field)) for field in FILE_FIELDS}

    def machines_with_file(self, sha1: str, newest_first: bool = True) -> list[dict]:
        having = [m for m in self.machines.values() if sha1.lower() in m["files"]]
        return [self.machine_entity(m) for m in self._ordered_machines(having, newest_first)]

    # --- machine actions ----------------------------------------------------------------
    def create_stop_and_quarantine(self, machine: dict, sha1: str, comment: str, requestor: str) -> dict:
        action = self._new_action(machine, sha1, comment, requestor)
        self.actions[action["id"]] = action
        return action

    def _new_action(self, machine: dict, sha1: str | None, comment: str, requestor: str) -> dict:
        now = self.clock.now()
        self._action_seq += 1
        action = {
            "id": new_guid(),
            "seq": self._action_seq,
            "type": "StopAndQuarantineFile",
            "scope": None,
            "machine_id": machine["id"],
            "computerDnsName": machine["computerDnsName"],
            "sha1": sha1,
            "requestor": requestor,
            "comment": comment,
            "created": now,
            # The lifecycle is fixed when the action is created: config changes apply "from now on".
            "pending_seconds": float(self.config["pending_seconds"]),
            "in_progress_seconds": float(self.config["in_progress_seconds"]),
            "offline_timeout_seconds": float(self.config["offline_timeout_seconds"]),
            # Read views (list, GET by id) may lag a new action; the service itself knows it at once.
            "list_lag_seconds": float(self.config["list_lag_seconds"]),
            "get_by_id_lag_seconds": float(self.config["get_by_id_lag_seconds"]),
            "online": bool(machine.get("online", True)),
            "outcome": machine.get("outcome", "Succeeded"),
            "outcome_hresult": int(machine.get("errorHResult", 0) or 0),
            "cancel": None,
            "forced": None,
        }
        return action

    def action_state(self, action: dict, now: float | None = None) -> tuple[str, float, int]:
        """(status, lastUpdate time, errorHResult) of an action at emulated time ``now``."""
        if now is None:
            now = self.clock.now()
        if action["forced"] is not None:
            return action["forced"]
        if action["cancel"] is not None:
            return "Cancelled", action["cancel"]["time"], 0
        created = action["created"]
        if not action["online"]:
            timeout = created + action["offline_timeout_seconds"]
            return ("TimeOut", timeout, 0) if now >= timeout else ("Pending", created, 0)
        started = created + action["pending_seconds"]
        if now < started:
            return "Pending", created, 0
        finished = started + action["in_progress_seconds"]
        if now < finished:
            return "InProgress", started, 0
        if action["outcome"] == "Failed":
            return "Failed", finished, action["outcome_hresult"]
        return action["outcome"], finished, 0

    def action_entity(self, action: dict, last_update_field: str = "lastUpdateDateTimeUtc") -> dict:
        status, updated, hresult = self.action_state(action)
        cancel = action["cancel"] or {}
        if action["type"] == "StopAndQuarantineFile" and action["sha1"]:
            title = "Stop and quarantine file %s on %s" % (action["sha1"], action["computerDnsName"])
            file_info = {"fileIdentifier": action["sha1"], "fileIdentifierType": "Sha1"}
        else:
            title = "%s on %s" % (action["type"], action["computerDnsName"])
            file_info = None
        values = {
            "id": action["id"],
            "type": action["type"],
            "title": title,
            "requestor": action["requestor"],
            "requestorComment": action["comment"],
            "status": status,
            "machineId": action["machine_id"],
            "computerDnsName": action["computerDnsName"],
            "creationDateTimeUtc": action.get("created_text") or iso(action["created"]),
            "lastUpdateDateTimeUtc": (action.get("updated_text") if action["forced"] else None) or iso(updated),
            "cancellationRequestor": cancel.get("requestor"),
            "cancellationComment": cancel.get("comment"),
            "cancellationDateTimeUtc": iso(cancel.get("time")),
            "errorHResult": hresult,
            "scope": action["scope"],
            "externalId": None,
            "requestSource": "PublicApi",
            "relatedFileInfo": file_info,
            "commands": [],
            "troubleshootInfo": None,
        }
        entity = {}
        for field in ACTION_FIELDS:
            name = last_update_field if field == "lastUpdateDateTimeUtc" else field
            entity[name] = values[field]
        return entity

    def blocking_action(self, machine_id: str, sha1: str, scope: str = "file") -> dict | None:
        """The Pending/InProgress StopAndQuarantineFile that refuses a new one for (machine, sha1).

        ``scope`` "file": only one for the same SHA-1 blocks; "device": any on the machine does. When several
        block, the one for the same SHA-1 wins, else the oldest (the one that has held the device longest).
        """
        now = self.clock.now()
        active = sorted((a for a in self.actions.values() if a["machine_id"] == machine_id and a["type"] == "StopAndQuarantineFile"
                         and self.action_state(a, now)[0] in ACTIVE), key=lambda a: (a["created"], a["seq"]))
        same_file = [a for a in active if a["sha1"] == sha1]
        if same_file:
            return same_file[0]
        if scope == "device" and active:
            return active[0]
        return None

    def listed(self, action: dict) -> bool:
        """Whether GET /api/machineactions shows the action yet (config list_lag_seconds when it was created)."""
        return self.clock.now() >= action["created"] + action["list_lag_seconds"]

    def readable_by_id(self, action: dict) -> bool:
        """Whether GET /api/machineactions/{id} finds the action yet (config get_by_id_lag_seconds)."""
        return self.clock.now() >= action["created"] + action["get_by_id_lag_seconds"]

    def sorted_actions(self, newest_first: bool = False) -> list[dict]:
        """By creationDateTimeUtc, then in creation order (``seq``) for actions created at the same instant."""
        return sorted(self.actions.values(), key=lambda a: (a["created"], a["seq"]), reverse=newest_first)

    def cancel(self, action: dict, requestor: str, comment: str) -> None:
        action["cancel"] = {"requestor": requestor, "comment": comment, "time": self.clock.now()}
        action["forced"] = None  # a frozen Pending/InProgress action (seeded or forced) can be cancelled too

    def force_status(self, action: dict, status: str, hresult: int) -> None:
        action["forced"] = (status, self.clock.now(), hresult)
        action["updated_text"] = None

    # --- indicators ---------------------------------------------------------------------
    def indicator_key(self, indicator_type: str, value: str) -> tuple[str, str]:
        return indicator_type, value.lower()

    def find_indicator_by_value(self, indicator_type: str, value: str) -> dict | None:
        key = self.indicator_key(indicator_type, value)
        for indicator in self.indicators.values():
            if self.indicator_key(indicator["indicatorType"], indicator["indicatorValue"]) == key:
                return indicator
        return None

    def _seed_indicator(self, entry: dict, now: float) -> None:
        """A pre-existing indicator; by default one an analyst made in the portal (not visible to a Ti.ReadWrite app)."""
        created = parse_iso(entry["creationTimeDateTimeUtc"]) if entry.get("creationTimeDateTimeUtc") else \
            now - float(entry.get("age_seconds", 86400))
        record = {name: None for name in INDICATOR_FIELDS}
        record.update({"creationTimeDateTimeUtc": iso(created), "lastUpdateTime": iso(created), "createdBy": "analyst@contoso.com",
                       "source": "analyst@contoso.com", "sourceType": "User", "createdBySource": "Portal",
                       "createdByDisplayName": "SOC Analyst", "severity": "Informational", "rbacGroupNames": [], "rbacGroupIds": [],
                       "generateAlert": False, "mitreTechniques": []})
        record.update({k: copy.deepcopy(v) for k, v in entry.items() if k != "age_seconds"})
        record["id"] = str(record["id"]) if record.get("id") is not None else self.next_indicator_id()
        self._indicator_seq = max(self._indicator_seq, int(record["id"]))
        self.indicators[record["id"]] = record

    def active_indicator_count(self) -> int:
        now = self.clock.now()
        return sum(1 for i in self.indicators.values() if not i["expirationTime"] or parse_iso(i["expirationTime"]) > now)

    def next_indicator_id(self) -> str:
        self._indicator_seq += 1
        return str(self._indicator_seq)

    def sorted_indicators(self, newest_first: bool = True) -> list[dict]:
        return sorted(self.indicators.values(), key=lambda i: (parse_iso(i["creationTimeDateTimeUtc"]), int(i["id"])),
                      reverse=newest_first)

    @staticmethod
    def indicator_entity(indicator: dict) -> dict:
        return {field: copy.deepcopy(indicator.get(field)) for field in INDICATOR_FIELDS}

    # --- control ------------------------------------------------------------------------
    def snapshot(self) -> dict:
        actions = []
        for action in self.sorted_actions():
            entity = self.action_entity(action)
            entity["_emulator"] = {k: action[k] for k in ("pending_seconds", "in_progress_seconds", "offline_timeout_seconds",
                                                          "list_lag_seconds", "get_by_id_lag_seconds",
                                                          "online", "outcome", "outcome_hresult")}
            entity["_emulator"].update(listed=self.listed(action), readable_by_id=self.readable_by_id(action))
            actions.append(entity)
        return {
            "now": iso(self.clock.now()),
            "config": copy.deepcopy(self.config),
            "machines": [copy.deepcopy(m) for m in self.machines.values()],
            "files": [copy.deepcopy(f) for f in self.files.values()],
            "actions": actions,
            "indicators": [self.indicator_entity(i) for i in self.indicators.values()],
            "alerts": self.alerts.snapshot(),
        }
