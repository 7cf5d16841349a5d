# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from unittest import mock

import pytest
import requests

from ansible_collections.secops.defender.plugins.module_utils._auth import StaticTokenProvider, TokenProvider
from ansible_collections.secops.defender.plugins.module_utils._client import (
    DefenderClient,
    RateLimiter,
    api_key,
    build_session,
    check_pacing_state,
)
from ansible_collections.secops.defender.plugins.module_utils._errors import AmbiguousRequestError, DefenderError
from ansible_collections.secops.defender.tests.unit.fakes import FakeResponse, FakeSession, ScriptedHandler, error

API = "https://api.example.test"


class Clock:
    """A fake monotonic clock advanced by the fake sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class RenewingTokens(TokenProvider):
    method = "client_secret"

    def get_token(self, force_refresh: bool = False) -> str:
        self.requests_sent += 1
        return f"token-{self.requests_sent}"


def make_client(script, default=None, tokens=None, **kwargs):
    clock = Clock()
    session = FakeSession(ScriptedHandler(script, default))
    client = DefenderClient(API, tokens or StaticTokenProvider("tok"), session, clock=clock, sleep=clock.sleep, **kwargs)
    return client, session, clock


def test_api_key_templates_ids():
    assert api_key("post", "/api/machines/abc/StopAndQuarantineFile") == "POST /api/machines/{id}/StopAndQuarantineFile"
    assert api_key("GET", "/api/machineactions/1234") == "GET /api/machineactions/{id}"
    assert api_key("GET", "/api/machineactions") == "GET /api/machineactions"
    assert api_key("GET", "/api/files/ab/machines") == "GET /api/files/{id}/machines"


def test_rate_limiter_paces_each_api_separately():
    clock = Clock()
    limiter = RateLimiter(per_minute=3, per_hour=100, clock=clock, sleep=clock.sleep)
    for _call in range(3):
        limiter.acquire("A")
    limiter.acquire("B")  # another API is not slowed down
    assert clock.sleeps == []
    limiter.acquire("A")
    assert clock.sleeps == [60.0]


def test_rate_limiter_hourly_budget():
    clock = Clock()
    limiter = RateLimiter(per_minute=100, per_hour=5, clock=clock, sleep=clock.sleep)
    for _call in range(5):
        limiter.acquire("A")
        clock.now += 61
    limiter.acquire("A")
    assert clock.sleeps and sum(clock.sleeps) == pytest.approx(3600 - 5 * 61)


class Wall:
    """A fake wall clock (epoch seconds) that moves with a Clock, from its own origin."""

    def __init__(self, clock: Clock, epoch: float = 1_767_225_600.0) -> None:
        self.clock = clock
        self.offset = epoch - clock.now

    def __call__(self) -> float:
        return self.clock.now + self.offset


def test_pacing_state_hands_the_window_to_the_next_process():
    # Each batch of the role is a module run of its own: without the previous batch's window, its first
    # call met the service's window and was answered 429 once per batch.
    first_clock = Clock()
    first_wall = Wall(first_clock)
    first = RateLimiter(per_minute=3, per_hour=100, clock=first_clock, sleep=first_clock.sleep, wall_clock=first_wall)
    for _call in range(3):
        first.acquire("POST /api/machines/{id}/StopAndQuarantineFile")
        first_clock.now += 1.0
    state = first.state()
    assert state["version"] == 1 and len(state["apis"]["POST /api/machines/{id}/StopAndQuarantineFile"]["calls"]) == 3

    # The next process: another monotonic origin, the same wall clock, 5 s later.
    second_clock = Clock()
    second_clock.now = 50.0
    wall = Wall(second_clock, epoch=first_wall() + 5.0)
    second = RateLimiter(per_minute=3, per_hour=100, clock=second_clock, sleep=second_clock.sleep, wall_clock=wall)
    second.load_state(state)
    second.acquire("POST /api/machines/{id}/StopAndQuarantineFile")
    # The first call was made 8 s before this one: the slot frees 52 s from now, not at once.
    assert second_clock.sleeps == [pytest.approx(52.0, abs=0.002)]
    second.acquire("GET /api/machineactions")  # another API is not held back
    assert len(second_clock.sleeps) == 1


def test_pacing_state_rounds_up_and_drops_what_no_longer_counts():
    clock = Clock()
    limiter = RateLimiter(per_minute=2, per_hour=3, clock=clock, sleep=clock.sleep, wall_clock=lambda: 1000.0004 + clock.now)
    for _call in range(5):
        limiter.acquire("A")
        clock.now += 3000.0  # the hourly budget: each call waits for the oldest to leave the hour
    calls = limiter.state()["apis"]["A"]["calls"]
    assert len(calls) <= 3 and all(t > 1000.0004 + clock.now - 3600 for t in calls)
    assert all(round(t * 1000) == t * 1000 for t in calls)  # whole milliseconds, rounded up

    fresh_clock = Clock()
    fresh = RateLimiter(per_minute=2, per_hour=3, clock=fresh_clock, sleep=fresh_clock.sleep, wall_clock=lambda: 10_000.0)
    fresh.load_state({"version": 1, "apis": {"GET /x": {"calls": [1.0, 9_999.0, 20_000.0]}}})  # old, recent, ahead
    assert list(fresh._calls["GET /x"]) == [fresh_clock.now - 1.0, fresh_clock.now]  # pylint: disable=protected-access


def test_pacing_state_carries_a_retry_after_block():
    clock = Clock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep, wall_clock=lambda: 5000.0 + clock.now)
    limiter.acquire("POST /api/indicators")
    limiter.block("POST /api/indicators", 30.0)
    state = limiter.state()
    assert state["apis"]["POST /api/indicators"] == {"blocked_until": 5000.0 + clock.now + 30.0}

    later = Clock()
    successor = RateLimiter(clock=later, sleep=later.sleep, wall_clock=lambda: 5000.0 + clock.now + 10.0 + (later.now - 1000.0))
    successor.load_state(state)
    successor.acquire("POST /api/indicators")
    assert later.sleeps == [pytest.approx(20.0)]


@pytest.mark.parametrize("state", [
    [], {"apis": {}}, {"version": 2, "apis": {}}, {"version": 1, "apis": []},
    {"version": 1, "apis": {"nokey": {}}}, {"version": 1, "apis": {"GET /x": {"calls": ["1"]}}},
    {"version": 1, "apis": {"GET /x": {"calls": [True]}}}, {"version": 1, "apis": {"GET /x": {"blocked_until": "soon"}}},
])
def test_a_bad_pacing_state_is_refused(state):
    with pytest.raises(ValueError, match="pacing_state is not a pacing state returned by an earlier task"):
        check_pacing_state(state)


def test_rate_limiter_counts_a_call_from_its_answer():
    # The service counts a call when it arrives; counting from the send time let our window free a slot
    # before the service's did, and a 500-device run got 33 needless 429s.
    clock = Clock()

    def slow_answer(call):
        clock.now += 5.0
        return FakeResponse(200, {"value": []})

    client = DefenderClient(API, StaticTokenProvider("tok"), FakeSession(ScriptedHandler([], slow_answer)),
                            calls_per_minute=2, clock=clock, sleep=clock.sleep)
    for _call in range(3):
        client.get("/api/machines")
    assert clock.sleeps == [pytest.approx(55.0)]  # the first answer came at 1005: no third call before 1065


def test_a_refused_call_leaves_the_window():
    # A call answered 429 was not carried out: keeping it in our window held the last call of a
    # 100-device batch back for a whole minute.
    client, _session, clock = make_client([
        ("GET", "/api/machines", FakeResponse(200, {"value": []})),
        ("GET", "/api/machines", error(429, "TooManyRequests", headers={"Retry-After": "1"})),
    ], default=lambda call: FakeResponse(200, {"value": []}), calls_per_minute=3)
    for _call in range(3):
        client.get("/api/machines")
    assert clock.sleeps == [pytest.approx(1.0)]


def test_429_waits_retry_after_then_succeeds():
    client, session, clock = make_client([
        ("GET", "/api/machines/x", error(429, "TooManyRequests", headers={"Retry-After": "7"})),
        ("GET", "/api/machines/x", FakeResponse(200, {"id": "x"})),
    ])
    assert client.get("/api/machines/x") == {"id": "x"}
    assert len(session.calls) == 2
    assert clock.sleeps == [7.0]
    assert client.stats["429"] == 1


def test_429_on_post_is_resent_because_nothing_was_created():
    client, session, clock = make_client([
        ("POST", "/Stop", error(429, "TooManyRequests", headers={"Retry-After": "0.5"})),
        ("POST", "/Stop", FakeResponse(201, {"id": "a1"})),
    ])
    assert client.post("/api/machines/m/StopAndQuarantineFile", {"Comment": "c", "Sha1": "s"}) == {"id": "a1"}
    assert len(session.calls_to("POST", "/Stop")) == 2
    assert clock.sleeps == [0.5]


def test_429_gives_up_at_the_retry_deadline_with_the_api_error():
    def throttled(call):
        return error(429, "TooManyRequests", target="r-9", headers={"Retry-After": "40"})
    client, session, _clock = make_client([], default=throttled, retry_timeout=100)
    with pytest.raises(DefenderError) as info:
        client.get("/api/machineactions")
    assert info.value.status == 429 and info.value.code == "TooManyRequests" and info.value.target == "r-9"
    assert "still throttled" in str(info.value)
    assert len(session.calls) == 3  # 0 s, 40 s, 80 s; the next wait would pass 100 s


def test_get_retries_5xx_with_backoff():
    client, session, clock = make_client([
        ("GET", "/x", error(500, "InternalServerError")),
        ("GET", "/x", error(503, "ServiceUnavailable")),
        ("GET", "/x", FakeResponse(200, {"ok": True})),
    ])
    assert client.get("/x") == {"ok": True}
    assert len(session.calls) == 3
    assert len(clock.sleeps) == 2 and 0.5 <= clock.sleeps[0] <= 1.0 and 1.0 <= clock.sleeps[1] <= 2.0


def test_throttling_spends_none_of_the_error_budget():
    # Found by the reliability_faults target: three 429s then a drop and two 503s on one list query used up
    # max_attempts (6) and failed the whole fleet run; the 429s had also stretched the first backoff to 4-8 s.
    throttled = error(429, "TooManyRequests", headers={"Retry-After": "0.2"})
    client, session, clock = make_client([("GET", "/x", throttled)] * 3 + [
        ("GET", "/x", error(503, "ServiceUnavailable"))] * 5 + [("GET", "/x", FakeResponse(200, {"ok": True}))],
        max_attempts=6)
    assert client.get("/x") == {"ok": True}
    assert len(session.calls) == 9
    first_backoff = clock.sleeps[3]
    assert clock.sleeps[:3] == pytest.approx([0.2, 0.2, 0.2]) and 0.5 <= first_backoff <= 1.0


def test_get_gives_up_after_max_attempts():
    client, session, _clock = make_client([], default=lambda call: error(500, "InternalServerError", target="t-1"),
                                          max_attempts=3)
    with pytest.raises(DefenderError) as info:
        client.get("/x")
    assert info.value.status == 500 and info.value.target == "t-1"
    assert len(session.calls) == 3


def test_post_5xx_is_ambiguous_and_not_resent():
    client, session, _clock = make_client([("POST", "/x", error(503, "ServiceUnavailable"))])
    with pytest.raises(AmbiguousRequestError):
        client.post("/x", {})
    assert len(session.calls) == 1


def test_post_read_timeout_is_ambiguous():
    client, session, _clock = make_client([("POST", "/x", requests.exceptions.ReadTimeout("read timed out"))])
    with pytest.raises(AmbiguousRequestError) as info:
        client.post("/x", {})
    assert info.value.code == "Timeout"
    assert len(session.calls) == 1


def test_post_connection_refused_is_resent_because_it_never_left():
    refused = requests.exceptions.ConnectionError(Exception("NewConnectionError: [Errno 111] Connection refused"))
    client, session, _clock = make_client([("POST", "/x", refused), ("POST", "/x", FakeResponse(201, {"id": 1}))])
    assert client.post("/x", {}) == {"id": 1}
    assert len(session.calls) == 2


def test_401_renews_the_token_once():
    tokens = RenewingTokens()
    client, session, _clock = make_client([
        ("GET", "/x", error(401, "Unauthorized")),
        ("GET", "/x", FakeResponse(200, {"ok": 1})),
    ], tokens=tokens)
    assert client.get("/x") == {"ok": 1}
    assert [c["headers"]["Authorization"] for c in session.calls] == ["Bearer token-1", "Bearer token-2"]
    assert client.stats["token"] == 2


def test_a_given_access_token_counts_no_token_request():
    client, _session, _clock = make_client([("GET", "/x", FakeResponse(200, {}))])
    client.get("/x")
    assert client.stats["token"] == 0


def test_401_twice_is_reported():
    client, _session, _clock = make_client([], default=lambda call: error(401, "Unauthorized", "expired"),
                                           tokens=RenewingTokens())
    with pytest.raises(DefenderError) as info:
        client.get("/x")
    assert info.value.status == 401


def test_static_token_is_not_renewed():
    client, session, _clock = make_client([("GET", "/x", error(401, "Unauthorized"))])
    with pytest.raises(DefenderError) as info:
        client.get("/x")
    assert info.value.status == 401 and len(session.calls) == 1


def test_error_mapping_carries_status_code_message_target_and_hint():
    client, _session, _clock = make_client([("POST", "/x", error(403, "Forbidden", "The application does not have any "
                                                                 "of the required application permissions "
                                                                 "(Machine.Read.All, Machine.ReadWrite.All) to access "
                                                                 "the resource.", target="43f4"))])
    with pytest.raises(DefenderError) as info:
        client.post("/x", {})
    err = info.value
    assert (err.status, err.code, err.target) == (403, "Forbidden", "43f4")
    text = str(err)
    assert "HTTP 403" in text and "request id 43f4" in text and "Machine.Read.All" in text and "admin consent" in text


def test_paging_follows_next_link():
    client, session, _clock = make_client([
        ("GET", "$skip=2", FakeResponse(200, {"value": [3]})),
        ("GET", "/api/machines", FakeResponse(200, {"value": [1, 2], "@odata.nextLink": f"{API}/api/machines?$skip=2"})),
    ])
    assert client.get_all("/api/machines") == [1, 2, 3]
    assert len(session.calls) == 2


def test_paging_with_top_and_skip():
    pages = {0: [1, 2], 2: [3, 4], 4: [5]}
    client, session, _clock = make_client([], default=lambda call: FakeResponse(
        200, {"value": pages[int(call["params"].get("$skip", 0))]}))
    assert client.get_all("/api/machineactions", page_size=2) == [1, 2, 3, 4, 5]
    assert [c["params"].get("$skip", 0) for c in session.calls] == [0, 2, 4]
    assert all(c["params"]["$top"] == 2 for c in session.calls)


def test_next_link_to_another_host_is_refused():
    client, _session, _clock = make_client([
        ("GET", "/api/machines", FakeResponse(200, {"value": [1], "@odata.nextLink": "https://evil.test/api/machines"})),
    ])
    with pytest.raises(DefenderError) as info:
        client.get_all("/api/machines")
    assert info.value.code == "UnexpectedNextLink"


def test_tls_error_is_clear_and_not_retried():
    bad = requests.exceptions.SSLError("HTTPSConnectionPool: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed")
    client, session, _clock = make_client([("GET", "/x", bad)])
    with pytest.raises(DefenderError) as info:
        client.get("/x")
    assert info.value.code == "TLSError" and "ca_path" in str(info.value)
    assert len(session.calls) == 1


def test_every_call_sends_the_bearer_token_and_user_agent():
    session = build_session(True, None, 5)
    assert session.headers["User-Agent"].startswith("ansible-collection-secops.defender/")


@pytest.mark.parametrize("verify", ["/tmp/our-ca.pem", False])
def test_session_verify_wins_over_requests_ca_bundle(monkeypatch, verify):
    """REQUESTS_CA_BUNDLE replaces Session.verify unless verify is passed per request."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    monkeypatch.setenv("CURL_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    session = build_session(verify, "http://proxy.test:3128", 5)
    seen = {}

    def send(adapter, request, **kwargs):
        seen.update(kwargs)
        response = requests.Response()
        response.status_code = 200
        response._content = b"{}"  # pylint: disable=protected-access
        return response
    with mock.patch.object(requests.adapters.HTTPAdapter, "send", send):
        session.get("https://api.example.test/api/machines")
    assert seen["verify"] == verify
    assert seen["proxies"]["https"] == "http://proxy.test:3128"
    assert seen["timeout"] == 5


