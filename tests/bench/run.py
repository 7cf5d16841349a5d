# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: fleet speed at the API's own rate limit, per-task cost, memory and token reuse.

    make bench [BENCH_ARGS="--fleet 500 --time-scale 10"]
    PYTHONPATH=<dir above ansible_collections>:tests/emulator python tests/bench/run.py --help

Starts its own emulator with the real limits (100 calls per minute, 1500 per hour, per API) on a
fast clock, tells the modules the same pace (calls_per_minute = 100 x scale), runs real
ansible-playbook runs against it and prints one table of ratios measured in the same run. The
emulator's request log is the source of every count (calls, 429s, duplicates); the emulator's
state is the source of every outcome. Not part of `make test`: it takes a few minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
EMULATOR_DIR = HERE.parent / "emulator"
SHA1 = "5b1f0a4c3d2e1f00112233445566778899aabbcc"
QUARANTINE = "POST /api/machines/{id}/StopAndQuarantineFile"
SCOPE = "https://api.securitycenter.microsoft.com/.default"


# --- the emulator ------------------------------------------------------------------------
class Emulator:
    """An emulator process of our own, driven through its control API."""

    def __init__(self, python: str, time_scale: float) -> None:
        self.state_dir = tempfile.mkdtemp(prefix="defender-bench-")
        env = dict(os.environ, PYTHONPATH=str(EMULATOR_DIR))
        self.process = subprocess.Popen(  # pylint: disable=consider-using-with
            [python, "-m", "mde_emulator", "--state-dir", self.state_dir, "--port", "0", "--time-scale", str(time_scale)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        info_path = Path(self.state_dir) / "emulator.json"
        for _attempt in range(300):
            if info_path.exists():
                break
            if self.process.poll() is not None:
                raise SystemExit("the emulator did not start")
            time.sleep(0.1)
        self.info = json.loads(info_path.read_text())
        self.url, self.ca = self.info["url"], self.info["ca_path"]
        self.client = self.info["clients"]["full"]
        self.http = requests.Session()

    def call(self, method: str, path: str, body=None):
        answer = self.http.request(method, f"{self.url}/_emulator/{path}", json=body, verify=self.ca, timeout=60)
        answer.raise_for_status()
        return answer.json() if answer.content else None

    def reset(self, fleet: int, **config) -> list:
        """Fresh state with `fleet` devices that have seen SHA1; returns their ids."""
        body = {"config": config}
        if fleet:
            body["fleet"] = {"count": fleet, "prefix": "fleet", "sha1": SHA1}
        self.call("POST", "reset", body)
        return [m["id"] for m in self.state()["machines"] if m["computerDnsName"].startswith("fleet-")]

    def state(self) -> dict:
        return self.call("GET", "state")

    def log(self) -> list:
        return self.call("GET", "log")["requests"]

    def token(self) -> str:
        answer = self.http.post(f"{self.url}/{self.info['tenant_id']}/oauth2/v2.0/token", verify=self.ca, timeout=30, data={
            "grant_type": "client_credentials", "client_id": self.client["client_id"],
            "client_secret": self.client["client_secret"], "scope": SCOPE})
        answer.raise_for_status()
        return answer.json()["access_token"]

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.state_dir, ignore_errors=True)


# --- running ansible ----------------------------------------------------------------------
class Runner:
    """ansible-playbook and module runs with the collection, the emulator and the scaled pace."""

    def __init__(self, emulator: Emulator, scale: float, workdir: str, verbose: bool) -> None:
        self.emulator = emulator
        self.scale = scale
        self.workdir = workdir
        self.verbose = verbose
        self.bin = Path(sys.executable).parent
        self.collections = collections_root()
        self.env = dict(
            os.environ,
            ANSIBLE_COLLECTIONS_PATH=self.collections,
            ANSIBLE_PYTHON_INTERPRETER=sys.executable,
            ANSIBLE_CALLBACK_PLUGINS=str(HERE / "callback_plugins"),
            ANSIBLE_CALLBACKS_ENABLED="bench_timer",
            ANSIBLE_HOST_KEY_CHECKING="False",
            ANSIBLE_RETRY_FILES_ENABLED="False",
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_LOCALHOST_WARNING="False",
            DEFENDER_API_URL=emulator.url,
            DEFENDER_AUTHORITY_URL=emulator.url,
            DEFENDER_CA_PATH=emulator.ca,
            AZURE_TENANT_ID=emulator.info["tenant_id"],
            AZURE_CLIENT_ID=emulator.client["client_id"],
            AZURE_CLIENT_SECRET=emulator.client["client_secret"],
            # The emulator's 100/min and 1500/h on a clock `scale` times faster.
            DEFENDER_CALLS_PER_MINUTE=str(int(100 * scale)),
            DEFENDER_CALLS_PER_HOUR=str(int(1500 * scale)),
            PYTHONPATH=self.collections,
        )
        for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):  # the uri baseline must use ca_path like the modules
            self.env.pop(name, None)

    def inventory(self, machine_ids: list) -> str:
        path = os.path.join(self.workdir, "fleet.ini")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("[fleet]\n")
            for i, machine_id in enumerate(machine_ids, 1):
                handle.write(f"fleet-{i:04d} bench_machine_id={machine_id}\n")
            handle.write("[fleet:vars]\nansible_connection=local\n")
        return path

    def playbook(self, playbook: str, extra: dict, inventory: str = "localhost,", forks: int = 5,
                 label: str = "") -> tuple[float, int, str, list]:
        """(wall seconds, exit code, output, task timings)."""
        vars_path = os.path.join(self.workdir, "vars.json")
        timings = os.path.join(self.workdir, "timings.jsonl")
        if os.path.exists(timings):
            os.unlink(timings)
        base = {"bench_sha1": SHA1, "bench_url": self.emulator.url, "bench_ca_path": self.emulator.ca,
                "bench_tenant_id": self.emulator.info["tenant_id"], "bench_client_id": self.emulator.client["client_id"],
                "bench_client_secret": self.emulator.client["client_secret"]}
        with open(vars_path, "w", encoding="utf-8") as handle:
            json.dump({**base, **extra}, handle)
        command = [str(self.bin / "ansible-playbook"), "-i", inventory, "-c", "local", "-f", str(forks), "-e", f"@{vars_path}",
                   playbook]
        env = dict(self.env, BENCH_TIMINGS=timings)
        started = time.monotonic()
        lines = []
        with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              cwd=self.workdir) as process:
            for line in process.stdout:
                lines.append(line)
                if self.verbose or progress_line(line):
                    print(f"    [{label}] {line.rstrip()}", flush=True)
        wall = time.monotonic() - started
        records = []
        if os.path.exists(timings):
            with open(timings, encoding="utf-8") as handle:
                records = [json.loads(line) for line in handle if line.strip()]
        return wall, process.returncode, "".join(lines), records

    def module(self, name: str, args: dict) -> tuple[float, int, dict]:
        """Run one module process directly: (wall seconds, peak RSS in KiB, result)."""
        path = os.path.join(self.workdir, "args.json")
        with open(path, "w", encoding="utf-8") as handle:
            json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
        started = time.monotonic()
        with subprocess.Popen([sys.executable, "-m", f"ansible_collections.secops.defender.plugins.modules.{name}", path],
                              env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
            # wait4 gives this child's own peak RSS (ru_maxrss, KiB on Linux).
            out = process.stdout.read()
            process.stderr.read()
            _pid, _status, usage = os.wait4(process.pid, 0)
            process.returncode = 0
        wall = time.monotonic() - started
        try:
            result = json.loads(out)
        except ValueError:
            result = {"failed": True, "msg": out[-2000:]}
        return wall, usage.ru_maxrss, result


def collections_root() -> str:
    for entry in os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep) + sys.path:
        if entry and os.path.isdir(os.path.join(entry, "ansible_collections", "secops", "defender")):
            return entry
    raise SystemExit("secops.defender is not on PYTHONPATH/ANSIBLE_COLLECTIONS_PATH (give the dir above ansible_collections)")


