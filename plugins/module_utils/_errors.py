# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one error type of the client, and what each MDE error code means for the person reading it."""

from __future__ import annotations

import errno
import re
from urllib.parse import urlsplit

# Cause and fix per MDE error.code (common-errors.md; Forbidden per microsoft-365-docs issue #6055).
ERROR_HINTS = {
    # Microsoft's live pages (Nov 2025+) list Machine.ReadWrite.All, not Read.All, for machine actions, files/{id}/machines
    # and stop and quarantine; Read.All is still accepted, but ReadWrite.All is the one to grant.
    "Forbidden": "The app registration lacks an application permission (API permissions > WindowsDefenderATP, then "
                 "grant admin consent). Stop and quarantine needs Machine.StopAndQuarantine AND Machine.ReadWrite.All; "
                 "reading machine actions needs Machine.ReadWrite.All (Machine.Read.All is still accepted). A token "
                 "for another resource also gets 403: check scope and cloud.",
    "DisabledFeature": "The tenant's plan does not include this action: Microsoft Defender for Business has no "
                       "'Stop and quarantine file'; it needs Defender for Endpoint Plan 1 or 2.",
    "DisallowedOperation": "Defender refused the operation for the reason given; check device group (RBAC) scope.",
    "OsPlatformNotSupported": "Stop and quarantine runs on Windows 10 1703 or later, Windows 11 and Windows Server "
                              "2012 R2 or later only.",
    "ClientVersionNotSupported": "Update the Defender client on the device.",
    "ActiveRequestAlreadyExists": "An action of this kind is already pending on the device; wait for it or cancel it.",
    "InvalidHashValue": "The value is not a valid SHA-1.",
    "MissingRequiredParameter": "The request body is incomplete (body keys are case-sensitive).",
    "InvalidRequestBody": "The request body was rejected (body keys are case-sensitive).",
    "TooManyRequests": "The API allows 100 calls per minute and 1,500 per hour per API and app; lower the "
                       "rate (calls_per_minute) or spread the work.",
    "Unauthorized": "The token is missing, invalid or expired, or was issued for another cloud or resource.",
    "invalid_client": "Check client_id and the credential registered on the app: client secret, certificate, or "
                      "federated credential (issuer, subject and audience of the federated token).",
    "unauthorized_client": "The application was not found in the tenant: check tenant_id and client_id.",
    "invalid_scope": "The token scope does not match the cloud; check cloud or scope.",
    "invalid_tenant": "Copy the Directory (tenant) ID from the app registration's Overview page. A tenant of another "
                      "cloud (GCC High, DoD) is unknown to the commercial login host: set cloud to match it.",
    "invalid_request": "Entra ID refused the request as malformed: check tenant_id (a GUID or a verified domain) and scope.",
    "InvalidAuthority": "authority_url must be the login host of the tenant's cloud (e.g. https://login.microsoftonline.com), "
                        "without the tenant id: the tenant id is appended.",
    "TokenCacheError": "token_cache_path must be a file in a directory the automation user can write; the directory is "
                       "created (mode 0700) when it is missing.",
    "ConnectionRefused": "Nothing listens at that address, or a firewall rejects the connection: check the URL's host "
                         "and port, and proxy (or HTTPS_PROXY / NO_PROXY).",
    "NameResolutionError": "Check the host name for typos, and DNS on the control node; behind a proxy set proxy so that "
                           "the proxy resolves it.",
    "Timeout": "The host did not answer in time: check network and proxy, or raise timeout.",
    "ProxyError": "The proxy could not be reached or refused the connection: check proxy (or HTTPS_PROXY).",
    "TLSError": "Set ca_path to the CA bundle that signed the server certificate (validate_certs: false only for tests).",
}


