# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark of the Event-Driven loop: alert-to-POST latency, and an outbreak next to the rate-limit floor.

    make bench        (runs this after tests/bench/run.py when Java 17 and .venv/eda are there)
    JAVA_HOME=... PATH=$JAVA_HOME/bin:$PATH python tests/bench/eda_bench.py --eda-bin .venv/eda/bin \\
        --collections build/collections [--alerts 5] [--poll-interval 10] [--devices 200] [--time-scale 4]

A real ansible-rulebook runs the shipped rulebook (secops.defender.quarantine_on_alert) against an emulator of
our own. Latency: alerts raised one at a time on different devices, each measured from the alert's creation to
the StopAndQuarantineFile POST for its device, both on the emulator's clock (target: poll_interval + 5 s; the
emulator's alert listing lags a new alert by its default indexing delay). Outbreak: the scenario `make eda`
checks (200 alerts for one file on 200 devices within two minutes, plus 9 for three other files), reported as
ratios to the floor of 100 calls per minute. Every count comes from the emulator's request log.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "integration" / "targets" / "eda_quarantine_on_alert"))

import eda_loop  # noqa: E402  pylint: disable=wrong-import-position
from run import Emulator as BenchEmulator  # noqa: E402  pylint: disable=wrong-import-position

# Windows devices of the default seed that have seen eda_loop.SHA1 (desk-01, desk-02, srv-01, web-01, fail-01).
DEVICES = ("c14c4bab3d1b0e54b0df1fce5c08c5546a8415da", "df21618bd0c1bed98c5c96fec2a60378b5caa8af",
           "643d53c73e952687f5e3427b9b75da74f71e616d", "bff6c0b43e73f0a73e9eaec85d7c4094524a1fae",
           "ae995c875d6e2cdc631a2aee7043a04d16d677f4")


def first_post_for(log: list, machine_id: str) -> float | None:
    times = [eda_loop.emulated(e["time"]) for e in eda_loop.posts(log) if e["path"].split("/")[3].lower() == machine_id]
    return min(times) if times else None


def bench_latency(emulator, args, workdir: str) -> dict:
    """Alert-to-POST latency of `args.alerts` alerts raised one at a time, at a random phase of the poll."""
    emulator.reset()
    rulebook = eda_loop.Rulebook(emulator, args.eda_bin, args.collections, workdir, poll_interval=args.poll_interval,
                                 min_severity="Medium", alert_quarantine_wait_timeout=120)
    rulebook.start()
    latencies = []
    try:
        for index in range(args.alerts):
            machine = DEVICES[index % len(DEVICES)]
            (alert,) = emulator.raise_alerts(alerts=[{"machineId": machine, "sha1": eda_loop.SHA1,
                                                      "title": f"bench alert {index + 1}"}])
            rulebook.wait_for(lambda m=machine: first_post_for(emulator.log(), m) is not None, args.poll_interval + 60)
            posted = first_post_for(emulator.log(), machine)
            if posted is not None:
                latencies.append(posted - eda_loop.emulated(alert["alertCreationTime"]))
            # the next alert lands at another phase of the source's poll
            time.sleep((index + 1) * args.poll_interval / (args.alerts + 1))
    finally:
        rulebook.stop()
    return {"latencies": latencies, "sent": len(latencies)}


def bench_outbreak(emulator, args, workdir: str) -> dict:
    loop_args = SimpleNamespace(eda_bin=args.eda_bin, collections=args.collections, time_scale=args.time_scale,
                                devices=args.devices, spread=args.spread)
    checks = eda_loop.Checks()
    result = eda_loop.scenario_outbreak(emulator, loop_args, checks, workdir)
    result["checks_failed"] = checks.failed
    return result


def rows(args, latency: dict, outbreak: dict) -> list:
    out = []
    values = latency["latencies"]
    target = args.poll_interval + 5
    if values:
        out.append(("alert-to-POST latency, median", f"{statistics.median(values):.1f} s",
                    f"target <= {target:g} s (poll_interval {args.poll_interval:g} s + 5 s)",
                    f"{statistics.median(values) / target:.2f} of the target"))
        out.append(("alert-to-POST latency, worst", f"{max(values):.1f} s", f"of {len(values)} alerts",
                    f"{max(values) / target:.2f} of the target"))
    if latency["sent"] < args.alerts:
        out.append(("alerts never sent", str(args.alerts - latency["sent"]), "", "should be 0"))
    counts = outbreak["counts"]
    floor = outbreak["floor"]
    out += [
        ("outbreak: alerts", f"{counts['alerts'] - outbreak['others']} + {outbreak['others']}",
         f"{args.devices} devices for one file, + 3 other files", f"over {args.spread:g} s emulated"),
        ("outbreak: actions / (device, file) pairs", f"{counts['actions']} / {args.devices + outbreak['others']}", "",
         "equal = each pair once, never twice"),
        ("outbreak: runbook runs / token requests", f"{outbreak['runs']} / {counts['tokens']}", "", "a handful, not one per alert"),
        ("outbreak: first to last POST", f"{counts['send_span']:.1f} s", f"floor {floor:.1f} s at 100/min",
         f"{counts['send_span'] / max(floor, args.spread):.2f} of max(floor, spread) (limit 1.2)"),
        ("outbreak: 429s ridden out / devices failed", f"{counts['429']} / {counts['failed_actions']}", "", "0 failed"),
        ("outbreak: alerts commented", f"{counts['alerts_commented']} of {counts['alerts']}", "", "no alert dropped"),
    ]
    return out


def render(table: list) -> str:
    widths = [max(len(str(row[i])) for row in table) for i in range(4)]
    header = ("figure", "value", "next to", "reading")
    widths = [max(w, len(h)) for w, h in zip(widths, header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)) for row in table]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eda-bin", required=True, help="bin directory of the venv with ansible-rulebook")
    parser.add_argument("--collections", required=True, help="the directory above ansible_collections")
    parser.add_argument("--python", default=sys.executable, help="the Python that runs the emulator")
    parser.add_argument("--alerts", type=int, default=5, help="alerts for the latency figure")
    parser.add_argument("--poll-interval", type=float, default=10.0)
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--spread", type=float, default=120.0)
    parser.add_argument("--time-scale", type=float, default=4.0, help="emulated seconds per real second (outbreak)")
    parser.add_argument("--output", help="also write the table to this file")
    args = parser.parse_args(argv)
    args.eda_bin, args.collections = os.path.abspath(args.eda_bin), os.path.abspath(args.collections)
    if not os.access(os.path.join(args.eda_bin, "ansible-rulebook"), os.X_OK):
        print(f"SKIP: no ansible-rulebook in {args.eda_bin}")
        return 0
    process = BenchEmulator(args.python, time_scale=1.0)
    try:
        emulator = eda_loop.Emulator(os.path.join(process.state_dir, "emulator.json"))
        with tempfile.TemporaryDirectory(prefix="defender-eda-bench-") as workdir:
            os.makedirs(os.path.join(workdir, "latency"))
            os.makedirs(os.path.join(workdir, "outbreak"))
            latency = bench_latency(emulator, args, os.path.join(workdir, "latency"))
            outbreak = bench_outbreak(emulator, args, os.path.join(workdir, "outbreak"))
    finally:
        process.stop()
    text = render(rows(args, latency, outbreak))
    print("\nEvent-Driven Ansible (ansible-rulebook, shipped rulebook, emulator)\n" + text)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    return 1 if outbreak["checks_failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
