# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The closed loop with a real ansible-rulebook: Defender alert -> quarantine -> comment on the alert.

    python eda_loop.py --emulator STATE_DIR/emulator.json --eda-bin .venv/eda/bin --collections DIR [--only NAME]

Runs the shipped rulebook secops.defender.quarantine_on_alert against a running emulator and checks, from the
emulator's request log and state: one alert -> one action and one comment; a restart re-fires nothing and picks up
an alert raised while it was down; an outbreak (200 alerts for one file on 200 devices within two minutes, plus a few
other files) -> one action per device, a handful of runbook runs and tokens, every action sent within 1.2 x the
rate-limit floor, no 429 that failed a device, every alert commented. Prints CHECK PASSED/FAILED lines (make test
counts them). Also imported by tests/bench/run.py for the latency and outbreak figures.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timezone

import requests

QUARANTINE = "POST /api/machines/{id}/StopAndQuarantineFile"
PATCH = "PATCH /api/alerts/{id}"
SHA1 = "87662bc3d60e4200ceaf7aae249d1c343f4b83c9"
OTHER_SHA1S = ("5b1f0a4c3d2e1f00112233445566778899aabb01", "5b1f0a4c3d2e1f00112233445566778899aabb02",
               "5b1f0a4c3d2e1f00112233445566778899aabb03")
MACHINE = "643d53c73e952687f5e3427b9b75da74f71e616d"  # srv-01 in the default seed
SECOND = "bff6c0b43e73f0a73e9eaec85d7c4094524a1fae"  # web-01.contoso


def emulated(stamp: str) -> float:
    head, _dot, frac = stamp.rstrip("Z").partition(".")
    return datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc).timestamp() + float("0." + (frac or "0"))


class Emulator:
    def __init__(self, info_path: str) -> None:
        with open(info_path, encoding="utf-8") as handle:
            self.info = json.load(handle)
        self.url, self.ca = self.info["url"], self.info["ca_path"]
        self.http = requests.Session()

    def call(self, method: str, path: str, body=None):
        answer = self.http.request(method, f"{self.url}/_emulator/{path}", json=body, verify=self.ca, timeout=60)
        if answer.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {answer.status_code} {answer.text[:300]}")
        return answer.json() if answer.content else None

    def reset(self, **body):
        self.info = self.call("POST", "reset", body)

    def raise_alerts(self, **body) -> list:
        return self.call("POST", "alerts", body)["alerts"]

    def alerts(self) -> dict:
        return {a["id"]: a for a in self.call("GET", "alerts")["alerts"]}

    def log(self) -> list:
        return self.call("GET", "log")["requests"]

    def state(self) -> dict:
        return self.call("GET", "state")


class Rulebook:
    """ansible-rulebook running the shipped rulebook in the background, its output in a file."""

    def __init__(self, emulator: Emulator, eda_bin: str, collections: str, workdir: str, scale: float = 1.0,
                 client: str = "soc", **variables) -> None:
        client_info = emulator.info["clients"][client]
        self.env = dict(os.environ, PATH=f"{eda_bin}:{os.environ.get('PATH', '')}", ANSIBLE_COLLECTIONS_PATH=collections,
                        DEFENDER_API_URL=emulator.url, DEFENDER_AUTHORITY_URL=emulator.url, DEFENDER_CA_PATH=emulator.ca,
                        AZURE_TENANT_ID=emulator.info["tenant_id"], AZURE_CLIENT_ID=client_info["client_id"],
                        AZURE_CLIENT_SECRET=client_info["client_secret"], ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
                        PYTHONUNBUFFERED="1",
                        # The emulator's 100/min and 1500/h on a clock `scale` times faster.
                        DEFENDER_CALLS_PER_MINUTE=str(int(100 * scale)), DEFENDER_CALLS_PER_HOUR=str(int(1500 * scale)))
        for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
            self.env.pop(name, None)
        self.workdir = workdir
        self.inventory = os.path.join(workdir, "inventory.yml")
        with open(self.inventory, "w", encoding="utf-8") as handle:
            handle.write('all:\n  hosts:\n    localhost:\n      ansible_connection: local\n'
                         '      ansible_python_interpreter: "{{ ansible_playbook_python }}"\n')
        self.vars_path = os.path.join(workdir, "vars.json")
        with open(self.vars_path, "w", encoding="utf-8") as handle:
            json.dump(variables, handle)
        self.output = os.path.join(workdir, "rulebook.log")
        self.process = None

    def start(self) -> None:
        handle = open(self.output, "a", encoding="utf-8")  # pylint: disable=consider-using-with  # closed with the process
        self.process = subprocess.Popen(  # pylint: disable=consider-using-with
            ["ansible-rulebook", "-r", "secops.defender.quarantine_on_alert", "-i", self.inventory, "--vars", self.vars_path,
             "--shutdown-delay", "5", "-v"], env=self.env, cwd=self.workdir, stdout=handle, stderr=subprocess.STDOUT)
        self._handle = handle
        self.wait_for(lambda: "Waiting for" in self.text() or "polls" in self.text() or self.process.poll() is not None, 30,
                      poll_only=True)
        time.sleep(1.0)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._handle.close()

    def text(self) -> str:
        with open(self.output, encoding="utf-8", errors="replace") as handle:
            return handle.read()

    def runs(self) -> int:
        return self.text().count("PLAY [Quarantine the file of Defender alerts")

    def finished_runs(self) -> int:
        return self.text().count("PLAY RECAP")

    def wait_for(self, condition, timeout: float, poll_only: bool = False) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            if not poll_only and self.process.poll() is not None:
                raise RuntimeError("ansible-rulebook exited:\n" + self.text()[-3000:])
            time.sleep(0.5)
        return False


