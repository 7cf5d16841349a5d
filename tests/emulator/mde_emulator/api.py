# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The MDE API routes: permissions, body validation and responses (reference §1, §2, §5, §6, §7)."""

from __future__ import annotations

import ipaddress
import json
import re
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Callable

from . import alerts, odata
from .clock import iso, parse_iso
from .errors import (ApiError, bad_request, forbidden_roles, invalid_hash, invalid_input, invalid_request_body, missing_parameter,
                     not_found)
from .store import ACTIVE, Store

READ_MACHINES = ("Machine.Read.All", "Machine.ReadWrite.All")
QUARANTINE = ("Machine.StopAndQuarantine",)
ACTION_ROLES = ("Machine.CollectForensics", "Machine.Isolate", "Machine.RestrictExecution", "Machine.Scan", "Machine.Offboard",
                "Machine.StopAndQuarantine", "Machine.LiveResponse")
FILE_READ = ("File.Read.All",)
TI_WRITE = ("Ti.ReadWrite", "Ti.ReadWrite.All")
TI_READ = ("Ti.ReadWrite", "Ti.ReadWrite.All", "Ti.Read.All")
TI_SEE_ALL = ("Ti.ReadWrite.All", "Ti.Read.All")  # the others see only the indicators they created
# Delegated (scp) permission -> the application permission it stands for in the checks above (reference §5.2:
# Machine.Read / Machine.ReadWrite for the Read.All / ReadWrite.All roles; the other names are the same).
DELEGATED_AS_ROLE = {"Machine.Read": "Machine.Read.All", "Machine.ReadWrite": "Machine.ReadWrite.All", "Ti.Read": "Ti.Read.All",
                     "Alert.Read": "Alert.Read.All", "Alert.ReadWrite": "Alert.ReadWrite.All"}
ROLE_AS_DELEGATED = {role: name for name, role in DELEGATED_AS_ROLE.items()}
APPLICATION_ONLY = ("Ti.ReadWrite.All",)

# Windows 10 1703+/11 and Windows Server 2012 R2+ (stop-and-quarantine-file.md, respond-file-alerts.md).
QUARANTINE_PLATFORMS = ("Windows10", "Windows11", "WindowsServer2012R2", "WindowsServer2016", "WindowsServer2019", "WindowsServer2022",
                        "WindowsServer2025")

SHA1_RE = re.compile(r"^[0-9a-fA-F]{40}$")
HEX_LENGTHS = {"FileSha1": 40, "FileMd5": 32, "FileSha256": 64, "CertificateThumbprint": 40}
INDICATOR_TYPES = ("FileSha1", "FileMd5", "CertificateThumbprint", "FileSha256", "IpAddress", "DomainName", "Url")
INDICATOR_ACTIONS = ("Alert", "Warn", "Block", "Audit", "BlockAndRemediate", "AlertAndBlock", "Allowed")
SEVERITIES = ("Informational", "Low", "Medium", "High")
DOMAIN_RE = re.compile(r"^(?=.{1,253}$)(?!-)([A-Za-z0-9-]{1,63}(?<!-)\.)+[A-Za-z][A-Za-z0-9-]{0,62}$")

ACTION_SCHEMA = odata.Schema("MachineAction", {"id": "istring", "status": "string", "machineId": "istring", "type": "string",
                                               "requestor": "string", "creationDateTimeUtc": "datetime"},
                             ("title", "requestorComment", "computerDnsName", "lastUpdateDateTimeUtc", "lastUpdateTimeUtc",
                              "cancellationRequestor", "cancellationComment", "cancellationDateTimeUtc", "errorHResult", "scope",
                              "externalId", "requestSource", "relatedFileInfo", "commands", "troubleshootInfo"))
MACHINE_SCHEMA = odata.Schema("Machine", {"computerDnsName": "istring", "id": "istring", "version": "string", "deviceValue": "string",
                                          "aadDeviceId": "istring", "machineTags": "collection", "lastSeen": "datetime",
                                          "exposureLevel": "string", "onboardingStatus": "string", "lastIpAddress": "string",
                                          "healthStatus": "string", "osPlatform": "string", "riskScore": "string", "rbacGroupId": "number"},
                              ("firstSeen", "osProcessor", "osBuild", "lastExternalIpAddress", "rbacGroupName", "ipAddresses",
                               "osArchitecture", "isPotentialDuplication", "mergedIntoMachineId"))
