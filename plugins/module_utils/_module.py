# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every module shares: the auth/connection argument spec, the client it builds, how errors fail.

The options here are documented once, in plugins/doc_fragments/auth.py; a unit test keeps the two equal.
"""

from __future__ import annotations

from ansible.module_utils.basic import env_fallback, missing_required_lib
from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ._auth import AUTH_METHODS, missing_roles
from ._client import DefenderClient
from ._clouds import CLOUDS
from ._errors import DefenderError, MissingLibraryError
from ._factory import build_client

DEFENDER_AUTH_ARGSPEC = {
    "tenant_id": {"type": "str", "fallback": (env_fallback, ["AZURE_TENANT_ID"])},
    "client_id": {"type": "str", "fallback": (env_fallback, ["AZURE_CLIENT_ID"])},
    "client_secret": {"type": "str", "no_log": True, "fallback": (env_fallback, ["AZURE_CLIENT_SECRET"])},
    "client_certificate_path": {"type": "path", "fallback": (env_fallback, ["AZURE_CLIENT_CERTIFICATE_PATH"])},
    "client_certificate_password": {"type": "str", "no_log": True,
                                    "fallback": (env_fallback, ["AZURE_CLIENT_CERTIFICATE_PASSWORD"])},
    "client_certificate_thumbprint": {"type": "str", "no_log": False},
    "access_token": {"type": "str", "no_log": True, "fallback": (env_fallback, ["DEFENDER_ACCESS_TOKEN"])},
    "token_cache_path": {"type": "path", "no_log": False, "fallback": (env_fallback, ["DEFENDER_TOKEN_CACHE_PATH"])},
    "auth_method": {"type": "str", "default": "auto", "choices": list(AUTH_METHODS),
                    "fallback": (env_fallback, ["DEFENDER_AUTH_METHOD"])},
    "managed_identity_client_id": {"type": "str", "no_log": False,
                                   "fallback": (env_fallback, ["DEFENDER_MANAGED_IDENTITY_CLIENT_ID"])},
    "federated_token_file": {"type": "path", "no_log": False, "fallback": (env_fallback, ["AZURE_FEDERATED_TOKEN_FILE"])},
    "cloud": {"type": "str", "default": "commercial", "choices": sorted(CLOUDS),
              "fallback": (env_fallback, ["DEFENDER_CLOUD"])},
    "api_url": {"type": "str", "fallback": (env_fallback, ["DEFENDER_API_URL"])},
    "authority_url": {"type": "str", "fallback": (env_fallback, ["DEFENDER_AUTHORITY_URL"])},
    "scope": {"type": "str", "fallback": (env_fallback, ["DEFENDER_SCOPE"])},
    "validate_certs": {"type": "bool", "default": True, "fallback": (env_fallback, ["DEFENDER_VALIDATE_CERTS"])},
    "ca_path": {"type": "path", "fallback": (env_fallback, ["DEFENDER_CA_PATH"])},
    "proxy": {"type": "str", "no_log": True, "fallback": (env_fallback, ["DEFENDER_PROXY"])},
    "timeout": {"type": "float", "default": 30.0, "fallback": (env_fallback, ["DEFENDER_TIMEOUT"])},
    "retry_timeout": {"type": "float", "default": 300.0, "fallback": (env_fallback, ["DEFENDER_RETRY_TIMEOUT"])},
    "calls_per_minute": {"type": "int", "default": 100, "fallback": (env_fallback, ["DEFENDER_CALLS_PER_MINUTE"])},
    "calls_per_hour": {"type": "int", "default": 1500, "fallback": (env_fallback, ["DEFENDER_CALLS_PER_HOUR"])},
}


def defender_argument_spec(**module_options) -> dict:
    """The module's own options merged with the shared auth/connection options."""
    spec = {name: dict(option) for name, option in DEFENDER_AUTH_ARGSPEC.items()}
    spec.update(module_options)
    return spec


def fail_with_error(module, error: Exception, **result) -> None:
    """fail_json with the HTTP status, MDE error code and request id next to a readable msg."""
    if isinstance(error, MissingLibraryError):
        module.fail_json(msg=missing_required_lib(error.library), exception=error.exception, **result)
    if isinstance(error, DefenderError):
        module.fail_json(msg=str(error), status=error.status, error_code=error.code, request_id=error.target, **result)
    module.fail_json(msg=str(error), **result)


def client_from_module(module) -> DefenderClient:
    """Validate the connection options (no request is sent) and build the client."""
    try:
        return build_client(module.params, warn=module.warn)
    except (ValueError, MissingLibraryError) as exc:
        fail_with_error(module, exc)


def require_roles(module, client: DefenderClient, requirement, action: str) -> None:
    """Fail before any write when an app token lacks a permission the call needs (issue #6055)."""
    try:
        missing = missing_roles(client.token(), requirement)
    except (DefenderError, MissingLibraryError) as exc:
        fail_with_error(module, exc)
    if missing:
        module.fail_json(msg=f"The token for this app cannot {action}: it lacks the application permission(s) "
                             f"{'; '.join(missing)} of the WindowsDefenderATP API. Add them under API permissions "
                             "and grant admin consent.", error_code="MissingPermission", missing_permissions=missing)


def snake_action(action: dict | None) -> dict | None:
    """A MachineAction as returned to the user: the API's fields in snake_case, OData metadata left out."""
    if not action:
        return action
    fields = {key: value for key, value in action.items() if not key.startswith("@odata")}
    if "lastUpdateDateTimeUtc" not in fields and "lastUpdateTimeUtc" in fields:
        fields["lastUpdateDateTimeUtc"] = fields.pop("lastUpdateTimeUtc")
    return camel_dict_to_snake_dict(fields)


def snake_entity(entity: dict | None) -> dict | None:
    """Any other MDE entity (machine, indicator, file) in snake_case, OData metadata left out."""
    if not entity:
        return entity
    return camel_dict_to_snake_dict({key: value for key, value in entity.items() if not key.startswith("@odata")})