def progress_line(line: str) -> bool:
    """Lines worth showing live: the role's batch labels and the summary."""
    return bool(re.search(r"batch \d+/\d+|PLAY RECAP|Quarantine summary|\"msg\": \"Stop and quarantine", line))


# --- reading the emulator's log -----------------------------------------------------------
def endpoint(entry: dict) -> str:
    path = entry["path"]
    if "/oauth2/" in path:
        return "token"
    if entry.get("api") == QUARANTINE or path.endswith("/StopAndQuarantineFile"):
        return "POST"
    if entry["method"] == "GET" and path.rstrip("/") == "/api/machineactions":
        return "list"
    if entry["method"] == "GET" and path.startswith("/api/machineactions/"):
        return "get"
    return "other"  # msal's sign-in discovery (openid-configuration), machine look-ups


def is_poll(entry: dict) -> bool:
    """A status poll: a list query for actions created since a time (no machine) or for given ids (the role waits
    for its own actions by id, 15 per query), or a GET by id."""
    kind = endpoint(entry)
    query = entry.get("query") or ""
    by_time = "creationDateTimeUtc ge" in query and "machineId eq" not in query
    return kind == "get" or (kind == "list" and (by_time or "id eq " in query))


def emulated_seconds(stamp: str) -> float:
    head, _dot, frac = stamp.rstrip("Z").partition(".")
    return time.mktime(time.strptime(head, "%Y-%m-%dT%H:%M:%S")) + float("0." + (frac or "0"))


