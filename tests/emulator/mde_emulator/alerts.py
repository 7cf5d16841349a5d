# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Alerts: the entity with its evidence, GET /api/alerts (OData, $expand=evidence), GET and PATCH /api/alerts/{id},
and the control side (raise alerts, an outbreak generator, a service-side update).

Sources: alerts.md (entity, evidence, example), get-alerts.md (filterable properties, $expand=evidence, limits),
get-alert-info-by-id.md, update-alert.md (PATCH body, enums, 200 with the alert, 404) -- see tests/emulator/README.md,
"Alerts". Times are emulated epoch seconds. An alert can be dated in the future (the outbreak generator spreads its
alerts over T seconds): it exists for the API only from that moment, plus ``alert_list_lag_seconds`` for the list.
"""

from __future__ import annotations

import copy
import hashlib
import json

from . import odata
from .clock import iso
from .errors import ApiError, invalid_input, invalid_request_body, not_found, odata_error

ALERT_READ = ("Alert.Read.All", "Alert.ReadWrite.All")
ALERT_WRITE = ("Alert.ReadWrite.All",)

STATUSES = ("Unknown", "New", "InProgress", "Resolved")
PATCH_STATUSES = ("New", "InProgress", "Resolved")
SEVERITIES = ("UnSpecified", "Informational", "Low", "Medium", "High")
CLASSIFICATIONS = ("TruePositive", "InformationalExpectedActivity", "FalsePositive")
# update-alert.md's names, plus the two alerts.md spells differently (ConfirmedUserActivity, Clean).
DETERMINATIONS = ("MultiStagedAttack", "MaliciousUserActivity", "CompromisedUser", "Malware", "Phishing", "UnwantedSoftware",
                  "Other", "SecurityTesting", "LineOfBusinessApplication", "ConfirmedActivity", "ConfirmedUserActivity",
                  "NotMalicious", "Clean", "InsufficientData")
# Request body keys, as update-alert.md's example spells them (body keys are case-sensitive, common-errors.md).
PATCH_KEYS = ("status", "assignedTo", "classification", "determination", "comment")

ALERT_FIELDS = ("id", "incidentId", "investigationId", "assignedTo", "severity", "status", "classification", "determination",
                "investigationState", "detectionSource", "detectorId", "category", "threatFamilyName", "title", "description",
                "alertCreationTime", "firstEventTime", "lastEventTime", "lastUpdateTime", "resolvedTime", "machineId",
                "computerDnsName", "rbacGroupName", "aadTenantId", "threatName", "mitreTechniques", "relatedUser", "comments",
                "evidence")
# Every evidence object carries every key, null where it does not apply (alerts.md example).
EVIDENCE_FIELDS = ("entityType", "evidenceCreationTime", "sha1", "sha256", "fileName", "filePath", "processId", "processCommandLine",
                   "processCreationTime", "parentProcessId", "parentProcessCreationTime", "parentProcessFileName",
                   "parentProcessFilePath", "ipAddress", "url", "registryKey", "registryHive", "registryValueType", "registryValue",
                   "accountName", "domainName", "userSid", "aadUserId", "userPrincipalName", "detectionStatus")

# get-alerts.md and exposed-apis-odata-samples.md disagree; the union, with the entity's own casing.
_FILTERABLE = {"alertCreationTime": "datetime", "lastUpdateTime": "datetime", "lastEventTime": "datetime", "incidentId": "number",
               "investigationId": "number", "id": "string", "assignedTo": "string", "detectionSource": "string", "status": "string",
               "severity": "string", "category": "string"}
ALERT_SCHEMA = odata.Schema("Alert", _FILTERABLE, tuple(f for f in ALERT_FIELDS if f not in _FILTERABLE))


def alert_id(seq: int, created: float) -> str:
    """An id in the service's shape, ``da637472900382838869_1364969609``: .NET ticks, then a number."""
    ticks = int(created * 10_000_000) + 621355968000000000
    digest = int(hashlib.sha1(("alert-%d" % seq).encode()).hexdigest()[:8], 16) % 2_000_000_000
    return "da%d_%d" % (ticks, digest)


