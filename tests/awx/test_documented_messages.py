# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""docs/troubleshooting.md quotes the messages users get, and keeps doing so.

tests/awx/messages.yml produces each of them against the emulator, with the collection installed from its
tarball (as in the AWX harness) and a real ansible-playbook. Each quote below must appear in the page as it
is (white space aside) and match the message the module gave, where "…" in a quote stands for the parts that
differ from run to run (ids, hosts, ports, times).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

import awx_job

PAGE = os.path.join(awx_job.ROOT, "docs", "troubleshooting.md")

QUOTES = {
    "os_platform": ["POST /api/machines/3eb8…/StopAndQuarantineFile: OS Platform Linux isn't supported for this action. "
                    "(HTTP 400, code OsPlatformNotSupported, request id …). Stop and quarantine runs on …"],
    "resource_not_found": ["Machine … was not found"],
    "missing_permission": ["The token for this app cannot stop and quarantine files: it lacks the application permission(s) "
                           "Machine.Read.All or Machine.ReadWrite.All of the WindowsDefenderATP API. Add them under API "
                           "permissions and grant admin consent."],
    "read_all_warning": ["The token has Machine.Read.All but not Machine.ReadWrite.All: …"],
    "forbidden": ["The application does not have any of the required application permissions (Machine.Read.All, "
                  "Machine.ReadWrite.All) to access the resource."],
    "disabled_feature": ["Tenant feature isn't enabled"],
    "audience": ["The token's audience is https://graph.microsoft.com, the API expects "
                 "https://api.securitycenter.microsoft.com: check scope and cloud"],
    "throttled": ["still throttled after … s of retries and the service asks to wait … s more (Retry-After), beyond what "
                  "is left of retry_timeout (… of … s)"],
    "expired_token": ["The access_token expired at … UTC (… ago) and cannot be renewed: obtain a new access_token or give "
                      "client credentials (client_id/client_secret) so the module can renew it"],
    "revoked_token": ["The access_token was rejected although its exp claim says it is valid until … UTC: it may have been "
                      "revoked or be for another tenant, cloud or API, and it cannot be renewed"],
    "invalid_tenant": ["Tenant … was not found at … (AADSTS90002): check tenant_id (AZURE_TENANT_ID) and cloud"],
    "invalid_secret": ["Invalid client secret provided. Ensure the secret being sent in the request is the client secret "
                       "value, not the client secret ID"],
    "app_not_found": ["Application with identifier '…' was not found in the directory '…'"],
    "login_503": ["The login endpoint answered HTTP 503 to GET …; try again later"],
    "wait_timeout": ["action … still Pending after wait_timeout (… s) (code WaitTimeout)"],
    "action_failed": ["action … ended Failed (errorHResult -2147024894)"],
    "tls_token": ["TLS verification failed for …: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get "
                  "local issuer certificate (code TLSError)"],
    "tls_api": ["GET /api/machines/…: TLS verification failed for …"],
    "connection_refused": ["Connection refused by 127.0.0.1:9 (GET https://127.0.0.1:9/…/v2.0/.well-known/openid-configuration): "
                           "check authority_url and proxy"],
    "name_resolution": ["The host name login.contoso.invalid could not be resolved (GET https://login.contoso.invalid/…): "
                        "check authority_url and proxy"],
    "timed_out": ["Timed out after … s waiting for … to answer: raise timeout, or check api_url and proxy"],
    "proxy_error": ["Cannot reach … through the proxy … (GET …): Unable to connect to proxy: Connection refused; check proxy"],
    "connection_error": ["Connection to … failed: Connection aborted: Remote end closed connection without response; "
                         "check api_url and proxy"],
    "no_credentials": ["No credentials: give access_token, or tenant_id and client_id with client_secret or "
                       "client_certificate_path (or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET), or set "
                       "auth_method to managed_identity or workload_identity"],
    "secret_file_missing": ["client_secret_file …/no-such-secret: cannot read the file (No such file or directory)"],
    "secret_file_empty": ["client_secret_file …/empty-secret is empty"],
    "insecure_cache": ["token_cache_path … is readable by other users (mode 0644); it holds bearer tokens: chmod 600 it"],
    "cache_not_a_directory": ["token_cache_path …/tokens.json: … is not a directory"],
    "cache_not_a_file": ["token_cache_path …: is not a regular file: point token_cache_path at a file"],
    "cache_not_json": ["token_cache_path … is not a valid token cache (not JSON); starting a new one"],
}


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def as_pattern(quote: str) -> re.Pattern:
    return re.compile(".*?".join(re.escape(part) for part in flat(quote).split("…")), re.S)


@pytest.fixture(scope="module")
def page() -> str:
    with open(PAGE, encoding="utf-8") as handle:
        return flat(handle.read())


@pytest.fixture(scope="module")
def messages(emulator, awx_project, tmp_path_factory) -> dict:
    """Every case of messages.yml: the module's msg, error_code and warnings; the role's report."""
    work = tmp_path_factory.mktemp("messages")
    clients = emulator.info["clients"]
    variables = {"emulator_url": emulator.info["url"], "emulator_ca": emulator.info["ca_path"],
                 "tenant_id": emulator.info["tenant_id"], "full_client_id": clients["full"]["client_id"],
                 "full_client_secret": clients["full"]["client_secret"],
                 "quarantine_only_client_id": clients["quarantine-only"]["client_id"],
                 "quarantine_only_client_secret": clients["quarantine-only"]["client_secret"],
                 "state_dir": str(work), "messages_out": str(work / "messages.json")}
    (work / "vars.json").write_text(json.dumps(variables))
    env = awx_job.execution_node_env({"ANSIBLE_COLLECTIONS_PATH": awx_project["collections"], "ANSIBLE_NOCOLOR": "1"})
    run = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "-c", "local",
                          "-e", f"ansible_python_interpreter={sys.executable}", "-e", f"@{work / 'vars.json'}",
                          os.path.join(os.path.dirname(__file__), "messages.yml")],
                         env=env, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    with open(work / "messages.json", encoding="utf-8") as handle:
        return json.load(handle)


@pytest.mark.parametrize("case", sorted(QUOTES))
def test_the_page_quotes_the_message_users_get(case, messages, page):
    result = messages[case]
    said = flat(" ".join([result.get("msg") or ""] + list(result.get("warnings") or [])))
    assert said, f"{case}: the task said nothing: {result}"
    for quote in QUOTES[case]:
        assert flat(quote) in page, f"docs/troubleshooting.md does not quote: {quote}"
        assert as_pattern(quote).search(said), f"{case}: the page says {quote!r}, users get {said!r}"


def test_the_page_names_the_keys_of_a_failed_device(messages, page):
    # The module's failed_machines entries and the role's report entries do not use the same key for the code.
    [module_entry] = messages["fleet_failure"]["failed_machines"]
    [report_entry] = messages["role_report"]["failed_machines"]
    assert {"machine_id", "code", "message"} <= set(module_entry)
    assert {"machine_id", "error_code", "message"} <= set(report_entry) and "code" not in report_entry
    module_sentence = re.search(r"[^.]*`failed_machines` with `machine_id`, `code` and `message`[^.]*", page)
    report_sentence = re.search(r"[^.]*`defender_quarantine_report\.failed_machines`[^.]*`error_code`[^.]*", page)
    assert module_sentence and report_sentence, "the page must name both: the module's code, the report's error_code"
