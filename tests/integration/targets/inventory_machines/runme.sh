#!/usr/bin/env bash
# The secops.defender.machines inventory plugin against the emulator: groups, filters, host vars,
# a play over a keyed group, options from the environment, ansible.cfg and extra vars, caching, and a
# failed read (wrong secret) with and without unparsed_is_failed.
set -eux

python=${ANSIBLE_TEST_PYTHON_INTERPRETER:-python}
config=../../integration_config.yml
helper() { "$python" files/emulator.py "$config" "$@"; }
expect_groups() { # FILE then "group: hosts" lines that must be present exactly
    helper groups "$1" > groups.txt
    cat groups.txt
    shift
    for line in "$@"; do grep -qxF "$line" groups.txt || { echo "missing: $line"; exit 1; }; done
}

work=$(mktemp -d)
trap 'rm -rf "$work" groups.txt' EXIT
helper reset
# Credentials from the environment (AZURE_*, DEFENDER_*), as in AWX with a credential type.
eval "$(helper env)"
export ANSIBLE_INVENTORY_ENABLED=secops.defender.machines

# --- groups from keyed_groups / groups / compose, duplicates left out
cat > "$work/test.defender_machines.yml" <<YAML
plugin: secops.defender.machines
keyed_groups:
  - key: mde_os_platform | lower
    prefix: mde_os
  - key: mde_machine_tags
    prefix: mde_tag
groups:
  mde_servers: mde_os_platform.startswith('WindowsServer')
compose:
  mde_short_name: mde_computer_dns_name.split('.')[0]
YAML
ansible-inventory -i "$work/test.defender_machines.yml" --graph
ansible-inventory -i "$work/test.defender_machines.yml" --list --output "$work/all.json"
expect_groups "$work/all.json" \
    "mde_os_windows10: desk-01.contoso.local,offline-01.contoso.local" \
    "mde_os_windows11: desk-010.contoso.local,desk-02.contoso.local,fail-01.contoso.local" \
    "mde_os_linux: lnx-01.contoso.local" \
    "mde_tag_web: web-01.contoso.local,web-01.fabrikam.local" \
    "mde_servers: srv-01.contoso.local,web-01.contoso.local,web-01.fabrikam.local"
ansible-inventory -i "$work/test.defender_machines.yml" --host desk-02.contoso.local > "$work/desk02.json"
"$python" - "$work/desk02.json" <<'PY'
import json, sys
hostvars = json.load(open(sys.argv[1]))
assert hostvars["mde_machine_id"] == "df21618bd0c1bed98c5c96fec2a60378b5caa8af", hostvars  # the live record, not the merged one
assert hostvars["mde_os_platform"] == "Windows11" and hostvars["mde_health_status"] == "Active", hostvars
assert hostvars["mde_machine_tags"] == ["finance", "vip"] and hostvars["mde_last_ip_address"] == "10.20.1.12", hostvars
assert hostvars["mde_short_name"] == "desk-02", hostvars
PY

# --- with duplicates kept, the merged record is still reachable, under its id
cat > "$work/dups.defender_machines.yml" <<YAML
plugin: secops.defender.machines
exclude_duplicates: false
YAML
ansible-inventory -i "$work/dups.defender_machines.yml" --list --output "$work/dups.json"
expect_groups "$work/dups.json" \
    "ungrouped: 85dd0a019d24900c608a6160f9da9ff75d4cdac6,desk-01.contoso.local,desk-010.contoso.local,desk-02.contoso.local,fail-01.contoso.local,lnx-01.contoso.local,offline-01.contoso.local,srv-01.contoso.local,web-01.contoso.local,web-01.fabrikam.local"

# --- filters: health, OS, tags and OData together
cat > "$work/filtered.defender_machines.yml" <<YAML
plugin: secops.defender.machines
health_status: [Active]
os_platform: [Windows10, Windows11]
machine_tags: [finance, laptop]
odata_filter: "riskScore ne 'High'"
keyed_groups:
  - key: mde_os_platform | lower
    prefix: mde_os
YAML
ansible-inventory -i "$work/filtered.defender_machines.yml" --list --output "$work/filtered.json"
expect_groups "$work/filtered.json" \
    "mde_os_windows10: desk-01.contoso.local" \
    "mde_os_windows11: desk-02.contoso.local"
if grep -q offline-01 groups.txt; then echo "offline-01 (Inactive) must be filtered out"; exit 1; fi