def _evidence(entity_type: str, created: float, **values) -> dict:
    record = {name: None for name in EVIDENCE_FIELDS}
    record.update(entityType=entity_type, evidenceCreationTime=iso(created), **values)
    return record


class AlertBook:
    """All alerts of the tenant. The caller holds ``store.lock``."""

    def __init__(self, store) -> None:
        self.store = store
        self.alerts: dict[str, dict] = {}
        self.seq = 0

    @property
    def clock(self):
        return self.store.clock

    # --- creating -----------------------------------------------------------------------
    def load(self, entries: list) -> None:
        self.alerts = {}
        self.seq = 0
        for entry in entries or []:
            self.raise_alert(entry)

    def raise_alert(self, entry: dict) -> dict:
        """A new alert from a partial description (control endpoint or seed): see README "Alerts"."""
        if not isinstance(entry, dict):
            raise ValueError("each alert must be a JSON object")
        now = self.clock.now()
        created = now - float(entry.get("age_seconds", 0)) + float(entry.get("delay_seconds", 0))
        self.seq += 1
        machine = self._machine(entry)
        sha1s = entry.get("sha1s") or ([entry["sha1"]] if entry.get("sha1") else [])
        severity = entry.get("severity", "High")
        if severity not in SEVERITIES:
            raise ValueError("severity must be one of %s" % ", ".join(SEVERITIES))
        alert = {name: None for name in ALERT_FIELDS}
        alert.update({
            "id": entry.get("id") or alert_id(self.seq, created),
            "incidentId": 1126093 + self.seq,
            "severity": severity,
            "status": entry.get("status", "New"),
            "investigationState": "Queued",
            "detectionSource": "WindowsDefenderAv",
            "detectorId": "17e10bbc-3a68-474a-8aad-faef14d43952",
            "category": "Malware",
            "title": entry.get("title") or "'EmulatorTest' malware was detected",
            "description": "Malware and unwanted software are undesirable applications that perform annoying, disruptive, or harmful actions.",
            "alertCreationTime": iso(created),
            "firstEventTime": iso(created - 90),
            "lastEventTime": iso(created - 60),
            "lastUpdateTime": iso(created),
            "machineId": machine["id"] if machine else entry.get("machineId"),
            "computerDnsName": machine["computerDnsName"] if machine else entry.get("computerDnsName"),
            "rbacGroupName": machine.get("rbacGroupName") if machine else None,
            "aadTenantId": "beb92235-bde3-4f88-9418-4b4cca3a5e4d",
            "threatName": "Trojan:Win32/EmulatorTest.A" if sha1s else None,
            "threatFamilyName": "EmulatorTest" if sha1s else None,
            "mitreTechniques": ["T1204.002"],
            "relatedUser": {"userName": "temp123", "domainName": "CONTOSO"},
            "comments": [],
        })
        for key in ("machineId", "computerDnsName", "category", "detectionSource", "assignedTo", "classification", "determination"):
            if key in entry:
                alert[key] = entry[key]
        if entry.get("no_machine_id"):
            alert["machineId"] = None
        evidence = entry.get("evidence")
        if evidence is None:
            evidence = [self._file_evidence(sha1, created, entry.get("evidence_type", "File")) for sha1 in sha1s]
            if sha1s:
                evidence.append(_evidence("User", created, accountName="temp123", domainName="CONTOSO",
                                          userSid="S-1-5-21-11111607-1111760036-109187956-75141",
                                          aadUserId="42ac1c36-0000-4ba2-9b2c-7bb5cfd8f6b9",
                                          userPrincipalName="temp123@contoso.com"))
        alert["evidence"] = [dict({name: None for name in EVIDENCE_FIELDS}, **item) for item in evidence]
        if alert["id"] in self.alerts:
            raise ValueError("alert %s exists already" % alert["id"])
        self.alerts[alert["id"]] = {"entity": alert, "created": created, "updated": created,
                                    "list_lag": float(self.store.config["alert_list_lag_seconds"])}
        return alert

    def _machine(self, entry: dict) -> dict | None:
        key = entry.get("machineId") or entry.get("computerDnsName")
        return self.store.find_machine(key) if key else None

    def _file_evidence(self, sha1: str, created: float, entity_type: str) -> dict:
        record = self.store.find_file(sha1) or {}
        values = {"sha1": sha1.lower(), "sha256": record.get("sha256"), "fileName": "invoice-viewer.exe",
                  "filePath": "C:\\Users\\temp123\\Downloads", "detectionStatus": "Detected"}
        if entity_type == "Process":
            values.update(processId=3276, processCommandLine='"invoice-viewer.exe" /open', processCreationTime=iso(created - 70),
                          parentProcessId=8420, parentProcessFileName="explorer.exe", parentProcessFilePath="C:\\Windows")
        return _evidence(entity_type, created, **values)

    def outbreak(self, spec: dict) -> list[dict]:
        """N alerts for one file on N devices, spread evenly over ``spread_seconds`` (the first one now)."""
        sha1 = spec.get("sha1")
        if not isinstance(sha1, str) or len(sha1) != 40:
            raise ValueError("outbreak needs sha1 (40 hex characters)")
        machines = spec.get("machine_ids")
        if machines is None:
            having = [m for m in self.store.machines.values() if sha1.lower() in m["files"]]
            machines = [m["id"] for m in sorted(having, key=lambda m: m["computerDnsName"])]
        count = int(spec.get("count", len(machines)))
        if count > len(machines):
            raise ValueError("outbreak count %d is more than the %d devices that have seen %s" % (count, len(machines), sha1))
        spread = float(spec.get("spread_seconds", 0))
        raised = []
        for index in range(count):
            delay = spread * index / count if count else 0.0
            raised.append(self.raise_alert({"machineId": machines[index], "sha1": sha1, "delay_seconds": delay,
                                            "severity": spec.get("severity", "High"), "title": spec.get("title")}))
        return raised

    def service_update(self, record: dict, changes: dict) -> dict:
        """The service changes an alert by itself (investigation state, evidence): a new lastUpdateTime."""
        entity = record["entity"]
        for key, value in changes.items():
            if key not in ALERT_FIELDS or key in ("id", "lastUpdateTime", "comments"):
                raise ValueError("%s cannot be changed here" % key)
            entity[key] = copy.deepcopy(value)
        self._touch(record)
        return entity

    def _touch(self, record: dict) -> None:
        # Never earlier than the last update, nor than the creation of a future-dated alert.
        now = max(self.clock.now(), record["updated"] + 1e-7)
        record["updated"] = now
        record["entity"]["lastUpdateTime"] = iso(now)

    # --- visibility -----------------------------------------------------------------------
    def exists(self, record: dict) -> bool:
        return self.clock.now() >= record["created"]

    def listed(self, record: dict) -> bool:
        """GET /api/alerts shows a new alert only after the indexing delay (config alert_list_lag_seconds)."""
        return self.clock.now() >= record["created"] + record["list_lag"]

    def find(self, key: str) -> dict:
        record = self.alerts.get(key)
        if record is None or not self.exists(record):
            raise not_found("Alert %s was not found" % key)
        return record

    @staticmethod
    def entity(record: dict, evidence: bool = True) -> dict:
        entity = copy.deepcopy(record["entity"])
        if not evidence:
            entity.pop("evidence", None)
        return entity

    def snapshot(self) -> list[dict]:
        out = []
        for record in sorted(self.alerts.values(), key=lambda r: r["created"]):
            entity = self.entity(record)
            entity["_emulator"] = {"exists": self.exists(record), "listed": self.listed(record), "list_lag_seconds": record["list_lag"]}
            out.append(entity)
        return out

    # --- the API --------------------------------------------------------------------------
    def list(self, params: dict) -> tuple[dict, list[dict]]:
        """(the params for odata, the listed alerts newest first), $expand checked here: only evidence exists."""
        params = dict(params)
        expand = params.pop("$expand", None)
        if expand is not None and expand.strip() not in ("evidence", ""):
            raise odata_error("Could not find a property named '%s' on type 'microsoft.windowsDefenderATP.api.Alert'." % expand.strip())
        with_evidence = bool(expand and expand.strip() == "evidence")
        records = [r for r in self.alerts.values() if self.exists(r) and self.listed(r)]
        newest_first = self.store.config["list_order"] == "newest_first"
        records.sort(key=lambda r: (r["created"], r["entity"]["id"]), reverse=newest_first)
        return params, [self.entity(r, with_evidence) for r in records]

    def patch(self, record: dict, body: object, requestor: str) -> dict:
        if not isinstance(body, dict):
            raise invalid_request_body()
        unknown = [key for key in body if key not in PATCH_KEYS]
        if unknown:
            raise ApiError(400, "InvalidRequestBody", "Request body is incorrect: unknown property %s" % ", ".join(unknown))
        if not body:
            raise invalid_input("request body: give at least one of %s" % ", ".join(PATCH_KEYS))
        for key, choices in (("status", PATCH_STATUSES), ("classification", CLASSIFICATIONS), ("determination", DETERMINATIONS)):
            if key in body and body[key] is not None and body[key] not in choices:
                raise invalid_input("%s %s" % (key, body[key]))
        for key in ("assignedTo", "comment"):
            if key in body and body[key] is not None and not isinstance(body[key], str):
                raise invalid_request_body()
        entity = record["entity"]
        now = self.clock.now()
        for key in ("status", "assignedTo", "classification", "determination"):
            if key in body:
                entity[key] = body[key]
        if body.get("status") == "Resolved" and entity["resolvedTime"] is None:
            entity["resolvedTime"] = iso(now)
        elif "status" in body and body["status"] != "Resolved":
            entity["resolvedTime"] = None
        if body.get("comment"):
            entity["comments"].append({"comment": body["comment"], "createdBy": requestor, "createdTime": iso(now)})
        self._touch(record)
        return entity


