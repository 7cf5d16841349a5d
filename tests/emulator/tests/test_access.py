# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""401/403 (reference §2, §5), rate limits and 429 (§3), faults and the request log (docs/design.md)."""

from __future__ import annotations

import http.client
import ssl
import threading
import time

import pytest
import requests
from conftest import DEMO_SHA1, MACHINES, SCOPE, error_of

READ_MESSAGE = ("The application does not have any of the required application permissions (Machine.Read.All, Machine.ReadWrite.All) "
                "to access the resource.")
QUARANTINE_MESSAGE = ("The application does not have any of the required application permissions (Machine.StopAndQuarantine) "
                      "to access the resource.")


def test_quarantine_needs_both_roles(emu):
    assert error_of(emu.quarantine("desk-01", client="quarantine-only")) == (403, "Forbidden", READ_MESSAGE)
    assert error_of(emu.quarantine("desk-01", client="read-only")) == (403, "Forbidden", QUARANTINE_MESSAGE)
    assert emu.quarantine("desk-01", client="readwrite").status_code == 201


def test_read_and_file_and_indicator_roles(emu):
    assert error_of(emu.call("GET", "/api/machineactions", "quarantine-only"))[:2] == (403, "Forbidden")
    assert emu.call("GET", "/api/machineactions", "read-only").status_code == 200
    assert error_of(emu.call("GET", "/api/files/" + DEMO_SHA1, "read-only"))[:2] == (403, "Forbidden")
    assert error_of(emu.call("GET", "/api/indicators", "read-only"))[:2] == (403, "Forbidden")
    action = emu.quarantine("desk-01").json()
    assert error_of(emu.call("POST", "/api/machineactions/%s/cancel" % action["id"], "read-only", json={"Comment": "x"}))[:2] == \
        (403, "Forbidden")
    assert emu.call("POST", "/api/machineactions/%s/cancel" % action["id"], "quarantine-only", json={"Comment": "x"}).status_code == 200


@pytest.mark.parametrize("header", [None, "Bearer", "Basic abc", "Bearer not.a.jwt", "Bearer abc.def.ghi"])
def test_missing_or_malformed_token(emu, header):
    headers = {"Authorization": header} if header else {}
    resp = emu.call("GET", "/api/machines", client=None, headers=headers)
    status, code = error_of(resp)[:2]
    assert (status, code) == (401, "Unauthorized")
    assert resp.json()["error"]["target"]


def test_tampered_token(emu):
    token = emu.token()
    head, payload, signature = token.split(".")
    forged = head + "." + payload + "." + ("A" if signature[0] != "A" else "B") + signature[1:]
    assert error_of(emu.call("GET", "/api/machines", token=forged))[:2] == (401, "Unauthorized")


def test_expired_token(emu):
    token = emu.token()
    assert emu.call("GET", "/api/machines", token=token).status_code == 200
    assert emu.control("POST", "tokens/expire").json()["expired"] >= 1
    assert error_of(emu.call("GET", "/api/machines", token=token))[:2] == (401, "Unauthorized")
    fresh = emu.token_request({"grant_type": "client_credentials", "client_id": emu.client("full")["client_id"],
                               "client_secret": emu.client("full")["client_secret"], "scope": SCOPE}).json()["access_token"]
    assert emu.call("GET", "/api/machines", token=fresh).status_code == 200


def test_wrong_audience_is_403_not_401(emu):
    # microsoft-365-docs #9246: a token for another audience gets a 403; it carries none of the API's permissions.
    for scope in ("https://graph.microsoft.com/.default", "https://api.security.microsoft.com/.default"):
        resp = emu.call("GET", "/api/machines", token=emu.token("full", scope))
        assert error_of(resp) == (403, "Forbidden", READ_MESSAGE)
        assert resp.json()["error"]["target"] == resp.headers["request-id"] and "WWW-Authenticate" not in resp.headers
    graph = emu.token("full", "https://graph.microsoft.com/.default")
    resp = emu.call("POST", "/api/machines/%s/StopAndQuarantineFile" % MACHINES["desk-01"], token=graph,
                    json={"Comment": "x", "Sha1": DEMO_SHA1})
    assert error_of(resp)[:2] == (403, "Forbidden")
    assert emu.control("GET", "state").json()["actions"] == []


def test_expired_or_forged_token_for_another_audience_stays_401(emu):
    graph = emu.token("full", "https://graph.microsoft.com/.default")
    head, payload, signature = graph.split(".")
    forged = head + "." + payload + "." + ("A" if signature[0] != "A" else "B") + signature[1:]
    assert error_of(emu.call("GET", "/api/machines", token=forged))[:2] == (401, "Unauthorized")
    emu.control("POST", "tokens/expire")
    assert error_of(emu.call("GET", "/api/machines", token=graph))[:2] == (401, "Unauthorized")


