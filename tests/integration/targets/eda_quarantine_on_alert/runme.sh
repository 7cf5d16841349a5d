#!/usr/bin/env bash
# The closed loop with a real ansible-rulebook; `make eda` runs this file's Python (eda_loop.py) with the emulator.
set -euo pipefail
exec python "$(dirname "$0")/eda_loop.py" "$@"