class DefenderError(Exception):
    """A failed call: HTTP status, MDE error.code, message and target (the request id support asks for)."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None, target: str | None = None,
                 method: str | None = None, path: str | None = None, extra_hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.target = target
        self.method = method
        self.path = path
        # What this one failure adds to the code's hint (e.g. the token's audience on a 403); shown after it.
        self.extra_hint = extra_hint

    @property
    def hint(self) -> str | None:
        if self.code == "ResourceNotFound" and "not found in machine" in (self.message or "").lower():
            return "Defender has not seen this file on the device (only files observed in the last 30 days can be quarantined)."
        if self.code == "ResourceNotFound" and "/machineactions" in (self.path or ""):
            return "Check the machine action id: no action with this id exists in the tenant."
        if self.code == "ResourceNotFound" and "/indicators" in (self.path or ""):
            return "Check the indicator id: it was deleted or never existed."
        if self.code == "ResourceNotFound" and "/alerts" in (self.path or ""):
            return "Check the alert id: no alert with this id exists in the tenant, or it is past the retention period."
        if self.code == "ResourceNotFound":
            return "Check the id: the device is unknown, outside the app's device groups or past the retention period."
        return ERROR_HINTS.get(self.code or "")

    def __str__(self) -> str:
        where = f"{self.method} {self.path}: " if self.method and self.path else ""
        details = ", ".join(part for part in (
            f"HTTP {self.status}" if self.status else "",
            f"code {self.code}" if self.code else "",
            f"request id {self.target}" if self.target else "",
        ) if part)
        text = f"{where}{self.message}" + (f" ({details})" if details else "")
        hints = " ".join(_sentence(hint) for hint in (self.hint, self.extra_hint) if hint)
        return f"{text}. {hints}" if hints else text


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else text + "."


class AmbiguousRequestError(DefenderError):
    """A write whose outcome is unknown (5xx, timeout, connection reset): it may have been carried out."""


class MissingLibraryError(Exception):
    """A Python library needed for this call is not installed."""

    def __init__(self, library: str, exception: str) -> None:
        super().__init__(library)
        self.library = library
        self.exception = exception


# requests wraps urllib3's exceptions, which wrap the socket's: the text that reaches us reads
#   HTTPSConnectionPool(host='h', port=443): Max retries exceeded with url: /p (Caused by NewConnectionError(
#   "HTTPSConnection(host='h', port=443): Failed to establish a new connection: [Errno 111] Connection refused"))
# Only the end of it says what happened.
_CAUSED_BY = re.compile(r"\(Caused by (\w+)\((.*)\)\)\s*$", re.DOTALL)
_SSL_REASON = re.compile(r"\[SSL(?:: [A-Z0-9_]+)?\].*", re.DOTALL)
_SSL_LOCATION = re.compile(r"\s*\(_ssl\.c:\d+\)")
_POOL_PREFIX = re.compile(r"^\w*Connection(?:Pool)?\(host=[^)]*\):\s*")
_ERRNO = re.compile(r"\[Errno -?\d+\]\s*")
_WRAPPED = re.compile(r"^\w+\((['\"].*['\"])\)$", re.DOTALL)
_ABORTED = re.compile(r"^\('Connection aborted\.', (\w+)\((.*)\)\)$", re.DOTALL)
_OS_ERROR_ARGS = re.compile(r"^-?\d+, ['\"](.*)['\"]$", re.DOTALL)
_TIMEOUT_SECONDS = re.compile(r"timeout=(\d+(?:\.\d+)?)")
_HOST_PORT = re.compile(r"host='([^']*)', port=(\d+)")
REASON_LIMIT = 300


def _unquote(text: str) -> str:
    text = text.strip()
    while len(text) > 1 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1].strip()
    return text


def _shorten(text: str, limit: int) -> str:
    """Cut at a word boundary, never inside a word, and say so with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",;:(")
    return (cut or text[:limit]) + "…"


def _ssl_reason(text: str) -> str | None:
    match = _SSL_REASON.search(text) or re.search(r"certificate verify failed.*", text, re.DOTALL)
    if not match:
        return None
    reason = _SSL_LOCATION.split(match.group(0), 1)[0]
    return reason.rstrip(" '\")")


def _connection_reason(text: str) -> str:
    """"HTTPSConnection(host='h', port=443): Failed to establish a new connection: [Errno 111] Connection refused"
    -> "Connection refused"."""
    wrapped = _WRAPPED.match(text)
    text = _unquote(wrapped.group(1)) if wrapped else _unquote(text)
    text = _POOL_PREFIX.sub("", text)
    if text.startswith("Failed to establish a new connection: "):
        text = text[len("Failed to establish a new connection: "):]
    return _ERRNO.sub("", text)


