#!/usr/bin/env bash
# Run one command while the emulator runs; the emulator is stopped however the command ends.
#   tests/utils/with_emulator.sh [--module-env] STATE_DIR -- COMMAND [ARGS...]
# Before COMMAND runs, tests/integration/integration_config.yml is written from the
# emulator's emulator.json (and copied to $COLLECTION_COPY/tests/integration/ when set). With --module-env the module environment variables of the
# "full" client (DEFENDER_API_URL, AZURE_CLIENT_ID, ...) are exported too.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

module_env=false
if [[ "${1:-}" == --module-env ]]; then
    module_env=true
    shift
fi
state_dir=${1:?usage: with_emulator.sh [--module-env] STATE_DIR -- COMMAND...}
shift
[[ "${1:-}" == -- ]] && shift
(( $# > 0 )) || { echo "usage: with_emulator.sh [--module-env] STATE_DIR -- COMMAND..." >&2; exit 2; }

default_python="$root/.venv/core219/bin/python"
[[ -x "$default_python" ]] || default_python=python3
python=${EMULATOR_PYTHON:-$default_python}

cleanup() {
    "$here/emulator.sh" stop "$state_dir" || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$here/emulator.sh" start "$state_dir"
"$python" "$here/emulator_vars.py" "$state_dir/emulator.json" \
    --integration-config "$root/tests/integration/integration_config.yml"
# The Makefile runs ansible-test in a copy of the checkout (COLLECTION_COPY): it reads the file there.
if [[ -n "${COLLECTION_COPY:-}" ]]; then
    mkdir -p "$COLLECTION_COPY/tests/integration"
    cp "$root/tests/integration/integration_config.yml" "$COLLECTION_COPY/tests/integration/"
fi
if $module_env; then
    eval "$("$python" "$here/emulator_vars.py" "$state_dir/emulator.json" --shell-env)"
fi

"$@"