def poll_rounds(log: list, interval: float) -> tuple[int, int]:
    """(poll calls, rounds): calls closer together than half an interval belong to one round."""
    times = sorted(emulated_seconds(e["time"]) for e in log if is_poll(e))
    rounds = sum(1 for i, t in enumerate(times) if i == 0 or t - times[i - 1] > interval / 2)
    return len(times), rounds


def fleet_counts(log: list, state: dict, machine_ids: list) -> dict:
    created = Counter(e["path"].split("/")[3].lower() for e in log if endpoint(e) == "POST" and e.get("action_id"))
    actions = defaultdict(list)
    for action in state["actions"]:
        if action.get("type") == "StopAndQuarantineFile":
            actions[action["machineId"].lower()].append(action)
    succeeded = sum(1 for m in machine_ids if any(a["status"] == "Succeeded" for a in actions[m]))
    return {
        "calls": Counter(endpoint(e) for e in log),
        "posts_answered": sum(1 for e in log if endpoint(e) == "POST" and e["status"] != 429),
        "429": sum(1 for e in log if e["status"] == 429),
        "failures": len(machine_ids) - succeeded,
        "duplicates": sum(max(0, len(actions[m]) - 1) for m in machine_ids) + sum(max(0, n - 1) for n in created.values()),
    }


# --- the measurements ---------------------------------------------------------------------
def bench_fleet(emulator: Emulator, runner: Runner, args) -> dict:
    """The three ways, each from a fresh emulator state with the same fleet."""
    scale = args.time_scale
    interval = 10.0 / scale  # 10 emulated seconds, the module's default poll_interval
    floor = args.fleet * 60.0 / (100 * scale)
    ways = {}
    for way in args.ways:
        machine_ids = emulator.reset(args.fleet, time_scale=scale)
        extra = {"bench_machine_ids": machine_ids, "bench_poll_interval": interval, "bench_wait_timeout": 600}
        print(f"  fleet: {way} ({args.fleet} devices) ...", flush=True)
        if way in ("role", "module"):
            playbook = "fleet_role.yml" if way == "role" else "fleet_module.yml"
            wall, code, _out, timings = runner.playbook(str(HERE / "playbooks" / playbook), extra, label=way)
        else:
            inventory = runner.inventory(machine_ids)
            playbook = "fleet_per_host.yml" if way == "per_host" else "fleet_uri.yml"
            wall, code, _out, timings = runner.playbook(str(HERE / "playbooks" / playbook), extra, inventory=inventory,
                                                        forks=args.forks, label=way)
        time.sleep(20.0 / scale + 0.5)  # let the last actions finish on the emulated clock (Pending 5 s + InProgress 10 s)
        log = emulator.log()
        if args.dump:
            Path(args.dump).mkdir(parents=True, exist_ok=True)
            Path(args.dump, f"fleet-{way}.json").write_text(json.dumps(log, indent=1), encoding="utf-8")
            Path(args.dump, f"fleet-{way}-tasks.json").write_text(json.dumps(timings, indent=1), encoding="utf-8")
        counts = fleet_counts(log, emulator.state(), machine_ids)
        polls, rounds = poll_rounds(log, 10.0)
        ways[way] = {"wall": wall, "floor": floor, "rc": code, "polls": polls, "rounds": rounds, **counts}
        print(f"    {way}: {wall:.1f} s (floor {floor:.1f} s), exit {code}, {counts['failures']} failures, "
              f"{counts['429']} x 429, {counts['duplicates']} duplicates", flush=True)
    return ways


