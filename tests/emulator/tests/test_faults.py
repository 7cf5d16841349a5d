# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Faults: truncated answers, the Nth matching request, long Retry-After; the hourly quota (reference §3)."""

from __future__ import annotations

import http.client
import ssl

import pytest
import requests
from conftest import MACHINES, SCOPE, error_of


def fault(emu, **spec):
    resp = emu.control("POST", "faults", spec)
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_truncate_after_creates_the_action_and_breaks_the_answer(emu):
    fault(emu, method="POST", path="/StopAndQuarantineFile$", kind="truncate", when="after")
    with pytest.raises(requests.exceptions.ChunkedEncodingError) as caught:
        emu.quarantine("desk-01")
    assert "IncompleteRead" in str(caught.value)
    actions = emu.control("GET", "state").json()["actions"]
    assert len(actions) == 1 and actions[0]["machineId"] == MACHINES["desk-01"]  # the ambiguous case
    entry = [e for e in emu.log() if e["fault"]][0]
    assert (entry["fault"], entry["fault_when"], entry["status"]) == ("truncate", "after", 201)
    assert entry["action_id"] == actions[0]["id"]
    assert emu.call("GET", "/api/machineactions").status_code == 200  # the server is fine


def test_truncate_sends_headers_then_half_the_body(emu):
    fault(emu, method="GET", path="^/api/machines$", kind="truncate", when="after")
    connection = http.client.HTTPSConnection(emu.url.split("//")[1], context=ssl.create_default_context(cafile=emu.ca))
    try:
        connection.request("GET", "/api/machines", headers={"Authorization": "Bearer " + emu.token()})
        resp = connection.getresponse()
        assert resp.status == 200
        declared = int(resp.getheader("Content-Length"))
        with pytest.raises(http.client.IncompleteRead) as caught:
            resp.read()
        assert len(caught.value.partial) == declared // 2
    finally:
        connection.close()


def test_truncate_before_processes_nothing(emu):
    fault(emu, method="POST", path="/StopAndQuarantineFile$", kind="truncate")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        emu.quarantine("desk-01")
    assert emu.control("GET", "state").json()["actions"] == []
    assert [e["status"] for e in emu.log() if e["fault"]] == [500]


def test_truncate_of_an_empty_answer_declares_a_body(emu):
    indicator = {"indicatorValue": "a" * 40, "indicatorType": "FileSha1", "action": "Audit", "generateAlert": True, "title": "t",
                 "description": "d"}
    created = emu.call("POST", "/api/indicators", json=indicator).json()
    fault(emu, method="DELETE", path="^/api/indicators/", kind="truncate", when="after")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        emu.call("DELETE", "/api/indicators/" + created["id"])
    assert emu.control("GET", "state").json()["indicators"] == []


def test_skip_lets_n_matching_requests_pass_then_fires(emu):
    emu.reset(fleet={"count": 5, "prefix": "sk"})
    fault(emu, method="GET", path="^/api/machines$", kind="404", skip=1, count=1)
    first = emu.call("GET", "/api/machines", params={"$top": "3"})
    assert first.status_code == 200
    second = emu.call("GET", "/api/machines", params={"$top": "3", "$skip": "3"})
    assert error_of(second) == (404, "NotFound", "General Not Found error message.")
    assert emu.call("GET", "/api/machines", params={"$top": "3", "$skip": "3"}).status_code == 200  # count 1: spent
    listed = emu.control("GET", "faults").json()["faults"][0]
    assert (listed["skip"], listed["passed"], listed["fired"], listed["remaining"]) == (1, 1, 1, 0)


def test_query_regex_and_own_code_and_message(emu):
    fault(emu, method="GET", path="^/api/machines$", query=r"\$skip=10\b", kind="404", code="ResourceNotFound",
          message="No machines were found")
    assert emu.call("GET", "/api/machines", params={"$top": "10"}).status_code == 200
    resp = emu.call("GET", "/api/machines", params={"$top": "10", "$skip": "10"})
    assert error_of(resp) == (404, "ResourceNotFound", "No machines were found")
    assert resp.json()["error"]["target"] == resp.headers["request-id"]