def posts(log: list) -> list:
    return [e for e in log if e.get("api") == QUARANTINE and e.get("action_id")]


def counts(emulator: Emulator, alert_ids: list) -> dict:
    """Everything the checks and the benchmark report, from the request log and the state."""
    log = emulator.log()
    created = posts(log)
    per_machine = Counter(e["path"].split("/")[3].lower() for e in created)
    alerts = emulator.alerts()
    ours = [alerts[i] for i in alert_ids]
    commented = [a for a in ours if any(c["comment"].startswith("secops.defender:") for c in a["comments"])]
    times = sorted(emulated(e["time"]) for e in created)
    state = {a["id"]: a for a in emulator.state()["actions"]}
    return {
        "actions": len(created), "machines": len(per_machine), "max_per_machine": max(per_machine.values(), default=0),
        "tokens": sum(1 for e in log if "/oauth2/" in e["path"] and e["status"] == 200),
        "429": sum(1 for e in log if e["status"] == 429),
        "failed_actions": sum(1 for e in created if state.get(e["action_id"], {}).get("status") not in ("Succeeded",)),
        "send_span": (times[-1] - times[0]) if times else 0.0, "first_post": times[0] if times else None,
        "comments": sum(len([c for c in a["comments"] if c["comment"].startswith("secops.defender:")]) for a in ours),
        "alerts_commented": len(commented), "alerts": len(ours), "patches": sum(1 for e in log if e.get("api") == PATCH),
        "log": log,
    }


class Checks:
    def __init__(self) -> None:
        self.failed = 0
        self.passed = 0

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        print(f"CHECK {'PASSED' if ok else 'FAILED'}: {name}{(' (' + detail + ')') if detail else ''}", flush=True)
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        return ok