def bench_polling(emulator: Emulator, runner: Runner, args) -> dict:
    """Poll calls per poll round for a small and a large fleet (fleet mode, pace raised so only polling is timed)."""
    result = {}
    for size in (10, args.fleet):
        machine_ids = emulator.reset(size, time_scale=args.time_scale, pending_seconds=60, in_progress_seconds=30,
                                     rate_limit_per_minute=100000, rate_limit_per_hour=1000000)
        token = emulator.token()  # after the reset, which drops every token issued before
        _wall, _rss, outcome = runner.module("defender_stop_quarantine", {
            "access_token": token, "machine_ids": machine_ids, "sha1": SHA1, "comment": "bench: polling", "wait": True,
            "poll_interval": 10.0 / args.time_scale, "calls_per_minute": 100000, "calls_per_hour": 1000000})
        polls, rounds = poll_rounds(emulator.log(), 10.0)
        if outcome.get("failed"):
            print(f"    polling run failed: {outcome.get('msg')}")
        result[size] = {"polls": polls, "rounds": rounds, "failed": bool(outcome.get("failed"))}
    return result


def bench_one_task(emulator: Emulator, runner: Runner, args) -> dict:
    """Median wall time of one task: the module vs one uri POST, both with a pre-fetched token."""
    machine_ids = emulator.reset(3 * args.repeat + 3, time_scale=args.time_scale)
    token = emulator.token()
    tasks = []
    for i in range(args.repeat):
        tasks += [
            {"name": f"module {i}", "secops.defender.defender_stop_quarantine": {
                "access_token": "{{ bench_access_token }}", "machine_id": machine_ids[3 * i], "sha1": SHA1, "comment": "bench"}},
            {"name": f"uri {i}", "ansible.builtin.uri": {
                "url": f"{emulator.url}/api/machines/{machine_ids[3 * i + 1]}/StopAndQuarantineFile", "method": "POST",
                "ca_path": emulator.ca, "headers": {"Authorization": "Bearer {{ bench_access_token }}"},
                "body_format": "json", "body": {"Comment": "bench", "Sha1": SHA1}, "status_code": 201}},
            {"name": f"secret {i}", "secops.defender.defender_stop_quarantine": {
                "machine_id": machine_ids[3 * i + 2], "sha1": SHA1, "comment": "bench"}},
        ]
    playbook = os.path.join(runner.workdir, "one_task.yml")
    with open(playbook, "w", encoding="utf-8") as handle:
        json.dump([{"name": "Bench - one task", "hosts": "localhost", "gather_facts": False, "tasks": tasks}], handle)
    print(f"  one task: {args.repeat} x (module, uri, module with client secret) ...", flush=True)
    _wall, code, out, timings = runner.playbook(playbook, {"bench_access_token": token}, label="one task")
    if code:
        print(out[-3000:])
    by_kind = defaultdict(list)
    for record in timings:
        by_kind[record["task"].split()[0]].append(record["seconds"])
    medians = {kind: statistics.median(values[1:] or values) for kind, values in by_kind.items()}  # first run warms caches

    # Start-up: the module process alone (no controller), with a token given and with a secret.
    startup = {}
    for kind, auth in (("token", {"access_token": token}), ("secret", {})):
        walls = []
        for i in range(5):
            wall, _rss, _res = runner.module("defender_stop_quarantine", {
                **auth, "machine_id": machine_ids[-1 - (i % 3)], "sha1": SHA1, "comment": "bench", "_ansible_check_mode": True})
            walls.append(wall)
        startup[kind] = statistics.median(walls)
    probe = ("import sys, json; from ansible_collections.secops.defender.plugins.module_utils import _module; "
             "print(json.dumps('msal' in sys.modules))")
    msal_loaded = json.loads(subprocess.run([sys.executable, "-c", probe], env=runner.env, capture_output=True, text=True,
                                            check=True).stdout)
    import_msal = subprocess.run([sys.executable, "-X", "importtime", "-c", "import msal"], env=runner.env,
                                 capture_output=True, text=True, check=True).stderr
    msal_us = max((int(m.group(1)) for m in re.finditer(r"\|\s+(\d+) \| msal$", import_msal, re.M)), default=0)
    return {"medians": medians, "startup": startup, "msal_at_import": msal_loaded, "msal_import_ms": msal_us / 1000.0}