@pytest.mark.parametrize("kind, status, code", [("400", 400, "BadRequest"), ("403", 403, "Forbidden"), ("404", 404, "NotFound")])
def test_more_error_kinds(emu, kind, status, code):
    fault(emu, method="GET", path="^/api/machineactions$", kind=kind)
    assert error_of(emu.call("GET", "/api/machineactions"))[:2] == (status, code)


def test_429_fault_with_an_hour_long_retry_after(emu):
    fault(emu, method="POST", path="/StopAndQuarantineFile$", kind="429", retry_after=3600)
    resp = emu.quarantine("desk-01")
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "3600"
    assert error_of(resp) == (429, "TooManyRequests", "API calls quota exceeded! Maximum admitted 1500 per 1h.")
    assert resp.json()["error"]["target"] == resp.headers["request-id"]
    fault(emu, method="POST", path="/StopAndQuarantineFile$", kind="429", retry_after=7)
    short = emu.quarantine("desk-01")
    assert short.headers["Retry-After"] == "7" and error_of(short)[2] == "API calls quota exceeded! Maximum admitted 100 per 1m."


@pytest.mark.parametrize("spec, words", [
    ({"kind": "500", "skip": -1}, "skip must be an integer >= 0"),
    ({"kind": "500", "count": 0}, "count must be an integer >= 1"),
    ({"kind": "500", "query": "("}, "query is not a valid regular expression"),
    ({"kind": "500", "paht": "x"}, "unknown fault field(s) paht"),
    ({"kind": "drop", "code": "X"}, "only goes with the error kinds"),
    ({"kind": "429", "retry_after": "soon"}, "retry_after must be a non-negative number"),
])
def test_invalid_fault_specs(emu, spec, words):
    resp = emu.control("POST", "faults", spec)
    assert resp.status_code == 400 and words in resp.json()["error"]["message"], resp.text


def test_hourly_budget_spent_retry_after_is_the_rest_of_the_hour(emu):
    emu.config(rate_limit_per_minute=1000, rate_limit_per_hour=3)
    for _call in range(3):
        assert emu.call("GET", "/api/machines").status_code == 200
    resp = emu.call("GET", "/api/machines")
    assert error_of(resp) == (429, "TooManyRequests", "API calls quota exceeded! Maximum admitted 3 per 1h.")
    # The first call leaves the hour window about 3600 s after it was made (a few seconds of test time at most).
    assert 3500 <= int(resp.headers["Retry-After"]) <= 3600
    # A 429 is not a call: asking again does not push the hour further away.
    again = emu.call("GET", "/api/machines")
    assert again.status_code == 429 and int(again.headers["Retry-After"]) <= int(resp.headers["Retry-After"])


def test_hourly_retry_after_in_real_seconds_on_a_fast_clock(emu):
    emu.config(rate_limit_per_minute=1000, rate_limit_per_hour=2, time_scale=100)
    for _call in range(2):
        assert emu.call("GET", "/api/machines").status_code == 200
    resp = emu.call("GET", "/api/machines")
    assert resp.status_code == 429
    assert 30.0 <= float(resp.headers["Retry-After"]) <= 36.0  # 3600 emulated seconds at scale 100, less the test's own time


def test_minute_budget_message_names_the_minute(emu):
    emu.config(rate_limit_per_minute=1)
    assert emu.call("GET", "/api/machines").status_code == 200
    resp = emu.call("GET", "/api/machines")
    assert error_of(resp)[2] == "API calls quota exceeded! Maximum admitted 1 per 1m."
    assert 1 <= int(resp.headers["Retry-After"]) <= 60


def test_token_endpoint_truncate(emu):
    fault(emu, path="/oauth2/v2.0/token$", kind="truncate", when="after")
    client = emu.client("full")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        emu.token_request({"grant_type": "client_credentials", "client_id": client["client_id"],
                           "client_secret": client["client_secret"], "scope": SCOPE})