INDICATOR_SCHEMA = odata.Schema("Indicator", {"indicatorValue": "istring", "indicatorType": "string", "action": "string"},
                                ("id", "application", "source", "sourceType", "title", "creationTimeDateTimeUtc", "createdBy",
                                 "expirationTime", "lastUpdateTime", "lastUpdatedBy", "severity", "description", "recommendedActions",
                                 "rbacGroupNames", "rbacGroupIds", "generateAlert", "createdBySource", "createdByDisplayName",
                                 "mitreTechniques", "educateUrl"))


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str]
    body: bytes
    headers: Any
    base: str
    claims: dict = field(default_factory=dict)
    args: tuple = ()

    @property
    def client_id(self) -> str:
        return str(self.claims.get("appid", ""))

    @property
    def delegated(self) -> bool:
        """A user token: ``scp`` and no ``roles`` (an app token has ``roles``)."""
        return "scp" in self.claims and "roles" not in self.claims

    @property
    def requestor(self) -> str:
        """Who asked: the user for a delegated token (machineaction.md: "the person that executed the action"), else the app id."""
        if self.delegated:
            return str(self.claims.get("upn") or self.claims.get("unique_name") or self.claims.get("oid", ""))
        return self.client_id


@dataclass
class Response:
    status: int
    body: dict | None
    headers: dict = field(default_factory=dict)
    action_id: str | None = None


@dataclass
class Route:
    method: str
    template: str
    permissions: tuple[tuple[str, ...], ...]
    handler: Callable[["Api", Request], Response]
    pattern: re.Pattern = field(init=False)

    def __post_init__(self) -> None:
        regex = "^" + re.escape(self.template).replace(re.escape("{id}"), "([^/]+)") + "/?$"
        self.pattern = re.compile(regex, re.IGNORECASE)

    @property
    def api(self) -> str:
        return "%s %s" % (self.method, self.template)


def normalize_api_path(path: str) -> str:
    """``/api/v1.0/...`` is the same API as ``/api/...`` (exposed-apis-list.md)."""
    return re.sub(r"^/api/v1\.0(?=/)", "/api", path, flags=re.IGNORECASE)


def _json_object(request: Request) -> dict:
    try:
        body = json.loads(request.body.decode("utf-8-sig") or "null")
    except (UnicodeDecodeError, ValueError):
        raise invalid_request_body() from None
    if not isinstance(body, dict):
        raise invalid_request_body()
    return body


def _required_string(body: dict, key: str) -> str:
    # Body keys are case-sensitive (common-errors.md): 'sha1' does not count as 'Sha1'.
    value = body.get(key)
    if value is None:
        raise missing_parameter(key)
    if not isinstance(value, str):
        raise invalid_request_body()
    return value


def _entity(base: str, context: str, entity: dict) -> dict:
    return {"@odata.context": "%s/api/$metadata#%s" % (base, context), **entity}


