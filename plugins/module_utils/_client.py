# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTP to the Defender for Endpoint API: one session, pacing, retries, paging, error mapping.

Knows nothing of Ansible. Retry policy, in one place (RetryPolicy decides, DefenderClient.request
carries the decision out):
- 429: wait Retry-After (else jittered backoff) and resend, any method: a throttled call was not
  carried out (common-errors.md "Throttling"). When the wait would pass retry_timeout, raise at
  once, saying how long the service asked to wait (error.retry_after).
- 401 once per call: renew the token (it may have expired mid-run) and resend; a token that cannot
  be renewed (a given access_token) raises its provider's explanation.
- 5xx, read timeouts, dropped connections, answers cut off or undecodable: GETs are resent with
  jittered backoff; a write is NOT resent here, it raises AmbiguousRequestError so the caller can
  read what happened first. A 2xx write answer that is not JSON is ambiguous too.
- A connection that was never established (refused, connect timeout, unknown host) is safe to resend.
- Anything else (TLS, too many redirects, an invalid URL) raises a DefenderError with its reason.
"""

from __future__ import annotations

import http.client
import math
import random
import time
import traceback
from collections import Counter, deque
from urllib.parse import urlsplit

from ._auth import audience_hint
from ._errors import AmbiguousRequestError, DefenderError, MissingLibraryError, connection_error, short_reason, tls_error
from ._version import USER_AGENT

try:
    import requests
    import urllib3
except ImportError:
    requests = urllib3 = None
    REQUESTS_IMPORT_ERROR = traceback.format_exc()
else:
    REQUESTS_IMPORT_ERROR = None

# Documented per API: "100 calls per minute and 1500 calls per hour" (e.g. stop-and-quarantine-file.md).
DEFAULT_CALLS_PER_MINUTE = 100
DEFAULT_CALLS_PER_HOUR = 1500
# "Maximum page size is 10,000" (get-machineactions-collection.md, get-machines.md).
MAX_PAGE_SIZE = 10000
_ID_SEGMENT_AFTER = {"machines", "machineactions", "files", "indicators", "alerts"}


def api_key(method: str, path: str) -> str:
    """The API a call counts against: method and path template, e.g. 'POST /api/machines/{id}/StopAndQuarantineFile'."""
    segments = urlsplit(path).path.split("/")
    template = [("{id}" if i and segments[i - 1].lower() in _ID_SEGMENT_AFTER and seg else seg) for i, seg in enumerate(segments)]
    return f"{method.upper()} {'/'.join(template)}"


PACING_STATE_VERSION = 1


def check_pacing_state(state, option: str = "pacing_state") -> dict:
    """The per-API entries of a pacing state handed over from an earlier run; ValueError if it is not one."""
    def bad(why: str) -> ValueError:
        return ValueError(f"{option} is not a pacing state returned by an earlier task ({why}); pass the "
                          f"{option} of the previous run's result as it is, or leave it out")
    if not isinstance(state, dict) or state.get("version") != PACING_STATE_VERSION or not isinstance(state.get("apis"), dict):
        raise bad(f"expected {{'version': {PACING_STATE_VERSION}, 'apis': {{...}}}}")
    for key, entry in state["apis"].items():
        if not isinstance(key, str) or " /" not in key or not isinstance(entry, dict):
            raise bad(f"entry {key!r}")
        calls = entry.get("calls", [])
        if not isinstance(calls, list) or not all(isinstance(t, (int, float)) and not isinstance(t, bool) for t in calls):
            raise bad(f"calls of {key!r} must be a list of epoch seconds")
        blocked = entry.get("blocked_until")
        if blocked is not None and (isinstance(blocked, bool) or not isinstance(blocked, (int, float))):
            raise bad(f"blocked_until of {key!r} must be epoch seconds")
    return state["apis"]


class RateLimiter:
    """Sliding-window pacing per API so that a long run stays under the published limits.

    state() and load_state() hand the window from one process to the next (the role's batches are
    separate module runs): the calls of the last hour per API in wall-clock epoch seconds, since
    monotonic clocks do not compare across processes.
    """

    def __init__(self, per_minute: int = DEFAULT_CALLS_PER_MINUTE, per_hour: int = DEFAULT_CALLS_PER_HOUR,
                 clock=None, sleep=None, wall_clock=None) -> None:
        self._windows = [(60.0, per_minute), (3600.0, per_hour)]
        self._calls: dict[str, deque] = {}
        self._blocked_until: dict[str, float] = {}
        self._clock = clock or time.monotonic
        self._sleep = sleep or time.sleep
        self._wall = wall_clock or time.time
        self.waited = 0.0

    def state(self) -> dict:
        """The calls of the last hour (at most the larger limit) and any Retry-After block, per API, as epoch seconds."""
        now, wall = self._clock(), self._wall()
        keep = max(limit for _span, limit in self._windows)
        apis = {}
        for key, calls in self._calls.items():
            recent = [t for t in calls if t > now - 3600.0]
            recent = recent[len(recent) - keep:] if keep else []
            entry: dict = {}
            if recent:
                # Rounded up to the millisecond: a slot is never freed earlier than it was here.
                entry["calls"] = [math.ceil((wall - (now - t)) * 1000) / 1000 for t in recent]
            blocked = self._blocked_until.get(key, 0.0)
            if blocked > now:
                entry["blocked_until"] = math.ceil((wall + blocked - now) * 1000) / 1000
            if entry:
                apis[key] = entry
        return {"version": PACING_STATE_VERSION, "apis": apis}

    def load_state(self, state: dict | None) -> None:
        """Take over the window of an earlier run (see state()); calls older than an hour are dropped."""
        if not state:
            return
        now, wall = self._clock(), self._wall()
        for key, entry in check_pacing_state(state).items():
            # A time ahead of our wall clock (clocks differ) counts as now: never earlier than it was.
            handed = [now - max(wall - t, 0.0) for t in entry.get("calls", []) if wall - t < 3600.0]
            self._calls[key] = deque(sorted([*self._calls.get(key, ()), *handed]))
            blocked = entry.get("blocked_until")
            if blocked is not None and blocked > wall:
                self._blocked_until[key] = max(self._blocked_until.get(key, 0.0), now + blocked - wall)

    def delay(self, key: str) -> float:
        now = self._clock()
        calls = self._calls.setdefault(key, deque())
        while calls and calls[0] <= now - 3600.0:
            calls.popleft()
        wait = self._blocked_until.get(key, 0.0) - now
        for span, limit in self._windows:
            if limit and len(calls) >= limit:
                recent = sum(1 for t in calls if t > now - span) if span < 3600.0 else len(calls)
                if recent >= limit:
                    wait = max(wait, calls[-limit] + span - now)
        return max(wait, 0.0)

    def acquire(self, key: str) -> None:
        wait = self.delay(key)
        while wait > 0:
            self.waited += wait
            self._sleep(wait)
            wait = self.delay(key)
        self._calls[key].append(self._clock())

    def settle(self, key: str) -> None:
        """The last call on `key` got its answer (or failed): count it from now.

        The service counts a call when it arrives, which is after we sent it; counting from the answer keeps our
        window from freeing a slot before the service's does (measured: 33 needless 429s in a 500-device run).
        """
        calls = self._calls.get(key)
        if calls:
            calls[-1] = self._clock()

    def block(self, key: str, seconds: float) -> None:
        """The server said wait (429 Retry-After): the refused call leaves our window, and no call before then.

        From here the server's Retry-After decides; had the refused call stayed in our window, a run that met one
        429 in a window of 100 calls held its 100th call back for a whole minute (measured in the role's batches).
        """
        calls = self._calls.get(key)
        if calls:
            calls.pop()
        self._blocked_until[key] = max(self._blocked_until.get(key, 0.0), self._clock() + seconds)


def build_session(verify, proxy: str | None, timeout: float, user_agent: str = USER_AGENT, direct: bool = False):
    """A requests.Session that applies verify, proxy and timeout to every call, msal's included.

    verify is passed per request on purpose: with REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE in the
    environment, requests replaces Session.verify by the environment's bundle for any call that does
    not pass verify itself, so validate_certs/ca_path would silently do nothing.
    direct=True sends no call through any proxy, not even HTTPS_PROXY (see without_proxy).
    """
    if requests is None:
        raise MissingLibraryError("requests", REQUESTS_IMPORT_ERROR or "")

    class _DefenderSession(requests.Session):
        def request(self, method, url, *args, **kwargs):  # pylint: disable=signature-differs
            kwargs["verify"] = verify
            if direct:
                kwargs["proxies"] = {"http": None, "https": None}  # None also drops HTTP(S)_PROXY
            elif proxy:
                kwargs["proxies"] = {"http": proxy, "https": proxy}
            if kwargs.get("timeout") is None:
                kwargs["timeout"] = timeout
            return super().request(method, url, *args, **kwargs)

        def without_proxy(self):
            """The same session for host-local managed identity endpoints, which must not be proxied
            (IMDS "isn't intended to be used behind a proxy"; App Service and Arc listen on localhost)."""
            return build_session(verify, None, timeout, user_agent, direct=True)

    session = _DefenderSession()
    session.headers["User-Agent"] = user_agent
    return session


def _retry_after(response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None  # an HTTP-date: fall back to backoff


def _never_sent(exc) -> bool:
    """True when the connection was never established, so the request cannot have been seen."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    text = repr(exc.args[0]) if exc.args else ""
    return "NewConnectionError" in text or "ConnectionRefusedError" in text or "NameResolutionError" in text


def _answer_lost(exc) -> bool:
    """The request left but its answer did not arrive whole: reset, read timeout, cut-off or undecodable body."""
    lost = (requests.exceptions.ConnectionError, requests.exceptions.Timeout, requests.exceptions.ChunkedEncodingError,
            requests.exceptions.ContentDecodingError)
    return isinstance(exc, lost) or not isinstance(exc, requests.exceptions.RequestException)


def _kind(exc) -> str:
    """The error code for a failed send: Timeout, ConnectionError, IncompleteAnswer, or the exception's name."""
    if isinstance(exc, requests.exceptions.Timeout):
        return "Timeout"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "ConnectionError"
    if isinstance(exc, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)):
        return "IncompleteAnswer"
    return exc.__class__.__name__