def scenario_single(emulator, args, checks: Checks, workdir: str) -> dict:
    """One alert -> one action, one comment; restart -> nothing re-fired, an alert raised meanwhile is handled."""
    emulator.reset(config={"alert_list_lag_seconds": 2})
    checkpoint = os.path.join(workdir, "checkpoint.json")
    rulebook = Rulebook(emulator, args.eda_bin, args.collections, workdir, poll_interval=3, checkpoint_path=checkpoint,
                        alert_quarantine_wait_timeout=120, min_severity="Medium")
    rulebook.start()
    raised_at = time.monotonic()
    (alert,) = emulator.raise_alerts(alerts=[{"machineId": MACHINE, "sha1": SHA1, "title": "'EmulatorTest' malware was detected"}])
    ok = rulebook.wait_for(lambda: counts(emulator, [alert["id"]])["alerts_commented"] == 1, 120)
    latency = None
    created = posts(emulator.log())
    if created:
        latency = emulated(created[0]["time"]) - emulated(alert["alertCreationTime"])
    got = counts(emulator, [alert["id"]])
    state = emulator.alerts()[alert["id"]]
    checks.check("one alert -> one action on its device", ok and got["actions"] == 1 and got["machines"] == 1,
                 f"{got['actions']} action(s), {time.monotonic() - raised_at:.1f} s to the comment, alert-to-POST {latency}")
    checks.check("the alert carries the outcome and is InProgress",
                 got["comments"] == 1 and "Succeeded (action " in state["comments"][-1]["comment"]
                 and state["status"] == "InProgress", state["comments"][-1]["comment"] if state["comments"] else "no comment")
    rulebook.wait_for(lambda: rulebook.finished_runs() >= 1, 60)
    time.sleep(4)  # a poll after our own comment (the alert's lastUpdateTime moved): must not re-fire
    rulebook.stop()
    down = emulator.raise_alerts(alerts=[{"machineId": SECOND, "sha1": SHA1, "title": "raised while the rulebook was down"}])[0]
    again = Rulebook(emulator, args.eda_bin, args.collections, workdir, poll_interval=3, checkpoint_path=checkpoint,
                     alert_quarantine_wait_timeout=120, min_severity="Medium")
    again.start()
    ok = again.wait_for(lambda: counts(emulator, [down["id"]])["alerts_commented"] == 1, 120)
    time.sleep(6)
    again.stop()
    got = counts(emulator, [alert["id"], down["id"]])
    checks.check("restart: nothing re-fired, the alert raised while down handled once",
                 ok and got["actions"] == 2 and got["max_per_machine"] == 1 and got["comments"] == 2,
                 f"{got['actions']} actions, {got['comments']} comments, {again.runs()} runbook run(s) in all")
    checks.check("checkpoint file is private", oct(os.stat(checkpoint).st_mode & 0o777) == "0o600")
    return {"latency": latency}


def scenario_outbreak(emulator, args, checks: Checks, workdir: str) -> dict:
    """200 alerts for one file on 200 devices within two minutes, plus three other files on a few devices."""
    scale = args.time_scale
    with open(emulator.info["seed"], encoding="utf-8") as handle:
        seed = json.load(handle)
    # Three more devices that have seen three other files: 9 more alerts, 9 more actions (one per device and file).
    extra = [{"id": "%040x" % (0xE0 + i), "computerDnsName": f"other-{i:02d}.contoso.local", "osPlatform": "Windows11",
              "online": True, "files": list(OTHER_SHA1S)} for i in range(1, 4)]
    seed["machines"] = seed["machines"] + extra
    emulator.reset(seed=seed, fleet={"count": args.devices, "prefix": "fleet", "sha1": SHA1},
                   config={"time_scale": scale, "alert_list_lag_seconds": 2})
    fleet = sorted(m["id"] for m in emulator.state()["machines"] if m["computerDnsName"].startswith("fleet-"))
    rulebook = Rulebook(emulator, args.eda_bin, args.collections, workdir, scale=scale, client="soc",
                        poll_interval=30 / scale, min_severity="Medium", alert_quarantine_wait_timeout=600)
    rulebook.start()
    raised = emulator.raise_alerts(outbreak={"sha1": SHA1, "machine_ids": fleet, "spread_seconds": args.spread})
    others = []
    for index, sha1 in enumerate(OTHER_SHA1S):
        others += emulator.raise_alerts(alerts=[{"machineId": m["id"], "sha1": sha1, "delay_seconds": 20 * index + 5}
                                                for m in extra])
    total_devices = len(fleet)
    all_ids = [a["id"] for a in raised + others]
    budget = (args.spread + 600) / scale + 120
    ok = rulebook.wait_for(lambda: counts(emulator, all_ids)["alerts_commented"] == len(all_ids), budget)
    rulebook.wait_for(lambda: rulebook.finished_runs() >= rulebook.runs(), 120)
    rulebook.stop()
    got = counts(emulator, [a["id"] for a in raised])
    other = counts(emulator, [a["id"] for a in others])
    everything = counts(emulator, all_ids)
    pairs = Counter((e["path"].split("/")[3].lower(), (e.get("body") or {}).get("Sha1", "").lower()) for e in posts(got["log"]))
    floor = (total_devices + len(others)) * 60.0 / 100  # emulated seconds for every action at 100 calls per minute
    runs = rulebook.runs()
    checks.check("outbreak: every device quarantined exactly once",
                 ok and len(pairs) == total_devices + len(others) and max(pairs.values()) == 1,
                 f"{len(pairs)} (device, file) pairs of {total_devices + len(others)}, at most {max(pairs.values())} action each")
    checks.check("outbreak: a handful of runbook runs and tokens", runs <= 15 and got["tokens"] <= 3 * runs + 2,
                 f"{runs} runs, {got['tokens']} token requests")
    checks.check("outbreak: every action sent within 1.2 x the rate-limit floor",
                 everything["send_span"] <= 1.2 * max(floor, args.spread),
                 f"{everything['send_span']:.1f} s emulated from first to last POST, floor {floor:.1f} s, alerts spread over {args.spread} s")
    checks.check("outbreak: no device failed, 429s only ridden out", everything["failed_actions"] == 0,
                 f"{everything['429']} x 429, {everything['failed_actions']} failed actions")
    checks.check("outbreak: no alert silently dropped (every alert commented, the other files' alerts too)",
                 got["alerts_commented"] == len(raised) and other["alerts_commented"] == len(others),
                 f"{got['alerts_commented']}/{len(raised)} + {other['alerts_commented']}/{len(others)} alerts commented")
    summary = {k: v for k, v in everything.items() if k != "log"}
    print(f"outbreak: {json.dumps(dict(summary, runs=runs, floor=floor))}", flush=True)
    return {"runs": runs, "floor": floor, "counts": summary, "others": len(others)}


