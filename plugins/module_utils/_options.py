# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The environment variable of each shared connection option: the one table the argument spec's fallbacks
(_module.DEFENDER_AUTH_ARGSPEC), the messages that name a missing option (_auth) and the doc fragments' checks
(tests/unit/test_connection_options.py) read. Plain data, no Ansible."""

from __future__ import annotations

OPTION_ENV = {
    "tenant_id": "AZURE_TENANT_ID",
    "client_id": "AZURE_CLIENT_ID",
    "client_secret": "AZURE_CLIENT_SECRET",
    "client_secret_file": "DEFENDER_CLIENT_SECRET_FILE",
    "client_certificate_path": "AZURE_CLIENT_CERTIFICATE_PATH",
    "client_certificate_password": "AZURE_CLIENT_CERTIFICATE_PASSWORD",
    "client_certificate_password_file": "DEFENDER_CLIENT_CERTIFICATE_PASSWORD_FILE",
    "access_token": "DEFENDER_ACCESS_TOKEN",
    "token_cache_path": "DEFENDER_TOKEN_CACHE_PATH",
    "auth_method": "DEFENDER_AUTH_METHOD",
    "managed_identity_client_id": "DEFENDER_MANAGED_IDENTITY_CLIENT_ID",
    "federated_token_file": "AZURE_FEDERATED_TOKEN_FILE",
    "cloud": "DEFENDER_CLOUD",
    "api_url": "DEFENDER_API_URL",
    "authority_url": "DEFENDER_AUTHORITY_URL",
    "scope": "DEFENDER_SCOPE",
    "validate_certs": "DEFENDER_VALIDATE_CERTS",
    "ca_path": "DEFENDER_CA_PATH",
    "proxy": "DEFENDER_PROXY",
    "timeout": "DEFENDER_TIMEOUT",
    "retry_timeout": "DEFENDER_RETRY_TIMEOUT",
    "calls_per_minute": "DEFENDER_CALLS_PER_MINUTE",
    "calls_per_hour": "DEFENDER_CALLS_PER_HOUR",
}
