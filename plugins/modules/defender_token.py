#!/usr/bin/python
# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: defender_token
short_description: Get one Defender for Endpoint API token to reuse across tasks
version_added: 1.0.0
description:
  - Acquires an access token for the Defender for Endpoint API with the collection's usual credentials
    (client secret or certificate) and returns it, so that the tasks that follow can pass it as O(access_token)
    (through C(module_defaults)) instead of each asking the login endpoint for a token of its own.
  - The token is a secret. The task B(must) set C(no_log) to V(true); the module refuses to run otherwise, so the token
    cannot end up in the job output by accident.
  - Tokens live about one hour. For plays that run longer, prefer O(token_cache_path), which renews tokens as needed.
author:
  - secops.defender contributors (@secops)
options:
  access_token:
    description:
      - Not used by this module (it would return the same token).
    type: str
extends_documentation_fragment:
  - secops.defender.auth
  - secops.defender.auth.pacing_unused
  - secops.defender.attributes
  - secops.defender.attributes.DIFF_NONE
attributes:
  check_mode:
    support: full
    description: A token is requested in check mode too; nothing in Defender changes either way.
notes:
  - The permissions of the token are those granted to the app registration; RV(roles) lists them.
seealso:
  - module: secops.defender.defender_stop_quarantine
"""

EXAMPLES = r"""
- name: One token for the whole play
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Get a token (never shown)
      secops.defender.defender_token:
        tenant_id: "{{ defender_tenant_id }}"
        client_id: "{{ defender_client_id }}"
        client_secret: "{{ defender_client_secret }}"
      register: defender
      no_log: true

    - name: Use it for every Defender task of the block
      module_defaults:
        group/secops.defender.defender:
          access_token: "{{ defender.access_token }}"
      block:
        - name: Quarantine on many devices, one task each
          secops.defender.defender_stop_quarantine:
            machine_id: "{{ item }}"
            sha1: 87662bc3d60e4200ceaf7aae249d1c343f4b83c9
            comment: INC-4711
          loop: "{{ affected_machine_ids }}"
"""

RETURN = r"""
access_token:
  description: The bearer token. Keep it out of logs (C(no_log) set to V(true)).
  returned: success
  type: str
expires_on:
  description: When the token expires (UTC, ISO 8601), from its C(exp) claim.
  returned: when the token carries an C(exp) claim
  type: str
  sample: "2026-11-28T18:25:01Z"
roles:
  description: Application permissions the token carries (its C(roles) claim).
  returned: success
  type: list
  elements: str
  sample: [Machine.StopAndQuarantine, Machine.Read.All]
auth_method:
  description: How the token was obtained (C(client_secret), C(certificate), ...).
  returned: success
  type: str
"""

from datetime import datetime, timezone

from ansible_collections.secops.defender.plugins.module_utils._auth import token_claims
from ansible_collections.secops.defender.plugins.module_utils._module import DefenderModule


def run(module: DefenderModule) -> None:
    if not module.no_log:
        module.fail(msg="defender_token returns a secret: set no_log: true on this task")
    if module.params["access_token"]:
        module.fail(msg="access_token is given already; defender_token acquires a token from client credentials")
    client = module.client
    token = client.token()
    claims = token_claims(token) or {}
    result = {"changed": False, "access_token": token, "auth_method": client.tokens.method,
              "roles": sorted(claims.get("roles") or [])}
    if isinstance(claims.get("exp"), (int, float)):
        result["expires_on"] = datetime.fromtimestamp(claims["exp"], timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    module.exit(**result)


def main():
    # Only gets a token: the pacing options are accepted (module_defaults for the group) and have no effect.
    module = DefenderModule(supports_check_mode=True)
    module.run(run)


if __name__ == "__main__":
    main()