def demo(emulator, args, workdir: str) -> None:
    """make demo-eda: one alert, its quarantine and its comment, told step by step."""
    emulator.reset(config={"alert_list_lag_seconds": 2})
    rulebook = Rulebook(emulator, args.eda_bin, args.collections, workdir, poll_interval=5, min_severity="Medium")
    print("1. ansible-rulebook -r secops.defender.quarantine_on_alert is running (source polls every 5 s)", flush=True)
    rulebook.start()
    (alert,) = emulator.raise_alerts(alerts=[{"machineId": MACHINE, "sha1": SHA1, "title": "'EmulatorTest' malware was detected"}])
    print(f"2. Defender raised alert {alert['id']} for file {SHA1} on srv-01.contoso.local", flush=True)
    rulebook.wait_for(lambda: counts(emulator, [alert["id"]])["alerts_commented"] == 1, 120)
    created = posts(emulator.log())
    action = {a["id"]: a for a in emulator.state()["actions"]}.get(created[0]["action_id"]) if created else None
    if action:
        print(f"3. StopAndQuarantineFile sent {emulated(created[0]['time']) - emulated(alert['alertCreationTime']):.1f} s after "
              f"the alert: action {action['id']}, comment {action['requestorComment']!r}, now {action['status']}", flush=True)
    final = emulator.alerts()[alert["id"]]
    for comment in final["comments"]:
        print(f"4. The alert says: {comment['comment']}", flush=True)
    print(f"5. The alert's status is {final['status']}; stopping ansible-rulebook", flush=True)
    rulebook.stop()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emulator", required=True, help="emulator.json of a running emulator")
    parser.add_argument("--eda-bin", required=True, help="bin directory of the venv with ansible-rulebook")
    parser.add_argument("--collections", required=True, help="the directory above ansible_collections")
    parser.add_argument("--only", choices=["single", "outbreak"], help="run one scenario")
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--spread", type=float, default=120.0, help="emulated seconds over which the outbreak's alerts come")
    parser.add_argument("--time-scale", type=float, default=4.0, help="emulated seconds per real second in the outbreak")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (rulebook output)")
    parser.add_argument("--demo", action="store_true", help="one alert, told step by step (make demo-eda)")
    args = parser.parse_args(argv)
    emulator = Emulator(args.emulator)
    checks = Checks()
    workdir = tempfile.mkdtemp(prefix="defender-eda-")
    try:
        if args.demo:
            demo(emulator, args, workdir)
            return 0
        if args.only in (None, "single"):
            os.makedirs(os.path.join(workdir, "single"))
            scenario_single(emulator, args, checks, os.path.join(workdir, "single"))
        if args.only in (None, "outbreak"):
            os.makedirs(os.path.join(workdir, "outbreak"))
            scenario_outbreak(emulator, args, checks, os.path.join(workdir, "outbreak"))
    finally:
        emulator.reset()
        print(f"rulebook output kept in {workdir}" if args.keep or checks.failed else "", flush=True)
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
