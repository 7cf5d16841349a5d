# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Token providers over msal, and what a token allows (its `roles` claim).

msal is imported only when a token has to be acquired: a pre-obtained access_token needs neither
msal nor its start-up cost.
"""

from __future__ import annotations

import base64
import binascii
import errno
import hashlib
import json
import os
import re
import stat
import tempfile
import time
import traceback
from collections import namedtuple
from datetime import datetime, timezone

from ._errors import DefenderError, MissingLibraryError, connection_error, short_reason, tls_error
from ._options import OPTION_ENV

# Requirement groups: each is met by any one of its roles. AnyOf.preferred is the role to grant when Microsoft's
# current pages name it and an older one is still accepted (see permission_warnings).
READ_WRITE_PREFERRED = "Machine.ReadWrite.All"


class AnyOf(tuple):
    """Roles of which any one meets the requirement; `preferred` is the one to grant."""

    preferred = None

    def __new__(cls, *roles: str, preferred: str | None = None):
        group = super().__new__(cls, roles)
        group.preferred = preferred
        return group


# Live pages (Nov 2025 - Jul 2026) list only Machine.ReadWrite.All, not Read.All, for listing machine actions, GET
# machine action, files/{id}/machines and stop and quarantine; get-machines still lists Read.All. Whether the service
# enforces it is unknown: either is accepted, and a token with Read.All alone gets a warning.
_MACHINE_ACTIONS_READ = AnyOf("Machine.Read.All", "Machine.ReadWrite.All", preferred=READ_WRITE_PREFERRED)
STOP_AND_QUARANTINE_ROLES = (("Machine.StopAndQuarantine",), _MACHINE_ACTIONS_READ)
MACHINE_READ_ROLES = (("Machine.Read.All", "Machine.ReadWrite.All"),)  # get-machines, GET machines/{id}
MACHINE_ACTION_READ_ROLES = (_MACHINE_ACTIONS_READ,)  # list or get machine actions
FILE_MACHINES_ROLES = (_MACHINE_ACTIONS_READ,)  # GET files/{sha1}/machines
CANCEL_ROLES = (("Machine.CollectForensics", "Machine.Isolate", "Machine.RestrictExecution", "Machine.Scan",
                 "Machine.Offboard", "Machine.StopAndQuarantine", "Machine.LiveResponse"),)
# Live post-ti-indicator.md lists only Ti.ReadWrite.All for applications; Ti.ReadWrite is still accepted, but then
# GET /api/indicators shows only the indicators this app created (get-ti-indicators-collection.md): defender_indicator
# warns about that itself (_indicators.SEES_ALL_ROLES), so the group names no preferred role.
INDICATOR_ROLES = (("Ti.ReadWrite.All", "Ti.ReadWrite"),)

# Identifier URIs of the one WindowsDefenderATP API (appId fc780465-...), by cloud family: a token for any of them is
# a token for Defender, so audience_mismatch does not flag it. Commercial: the webapp page's resource and its curl
# samples' scope, and the legacy securitycenter.windows.com resource of the 2019 pages; US Government: the resource
# of our cloud table and the API host some scripts use (see _clouds.py).
_DEFENDER_AUDIENCES = (
    {"https://api.securitycenter.microsoft.com", "https://securitycenter.onmicrosoft.com/windowsatpservice",
     "https://api.securitycenter.windows.com"},
    {"https://securitycenter.onmicrosoft.us/windowsatpservice", "https://api-gov.securitycenter.microsoft.us"},
)
_DEFENDER_APP_ID = "fc780465-2017-40d4-a0c5-307022471b92"

# auth_method choices; "auto" takes the first credential present, in the order of the others.
AUTH_METHODS = ("auto", "access_token", "client_secret", "certificate", "managed_identity", "workload_identity")

# OAuth 2.0 (RFC 6749 section 5.2): invalid_client may be 401, every other token error is 400. Used only when the
# answer's status was not seen (msal replays a 400 from its own cache for 60 s).
_TOKEN_ERROR_STATUS = {"invalid_client": 401}

_PEM_CERT = re.compile(r"-----BEGIN CERTIFICATE-----\s+(.+?)\s+-----END CERTIFICATE-----", re.DOTALL)
_PEM_KEY = re.compile(r"-----BEGIN ((?:RSA |EC |ENCRYPTED )?PRIVATE KEY)-----.+?-----END \1-----", re.DOTALL)

Exchange = namedtuple("Exchange", ["method", "url", "status", "body"])


def _import_msal():
    try:
        import msal  # pylint: disable=import-outside-toplevel
    except ImportError:
        raise MissingLibraryError("msal", traceback.format_exc()) from None
    return msal


class ObservedHttp:
    """Our session as msal's http_client, remembering the last call and, for an error answer, its JSON body.

    msal turns a failed OpenID discovery into a ValueError that has lost the status and Entra ID's answer (e.g.
    400 invalid_tenant, AADSTS90002), and returns a failed token request as a dict without its status. Only error
    bodies are kept, never a token.
    """

    def __init__(self, session) -> None:
        self._session = session
        self.last = Exchange(None, None, None, None)

    def get(self, url, *args, **kwargs):
        return self._send("GET", url, args, kwargs)

    def post(self, url, *args, **kwargs):
        return self._send("POST", url, args, kwargs)

    def _send(self, method: str, url: str, args, kwargs):
        self.last = Exchange(method, url, None, None)
        response = getattr(self._session, method.lower())(url, *args, **kwargs)
        status = getattr(response, "status_code", None)
        body = None
        if isinstance(status, int) and status >= 400:
            try:
                body = response.json()
            except ValueError:
                body = None
        self.last = Exchange(method, url, status, body if isinstance(body, dict) else None)
        return response

    def __getattr__(self, name):  # headers, close, get_adapter...: the session's own
        if name == "_session":
            raise AttributeError(name)
        return getattr(self._session, name)


class TokenProvider:
    """Gives a bearer token; `method` names the way it was obtained (never the secret).

    Warnings (a corrupt token cache...) go to `warn` when given, else into `warnings` for the caller to show.
    `resource` is the API the token is for (set by build_token_provider), for audience_hint.
    """

    method = "none"
    refreshable = True
    resource = None

    def __init__(self, warn=None) -> None:
        self.warnings: list[str] = []
        self._warn = warn if warn is not None else self.warnings.append

    def get_token(self, force_refresh: bool = False) -> str:
        raise NotImplementedError

    def audience_hint(self, token: str) -> str | None:
        """For a 403: the sentence saying the token is for another API, or None (see audience_mismatch)."""
        return audience_hint(token, self.resource) if self.resource else None

    # Token requests actually sent (msal answers from its cache without one); api_calls reports it.
    requests_sent = 0

    def _count(self, result: dict) -> None:
        if result.get("token_source") != "cache":
            self.requests_sent += 1


class StaticTokenProvider(TokenProvider):
    """A token obtained elsewhere (access_token): used as is, never refreshed."""

    method = "access_token"
    refreshable = False

    def __init__(self, token: str, now=None, warn=None) -> None:
        super().__init__(warn)
        self._token = token.strip()
        if self._token.lower().startswith("bearer "):
            self._token = self._token[7:].strip()
        self._now = now or time.time

    def get_token(self, force_refresh: bool = False) -> str:
        if force_refresh:  # the API refused it (401): say why it cannot be fixed here
            raise DefenderError(self._rejected(), status=401, code="Unauthorized")
        return self._token

    def _rejected(self) -> str:
        fix = ("obtain a new access_token or give client credentials (client_id/client_secret) so the module can "
               "renew it")
        exp = (token_claims(self._token) or {}).get("exp")
        if isinstance(exp, (int, float)) and not isinstance(exp, bool):
            now = self._now()
            when = datetime.fromtimestamp(exp, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
            if exp <= now:
                return f"The access_token expired at {when} ({_ago(now - exp)} ago) and cannot be renewed: {fix}"
            return (f"The access_token was rejected although its exp claim says it is valid until {when}: it may have "
                    f"been revoked or be for another tenant, cloud or API, and it cannot be renewed: {fix}")
        return f"The access_token was rejected as invalid or expired and cannot be renewed: {fix}"


def _ago(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


class TokenCacheFile:
    """token_cache_path: msal's serialized cache, kept private (it holds bearer tokens).

    A missing directory is created (0700); one that cannot be written fails before any token request; a file that
    is not a token cache is ignored with a warning and replaced on the next save.
    """

    def __init__(self, path: str, warn) -> None:
        self.path = path
        self._warn = warn

    def _error(self, what: str, exc: OSError | None = None, reason: str | None = None) -> DefenderError:
        if exc is not None:
            reason = exc.strerror or str(exc)
        return DefenderError(f"token_cache_path {self.path}: {what}" + (f" ({reason})" if reason else ""),
                             code="TokenCacheError")

    def _directory(self) -> str:
        directory = os.path.dirname(os.path.abspath(self.path))
        if os.path.isdir(directory):
            if not os.access(directory, os.W_OK | os.X_OK):
                raise self._error(f"cannot write to its directory {directory}", reason=os.strerror(errno.EACCES))
            return directory
        if os.path.lexists(directory):
            raise self._error(f"{directory} is not a directory")
        try:
            os.makedirs(directory, mode=0o700, exist_ok=True)
        except OSError as exc:
            raise self._error(f"cannot create its directory {directory}", exc) from None
        return directory

    def load(self, cache) -> None:
        self._directory()
        if not os.path.lexists(self.path):
            return
        try:
            info = os.stat(self.path)
            if not stat.S_ISREG(info.st_mode):
                raise self._error("is not a regular file: point token_cache_path at a file")
            mode = stat.S_IMODE(info.st_mode)
            if mode & 0o077:
                raise DefenderError(f"token_cache_path {self.path} is readable by other users (mode {mode:04o}); "
                                    "it holds bearer tokens: chmod 600 it", code="InsecureTokenCache")
            with open(self.path, "rb") as handle:
                raw = handle.read()
        except OSError as exc:
            raise self._error("cannot be read", exc) from None
        problem, text = _cache_problem(raw)
        if problem:
            self._warn(f"token_cache_path {self.path} is not a valid token cache ({problem}); starting a new one")
            cache.has_state_changed = True  # replaced by the next save even if no token is added
            return
        cache.deserialize(text)

    def save(self, cache) -> None:
        """Write the cache atomically, created 0600."""
        if not cache.has_state_changed:
            return
        try:
            fd, tmp = tempfile.mkstemp(prefix=".defender-token-", dir=self._directory())
        except OSError as exc:
            raise self._error("cannot be written", exc) from None
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(cache.serialize())
            os.replace(tmp, self.path)
        except OSError as exc:
            _remove(tmp)
            raise self._error("cannot be written", exc) from None
        except BaseException:
            _remove(tmp)
            raise
        cache.has_state_changed = False


def _cache_problem(raw: bytes):
    """(None, text) for something msal can load, else (what is wrong, None)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "not UTF-8 text", None
    if not text.strip():
        return None, ""
    try:
        state = json.loads(text)
    except ValueError:
        return "not JSON", None
    # msal's format: {"AccessToken": {key: {...}}, "Account": {...}, ...}
    if not isinstance(state, dict) or not all(isinstance(section, dict) for section in state.values()):
        return "not the token cache format", None
    return None, text


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