def test_not_found_hint_names_what_was_not_found():
    action = DefenderError("x", status=404, code="ResourceNotFound", method="GET", path="/api/machineactions/abc")
    machine = DefenderError("x", status=404, code="ResourceNotFound", method="POST", path="/api/machines/abc/StopAndQuarantineFile")
    assert "machine action id" in str(action) and "device" not in action.hint
    assert "device is unknown" in str(machine)


# --- every way an answer can fail (issue: the client must never let an exception escape) ---------------

CUT_OFF = requests.exceptions.ChunkedEncodingError("Connection broken: IncompleteRead(12 bytes read, 88 more expected)")


@pytest.mark.parametrize("exc", [CUT_OFF, requests.exceptions.ContentDecodingError("bad gzip"),
                                 requests.exceptions.ConnectionError("Connection aborted: RemoteDisconnected"),
                                 requests.exceptions.ReadTimeout("read timed out"), OSError("socket closed")])
def test_a_write_whose_answer_is_lost_or_cut_off_is_ambiguous_and_sent_once(exc):
    client, session, _clock = make_client([("POST", "/StopAndQuarantineFile", exc)])
    with pytest.raises(AmbiguousRequestError) as info:
        client.post("/api/machines/m/StopAndQuarantineFile", {})
    assert len(session.calls) == 1
    assert "may have been carried out" in str(info.value)


