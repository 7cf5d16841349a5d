# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from unittest import mock

import pytest

from ansible_collections.secops.defender.plugins.module_utils._factory import INSECURE_WARNING, build_client
from ansible_collections.secops.defender.tests.unit.fakes import FakeResponse, FakeSession

SESSION = "ansible_collections.secops.defender.plugins.module_utils._factory.build_session"


def test_a_partial_dict_gets_the_documented_defaults():
    with mock.patch(SESSION, return_value=FakeSession(lambda call: FakeResponse(200, {"value": []}))) as build:
        client = build_client({"access_token": "tok"})
    assert client.api_url == "https://api.security.microsoft.com"
    build.assert_called_once_with(True, None, 30.0)
    assert client.tokens.method == "access_token"


def test_ca_path_is_the_verify_value_and_api_url_loses_its_api_suffix(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    with mock.patch(SESSION) as build:
        client = build_client({"access_token": "tok", "api_url": "https://127.0.0.1:8443/api/",
                               "ca_path": str(ca), "calls_per_minute": 50})
    assert build.call_args[0][0] == str(ca)
    assert client.api_url == "https://127.0.0.1:8443"
    assert client.limiter._windows[0] == (60.0, 50)  # pylint: disable=protected-access


def test_validate_certs_false_warns():
    warnings = []
    with mock.patch(SESSION):
        build_client({"access_token": "tok", "validate_certs": False}, warn=warnings.append)
    assert warnings == [INSECURE_WARNING]


@pytest.mark.parametrize("params, message", [
    ({"access_token": "tok", "api_url": "http://api.example.com"}, "api_url uses http://"),
    ({"access_token": "tok", "ca_path": "/nonexistent/ca.pem"}, "ca_path /nonexistent/ca.pem is not a file"),
    ({"access_token": "tok", "calls_per_minute": 0}, "calls_per_minute must be greater than zero"),
    ({"access_token": "tok", "cloud": "moon"}, "unknown cloud 'moon'"),
    ({}, "No credentials"),
])
def test_bad_options_raise_value_error_before_any_request(params, message):
    with mock.patch(SESSION, return_value=FakeSession(lambda call: pytest.fail("no request expected"))):
        with pytest.raises(ValueError, match=message):
            build_client(params)
