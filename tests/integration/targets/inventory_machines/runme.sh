#!/usr/bin/env bash
# The secops.defender.machines inventory plugin against the emulator: groups, filters, host vars,
# a play over a keyed group, env fallbacks for the credentials, and caching.
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
