# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every module shares: DefenderModule (the auth/connection argument spec, the client it builds, how errors fail).

The options here are documented once, in plugins/doc_fragments/auth.py (DOCUMENTATION and PACING); a unit test
keeps the two equal. Only this file touches AnsibleModule.
"""

from __future__ import annotations

import traceback

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib
from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ._auth import AUTH_METHODS, SECRET_FILE_OPTIONS, missing_roles, permission_warnings, read_secret_files
from ._client import DefenderClient
from ._clouds import CLOUDS
from ._errors import DefenderError, MissingLibraryError
from ._factory import build_client
from ._options import OPTION_ENV


def _env(option: str) -> tuple:
    """The env fallback of a shared option, from the one table (_options.OPTION_ENV)."""
    return (env_fallback, [OPTION_ENV[option]])


DEFENDER_AUTH_ARGSPEC = {
    "tenant_id": {"type": "str", "fallback": _env("tenant_id")},
    "client_id": {"type": "str", "fallback": _env("client_id")},
    "client_secret": {"type": "str", "no_log": True, "fallback": _env("client_secret")},
    "client_secret_file": {"type": "path", "no_log": False, "fallback": _env("client_secret_file")},
    "client_certificate_path": {"type": "path", "fallback": _env("client_certificate_path")},
    "client_certificate_password": {"type": "str", "no_log": True,
                                    "fallback": _env("client_certificate_password")},
    "client_certificate_password_file": {"type": "path", "no_log": False,
                                         "fallback": _env("client_certificate_password_file")},
    "client_certificate_thumbprint": {"type": "str", "no_log": False},
    "access_token": {"type": "str", "no_log": True, "fallback": _env("access_token")},
    "token_cache_path": {"type": "path", "no_log": False, "fallback": _env("token_cache_path")},
    "auth_method": {"type": "str", "default": "auto", "choices": list(AUTH_METHODS),
                    "fallback": _env("auth_method")},
    "managed_identity_client_id": {"type": "str", "no_log": False,
                                   "fallback": _env("managed_identity_client_id")},
    "federated_token_file": {"type": "path", "no_log": False, "fallback": _env("federated_token_file")},
    "cloud": {"type": "str", "default": "commercial", "choices": sorted(CLOUDS),
              "fallback": _env("cloud")},
    "api_url": {"type": "str", "fallback": _env("api_url")},
    "authority_url": {"type": "str", "fallback": _env("authority_url")},
    "scope": {"type": "str", "fallback": _env("scope")},
    "validate_certs": {"type": "bool", "default": True, "fallback": _env("validate_certs")},
    "ca_path": {"type": "path", "fallback": _env("ca_path")},
    "proxy": {"type": "str", "no_log": True, "fallback": _env("proxy")},
    "timeout": {"type": "float", "default": 30.0, "fallback": _env("timeout")},
    "retry_timeout": {"type": "float", "default": 300.0, "fallback": _env("retry_timeout")},
    "calls_per_minute": {"type": "int", "default": 100, "fallback": _env("calls_per_minute")},
    "calls_per_hour": {"type": "int", "default": 1500, "fallback": _env("calls_per_hour")},
}


# Options only the modules that call the API read (documented in the secops.defender.auth.pacing fragment).
# Every module accepts them all the same: module_defaults for group/secops.defender.defender apply every
# option to every module of the group, and a module that refused one would fail (defender_token documents
# them as having no effect: the auth.pacing_unused fragment).
PACING_OPTIONS = ("retry_timeout", "calls_per_minute", "calls_per_hour")


def defender_argument_spec(**module_options) -> dict:
    """The module's own options merged with the shared auth/connection and rate-limit options."""
    spec = {name: dict(option) for name, option in DEFENDER_AUTH_ARGSPEC.items()}
    spec.update(module_options)
    return spec


def permission_message(action: str, missing: list) -> str:
    return (f"The token for this app cannot {action}: it lacks the application permission(s) {'; '.join(missing)} "
            "of the WindowsDefenderATP API. Add them under API permissions and grant admin consent.")