# Every way session.request can fail on the wire (urllib3's own errors can escape requests' wrapping).
SEND_FAILURES = (OSError, ValueError, http.client.HTTPException) + (
    (requests.exceptions.RequestException, urllib3.exceptions.HTTPError) if requests is not None else ())


# OData query errors carry an empty code and no target (microsoft-365-docs #12682).
ODATA_ERROR_CODE = "InvalidQuery"


def error_from_response(response, method: str, path: str, cls=DefenderError) -> DefenderError:
    """Map an error answer: {"error": {"code", "message", "target"}} (common-errors.md)."""
    code = message = target = None
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict):
            code, message, target = error.get("code"), error.get("message"), error.get("target")
        elif isinstance(error, str):  # identity-platform shape
            code, message = error, payload.get("error_description")
    if not code and message and "query specified in the uri is not valid" in str(message).lower():
        code = ODATA_ERROR_CODE
    target = target or response.headers.get("request-id") or response.headers.get("x-ms-request-id")
    if not message:
        message = f"{response.status_code} {response.reason or 'error'}"
    return cls(str(message).splitlines()[0][:1000], status=response.status_code, code=code or None, target=target,
               method=method, path=path)


def applies_to_all(error: Exception) -> bool:
    """An error that every further call of this run would meet too (stop sending, say when to retry):
    throttling beyond the retry deadline, a token that cannot be renewed, a missing permission, a
    feature the tenant lacks, or an API that cannot be reached."""
    if not isinstance(error, DefenderError) or isinstance(error, AmbiguousRequestError):
        return False
    return (error.status in (401, 403, 429) or error.code in TENANT_WIDE_CODES)