def bench_memory(emulator: Emulator, runner: Runner, args) -> dict:
    """Peak RSS of the module process for a fleet run (pace raised: memory does not depend on it)."""
    machine_ids = emulator.reset(args.memory_fleet, time_scale=args.time_scale,
                                 rate_limit_per_minute=100000, rate_limit_per_hour=1000000)
    print(f"  memory: fleet of {len(machine_ids)} in one module process ...", flush=True)
    wall, rss, result = runner.module("defender_stop_quarantine", {
        "machine_ids": machine_ids, "sha1": SHA1, "comment": "bench: memory", "wait": True,
        "poll_interval": 10.0 / args.time_scale, "calls_per_minute": 100000, "calls_per_hour": 1000000})
    _w, rss_small, _r = runner.module("defender_stop_quarantine", {
        "machine_ids": machine_ids[:1], "sha1": SHA1, "comment": "bench: memory", "_ansible_check_mode": True})
    return {"machines": len(machine_ids), "rss_kib": rss, "rss_one_kib": rss_small, "wall": wall,
            "failed": bool(result.get("failed")), "actions": len(result.get("machine_actions") or [])}


def bench_tokens(emulator: Emulator, runner: Runner, args) -> dict:
    counts = {}
    for mode in ("per_task", "defender_token", "cache"):
        machine_ids = emulator.reset(1, time_scale=args.time_scale)
        cache = os.path.join(runner.workdir, "token-cache.json")
        if os.path.exists(cache):
            os.unlink(cache)
        print(f"  tokens: {args.token_tasks} task runs, {mode} ...", flush=True)
        _wall, code, out, _t = runner.playbook(str(HERE / "playbooks" / "tokens.yml"), {
            "bench_token_mode": mode, "bench_tasks": args.token_tasks, "bench_machine_id": machine_ids[0],
            "bench_cache_path": cache}, label=f"tokens {mode}")
        if code:
            print(out[-3000:])
        mode_bits = oct(os.stat(cache).st_mode & 0o777) if mode == "cache" and os.path.exists(cache) else None
        counts[mode] = {"tokens": sum(1 for e in emulator.log() if endpoint(e) == "token"), "rc": code, "mode": mode_bits}
    return counts


