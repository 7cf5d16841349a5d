# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Token providers over msal, and what a token allows (its `roles` claim).

msal is imported only when a token has to be acquired: a pre-obtained access_token needs neither
msal nor its start-up cost.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import tempfile
import traceback
from urllib.parse import urlsplit

from ._errors import DefenderError, MissingLibraryError, tls_error

STOP_AND_QUARANTINE_ROLES = (("Machine.StopAndQuarantine",), ("Machine.Read.All", "Machine.ReadWrite.All"))
MACHINE_READ_ROLES = (("Machine.Read.All", "Machine.ReadWrite.All"),)
CANCEL_ROLES = (("Machine.CollectForensics", "Machine.Isolate", "Machine.RestrictExecution", "Machine.Scan",
                 "Machine.Offboard", "Machine.StopAndQuarantine", "Machine.LiveResponse"),)
INDICATOR_ROLES = (("Ti.ReadWrite", "Ti.ReadWrite.All"),)

# auth_method choices; "auto" takes the first credential present, in the order of the others.
AUTH_METHODS = ("auto", "access_token", "client_secret", "certificate", "managed_identity", "workload_identity")

_PEM_CERT = re.compile(r"-----BEGIN CERTIFICATE-----\s+(.+?)\s+-----END CERTIFICATE-----", re.DOTALL)
_PEM_KEY = re.compile(r"-----BEGIN ((?:RSA |EC |ENCRYPTED )?PRIVATE KEY)-----.+?-----END \1-----", re.DOTALL)


def _import_msal():
    try:
        import msal  # pylint: disable=import-outside-toplevel
    except ImportError:
        raise MissingLibraryError("msal", traceback.format_exc()) from None
    return msal


class TokenProvider:
    """Gives a bearer token; `method` names the way it was obtained (never the secret)."""

    method = "none"
    refreshable = True

    def get_token(self, force_refresh: bool = False) -> str:
        raise NotImplementedError

    # Token requests actually sent (msal answers from its cache without one); api_calls reports it.
    requests_sent = 0

    def _count(self, result: dict) -> None:
        if result.get("token_source") != "cache":
            self.requests_sent += 1


class StaticTokenProvider(TokenProvider):
    """A token obtained elsewhere (access_token): used as is, never refreshed."""

    method = "access_token"
    refreshable = False

    def __init__(self, token: str) -> None:
        self._token = token.strip()
        if self._token.lower().startswith("bearer "):
            self._token = self._token[7:].strip()

    def get_token(self, force_refresh: bool = False) -> str:
        if force_refresh:
            raise DefenderError("The access_token was rejected as invalid or expired and cannot be renewed; "
                                "obtain a new one or give client credentials instead", status=401, code="Unauthorized")
        return self._token


class MsalTokenProvider(TokenProvider):
    """Client credentials (secret or certificate) through msal's ConfidentialClientApplication."""

    def __init__(self, tenant_id: str, client_id: str, credential, authority_url: str, scope: str, http_client,
                 method: str, token_cache_path: str | None = None) -> None:
        self.method = method
        self._tenant_id = tenant_id
        self._client_id = client_id
        self._credential = credential
        self._authority = f"{authority_url.rstrip('/')}/{tenant_id}"
        self._scope = scope
        self._http = http_client
        self._cache_path = token_cache_path
        self._app = None
        self._cache = None

    def _application(self):
        if self._app is None:
            msal = _import_msal()
            self._cache = msal.SerializableTokenCache() if self._cache_path else msal.TokenCache()
            if self._cache_path:
                _load_cache(self._cache, self._cache_path)
            # instance_discovery=False: trust the configured authority (sovereign clouds, emulator) and
            # skip the call to the public instance-discovery host.
            self._app = msal.ConfidentialClientApplication(
                self._client_id, client_credential=self._credential, authority=self._authority,
                instance_discovery=False, http_client=self._http, token_cache=self._cache)
        return self._app

    def get_token(self, force_refresh: bool = False) -> str:
        try:
            app = self._application()
            if force_refresh:
                for token in list(self._cache.search(self._cache.CredentialType.ACCESS_TOKEN)):
                    self._cache.remove_at(token)
            result = app.acquire_token_for_client(scopes=[self._scope])
        except ValueError as exc:  # msal raises ValueError for a bad authority or credential shape
            raise DefenderError(f"Cannot request a token from {self._authority}: {exc}", code="AuthenticationFailed") from None
        except OSError as exc:  # requests' exceptions are OSErrors
            if exc.__class__.__name__ == "SSLError":
                raise tls_error(exc, urlsplit(self._authority).netloc) from None
            raise DefenderError(f"Cannot reach the login endpoint {self._authority}: {exc.__class__.__name__}",
                                code="ConnectionError") from None
        if not isinstance(result, dict) or "access_token" not in result:
            raise _token_error(result, self._authority)
        self._count(result)
        if self._cache_path:
            _save_cache(self._cache, self._cache_path)
        return result["access_token"]


