# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``python -m mde_emulator --state-dir DIR --port 0 [--seed FILE] [--time-scale N] [--host 127.0.0.1]``."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading

from .server import Emulator, serve

DEFAULT_SEED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "seeds", "default.json")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mde_emulator", description="Microsoft Defender for Endpoint API emulator (test-only).")
    parser.add_argument("--state-dir", required=True, help="where ca.pem, emulator.json and client certificates are written")
    parser.add_argument("--port", type=int, default=0, help="TCP port; 0 picks a free one (see emulator.json)")
    parser.add_argument("--seed", default=DEFAULT_SEED, help="seed JSON file (default: seeds/default.json)")
    parser.add_argument("--time-scale", type=float, default=1.0, help="emulated seconds per real second")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--verbose", action="store_true", help="log every HTTP request to stderr")
    args = parser.parse_args(argv)
    if args.time_scale <= 0:
        parser.error("--time-scale must be > 0")
    with open(args.seed, encoding="utf-8") as handle:
        seed = json.load(handle)
    info_path = os.path.join(args.state_dir, "emulator.json")
    if os.path.exists(info_path):
        os.remove(info_path)  # its presence must mean "this instance is ready"
    emulator = Emulator(args.state_dir, seed, os.path.abspath(args.seed), args.time_scale, args.host)
    try:
        server = serve(emulator, args.port, args.verbose)
    except OSError as exc:  # a port in use (EADDRINUSE) or not ours to take: say so, not a traceback
        sys.stderr.write("mde_emulator: cannot listen on %s port %d: %s. Use --port 0 to pick a free port "
                         "(emulator.json then names it).\n" % (args.host, args.port, exc.strerror or exc))
        return 2
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    sys.stderr.write("MDE emulator listening on %s (state in %s)\n" % (emulator.url, emulator.state_dir))
    sys.stderr.flush()
    while not stop.wait(1.0):
        pass
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
