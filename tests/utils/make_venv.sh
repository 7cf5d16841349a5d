#!/usr/bin/env bash
# Create or update one virtualenv of the Makefile.
#   tests/utils/make_venv.sh VENV_DIR PYTHON CONSTRAINTS PIP_ARGS...
# Idempotent: an existing venv is reused and pip only installs what changed. The caller
# (make) touches a stamp file afterwards, so an unchanged venv costs nothing.
set -euo pipefail

venv=$1 python=$2 constraints=$3
shift 3

if [[ ! -x "$python" ]]; then
    echo "ERROR: interpreter not found: $python" >&2
    exit 1
fi

if [[ ! -x "$venv/bin/python" ]]; then
    echo "venv: creating $venv with $("$python" --version 2>&1)"
    "$python" -m venv "$venv"
fi

echo "venv: installing into $venv: $*"
# The machine-wide pip config names local index paths that may not exist; pip says so
# once per package ("Location ... is ignored"). That is noise, not a problem.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -c "$constraints" "$@" 2>&1 | { grep -v -E "^WARNING: Location '.*' is ignored" || true; }
exit "${PIPESTATUS[0]}"
