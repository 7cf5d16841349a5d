# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one cloud table: API host, login authority and token resource for each Microsoft cloud.

Sources (see docs/authentication.md for the full reasoning):
- commercial: exposed-apis-list.md ("The service base URI is: https://api.security.microsoft.com"),
  exposed-apis-create-app-webapp.md (scope https://api.securitycenter.microsoft.com/.default,
  authority https://login.microsoftonline.com).
- gcc, gcc_high, dod: defender-endpoint/gov.md "API" table (sign-in and API hosts). Microsoft gives
  no token resource for US Government; we use the WindowsDefenderATP identifier URIs that
  demisto/content settled on after PR #34360 (securitycenter.onmicrosoft.com for GCC,
  securitycenter.onmicrosoft.us for GCC High and DoD). `scope` overrides it.
"""

from __future__ import annotations

from collections import namedtuple

Cloud = namedtuple("Cloud", ["api_url", "authority_url", "resource"])
Endpoints = namedtuple("Endpoints", ["api_url", "authority_url", "scope", "resource"])

CLOUDS = {
    "commercial": Cloud(
        api_url="https://api.security.microsoft.com",
        authority_url="https://login.microsoftonline.com",
        resource="https://api.securitycenter.microsoft.com",
    ),
    "gcc": Cloud(
        api_url="https://api-gcc.securitycenter.microsoft.us",
        authority_url="https://login.microsoftonline.com",
        resource="https://securitycenter.onmicrosoft.com/windowsatpservice",
    ),
    "gcc_high": Cloud(
        api_url="https://api-gov.securitycenter.microsoft.us",
        authority_url="https://login.microsoftonline.us",
        resource="https://securitycenter.onmicrosoft.us/windowsatpservice",
    ),
    "dod": Cloud(
        api_url="https://api-gov.securitycenter.microsoft.us",
        authority_url="https://login.microsoftonline.us",
        resource="https://securitycenter.onmicrosoft.us/windowsatpservice",
    ),
}

# Regional hosts of the commercial cloud, for api_url ("use server closer to your geo location",
# includes/improve-request-performance.md and the live learn.microsoft.com pages).
REGIONAL_API_URLS = {
    region: f"https://{region}.api.security.microsoft.com" for region in ("us", "eu", "uk", "au", "swa", "ina")
}

DEFAULT_SCOPE_SUFFIX = "/.default"


def resolve_endpoints(cloud: str = "commercial", api_url: str | None = None, authority_url: str | None = None,
                      scope: str | None = None) -> Endpoints:
    """Endpoints for a cloud, each overridable. Raises ValueError for an unknown cloud."""
    try:
        entry = CLOUDS[cloud]
    except KeyError:
        raise ValueError(f"unknown cloud {cloud!r}; expected one of {', '.join(sorted(CLOUDS))}") from None
    resource = entry.resource
    if scope:
        resource = scope[:-len(DEFAULT_SCOPE_SUFFIX)] if scope.endswith(DEFAULT_SCOPE_SUFFIX) else scope
    return Endpoints(
        api_url=(api_url or entry.api_url).rstrip("/"),
        authority_url=(authority_url or entry.authority_url).rstrip("/"),
        scope=scope or resource + DEFAULT_SCOPE_SUFFIX,
        resource=resource,
    )