class Api:
    """Dispatches /api requests against the store. The caller holds ``store.lock``."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.routes = [
            Route("POST", "/api/machines/{id}/StopAndQuarantineFile", (READ_MACHINES, QUARANTINE), Api.stop_and_quarantine),
            Route("GET", "/api/machineactions", (READ_MACHINES,), Api.list_actions),
            Route("GET", "/api/machineactions/{id}", (READ_MACHINES,), Api.get_action),
            Route("POST", "/api/machineactions/{id}/cancel", (ACTION_ROLES,), Api.cancel_action),
            Route("GET", "/api/machines", (READ_MACHINES,), Api.list_machines),
            Route("GET", "/api/machines/{id}", (READ_MACHINES,), Api.get_machine),
            Route("GET", "/api/files/{id}", (FILE_READ,), Api.get_file),
            Route("GET", "/api/files/{id}/machines", (READ_MACHINES,), Api.file_machines),
            Route("GET", "/api/indicators", (TI_READ,), Api.list_indicators),
            Route("POST", "/api/indicators", (TI_WRITE,), Api.post_indicator),
            Route("DELETE", "/api/indicators/{id}", (TI_WRITE,), Api.delete_indicator),
            Route("GET", "/api/alerts", (alerts.ALERT_READ,), Api.list_alerts),
            Route("GET", "/api/alerts/{id}", (alerts.ALERT_READ,), Api.get_alert),
            Route("PATCH", "/api/alerts/{id}", (alerts.ALERT_WRITE,), Api.patch_alert),
        ]

    def match(self, method: str, path: str) -> tuple[Route | None, tuple]:
        path = normalize_api_path(path)
        for route in self.routes:
            found = route.pattern.match(path)
            if found and route.method == method:
                return route, tuple(urllib.parse.unquote(g) for g in found.groups())
        return None, ()

    def check_permissions(self, route: Route, request: Request) -> None:
        # A token for another resource carries none of this API's permissions: 403, not 401 (microsoft-365-docs
        # #9246), with the same message as a missing permission.
        claims = request.claims
        accepted = {a.lower() for a in self.store.config["accepted_audiences"]}
        for_us = str(claims.get("aud", "")).rstrip("/").lower() in accepted
        if request.delegated:
            # Delegated: the token's scp decides, mapped to the same checks as the app roles.
            granted = {DELEGATED_AS_ROLE.get(name, name) for name in str(claims.get("scp", "")).split()} if for_us else set()
        else:
            granted = set(claims.get("roles") or []) if for_us else set()
        for group in route.permissions:
            if not granted.intersection(group):
                if request.delegated:
                    names = tuple(dict.fromkeys(ROLE_AS_DELEGATED.get(r, r) for r in group if r not in APPLICATION_ONLY))
                    raise forbidden_roles(names, "delegated")
                raise forbidden_roles(group)

    # --- machine actions ----------------------------------------------------------------
    def stop_and_quarantine(self, request: Request) -> Response:
        machine_id = request.args[0]
        body = _json_object(request)
        comment = _required_string(body, "Comment")
        sha1 = _required_string(body, "Sha1")
        if not SHA1_RE.match(sha1):
            raise invalid_hash(sha1)
        if not comment.strip():
            raise invalid_input("Comment")
        sha1 = sha1.lower()
        machine = self.store.machines.get(machine_id.lower())
        if machine is None:
            raise not_found("Machine %s was not found" % machine_id)
        if machine.get("osPlatform") not in QUARANTINE_PLATFORMS:
            raise ApiError(400, "OsPlatformNotSupported", "OS Platform %s isn't supported for this action." % machine.get("osPlatform"))
        if sha1 not in machine["files"]:
            raise not_found("Sha1 %s was not found in machine %s" % (sha1, machine["id"]))
        active = self.store.blocking_action(machine["id"], sha1, self.store.config["duplicate_scope"])
        if active is not None:
            # Issue #5702: a duplicate while the first is pending is a 400; issue #5903 saw some duplicates
            # answered with the pending action instead (config duplicate_response: existing). Whether another
            # file's pending quarantine blocks too is not documented (config duplicate_scope: device).
            if self.store.config["duplicate_response"] == "existing":
                return Response(201, _entity(request.base, "MachineActions/$entity", self.store.action_entity(active)))
            raise ApiError(400, "ActiveRequestAlreadyExists", "Action is already in progress")
        action = self.store.create_stop_and_quarantine(machine, sha1, comment, request.requestor)
        entity = self.store.action_entity(action)
        return Response(201, _entity(request.base, "MachineActions/$entity", entity), action_id=action["id"])

    def _action(self, action_id: str) -> dict:
        action = self.store.actions.get(action_id.lower())
        if action is None:
            raise not_found("Machine action %s was not found" % action_id)
        return action

    def get_action(self, request: Request) -> Response:
        action = self._action(request.args[0])
        if not self.store.readable_by_id(action):
            # A fresh action can be missing from GET by id for a moment (demisto retries ResourceNotFound 3 x 1 s).
            raise not_found("Machine action %s was not found" % request.args[0])
        return Response(200, _entity(request.base, "MachineActions/$entity", self.store.action_entity(action)))

    def list_actions(self, request: Request) -> Response:
        field_name = self.store.config["list_last_update_field"]
        # A new action can be missing from the list for a while; the duplicate check still sees it.
        items = [self.store.action_entity(a, field_name) for a in self.store.sorted_actions(self._newest_first) if self.store.listed(a)]
        return self._collection(request, "MachineActions", items, ACTION_SCHEMA)

    def cancel_action(self, request: Request) -> Response:
        body = _json_object(request)
        comment = _required_string(body, "Comment")
        if not comment.strip():
            raise invalid_input("Comment")
        action = self._action(request.args[0])
        status = self.store.action_state(action)[0]
        if status not in ACTIVE:
            raise bad_request("Machine action %s is already in a final state (%s) and can't be cancelled." % (action["id"], status))
        self.store.cancel(action, request.requestor, comment)
        return Response(200, _entity(request.base, "MachineActions/$entity", self.store.action_entity(action)))

    # --- machines and files -------------------------------------------------------------
    def list_machines(self, request: Request) -> Response:
        if not self.store.machines:
            raise not_found("No machines were found")
        return self._collection(request, "Machines", self.store.machine_list(self._newest_first), MACHINE_SCHEMA)

    def get_machine(self, request: Request) -> Response:
        machine = self.store.find_machine(request.args[0])
        if machine is None:
            raise not_found("Machine %s was not found" % request.args[0])
        return Response(200, _entity(request.base, "Machines/$entity", self.store.machine_entity(machine)))

    def get_file(self, request: Request) -> Response:
        file_hash = request.args[0]
        if not re.match(r"^([0-9a-fA-F]{40}|[0-9a-fA-F]{64})$", file_hash):
            raise invalid_hash(file_hash)
        record = self.store.find_file(file_hash)
        if record is None:
            raise not_found("File %s was not found" % file_hash)
        return Response(200, _entity(request.base, "Files/$entity", self.store.file_entity(record)))

    def file_machines(self, request: Request) -> Response:
        sha1 = request.args[0]
        if not SHA1_RE.match(sha1):  # "Only SHA-1 Hash Function is supported (not MD5 or SHA-256)."
            raise invalid_hash(sha1)
        # get-file-related-machines.md documents neither $top nor $skip: config files_machines_ignore_skip
        # plays a service that ignores both and answers the whole set every time.
        return self._collection(request, "Machines", self.store.machines_with_file(sha1, self._newest_first), MACHINE_SCHEMA,
                                ignore_paging=self.store.config["files_machines_ignore_skip"])

    # --- indicators ---------------------------------------------------------------------
    def list_indicators(self, request: Request) -> Response:
        items = [self.store.indicator_entity(i) for i in self.store.sorted_indicators(self._newest_first)
                 if _sees_indicator(request, i)]
        return self._collection(request, "Indicators", items, INDICATOR_SCHEMA)

    def post_indicator(self, request: Request) -> Response:
        body = _json_object(request)
        values = {key: _required_string(body, key).strip() for key in ("indicatorValue", "indicatorType", "action", "title", "description")}
        for key, value in values.items():
            if not value:
                raise missing_parameter(key)
        _validate_indicator(body, values)
        now = self.store.clock.now()
        # Submit *or update* by value, whoever made the indicator: an app that cannot see it (Ti.ReadWrite only)
        # replaces it all the same. [INFERRED] the worst case for a client, so the tests prove it never gets there.
        existing = self.store.find_indicator_by_value(values["indicatorType"], values["indicatorValue"])
        if existing is None and self.store.active_indicator_count() >= self.store.config["max_active_indicators"]:
            raise bad_request("Maximum number of active indicators (%d) per tenant has been reached."
                              % self.store.config["max_active_indicators"])
        display = str(request.claims.get("name") or request.requestor) if request.delegated else request.client_id
        record = existing or {"id": self.store.next_indicator_id(), "creationTimeDateTimeUtc": iso(now), "createdBy": request.requestor,
                              "source": request.requestor, "sourceType": "User" if request.delegated else "AadApp",
                              "createdBySource": "PublicApi", "createdByDisplayName": display, "mitreTechniques": []}
        record.update(values)
        record.update({
            "application": body.get("application"),
            "expirationTime": iso(parse_iso(body["expirationTime"])) if body.get("expirationTime") else None,
            "lastUpdateTime": iso(now),
            "lastUpdatedBy": request.requestor if existing else None,
            "severity": body.get("severity") or "Informational",
            "recommendedActions": body.get("recommendedActions"),
            "rbacGroupNames": list(body.get("rbacGroupNames") or []),
            "rbacGroupIds": [],
            "generateAlert": bool(body.get("generateAlert", False)),
            "educateUrl": body.get("educateUrl"),
        })
        self.store.indicators[record["id"]] = record
        return Response(200, _entity(request.base, "Indicators/$entity", self.store.indicator_entity(record)))

    def delete_indicator(self, request: Request) -> Response:
        indicator_id = request.args[0]
        if indicator_id not in self.store.indicators or not _sees_indicator(request, self.store.indicators[indicator_id]):
            raise not_found("Indicator %s was not found" % indicator_id)
        del self.store.indicators[indicator_id]
        return Response(204, None)

    # --- alerts (alerts.py) ---------------------------------------------------------------
    def list_alerts(self, request: Request) -> Response:
        request.params, items = alerts.list_params(self.store.alerts, request.params)
        return self._collection(request, "Alerts", items, alerts.ALERT_SCHEMA)

    def get_alert(self, request: Request) -> Response:
        return Response(200, _entity(request.base, "Alerts/$entity", alerts.get_body(self.store.alerts, request.args[0])))

    def patch_alert(self, request: Request) -> Response:
        entity = alerts.patch_body(self.store.alerts, request.args[0], request.body, request.requestor)
        return Response(200, _entity(request.base, "Alerts/$entity", entity))

    # --- helpers ------------------------------------------------------------------------
    @property
    def _newest_first(self) -> bool:
        # get-machineactions-collection.md: "$top=2 ... shows the latest two"; lists come newest first.
        return self.store.config["list_order"] == "newest_first"

    def _collection(self, request: Request, context: str, items: list[dict], schema: odata.Schema,
                    ignore_paging: bool = False) -> Response:
        next_base = request.base + request.path
        page, next_link, selected = odata.query_collection(items, request.params, schema, int(self.store.config["page_size"]), next_base,
                                                           ignore_paging)
        if selected:
            context = "%s(%s)" % (context, ",".join(selected))
        body: dict = {"@odata.context": "%s/api/$metadata#%s" % (request.base, context), "value": page}
        if next_link:
            body["@odata.nextLink"] = next_link
        return Response(200, body)


def _sees_indicator(request: Request, indicator: dict) -> bool:
    """get-ti-indicators-collection.md: with Ti.ReadWrite.All an app sees every indicator, otherwise only those it created.

    Ti.Read.All ("read all") sees all too. A user token's own rights are not emulated: it sees all."""
    if request.delegated:
        return True
    roles = set(request.claims.get("roles") or [])
    return bool(roles.intersection(TI_SEE_ALL)) or indicator.get("createdBy") == request.requestor


