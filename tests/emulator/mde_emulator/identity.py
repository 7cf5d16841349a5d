# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Entra ID side: OpenID configuration, JWKS, the v2.0 token endpoint and access-token checks.

Client authentication methods live in ``Identity.AUTHENTICATORS`` and grant types in
``Identity.GRANTS`` so that managed identity or federated credentials can be added without
touching the existing flows.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import urllib.parse
import uuid

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from . import pki
from .errors import AadError, unauthorized

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

# The Defender resources Entra issues a token for (reference §4); the API accepts only its cloud's (CLOUD_AUDIENCES).
DEFENDER_RESOURCES = (
    "https://api.securitycenter.microsoft.com",
    "https://api.security.microsoft.com",
    "https://securitycenter.onmicrosoft.com/windowsatpservice",
    "https://api-gcc.securitycenter.microsoft.us",
    "https://api-gov.securitycenter.microsoft.us",
    "https://securitycenter.onmicrosoft.us/windowsatpservice",
)
# The audiences the API accepts, per cloud the emulator plays (config "cloud"; "accepted_audiences" overrides).
# commercial: exposed-apis-create-app-webapp.md (scope https://api.securitycenter.microsoft.com/.default) and its curl
# samples (https://securitycenter.onmicrosoft.com/windowsatpservice/.default, also microsoft-365-docs #13126). Not
# https://api.security.microsoft.com: the resource stays securitycenter even when calling that host.
# US Government: Microsoft documents no resource (gov.md gives only hosts); these are the reference's [INFERRED] pair.
CLOUD_AUDIENCES = {
    "commercial": ("https://api.securitycenter.microsoft.com", "https://securitycenter.onmicrosoft.com/windowsatpservice"),
    "gcc": ("https://securitycenter.onmicrosoft.com/windowsatpservice", "https://api-gcc.securitycenter.microsoft.us"),
    "gcc_high": ("https://securitycenter.onmicrosoft.us/windowsatpservice", "https://api-gov.securitycenter.microsoft.us"),
    "dod": ("https://securitycenter.onmicrosoft.us/windowsatpservice", "https://api-gov.securitycenter.microsoft.us"),
}
# Other resources Entra would also issue tokens for; the API rejects them (wrong audience, 403).
FOREIGN_RESOURCES = ("https://graph.microsoft.com",)

# OpenID Connect scopes msal adds to a user sign-in; they name no resource.
OIDC_SCOPES = ("openid", "profile", "offline_access", "email")
# Client assertions are signed with the client's real clock, so they are checked against real time.
ASSERTION_SKEW_SECONDS = 300
# The audience Entra ID expects in a federated token (workload identity federation).
FEDERATION_AUDIENCE = "api://AzureADTokenExchange"
# The App Service managed identity protocol version msal uses (header X-IDENTITY-HEADER, epoch expires_on).
MSI_API_VERSION = "2019-08-01"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwt_split(token: str) -> tuple[dict, dict, bytes, bytes]:
    """Header, payload, signing input and signature of a compact JWS; ValueError if malformed."""
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not a compact JWS")
    header = json.loads(b64url_decode(parts[0]))
    payload = json.loads(b64url_decode(parts[1]))
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise ValueError("JWT parts are not objects")
    return header, payload, (parts[0] + "." + parts[1]).encode("ascii"), b64url_decode(parts[2])


def verify_rsa(public_key: rsa.RSAPublicKey, alg: str, signing_input: bytes, signature: bytes) -> bool:
    if alg == "RS256":
        pad: padding.AsymmetricPadding = padding.PKCS1v15()
    elif alg == "PS256":
        pad = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
    else:
        return False
    try:
        public_key.verify(signature, signing_input, pad, hashes.SHA256())
    except InvalidSignature:
        return False
    return True


class Client:
    """A registered application (service principal) of the tenant."""

    def __init__(self, name: str, client_id: str, roles: list[str], secret: str | None = None,
                 certificate: x509.Certificate | None = None, certificate_path: str | None = None,
                 object_id: str | None = None, federated: list[dict] | None = None, public: bool = False,
                 delegated: list[str] | None = None) -> None:
        self.name = name
        self.client_id = client_id
        self.roles = list(roles)
        self.secret = secret
        self.certificate = certificate
        self.certificate_path = certificate_path
        self.object_id = object_id or str(uuid.uuid5(uuid.NAMESPACE_URL, "mde-emulator-sp:" + client_id))
        # Federated identity credentials: {"issuer", "subject", "audiences"} records the app trusts.
        self.federated = [{"issuer": r["issuer"], "subject": r["subject"],
                           "audiences": list(r.get("audiences") or [FEDERATION_AUDIENCE])} for r in federated or []]
        # "Allow public client flows": ROPC without a client credential (a native app, as in
        # exposed-apis-create-app-nativeapp.md), and the delegated Defender permissions consented for it.
        self.public = public
        self.delegated = list(delegated or [])

    def public_info(self) -> dict:
        info: dict = {"client_id": self.client_id, "roles": self.roles}
        if self.public:
            info["public"] = True
        if self.delegated:
            info["delegated"] = self.delegated
        if self.secret is not None:
            info["client_secret"] = self.secret
        if self.certificate is not None:
            info["thumbprint"] = pki.sha1_thumbprint(self.certificate)
            if self.certificate_path:
                info["certificate_path"] = self.certificate_path
        if self.federated:
            info["federated"] = self.federated
        return info