# --- route bodies (api.Api's alert routes call these) ------------------------------------------
def list_params(book: AlertBook, params: dict) -> tuple[dict, list[dict]]:
    return book.list(params)


def get_body(book: AlertBook, key: str) -> dict:
    # get-alert-info-by-id.md's example carries the evidence without $expand.
    return book.entity(book.find(key))


def patch_body(book: AlertBook, key: str, raw: bytes, requestor: str) -> dict:
    record = book.find(key)
    try:
        body = json.loads(raw.decode("utf-8-sig") or "null")
    except (UnicodeDecodeError, ValueError):
        raise invalid_request_body() from None
    return copy.deepcopy(book.patch(record, body, requestor))


# --- control ------------------------------------------------------------------------------
def control(book: AlertBook, method: str, path: str, data: dict) -> tuple[int, dict]:
    """``/_emulator/alerts``: POST raises alerts and outbreaks, GET lists them as stored; ``/{id}/update`` changes one."""
    if path == "/_emulator/alerts" and method == "GET":
        return 200, {"now": iso(book.clock.now()), "alerts": book.snapshot()}
    if path == "/_emulator/alerts" and method == "POST":
        raised = [book.raise_alert(entry) for entry in data.get("alerts", [])]
        if data.get("outbreak") is not None:
            if not isinstance(data["outbreak"], dict):
                raise ValueError("outbreak must be a JSON object")
            raised += book.outbreak(data["outbreak"])
        if not raised:
            raise ValueError("give alerts: [...] and/or outbreak: {...}")
        return 201, {"alerts": [{"id": a["id"], "machineId": a["machineId"], "alertCreationTime": a["alertCreationTime"]}
                                for a in raised]}
    prefix, suffix = "/_emulator/alerts/", "/update"
    if path.startswith(prefix) and path.endswith(suffix) and method == "POST":
        record = book.alerts.get(path[len(prefix):-len(suffix)])
        if record is None:
            return 404, {"error": {"code": "ResourceNotFound", "message": "no alert %s" % path, "target": None}}
        return 200, book.service_update(record, data)
    return 404, {"error": {"code": "NotFound", "message": "No control endpoint %s %s" % (method, path), "target": None}}
