# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTPS server: routing between identity, API and control endpoints, faults, rate limits and the log."""

from __future__ import annotations

import copy
import json
import os
import re
import socket
import ssl
import threading
import time
import traceback
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import api as api_mod
from .clock import Clock, iso
from .errors import AadError, ApiError, api_error_body, new_guid
from .faults import Faults
from .identity import FEDERATION_AUDIENCE, Identity, MsiError, jwt_split, parse_form
from .pki import Pki
from .ratelimit import RateLimiter, retry_after_header
from .requestlog import RequestLog
from .config import defaults, validate_config
from .store import Store
from .alerts import control as alerts_control

JSON_TYPE = "application/json; charset=utf-8"
LOOPBACK = ("127.0.0.1", "::1", "::ffff:127.0.0.1")

OPENID_RE = re.compile(r"^/([^/]+)/v2\.0/\.well-known/openid-configuration$", re.IGNORECASE)
TOKEN_RE = re.compile(r"^/([^/]+)/oauth2/v2\.0/token$", re.IGNORECASE)
TOKEN_V1_RE = re.compile(r"^/([^/]+)/oauth2/token$", re.IGNORECASE)
JWKS_RE = re.compile(r"^/([^/]+)/discovery/v2\.0/keys$", re.IGNORECASE)
USER_REALM_RE = re.compile(r"^/common/userrealm/([^/]+)$", re.IGNORECASE)
# The App Service / Functions managed identity endpoint (IDENTITY_ENDPOINT points here).
MSI_PATH = "/msi/token"

# Fault answers: (status, code, message) as common-errors.md documents them; a fault may set its own code/message.
FAULT_ERRORS = {
    "400": (400, "BadRequest", "General Bad Request error message."),
    "401": (401, "Unauthorized", "Unauthorized"),
    "403": (403, "Forbidden", "Forbidden"),
    "404": (404, "NotFound", "General Not Found error message."),
    "429": (429, "TooManyRequests", None),  # the quota message, see quota_message()
    "500": (500, "InternalServerError", "An unexpected error occurred. Retry the operation."),
    "503": (503, "ServiceUnavailable", "The service is temporarily unavailable. Retry the operation."),
}
# A truncated answer sent "before" the request is processed: what was cut short is a 500.
FAULT_ERRORS["truncate"] = FAULT_ERRORS["500"]
FAULT_AAD = {"400": "invalid_request", "401": "invalid_client", "403": "unauthorized_client", "404": "invalid_request",
             "429": "temporarily_unavailable", "500": "server_error", "503": "temporarily_unavailable", "truncate": "server_error"}


def quota_message(limit: int, window: str) -> str:
    """The 429 message, as MDE words it ("API calls quota exceeded! Maximum admitted 100 per 1m.")."""
    return "API calls quota exceeded! Maximum admitted %d per %s." % (limit, window)


class Answer:
    """What goes back on the wire (or ``drop`` for no answer at all)."""

    def __init__(self, status: int, body: dict | None, headers: dict | None = None, drop: bool = False) -> None:
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.drop = drop
        self.truncate = False  # headers with the full Content-Length, then half the body and a closed connection
        self.client_id: str | None = None
        self.upn: str | None = None  # the signed-in user, for delegated tokens and ROPC
        self.error_code: str | None = None
        self.api: str | None = None
        self.action_id: str | None = None