class MsalTokenProvider(TokenProvider):
    """Client credentials (secret or certificate) through msal's ConfidentialClientApplication."""

    def __init__(self, tenant_id: str, client_id: str, credential, authority_url: str, scope: str, http_client,
                 method: str, token_cache_path: str | None = None, warn=None) -> None:
        super().__init__(warn)
        self.method = method
        self._tenant_id = tenant_id
        self._client_id = client_id
        self._credential = credential
        self._authority_url = authority_url.rstrip("/")
        self._authority = f"{self._authority_url}/{tenant_id}"
        self._scope = scope
        self._http = ObservedHttp(http_client)
        self._cache_file = TokenCacheFile(token_cache_path, self._warn) if token_cache_path else None
        self._app = None
        self._cache = None

    # Appended to token errors: where the credential came from (see WorkloadIdentityTokenProvider).
    credential_note = ""

    def _application(self):
        if self._app is None:
            msal = _import_msal()
            if self._cache is None:
                self._cache = msal.SerializableTokenCache() if self._cache_file else msal.TokenCache()
                if self._cache_file:
                    self._cache_file.load(self._cache)
            # instance_discovery=False: trust the configured authority (sovereign clouds, emulator) and
            # skip the call to the public instance-discovery host.
            self._app = msal.ConfidentialClientApplication(
                self._client_id, client_credential=self._credential, authority=self._authority,
                instance_discovery=False, http_client=self._http, token_cache=self._cache)
        return self._app

    def get_token(self, force_refresh: bool = False) -> str:
        service_error = _import_msal().exceptions.MsalServiceError
        self._http.last = Exchange(None, None, None, None)
        try:
            app = self._application()
            if force_refresh:
                for token in list(self._cache.search(self._cache.CredentialType.ACCESS_TOKEN)):
                    self._cache.remove_at(token)
            result = app.acquire_token_for_client(scopes=[self._scope])
        except ValueError as exc:  # msal raises ValueError for a failed discovery, a bad authority or credential
            raise self._discovery_error(exc) from None
        except OSError as exc:  # requests' exceptions are OSErrors
            last = self._http.last
            raise connection_error(exc, last.url or self._authority, "authority_url", method=last.method) from None
        except service_error:  # msal's answer to a 5xx on discovery
            raise self._unavailable() from None
        if not isinstance(result, dict) or "access_token" not in result:
            raise self._token_error(result)
        self._count(result)
        if self._cache_file:
            self._cache_file.save(self._cache)
        return result["access_token"]

    def _unavailable(self) -> DefenderError:
        last = self._http.last
        return DefenderError(f"The login endpoint answered HTTP {last.status or '5xx'} to {last.method or 'GET'} "
                             f"{last.url or self._authority}; try again later", status=last.status,
                             code="AuthenticationFailed")

    def _discovery_error(self, exc: ValueError) -> DefenderError:
        last = self._http.last
        if not last.status or last.status < 400:
            return DefenderError(f"Cannot request a token from {self._authority}: {short_reason(exc)}",
                                 code="AuthenticationFailed")
        if last.status >= 500:
            return self._unavailable()
        if last.method != "GET":  # a token answer that is not JSON, e.g. a proxy's 407 page
            return DefenderError(f"Token request to {self._authority} answered HTTP {last.status} without a token "
                                 "error: check proxy and authority_url", status=last.status, code="AuthenticationFailed")
        body = last.body or {}
        description = _first_line(body.get("error_description"))
        where = {"status": last.status, "target": body.get("correlation_id")}
        if body.get("error") == "invalid_tenant" or re.match(r"AADSTS90002\b", description):
            return DefenderError(f"Tenant {self._tenant_id} was not found at {self._authority_url} (AADSTS90002): "
                                 "check tenant_id (AZURE_TENANT_ID) and cloud", code="invalid_tenant", **where)
        if body.get("error"):
            return DefenderError(f"Sign-in to {self._authority} failed: {description or body['error']}",
                                 code=str(body["error"]), **where)
        return DefenderError(f"{self._authority_url} is not a login authority: its OpenID configuration {last.url} "
                             f"answered HTTP {last.status}: check authority_url and tenant_id", code="InvalidAuthority",
                             **where)

    def _token_error(self, result) -> DefenderError:
        result = result if isinstance(result, dict) else {}
        code = result.get("error") or "AuthenticationFailed"
        description = _first_line(result.get("error_description")) or "no access_token in the answer"
        last = self._http.last
        status = last.status if last.method == "POST" and last.status else _TOKEN_ERROR_STATUS.get(code, 400)
        return DefenderError(f"Token request to {self._authority} failed: {description}{self.credential_note}",
                             status=status, code=code, target=result.get("correlation_id"))


