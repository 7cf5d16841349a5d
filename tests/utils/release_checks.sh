#!/usr/bin/env bash
# `make release-checks`: what a release needs besides the tests. Every check runs, each
# prints "CHECK PASSED|FAILED|SKIPPED: <name>", and the script fails if any check failed.
# Expects (from the Makefile): CORE_VENV, TOOLS_VENV, COLLECTIONS (the dir above
# ansible_collections, with secops/defender linked to this checkout) and BUILD.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root" || exit 1
: "${CORE_VENV:?}" "${TOOLS_VENV:?}" "${COLLECTIONS:?}" "${BUILD:?}"
collection_dir="$COLLECTIONS/ansible_collections/secops/defender"
dist="$BUILD/dist"
installed="$BUILD/installed"
logs="$root/tests/output/release-checks"
mkdir -p "$logs"
failures=()
# antsibull-docs, ansible-lint and galaxy-importer call ansible/ansible-doc from PATH.
export PATH="$TOOLS_VENV/bin:$PATH"

# run_check NAME COMMAND...: runs COMMAND, output to the terminal and to $logs/NAME.log.
run_check() {
    local name=$1
    shift
    local start=$SECONDS rc
    echo "--- $name"
    "$@" 2>&1 | tee "$logs/$name.log"
    rc=${PIPESTATUS[0]}
    if (( rc == 0 )); then
        echo "CHECK PASSED: $name ($((SECONDS - start))s)"
    else
        echo "CHECK FAILED: $name (exit $rc, $((SECONDS - start))s; log: tests/output/release-checks/$name.log)"
        failures+=("$name")
    fi
}

skip_check() {
    echo "--- $1"
    echo "CHECK SKIPPED: $1 ($2)"
}

# Fails when the given log has WARNING:/ERROR: lines (tools that exit 0 on problems).
no_warnings_in() {
    if grep -E '(^|[[:space:]])(WARNING|ERROR):' "$1"; then
        echo "the lines above are warnings or errors: failing"
        return 1
    fi
}

changelog_lint() {
    "$TOOLS_VENV/bin/antsibull-changelog" lint
}

metadata_yamllint() {
    "$TOOLS_VENV/bin/yamllint" -s galaxy.yml meta changelogs/config.yaml changelogs/changelog.yaml \
        changelogs/fragments .yamllint .ansible-lint tests/config.yml
}

build_and_install() {
    rm -rf "$dist" "$installed"
    mkdir -p "$dist" "$installed"
    (cd "$collection_dir" && "$CORE_VENV/bin/ansible-galaxy" collection build --force --output-path "$dist") || return 1
    local tarball
    tarball=$(find "$dist" -maxdepth 1 -name "secops-defender-*.tar.gz" | head -n 1)
    [[ -n "$tarball" ]] || return 1
    ANSIBLE_COLLECTIONS_PATH="$installed" \
        "$CORE_VENV/bin/ansible-galaxy" collection install --offline --force --no-deps -p "$installed" "$tarball" || return 1
    # The tarball must not carry generated or local-only files.
    if tar tzf "$tarball" | grep -E '(^|/)(\.venv|build|tests/output|\.pytest_cache|\.ansible|__pycache__)/|integration_config\.yml|importer_result\.json'; then
        echo "the tarball holds the generated files listed above (see build_ignore in galaxy.yml)"
        return 1
    fi
}