def _validate_indicator(body: dict, values: dict) -> None:
    indicator_type = values["indicatorType"]
    value = values["indicatorValue"]
    if indicator_type not in INDICATOR_TYPES:
        raise invalid_input("indicatorType %s" % indicator_type)
    if values["action"] not in INDICATOR_ACTIONS:
        raise invalid_input("action %s" % values["action"])
    generate_alert = body.get("generateAlert", False)
    if not isinstance(generate_alert, bool):
        raise invalid_request_body()
    if values["action"] == "Audit" and not generate_alert:
        raise invalid_input("generateAlert: GenerateAlert must be true when the action is Audit")
    if body.get("severity") is not None and body["severity"] not in SEVERITIES:
        raise invalid_input("severity %s" % body["severity"])
    if indicator_type in HEX_LENGTHS:
        if not re.match(r"^[0-9a-fA-F]{%d}$" % HEX_LENGTHS[indicator_type], value):
            raise invalid_hash(value)
    elif indicator_type == "IpAddress":
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise ApiError(400, "InvalidIpAddress", "IP address %s is invalid." % value) from None
    elif indicator_type == "DomainName":
        if not DOMAIN_RE.match(value):
            raise ApiError(400, "InvalidDomainName", "Domain name %s is invalid." % value)
    elif indicator_type == "Url":
        parsed = urllib.parse.urlparse(value if "://" in value else "http://" + value)
        if not parsed.hostname or " " in value:
            raise ApiError(400, "InvalidUrl", "URL %s is invalid." % value)
    if body.get("expirationTime") is not None:
        try:
            parse_iso(str(body["expirationTime"]))
        except ValueError:
            raise invalid_input("expirationTime %s" % body["expirationTime"]) from None
    names = body.get("rbacGroupNames")
    if names is not None and (not isinstance(names, list) or not all(isinstance(n, str) for n in names)):
        raise invalid_request_body()