def _first_line(text) -> str:
    """Entra ID's error_description without its Trace ID / Correlation ID / Timestamp lines."""
    return str(text).splitlines()[0].strip() if text else ""


class FederatedTokenFile:
    """msal's client_assertion callback: the federated token, read again for every token request.

    The AKS workload identity webhook projects a service-account token into AZURE_FEDERATED_TOKEN_FILE
    and the kubelet rotates it (about every hour), so a token read once goes stale. msal calls this
    only when it sends a token request, not on a cache hit.
    """

    def __init__(self, path: str) -> None:
        self.path = path

    def __call__(self) -> str:
        try:
            with open(self.path, encoding="utf-8") as handle:
                assertion = handle.read().strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise DefenderError(f"Cannot read the federated token file {self.path} ({exc.__class__.__name__})",
                                code="FederatedTokenUnreadable") from None
        if not assertion:
            raise DefenderError(f"The federated token file {self.path} is empty", code="FederatedTokenUnreadable")
        return assertion


class WorkloadIdentityTokenProvider(MsalTokenProvider):
    """Workload identity federation: client credentials with a federated token as client assertion."""

    def __init__(self, tenant_id: str, client_id: str, token_file: str, authority_url: str, scope: str, http_client,
                 token_cache_path: str | None = None, warn=None) -> None:
        super().__init__(tenant_id, client_id, {"client_assertion": FederatedTokenFile(token_file)}, authority_url,
                         scope, http_client, "workload_identity", token_cache_path, warn)
        # Name the file: an expired (AADSTS700024) or unmatched (AADSTS70021) assertion is fixed there or in the
        # app's federated credential, not in a secret.
        self.credential_note = f" (workload identity: client assertion read from {token_file})"


