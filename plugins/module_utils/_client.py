# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTP to the Defender for Endpoint API: one session, pacing, retries, paging, error mapping.

Knows nothing of Ansible. Retry policy, in one place:
- 429: wait Retry-After (else jittered backoff) and resend, any method: a throttled call was not
  carried out (common-errors.md "Throttling"). Bounded by retry_timeout.
- 401 once per call: renew the token (it may have expired mid-run) and resend.
- 5xx, timeouts, dropped connections: GETs are resent with jittered backoff; a write is NOT
  resent here, it raises AmbiguousRequestError so the caller can read what happened first.
- A connection that was never established (refused, connect timeout) is safe to resend.
"""

from __future__ import annotations

import random
import time
import traceback
from collections import Counter, deque
from urllib.parse import urlsplit

from ._errors import AmbiguousRequestError, DefenderError, MissingLibraryError, short_reason, tls_error
from ._version import USER_AGENT

try:
    import requests
except ImportError:
    requests = None
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


class RateLimiter:
    """Sliding-window pacing per API so that a long run stays under the published limits."""

    def __init__(self, per_minute: int = DEFAULT_CALLS_PER_MINUTE, per_hour: int = DEFAULT_CALLS_PER_HOUR,
                 clock=None, sleep=None) -> None:
        self._windows = [(60.0, per_minute), (3600.0, per_hour)]
        self._calls: dict[str, deque] = {}
        self._blocked_until: dict[str, float] = {}
        self._clock = clock or time.monotonic
        self._sleep = sleep or time.sleep
        self.waited = 0.0

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
    target = target or response.headers.get("request-id") or response.headers.get("x-ms-request-id")
    if not message:
        message = f"{response.status_code} {response.reason or 'error'}"
    return cls(str(message).splitlines()[0][:1000], status=response.status_code, code=code, target=target,
               method=method, path=path)


class DefenderClient:
    """Calls the API with a token from a TokenProvider; see the module docstring for the retry policy."""

    def __init__(self, api_url: str, token_provider, session, calls_per_minute: int = DEFAULT_CALLS_PER_MINUTE,
                 calls_per_hour: int = DEFAULT_CALLS_PER_HOUR, retry_timeout: float = 300.0, max_attempts: int = 6,
                 backoff_base: float = 1.0, clock=None, sleep=None) -> None:
        self.api_url = api_url.rstrip("/")
        self.tokens = token_provider
        self.session = session
        self.retry_timeout = retry_timeout
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self._clock = clock or time.monotonic
        self._sleep = sleep or time.sleep
        self.limiter = RateLimiter(calls_per_minute, calls_per_hour, clock=self._clock, sleep=self._sleep)
        self.stats: Counter = Counter()
        self._token: str | None = None

    def sleep(self, seconds: float) -> None:
        """Wait on the client's clock (patched in tests, scaled by nobody)."""
        self._sleep(seconds)

    # -- tokens
    def token(self) -> str:
        if self._token is None:
            self._token = self._fetch_token(force_refresh=False)
        return self._token

    def _renew_token(self) -> None:
        self._token = self._fetch_token(force_refresh=True)

    def _fetch_token(self, force_refresh: bool) -> str:
        before = self.tokens.requests_sent
        token = self.tokens.get_token(force_refresh=force_refresh)
        self.stats["token"] += self.tokens.requests_sent - before  # 0 when msal's cache answered
        return token

    # -- verbs
    def get(self, path: str, params: dict | None = None):
        return self.request("GET", path, params=params)

    def post(self, path: str, body: dict):
        return self.request("POST", path, body=body)

    def delete(self, path: str):
        return self.request("DELETE", path)

    def get_all(self, path: str, params: dict | None = None, page_size: int | None = None,
                max_items: int | None = None) -> list:
        """Every item of a collection: follows @odata.nextLink, else pages with $top/$skip."""
        params = dict(params or {})
        if page_size:
            params["$top"] = page_size
        expected = page_size or MAX_PAGE_SIZE
        items: list = []
        skip = int(params.get("$skip", 0))
        page = self.get(path, params)
        while True:
            value = page.get("value", []) if isinstance(page, dict) else []
            items.extend(value)
            if max_items and len(items) >= max_items:
                return items[:max_items]
            next_link = page.get("@odata.nextLink") if isinstance(page, dict) else None
            if next_link:
                page = self.request("GET", self._same_host(next_link))
            elif value and len(value) >= expected:
                skip += len(value)
                params["$skip"] = skip
                page = self.get(path, params)
            else:
                return items

    def _same_host(self, link: str) -> str:
        # A nextLink to another host would receive our bearer token: refuse it.
        if urlsplit(link).netloc.lower() != urlsplit(self.api_url).netloc.lower():
            raise DefenderError(f"Refusing to follow @odata.nextLink to another host ({urlsplit(link).netloc})",
                                code="UnexpectedNextLink")
        return link

    # -- the one request loop
    def request(self, method: str, path: str, params: dict | None = None, body: dict | None = None):
        url = path if path.startswith("https://") or path.startswith("http://") else f"{self.api_url}{path}"
        shown = urlsplit(url).path
        key = api_key(method, shown)
        deadline = self._clock() + self.retry_timeout
        attempt = 0  # every call sent
        failures = 0  # 5xx and connection errors only: a throttled call spends none of the error budget
        renewed = False
        while True:
            attempt += 1
            self.limiter.acquire(key)
            headers = {"Authorization": f"Bearer {self.token()}", "Accept": "application/json"}
            self.stats[key] += 1
            try:
                response = self.session.request(method, url, params=params, json=body, headers=headers)
            except requests.exceptions.SSLError as exc:
                self.limiter.settle(key)
                raise tls_error(exc, urlsplit(url).netloc, method=method, path=shown) from None
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                self.limiter.settle(key)
                kind = "Timeout" if isinstance(exc, requests.exceptions.Timeout) else "ConnectionError"
                self.stats["connection_errors"] += 1
                if method != "GET" and not _never_sent(exc):
                    raise AmbiguousRequestError(f"No answer ({kind}); the request may have been carried out",
                                                code=kind, method=method, path=shown) from None
                failures += 1
                delay = self._backoff(failures)
                if failures < self.max_attempts and self._clock() + delay < deadline:
                    self._sleep(delay)
                    continue
                raise DefenderError(f"No answer from {urlsplit(url).netloc} after {attempt} attempts ({kind}: {short_reason(exc)})",
                                    code=kind, method=method, path=shown) from None

            self.limiter.settle(key)
            status = response.status_code
            if status == 401 and self.tokens.refreshable and not renewed:
                renewed = True  # a token can expire mid-run: renew once, then report
                self._renew_token()
                continue
            if status == 429:
                self.stats["429"] += 1
                delay = _retry_after(response)
                delay = self._backoff(attempt - failures) if delay is None else delay
                if self._clock() + delay > deadline:
                    error = error_from_response(response, method, shown)
                    error.message += f" (still throttled after {self.retry_timeout:g} s of retries)"
                    raise error
                self.limiter.block(key, delay)
                continue
            if status >= 500:
                self.stats["5xx"] += 1
                if method != "GET":
                    raise error_from_response(response, method, shown, cls=AmbiguousRequestError)
                failures += 1
                delay = _retry_after(response) or self._backoff(failures)
                if failures < self.max_attempts and self._clock() + delay < deadline:
                    self._sleep(delay)
                    continue
            if status >= 400:
                raise error_from_response(response, method, shown)
            if status == 204 or not response.content:
                return None
            try:
                return response.json()
            except ValueError:
                raise DefenderError(f"The API answered HTTP {status} with a body that is not JSON", status=status,
                                    code="InvalidResponse", method=method, path=shown) from None

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter, capped at 30 s."""
        return min(30.0, self.backoff_base * (2 ** (attempt - 1))) * random.uniform(0.5, 1.0)  # nosec - not crypto
