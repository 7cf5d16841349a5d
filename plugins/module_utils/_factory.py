# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build a DefenderClient from a plain dict of the auth/connection options.

Shared by modules (through _module.client_from_module) and by plugins that have no AnsibleModule
(the inventory plugin). Knows nothing of Ansible: it raises ValueError for an option a person must
fix and MissingLibraryError for a missing library, and reports warnings through `warn`.
"""

from __future__ import annotations

import os
from typing import Callable

from ._auth import build_token_provider
from ._client import DEFAULT_CALLS_PER_HOUR, DEFAULT_CALLS_PER_MINUTE, DefenderClient, build_session
from ._clouds import resolve_endpoints
from ._validate import normalize_api_url, validate_positive

# Same defaults as the documented options (doc_fragments/auth.py), for callers that leave some out.
DEFAULTS = {
    "cloud": "commercial",
    "validate_certs": True,
    "timeout": 30.0,
    "retry_timeout": 300.0,
    "calls_per_minute": DEFAULT_CALLS_PER_MINUTE,
    "calls_per_hour": DEFAULT_CALLS_PER_HOUR,
}

INSECURE_WARNING = ("validate_certs is false: the server's TLS certificate is not checked, so the bearer token "
                    "could be sent to an impostor. Use ca_path for a private CA instead.")


def connection_settings(params: dict) -> dict:
    """The options with defaults filled in and every check that needs no request; ValueError on a bad one."""
    settings = dict(DEFAULTS)
    settings.update({key: value for key, value in params.items() if value is not None})
    if settings.get("api_url"):
        settings["api_url"] = normalize_api_url(settings["api_url"])
    if settings.get("authority_url"):
        settings["authority_url"] = normalize_api_url(settings["authority_url"], "authority_url")
    settings["endpoints"] = resolve_endpoints(settings["cloud"], settings.get("api_url"), settings.get("authority_url"),
                                              settings.get("scope"))
    validate_positive(settings["timeout"], "timeout")
    validate_positive(settings["retry_timeout"], "retry_timeout", allow_zero=True)
    validate_positive(settings["calls_per_minute"], "calls_per_minute")
    validate_positive(settings["calls_per_hour"], "calls_per_hour")
    if settings.get("ca_path") and not os.path.isfile(settings["ca_path"]):
        raise ValueError(f"ca_path {settings['ca_path']} is not a file")
    return settings


def build_client(params: dict, warn: Callable[[str], None] | None = None) -> DefenderClient:
    """A DefenderClient for the auth/connection options in params (no request is sent)."""
    settings = connection_settings(params)
    if not settings["validate_certs"] and warn is not None:
        warn(INSECURE_WARNING)
    verify = settings.get("ca_path") or settings["validate_certs"]
    session = build_session(verify, settings.get("proxy"), settings["timeout"])
    tokens = build_token_provider(settings, settings["endpoints"], session, warn=warn)
    return DefenderClient(settings["endpoints"].api_url, tokens, session, calls_per_minute=settings["calls_per_minute"],
                          calls_per_hour=settings["calls_per_hour"], retry_timeout=settings["retry_timeout"],
                          resource=getattr(settings["endpoints"], "resource", None))