class ManagedIdentityTokenProvider(TokenProvider):
    """An Azure managed identity through msal's ManagedIdentityClient.

    msal picks the endpoint from the environment: App Service/Functions (IDENTITY_ENDPOINT and
    IDENTITY_HEADER), Azure Arc, Azure Machine Learning, Service Fabric, else the VM's IMDS.
    """

    method = "managed_identity"

    def __init__(self, resource: str, http_client, client_id: str | None = None,
                 token_cache_path: str | None = None, warn=None) -> None:
        super().__init__(warn)
        self._resource = resource
        self._client_id = client_id
        # Identity endpoints are local to the host (IMDS, localhost): no proxy, same TLS settings.
        without_proxy = getattr(http_client, "without_proxy", None)
        self._session = without_proxy() if without_proxy else http_client
        self._http = None
        self._cache_file = TokenCacheFile(token_cache_path, self._warn) if token_cache_path else None
        self._app = None
        self._cache = None
        self._msal = None

    def _application(self):
        if self._app is None:
            msal = self._msal = _import_msal()
            self._cache = msal.SerializableTokenCache() if self._cache_file else msal.TokenCache()
            if self._cache_file:
                self._cache_file.load(self._cache)
            identity = (msal.UserAssignedManagedIdentity(client_id=self._client_id) if self._client_id
                        else msal.SystemAssignedManagedIdentity())
            sources = msal.managed_identity
            # Service Fabric needs the requests.Session itself (msal derives a pinning session from it).
            service_fabric = sources.get_managed_identity_source() is sources.SERVICE_FABRIC
            self._http = self._session if service_fabric else ObservedHttp(self._session)
            self._app = msal.ManagedIdentityClient(identity, http_client=self._http, token_cache=self._cache)
        return self._app

    def get_token(self, force_refresh: bool = False) -> str:
        app = self._application()
        service_error = self._msal.exceptions.MsalServiceError
        if force_refresh:
            # The client keeps its own cache; emptying it is how a rejected token is renewed.
            for token in list(self._cache.search(self._cache.CredentialType.ACCESS_TOKEN)):
                self._cache.remove_at(token)
        source = managed_identity_source(self._msal)
        observed = self._http if isinstance(self._http, ObservedHttp) else None
        if observed:
            observed.last = Exchange(None, None, None, None)
        try:
            result = app.acquire_token_for_client(resource=self._resource)
        except OSError as exc:  # requests' connection errors are OSErrors
            if exc.__class__.__name__ == "SSLError":
                raise tls_error(exc, f"the managed identity {source}") from None
            raise DefenderError(f"Cannot reach the managed identity {source}: {exc.__class__.__name__} "
                                f"({short_reason(exc)}). Managed identity works only on an Azure host that has one "
                                "(VM, App Service, Functions, AKS, Arc-enabled server)",
                                code="ManagedIdentityUnavailable") from None
        except ValueError as exc:  # msal's ManagedIdentityError, or an answer that is not JSON
            raise DefenderError(f"Managed identity token request to the {source} failed: {short_reason(exc)}",
                                code="ManagedIdentityError") from None
        except service_error as exc:
            raise DefenderError(f"The managed identity {source} answered {exc}; try again later",
                                status=observed.last.status if observed else None, code="ManagedIdentityError") from None
        if not isinstance(result, dict) or "access_token" not in result:
            result = result if isinstance(result, dict) else {}
            description = _first_line(result.get("error_description") or result.get("error")) or "no access_token in the answer"
            which = f"user-assigned identity {self._client_id}" if self._client_id else "system-assigned identity"
            status = observed.last.status if observed and observed.last.status and observed.last.status >= 400 else 401
            raise DefenderError(f"Managed identity token request ({which}) to the {source} failed: {description}",
                                status=status, code="ManagedIdentityError")
        self._count(result)
        if self._cache_file:
            self._cache_file.save(self._cache)
        return result["access_token"]