class Emulator:
    """Everything the handler needs; one instance per server."""

    def __init__(self, state_dir: str, seed: dict, seed_path: str | None, time_scale: float, host: str) -> None:
        self.state_dir = os.path.abspath(state_dir)
        os.makedirs(self.state_dir, exist_ok=True)
        self.host = host
        self.start_seed = seed
        self.seed_path = seed_path
        self.start_config = {"time_scale": float(time_scale)}
        self.clock = Clock(time_scale)
        self.pki = Pki(self.state_dir, host)
        self.identity = Identity(self.clock, self.state_dir)
        self.store = Store(self.clock)
        self.api = api_mod.Api(self.store)
        self.limiter = RateLimiter()
        self.faults = Faults()
        self.log = RequestLog()
        self.url = ""
        self.port = 0
        self.reset({})

    # --- state --------------------------------------------------------------------------
    def reset(self, body: dict) -> None:
        seed = body.get("seed") or self.start_seed
        changes = validate_config(body.get("config") or {})
        with self.store.lock:
            self.identity.load(seed)
            self.store.load(seed, body.get("fleet"))
            self.store.config = defaults()
            self.faults.clear()
            self.log.clear()
            self.limiter.reset()
            self.apply_config(dict(self.start_config, **changes))
        if self.url:
            self.write_info()

    def apply_config(self, changes: dict) -> None:
        changes = validate_config(changes)
        with self.store.lock:
            self.store.config.update(changes)
            config = self.store.config
            if float(config["time_scale"]) != self.clock.scale:
                self.clock.set_scale(float(config["time_scale"]))
            self.limiter.per_minute = int(config["rate_limit_per_minute"])
            self.limiter.per_hour = int(config["rate_limit_per_hour"])
            self.identity.token_lifetime = int(config["token_lifetime"])

    def info(self) -> dict:
        clients = {c.name: c.public_info() for c in self.identity.clients.values()}
        info = {"url": self.url, "port": self.port, "ca_path": self.pki.ca_path, "pid": os.getpid(),
                "tenant_id": self.identity.tenant_id, "clients": clients, "state_dir": self.state_dir, "seed": self.seed_path}
        if self.identity.users:
            info["users"] = {u.name: u.public_info() for u in self.identity.users.values()}
        if self.identity.managed_identities:
            info["managed_identity"] = {
                "endpoint": self.url + MSI_PATH, "header": self.identity.identity_header,
                "identities": {i.name: i.public_info() for i in self.identity.managed_identities.values()}}
        return info

    def write_info(self) -> None:
        path = os.path.join(self.state_dir, "emulator.json")
        with open(path + ".tmp", "w", encoding="utf-8") as handle:
            json.dump(self.info(), handle, indent=2)
        os.replace(path + ".tmp", path)

    # --- requests -----------------------------------------------------------------------
    def handle(self, method: str, raw_path: str, headers, body: bytes, base: str) -> Answer:
        parsed = urllib.parse.urlsplit(raw_path)
        path = urllib.parse.unquote(parsed.path)
        params = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
        request_id = new_guid()
        fault = self.faults.take(method, path, urllib.parse.unquote_plus(parsed.query))
        kind, when = (fault["kind"], fault["when"]) if fault else (None, None)
        if kind == "delay" and when == "before":
            time.sleep(fault["delay"])  # a slow request: processed late
        if fault and kind != "delay" and when == "before":
            answer = self.fault_answer(fault, path, request_id)
        else:
            answer = self.dispatch(method, path, params, headers, body, base, request_id)
            if kind == "delay" and when == "after":
                time.sleep(fault["delay"])  # a slow answer: processed now, answered late
            if kind == "truncate":
                answer.truncate = True  # the real answer, cut short: the ambiguous case for a POST
            elif fault and kind != "delay":
                processed = answer
                answer = self.fault_answer(fault, path, request_id)
                answer.client_id, answer.api, answer.action_id = processed.client_id, processed.api, processed.action_id
                answer.upn = processed.upn
        answer.headers.setdefault("request-id", request_id)
        self.log.add({
            "time": iso(self.clock.now()),
            "method": method,
            "path": path,
            "query": urllib.parse.unquote_plus(parsed.query),
            "body": _loggable_body(headers, body),
            "client_id": answer.client_id,
            "upn": answer.upn,
            "status": None if answer.drop else answer.status,
            "error_code": answer.error_code,
            "fault": fault["kind"] if fault else None,
            "fault_when": fault["when"] if fault else None,
            "api": answer.api,
            "action_id": answer.action_id,
            "request_id": request_id,
        })
        return answer

    def fault_answer(self, fault: dict, path: str, request_id: str) -> Answer:
        if fault["kind"] == "drop":
            return Answer(0, None, drop=True)
        status, code, message = FAULT_ERRORS[fault["kind"]]
        headers = {}
        retry_after = fault.get("retry_after")
        if fault["kind"] in ("429", "503") and retry_after is not None:
            value = float(retry_after)
            headers["Retry-After"] = str(int(value)) if value == int(value) else "%.3f" % value
        if message is None:
            # A wait beyond a minute (emulated) reads as the hourly quota being spent.
            hourly = retry_after is not None and float(retry_after) * self.clock.scale > 60
            message = quota_message(self.limiter.per_hour, "1h") if hourly else quota_message(self.limiter.per_minute, "1m")
        code = fault["code"] if fault.get("code") is not None else code
        message = fault["message"] if fault.get("message") is not None else message
        if path.startswith("/api"):
            answer = Answer(status, api_error_body(code, message, request_id), headers)
            answer.error_code = code
        else:
            error = AadError(status, FAULT_AAD[fault["kind"]], 90033 if status != 401 else 7000215, message)
            answer = Answer(status, error.body(self.clock.now()), headers)
            answer.error_code = error.error
        answer.truncate = fault["kind"] == "truncate"
        return answer

    def dispatch(self, method: str, path: str, params: dict, headers, body: bytes, base: str, request_id: str) -> Answer:
        if path.lower().startswith("/api/") or path.lower() == "/api":
            return self.dispatch_api(method, path, params, headers, body, base, request_id)
        if path.lower() == MSI_PATH and method == "GET":
            return self.dispatch_managed_identity(params, headers)
        try:
            return self.dispatch_identity(method, path, body, base)
        except AadError as err:
            answer = Answer(err.status, err.body(self.clock.now()))
            answer.error_code = err.error
            return answer

    def dispatch_identity(self, method: str, path: str, body: bytes, base: str) -> Answer:
        found = OPENID_RE.match(path)
        if found and method == "GET":
            return Answer(200, self.identity.openid_configuration(base, found.group(1)))
        found = JWKS_RE.match(path)
        if found and method == "GET":
            return Answer(200, self.identity.jwks())
        found = USER_REALM_RE.match(path)
        if found and method == "GET":
            return Answer(200, self.identity.user_realm(found.group(1)))
        found = TOKEN_RE.match(path) or TOKEN_V1_RE.match(path)
        if found and method == "POST":
            form = parse_form(body)
            client_id = form.get("client_id") or _assertion_issuer(form.get("client_assertion"))
            issue = self.identity.token if found.re is TOKEN_RE else self.identity.token_v1
            try:
                token, client_id = issue(base, found.group(1), form)
            except AadError as err:
                answer = Answer(err.status, err.body(self.clock.now()))
                answer.error_code, answer.client_id = err.error, client_id
                answer.upn = form.get("username") if form.get("grant_type") == "password" else None
                return answer
            answer = Answer(200, token, {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"})
            answer.client_id = client_id
            answer.upn = form.get("username") if form.get("grant_type") == "password" else None
            return answer
        answer = Answer(404, {"error": "not_found", "error_description": "No identity endpoint at %s" % path})
        answer.error_code = "not_found"
        return answer

    def dispatch_managed_identity(self, params: dict, headers) -> Answer:
        try:
            token, identity = self.identity.managed_identity_token(params, headers.get("X-IDENTITY-HEADER"))
        except MsiError as err:
            answer = Answer(err.status, err.body())
            answer.error_code = err.code
            answer.client_id = params.get("client_id")
            return answer
        answer = Answer(200, token)
        answer.client_id = identity.client_id
        return answer

    def dispatch_api(self, method: str, path: str, params: dict, headers, body: bytes, base: str, request_id: str) -> Answer:
        route, args = self.api.match(method, path)
        client_id = upn = None
        try:
            if route is None:
                raise ApiError(404, "NotFound", "Resource %s %s was not found" % (method, path))
            authorization = headers.get("Authorization")
            client_id = _token_appid(authorization)
            claims = self.identity.check_bearer(authorization)
            client_id = claims.get("appid")
            upn = claims.get("upn") if "scp" in claims else None
            refused = self.limiter.acquire(client_id, route.api, self.clock.now())
            if refused is not None:
                # Retry-After: until a slot of the spent window frees (for the hourly quota, what remains of its hour).
                real = self.clock.to_real(refused.wait)
                raise ApiError(429, "TooManyRequests", quota_message(refused.limit, refused.window),
                               {"Retry-After": retry_after_header(real, self.clock.scale)})
            request = api_mod.Request(method, path, params, body, headers, base, claims, args)
            with self.store.lock:
                self.api.check_permissions(route, request)
                response = route.handler(self.api, request)
            answer = Answer(response.status, response.body, response.headers)
            answer.action_id = response.action_id
        except ApiError as err:
            answer = Answer(err.status, err.body(request_id), dict(err.headers))
            answer.error_code = err.code
        answer.client_id, answer.upn = client_id, upn
        answer.api = route.api if route else None
        return answer

    # --- control ------------------------------------------------------------------------
    def control(self, method: str, raw_path: str, body: bytes) -> tuple[int, dict | None]:
        parsed = urllib.parse.urlsplit(raw_path)
        path = parsed.path.rstrip("/")
        params = dict(urllib.parse.parse_qsl(parsed.query))
        try:
            data = json.loads(body.decode("utf-8") or "{}") if method == "POST" else {}
            if not isinstance(data, dict):
                raise ValueError("body must be a JSON object")
            return self._control(method, path, params, data)
        except ValueError as exc:
            return 400, api_error_body("BadRequest", str(exc), new_guid())
        except KeyError as exc:
            return 400, api_error_body("BadRequest", "missing key %s" % exc, new_guid())

    def _control(self, method: str, path: str, params: dict, data: dict) -> tuple[int, dict | None]:
        if path == "/_emulator/reset" and method == "POST":
            self.reset(data)
            return 200, self.info()
        if path == "/_emulator/config":
            if method == "POST":
                self.apply_config(data)
            with self.store.lock:
                return 200, copy.deepcopy(self.store.config)
        if path == "/_emulator/faults":
            if method == "POST":
                return 201, self.faults.add(data)
            if method == "DELETE":
                self.faults.clear()
            return 200, {"faults": self.faults.list()}
        if path == "/_emulator/federated-token" and method == "POST":
            lifetime = data.get("lifetime", 3600)
            if isinstance(lifetime, bool) or not isinstance(lifetime, (int, float)):
                raise ValueError("lifetime must be a number of seconds")
            return 200, self.identity.mint_federated_token(data.get("subject"), data.get("issuer"),
                                                           data.get("audience") or FEDERATION_AUDIENCE, lifetime)
        if path == "/_emulator/tokens/delegated" and method == "POST":
            return 200, self.identity.mint_delegated_token(data)
        if path == "/_emulator/tokens/expire" and method == "POST":
            return 200, {"expired": self.identity.expire_all_tokens()}
        if path == "/_emulator/log":
            if method == "DELETE":
                self.log.clear()
            return 200, {"requests": self.log.entries(int(params.get("since", 0)))}
        if path == "/_emulator/state" and method == "GET":
            with self.store.lock:
                return 200, self.store.snapshot()
        if path == "/_emulator/alerts" or path.startswith("/_emulator/alerts/"):
            with self.store.lock:
                return alerts_control(self.store.alerts, method, path, data)
        if path == "/_emulator/info" and method == "GET":
            return 200, self.info()
        found = re.match(r"^/_emulator/actions/([^/]+)/status$", path)
        if found and method == "POST":
            return self._force_status(found.group(1), data)
        return 404, api_error_body("NotFound", "No control endpoint %s %s" % (method, path), new_guid())

    def _force_status(self, action_id: str, data: dict) -> tuple[int, dict]:
        status = data.get("status")
        if status not in ("Pending", "InProgress", "Succeeded", "Failed", "TimeOut", "Cancelled"):
            raise ValueError("status must be a MachineAction status")
        hresult = data.get("errorHResult", 0)
        if isinstance(hresult, bool) or not isinstance(hresult, int):
            raise ValueError("errorHResult must be an integer")
        with self.store.lock:
            action = self.store.actions.get(action_id.lower())
            if action is None:
                return 404, api_error_body("ResourceNotFound", "Machine action %s was not found" % action_id, new_guid())
            self.store.force_status(action, status, hresult)
            return 200, self.store.action_entity(action)


def _assertion_issuer(assertion: str | None) -> str | None:
    if not assertion:
        return None
    try:
        return jwt_split(assertion)[1].get("iss")
    except (ValueError, UnicodeDecodeError):
        return None


def _token_appid(authorization: str | None) -> str | None:
    """The app id an (even invalid) bearer token claims, for the log only."""
    if not authorization or " " not in authorization:
        return None
    try:
        return jwt_split(authorization.split(" ", 1)[1].strip())[1].get("appid")
    except (ValueError, UnicodeDecodeError):
        return None


def _loggable_body(headers, body: bytes):
    if not body:
        return None
    text = body.decode("utf-8", "replace")
    if "application/x-www-form-urlencoded" in (headers.get("Content-Type") or ""):
        return dict(urllib.parse.parse_qsl(text, keep_blank_values=True))
    try:
        return json.loads(text)
    except ValueError:
        return text[:2000]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "MDE-Emulator/0.1"
    timeout = 300

    server: "EmulatorServer"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without TCP_NODELAY, delayed ACKs add ~40 ms per call.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self.request.do_handshake()
        except (ssl.SSLError, OSError):
            self.close_connection = True

    def handle(self) -> None:
        try:
            super().handle()
        except (ConnectionError, ssl.SSLError, socket.timeout, OSError):
            self.close_connection = True

    def log_message(self, format, *args) -> None:  # pylint: disable=redefined-builtin
        if self.server.verbose:
            super().log_message(format, *args)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _base(self) -> str:
        host = self.headers.get("Host")
        return "https://%s" % host if host else self.server.emulator.url

    def _respond(self, status: int, body: dict | None, headers: dict, truncate: bool = False) -> None:
        payload = b"" if body is None else json.dumps(body, separators=(",", ":")).encode("utf-8")
        if truncate and not payload:
            status, payload = 200, b"{}"  # a 204 has no body to cut short: declare one
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", JSON_TYPE)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if truncate:
            # Content-Length promises the whole body; half of it comes, then the connection closes
            # (requests raises ChunkedEncodingError: IncompleteRead).
            self.wfile.write(payload[:len(payload) // 2])
            self.wfile.flush()
            self._close_now()
        elif payload and self.command != "HEAD":
            self.wfile.write(payload)

    def _close_now(self) -> None:
        self.close_connection = True
        try:
            self.request.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _serve(self) -> None:
        try:
            self._serve_one()
        except (ConnectionError, ssl.SSLError, socket.timeout):
            self.close_connection = True
        except Exception:  # pylint: disable=broad-except
            # An emulator bug must still look like a service error, not like a dropped connection.
            traceback.print_exc()
            self.close_connection = True
            self._respond(500, api_error_body("InternalServerError", "Emulator error (see its stderr)", new_guid()), {})

    def _serve_one(self) -> None:
        body = self._read_body()
        emulator = self.server.emulator
        if self.path.startswith("/_emulator/"):
            if self.client_address[0] not in LOOPBACK:
                self._respond(403, api_error_body("Forbidden", "control endpoints are loopback only", new_guid()), {})
                return
            status, result = emulator.control(self.command, self.path, body)
            self._respond(status, result, {})
            return
        answer = emulator.handle(self.command, self.path, self.headers, body, self._base())
        if answer.drop:
            # No answer at all: the client sees the connection close (the ambiguous-failure case).
            self._close_now()
            return
        headers = dict(answer.headers)
        if answer.body is not None and self.path.lower().startswith("/api"):
            headers.setdefault("OData-Version", "4.0")
        self._respond(answer.status, answer.body, headers, answer.truncate)

    do_GET = _serve
    do_POST = _serve
    do_DELETE = _serve
    do_PUT = _serve
    do_PATCH = _serve


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, emulator: Emulator, port: int, verbose: bool = False) -> None:
        family = socket.AF_INET6 if ":" in emulator.host else socket.AF_INET
        self.address_family = family
        super().__init__((emulator.host, port), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(emulator.pki.server_path)
        self.socket = context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)
        self.emulator = emulator
        self.verbose = verbose
        emulator.port = self.server_address[1]
        shown = "127.0.0.1" if emulator.host in ("0.0.0.0", "") else emulator.host
        emulator.url = "https://%s:%d" % ("[%s]" % shown if ":" in shown else shown, emulator.port)


def serve(emulator: Emulator, port: int, verbose: bool = False) -> EmulatorServer:
    """Start serving in a background thread and write emulator.json (last: it means "ready")."""
    server = EmulatorServer(emulator, port, verbose)
    thread = threading.Thread(target=server.serve_forever, name="mde-emulator", daemon=True)
    thread.start()
    emulator.write_info()
    return server