def test_a_read_whose_answer_is_cut_off_is_retried_like_a_dropped_connection():
    client, session, _clock = make_client([("GET", "/x", CUT_OFF), ("GET", "/x", FakeResponse(200, {"ok": 1}))])
    assert client.get("/x") == {"ok": 1}
    assert len(session.calls) == 2


@pytest.mark.parametrize("exc, code", [
    (requests.exceptions.TooManyRedirects("Exceeded 30 redirects."), "TooManyRedirects"),
    (requests.exceptions.InvalidJSONError("Object of type set is not JSON serializable"), "InvalidJSONError"),
    (requests.exceptions.InvalidURL("Invalid URL 'https://': No host supplied"), "InvalidURL"),
    (requests.exceptions.InvalidHeader("Invalid leading whitespace in header value"), "InvalidHeader"),
])
def test_a_request_that_cannot_be_made_is_a_readable_error_not_a_traceback(exc, code):
    client, session, _clock = make_client([("POST", "/x", exc)])
    with pytest.raises(DefenderError) as info:
        client.post("/x", {})
    assert not isinstance(info.value, AmbiguousRequestError)
    assert info.value.code == code and "could not be made" in str(info.value)
    assert len(session.calls) == 1


class NotJson(FakeResponse):
    def __init__(self, status):
        super().__init__(status, None)
        self.content = b"<html>gateway</html>"

    def json(self):
        raise ValueError("Expecting value")