def managed_identity_source(msal) -> str:
    """Where msal will ask for a managed identity token, for messages."""
    sources = msal.managed_identity
    source = sources.get_managed_identity_source()
    if source is sources.APP_SERVICE:
        return f"App Service endpoint {os.environ.get('IDENTITY_ENDPOINT')}"
    if source is sources.SERVICE_FABRIC:
        return f"Service Fabric endpoint {os.environ.get('IDENTITY_ENDPOINT')}"
    if source is sources.MACHINE_LEARNING:
        return f"Azure Machine Learning endpoint {os.environ.get('MSI_ENDPOINT')}"
    if source is sources.AZURE_ARC:
        return "Azure Arc agent endpoint"
    host = os.environ.get("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://169.254.169.254").strip("/")
    return f"instance metadata endpoint (IMDS) {host}"


def managed_identity_detected() -> bool:
    """True when the environment names a managed identity endpoint (not a bare VM: IMDS has no marker)."""
    msal = _import_msal()
    sources = msal.managed_identity
    return sources.get_managed_identity_source() not in (sources.DEFAULT_TO_VM, sources.CLOUD_SHELL)


def load_certificate_credential(path: str, password: str | None = None, thumbprint: str | None = None) -> dict:
    """msal's certificate credential from a PEM file holding the certificate and its private key."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"client_certificate_path {path}: cannot read the PEM file ({exc.__class__.__name__})") from None
    key = _PEM_KEY.search(text)
    cert = _PEM_CERT.search(text)
    if not key:
        raise ValueError(f"client_certificate_path {path} holds no private key: give one PEM file with both the "
                         "certificate and its private key (PKCS#8 or RSA)")
    if not thumbprint:
        if not cert:
            raise ValueError(f"client_certificate_path {path} holds no certificate; add it to the file or give "
                             "client_certificate_thumbprint")
        try:
            der = base64.b64decode("".join(cert.group(1).split()), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"client_certificate_path {path}: the certificate block is not valid base64") from None
        thumbprint = hashlib.sha1(der).hexdigest()  # nosec - the x5t thumbprint Entra ID expects is SHA-1
    credential = {"private_key": key.group(0), "thumbprint": thumbprint.replace(":", "").lower()}
    if password:
        credential["passphrase"] = password
    return credential


def token_claims(token: str) -> dict | None:
    """The claims of a JWT, unverified (for display and preflight only); None when it is not a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error):
        return None
    return claims if isinstance(claims, dict) else None