# --- a play over a keyed group, acting from localhost with the host's mde_machine_id
ANSIBLE_INVENTORY_ENABLED=secops.defender.machines,ini ansible-playbook -i "$work/filtered.defender_machines.yml" \
    quarantine_group.yml "$@"

# --- caching: the second read is served from the jsonfile cache, --flush-cache reads again
helper reset
cat > "$work/cached.defender_machines.yml" <<YAML
plugin: secops.defender.machines
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: $work/cache
cache_timeout: 600
keyed_groups:
  - key: mde_os_platform | lower
    prefix: mde_os
YAML
ansible-inventory -i "$work/cached.defender_machines.yml" --graph
[ "$(helper count GET /api/machines)" = 1 ]
[ -n "$(find "$work/cache" -type f)" ]
ansible-inventory -i "$work/cached.defender_machines.yml" --graph > "$work/cached-graph.txt"
cat "$work/cached-graph.txt"
grep -q "mde_os_windows10" "$work/cached-graph.txt"
[ "$(helper count GET /api/machines)" = 1 ]
ansible-inventory -i "$work/cached.defender_machines.yml" --graph --flush-cache > /dev/null
[ "$(helper count GET /api/machines)" = 2 ]

# --- a configuration error is reported, with the option to fix
cat > "$work/bad.defender_machines.yml" <<YAML
plugin: secops.defender.machines
api_url: http://api.example.com
YAML
if ansible-inventory -i "$work/bad.defender_machines.yml" --list > "$work/bad.out" 2>&1; then :; fi
grep -q "api_url uses http://" "$work/bad.out"

# --- options the Ansible way: ansible.cfg [secops_defender] and extra vars, with nothing in the environment
plain=$work/plain.defender_machines.yml
printf 'plugin: secops.defender.machines\nkeyed_groups:\n  - key: mde_os_platform | lower\n    prefix: mde_os\n' > "$plain"
cat > "$work/ansible.cfg" <<INI
[secops_defender]
tenant_id = $AZURE_TENANT_ID
client_id = $AZURE_CLIENT_ID
api_url = $DEFENDER_API_URL
authority_url = $DEFENDER_AUTHORITY_URL
ca_path = $DEFENDER_CA_PATH
INI
secret=$AZURE_CLIENT_SECRET
saved_env=$(export -p | grep -E ' (AZURE|DEFENDER)_[A-Z_]+=' || true)
unset AZURE_TENANT_ID AZURE_CLIENT_ID AZURE_CLIENT_SECRET DEFENDER_API_URL DEFENDER_AUTHORITY_URL DEFENDER_CA_PATH
ANSIBLE_CONFIG=$work/ansible.cfg ansible-inventory -i "$plain" -e "defender_client_secret=$secret" --list --output "$work/cfg.json"
expect_groups "$work/cfg.json" "mde_os_linux: lnx-01.contoso.local"
# The same run with the secret in the environment instead of an extra var.
AZURE_CLIENT_SECRET=$secret ANSIBLE_CONFIG=$work/ansible.cfg ansible-inventory -i "$plain" --list --output "$work/cfg-env.json"
expect_groups "$work/cfg-env.json" "mde_os_linux: lnx-01.contoso.local"
eval "$saved_env"

# --- a wrong secret: the cause is shown; by default Ansible goes on with an empty inventory (rc 0), with
# unparsed_is_failed (what docs/awx.md and docs/troubleshooting.md tell runbook users to set) the run fails.
AZURE_CLIENT_SECRET=wrong-secret ansible-inventory -i "$plain" --graph > "$work/wrong.out" 2>&1
cat "$work/wrong.out"
grep -q "cannot read the Defender for Endpoint devices: .*AADSTS7000215" "$work/wrong.out"
if grep -q "wrong-secret" "$work/wrong.out"; then echo "the secret must not be shown"; exit 1; fi
rc=0
AZURE_CLIENT_SECRET=wrong-secret ANSIBLE_INVENTORY_UNPARSED_FAILED=true \
    ansible-playbook -i "$plain" quarantine_group.yml > "$work/wrong-play.out" 2>&1 || rc=$?
cat "$work/wrong-play.out"
[ "$rc" != 0 ] || { echo "a failed inventory must fail the run with unparsed_is_failed"; exit 1; }
grep -q "AADSTS7000215" "$work/wrong-play.out"
if grep -q "wrong-secret" "$work/wrong-play.out"; then echo "the secret must not be shown"; exit 1; fi
