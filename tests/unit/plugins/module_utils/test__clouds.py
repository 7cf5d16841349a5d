# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.secops.defender.plugins.module_utils._clouds import CLOUDS, REGIONAL_API_URLS, resolve_endpoints

# gov.md "API" table and exposed-apis-create-app-webapp.md (see _clouds.py for sources).
EXPECTED = {
    "commercial": ("https://api.security.microsoft.com", "https://login.microsoftonline.com",
                   "https://api.securitycenter.microsoft.com/.default"),
    "gcc": ("https://api-gcc.securitycenter.microsoft.us", "https://login.microsoftonline.com",
            "https://securitycenter.onmicrosoft.com/windowsatpservice/.default"),
    "gcc_high": ("https://api-gov.securitycenter.microsoft.us", "https://login.microsoftonline.us",
                 "https://securitycenter.onmicrosoft.us/windowsatpservice/.default"),
    "dod": ("https://api-gov.securitycenter.microsoft.us", "https://login.microsoftonline.us",
            "https://securitycenter.onmicrosoft.us/windowsatpservice/.default"),
}


@pytest.mark.parametrize("cloud", sorted(EXPECTED))
def test_cloud_table(cloud):
    endpoints = resolve_endpoints(cloud)
    assert (endpoints.api_url, endpoints.authority_url, endpoints.scope) == EXPECTED[cloud]


def test_table_has_exactly_the_documented_clouds():
    assert set(CLOUDS) == set(EXPECTED)


def test_overrides():
    endpoints = resolve_endpoints("gcc_high", api_url="https://127.0.0.1:8443/", authority_url="https://127.0.0.1:8443",
                                  scope="https://api-gov.securitycenter.microsoft.us/.default")
    assert endpoints.api_url == "https://127.0.0.1:8443"
    assert endpoints.authority_url == "https://127.0.0.1:8443"
    assert endpoints.scope == "https://api-gov.securitycenter.microsoft.us/.default"
    assert endpoints.resource == "https://api-gov.securitycenter.microsoft.us"


def test_regional_hosts():
    assert REGIONAL_API_URLS["eu"] == "https://eu.api.security.microsoft.com"
    assert set(REGIONAL_API_URLS) == {"us", "eu", "uk", "au", "swa", "ina"}


def test_unknown_cloud():
    with pytest.raises(ValueError, match="unknown cloud 'azure_china'"):
        resolve_endpoints("azure_china")
