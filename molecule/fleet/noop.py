#!/usr/bin/env python
"""The fleet scenario's measurement, run by verify.yml after the first deploy (converge):
one more deploy, so that every role has recorded what it left on each host, then the same
deploy, which changes nothing, on one host (--limit) and on all three, in turns, ROUNDS
times. Each run must end with changed=0 on every host it ran on. Prints each time, the
medians and their ratio (issue 16: three hosts at most 1.5 x one), and the CPU time each
run took on this machine, which the lab's hosts share: the least time three hosts could take.
Usage: noop.py MOLECULE_INVENTORY_FILE
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HOSTS = ["lbm-fleet-1", "lbm-fleet-2", "lbm-fleet-3"]
ROUNDS = 3
RECAP = re.compile(r"^(lbm-fleet-\d+)\s+: ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def say(text):
    """Print a figure; also append it to $LAUNCHBAY_FLEET_REPORT (benchmarks/fleet.py reads it)."""
    print(text, flush=True)
    if os.environ.get("LAUNCHBAY_FLEET_REPORT"):
        with open(os.environ["LAUNCHBAY_FLEET_REPORT"], "a", encoding="utf-8") as handle:
            handle.write(text + "\n")


def busy_cpu_seconds():
    """The CPU time this machine's cores have spent busy since boot (/proc/stat: all but idle and
    iowait). The lab's hosts are containers on this machine: their work, the controller's and
    Docker's all count."""
    with open("/proc/stat", encoding="ascii") as handle:
        fields = [int(n) for n in handle.readline().split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def deploy(inventory, *args):
    """ansible-playbook playbooks/deploy.yml; returns ({host: (changed, unreachable, failed)}, seconds,
    busy CPU seconds)."""
    started, cpu = time.monotonic(), busy_cpu_seconds()
    res = subprocess.run(["ansible-playbook", os.path.join(REPO, "playbooks", "deploy.yml"), "-i", inventory, *args],
                         capture_output=True, text=True, timeout=1200, check=False)
    seconds, cpu = time.monotonic() - started, busy_cpu_seconds() - cpu
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-3000:]
    return dict((h, tuple(int(n) for n in rest)) for h, *rest in RECAP.findall(out)), seconds, cpu


def main():
    inventory = os.path.dirname(sys.argv[1])
    _recap, seconds, _cpu = deploy(inventory)
    say("the second deploy, after which every role has its record: %.1f s" % seconds)
    ones, threes = [], []
    for _round in range(ROUNDS):
        recap, seconds, cpu = deploy(inventory, "--limit", HOSTS[0])
        assert recap == {HOSTS[0]: (0, 0, 0)}, recap
        ones.append((seconds, cpu))
        recap, seconds, cpu = deploy(inventory)
        assert recap == dict((h, (0, 0, 0)) for h in HOSTS), recap
        threes.append((seconds, cpu))
        say("no-op deploy, changed=0: one host %.1f s (%.0f CPU s), three hosts %.1f s (%.0f CPU s)"
            % (ones[-1] + threes[-1]))
    one, three = [statistics.median(t[0] for t in runs) for runs in (ones, threes)]
    cpu_one, cpu_three = [statistics.median(t[1] for t in runs) for runs in (ones, threes)]
    cores = os.cpu_count() or 1
    say("median of %d: one host %.1f s, three hosts %.1f s: %.2f x one host (issue 16's target: at most 1.5)"
        % (ROUNDS, one, three, three / one))
    # the hosts share this machine's cores with the controller: three hosts' work cannot take
    # less than its CPU time spread over every core
    say("CPU time, all of this machine's: one host %.0f s, three hosts %.0f s; on %d cores three hosts take at least "
        "%.1f s, %.2f x one host, even with no waiting at all" % (cpu_one, cpu_three, cores, cpu_three / cores,
                                                                  cpu_three / cores / one))


if __name__ == "__main__":
    main()