ansible_doc_all() {
    local plugin_root="$installed/ansible_collections/secops/defender/plugins" count=0 bad=0 type dir file name out
    for type in module inventory lookup filter test; do
        # plugins/modules, but plugins/inventory, plugins/filter ... (singular)
        dir="$plugin_root/$type"
        [[ $type == module ]] && dir="$plugin_root/modules"
        [[ -d "$dir" ]] || continue
        for file in "$dir"/*.py; do
            [[ -e "$file" ]] || continue
            name=$(basename "$file"); name=${name%.*}
            [[ $name == __init__ ]] && continue
            count=$((count + 1))
            if ! out=$(ANSIBLE_COLLECTIONS_PATH="$installed" "$CORE_VENV/bin/ansible-doc" -t "$type" "secops.defender.$name" 2>&1 >/dev/null); then
                echo "FAILED: ansible-doc -t $type secops.defender.$name:"; echo "$out"; bad=$((bad + 1))
            elif [[ -n "$out" ]]; then
                echo "FAILED: ansible-doc -t $type secops.defender.$name wrote to stderr:"; echo "$out"; bad=$((bad + 1))
            else
                echo "ok: ansible-doc -t $type secops.defender.$name"
            fi
        done
    done
    echo "$((count - bad)) of $count plugin docs rendered from the installed tarball"
    (( count > 0 && bad == 0 ))
}

galaxy_importer() {
    local work="$BUILD/importer"
    rm -rf "$work"
    mkdir -p "$work/tmp"
    # Its ansible-doc and ansible-lint are taken from PATH; it writes importer_result.json in the cwd.
    (cd "$work" && PATH="$TOOLS_VENV/bin:$PATH" GALAXY_IMPORTER_CONFIG="$root/tests/utils/galaxy-importer.cfg" \
        GALAXY_IMPORTER_TMP_ROOT_DIR="$work/tmp" "$TOOLS_VENV/bin/python" -m galaxy_importer.main "$tarball") \
        >"$logs/galaxy-importer.out" 2>&1
    local rc=$?
    cat "$logs/galaxy-importer.out"
    (( rc == 0 )) || return "$rc"
    no_warnings_in "$logs/galaxy-importer.out"
}

docs_lint() {
    (cd "$collection_dir" && ANSIBLE_COLLECTIONS_PATH="$COLLECTIONS" \
        "$TOOLS_VENV/bin/antsibull-docs" lint-collection-docs --plugin-docs .)
}

# docs/docsite/rst is generated from docs/*.md: the copy that is built, linted and packed gets fresh pages
# (other changes to the guides need not wait for someone to run `make docs`); the checkout's are reported.
docsite_pages() {
    "$TOOLS_VENV/bin/python" "$root/tests/utils/docsite.py" write "$collection_dir" || return 1
    "$TOOLS_VENV/bin/python" "$root/tests/utils/docsite.py" check "$root" || echo "(the checkout: not a failure here)"
}

# The HTML docs as docs.ansible.com builds them (antsibull-docs + Sphinx, every warning an error).
docs_site() {
    TOOLS_VENV="$TOOLS_VENV" COLLECTIONS="$COLLECTIONS" OUT="$BUILD/docs" "$root/tests/utils/build_docs.sh"
}

ansible_lint() {
    local paths=()
    [[ -d roles ]] && paths+=(roles)
    [[ -d playbooks ]] && paths+=(playbooks)
    (cd "$collection_dir" && ANSIBLE_COLLECTIONS_PATH="$COLLECTIONS" \
        "$TOOLS_VENV/bin/ansible-lint" --profile production --offline "${paths[@]}")
}

ee_introspect() {
    local out
    out=$("$TOOLS_VENV/bin/ansible-builder" introspect --sanitize "$COLLECTIONS") || return 1
    echo "$out"
    if ! grep -q -i 'msal' <<<"$out"; then
        echo "introspect did not find the collection's Python requirements (msal)"
        return 1
    fi
}

ee_create() {
    rm -rf "$BUILD/ee-context"
    "$TOOLS_VENV/bin/ansible-builder" create -f "$1" -c "$BUILD/ee-context" --output-filename Containerfile
}

# The decision environment for EDA controller: the build context must carry ansible-rulebook, Java and the collection.
de_create() {
    local context="$BUILD/de-context"
    rm -rf "$context"
    "$TOOLS_VENV/bin/ansible-builder" create -f extensions/awx/decision-environment.yml -c "$context" \
        --output-filename Containerfile || return 1
    grep -qx 'ansible-rulebook' "$context/_build/requirements.txt" || { echo "no ansible-rulebook in the DE"; return 1; }
    grep -q 'java-17' "$context/_build/bindep.txt" || { echo "no Java in the DE"; return 1; }
    grep -q 'secops.defender' "$context/_build/requirements.yml" || { echo "no secops.defender in the DE"; return 1; }
}

tarball=""
run_check metadata-yamllint metadata_yamllint
run_check changelog-lint changelog_lint
run_check docsite-pages docsite_pages
run_check build-install build_and_install
# run_check runs its function in a pipeline (a subshell): look the tarball up here.
tarball=$(find "$dist" -maxdepth 1 -name "secops-defender-*.tar.gz" 2>/dev/null | head -n 1)
if [[ -n "$tarball" ]]; then
    run_check ansible-doc ansible_doc_all
    run_check galaxy-importer galaxy_importer
else
    skip_check ansible-doc "no tarball"
    skip_check galaxy-importer "no tarball"
fi
run_check docs-lint docs_lint
run_check docs-site docs_site
if [[ -d roles || -d playbooks ]]; then
    run_check ansible-lint ansible_lint
else
    skip_check ansible-lint "no roles/ or playbooks/ yet"
fi
run_check ee-introspect ee_introspect
ee_file=${EE_FILE:-}
if [[ -z "$ee_file" ]]; then
    for candidate in execution-environment.yml examples/execution-environment.yml docs/execution-environment.yml \
                     docs/examples/execution-environment.yml meta/ee/execution-environment.yml; do
        [[ -f "$candidate" ]] && { ee_file=$candidate; break; }
    done
fi
if [[ -n "$ee_file" && -f meta/execution-environment.yml ]]; then
    run_check ee-create ee_create "$ee_file"
else
    skip_check ee-create "no meta/execution-environment.yml or example execution-environment.yml yet"
fi

if [[ -f extensions/awx/decision-environment.yml ]]; then
    run_check de-create de_create
else
    skip_check de-create "no extensions/awx/decision-environment.yml"
fi

if (( ${#failures[@]} )); then
    echo "ERROR: release checks failed: ${failures[*]}"
    exit 1
fi
echo "release checks: all passed"