TENANT_WIDE_CODES = frozenset(("Unauthorized", "Forbidden", "DisabledFeature", "TooManyRequests", "MissingPermission",
                               "TLSError", "ConnectionRefused", "NameResolutionError", "Unreachable", "invalid_client",
                               "unauthorized_client", "invalid_tenant", "invalid_scope", "AuthenticationFailed"))

# What RetryPolicy decides about one attempt.
RETURN, RETRY, RENEW, THROTTLED, RAISE = "return", "retry", "renew", "throttled", "raise"


class Decision:
    """The verdict on one attempt: return `value`, wait `delay` and resend, renew the token, or raise `error`."""

    __slots__ = ("verdict", "delay", "error", "value")

    def __init__(self, verdict: str, delay: float = 0.0, error: Exception | None = None, value=None) -> None:
        self.verdict = verdict
        self.delay = delay
        self.error = error
        self.value = value

    def __repr__(self) -> str:
        return f"Decision({self.verdict}, delay={self.delay:g}, error={self.error!r})"


class Call:
    """One logical call across its attempts: what was sent, how often, and its retry deadline."""

    def __init__(self, method: str, url: str, deadline: float) -> None:
        self.method = method.upper()
        self.url = url
        self.path = urlsplit(url).path
        self.host = urlsplit(url).netloc
        self.deadline = deadline
        self.attempts = 0  # every time it was sent
        self.failures = 0  # 5xx, lost answers and unreachable hosts: a throttled call spends none of this budget
        self.renewed = False
        self.throttled_for = 0.0  # seconds waited on 429s

    @property
    def is_write(self) -> bool:
        return self.method not in ("GET", "HEAD")

    def error(self, message: str, cls=DefenderError, **fields) -> DefenderError:
        return cls(message, method=self.method, path=self.path, **fields)


