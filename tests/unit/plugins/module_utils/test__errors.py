# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Error texts a person reads: connection failures with their cause, reasons never cut mid-word, hints."""

from __future__ import annotations

import socket
import threading

import pytest
import requests
import urllib3

from ansible_collections.secops.defender.plugins.module_utils._errors import (
    DefenderError,
    connection_error,
    endpoint_of,
    short_reason,
)


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no HTTPS_PROXY or CA bundle from the machine running the tests
    return session


def _raised(call) -> Exception:
    with pytest.raises(requests.exceptions.RequestException) as info:
        call()
    return info.value


@pytest.fixture(name="closed_port")
def fixture_closed_port():
    """A localhost port that nothing listens on: bound (so no one else takes it) but never listening."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


@pytest.fixture(name="silent_port")
def fixture_silent_port():
    """A port that accepts connections (the kernel's backlog) and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield sock.getsockname()[1]
    sock.close()


@pytest.fixture(name="not_tls_port")
def fixture_not_tls_port():
    """A server that answers a TLS handshake with plain text."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)

    def serve():
        try:
            conn = sock.accept()[0]
        except OSError:
            return
        with conn:
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield sock.getsockname()[1]
    sock.close()
    thread.join(5)


# --- short_reason ------------------------------------------------------------------------------------------
def test_refused_connection_reason_is_the_errno_text(closed_port):
    exc = _raised(lambda: _session().post(f"https://127.0.0.1:{closed_port}/t/oauth2/v2.0/token", timeout=5))
    assert "Caused by NewConnectionError" in str(exc)  # what requests gives
    assert short_reason(exc) == "Connection refused"


def test_unresolvable_host_reason_names_the_host():
    exc = _raised(lambda: _session().get("https://nonexistent.invalid/api/machines", timeout=5))
    reason = short_reason(exc)
    assert reason.startswith("Failed to resolve 'nonexistent.invalid' (")
    assert "HTTPSConnection" not in reason and "[Errno" not in reason and reason.endswith(")")


def test_tls_reason_is_the_ssl_reason_without_the_c_source_location(not_tls_port):
    exc = _raised(lambda: _session().get(f"https://127.0.0.1:{not_tls_port}/", timeout=5))
    assert isinstance(exc, requests.exceptions.SSLError) and "(_ssl.c:" in str(exc)
    reason = short_reason(exc)
    assert reason.startswith("[SSL: ") and "_ssl.c" not in reason and not reason.endswith(("'", ")"))


def test_tls_reason_keeps_a_quoted_name_inside_it():
    exc = requests.exceptions.SSLError(
        "HTTPSConnectionPool(host='10.0.0.1', port=443): Max retries exceeded with url: /x (Caused by SSLError("
        "SSLCertVerificationError(1, \"[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: IP address mismatch, "
        "certificate is not valid for '10.0.0.1'. (_ssl.c:1006)\")))")
    assert short_reason(exc) == ("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: IP address mismatch, "
                                 "certificate is not valid for '10.0.0.1'.")


def test_read_timeout_reason(silent_port):
    exc = _raised(lambda: _session().get(f"http://127.0.0.1:{silent_port}/", timeout=0.2))
    assert short_reason(exc) == "Read timed out. (read timeout=0.2)"


def test_aborted_connection_reason():
    exc = requests.exceptions.ConnectionError(urllib3.exceptions.ProtocolError(
        "Connection aborted.", ConnectionResetError(104, "Connection reset by peer")))
    assert short_reason(exc) == "Connection aborted: Connection reset by peer"


def test_a_long_reason_is_cut_between_words_with_an_ellipsis():
    exc = OSError("the proxy said " + "something rather long " * 30)
    reason = short_reason(exc, limit=80)
    assert reason.endswith("…") and len(reason) <= 81
    assert reason[:-1].split()[-1] in ("something", "rather", "long")  # a whole word before the ellipsis
    assert short_reason(OSError("short")) == "short"


def test_an_unbroken_reason_longer_than_the_limit_is_still_cut():
    assert short_reason(OSError("x" * 50), limit=10) == "x" * 10 + "…"


# --- connection_error --------------------------------------------------------------------------------------
def test_refused_login_endpoint(closed_port):
    url = f"https://127.0.0.1:{closed_port}/tenant/oauth2/v2.0/token"
    error = connection_error(_raised(lambda: _session().post(url, timeout=5)), url, "authority_url", method="POST")
    assert error.code == "ConnectionRefused" and error.status is None
    assert error.message == f"Connection refused by 127.0.0.1:{closed_port} (POST {url}): check authority_url and proxy"


def test_refused_api_call_leaves_method_and_path_to_the_error(closed_port):
    url = f"https://127.0.0.1:{closed_port}/api/machines"
    error = connection_error(_raised(lambda: _session().get(url, timeout=5)), url, "api_url", method="GET",
                             path="/api/machines")
    assert (error.method, error.path) == ("GET", "/api/machines")
    assert str(error).startswith(f"GET /api/machines: Connection refused by 127.0.0.1:{closed_port}: check api_url "
                                 "and proxy (code ConnectionRefused). ")


def test_unresolvable_host():
    url = "https://nonexistent.invalid/tenant/v2.0/.well-known/openid-configuration"
    error = connection_error(_raised(lambda: _session().get(url, timeout=5)), url, "authority_url", method="GET")
    assert error.code == "NameResolutionError"
    assert error.message == f"The host name nonexistent.invalid could not be resolved (GET {url}): check authority_url and proxy"


def test_read_timeout_says_after_how_long(silent_port):
    url = f"http://127.0.0.1:{silent_port}/token"
    error = connection_error(_raised(lambda: _session().post(url, timeout=0.2)), url, "authority_url", method="POST")
    assert error.code == "Timeout"
    assert error.message == (f"Timed out after 0.2 s waiting for 127.0.0.1:{silent_port} to answer (POST {url}): "
                             "raise timeout, or check authority_url and proxy")


def test_connect_timeout_as_requests_raises_it():
    pool = urllib3.HTTPSConnectionPool("login.test", 443)
    reason = urllib3.exceptions.ConnectTimeoutError(None, "Connection to login.test timed out. (connect timeout=5)")
    exc = requests.exceptions.ConnectTimeout(urllib3.exceptions.MaxRetryError(pool, "/t/oauth2/v2.0/token", reason))
    error = connection_error(exc, "https://login.test/t/oauth2/v2.0/token", "authority_url")
    assert error.code == "Timeout"
    assert error.message == ("Timed out after 5 s connecting to login.test:443 (https://login.test/t/oauth2/v2.0/token): "
                             "check authority_url and proxy, or raise timeout")


def test_refused_proxy_names_the_proxy(closed_port):
    session = _session()
    session.proxies = {"https": f"http://127.0.0.1:{closed_port}"}
    url = "https://api.test/api/machines"
    error = connection_error(_raised(lambda: session.get(url, timeout=5)), url, "api_url", method="GET")
    assert error.code == "ProxyError"
    assert error.message == (f"Cannot reach api.test:443 through the proxy 127.0.0.1:{closed_port} (GET {url}): "
                             "Unable to connect to proxy: Connection refused; check proxy")


def test_tls_failure_is_a_tls_error(not_tls_port):
    url = f"https://127.0.0.1:{not_tls_port}/"
    error = connection_error(_raised(lambda: _session().get(url, timeout=5)), url, "api_url")
    assert error.code == "TLSError" and "ca_path" in str(error)
    assert error.message.startswith(f"TLS verification failed for 127.0.0.1:{not_tls_port}: [SSL: ")


def test_other_connection_failures_keep_their_reason():
    exc = requests.exceptions.ConnectionError(urllib3.exceptions.ProtocolError(
        "Connection aborted.", ConnectionResetError(104, "Connection reset by peer")))
    error = connection_error(exc, "https://api.test/api/machines", "api_url", method="GET")
    assert error.code == "ConnectionError"
    assert error.message == ("Connection to api.test:443 failed (GET https://api.test/api/machines): Connection aborted: "
                             "Connection reset by peer; check api_url and proxy")


@pytest.mark.parametrize("url, endpoint", [
    ("https://login.test/t", "login.test:443"),
    ("http://127.0.0.1:8080/x", "127.0.0.1:8080"),
    ("https://[::1]:9/x", "[::1]:9"),
])
def test_endpoint_spells_out_the_port(url, endpoint):
    assert endpoint_of(url) == endpoint


# --- hints -------------------------------------------------------------------------------------------------
def test_extra_hint_follows_the_code_hint():
    error = DefenderError("Forbidden", status=403, code="Forbidden",
                          extra_hint="The token's audience is https://graph.microsoft.com, the API expects X")
    text = str(error)
    assert text.index("grant admin consent") < text.index("The token's audience is https://graph.microsoft.com")
    assert text.endswith("the API expects X.")


def test_extra_hint_without_a_code_hint():
    assert str(DefenderError("boom", code="NoSuchCode", extra_hint="Look here.")) == "boom (code NoSuchCode). Look here."


def test_forbidden_hint_names_read_write_as_the_permission_to_grant():
    hint = DefenderError("x", status=403, code="Forbidden").hint
    assert "Machine.StopAndQuarantine AND Machine.ReadWrite.All" in hint
