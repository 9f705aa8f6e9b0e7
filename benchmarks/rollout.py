#!/usr/bin/env python
"""Benchmark: the same rollout under steady HTTPS load, two ways, in one run.

1. ours: the app role's health-gated rolling update (benchmarks/rolling.yml), 2 replicas
   of the demo app behind Traefik (demo.launchbay.test);
2. the baseline: the naive community.docker.docker_container recreate most playbooks do
   (benchmarks/naive.yml), one container routed by Traefik labels (naive.launchbay.test).

Both switch between launchbay-lab/demo-app:v1 and :v2 on this machine's local stack
(lab/deploy-local.sh sets it up first), with the load generator of lab/loadgen.py sending
--rate requests/s to 127.0.0.1:443. Printed for each: requests sent, failed requests,
p50/p99 latency, rollout wall time, and its ratio to the app's own start-to-healthy time
(the floor: a container of the same image, started and polled until Docker says healthy).

    ./benchmarks/rollout.py [--rate 100] [--no-setup]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "lab"))
from loadgen import LoadGenerator  # noqa: E402  pylint: disable=wrong-import-position

CA = os.path.join(os.environ.get("LAUNCHBAY_LAB_ACME_DIR", os.path.expanduser("~/.config/launchbay/lab-acme")), "pebble-root.pem")
IMAGE = "launchbay-lab/demo-app:%s"
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


def demo_version():
    names = run(["docker", "ps", "-q", "--filter", "label=launchbay.app=demo", "--filter", "label=launchbay.role=app"]).split()
    return docker_json("inspect", names[0])[0]["Config"]["Labels"]["launchbay.image"].rsplit(":", 1)[1]


def start_to_healthy(version, samples=3):
    """Seconds from `docker start` to Docker reporting healthy, for a copy of a replica."""
    replica = run(["docker", "ps", "-q", "--filter", "label=launchbay.app=demo", "--filter", "label=launchbay.role=app"]).split()[0]
    spec = docker_json("inspect", replica)[0]
    times = []
    for _sample in range(samples):
        run(["docker", "rm", "-f", "bench-floor"])
        cmd = ["docker", "create", "--name", "bench-floor", "--network", "launchbay_public", "--label", "launchbay.benchmark=floor"]
        for item in spec["Config"]["Env"]:
            cmd += ["-e", item]
        for bind in spec["HostConfig"]["Binds"]:
            cmd += ["-v", bind]
        check = spec["Config"]["Healthcheck"]
        cmd += ["--health-cmd", " ".join(check["Test"][1:]), "--health-interval", "%ds" % (check["Interval"] // 10 ** 9),
                "--health-retries", str(check["Retries"]), "--health-start-period", "%ds" % (check["StartPeriod"] // 10 ** 9),
                IMAGE % version]
        run(cmd)
        run(["docker", "network", "connect", "launchbay_internal", "bench-floor"])
        began = time.monotonic()
        run(["docker", "start", "bench-floor"])
        while time.monotonic() - began < 120:
            if docker_json("inspect", "bench-floor")[0]["State"].get("Health", {}).get("Status") == "healthy":
                break
            time.sleep(0.1)
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


def measure(label, host, action, rate, floor):
    gen = LoadGenerator(host, CA, rate=rate, workers=max(4, int(rate // 12)), max_seconds=900).start()
    time.sleep(3)
    began = time.monotonic()
    action()
    wall = time.monotonic() - began
    time.sleep(3)
    load = gen.stop()
    versions = [v for _t, v in load["versions"]]
    return {
        "method": label, "sent": load["sent"], "failed": load["failed"], "rate": load["rate"], "p50_ms": load["p50_ms"],
        "p99_ms": load["p99_ms"], "rollout_s": round(wall, 1), "ratio_to_floor": round(wall / floor, 1),
        "served": "%s -> %s" % (versions[0], versions[-1]) if versions else "-", "failures": load["failure_reasons"],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--rate", type=float, default=100, help="requests per second (default 100)")
    parser.add_argument("--no-setup", action="store_true", help="the local stack is already deployed")
    args = parser.parse_args()
    if not args.no_setup:
        print("[bench] deploying the local stack (lab/deploy-local.sh)", flush=True)
        run([os.path.join(REPO, "lab", "deploy-local.sh")], timeout=1800)
    current = demo_version()
    target = "v2" if current != "v2" else "v1"
    print("[bench] both apps on %s, rolling to %s at %.0f requests/s" % (current, target, args.rate), flush=True)
    playbook("naive", current)
    wait_tls("naive.launchbay.test")
    floor = start_to_healthy(target)
    print("[bench] start-to-healthy of %s (median of 3): %.1f s" % (IMAGE % target, floor), flush=True)
    rows = [
        measure("rolling_update (2 replicas)", "demo.launchbay.test", lambda: playbook("rolling", target), args.rate, floor),
        measure("naive docker_container recreate", "naive.launchbay.test", lambda: playbook("naive", target), args.rate, floor),
    ]
    run(["docker", "rm", "-f", "bench-naive"])
    print()
    header = ("method", "sent", "failed", "req/s", "p50 ms", "p99 ms", "rollout s", "x floor", "served")
    print("%-34s %8s %7s %8s %8s %8s %10s %12s  %s" % header)
    for row in rows:
        print("%-34s %8s %7s %8s %8s %8s %10s %12s  %s" % tuple(
            str(row[key]) for key in ("method", "sent", "failed", "rate", "p50_ms", "p99_ms", "rollout_s", "ratio_to_floor", "served")))
    print("floor (start-to-healthy): %.1f s; rollout times are whole ansible-playbook runs" % floor)
    for row in rows:
        if row["failures"]:
            print("%s failures: %s" % (row["method"], row["failures"]))
    print(json.dumps({"floor_s": round(floor, 1), "rows": rows}))


if __name__ == "__main__":
    main()
