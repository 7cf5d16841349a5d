#!/usr/bin/env bash
# Start and stop the MDE API emulator (tests/emulator) in the background.
#   tests/utils/emulator.sh start STATE_DIR   # returns once STATE_DIR/emulator.json exists
#   tests/utils/emulator.sh stop STATE_DIR    # stops the process named in STATE_DIR/emulator.pid
# EMULATOR_PYTHON picks the interpreter (default: .venv/core219, else python3);
# EMULATOR_SEED the seed file; EMULATOR_ARGS extra arguments (e.g. "--time-scale 20").
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
action=${1:?usage: emulator.sh start|stop STATE_DIR}
state_dir=${2:?usage: emulator.sh start|stop STATE_DIR}
pid_file="$state_dir/emulator.pid"
startup_timeout=${EMULATOR_STARTUP_TIMEOUT:-60}

default_python="$root/.venv/core219/bin/python"
[[ -x "$default_python" ]] || default_python=python3
python=${EMULATOR_PYTHON:-$default_python}
seed=${EMULATOR_SEED:-$root/tests/emulator/seeds/default.json}

stop() {
    [[ -f "$pid_file" ]] || return 0
    local pid
    pid=$(cat "$pid_file")
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "emulator: pid $pid did not stop on SIGTERM, sending SIGKILL" >&2
            kill -9 "$pid" 2>/dev/null || true
        fi
        echo "emulator: stopped (pid $pid)"
    fi
    rm -f "$pid_file"
}

start() {
    if [[ ! -d "$root/tests/emulator/mde_emulator" ]]; then
        echo "ERROR: tests/emulator/mde_emulator is missing: no emulator to start" >&2
        exit 1
    fi
    stop
    mkdir -p "$state_dir"
    state_dir=$(cd "$state_dir" && pwd)
    pid_file="$state_dir/emulator.pid"
    # emulator.json is written last by the emulator: its presence means "ready".
    rm -f "$state_dir/emulator.json"
    local seed_args=()
    [[ -f "$seed" ]] && seed_args=(--seed "$seed")
    # shellcheck disable=SC2086  # EMULATOR_ARGS is a list of words on purpose
    PYTHONPATH="$root/tests/emulator${PYTHONPATH:+:$PYTHONPATH}" \
        nohup "$python" -m mde_emulator --state-dir "$state_dir" --port 0 "${seed_args[@]}" \
        ${EMULATOR_ARGS:-} </dev/null >"$state_dir/emulator.log" 2>&1 &
    local pid=$!
    echo "$pid" >"$pid_file"
    local waited=0
    while [[ ! -s "$state_dir/emulator.json" ]]; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "ERROR: the emulator exited during start-up; its log ($state_dir/emulator.log):" >&2
            tail -n 30 "$state_dir/emulator.log" >&2 || true
            rm -f "$pid_file"
            exit 1
        fi
        if (( waited >= startup_timeout * 10 )); then
            echo "ERROR: no $state_dir/emulator.json after ${startup_timeout}s; its log:" >&2
            tail -n 30 "$state_dir/emulator.log" >&2 || true
            stop
            exit 1
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    # Written last, but let a writer that is not atomic finish its line.
    for _ in $(seq 20); do
        "$python" -c 'import json,sys; json.load(open(sys.argv[1]))' "$state_dir/emulator.json" 2>/dev/null && break
        sleep 0.1
    done
    echo "emulator: running (pid $pid) at $("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$state_dir/emulator.json")"
}

case "$action" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: emulator.sh start|stop STATE_DIR" >&2; exit 2 ;;
esac
