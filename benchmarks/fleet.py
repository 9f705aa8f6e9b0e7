#!/usr/bin/env python
"""Benchmark: a no-op deploy of the whole stack on one host and on three, in one run.

Runs the Molecule scenario molecule/fleet: three systemd hosts (Docker-in-Docker, this
machine's engine) deployed as the rollout scenario's are, then the same deploy again,
changing nothing, on one host (--limit) and on all three, in turns (molecule/fleet/noop.py).
Prints each time, the medians and their ratio (issue 16: three hosts at most 1.5 x one).
Installs and starts what the lab needs first, like the test command. About ten minutes.

    ./benchmarks/fleet.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    for script, *args in (["bootstrap.sh"], ["engine.sh", "start"], ["images.sh"]):
        subprocess.run(["bash", os.path.join(REPO, "lab", script), *args], cwd=REPO, check=True)
    handle, report = tempfile.mkstemp(prefix="lbbench-fleet-", suffix=".txt")
    os.close(handle)
    env = dict(os.environ, LAUNCHBAY_FLEET_REPORT=report, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".collections"), ANSIBLE_FORCE_COLOR="0", PY_COLORS="0",
               PATH=os.path.join(REPO, ".venv", "bin") + os.pathsep + os.environ.get("PATH", ""))
    print("[bench] molecule test -s fleet (three hosts: create, prepare, the first deploy, the timings, destroy)", flush=True)
    res = subprocess.run(["molecule", "test", "-s", "fleet"], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=3600, check=False)
    out = res.stdout + res.stderr
    with open(report, encoding="utf-8") as handle:
        print(handle.read(), end="")
    os.unlink(report)
    if res.returncode != 0:
        sys.exit("the fleet scenario failed:\n" + out[-4000:])


if __name__ == "__main__":
    main()
