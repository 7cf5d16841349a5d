# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test helper for runme.sh: talk to the emulator's control API and read inventory output.

    python emulator.py CONFIG env                 # shell exports for the auth options (the full client)
    python emulator.py CONFIG reset               # reset the emulator to its start seed
    python emulator.py CONFIG count METHOD PATH   # requests in the log with this method and exact path
    python emulator.py CONFIG groups FILE         # 'group: host,host' lines from ansible-inventory --list JSON
"""

from __future__ import annotations

import json
import shlex
import ssl
import sys
import urllib.request

import yaml


def call(config: dict, method: str, path: str, body=None):
    context = ssl.create_default_context(cafile=config["defender_emulator_ca"])
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(config["defender_emulator_url"] + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, context=context, timeout=30) as response:  # nosec - test helper, loopback
        text = response.read()
    return json.loads(text) if text else None


def main(argv: list) -> None:
    with open(argv[0], encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    command = argv[1]
    if command == "env":
        values = {
            "AZURE_TENANT_ID": config["defender_tenant_id"],
            "AZURE_CLIENT_ID": config["defender_full_client_id"],
            "AZURE_CLIENT_SECRET": config["defender_full_client_secret"],
            "DEFENDER_API_URL": config["defender_emulator_url"],
            "DEFENDER_AUTHORITY_URL": config["defender_emulator_url"],
            "DEFENDER_CA_PATH": config["defender_emulator_ca"],
        }
        print("".join(f"export {key}={shlex.quote(str(value))}\n" for key, value in values.items()), end="")
    elif command == "reset":
        call(config, "POST", "/_emulator/reset", {})
    elif command == "count":
        requests = call(config, "GET", "/_emulator/log")["requests"]
        print(sum(1 for r in requests if r["method"] == argv[2] and r["path"] == argv[3]))
    elif command == "groups":
        with open(argv[2], encoding="utf-8") as handle:
            inventory = json.load(handle)
        for group, data in sorted(inventory.items()):
            if group != "_meta":
                print(f"{group}: {','.join(sorted(data.get('hosts', [])))}")
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main(sys.argv[1:])