class DefenderModule(AnsibleModule):
    """AnsibleModule with the shared options, the client, and one way out.

    A module reads as: validate (fail before any request), act, exit. Everything it learns goes into
    `self.result` as it goes, so that `fail()` -- the only way out after a request, and one that cannot
    itself raise -- always returns every outcome known so far with `api_calls`, `auth_method`, `status`,
    `error_code` and `request_id`, whatever failed. `run(body)` turns anything `body` raises into `fail()`.
    """

    def __init__(self, argument_spec: dict | None = None, **kwargs) -> None:
        super().__init__(argument_spec=defender_argument_spec(**(argument_spec or {})), **kwargs)
        self.result: dict = {"changed": False}
        self.outcome_hook = None  # a callable returning the outcome keys, rendered into every exit and failure
        self._client: DefenderClient | None = None

    @property
    def client(self) -> DefenderClient:
        """The client for the connection options (built on first use; a bad option fails before any request)."""
        if self._client is None:
            try:
                params = read_secret_files(self.params)
                # A secret read from a file is masked in every output like one given as an option.
                self.no_log_values.update(params[option] for option in SECRET_FILE_OPTIONS.values() if params.get(option))
                self._client = build_client(params, warn=self.warn)
            except (ValueError, MissingLibraryError, DefenderError) as exc:
                self.fail(exc)
        return self._client

    def require_roles(self, requirement, action: str) -> None:
        """Fail before any write when an app token lacks a permission the call needs (issue #6055).

        A delegated (user) token has no roles claim: Defender decides the user's rights, so it passes."""
        token = self.client.token()
        missing = missing_roles(token, requirement)
        if missing:
            self.fail(msg=permission_message(action, missing), error_code="MissingPermission", missing_permissions=missing)
        for warning in permission_warnings(token, requirement):
            self.warn(warning)

    def run(self, body) -> None:
        """Call body(self); a DefenderError, a missing library or any unexpected exception ends in fail()."""
        try:
            body(self)
        except (DefenderError, MissingLibraryError) as exc:
            self.fail(exc)
        # A traceback after a write would lose every outcome: anything unexpected is a failure with the result.
        except Exception as exc:  # pylint: disable=broad-exception-caught
            if self._client is not None and self._client.writes_carried_out:
                self.result["changed"] = True
            self.fail(msg=f"Unexpected error in secops.defender ({exc.__class__.__name__}: {exc}); every outcome known so "
                          "far is in this result. Please report this as a bug.", exception=traceback.format_exc())
        self.fail(msg="secops.defender: the module ended without a result (a bug; please report it)")

    def exit(self, **result) -> None:
        self.exit_json(**self.outcome(result))

    def fail(self, error: Exception | None = None, msg: str | None = None, **result) -> None:
        """fail_json with every outcome so far, the error's HTTP status, MDE code and request id, and a readable msg."""
        out = self.outcome(result)
        if isinstance(error, MissingLibraryError):
            msg = msg or missing_required_lib(error.library)
            out.setdefault("exception", error.exception)
        elif isinstance(error, DefenderError):
            out.setdefault("status", error.status)
            out.setdefault("error_code", error.code)
            out.setdefault("request_id", error.target)
            if getattr(error, "retry_after", None) is not None:
                out.setdefault("retry_after", error.retry_after)
        out["msg"] = msg or (str(error) if error is not None else "failed")
        self.fail_json(**out)

    def outcome(self, result: dict | None = None) -> dict:
        """self.result updated with `result`, plus api_calls and auth_method once a client exists."""
        out = dict(self.result)
        if self.outcome_hook is not None:
            out.update(self.outcome_hook())
        out.update(result or {})
        if self._client is not None:
            out["api_calls"] = dict(self._client.stats)
            out.setdefault("auth_method", self._client.tokens.method)
        return out


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