def token_roles(token: str) -> set | None:
    """Application roles of an app token; None for a delegated (user) token or an opaque one."""
    claims = token_claims(token)
    if claims is None or "scp" in claims:
        return None
    roles = claims.get("roles") or []
    return {str(role) for role in roles} if isinstance(roles, list) else set()


def missing_roles(token: str, requirement) -> list[str]:
    """Requirement groups the token does not meet: each group is satisfied by any one of its roles."""
    roles = token_roles(token)
    if roles is None:
        return []
    return [" or ".join(group) for group in requirement if not roles.intersection(group)]


def permission_warnings(token: str, requirement) -> list[str]:
    """For groups the token meets only through a role Microsoft's pages no longer list: what to grant instead.

    Empty for a delegated or opaque token (the API judges those) and for groups the token does not meet at all
    (missing_roles reports them).
    """
    roles = token_roles(token)
    if not roles:
        return []
    warnings = []
    for group in requirement:
        preferred = getattr(group, "preferred", None)
        held = sorted(roles.intersection(group))
        if preferred and held and preferred not in roles:
            warnings.append(f"The token has {' and '.join(held)} but not {preferred}: Microsoft's API pages now list "
                            f"{preferred} for this call, and {' and '.join(held)} may stop being accepted. Grant "
                            f"{preferred} (WindowsDefenderATP application permission, with admin consent).")
    return warnings