@pytest.mark.parametrize("cloud, accepted, refused", [
    ("gcc", ["https://securitycenter.onmicrosoft.com/windowsatpservice", "https://api-gcc.securitycenter.microsoft.us"],
     ["https://api.securitycenter.microsoft.com", "https://securitycenter.onmicrosoft.us/windowsatpservice"]),
    ("gcc_high", ["https://securitycenter.onmicrosoft.us/windowsatpservice", "https://api-gov.securitycenter.microsoft.us"],
     ["https://api.securitycenter.microsoft.com", "https://api-gcc.securitycenter.microsoft.us"]),
    ("dod", ["https://securitycenter.onmicrosoft.us/windowsatpservice", "https://api-gov.securitycenter.microsoft.us"],
     ["https://securitycenter.onmicrosoft.com/windowsatpservice"]),
])
def test_cloud_decides_the_accepted_audiences(emu, cloud, accepted, refused):
    config = emu.config(cloud=cloud)
    assert config["accepted_audiences"] == accepted
    for resource in accepted:
        assert emu.call("GET", "/api/machines", token=emu.token("full", resource + "/.default")).status_code == 200
    for resource in refused:
        assert emu.call("GET", "/api/machines", token=emu.token("full", resource + "/.default")).status_code == 403


def test_accepted_audiences_can_be_set(emu):
    default = emu.control("GET", "config").json()
    assert default["cloud"] == "commercial"
    assert default["accepted_audiences"] == ["https://api.securitycenter.microsoft.com",
                                             "https://securitycenter.onmicrosoft.com/windowsatpservice"]
    emu.config(accepted_audiences=["https://api.security.microsoft.com/"])  # a lax service; the trailing slash is dropped
    assert emu.control("GET", "config").json()["accepted_audiences"] == ["https://api.security.microsoft.com"]
    assert emu.call("GET", "/api/machines", token=emu.token("full", "https://api.security.microsoft.com/.default")).status_code == 200
    assert emu.call("GET", "/api/machines", token=emu.token("full", SCOPE)).status_code == 403
    emu.config(cloud="gcc", accepted_audiences=["https://api.securitycenter.microsoft.com"])  # both given: the list wins
    assert emu.call("GET", "/api/machines", token=emu.token("full", SCOPE)).status_code == 200
    for bad in ([], "https://api.securitycenter.microsoft.com", [""], [1]):
        assert emu.control("POST", "config", {"accepted_audiences": bad}).status_code == 400
    assert emu.control("POST", "config", {"cloud": "mooncake"}).status_code == 400
    emu.reset()
    assert emu.control("GET", "config").json()["accepted_audiences"] == default["accepted_audiences"]


def test_rate_limit_after_100_calls_per_api_and_client(emu):
    emu.config(time_scale=10)
    action = emu.quarantine("desk-01").json()
    path = "/api/machineactions/" + action["id"]
    statuses = [emu.call("GET", path).status_code for _call in range(100)]
    assert statuses == [200] * 100
    resp = emu.call("GET", path)
    assert error_of(resp)[:2] == (429, "TooManyRequests")
    retry_after = float(resp.headers["Retry-After"])
    assert 0 < retry_after <= 6.0  # 60 emulated seconds at scale 10, in real seconds
    # Another API, and the same API for another client, are separate budgets.
    assert emu.call("GET", "/api/machineactions").status_code == 200
    assert emu.call("GET", "/api/machineactions/" + "0" * 8 + "-0000-4000-8000-" + "0" * 12).status_code == 429
    assert emu.call("GET", path, "read-only").status_code == 200
    log = emu.log()
    assert sum(1 for e in log if e["status"] == 429) == 2
    assert {e["api"] for e in log if e["status"] == 429} == {"GET /api/machineactions/{id}"}


def test_retry_after_is_an_integer_at_scale_1_and_a_429_is_not_counted(emu):
    emu.config(rate_limit_per_minute=2)
    for _call in range(2):
        assert emu.call("GET", "/api/machines").status_code == 200
    first = emu.call("GET", "/api/machines")
    assert first.status_code == 429 and first.headers["Retry-After"].isdigit()
    assert 1 <= int(first.headers["Retry-After"]) <= 60
    emu.config(time_scale=600)  # 60 emulated seconds pass in 0.1 s
    time.sleep(0.15)
    assert emu.call("GET", "/api/machines").status_code == 200


def test_hourly_limit(emu):
    emu.config(rate_limit_per_minute=1000, rate_limit_per_hour=3)
    assert [emu.call("GET", "/api/machines").status_code for _call in range(4)] == [200, 200, 200, 429]


@pytest.mark.parametrize("kind, status, code", [("500", 500, "InternalServerError"), ("503", 503, "ServiceUnavailable"),
                                                ("429", 429, "TooManyRequests"), ("401", 401, "Unauthorized")])
def test_error_faults_before(emu, kind, status, code):
    emu.control("POST", "faults", {"method": "POST", "path": "StopAndQuarantineFile$", "kind": kind, "count": 1, "retry_after": 2})
    resp = emu.quarantine("desk-01")
    assert error_of(resp)[:2] == (status, code)
    if kind == "429":
        assert resp.headers["Retry-After"] == "2"
    assert emu.control("GET", "state").json()["actions"] == []  # "before": nothing was created
    assert emu.quarantine("desk-01").status_code == 201  # count 1: the next call goes through
    faults = emu.control("GET", "faults").json()["faults"]
    assert faults[0]["fired"] == 1 and faults[0]["remaining"] == 0
    fired = [e for e in emu.log() if e["fault"]]
    assert len(fired) == 1 and fired[0]["fault"] == kind and fired[0]["status"] == status


