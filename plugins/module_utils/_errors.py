# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one error type of the client, and what each MDE error code means for the person reading it."""

from __future__ import annotations

import re

# Cause and fix per MDE error.code (common-errors.md; Forbidden per microsoft-365-docs issue #6055).
ERROR_HINTS = {
    "Forbidden": "The app registration lacks an application permission (API permissions > WindowsDefenderATP, then "
                 "grant admin consent). Stop and quarantine needs Machine.StopAndQuarantine AND Machine.Read.All "
                 "(or Machine.ReadWrite.All).",
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
    "TLSError": "Set ca_path to the CA bundle that signed the server certificate (validate_certs: false only for tests).",
}


class DefenderError(Exception):
    """A failed call: HTTP status, MDE error.code, message and target (the request id support asks for)."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None, target: str | None = None,
                 method: str | None = None, path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.target = target
        self.method = method
        self.path = path

    @property
    def hint(self) -> str | None:
        if self.code == "ResourceNotFound" and "not found in machine" in (self.message or "").lower():
            return "Defender has not seen this file on the device (only files observed in the last 30 days can be quarantined)."
        if self.code == "ResourceNotFound" and "/machineactions" in (self.path or ""):
            return "Check the machine action id: no action with this id exists in the tenant."
        if self.code == "ResourceNotFound" and "/indicators" in (self.path or ""):
            return "Check the indicator id: it was deleted or never existed."
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
        return f"{text}. {self.hint}" if self.hint else text


class AmbiguousRequestError(DefenderError):
    """A write whose outcome is unknown (5xx, timeout, connection reset): it may have been carried out."""


class MissingLibraryError(Exception):
    """A Python library needed for this call is not installed."""

    def __init__(self, library: str, exception: str) -> None:
        super().__init__(library)
        self.library = library
        self.exception = exception


def short_reason(exc: Exception) -> str:
    """The telling part of a requests/urllib3 exception text (the [SSL: ...] reason when there is one)."""
    text = str(exc)
    match = re.search(r"\[SSL[^\]]*\][^')\"]*", text) or re.search(r"(certificate verify failed[^')\"]*)", text)
    return (match.group(0) if match else text)[:300]


def tls_error(exc: Exception, host: str, **where) -> DefenderError:
    """A certificate problem, said so, with what is wrong."""
    return DefenderError(f"TLS verification failed for {host}: {short_reason(exc)}", code="TLSError", **where)