def _token_error(result, authority: str) -> DefenderError:
    result = result if isinstance(result, dict) else {}
    code = result.get("error") or "AuthenticationFailed"
    description = (result.get("error_description") or "no access_token in the answer").splitlines()[0]
    return DefenderError(f"Token request to {authority} failed: {description}", status=401, code=code,
                         target=result.get("correlation_id"))


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
                 token_cache_path: str | None = None) -> None:
        super().__init__(tenant_id, client_id, {"client_assertion": FederatedTokenFile(token_file)}, authority_url,
                         scope, http_client, "workload_identity", token_cache_path)
        self._token_file = token_file

    def get_token(self, force_refresh: bool = False) -> str:
        try:
            return super().get_token(force_refresh)
        except DefenderError as exc:
            if exc.status != 401:
                raise
            # Name the file: an expired (AADSTS700024) or unmatched (AADSTS70021) assertion is fixed there
            # or in the app's federated credential, not in a secret.
            raise DefenderError(f"{exc.message} (workload identity: client assertion read from {self._token_file})",
                                status=exc.status, code=exc.code, target=exc.target) from None


class ManagedIdentityTokenProvider(TokenProvider):
    """An Azure managed identity through msal's ManagedIdentityClient.

    msal picks the endpoint from the environment: App Service/Functions (IDENTITY_ENDPOINT and
    IDENTITY_HEADER), Azure Arc, Azure Machine Learning, Service Fabric, else the VM's IMDS.
    """

    method = "managed_identity"

    def __init__(self, resource: str, http_client, client_id: str | None = None,
                 token_cache_path: str | None = None) -> None:
        self._resource = resource
        self._client_id = client_id
        # Identity endpoints are local to the host (IMDS, localhost): no proxy, same TLS settings.
        without_proxy = getattr(http_client, "without_proxy", None)
        self._http = without_proxy() if without_proxy else http_client
        self._cache_path = token_cache_path
        self._app = None
        self._cache = None
        self._msal = None

    def _application(self):
        if self._app is None:
            msal = self._msal = _import_msal()
            self._cache = msal.SerializableTokenCache() if self._cache_path else msal.TokenCache()
            if self._cache_path:
                _load_cache(self._cache, self._cache_path)
            identity = (msal.UserAssignedManagedIdentity(client_id=self._client_id) if self._client_id
                        else msal.SystemAssignedManagedIdentity())
            self._app = msal.ManagedIdentityClient(identity, http_client=self._http, token_cache=self._cache)
        return self._app

    def get_token(self, force_refresh: bool = False) -> str:
        app = self._application()
        if force_refresh:
            # The client keeps its own cache; emptying it is how a rejected token is renewed.
            for token in list(self._cache.search(self._cache.CredentialType.ACCESS_TOKEN)):
                self._cache.remove_at(token)
        source = managed_identity_source(self._msal)
        try:
            result = app.acquire_token_for_client(resource=self._resource)
        except OSError as exc:  # requests' connection errors are OSErrors
            if exc.__class__.__name__ == "SSLError":
                raise tls_error(exc, f"the managed identity {source}") from None
            raise DefenderError(f"Cannot reach the managed identity {source}: {exc.__class__.__name__}. Managed "
                                "identity works only on an Azure host that has one (VM, App Service, Functions, "
                                "AKS, Arc-enabled server)", code="ManagedIdentityUnavailable") from None
        except ValueError as exc:  # msal's ManagedIdentityError, or an answer that is not JSON
            raise DefenderError(f"Managed identity token request to the {source} failed: {exc}",
                                code="ManagedIdentityError") from None
        if not isinstance(result, dict) or "access_token" not in result:
            result = result if isinstance(result, dict) else {}
            description = result.get("error_description") or result.get("error") or "no access_token in the answer"
            description = description.splitlines()[0]
            which = f"user-assigned identity {self._client_id}" if self._client_id else "system-assigned identity"
            raise DefenderError(f"Managed identity token request ({which}) to the {source} failed: {description}",
                                status=401, code="ManagedIdentityError")
        self._count(result)
        if self._cache_path:
            _save_cache(self._cache, self._cache_path)
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