def test_a_created_answer_that_is_not_json_is_ambiguous():
    client, session, _clock = make_client([("POST", "/x", NotJson(201))])
    with pytest.raises(AmbiguousRequestError) as info:
        client.post("/x", {})
    assert info.value.code == "InvalidResponse" and len(session.calls) == 1


def test_a_read_answer_that_is_not_json_is_retried_then_reported():
    client, session, _clock = make_client([], default=lambda call: NotJson(200), max_attempts=2)
    with pytest.raises(DefenderError) as info:
        client.get("/x")
    assert info.value.code == "InvalidResponse" and "gave up after 2 attempts" in str(info.value)
    assert len(session.calls) == 2


# --- throttling beyond the deadline ----------------------------------------------------------------------

def test_a_retry_after_longer_than_the_deadline_raises_at_once_saying_how_long():
    client, session, clock = make_client([("POST", "/x", error(429, "TooManyRequests", headers={"Retry-After": "2400"}))],
                                         retry_timeout=300)
    with pytest.raises(DefenderError) as info:
        client.post("/x", {})
    assert clock.sleeps == [] and len(session.calls) == 1
    assert info.value.retry_after == 2400
    text = str(info.value)
    assert "asks to wait 2400 s" in text and "retry_timeout (300 of 300 s)" in text and "after" not in text.split(":")[1]