def short_reason(exc: Exception, limit: int = REASON_LIMIT) -> str:
    """The telling part of a requests/urllib3 exception text: the [SSL: ...] reason, else the reason after urllib3's
    "Caused by ..." wrapper without the connection's repr, the errno text instead of "[Errno 111]"; at most `limit`
    characters, cut between words."""
    text = str(exc)
    reason = _ssl_reason(text)
    if reason is None:
        caused = _CAUSED_BY.search(text)
        inner = _unquote(caused.group(2)) if caused else text
        aborted = _ABORTED.match(inner)
        if caused and caused.group(1) == "ProxyError":
            # ProxyError('Unable to connect to proxy', NewConnectionError("...: [Errno 111] Connection refused"))
            what, why = (inner.split(", ", 1) + [""])[:2]
            reason = f"{_unquote(what)}: {_connection_reason(why)}" if why else _unquote(what)
        elif aborted:
            # ('Connection aborted.', ConnectionResetError(104, 'Connection reset by peer'))
            detail = _OS_ERROR_ARGS.match(aborted.group(2))
            reason = f"Connection aborted: {detail.group(1) if detail else _unquote(aborted.group(2)) or aborted.group(1)}"
        else:
            reason = _connection_reason(inner)
    return _shorten(reason or exc.__class__.__name__, limit)


def tls_error(exc: Exception, host: str, **where) -> DefenderError:
    """A certificate problem, said so, with what is wrong."""
    return DefenderError(f"TLS verification failed for {host}: {short_reason(exc)}", code="TLSError", **where)


def _is_a(exc: Exception, *names: str) -> bool:
    """isinstance by class name: requests is optional for this module (the import sanity test runs without it)."""
    return any(cls.__name__ in names for cls in type(exc).__mro__)


def endpoint_of(url: str) -> str:
    """host:port of a URL, the port spelled out (443 for https) so that a refused port is plain to see."""
    parts = urlsplit(url or "")
    host = parts.hostname or url or "?"
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    port = port or {"https": 443, "http": 80}.get(parts.scheme)
    return f"{host}:{port}" if port else host


def _connection_kind(exc: Exception, text: str) -> str:
    if _is_a(exc, "Timeout", "TimeoutError", "ConnectTimeoutError", "ReadTimeoutError", "timeout"):
        return "Timeout"
    if _is_a(exc, "SSLError"):
        return "TLSError"
    if _is_a(exc, "ProxyError"):
        return "ProxyError"
    unresolved = ("NameResolutionError", "gaierror", "Name or service not known", "Temporary failure in name resolution",
                  "nodename nor servname")
    if any(marker in text for marker in unresolved):
        return "NameResolutionError"
    if "ConnectionRefusedError" in text or "Connection refused" in text or f"[Errno {errno.ECONNREFUSED}]" in text:
        return "ConnectionRefused"
    return "ConnectionError"


def connection_error(exc: Exception, url: str, option: str, method: str | None = None,
                     path: str | None = None) -> DefenderError:
    """What went wrong on the way to `url`, said plainly, with the option to check.

    `option` is the option that holds the host (authority_url for sign-in, api_url for API calls); proxy is always
    named as well. With `path` (API calls) the error carries method and path, which str() shows in front, so the
    URL is not repeated in the message. Codes: ConnectionRefused, NameResolutionError, Timeout, ProxyError, TLSError,
    ConnectionError.
    """
    text = str(exc)
    kind = _connection_kind(exc, text)
    endpoint = endpoint_of(url)
    where = {"method": method, "path": path} if path else {}
    if kind == "TLSError":
        return tls_error(exc, endpoint, **where)
    call = "" if path else f" ({method + ' ' if method else ''}{url})"
    check = f"check {option} and proxy"
    if kind == "Timeout":
        seconds = _TIMEOUT_SECONDS.search(text)
        after = f" after {float(seconds.group(1)):g} s" if seconds else ""
        if _is_a(exc, "ConnectTimeout") or "connect timeout" in text:
            message = f"Timed out{after} connecting to {endpoint}{call}: {check}, or raise timeout"
        else:
            message = f"Timed out{after} waiting for {endpoint} to answer{call}: raise timeout, or {check}"
    elif kind == "ProxyError":
        proxy = _HOST_PORT.findall(text)
        proxy = f" {proxy[-1][0]}:{proxy[-1][1]}" if proxy else ""
        message = f"Cannot reach {endpoint} through the proxy{proxy}{call}: {short_reason(exc)}; check proxy"
    elif kind == "NameResolutionError":
        message = f"The host name {urlsplit(url or '').hostname or endpoint} could not be resolved{call}: {check}"
    elif kind == "ConnectionRefused":
        message = f"Connection refused by {endpoint}{call}: {check}"
    else:
        message = f"Connection to {endpoint} failed{call}: {short_reason(exc)}; {check}"
    return DefenderError(message, code=kind, **where)