def test_fault_after_creates_the_action(emu):
    emu.control("POST", "faults", {"method": "POST", "path": "/StopAndQuarantineFile", "kind": "500", "when": "after"})
    assert emu.quarantine("desk-01").status_code == 500
    actions = emu.control("GET", "state").json()["actions"]
    assert len(actions) == 1 and actions[0]["machineId"] == MACHINES["desk-01"]
    # A blind retry now meets the duplicate rule; a client must read back instead.
    assert error_of(emu.quarantine("desk-01"))[:2] == (400, "ActiveRequestAlreadyExists")
    entry = [e for e in emu.log() if e["fault"]][0]
    assert entry["action_id"] == actions[0]["id"] and entry["fault_when"] == "after"


def test_drop_fault(emu):
    emu.control("POST", "faults", {"path": "StopAndQuarantineFile", "kind": "drop", "when": "after"})
    with pytest.raises(requests.exceptions.ConnectionError):
        emu.quarantine("desk-01")
    assert len(emu.control("GET", "state").json()["actions"]) == 1
    assert emu.call("GET", "/api/machineactions").status_code == 200  # the server is still fine


def test_delay_fault_and_token_endpoint_faults(emu):
    emu.control("POST", "faults", {"method": "GET", "path": "^/api/machines$", "kind": "delay", "delay": 0.3})
    started = time.monotonic()
    assert emu.call("GET", "/api/machines").status_code == 200
    assert time.monotonic() - started >= 0.3
    emu.control("POST", "faults", {"path": "/oauth2/v2.0/token$", "kind": "503"})
    client = emu.client("read-only")
    resp = emu.token_request({"grant_type": "client_credentials", "client_id": client["client_id"],
                              "client_secret": client["client_secret"], "scope": SCOPE})
    assert resp.status_code == 503 and resp.json()["error"] == "temporarily_unavailable"


def test_invalid_fault_spec(emu):
    assert emu.control("POST", "faults", {"kind": "teapot"}).status_code == 400
    assert emu.control("POST", "faults", {"kind": "500", "when": "later"}).status_code == 400


def test_log_records_clients_and_never_secrets_or_tokens(emu):
    token = emu.token()
    emu.quarantine("desk-01")
    emu.quarantine("desk-01")
    emu.call("GET", "/api/machines", token="garbage")
    log = emu.log()
    text = str(log)
    for name in ("full", "quarantine-only", "read-only", "readwrite"):
        assert emu.client(name)["client_secret"] not in text
    assert token not in text and token.split(".")[1] not in text
    token_entry = [e for e in log if e["path"].endswith("/token")][0]
    assert token_entry["client_id"] == emu.client("full")["client_id"] and token_entry["body"]["client_secret"] == "***"
    posts = [e for e in log if e["api"] == "POST /api/machines/{id}/StopAndQuarantineFile"]
    assert [e["status"] for e in posts] == [201, 400]
    assert posts[1]["error_code"] == "ActiveRequestAlreadyExists"
    assert all(e["client_id"] == emu.client("full")["client_id"] for e in posts)
    assert posts[0]["body"] == {"Comment": "emulator test", "Sha1": DEMO_SHA1}
    assert [e["seq"] for e in log] == list(range(1, len(log) + 1))


def test_unknown_route(emu):
    assert error_of(emu.call("GET", "/api/nothing-here"))[:2] == (404, "NotFound")


def test_keep_alive_and_content_type(emu):
    connection = http.client.HTTPSConnection(emu.url.split("//")[1], context=ssl.create_default_context(cafile=emu.ca))
    try:
        for _call in range(3):
            connection.request("GET", "/api/machines", headers={"Authorization": "Bearer " + emu.token()})
            resp = connection.getresponse()
            resp.read()
            assert resp.status == 200
            assert resp.getheader("Content-Type") == "application/json; charset=utf-8"
            assert resp.getheader("Connection") != "close"
        sock = connection.sock
        connection.request("GET", "/api/machines", headers={"Authorization": "Bearer " + emu.token()})
        connection.getresponse().read()
        assert connection.sock is sock  # the same TCP connection served every request
    finally:
        connection.close()


def test_delay_after_processes_first_and_answers_late(emu):
    emu.control("POST", "faults", {"method": "POST", "path": "StopAndQuarantineFile$", "kind": "delay", "when": "after", "delay": 0.5})
    result = {}
    worker = threading.Thread(target=lambda: result.update(resp=emu.quarantine("desk-01")))
    worker.start()
    time.sleep(0.25)
    assert len(emu.control("GET", "state").json()["actions"]) == 1  # created while the answer is still held back
    worker.join(5)
    assert result["resp"].status_code == 201