def test_an_api_blocked_beyond_the_deadline_is_not_called_again():
    client, session, clock = make_client([], retry_timeout=60)
    client.limiter.block("POST /y", 900)  # an earlier call of this run was told Retry-After: 900
    with pytest.raises(DefenderError) as info:
        client.post("/y", {})
    assert session.calls == [] and clock.sleeps == []
    assert info.value.retry_after == pytest.approx(900) and info.value.status == 429
    assert client.stats["429_not_sent"] == 1


def test_retry_policy_decides_without_sending():
    from ansible_collections.secops.defender.plugins.module_utils._client import Call, RetryPolicy
    clock = Clock()
    policy = RetryPolicy(retry_timeout=100, max_attempts=3, clock=clock)
    post = Call("POST", f"{API}/api/machines/m/StopAndQuarantineFile", clock() + 100)
    get = Call("GET", f"{API}/api/machineactions", clock() + 100)
    post.attempts = get.attempts = 1
    assert policy.on_response(post, error(503, "ServiceUnavailable")).verdict == "raise"
    assert isinstance(policy.on_response(post, error(503, "ServiceUnavailable")).error, AmbiguousRequestError)
    assert policy.on_response(get, error(503, "ServiceUnavailable")).verdict == "retry"
    assert policy.on_response(get, error(401, "Unauthorized")).verdict == "renew"
    get.renewed = True
    assert policy.on_response(get, error(401, "Unauthorized")).verdict == "raise"
    assert policy.on_response(get, error(429, "TooManyRequests", headers={"Retry-After": "5"})).verdict == "throttled"
    assert policy.on_response(get, error(429, "TooManyRequests", headers={"Retry-After": "500"})).verdict == "raise"
    assert policy.on_response(get, error(404, "ResourceNotFound")).verdict == "raise"
    assert policy.on_response(get, FakeResponse(200, {"a": 1})).value == {"a": 1}
    assert policy.on_exception(post, requests.exceptions.ConnectTimeout("connect timed out")).verdict == "retry"
    assert policy.on_exception(post, CUT_OFF).verdict == "raise"