def _load_cache(cache, path: str) -> None:
    if not os.path.exists(path):
        return
    mode = os.stat(path).st_mode & 0o777
    if mode & 0o077:
        raise DefenderError(f"token_cache_path {path} is readable by other users (mode {mode:04o}); "
                            "it holds bearer tokens: chmod 600 it", code="InsecureTokenCache")
    with open(path, encoding="utf-8") as handle:
        cache.deserialize(handle.read())


def _save_cache(cache, path: str) -> None:
    """Write the cache atomically, created 0600 (it holds bearer tokens)."""
    if not cache.has_state_changed:
        return
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".defender-token-", dir=directory)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(cache.serialize())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    cache.has_state_changed = False


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
    if params.get("client_secret"):
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
        envs = {"tenant_id": "AZURE_TENANT_ID", "client_id": "AZURE_CLIENT_ID", "client_secret": "AZURE_CLIENT_SECRET",
                "client_certificate_path": "AZURE_CLIENT_CERTIFICATE_PATH", "access_token": "DEFENDER_ACCESS_TOKEN",
                "federated_token_file": "AZURE_FEDERATED_TOKEN_FILE"}
        raise ValueError(f"{method.replace('_', ' ')} authentication needs {' and '.join(missing)} "
                         f"(or {' and '.join(envs[name] for name in missing)})")


def build_token_provider(params: dict, endpoints, http_client) -> TokenProvider:
    """The token provider for auth_method (see choose_auth_method); ValueError when an input is missing."""
    method = choose_auth_method(params)
    cache_path = params.get("token_cache_path")
    if method == "access_token":
        _require(params, method, "access_token")
        return StaticTokenProvider(params["access_token"])
    if method == "managed_identity":
        # The managed identity asks for the resource itself (no scope, no tenant, no authority).
        return ManagedIdentityTokenProvider(endpoints.resource, http_client, params.get("managed_identity_client_id"),
                                            cache_path)
    if method == "workload_identity":
        _require(params, method, "federated_token_file", "tenant_id", "client_id")
        if not os.path.isfile(params["federated_token_file"]):
            raise ValueError(f"federated_token_file {params['federated_token_file']} is not a file (the AKS workload "
                             "identity webhook mounts it when the pod's service account is set up for it)")
        return WorkloadIdentityTokenProvider(params["tenant_id"], params["client_id"], params["federated_token_file"],
                                             endpoints.authority_url, endpoints.scope, http_client, cache_path)
    if method == "certificate":
        _require(params, method, "client_certificate_path")
        credential = load_certificate_credential(params["client_certificate_path"], params.get("client_certificate_password"),
                                                 params.get("client_certificate_thumbprint"))
    else:
        _require(params, method, "client_secret")
        credential = params["client_secret"]
    _require(params, method, "tenant_id", "client_id")
    return MsalTokenProvider(params["tenant_id"], params["client_id"], credential, endpoints.authority_url,
                             endpoints.scope, http_client, method, cache_path)
