#!/usr/bin/env bash
# `make docs` and the release checks' docs-site check: the collection's HTML documentation, built the way
# docs.ansible.com builds collections (antsibull-docs, then Sphinx with the Ansible theme), offline, with every
# Sphinx warning an error.
#   TOOLS_VENV=.venv/tools COLLECTIONS=build/collections OUT=build/docs tests/utils/build_docs.sh
# COLLECTIONS is the directory above ansible_collections/ (the Makefile's layout); the site ends up in
# $OUT/build/html/index.html. The pages of docs/docsite/rst/ come from docs/*.md (tests/utils/docsite.py).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${TOOLS_VENV:?}" "${COLLECTIONS:?}" "${OUT:?}"
collection="$COLLECTIONS/ansible_collections/secops/defender"
# antsibull-docs calls ansible-doc, found on PATH (the tools venv has ansible-core).
export PATH="$TOOLS_VENV/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$COLLECTIONS"

"$TOOLS_VENV/bin/python" "$here/docsite.py" check "$collection"
(cd "$collection" && antsibull-docs lint-collection-docs --plugin-docs .)

rm -rf "$OUT"
mkdir -p "$OUT"
antsibull-docs sphinx-init --use-current --squash-hierarchy --fail-on-error --dest-dir "$OUT" \
    --project secops.defender --copyright "secops.defender contributors" --title "secops.defender" \
    secops.defender >/dev/null

# No network here: references into docs.ansible.com (return values, configuration settings, environment
# variables of ansible-core) resolve through a local inventory of the few targets the pages use, and nothing
# else is fetched. An unknown reference stays a warning, hence an error.
"$TOOLS_VENV/bin/python" - "$OUT/ansible_devel.inv" <<'PY'
import sys
import zlib

BASE_ENVVARS = ("ANSIBLE_CACHE_PLUGIN", "ANSIBLE_CACHE_PLUGIN_CONNECTION", "ANSIBLE_CACHE_PLUGIN_PREFIX",
                "ANSIBLE_CACHE_PLUGIN_TIMEOUT", "ANSIBLE_INVENTORY_UNPARSED_FAILED")
entries = [("common_return_values", "std:label", "reference_appendices/common_return_values.html#common-return-values",
            "Return Values"),
           ("ansible_configuration_settings", "std:label", "reference_appendices/config.html#ansible-configuration-settings",
            "Ansible Configuration Settings")]
entries += [(name, "std:envvar", f"reference_appendices/config.html#envvar-{name}", "-") for name in BASE_ENVVARS]
body = "".join(f"{name} {role} -1 {uri} {title}\n" for name, role, uri, title in entries)
with open(sys.argv[1], "wb") as handle:
    handle.write(b"# Sphinx inventory version 2\n# Project: Ansible\n# Version: devel\n"
                 b"# The remainder of this file is compressed using zlib.\n" + zlib.compress(body.encode()))
PY
cat >> "$OUT/conf.py" <<PY

# tests/utils/build_docs.sh: offline (a local inventory for docs.ansible.com), nothing fetched.
intersphinx_mapping = {
    'ansible_devel': ('https://docs.ansible.com/projects/ansible/devel/', '$OUT/ansible_devel.inv'),
}
PY

cd "$OUT"
mkdir -p rst
chmod og-w rst  # antsibull-docs wants that directory writable by itself only
antsibull-docs --config-file antsibull-docs.cfg collection --cleanup everything --use-current --squash-hierarchy \
    --fail-on-error --dest-dir rst secops.defender
sphinx-build -M html rst build -c . -W --keep-going -q
echo "docs: $OUT/build/html/index.html"