# --- paging as the real service does it --------------------------------------------------------------------

def test_a_404_on_a_later_page_keeps_the_pages_read():
    pages = {0: [{"id": 1}, {"id": 2}]}

    def answer(call):
        skip = int(call["params"].get("$skip", 0))
        return FakeResponse(200, {"value": pages[skip]}) if skip in pages else error(404, "ResourceNotFound")
    client, session, _clock = make_client([], default=answer)
    assert client.get_all("/api/machines", page_size=2) == [{"id": 1}, {"id": 2}]
    assert len(session.calls) == 2


def test_a_404_on_the_first_page_is_raised():
    client, _session, _clock = make_client([("GET", "/api/machines", error(404, "ResourceNotFound"))])
    with pytest.raises(DefenderError) as info:
        client.get_all("/api/machines")
    assert info.value.status == 404


def test_a_server_that_ignores_skip_does_not_loop_for_ever():
    client, session, _clock = make_client([], default=lambda call: FakeResponse(200, {"value": [{"id": 1}, {"id": 2}]}))
    assert client.get_all("/api/files/abc/machines", page_size=2) == [{"id": 1}, {"id": 2}]
    assert len(session.calls) == 2
    assert client.stats["repeated_pages"] == 1


def test_a_next_link_that_repeats_itself_does_not_loop_for_ever():
    link = f"{API}/api/machines?$skiptoken=a"
    client, session, _clock = make_client([], default=lambda call: FakeResponse(
        200, {"value": [{"id": len(session.calls)}], "@odata.nextLink": link}))
    items = client.get_all("/api/machines")
    assert len(items) == 2 and len(session.calls) == 2


