# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Search the -vvvv output, ansible.log, the failure results and the emulator's log for any secret.

    python check_secrets.py INTEGRATION_CONFIG WORK_DIR
"""

from __future__ import annotations

import os
import re
import ssl
import sys
import urllib.request

import yaml

# Any JWT (header.payload.signature, base64url of '{"'): the emulator's tokens and msal's are all of this shape.
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")


def emulator_log(config: dict) -> str:
    context = ssl.create_default_context(cafile=config["defender_emulator_ca"])
    with urllib.request.urlopen(config["defender_emulator_url"] + "/_emulator/log", context=context,  # nosec - loopback
                                timeout=30) as answer:
        return answer.read().decode()


def secrets(config: dict, work: str) -> dict:
    found = {name: value for name, value in config.items() if name.endswith("_client_secret")}
    with open(config["defender_cert_certificate_path"], encoding="utf-8") as handle:
        pem = handle.read()
    key = re.search(r"-----BEGIN [A-Z ]*PRIVATE KEY-----\s+(.+?)\s+-----END", pem, re.DOTALL).group(1).split()
    found["private key (first line)"] = key[0]
    found["private key (a middle line)"] = key[len(key) // 2]
    with open(f"{work}/token.txt", encoding="utf-8") as handle:
        token = handle.read().strip()
    found["access token"] = token
    found["access token signature"] = token.rsplit(".", 1)[-1]
    return found


def main(config_path: str, work: str) -> int:
    with open(config_path, encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    places = {"-vvvv output": f"{work}/output.txt", "ansible.log (log_path)": f"{work}/ansible.log",
              "failure results (msg, warnings)": f"{work}/failures.json"}
    texts = {}
    for place, path in places.items():
        with open(path, encoding="utf-8") as handle:
            texts[place] = handle.read()
    texts["emulator request log"] = emulator_log(config)
    leaks = []
    for place, text in texts.items():
        assert len(text) > 1000, f"{place} is suspiciously short ({len(text)} characters)"
        for name, value in secrets(config, work).items():
            if value and value in text:
                leaks.append(f"{name} in {place}")
        for match in JWT.finditer(text):
            leaks.append(f"a JWT ({match.group(0)[:12]}...) in {place}")
    checks = len(secrets(config, work)) * len(texts)
    print(f"searched {len(texts)} places ({', '.join(texts)}) for {len(secrets(config, work))} secrets and any JWT: "
          f"{checks} checks, {len(leaks)} leaks")
    mode = os.stat(f"{work}/token-cache.json").st_mode & 0o777
    print(f"token cache file mode {mode:04o}" + (" (owner only)" if mode == 0o600 else " NOT 0600"))
    if mode != 0o600:
        leaks.append(f"token cache file mode {mode:04o}")
    for leak in leaks:
        print(f"LEAK: {leak}")
    return 1 if leaks else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