def user_object_id(upn: str) -> str:
    """A stable made-up object id for a user principal name."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "mde-emulator-user:" + upn.lower()))


class User:
    """A user of the tenant, for delegated (user) tokens: ROPC, as the native-app doc's sample does."""

    def __init__(self, name: str, upn: str, password: str, object_id: str | None = None, display_name: str | None = None) -> None:
        self.name = name
        self.upn = upn
        self.password = password
        self.object_id = object_id or user_object_id(upn)
        self.display_name = display_name or upn.split("@")[0]

    def public_info(self) -> dict:
        return {"upn": self.upn, "password": self.password, "object_id": self.object_id, "display_name": self.display_name}


class ManagedIdentity(Client):
    """A system- or user-assigned managed identity: a service principal with no credential of its own."""

    def __init__(self, name: str, kind: str, client_id: str, roles: list[str], object_id: str | None = None) -> None:
        if kind not in ("system", "user"):
            raise ValueError("managed identity %s: type must be 'system' or 'user'" % name)
        super().__init__(name, client_id, roles, object_id=object_id)
        self.kind = kind

    def public_info(self) -> dict:
        return {"type": self.kind, "client_id": self.client_id, "object_id": self.object_id, "roles": self.roles}


class MsiError(Exception):
    """An App Service managed identity endpoint error: ``{"statusCode", "message", "correlationId"}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code  # for the request log only
        self.message = message

    def body(self) -> dict:
        return {"statusCode": self.status, "message": self.message, "correlationId": str(uuid.uuid4())}


class Identity:
    """Tenant, clients, the token-signing key and the set of live tokens."""

    AUTHENTICATORS = ("_auth_secret", "_auth_federated_assertion", "_auth_certificate_assertion", "_auth_public_client")
    GRANTS = {"client_credentials": "_grant_client_credentials", "password": "_grant_password"}

    def __init__(self, clock, state_dir: str) -> None:
        self.clock = clock
        self.state_dir = state_dir
        self.signing_key = pki.new_key()
        self.kid = b64url(hashlib.sha1(str(uuid.uuid4()).encode()).digest())
        self.tenant_id = ""
        self.tenant_domains: list[str] = []
        self.clients: dict[str, Client] = {}
        self.users: dict[str, User] = {}  # by lower-case UPN
        self._cert_cache: dict[tuple[str, str], x509.Certificate] = {}
        self._live_tokens: set[str] = set()
        self._lock = threading.Lock()
        self.token_lifetime = 3599
        self.managed_identities: dict[str, ManagedIdentity] = {}
        # Like App Service's IDENTITY_HEADER: made up at start, kept across resets (emulator.json has it).
        self.identity_header = secrets.token_urlsafe(24)
        # One signing key per federated-token issuer named in the seed, kept across resets.
        self.issuer_keys: dict[str, rsa.RSAPrivateKey] = {}

    # --- set-up -------------------------------------------------------------------------
    def load(self, seed: dict) -> None:
        self.tenant_id = seed["tenant_id"]
        self.tenant_domains = [d.lower() for d in seed.get("tenant_domains", [])]
        clients = {}
        for entry in seed.get("clients", []):
            client = self._client_from_seed(entry)
            clients[client.client_id] = client
            for record in client.federated:
                if record["issuer"] not in self.issuer_keys:
                    self.issuer_keys[record["issuer"]] = pki.new_key()
        identities = {}
        for entry in seed.get("managed_identities", []):
            identity = ManagedIdentity(entry["name"], entry.get("type", "user"), entry["client_id"], entry.get("roles", []),
                                       entry.get("object_id"))
            identities[identity.client_id] = identity
        users = {}
        for entry in seed.get("users", []):
            user = User(entry["name"], entry["upn"], entry["password"], entry.get("object_id"), entry.get("display_name"))
            users[user.upn.lower()] = user
        with self._lock:
            self.clients = clients
            self.users = users
            self.managed_identities = identities
            self._live_tokens.clear()

    def _client_from_seed(self, entry: dict) -> Client:
        name = entry["name"]
        client_id = entry["client_id"]
        certificate = None
        certificate_path = None
        spec = entry.get("certificate")
        if spec == "generate":
            # Keep one generated certificate per client across resets, so cert files stay valid.
            certificate_path = "%s/%s.pem" % (self.state_dir, name)
            key = (name, client_id)
            certificate = self._cert_cache.get(key)
            if certificate is None:
                certificate = pki.generate_client_certificate(certificate_path, client_id)
                self._cert_cache[key] = certificate
        elif spec:
            certificate = pki.load_certificate(spec)
        return Client(name, client_id, entry.get("roles", []), entry.get("client_secret"), certificate,
                      certificate_path, entry.get("object_id"), entry.get("federated"), bool(entry.get("public", False)),
                      entry.get("delegated"))

    def expire_all_tokens(self) -> int:
        with self._lock:
            count = len(self._live_tokens)
            self._live_tokens.clear()
        return count

    # --- discovery ----------------------------------------------------------------------
    def known_tenant(self, tenant: str) -> bool:
        return tenant.lower() in {self.tenant_id.lower(), *self.tenant_domains}

    def user_realm(self, username: str) -> dict:
        """``/common/userrealm/{upn}``: msal asks before ROPC; a seeded domain is a managed (cloud-only) one."""
        domain = username.rpartition("@")[2].lower()
        if domain in self.tenant_domains:
            return {"ver": "1.0", "account_type": "Managed", "domain_name": domain, "cloud_instance_name": "microsoftonline.com",
                    "cloud_audience_urn": "urn:federation:MicrosoftOnline"}
        return {"ver": "1.0", "account_type": "Unknown", "cloud_instance_name": "microsoftonline.com"}

    def openid_configuration(self, base: str, tenant: str) -> dict:
        if not self.known_tenant(tenant):
            raise AadError(400, "invalid_tenant", 90002, "Tenant '%s' not found. Check to make sure you have the correct tenant ID." % tenant)
        root = "%s/%s" % (base, self.tenant_id)
        return {
            "token_endpoint": root + "/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": root + "/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": root + "/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": base + "/oidc/userinfo",
            "authorization_endpoint": root + "/oauth2/v2.0/authorize",
            "device_authorization_endpoint": root + "/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": root + "/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "tid", "ver", "oid"],
            "kerberos_endpoint": root + "/kerberos",
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net",
        }

    def jwks(self) -> dict:
        numbers = self.signing_key.public_key().public_numbers()
        n = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
        e = numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")
        return {"keys": [{"kty": "RSA", "use": "sig", "kid": self.kid, "x5t": self.kid, "n": b64url(n), "e": b64url(e)}]}

    # --- token endpoint -----------------------------------------------------------------
    def token(self, base: str, tenant: str, form: dict[str, str]) -> tuple[dict, str | None]:
        """Answer a token request; returns (body, client_id). Raises AadError."""
        if not self.known_tenant(tenant):
            raise AadError(400, "invalid_request", 90002, "Tenant '%s' not found. Check to make sure you have the correct tenant ID." % tenant)
        grant = form.get("grant_type")
        if not grant:
            raise AadError(400, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
        handler = self.GRANTS.get(grant)
        if handler is None:
            raise AadError(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '%s'." % grant)
        return getattr(self, handler)(base, tenant, form)

    def token_v1(self, base: str, tenant: str, form: dict[str, str]) -> tuple[dict, str | None]:
        """The v1 endpoint (``/oauth2/token`` with ``resource``), as in exposed-apis-create-app-partners.md."""
        if not self.known_tenant(tenant):
            raise AadError(400, "invalid_request", 90002, "Tenant '%s' not found. Check to make sure you have the correct tenant ID." % tenant)
        if form.get("grant_type") not in ("client_credentials", "password"):
            raise AadError(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '%s'." % form.get("grant_type"))
        client = self._authenticate(base, tenant, form)
        resource = self._known_resource((form.get("resource") or "").rstrip("/"))
        if form["grant_type"] == "password":
            # The native-app doc's sample: grant_type=password with resource=...; v1 grants every consented permission.
            user = self._user(form)
            token = self.issue_delegated(client.client_id, client.name, user.upn, user.object_id, user.display_name, resource,
                                         self._consented(client, resource, None))
        else:
            token = self.issue(client, resource)
        claims = jwt_split(token["access_token"])[1]
        # v1 answers carry the numbers as strings, plus expires_on/not_before/resource.
        return {"token_type": "Bearer", "expires_in": str(token["expires_in"]), "ext_expires_in": str(token["ext_expires_in"]),
                "expires_on": str(claims["exp"]), "not_before": str(claims["nbf"]), "resource": claims["aud"],
                "access_token": token["access_token"]}, client.client_id

    def _known_resource(self, resource: str) -> str:
        known = {r.lower(): r for r in DEFENDER_RESOURCES + FOREIGN_RESOURCES}
        if resource.lower() not in known:
            raise AadError(400, "invalid_resource", 500011, "The resource principal named %s was not found in the tenant named %s."
                           % (resource, self.tenant_id))
        return known[resource.lower()]

    # --- delegated (user) tokens ----------------------------------------------------------------
    def _grant_password(self, base: str, tenant: str, form: dict[str, str]) -> tuple[dict, str | None]:
        """ROPC on the v2 endpoint: ``scope`` of ``<resource>/<permission>`` (or ``/.default``) plus OIDC scopes."""
        client = self._authenticate(base, tenant, form)
        user = self._user(form)
        requested = (form.get("scope") or "").split()
        oidc = [s for s in requested if s in OIDC_SCOPES]
        resource, permissions = self._delegated_scope([s for s in requested if s not in OIDC_SCOPES], form.get("scope"))
        scp = self._consented(client, resource, permissions)
        token = self.issue_delegated(client.client_id, client.name, user.upn, user.object_id, user.display_name, resource, scp)
        token["scope"] = " ".join(["%s/%s" % (resource, p) for p in scp] + oidc)
        if "openid" in oidc:
            token["id_token"] = self._id_token(base, client.client_id, user)
        if form.get("client_info") == "1":
            token["client_info"] = b64url(json.dumps({"uid": user.object_id, "utid": self.tenant_id}).encode())
        return token, client.client_id

    def _user(self, form: dict[str, str]) -> User:
        for key in ("username", "password"):
            if not form.get(key):
                raise AadError(400, "invalid_request", 900144, "The request body must contain the following parameter: '%s'." % key)
        user = self.users.get(form["username"].lower())
        if user is None:
            raise AadError(400, "invalid_grant", 50034, "The user account {EUII Hidden} does not exist in the %s directory. To sign into "
                           "this application, the account must be added to the directory." % self.tenant_id)
        if not secrets.compare_digest(form["password"], user.password):
            raise AadError(400, "invalid_grant", 50126, "Error validating credentials due to invalid username or password.")
        return user

    def _delegated_scope(self, scopes: list[str], raw: str | None) -> tuple[str, list[str] | None]:
        """(resource, permission names or None for /.default) of the non-OIDC scopes of one resource."""
        if not scopes:
            raise AadError(400, "invalid_scope", 70011, "The provided value for the input parameter 'scope' is not valid. The scope '%s' "
                           "names no resource." % (raw or ""))
        split = [s.rsplit("/", 1) if "/" in s.replace("://", "") else [s, ""] for s in scopes]
        resources = {r.rstrip("/").lower() for r, _p in split}
        if len(resources) > 1:
            raise AadError(400, "invalid_scope", 28000, "Provided value for the input parameter scope is not valid because it contains "
                           "more than one resource. Scope %s is not valid." % raw)
        resource = self._known_resource(split[0][0].rstrip("/"))
        permissions = [p for _r, p in split]
        if ".default" in permissions:
            if len(permissions) > 1:
                raise AadError(400, "invalid_scope", 70011, "The provided value for the input parameter 'scope' is not valid. The scope "
                               "%s is not valid: .default cannot be combined with other scopes." % raw)
            return resource, None
        if "" in permissions:
            raise AadError(400, "invalid_scope", 70011, "The provided value for the input parameter 'scope' is not valid. The scope %s "
                           "is not valid." % raw)
        return resource, permissions

    def _consented(self, client: Client, resource: str, permissions: list[str] | None) -> list[str]:
        """The scp of a user token: what was asked (all for /.default), if consented for the client on Defender."""
        if resource not in DEFENDER_RESOURCES:
            return permissions or ["user_impersonation"]  # another API: its own consent is not emulated
        granted = client.delegated if permissions is None else permissions
        missing = [p for p in granted if p not in client.delegated]
        if missing or not granted:
            raise AadError(400, "invalid_grant", 65001, "The user or administrator has not consented to use the application with ID "
                           "'%s' named '%s'. Send an interactive authorization request for this user and resource."
                           % (client.client_id, client.name))
        return list(granted)

    def issue_delegated(self, app_id: str, app_name: str, upn: str, object_id: str, display_name: str, resource: str,
                        scp: list[str]) -> dict:
        """A user access token: ``scp`` (space-separated delegated permissions), ``upn``/``oid``, no ``roles``."""
        now = self.clock.now()
        uti = b64url(uuid.uuid4().bytes)
        claims = {
            "aud": resource, "iss": "https://sts.windows.net/%s/" % self.tenant_id,
            "iat": int(now), "nbf": int(now), "exp": int(now) + int(self.token_lifetime),
            "acr": "1", "aio": b64url(hashlib.sha256(uti.encode()).digest()[:24]), "amr": ["pwd"],
            "app_displayname": app_name, "appid": app_id, "appidacr": "0", "idtyp": "user", "name": display_name,
            "oid": object_id, "rh": "0.emulator.", "scp": " ".join(scp), "sub": b64url(hashlib.sha256((object_id + app_id).encode()).digest()),
            "tid": self.tenant_id, "unique_name": upn, "upn": upn, "uti": uti, "ver": "1.0",
        }
        return self._token_answer(claims)

    def mint_delegated_token(self, spec: dict) -> dict:
        """``POST /_emulator/tokens/delegated``: a user token with any ``scp``, without a sign-in (test-only)."""
        scp = spec.get("scp")
        if isinstance(scp, str):
            scp = scp.split()
        if not isinstance(scp, list) or not all(isinstance(s, str) and s for s in scp):
            raise ValueError("scp must be a space-separated string or a list of delegated permission names")
        upn = spec.get("upn")
        if not isinstance(upn, str) or "@" not in upn:
            raise ValueError("upn must be a user principal name such as analyst@contoso.onmicrosoft.com")
        user = self.users.get(upn.lower())
        aud = spec.get("aud", DEFENDER_RESOURCES[0])
        if not isinstance(aud, str) or not aud:
            raise ValueError("aud must be a resource URI")
        client = self.clients.get(str(spec.get("client_id", ""))) or next((c for c in self.clients.values() if c.public), None)
        app_id = client.client_id if client else str(spec.get("client_id") or uuid.uuid5(uuid.NAMESPACE_URL, "mde-emulator-native"))
        token = self.issue_delegated(app_id, client.name if client else "native", upn,
                                     spec.get("oid") or (user.object_id if user else user_object_id(upn)),
                                     user.display_name if user else upn.split("@")[0], aud.rstrip("/"), scp)
        return {"access_token": token["access_token"], "token_type": "Bearer", "expires_in": token["expires_in"]}

    def _id_token(self, base: str, client_id: str, user: User) -> str:
        # The client checks an id_token with its own clock: real times, as for client assertions.
        now = int(time.time())
        claims = {"aud": client_id, "iss": "%s/%s/v2.0" % (base, self.tenant_id), "iat": now, "nbf": now, "exp": now + 3600,
                  "name": user.display_name, "oid": user.object_id, "preferred_username": user.upn, "sub": user.object_id,
                  "tid": self.tenant_id, "ver": "2.0"}
        return self._sign(claims)

    def _grant_client_credentials(self, base: str, tenant: str, form: dict[str, str]) -> tuple[dict, str | None]:
        client = self._authenticate(base, tenant, form)
        resource = self._resource_from_scope(form.get("scope"))
        return self.issue(client, resource), client.client_id

    def _authenticate(self, base: str, tenant: str, form: dict[str, str]) -> Client:
        client_id = form.get("client_id")
        if not client_id and form.get("client_assertion"):
            try:
                client_id = jwt_split(form["client_assertion"])[1].get("iss")
            except ValueError:
                client_id = None
        if not client_id:
            raise AadError(400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
        client = self.clients.get(client_id)
        if client is None:
            # Entra answers an unknown application with 400 unauthorized_client (AADSTS700016).
            raise AadError(400, "unauthorized_client", 700016,
                           "Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has "
                           "not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have "
                           "sent your authentication request to the wrong tenant." % (client_id, self.tenant_id))
        for name in self.AUTHENTICATORS:
            result = getattr(self, name)(base, tenant, client, form)
            if result is not None:
                return result
        raise AadError(401, "invalid_client", 7000218,
                       "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")

    def _auth_secret(self, base: str, tenant: str, client: Client, form: dict[str, str]) -> Client | None:
        del base, tenant
        if "client_secret" not in form:
            return None
        if client.secret is None or form["client_secret"] != client.secret:
            raise AadError(401, "invalid_client", 7000215,
                           "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, "
                           "not the client secret ID, for a secret added to app '%s'." % client.client_id)
        return client

    @staticmethod
    def _auth_public_client(base: str, tenant: str, client: Client, form: dict[str, str]) -> Client | None:
        """A public client (native app) signs a user in without a credential of its own; never for client credentials."""
        del base, tenant
        return client if client.public and form.get("grant_type") == "password" else None

    def _auth_certificate_assertion(self, base: str, tenant: str, client: Client, form: dict[str, str]) -> Client | None:
        if "client_assertion" not in form:
            return None
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise AadError(400, "invalid_request", 50027, "Invalid client_assertion_type: expected '%s'." % ASSERTION_TYPE)
        try:
            header, claims, signing_input, signature = jwt_split(form["client_assertion"])
        except ValueError:
            raise AadError(401, "invalid_client", 50027, "JWT token is invalid or is malformed.") from None
        cert = client.certificate
        if cert is None:
            raise AadError(401, "invalid_client", 700027, "The certificate with identifier used to sign the client assertion is not "
                           "registered on application. [Reason - The key was not found.]")
        if not _thumbprint_matches(header, cert):
            raise AadError(401, "invalid_client", 700027, "The certificate with identifier used to sign the client assertion is not "
                           "registered on application. [Reason - The key was not found., Thumbprint of key used by client: '%s']"
                           % (header.get("x5t") or header.get("x5t#S256")))
        if not verify_rsa(cert.public_key(), header.get("alg", ""), signing_input, signature):
            raise AadError(401, "invalid_client", 700027, "Client assertion failed signature validation.")
        if claims.get("iss") != client.client_id or claims.get("sub") != client.client_id:
            raise AadError(401, "invalid_client", 700021, "Client assertion application identifier doesn't match 'client_id' parameter.")
        allowed_aud = {"%s/%s/oauth2/v2.0/token" % (base, t) for t in (tenant, self.tenant_id)}
        allowed_aud |= {"%s/%s/oauth2/token" % (base, t) for t in (tenant, self.tenant_id)}
        if claims.get("aud") not in allowed_aud:
            raise AadError(401, "invalid_client", 700024, "Client assertion audience claim does not match Realm issuer.")
        now = time.time()
        try:
            exp = float(claims["exp"])
            nbf = float(claims.get("nbf", claims.get("iat", now)))
        except (KeyError, TypeError, ValueError):
            raise AadError(401, "invalid_client", 50027, "JWT token is invalid or is malformed.") from None
        if exp < now - ASSERTION_SKEW_SECONDS or nbf > now + ASSERTION_SKEW_SECONDS:
            raise AadError(401, "invalid_client", 700024, "Client assertion is not within its valid time range.")
        return client

    def _auth_federated_assertion(self, base: str, tenant: str, client: Client, form: dict[str, str]) -> Client | None:
        """Workload identity federation: an assertion issued by a trusted OIDC issuer, not by the app itself."""
        del base, tenant
        if "client_assertion" not in form:
            return None
        try:
            header, claims, signing_input, signature = jwt_split(form["client_assertion"])
        except ValueError:
            return None  # the certificate authenticator gives the "malformed" answer
        issuer = claims.get("iss")
        if not client.federated or issuer == client.client_id:
            return None  # a certificate assertion is issued by the app (iss = sub = client_id)
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise AadError(400, "invalid_request", 50027, "Invalid client_assertion_type: expected '%s'." % ASSERTION_TYPE)
        subject, audiences = claims.get("sub"), claims.get("aud")
        audiences = audiences if isinstance(audiences, list) else [audiences]
        records = [r for r in client.federated if r["issuer"] == issuer and r["subject"] == subject]
        if not records:
            raise AadError(400, "invalid_client", 70021, "No matching federated identity record found for presented assertion. "
                           "Assertion Issuer: '%s'. Assertion Subject: '%s'. Assertion Audience: '%s'."
                           % (issuer, subject, ",".join(str(a) for a in audiences)))
        if not set(audiences) & set(records[0]["audiences"]):
            raise AadError(400, "invalid_client", 700212, "No matching federated identity record found for presented assertion "
                           "audience '%s'." % ",".join(str(a) for a in audiences))
        key = self.issuer_keys.get(issuer)
        if key is None or not verify_rsa(key.public_key(), header.get("alg", ""), signing_input, signature):
            raise AadError(401, "invalid_client", 700027, "Client assertion failed signature validation.")
        now = time.time()
        try:
            exp = float(claims["exp"])
            nbf = float(claims.get("nbf", claims.get("iat", now)))
        except (KeyError, TypeError, ValueError):
            raise AadError(401, "invalid_client", 50027, "JWT token is invalid or is malformed.") from None
        if exp < now - ASSERTION_SKEW_SECONDS or nbf > now + ASSERTION_SKEW_SECONDS:
            raise AadError(401, "invalid_client", 700024, "Client assertion is not within its valid time range. Current time: %s, "
                           "assertion valid from %s, expiry time of assertion %s." % (_utc(now), _utc(nbf), _utc(exp)))
        return client

    def mint_federated_token(self, subject: str | None = None, issuer: str | None = None, audience: str = FEDERATION_AUDIENCE,
                             lifetime: float = 3600) -> dict:
        """A federated token as an external issuer would sign it (the AKS OIDC issuer, for example).

        Test-only: the emulator holds the issuers' keys instead of fetching their JWKS. Times are real
        (the kubelet's clock); a negative lifetime gives a token that expired that long ago.
        """
        records = [r for c in self.clients.values() for r in c.federated]
        if not records and (issuer is None or subject is None):
            raise ValueError("no client of the seed has a federated credential: give issuer and subject")
        issuer = issuer or records[0]["issuer"]
        # By default the subject a record of this issuer trusts (else the first one: the "wrong issuer" case).
        subject = subject or next((r["subject"] for r in records if r["issuer"] == issuer), records[0]["subject"])
        key = self.issuer_keys.get(issuer)
        if key is None:  # an issuer no app trusts (the "wrong issuer" case): any key will do
            key = self.issuer_keys.setdefault(issuer, pki.new_key())
        now = int(time.time())
        exp = now + int(lifetime)
        iat = min(now, exp - 3600)
        claims = {"aud": [audience], "iss": issuer, "sub": subject, "iat": iat, "nbf": iat, "exp": exp,
                  "kubernetes.io": {"namespace": subject.split(":")[2] if subject.count(":") >= 3 else None}}
        header = {"alg": "RS256", "typ": "JWT", "kid": b64url(hashlib.sha256(issuer.encode()).digest()[:16])}
        signing_input = b64url(json.dumps(header, separators=(",", ":")).encode()) + "." + \
            b64url(json.dumps(claims, separators=(",", ":")).encode())
        signature = key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        return {"token": signing_input + "." + b64url(signature), "issuer": issuer, "subject": subject, "audience": audience,
                "expires_on": exp}

    # --- managed identity (App Service / Functions endpoint, 2019-08-01) ------------------------
    def managed_identity_token(self, params: dict[str, str], identity_header: str | None) -> tuple[dict, ManagedIdentity]:
        """Answer ``GET /msi/token``; raises MsiError."""
        if not identity_header or not secrets.compare_digest(identity_header, self.identity_header):
            raise MsiError(401, "invalid_identity_header", "The X-IDENTITY-HEADER header is missing or does not match the "
                           "IDENTITY_HEADER of this app.")
        if params.get("api-version") != MSI_API_VERSION:
            raise MsiError(400, "unsupported_api_version", "The api-version '%s' is not supported: use %s."
                           % (params.get("api-version"), MSI_API_VERSION))
        resource = (params.get("resource") or "").rstrip("/")
        known = {r.lower(): r for r in DEFENDER_RESOURCES + FOREIGN_RESOURCES}
        if resource.lower() not in known:
            raise MsiError(400, "invalid_resource", "AADSTS500011: The resource principal named %s was not found in the "
                           "tenant named %s." % (resource or "''", self.tenant_id))
        identity = self._managed_identity(params)
        token = self.issue(identity, known[resource.lower()])
        # expires_on is real epoch seconds (the client computes expires_in from it), like expires_in elsewhere.
        return {"access_token": token["access_token"], "expires_on": str(int(time.time()) + token["expires_in"]),
                "resource": known[resource.lower()], "token_type": "Bearer", "client_id": identity.client_id}, identity

    def _managed_identity(self, params: dict[str, str]) -> ManagedIdentity:
        if params.get("mi_res_id"):
            raise MsiError(400, "identity_not_found", "Unable to load the proper Managed Identity. (mi_res_id is not "
                           "emulated: use client_id or principal_id)")
        with self._lock:
            identities = list(self.managed_identities.values())
        wanted_client = (params.get("client_id") or "").lower()
        wanted_object = (params.get("principal_id") or params.get("object_id") or "").lower()
        for identity in identities:
            if wanted_client and identity.kind == "user" and identity.client_id.lower() == wanted_client:
                return identity
            if wanted_object and identity.kind == "user" and identity.object_id.lower() == wanted_object:
                return identity
            if not wanted_client and not wanted_object and identity.kind == "system":
                return identity
        raise MsiError(400, "identity_not_found", "Unable to load the proper Managed Identity.")

    @staticmethod
    def _resource_from_scope(scope: str | None) -> str:
        if not scope:
            raise AadError(400, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
        scopes = scope.split()
        if len(scopes) != 1 or not scopes[0].endswith("/.default"):
            raise AadError(400, "invalid_scope", 70011, "The provided request must include a 'scope' input parameter. The provided value for "
                           "the input parameter 'scope' is not valid. The scope %s is not valid." % scope)
        resource = scopes[0][:-len("/.default")]
        known = {r.lower(): r for r in DEFENDER_RESOURCES + FOREIGN_RESOURCES}
        if resource.lower() not in known:
            raise AadError(400, "invalid_scope", 70011, "The provided value for the input parameter 'scope' is not valid. The scope %s is not "
                           "valid. [Reason - The resource principal named %s was not found in the tenant.]" % (scope, resource))
        return known[resource.lower()]

    def issue(self, client: Client, resource: str) -> dict:
        now = self.clock.now()
        lifetime = int(self.token_lifetime)
        uti = b64url(uuid.uuid4().bytes)
        claims = {
            "aud": resource,
            "iss": "https://sts.windows.net/%s/" % self.tenant_id,
            "iat": int(now),
            "nbf": int(now),
            "exp": int(now) + lifetime,
            "aio": b64url(hashlib.sha256(uti.encode()).digest()[:24]),
            "app_displayname": client.name,
            "appid": client.client_id,
            "appidacr": "2" if client.certificate is not None or isinstance(client, ManagedIdentity) else "1",
            "idp": "https://sts.windows.net/%s/" % self.tenant_id,
            "idtyp": "app",
            "oid": client.object_id,
            "rh": "0.emulator.",
            "roles": client.roles,
            "sub": client.object_id,
            "tid": self.tenant_id,
            "uti": uti,
            "ver": "1.0",
        }
        return self._token_answer(claims)

    def _sign(self, claims: dict) -> str:
        header = {"typ": "JWT", "alg": "RS256", "x5t": self.kid, "kid": self.kid}
        signing_input = b64url(json.dumps(header, separators=(",", ":")).encode()) + "." + \
            b64url(json.dumps(claims, separators=(",", ":")).encode())
        signature = self.signing_key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + b64url(signature)

    def _token_answer(self, claims: dict) -> dict:
        """Sign an access token, remember it as live (tokens/expire, reset) and answer as the token endpoint."""
        access_token = self._sign(claims)
        with self._lock:
            self._live_tokens.add(claims["uti"])
        # expires_in is in real seconds, like Retry-After, so clients refresh on time at any scale.
        real_lifetime = max(1, int(self.clock.to_real(claims["exp"] - claims["iat"])))
        return {"token_type": "Bearer", "expires_in": real_lifetime, "ext_expires_in": real_lifetime, "access_token": access_token}

    # --- API side -----------------------------------------------------------------------
    def check_bearer(self, authorization: str | None) -> dict:
        """Claims of a valid access token (signature, issuer, lifetime); raises ApiError 401 otherwise.

        The audience is not checked here: a token for another resource is a 403 of the API
        (microsoft-365-docs #9246), decided with the permissions.
        """
        if not authorization:
            raise unauthorized("Authorization header is missing")
        scheme, _sep, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized("Authorization header is malformed: expected 'Bearer <token>'")
        try:
            header, claims, signing_input, signature = jwt_split(token.strip())
        except (ValueError, UnicodeDecodeError):
            raise unauthorized("Access token is malformed") from None
        if header.get("alg") != "RS256" or not verify_rsa(self.signing_key.public_key(), "RS256", signing_input, signature):
            raise unauthorized("Access token signature is invalid")
        if claims.get("tid") != self.tenant_id or claims.get("iss") != "https://sts.windows.net/%s/" % self.tenant_id:
            raise unauthorized("Access token issuer is invalid")
        now = self.clock.now()
        with self._lock:
            live = claims.get("uti") in self._live_tokens
        if not live or float(claims.get("exp", 0)) <= now:
            raise unauthorized("Access token has expired")
        if float(claims.get("nbf", 0)) > now + 300:
            raise unauthorized("Access token is not yet valid")
        return claims


def _utc(seconds: float) -> str:
    return time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime(seconds))


def _thumbprint_matches(header: dict, cert: x509.Certificate) -> bool:
    """``x5t`` (SHA-1) or ``x5t#S256`` must name the registered certificate."""
    checks = (("x5t", pki.sha1_thumbprint(cert)), ("x5t#S256", pki.sha256_thumbprint(cert)))
    present = False
    for name, hex_value in checks:
        if name in header:
            present = True
            try:
                if b64url_decode(str(header[name])) != bytes.fromhex(hex_value):
                    return False
            except ValueError:
                return False
    return present


def parse_form(body: bytes) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
