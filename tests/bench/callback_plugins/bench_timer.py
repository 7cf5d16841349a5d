# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark helper: writes each task run's wall time (per host and loop item) to $BENCH_TIMINGS as JSON lines."""

from __future__ import annotations

DOCUMENTATION = r"""
name: bench_timer
type: aggregate
short_description: Task timings for tests/bench/run.py
description:
  - Appends one JSON line per finished host result (task name, host, seconds since the task started or since
    the previous item of the same loop, ok or failed) to the file named by E(BENCH_TIMINGS).
requirements:
  - enabled in callbacks_enabled
"""

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._path = os.environ.get("BENCH_TIMINGS")
        self._task = ""
        self._started = 0.0
        self._last_item: dict = {}

    def _write(self, host, status, item=False):
        if not self._path:
            return
        now = time.monotonic()
        since = self._last_item.get(host, self._started) if item else self._started
        self._last_item[host] = now
        with open(self._path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"task": self._task, "host": host, "status": status, "item": item,
                                     "seconds": round(now - since, 4)}) + "\n")

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._task = task.get_name()
        self._started = time.monotonic()
        self._last_item = {}

    def v2_runner_item_on_ok(self, result):
        self._write(result._host.get_name(), "ok", item=True)

    def v2_runner_item_on_failed(self, result):
        self._write(result._host.get_name(), "failed", item=True)

    def v2_runner_on_ok(self, result):
        if "results" not in result._result:
            self._write(result._host.get_name(), "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if "results" not in result._result:
            self._write(result._host.get_name(), "failed")
