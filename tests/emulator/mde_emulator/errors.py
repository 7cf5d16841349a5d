# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Error bodies of the MDE API and of Entra ID (AADSTS)."""

from __future__ import annotations

import datetime
import uuid


class ApiError(Exception):
    """An MDE API error: ``{"error": {"code", "message", "target"}}``."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self, target: str) -> dict:
        return api_error_body(self.code, self.message, target)


class ODataQueryError(ApiError):
    """An invalid OData query option, answered in the ASP.NET OData shape, not in the MDE one.

    microsoft-365-docs #12682 shows the real body for ``$stop``: ``{"error": {"code": "", "message":
    "The query specified in the URI is not valid. Custom query option '$stop' that starts with '$' is
    not supported.", "details": []}}``: an empty code and no ``target``. common-errors.md lists an
    ``ODataError`` code, but the service does not send it.
    """

    PREFIX = "The query specified in the URI is not valid. "

    def __init__(self, detail: str) -> None:
        super().__init__(400, "", self.PREFIX + detail)

    def body(self, target: str) -> dict:
        del target  # the OData layer answers before MDE adds its correlation id
        return {"error": {"code": "", "message": self.message, "details": []}}


def new_guid() -> str:
    return str(uuid.uuid4())


def api_error_body(code: str, message: str, target: str) -> dict:
    return {"error": {"code": code, "message": message, "target": target}}


# Factories for the codes of common-errors.md, so the wording lives in one place.
def bad_request(message: str = "General Bad Request error message.") -> ApiError:
    return ApiError(400, "BadRequest", message)


def odata_error(detail: str) -> ApiError:
    """``detail`` is what follows "The query specified in the URI is not valid. "."""
    return ODataQueryError(detail)


def invalid_input(what: str) -> ApiError:
    return ApiError(400, "InvalidInput", "Invalid input %s." % what)


def invalid_request_body() -> ApiError:
    return ApiError(400, "InvalidRequestBody", "Request body is incorrect")


def invalid_hash(value: object) -> ApiError:
    return ApiError(400, "InvalidHashValue", "Hash value %s is invalid." % value)


def missing_parameter(name: str) -> ApiError:
    return ApiError(400, "MissingRequiredParameter", "Parameter %s is missing." % name)


def not_found(message: str) -> ApiError:
    return ApiError(404, "ResourceNotFound", message)


def forbidden_roles(permissions: tuple[str, ...], kind: str = "application") -> ApiError:
    """Issue #6055's wording; ``kind`` "delegated" for a user token (that wording is inferred)."""
    return ApiError(403, "Forbidden", "The application does not have any of the required %s permissions (%s) to access the resource."
                    % (kind, ", ".join(permissions)))


def unauthorized(message: str) -> ApiError:
    return ApiError(401, "Unauthorized", message, {"WWW-Authenticate": 'Bearer error="invalid_token"'})


class AadError(Exception):
    """An Entra ID token-endpoint error (``error``, ``error_description``, ``error_codes``...)."""

    def __init__(self, status: int, error: str, aadsts: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.aadsts = aadsts
        self.description = description

    def body(self, now: float) -> dict:
        trace_id = new_guid()
        correlation_id = new_guid()
        stamp = datetime.datetime.fromtimestamp(now, tz=datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
        return {
            "error": self.error,
            "error_description": "AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s"
                                 % (self.aadsts, self.description, trace_id, correlation_id, stamp),
            "error_codes": [self.aadsts],
            "timestamp": stamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": "https://login.microsoftonline.com/error?code=%d" % self.aadsts,
        }
