# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Authentication and connection options shared by every module (plugins/module_utils/_module.py);
    PACING adds the rate-limit and retry options of the modules that call the API; PLUGINS adds, for
    plugins (the machines inventory), where else each option is read from (env, ansible.cfg, variables)."""

    DOCUMENTATION = r"""
options:
  tenant_id:
    description:
      - Microsoft Entra ID tenant (directory) id of the app registration.
      - Required for client secret and certificate authentication.
      - If not set, the value of the E(AZURE_TENANT_ID) environment variable is used.
    type: str
  client_id:
    description:
      - Application (client) id of the app registration that holds the WindowsDefenderATP application permissions.
      - If not set, the value of the E(AZURE_CLIENT_ID) environment variable is used.
    type: str
  client_secret:
    description:
      - Client secret of the app registration.
      - If not set, the value of the E(AZURE_CLIENT_SECRET) environment variable is used.
      - Ignored when O(access_token) or O(client_certificate_path) is given.
      - Mutually exclusive with O(client_secret_file).
    type: str
  client_secret_file:
    description:
      - Path to a file that holds the client secret, for O(client_secret).
      - Use it where a secret must not be in the environment of the process, for example the AWX credential
        type's file injector or a mounted Kubernetes secret. The secret never appears in the environment, or in
        what a job engine records of it.
      - The file is read when the task runs. Line endings after the secret are ignored. A file that cannot be read,
        or is empty, fails the task before any request.
      - If not set, the value of the E(DEFENDER_CLIENT_SECRET_FILE) environment variable is used.
    type: path
    version_added: 2.0.0
  client_certificate_path:
    description:
      - Path to one PEM file holding the certificate registered on the app and its private key.
      - The SHA-1 thumbprint Entra ID expects is computed from the certificate unless O(client_certificate_thumbprint) is given.
      - Takes precedence over O(client_secret).
      - If not set, the value of the E(AZURE_CLIENT_CERTIFICATE_PATH) environment variable is used.
    type: path
  client_certificate_password:
    description:
      - Passphrase of an encrypted private key in O(client_certificate_path).
      - If not set, the value of the E(AZURE_CLIENT_CERTIFICATE_PASSWORD) environment variable is used.
      - Mutually exclusive with O(client_certificate_password_file).
    type: str
  client_certificate_password_file:
    description:
      - Path to a file that holds the passphrase, for O(client_certificate_password). It is read in the same
        way as O(client_secret_file).
      - If not set, the value of the E(DEFENDER_CLIENT_CERTIFICATE_PASSWORD_FILE) environment variable is used.
    type: path
    version_added: 2.0.0
  client_certificate_thumbprint:
    description:
      - SHA-1 thumbprint (hex) of the certificate, when the PEM file holds only the private key.
    type: str
  access_token:
    description:
      - A bearer token obtained beforehand (for example by M(secops.defender.defender_token) or C(az account get-access-token)).
      - When given, no other credential is used and C(msal) is not needed. The token is not renewed when it expires.
      - If not set, the value of the E(DEFENDER_ACCESS_TOKEN) environment variable is used.
    type: str
  token_cache_path:
    description:
      - Opt-in file where C(msal) keeps tokens between tasks, so a play of many tasks asks for one token per hour
        instead of one per task.
      - Created with mode C(0600); an existing file readable by group or others is refused.
      - If not set, the value of the E(DEFENDER_TOKEN_CACHE_PATH) environment variable is used.
    type: path
  auth_method:
    description:
      - How to obtain the token.
      - V(auto) takes the first of these that is set, in this order. O(access_token); O(client_certificate_path)
        (V(certificate)); O(client_secret) or O(client_secret_file); O(federated_token_file) (V(workload_identity));
        a managed identity endpoint in the environment, such as E(IDENTITY_ENDPOINT) on App Service, or
        O(managed_identity_client_id) (V(managed_identity)).
      - V(managed_identity) uses the Azure managed identity of the host (VM, App Service, Functions, Arc-enabled
        server); C(msal) finds its endpoint, the VM's instance metadata service (IMDS) by default. Set it
        explicitly on an Azure VM, where nothing in the environment shows the identity.
      - V(workload_identity) exchanges the federated token in O(federated_token_file) for a token of the app
        O(client_id) in O(tenant_id) (AKS workload identity, or any OIDC issuer the app trusts).
      - An explicit method whose inputs are missing fails before any request.
      - The method used is returned as C(auth_method) by the modules that report it, never the credential.
      - If not set, the value of the E(DEFENDER_AUTH_METHOD) environment variable is used.
    type: str
    default: auto
    choices: [auto, access_token, client_secret, certificate, managed_identity, workload_identity]
  managed_identity_client_id:
    description:
      - Client id of the user-assigned managed identity to use when the host has more than one identity.
      - Without it, the system-assigned identity is used.
      - Not read from E(AZURE_CLIENT_ID), which names the app registration for the other methods.
      - If not set, the value of the E(DEFENDER_MANAGED_IDENTITY_CLIENT_ID) environment variable is used.
    type: str
  federated_token_file:
    description:
      - File holding the federated token (a JWT from an identity provider the app trusts) for V(workload_identity).
      - Read again for every token request, since the issuer rotates it.
      - The AKS workload identity webhook sets E(AZURE_FEDERATED_TOKEN_FILE), E(AZURE_CLIENT_ID) and
        E(AZURE_TENANT_ID) in the pod.
      - If not set, the value of the E(AZURE_FEDERATED_TOKEN_FILE) environment variable is used.
    type: path
  cloud:
    description:
      - Microsoft cloud of the tenant; picks the API host, the login authority and the token scope.
      - V(commercial) uses C(https://api.security.microsoft.com), C(https://login.microsoftonline.com)
        and C(https://api.securitycenter.microsoft.com/.default).
      - V(gcc) uses C(https://api-gcc.securitycenter.microsoft.us) and C(https://login.microsoftonline.com).
      - V(gcc_high) and V(dod) use C(https://api-gov.securitycenter.microsoft.us) and C(https://login.microsoftonline.us).
      - If not set, the value of the E(DEFENDER_CLOUD) environment variable is used.
    type: str
    default: commercial
    choices: [commercial, dod, gcc, gcc_high]
  api_url:
    description:
      - Base URL of the API, overriding the cloud's, for example a regional host such as
        C(https://eu.api.security.microsoft.com) or a local emulator.
      - Must be C(https://) (plain C(http://) only to a loopback address). A trailing C(/api) is ignored.
      - If not set, the value of the E(DEFENDER_API_URL) environment variable is used.
    type: str
  authority_url:
    description:
      - Login host overriding the cloud's, for example C(https://login.microsoftonline.us). The tenant id is appended.
      - If not set, the value of the E(DEFENDER_AUTHORITY_URL) environment variable is used.
    type: str
  scope:
    description:
      - Token scope overriding the cloud's, for example C(https://securitycenter.onmicrosoft.com/windowsatpservice/.default).
      - If not set, the value of the E(DEFENDER_SCOPE) environment variable is used.
    type: str
  validate_certs:
    description:
      - Whether to check the TLS certificates of the API and login hosts. Setting it to V(false) prints a warning.
      - Applies even when E(REQUESTS_CA_BUNDLE) is set in the environment.
      - If not set, the value of the E(DEFENDER_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
  ca_path:
    description:
      - PEM bundle of the CA(s) to trust for the API and login hosts (for example a TLS-inspecting proxy's CA).
      - Applies to the token requests too, and wins over E(REQUESTS_CA_BUNDLE).
      - If not set, the value of the E(DEFENDER_CA_PATH) environment variable is used.
    type: path
  proxy:
    description:
      - HTTP(S) proxy URL for every call, for example C(http://proxy.example.com:3128).
      - If not set, the value of the E(DEFENDER_PROXY) environment variable is used, else the usual
        E(HTTPS_PROXY) and E(NO_PROXY) environment variables apply.
    type: str
  timeout:
    description:
      - Seconds to wait for each HTTP answer.
      - If not set, the value of the E(DEFENDER_TIMEOUT) environment variable is used.
    type: float
    default: 30
requirements:
  - requests
  - msal (for every O(auth_method) but V(access_token); managed identity needs msal 1.29 or later)
notes:
  - Secrets (O(client_secret), O(client_certificate_password), O(access_token), O(proxy)) are never returned or logged.
"""

    # The pacing and retry options, for modules that call the Defender API (defender_token only gets a token).
    PACING = r"""
options:
  retry_timeout:
    description:
      - Total seconds one call may spend waiting on C(429 Too Many Requests) (honouring C(Retry-After)) and
        retrying reads after server errors or dropped connections. A write is never resent blindly.
      - If not set, the value of the E(DEFENDER_RETRY_TIMEOUT) environment variable is used.
    type: float
    default: 300
  calls_per_minute:
    description:
      - Pace of calls to each API. Microsoft allows 100 calls per minute per API; lower it when other
        automation shares the app.
      - If not set, the value of the E(DEFENDER_CALLS_PER_MINUTE) environment variable is used.
    type: int
    default: 100
  calls_per_hour:
    description:
      - Hourly budget of calls to each API (Microsoft allows 1,500).
      - If not set, the value of the E(DEFENDER_CALLS_PER_HOUR) environment variable is used.
    type: int
    default: 1500
notes:
  - Defender's API allows 100 calls per minute and 1,500 per hour per API and app; O(calls_per_minute) and
    O(calls_per_hour) pace this task's calls under those limits.
"""

    # Plugins (the machines inventory) read their options through get_option, so each option also has
    # its env var (the same name as the modules' env fallback), an ansible.cfg entry and a variable.
    # tests/unit/test_connection_options.py keeps these names equal to DEFENDER_AUTH_ARGSPEC.
    PLUGINS = r"""
options:
  tenant_id:
    env:
      - name: AZURE_TENANT_ID
    ini:
      - section: secops_defender
        key: tenant_id
        version_added: 2.0.0
    vars:
      - name: defender_tenant_id
        version_added: 2.0.0
  client_id:
    env:
      - name: AZURE_CLIENT_ID
    ini:
      - section: secops_defender
        key: client_id
        version_added: 2.0.0
    vars:
      - name: defender_client_id
        version_added: 2.0.0
  client_secret:
    env:
      - name: AZURE_CLIENT_SECRET
    ini:
      - section: secops_defender
        key: client_secret
        version_added: 2.0.0
    vars:
      - name: defender_client_secret
        version_added: 2.0.0
  client_secret_file:
    env:
      - name: DEFENDER_CLIENT_SECRET_FILE
    ini:
      - section: secops_defender
        key: client_secret_file
        version_added: 2.0.0
    vars:
      - name: defender_client_secret_file
        version_added: 2.0.0
  client_certificate_path:
    env:
      - name: AZURE_CLIENT_CERTIFICATE_PATH
    ini:
      - section: secops_defender
        key: client_certificate_path
        version_added: 2.0.0
    vars:
      - name: defender_client_certificate_path
        version_added: 2.0.0
  client_certificate_password:
    env:
      - name: AZURE_CLIENT_CERTIFICATE_PASSWORD
    ini:
      - section: secops_defender
        key: client_certificate_password
        version_added: 2.0.0
    vars:
      - name: defender_client_certificate_password
        version_added: 2.0.0
  client_certificate_password_file:
    env:
      - name: DEFENDER_CLIENT_CERTIFICATE_PASSWORD_FILE
    ini:
      - section: secops_defender
        key: client_certificate_password_file
        version_added: 2.0.0
    vars:
      - name: defender_client_certificate_password_file
        version_added: 2.0.0
  client_certificate_thumbprint:
    ini:
      - section: secops_defender
        key: client_certificate_thumbprint
        version_added: 2.0.0
    vars:
      - name: defender_client_certificate_thumbprint
        version_added: 2.0.0
  access_token:
    env:
      - name: DEFENDER_ACCESS_TOKEN
    ini:
      - section: secops_defender
        key: access_token
        version_added: 2.0.0
    vars:
      - name: defender_access_token
        version_added: 2.0.0
  token_cache_path:
    env:
      - name: DEFENDER_TOKEN_CACHE_PATH
    ini:
      - section: secops_defender
        key: token_cache_path
        version_added: 2.0.0
    vars:
      - name: defender_token_cache_path
        version_added: 2.0.0
  auth_method:
    env:
      - name: DEFENDER_AUTH_METHOD
    ini:
      - section: secops_defender
        key: auth_method
        version_added: 2.0.0
    vars:
      - name: defender_auth_method
        version_added: 2.0.0
  managed_identity_client_id:
    env:
      - name: DEFENDER_MANAGED_IDENTITY_CLIENT_ID
    ini:
      - section: secops_defender
        key: managed_identity_client_id
        version_added: 2.0.0
    vars:
      - name: defender_managed_identity_client_id
        version_added: 2.0.0
  federated_token_file:
    env:
      - name: AZURE_FEDERATED_TOKEN_FILE
    ini:
      - section: secops_defender
        key: federated_token_file
        version_added: 2.0.0
    vars:
      - name: defender_federated_token_file
        version_added: 2.0.0
  cloud:
    env:
      - name: DEFENDER_CLOUD
    ini:
      - section: secops_defender
        key: cloud
        version_added: 2.0.0
    vars:
      - name: defender_cloud
        version_added: 2.0.0
  api_url:
    env:
      - name: DEFENDER_API_URL
    ini:
      - section: secops_defender
        key: api_url
        version_added: 2.0.0
    vars:
      - name: defender_api_url
        version_added: 2.0.0
  authority_url:
    env:
      - name: DEFENDER_AUTHORITY_URL
    ini:
      - section: secops_defender
        key: authority_url
        version_added: 2.0.0
    vars:
      - name: defender_authority_url
        version_added: 2.0.0
  scope:
    env:
      - name: DEFENDER_SCOPE
    ini:
      - section: secops_defender
        key: scope
        version_added: 2.0.0
    vars:
      - name: defender_scope
        version_added: 2.0.0
  validate_certs:
    env:
      - name: DEFENDER_VALIDATE_CERTS
    ini:
      - section: secops_defender
        key: validate_certs
        version_added: 2.0.0
    vars:
      - name: defender_validate_certs
        version_added: 2.0.0
  ca_path:
    env:
      - name: DEFENDER_CA_PATH
    ini:
      - section: secops_defender
        key: ca_path
        version_added: 2.0.0
    vars:
      - name: defender_ca_path
        version_added: 2.0.0
  proxy:
    env:
      - name: DEFENDER_PROXY
    ini:
      - section: secops_defender
        key: proxy
        version_added: 2.0.0
    vars:
      - name: defender_proxy
        version_added: 2.0.0
  timeout:
    env:
      - name: DEFENDER_TIMEOUT
    ini:
      - section: secops_defender
        key: timeout
        version_added: 2.0.0
    vars:
      - name: defender_timeout
        version_added: 2.0.0
notes:
  - Plugins do not take C(module_defaults), which applies to modules only. Each option is read from, in this
    order, the plugin's configuration file, an extra variable (C(-e defender_<option>=...)), its environment
    variable, and the C([secops_defender]) section of C(ansible.cfg).
"""

    # defender_token makes no API call: it accepts the pacing options only so that module_defaults for
    # group/secops.defender.defender can set them for every module of the group.
    PACING_UNUSED = r"""
options:
  retry_timeout:
    description:
      - Accepted so that C(module_defaults) for C(group/secops.defender.defender) can set it for every module;
        this module makes no API call, so it has no effect.
    type: float
    default: 300
  calls_per_minute:
    description:
      - Accepted so that C(module_defaults) for C(group/secops.defender.defender) can set it for every module;
        this module makes no API call, so it has no effect.
    type: int
    default: 100
  calls_per_hour:
    description:
      - Accepted so that C(module_defaults) for C(group/secops.defender.defender) can set it for every module;
        this module makes no API call, so it has no effect.
    type: int
    default: 1500
"""