# --- the table ----------------------------------------------------------------------------
def table(args, fleet: dict, polling: dict, one: dict, memory: dict, tokens: dict) -> str:
    out = []
    scale = args.time_scale
    out.append(f"secops.defender benchmark: fleet {args.fleet}, time scale {scale:g} (emulated s per real s), "
               f"limits 100/min and 1500/h per API (= {100 * scale:g}/min real), forks {args.forks}, "
               f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end, python {sys.version.split()[0]}")
    if fleet:
        names = {"role": "quarantine_file role", "module": "one fleet-mode task", "per_host": f"per-host module (forks {args.forks})",
                 "uri": "naive uri (token per task)"}
        ways = list(fleet)
        n = args.fleet
        rows = [("1. Fleet", *[names[w] for w in ways])]
        rows.append(("wall time (s)", *[f"{fleet[w]['wall']:.1f}" for w in ways]))
        rows.append(("rate-limit floor N/100 per min (s)", *[f"{fleet[w]['floor']:.1f}" for w in ways]))
        rows.append(("wall / floor (target <= 1.10)", *[f"{fleet[w]['wall'] / fleet[w]['floor']:.2f}" for w in ways]))
        rows.append(("POST per machine, all (target <= 1.05)", *[f"{fleet[w]['calls'].get('POST', 0) / n:.3f}" for w in ways]))
        rows.append(("POST per machine, not refused with 429", *[f"{fleet[w]['posts_answered'] / n:.3f}" for w in ways]))
        for kind, label in (("list", "GET list per machine"), ("get", "GET by id per machine"),
                            ("token", "token requests per machine"),
                            ("other", "other calls per machine (sign-in discovery, ...)")):
            rows.append((label, *[f"{fleet[w]['calls'].get(kind, 0) / n:.3f}" for w in ways]))
        rows.append(("poll calls per poll round", *[
            f"{fleet[w]['polls'] / fleet[w]['rounds']:.2f}" if fleet[w]["rounds"] else "-" for w in ways]))
        rows.append(("429s received", *[str(fleet[w]["429"]) for w in ways]))
        rows.append(("failures (no Succeeded action)", *[str(fleet[w]["failures"]) for w in ways]))
        rows.append(("duplicates (extra actions)", *[str(fleet[w]["duplicates"]) for w in ways]))
        rows.append(("ansible-playbook exit code", *[str(fleet[w]["rc"]) for w in ways]))
        out.append(render(rows))
    if polling:
        rows = [("Polling (fleet mode, wait)", *[f"{size} devices" for size in polling])]
        rows.append(("poll calls / poll rounds", *[f"{p['polls']} / {p['rounds']}" for p in polling.values()]))
        rows.append(("calls per round", *[f"{p['polls'] / p['rounds']:.2f}" if p["rounds"] else "-" for p in polling.values()]))
        out.append(render(rows))
    if one:
        med = one["medians"]
        rows = [("2. One task (median, s)", "value")]
        rows.append(("defender_stop_quarantine, access_token", f"{med.get('module', 0):.3f}"))
        rows.append(("ansible.builtin.uri POST, same token", f"{med.get('uri', 0):.3f}"))
        rows.append(("ratio (target <= 1.3)", f"{med.get('module', 0) / med['uri']:.2f}" if med.get("uri") else "-"))
        rows.append(("defender_stop_quarantine, client secret", f"{med.get('secret', 0):.3f}"))
        rows.append(("module process alone, access_token", f"{one['startup']['token']:.3f}"))
        rows.append(("module process alone, client secret", f"{one['startup']['secret']:.3f}"))
        rows.append(("msal loaded by module_utils import", "yes" if one["msal_at_import"] else "no"))
        rows.append(("cost of import msal (ms)", f"{one['msal_import_ms']:.0f}"))
        out.append(render(rows))
    if memory:
        rows = [("3. Memory", "value")]
        rows.append((f"peak RSS, fleet of {memory['machines']} with wait (MiB)", f"{memory['rss_kib'] / 1024:.1f}"))
        rows.append(("peak RSS, one device, check mode (MiB)", f"{memory['rss_one_kib'] / 1024:.1f}"))
        rows.append(("fleet run: actions returned / failed", f"{memory['actions']} / {memory['failed']}"))
        out.append(render(rows))
    if tokens:
        rows = [(f"4. Tokens ({args.token_tasks} task runs)", "token requests", "exit code")]
        labels = {"per_task": "credentials in every task", "defender_token": "defender_token + access_token",
                  "cache": "token_cache_path"}
        for mode, value in tokens.items():
            extra = f" (file mode {value['mode']})" if value.get("mode") else ""
            rows.append((labels[mode] + extra, str(value["tokens"]), str(value["rc"])))
        out.append(render(rows))
    return "\n\n".join(out)


def render(rows: list) -> str:
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(row)) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fleet", type=int, default=500, help="devices in the fleet runs (default 500)")
    parser.add_argument("--time-scale", type=float, default=10.0,
                        help="emulated seconds per real second (default 10: the 100/min limit becomes 1000/min)")
    parser.add_argument("--forks", type=int, default=20)
    parser.add_argument("--ways", default="role,module,per_host,uri",
                        help="fleet ways to run: role, module (one fleet-mode task), per_host, uri")
    parser.add_argument("--repeat", type=int, default=11, help="runs of one task for the median")
    parser.add_argument("--memory-fleet", type=int, default=1000)
    parser.add_argument("--token-tasks", type=int, default=100)
    parser.add_argument("--skip", default="", help="comma-separated: fleet, polling, one, memory, tokens")
    parser.add_argument("--output", help="also write the table to this file")
    parser.add_argument("--dump", help="write each fleet run's emulator request log into this directory")
    parser.add_argument("--verbose", action="store_true", help="show every ansible-playbook line")
    args = parser.parse_args()
    args.ways = [w for w in args.ways.split(",") if w]
    skip = set(args.skip.split(","))

    emulator = Emulator(sys.executable, args.time_scale)
    workdir = tempfile.mkdtemp(prefix="defender-bench-work-")
    runner = Runner(emulator, args.time_scale, workdir, args.verbose)
    try:
        fleet = bench_fleet(emulator, runner, args) if "fleet" not in skip else {}
        polling = bench_polling(emulator, runner, args) if "polling" not in skip else {}
        one = bench_one_task(emulator, runner, args) if "one" not in skip else {}
        memory = bench_memory(emulator, runner, args) if "memory" not in skip else {}
        tokens = bench_tokens(emulator, runner, args) if "tokens" not in skip else {}
    finally:
        emulator.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    text = table(args, fleet, polling, one, memory, tokens)
    print()
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