def _audience_key(value: str) -> str:
    value = str(value).strip().lower()
    if value.endswith("/.default"):
        value = value[:-len("/.default")]
    return value.rstrip("/")


def audience_mismatch(token: str, expected_resource: str) -> str | None:
    """The token's `aud` when it is not the API at expected_resource (the cloud's resource or scope), else None.

    Defender answers a token for another audience with 403, not 401 (microsoft-365-docs #9246), which reads like a
    missing permission. Compared case-insensitively, without a trailing slash or /.default; the other identifier
    URIs of WindowsDefenderATP in the same cloud family (and its appId) count as a match. None for an opaque token.
    """
    claims = token_claims(token)
    if not claims or not expected_resource or not claims.get("aud"):
        return None
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    expected = _audience_key(expected_resource)
    same = {expected}.union(*(family for family in _DEFENDER_AUDIENCES if expected in family))
    same.add(_DEFENDER_APP_ID)
    if any(_audience_key(aud) in same for aud in audiences):
        return None
    return ", ".join(str(aud) for aud in audiences)


def audience_hint(token: str, expected_resource: str) -> str | None:
    """The sentence a 403 gets when the token is for another API (DefenderError.extra_hint), else None."""
    audience = audience_mismatch(token, expected_resource)
    if audience is None:
        return None
    return (f"The token's audience is {audience}, the API expects {_audience_key(expected_resource)}: check scope and "
            "cloud (or where the access_token was obtained).")


# Secrets that may also be given as the path of a file holding them (an AWX file injector, a Kubernetes secret
# volume): the secret then never sits in the process environment, nor in what a job engine records of it.
SECRET_FILE_OPTIONS = {"client_secret_file": "client_secret",
                       "client_certificate_password_file": "client_certificate_password"}