def test_odata_errors_with_an_empty_code_are_readable():
    body = {"error": {"code": "", "message": "The query specified in the URI is not valid. Could not find a property "
                                             "named 'sha1' on type 'MachineAction'.", "details": []}}
    client, _session, _clock = make_client([("GET", "/api/machineactions", FakeResponse(400, body))])
    with pytest.raises(DefenderError) as info:
        client.get("/api/machineactions")
    assert info.value.code == "InvalidQuery" and info.value.status == 400
    assert "Could not find a property named 'sha1'" in str(info.value)


def test_a_403_for_a_token_of_another_audience_says_so():
    from ansible_collections.secops.defender.tests.unit.fakes import make_jwt
    token = make_jwt(roles=["Machine.Read.All"], aud="https://graph.microsoft.com")
    client, _session, _clock = make_client([("GET", "/api/machines", error(403, "Forbidden", "Forbidden"))],
                                           tokens=StaticTokenProvider(token))
    client.resource = "https://api.securitycenter.microsoft.com"
    with pytest.raises(DefenderError) as info:
        client.get("/api/machines")
    assert "audience is https://graph.microsoft.com" in str(info.value)
    assert "expects https://api.securitycenter.microsoft.com" in str(info.value)


def test_with_a_sleep_that_passes_no_time_every_wait_still_reaches_its_deadline():
    """The 1.0.0 unit suite hung until killed: time.sleep was patched and the clock stood still."""
    session = FakeSession(ScriptedHandler([], lambda call: error(429, "TooManyRequests", headers={"Retry-After": "100"})))
    client = DefenderClient(API, StaticTokenProvider("tok"), session, clock=lambda: 5.0, sleep=lambda s: None,
                            retry_timeout=300, calls_per_minute=2)
    with pytest.raises(DefenderError) as info:
        client.get("/api/machineactions")
    assert info.value.status == 429 and len(session.calls) == 4  # at 0, 100, 200 and 300 s: the deadline
    assert client.clock() == pytest.approx(5.0 + 300)


def test_an_unknown_alert_gets_the_alert_hint_not_the_device_one():
    alert = DefenderError("x", status=404, code="ResourceNotFound", method="PATCH", path="/api/alerts/da1234")
    assert "alert id" in str(alert) and "device is unknown" not in str(alert)