class RetryPolicy:
    """Decides, for one answer or one exception, whether to resend, renew, wait or give up (see the module docstring).

    Pure decisions on a Call and the clock: the send loop in DefenderClient.request only carries them out.
    """

    def __init__(self, retry_timeout: float = 300.0, max_attempts: int = 6, backoff_base: float = 1.0, clock=None) -> None:
        self.retry_timeout = retry_timeout
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self._clock = clock or time.monotonic

    def remaining(self, call: Call) -> float:
        return call.deadline - self._clock()

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter, capped at 30 s."""
        return min(30.0, self.backoff_base * (2 ** (max(attempt, 1) - 1))) * random.uniform(0.5, 1.0)  # nosec - not crypto

    def _retry_or(self, call: Call, error: DefenderError, delay: float | None = None) -> Decision:
        """Resend after a failure while the error budget and the deadline allow, else raise `error`."""
        call.failures += 1
        delay = self.backoff(call.failures) if delay is None else delay
        if call.failures < self.max_attempts and delay < self.remaining(call):
            return Decision(RETRY, delay)
        error.message += f" (gave up after {call.attempts} attempt{'s' if call.attempts > 1 else ''})"
        return Decision(RAISE, error=error)

    def throttled(self, call: Call, delay: float, error: DefenderError | None = None) -> DefenderError:
        """The error for a call the service keeps throttling longer than what is left of retry_timeout."""
        remaining = max(self.remaining(call), 0.0)
        error = error or call.error("Throttled", status=429, code="TooManyRequests")
        waited = f"after {call.throttled_for:g} s of retries " if call.throttled_for else ""
        error.message = (f"{error.message}: still throttled {waited}and the service asks to wait {delay:g} s more "
                         f"(Retry-After), beyond what is left of retry_timeout ({remaining:g} of {self.retry_timeout:g} s)")
        error.retry_after = delay
        return error

    def on_exception(self, call: Call, exc: Exception) -> Decision:
        if requests is not None and isinstance(exc, requests.exceptions.SSLError):
            return Decision(RAISE, error=tls_error(exc, call.host, method=call.method, path=call.path))
        kind = _kind(exc)
        if requests is not None and _never_sent(exc):  # safe to resend, whatever the method
            return self._retry_or(call, connection_error(exc, call.url, "api_url", method=call.method, path=call.path))
        if _answer_lost(exc):
            if call.is_write:  # it may have been carried out: the domain layer reads back, the client never resends
                return Decision(RAISE, error=call.error(f"No complete answer ({kind}); the request may have been carried out",
                                                        cls=AmbiguousRequestError, code=kind))
            lost = (connection_error(exc, call.url, "api_url", method=call.method, path=call.path)
                    if kind in ("Timeout", "ConnectionError") else
                    call.error(f"No complete answer from {call.host} ({kind}: {short_reason(exc)})", code=kind))
            return self._retry_or(call, lost)
        # Refused before anything was carried out: too many redirects, an invalid URL or header, a body that is not JSON.
        return Decision(RAISE, error=call.error(f"The request could not be made ({kind}: {short_reason(exc)})", code=kind))

    def on_response(self, call: Call, response) -> Decision:
        status = response.status_code
        if status == 401 and not call.renewed:
            return Decision(RENEW)  # a token can expire mid-run: renew once, then report
        if status == 429:
            delay = _retry_after(response)
            delay = self.backoff(call.attempts - call.failures) if delay is None else delay
            if delay > self.remaining(call):
                return Decision(RAISE, error=self.throttled(call, delay, error_from_response(response, call.method, call.path)))
            return Decision(THROTTLED, delay)
        if status >= 500:
            if call.is_write:
                return Decision(RAISE, error=error_from_response(response, call.method, call.path, cls=AmbiguousRequestError))
            return self._retry_or(call, error_from_response(response, call.method, call.path), _retry_after(response))
        if status >= 400:
            return Decision(RAISE, error=error_from_response(response, call.method, call.path))
        if status == 204 or not response.content:
            return Decision(RETURN, value=None)
        try:
            return Decision(RETURN, value=response.json())
        except ValueError:
            if call.is_write:  # carried out, but what was created cannot be read: read back, never resend
                return Decision(RAISE, error=call.error(f"The API answered HTTP {status} with a body that is not JSON; "
                                                        "the request may have been carried out",
                                                        cls=AmbiguousRequestError, status=status, code="InvalidResponse"))
            return self._retry_or(call, call.error(f"The API answered HTTP {status} with a body that is not JSON",
                                                   status=status, code="InvalidResponse"))


class ProgressingClock:
    """A monotonic clock that always moves at least as far as the sleeps taken on it.

    With a sleep that does not pass time (patched in a test, or a clock that stands still), every deadline,
    pacing window and Retry-After would otherwise never be reached and a loop would spin for ever; here each
    sleep of s seconds moves the clock by at least s, so every wait loop progresses towards its deadline."""

    def __init__(self, clock, sleep) -> None:
        self._clock = clock
        self._sleep = sleep
        self._offset = 0.0

    def now(self) -> float:
        return self._clock() + self._offset

    def sleep(self, seconds: float) -> None:
        before = self._clock()
        self._sleep(seconds)
        missing = seconds - (self._clock() - before)
        if missing > 0:
            self._offset += missing


class DefenderClient:
    """Calls the API with a token from a TokenProvider; see the module docstring for the retry policy."""

    def __init__(self, api_url: str, token_provider, session, calls_per_minute: int = DEFAULT_CALLS_PER_MINUTE,
                 calls_per_hour: int = DEFAULT_CALLS_PER_HOUR, retry_timeout: float = 300.0, max_attempts: int = 6,
                 backoff_base: float = 1.0, clock=None, sleep=None, resource: str | None = None) -> None:
        self.api_url = api_url.rstrip("/")
        self.tokens = token_provider
        self.session = session
        self.resource = resource  # the token audience the API expects (for the 403 hint)
        self._time = ProgressingClock(clock or time.monotonic, sleep or time.sleep)
        self._clock = self._time.now
        self._sleep = self._time.sleep
        self.policy = RetryPolicy(retry_timeout, max_attempts, backoff_base, clock=self._clock)
        self.limiter = RateLimiter(calls_per_minute, calls_per_hour, clock=self._clock, sleep=self._sleep)
        self.stats: Counter = Counter()
        self.writes_carried_out = 0  # writes answered 2xx, or whose outcome is unknown (they may have been)
        self._token: str | None = None

    @property
    def retry_timeout(self) -> float:
        return self.policy.retry_timeout

    def clock(self) -> float:
        """The client's monotonic clock (injected in tests)."""
        return self._clock()

    def sleep(self, seconds: float) -> None:
        """Wait on the client's clock (patched in tests, scaled by nobody)."""
        self._sleep(seconds)

    # -- tokens
    def token(self) -> str:
        if self._token is None:
            self._token = self._fetch_token(force_refresh=False)
        return self._token

    def _renew_token(self) -> None:
        self._token = None
        self._token = self._fetch_token(force_refresh=True)

    def _fetch_token(self, force_refresh: bool) -> str:
        before = self.tokens.requests_sent
        try:
            return self.tokens.get_token(force_refresh=force_refresh)
        finally:
            self.stats["token"] += self.tokens.requests_sent - before  # 0 when msal's cache answered

    # -- verbs
    def get(self, path: str, params: dict | None = None):
        return self.request("GET", path, params=params)

    def post(self, path: str, body: dict):
        return self.request("POST", path, body=body)

    def patch(self, path: str, body: dict):
        return self.request("PATCH", path, body=body)

    def delete(self, path: str):
        return self.request("DELETE", path)

    def get_all(self, path: str, params: dict | None = None, page_size: int | None = None,
                max_items: int | None = None) -> list:
        """Every item of a collection: follows @odata.nextLink, else pages with $top/$skip.

        Stops when a page brings nothing new (a server that ignores $skip repeats its page:
        files/{id}/machines documents neither $top nor $skip), and a 404 on a later page ends the
        collection without losing the pages already read; only the first page's errors are raised.
        """
        params = dict(params or {})
        if page_size:
            params["$top"] = page_size
        expected = page_size or MAX_PAGE_SIZE
        items: list = []
        seen: set = set()
        links: set = set()
        skip = int(params.get("$skip", 0))
        page = self.get(path, params)
        while True:
            value = page.get("value", []) if isinstance(page, dict) else []
            fresh = [item for item in value if _identity(item) not in seen]
            seen.update(_identity(item) for item in fresh)
            items.extend(fresh)
            if max_items and len(items) >= max_items:
                return items[:max_items]
            next_link = page.get("@odata.nextLink") if isinstance(page, dict) else None
            if value and not fresh:
                self.stats["repeated_pages"] += 1
                return items
            try:
                if next_link and next_link not in links:
                    links.add(next_link)
                    page = self.request("GET", self._same_host(next_link))
                elif not next_link and value and len(value) >= expected:
                    skip += len(value)
                    params["$skip"] = skip
                    page = self.get(path, params)
                else:
                    return items
            except DefenderError as exc:
                if exc.status != 404:
                    raise
                return items  # a page past the end

    def _same_host(self, link: str) -> str:
        # A nextLink to another host would receive our bearer token: refuse it.
        if urlsplit(link).netloc.lower() != urlsplit(self.api_url).netloc.lower():
            raise DefenderError(f"Refusing to follow @odata.nextLink to another host ({urlsplit(link).netloc})",
                                code="UnexpectedNextLink")
        return link

    # -- the one send loop: RetryPolicy decides, this carries the decision out
    def request(self, method: str, path: str, params: dict | None = None, body: dict | None = None):
        url = path if path.startswith("https://") or path.startswith("http://") else f"{self.api_url}{path}"
        call = Call(method, url, self._clock() + self.policy.retry_timeout)
        key = api_key(call.method, call.path)
        while True:
            decision = self._attempt(call, key, params, body)
            if call.is_write and (decision.verdict == RETURN or isinstance(decision.error, AmbiguousRequestError)):
                self.writes_carried_out += 1
            if decision.verdict == RETURN:
                return decision.value
            if decision.verdict == RAISE:
                raise decision.error
            if decision.verdict == RENEW:
                call.renewed = True
                self._renew_token()
            elif decision.verdict == THROTTLED:
                call.throttled_for += decision.delay
                self.limiter.block(key, decision.delay)
            else:
                self._sleep(decision.delay)

    def _attempt(self, call: Call, key: str, params, body) -> Decision:
        """Send once (paced, with the token) and return the policy's verdict on the outcome."""
        wait = self.limiter.delay(key)
        if wait > self.policy.remaining(call):  # blocked by an earlier Retry-After longer than our deadline
            self.stats["429_not_sent"] += 1
            return Decision(RAISE, error=self.policy.throttled(call, wait))
        self.limiter.acquire(key)
        call.attempts += 1
        self.stats[key] += 1
        headers = {"Authorization": f"Bearer {self.token()}", "Accept": "application/json"}
        try:
            response = self.session.request(call.method, call.url, params=params, json=body, headers=headers)
        except SEND_FAILURES as exc:  # the policy classifies every way a send can fail
            self.limiter.settle(key)
            self.stats["connection_errors"] += 1
            return self.policy.on_exception(call, exc)
        self.limiter.settle(key)
        if response.status_code == 429:
            self.stats["429"] += 1
        elif response.status_code >= 500:
            self.stats["5xx"] += 1
        decision = self.policy.on_response(call, response)
        if decision.verdict == RAISE and response.status_code == 403:
            self._explain_forbidden(decision.error)
        return decision

    def _explain_forbidden(self, error: DefenderError) -> None:
        """A token for another audience is answered 403, not 401 (microsoft-365-docs #9246): say so."""
        if self.resource and self._token:
            error.extra_hint = audience_hint(self._token, self.resource)


def _identity(item) -> str:
    if isinstance(item, dict) and item.get("id") is not None:
        return f"id:{item['id']}"
    return repr(sorted(item.items())) if isinstance(item, dict) else repr(item)