def read_secret_files(params: dict) -> dict:
    """params with each *_file secret read into its option, the *_file key gone (so a second call reads nothing);
    ValueError naming the path when the file cannot be used.

    Only line endings after the secret are dropped. Giving both a secret and its file is an error rather
    than a silent choice between two credentials."""
    resolved = dict(params)
    for file_option, option in SECRET_FILE_OPTIONS.items():
        path = resolved.pop(file_option, None)
        if not path:
            continue
        if resolved.get(option):
            raise ValueError(f"{option} and {file_option} are both set ({OPTION_ENV[option]} and "
                             f"{OPTION_ENV[file_option]} count too): give one")
        try:
            with open(path, encoding="utf-8") as handle:
                secret = handle.read().rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc.__class__.__name__
            raise ValueError(f"{file_option} {path}: cannot read the file ({reason})") from None
        if not secret:
            raise ValueError(f"{file_option} {path} is empty")
        resolved[option] = secret
    return resolved


def choose_auth_method(params: dict) -> str:
    """auth_method, or for auto the first credential present: access_token, certificate, secret, workload
    identity (federated token file), managed identity (its endpoint in the environment, or a client id)."""
    method = params.get("auth_method") or "auto"
    if method not in AUTH_METHODS:
        raise ValueError(f"auth_method must be one of {', '.join(AUTH_METHODS)}, not {method!r}")
    if method != "auto":
        return method
    if params.get("access_token"):
        return "access_token"
    if params.get("client_certificate_path"):
        return "certificate"
    if params.get("client_secret") or params.get("client_secret_file"):
        return "client_secret"
    if params.get("federated_token_file"):
        return "workload_identity"
    if params.get("managed_identity_client_id") or managed_identity_detected():
        return "managed_identity"
    raise ValueError("No credentials: give access_token, or tenant_id and client_id with client_secret or "
                     "client_certificate_path (or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET), "
                     "or set auth_method to managed_identity or workload_identity")


def _require(params: dict, method: str, *names: str) -> None:
    missing = [name for name in names if not params.get(name)]
    if missing:
        raise ValueError(f"{method.replace('_', ' ')} authentication needs {' and '.join(missing)} "
                         f"(or {' and '.join(OPTION_ENV[name] for name in missing)})")


def build_token_provider(params: dict, endpoints, http_client, warn=None) -> TokenProvider:
    """The token provider for auth_method (see choose_auth_method); ValueError when an input is missing.

    warn(message) receives the provider's warnings (e.g. a corrupt token_cache_path) when they happen; without it
    they collect in provider.warnings.
    """
    provider = _build_provider(params, endpoints, http_client, warn)
    provider.resource = getattr(endpoints, "resource", None)
    return provider


def _build_provider(params: dict, endpoints, http_client, warn) -> TokenProvider:
    params = read_secret_files(params)
    method = choose_auth_method(params)
    cache_path = params.get("token_cache_path")
    if method == "access_token":
        _require(params, method, "access_token")
        return StaticTokenProvider(params["access_token"], warn=warn)
    if method == "managed_identity":
        # The managed identity asks for the resource itself (no scope, no tenant, no authority).
        return ManagedIdentityTokenProvider(endpoints.resource, http_client, params.get("managed_identity_client_id"),
                                            cache_path, warn)
    if method == "workload_identity":
        _require(params, method, "federated_token_file", "tenant_id", "client_id")
        if not os.path.isfile(params["federated_token_file"]):
            raise ValueError(f"federated_token_file {params['federated_token_file']} is not a file (the AKS workload "
                             "identity webhook mounts it when the pod's service account is set up for it)")
        return WorkloadIdentityTokenProvider(params["tenant_id"], params["client_id"], params["federated_token_file"],
                                             endpoints.authority_url, endpoints.scope, http_client, cache_path, warn)
    if method == "certificate":
        _require(params, method, "client_certificate_path")
        credential = load_certificate_credential(params["client_certificate_path"], params.get("client_certificate_password"),
                                                 params.get("client_certificate_thumbprint"))
    else:
        _require(params, method, "client_secret")
        credential = params["client_secret"]
    _require(params, method, "tenant_id", "client_id")
    return MsalTokenProvider(params["tenant_id"], params["client_id"], credential, endpoints.authority_url,
                             endpoints.scope, http_client, method, cache_path, warn)
