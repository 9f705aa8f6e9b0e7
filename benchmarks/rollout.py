#!/usr/bin/env python
"""Benchmark: the same rollout under steady HTTPS load, two ways, in one run.

1. ours: the app role's health-gated rolling update (benchmarks/rolling.yml), 2 replicas
   of the demo app behind Traefik (demo.launchbay.test);
2. the baseline: the naive community.docker.docker_container recreate most playbooks do
   (benchmarks/naive.yml), one container behind a fixed Traefik route (naive.launchbay.test).

Both switch between launchbay-lab/demo-app:v1 and :v2 on this machine's local stack
(lab/deploy-local.sh sets it up first), with the load generator of lab/loadgen.py sending
--rate requests/s to 127.0.0.1:443. Printed for each: requests sent, failed requests,
p50/p99 latency, rollout wall time, and its ratio to the app's own start-to-healthy time
(the floor: a copy of a replica, from `docker create` until its /health answers 200, polled
every 50 ms). The ratio leaves out the configured drain (app_drain_delay), which the issue's
budget adds: budget = 1.5 x floor + drain.

Then, under the same load: the rollback playbook (2 replicas, back to the first version) and,
in the full run, a no-op deploy of the whole stack without load (its changed count printed),
each against the issue's budget in seconds (15 and 25).

The demo app starts in well under a second; --boot adds APP_BOOT_SECONDS to the replicas (the
time a real framework spends loading before it listens), so that the ratio is also measured
against a floor like a real app's. The default full run measures both (--boot 0 5).

    ./benchmarks/rollout.py [--rate 100] [--replicas 2 4] [--boot 0 5] [--no-setup]
    ./benchmarks/rollout.py --short --no-setup    the test command's run: 2 replicas, 50 requests/s,
                                                  back to the first version by the rollback playbook;
                                                  exits 1 when our rollout or rollback failed a request
                                                  (no timing assertion)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "lab"))
from loadgen import LoadGenerator  # noqa: E402  pylint: disable=wrong-import-position

CA = os.path.join(os.environ.get("LAUNCHBAY_LAB_ACME_DIR", os.path.expanduser("~/.config/launchbay/lab-acme")), "pebble-root.pem")
IMAGE = "launchbay-lab/demo-app:%s"
DRAIN = 2.0  # app_drain_delay's default (the local inventory keeps it): the budget adds it
ROLLBACK_BUDGET = 15.0  # issue 16: the rollback playbook, 2 replicas on one host
NOOP_BUDGET = 25.0  # issue 16: a no-op deploy of the whole stack on one host
ENV = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
           PATH=os.path.join(REPO, ".venv", "bin") + os.pathsep + os.environ.get("PATH", ""))


def run(cmd, timeout=900):
    res = subprocess.run(cmd, cwd=REPO, env=ENV, capture_output=True, text=True, timeout=timeout, check=False)
    if res.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(cmd), (res.stdout + res.stderr)[-3000:]))
    return res.stdout


def docker_json(*args):
    return json.loads(run(["docker", *args]))


def playbook(name, version, *extra):
    return run(["ansible-playbook", "benchmarks/%s.yml" % name, "-i", "inventories/local", "-e", "app_version=%s" % version,
                "-e", "bench_image=%s" % (IMAGE % version), *extra])


STEP = re.compile(r"Roll the replicas over to the release -+ ([0-9.]+)s")


RECAP = re.compile(r"changed=(\d+)")


def whole_playbook(name, *extra):
    """A playbook of the collection on the local inventory; returns the changed count of its recap."""
    out = run(["ansible-playbook", "playbooks/%s.yml" % name, "-i", "inventories/local", *extra])
    return sum(int(n) for n in RECAP.findall(out[out.rindex("PLAY RECAP"):]))


def rollback_playbook():
    """playbooks/rollback.yml back to the previous release (across v2's migration); its time is the wall time."""
    whole_playbook("rollback", "-e", "app_rollback_allow_schema_downgrade=true")


def rolling(version, *extra):
    """The rolling playbook; returns the seconds of its rollout step (the rolling_update module)."""
    out = run(["env", "ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks", "ansible-playbook", "benchmarks/rolling.yml",
               "-i", "inventories/local", "-e", "app_version=%s" % version, *extra])
    found = STEP.search(out)
    return float(found.group(1)) if found else None


def replica_spec():
    replica = run(["docker", "ps", "-q", "--filter", "label=launchbay.app=demo", "--filter", "label=launchbay.role=app"]).split()[0]
    return docker_json("inspect", replica)[0]


def naive(version):
    """The baseline with the replicas' own secret files and user (the app role's current secret set)."""
    spec = replica_spec()
    secrets = [b.split(":")[0] for b in spec["HostConfig"]["Binds"] if ":/run/secrets" in b][0]
    return playbook("naive", version, "-e", "bench_secrets_dir=%s" % secrets, "-e", "bench_user=%s" % (spec["Config"]["User"] or "0"))


def demo_version():
    """v1 or v2, the tag the demo app's replicas run; None for any other image (another tag, or
    an image by ID, as a rollback to a release whose tag moved leaves them)."""
    names = run(["docker", "ps", "-q", "--filter", "label=launchbay.app=demo", "--filter", "label=launchbay.role=app"]).split()
    image = docker_json("inspect", names[0])[0]["Config"]["Labels"]["launchbay.image"]
    return image.rsplit(":", 1)[1] if image in (IMAGE % "v1", IMAGE % "v2") else None


def start_to_healthy(version, samples=3):
    """Seconds from `docker create` to the app's first 200 on /health (asked on the container's
    address every 50 ms), for a copy of a replica (its environment, secrets and user): the
    app's own start time, the floor. Starting a replica takes a container, so creating it counts."""
    spec = replica_spec()
    times = []
    for _sample in range(samples):
        run(["docker", "rm", "-f", "bench-floor"])
        cmd = ["docker", "create", "--name", "bench-floor", "--network", "launchbay_public", "--label", "launchbay.benchmark=floor"]
        for item in spec["Config"]["Env"]:
            cmd += ["-e", item]
        for bind in spec["HostConfig"]["Binds"]:
            cmd += ["-v", bind]
        if spec["Config"]["User"]:
            cmd += ["--user", spec["Config"]["User"]]
        began = time.monotonic()
        run(cmd + [IMAGE % version])
        run(["docker", "network", "connect", "launchbay_internal", "bench-floor"])
        run(["docker", "start", "bench-floor"])
        address = docker_json("inspect", "bench-floor")[0]["NetworkSettings"]["Networks"]["launchbay_public"]["IPAddress"]
        while time.monotonic() - began < 120:
            try:
                with urllib.request.urlopen("http://%s:8000/health" % address, timeout=1) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            time.sleep(0.05)
        times.append(time.monotonic() - began)
    run(["docker", "rm", "-f", "bench-floor"])
    return sorted(times)[len(times) // 2]


def wait_tls(host, timeout=90):
    """Until Traefik serves a certificate from the lab CA for `host` and the app answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        gen = LoadGenerator(host, CA, rate=5, workers=1, max_seconds=1).start()
        time.sleep(1.2)
        result = gen.stop()
        if result["sent"] and not result["failed"]:
            return
    sys.exit("no verified HTTPS answer from %s within %ss" % (host, timeout))


def measure(label, host, action, rate, floor, boot=0.0, budget=None):
    """Run `action` under load; `budget` (seconds) replaces the rollout's 1.5 x floor + drain."""
    gen = LoadGenerator(host, CA, rate=rate, workers=max(4, int(rate // 12)), max_seconds=900).start()
    time.sleep(3)
    began = time.monotonic()
    step = action()
    wall = time.monotonic() - began
    step = step if isinstance(step, float) else wall
    time.sleep(3)
    load = gen.stop()
    versions = [v for _t, v in load["versions"]]
    drain = DRAIN if label.startswith("rolling") else 0.0  # the naive recreate has none
    limit = budget if budget is not None else 1.5 * floor + drain
    return {
        "method": label, "boot_s": boot, "sent": load["sent"], "failed": load["failed"], "rate": load["rate"],
        "p50_ms": load["p50_ms"], "p99_ms": load["p99_ms"], "playbook_s": round(wall, 1), "rollout_s": round(step, 1),
        "floor_s": round(floor, 2), "ratio_to_floor": round((step - drain) / floor, 2) if budget is None else "-",
        "budget_s": round(limit, 1), "within_budget": step <= limit,
        "served": "%s -> %s" % (versions[0], versions[-1]) if versions else "-", "failures": load["failure_reasons"],
    }


def remove_naive():
    run(["docker", "rm", "-f", "bench-naive"])
    run(["rm", "-f", "/etc/launchbay/traefik/dynamic/bench-naive.yml"])


def boot_env(boot):
    """Extra vars giving the replicas APP_BOOT_SECONDS (none for 0: the inventory's own app_env)."""
    if not boot:
        return []
    return ["-e", json.dumps({"app_env": {"APP_ENVIRONMENT": "local", "APP_BOOT_SECONDS": "%g" % boot}})]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--rate", type=float, default=None, help="requests per second (default 100, 50 with --short)")
    parser.add_argument("--replicas", type=int, nargs="+", default=None, help="replica counts to roll (default 2 4; 2 with --short)")
    parser.add_argument("--boot", type=float, nargs="+", default=None,
                        help="the app's boot seconds to measure with (APP_BOOT_SECONDS; default 0 5, 0 with --short)")
    parser.add_argument("--no-setup", action="store_true", help="the local stack is already deployed")
    parser.add_argument("--short", action="store_true", help="the test command's quick run (see above)")
    args = parser.parse_args()
    rate = args.rate or (50 if args.short else 100)
    counts = args.replicas or ([2] if args.short else [2, 4])
    boots = args.boot or ([0.0] if args.short else [0.0, 5.0])
    samples = 1 if args.short else 3
    short = args.short
    if not args.no_setup:
        print("[bench] deploying the local stack (lab/deploy-local.sh)", flush=True)
        run([os.path.join(REPO, "lab", "deploy-local.sh")], timeout=1800)
    first = current = demo_version()
    if current is None:  # the benchmark switches between v1 and v2
        print("[bench] the demo app runs neither v1 nor v2: rolling it to v1 first (not measured)", flush=True)
        rolling("v1")
        first = current = "v1"
    print("[bench] both apps on %s at %.0f requests/s; replicas: %s; boot seconds: %s" % (current, rate, counts, boots), flush=True)
    naive(current)
    wait_tls("naive.launchbay.test")
    rows, floors = [], {}
    # replicas left with a boot time (an interrupted run, a rollback to one of its releases)
    changed = any(item.startswith("APP_BOOT_SECONDS=") for item in replica_spec()["Config"]["Env"])
    try:
        for boot in boots:
            extra = boot_env(boot)
            if extra or changed:  # the replicas with this boot time first, at the same version (not measured)
                rolling(current, *extra)
                changed = bool(extra)
            floor = floors[boot] = start_to_healthy("v2" if current != "v2" else "v1", samples=samples)
            print("[bench] start-to-healthy of the demo app with a %gs boot (median of %d): %.2f s" % (boot, samples, floor),
                  flush=True)
            for count in counts:
                replicas = ["-e", "app_replicas=%d" % count] + extra
                if count != 2:  # scale first, at the same version (not measured)
                    rolling(current, *replicas)
                    changed = True
                target = "v2" if current != "v2" else "v1"
                rows.append(measure("rolling_update (%d replicas)" % count, "demo.launchbay.test",
                                    lambda: rolling(target, *replicas), rate, floor, boot))
                current = target
        other = "v2" if first != "v2" else "v1"  # the naive container runs `first`
        rows.append(measure("naive docker_container recreate", "naive.launchbay.test", lambda: naive(other), rate,
                            floors[boots[0]], boots[0]))
        remove_naive()
        # the rollback playbook, 2 replicas, from the other version back to the first: the run
        # above left exactly that unless it measured more than one rollout
        if current != other or changed or len(rows) > 2:
            print("[bench] %s then %s with 2 replicas, for the rollback" % (first, other), flush=True)
            rolling(first)
            rolling(other)
            changed = False
        rows.append(measure("rollback playbook (2 replicas)", "demo.launchbay.test", rollback_playbook, rate, floors[boots[0]],
                            0.0, ROLLBACK_BUDGET))
        current = first
        if not short:
            deploy = ["deploy", "-e", "app_version=%s" % first]
            whole_playbook(*deploy)  # once, for what the benchmark left (the rollouts' releases); then the no-op
            began = time.monotonic()
            count = whole_playbook(*deploy)
            wall = time.monotonic() - began
            rows.append({"method": "no-op deploy playbook (changed=%d)" % count, "boot_s": 0.0, "sent": "-", "failed": "-",
                         "rate": "-", "p50_ms": "-", "p99_ms": "-", "playbook_s": round(wall, 1), "rollout_s": round(wall, 1),
                         "floor_s": "-", "ratio_to_floor": "-", "budget_s": NOOP_BUDGET, "within_budget": wall <= NOOP_BUDGET,
                         "served": "(no load)", "failures": {}})
    finally:
        remove_naive()
        if current != first or changed:
            print("[bench] back to %s with 2 replicas" % first, flush=True)
            rolling(first)
    report(rows, floors)


def report(rows, floors):
    print()
    header = ("method", "boot s", "sent", "failed", "req/s", "p50 ms", "p99 ms", "playbook s", "rollout s", "floor s",
              "x floor", "budget s", "within", "served")
    line = "%-32s %6s %6s %6s %6s %7s %7s %10s %9s %7s %7s %8s %6s  %s"
    print(line % header)
    for row in rows:
        print(line % tuple(str(row[key]) for key in (
            "method", "boot_s", "sent", "failed", "rate", "p50_ms", "p99_ms", "playbook_s", "rollout_s", "floor_s",
            "ratio_to_floor", "budget_s", "within_budget", "served")))
    print("floor: from docker create to the first 200 on /health; x floor: (rollout s - the %.0f s drain) / floor; budget: 1.5 x"
          " floor + drain; rollout s: the rolling_update step (the naive recreate: its whole playbook, no drain);"
          " playbook s: the whole ansible-playbook run" % DRAIN)
    for row in rows:
        if row["failures"]:
            print("%s failures: %s" % (row["method"], row["failures"]))
    print(json.dumps({"floors_s": dict(("%g" % k, round(v, 2)) for k, v in floors.items()), "rows": rows}))
    failed = [row["method"] for row in rows if row["method"].split()[0] in ("rolling_update", "rollback") and row["failed"]]
    if failed:
        sys.exit("failed requests during %s" % ", ".join(failed))


if __name__ == "__main__":
    main()
