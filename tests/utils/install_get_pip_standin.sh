#!/usr/bin/env bash
# Put tests/utils/get_pip_standin.py where ansible-test looks for its cached get-pip.py
# (~/.ansible/test/cache/get_pip_<pip version>.py), for the pip version that the given
# venv's ansible-test bootstraps. Without it every sanity test and every --venv run tries
# to download get-pip.py from a host that this network does not reach.
#   tests/utils/install_get_pip_standin.sh VENV_PYTHON
set -euo pipefail

python=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache="${HOME}/.ansible/test/cache"

version=$("$python" - <<'PY'
import pathlib
import re

import ansible_test

source = pathlib.Path(ansible_test.__file__).parent / '_internal' / 'python_requirements.py'
match = re.search(r"pip='([0-9.]+)'", source.read_text())
print(match.group(1) if match else '')
PY
)
if [[ -z "$version" ]]; then
    echo "ERROR: cannot tell which pip version ansible-test bootstraps ($python)" >&2
    exit 1
fi

target="$cache/get_pip_${version//./_}.py"
mkdir -p "$cache"
if ! cmp -s "$here/get_pip_standin.py" "$target"; then
    cp "$here/get_pip_standin.py" "$target"
    echo "venv: installed pip bootstrap stand-in $target"
fi
