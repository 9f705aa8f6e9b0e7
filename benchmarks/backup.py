#!/usr/bin/env python
"""Backup and restore throughput of the backups role's tool against the plain pipelines.

Builds, on this machine's Docker engine, a private network with the lab's S3 endpoint (moto
behind an nginx TLS proxy) and a PostgreSQL container of the lab image, generates a database
of at least --size-gb GB, and measures in the same run:
  baseline backup   pg_dump | gzip > /dev/null
  tool backup       launchbay_backup.py logical (pg_dump -Fc | gpg AES256 | boto3 managed upload
                    to S3, SHA-256, row counts in the same snapshot, retention)
  baseline restore  pg_restore of a local custom-format dump into a new database
  tool restore      launchbay_backup.py restore-logical (download | SHA-256 | gpg -d |
                    pg_restore --single-transaction, row counts compared)
  (check)           gpg -d | pg_restore --single-transaction of the same object copied into the
                    container first: the tool's pipeline without the lab's S3 endpoint (moto, in
                    Python, on this machine's cores), whose CPU time during the restore is printed
Throughput is the database size (pg_database_size) divided by the wall time. Everything it
creates is named lbbench-* and removed at the start and the end.
The single runs of one machine spread by several seconds, so every pipeline runs in each of
--rounds rounds (default 3 at 1 GB), interleaved, and the medians are compared.
Usage: benchmarks/backup.py [--size-gb 1.0] [--rounds 3] [--keep]
The test command runs it with --size-gb 0.05: the figures printed, the restored row counts
checked against the backup's (no timing assertion).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NET, S3, PG, VOL = "lbbench-net", "lbbench-s3", "lbbench-pg", "lbbench-pgdata"
PG_IMAGE, S3_IMAGE = "launchbay-lab/postgres:15", "launchbay-lab/s3:moto-5.2.5"
TARGET = 0.85  # the tool's throughput against the plain pipeline's
PASSPHRASE = "benchmark-passphrase-0123456789"  # the benchmark's own, not a secret
# the newest dump of `bench`, copied from S3 into the container with the tool's own code
FETCH = ("import sys; sys.path.insert(0, '/etc/launchbay/backups')\n"
         "from lbbackup.config import Config\n"
         "from lbbackup.transport import download_stream, list_backups, s3_client\n"
         "cfg = Config.load('/etc/launchbay/backups/backup.json'); client = s3_client(cfg)\n"
         "backup = list_backups(client, cfg, 'bench')[0]\n"
         "with open('/tmp/bench.dump.gpg', 'wb') as sink:\n"
         "    download_stream(client, cfg.s3['bucket'], backup['key'], sink)\n")
TOOL = ["python3", "/etc/launchbay/backups/launchbay_backup.py", "--config", "/etc/launchbay/backups/backup.json"]


def sh(*cmd, check=True, timeout=3600):
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if check and res.returncode != 0:
        sys.exit("%s failed: %s" % (" ".join(cmd[:10]), (res.stdout + res.stderr)[-2000:]))
    return res.stdout


def pg(*cmd, check=True):
    return sh("docker", "exec", "-u", "postgres", PG, *cmd, check=check)


def timed(*cmd):
    """Seconds of one step, from the same state for each: the server's dirty pages written first
    (without it, a checkpoint the previous step caused lands in the next one's time)."""
    pg("psql", "-qX", "-c", "CHECKPOINT")
    started = time.monotonic()
    out = pg(*cmd)
    return time.monotonic() - started, out


def s3_cpu_seconds():
    """CPU time the lab's S3 endpoint (moto and its TLS proxy) has used so far: it runs on this
    machine's cores, beside the restore it serves, which a real S3 does not."""
    out = sh("docker", "exec", S3, "sh", "-c", "cat /sys/fs/cgroup/cpu.stat 2>/dev/null || cat /sys/fs/cgroup/cpuacct/cpuacct.usage")
    if "usage_usec" in out:
        return int(out.split("usage_usec")[1].split()[0]) / 1e6
    return int(out.split()[0]) / 1e9


def cleanup():
    sh("docker", "rm", "-f", S3, PG, check=False)
    sh("docker", "volume", "rm", "-f", VOL, check=False)
    sh("docker", "network", "rm", NET, check=False)


def setup(workdir):
    cfg = os.path.join(workdir, "cfg")
    os.makedirs(cfg)
    # the tool as the backups role installs it: entry point, package, the collection's helpers in it
    shutil.copy(os.path.join(REPO, "roles", "backups", "files", "launchbay_backup.py"), cfg)
    shutil.copytree(os.path.join(REPO, "roles", "backups", "files", "lbbackup"), os.path.join(cfg, "lbbackup"))
    for helper in ("_masking.py", "_retention.py"):
        shutil.copy(os.path.join(REPO, "plugins", "plugin_utils", helper), os.path.join(cfg, "lbbackup", helper))
    sh("docker", "network", "create", NET)
    sh("docker", "run", "-d", "--name", S3, "--network", NET, "--network-alias", "s3", S3_IMAGE)
    time.sleep(2)
    with open(os.path.join(cfg, "s3-ca.pem"), "w", encoding="utf-8") as handle:
        handle.write(sh("docker", "exec", S3, "cat", "/etc/s3/ca.pem"))
    config = {"host": "bench", "environment": "bench", "prefix": "bench", "passphrase": PASSPHRASE,
              "s3": {"bucket": "bench", "endpoint_url": "https://s3:443", "region": "us-east-1", "access_key": "bench",
                     "secret_key": "bench-secret", "ca_file": "/etc/launchbay/backups/s3-ca.pem", "path_style": True},
              "retention": {"daily": 30, "monthly": 12}, "superuser": "postgres", "compress_level": 6}
    with open(os.path.join(cfg, "backup.json"), "w", encoding="utf-8") as handle:
        json.dump(config, handle)
    sh("chown", "-R", "999:999", cfg)
    os.chmod(cfg, 0o700)
    sh("docker", "run", "-d", "--name", PG, "--network", NET, "-e", "POSTGRES_PASSWORD=bench-only", "--shm-size", "256m",
       "-v", VOL + ":/var/lib/postgresql/data", "-v", cfg + ":/etc/launchbay/backups:ro", PG_IMAGE,
       "postgres", "-c", "shared_buffers=256MB", "-c", "max_wal_size=4GB", "-c", "checkpoint_timeout=30min")
    for _attempt in range(60):  # bounded: a minute
        if subprocess.run(["docker", "exec", "-u", "postgres", PG, "pg_isready", "-q"], check=False).returncode == 0:
            break
        time.sleep(1)
    time.sleep(2)  # the entrypoint restarts the server once after initdb
    pg("python3", *TOOL[1:], "init", "--create-bucket")


def generate(size_gb):
    """Orders-like rows: ids, timestamps, numbers, text of mixed compressibility, an index."""
    pg("psql", "-qX", "-c", "CREATE DATABASE bench")
    pg("psql", "-qX", "-d", "bench", "-c",
       "CREATE TABLE orders (id bigint PRIMARY KEY, customer int, created timestamptz, total numeric(12,2),"
       " status text, note text)")
    batch = 1000000 if size_gb >= 0.5 else 100000  # about 190 MB or 19 MB a batch
    start = 0
    while True:
        size = int(pg("psql", "-qXAt", "-d", "bench", "-c", "SELECT pg_database_size('bench')").strip())
        if size >= size_gb * 1024 ** 3:
            return size
        pg("psql", "-qX", "-d", "bench", "-c",
           "INSERT INTO orders SELECT g, (g::bigint * 7919) %% 100000, now() - (g %% 100000) * interval '1 minute',"
           " (g %% 10000) / 100.0, (ARRAY['new','paid','shipped','returned'])[1 + g %% 4],"
           " md5(g::text) || ' ' || repeat(chr(97 + g %% 26), 40) || ' ' || md5((g::bigint * 31)::text)"
           " FROM generate_series(%d, %d) g" % (start, start + batch - 1))
        start += batch


def measure_round(number, rounds):
    """Every pipeline once, each into its own new database (dropped after the round); their seconds."""
    got = {}
    got["base_backup"] = timed("bash", "-c", "set -o pipefail; pg_dump -d bench | gzip > /dev/null")[0]
    got["tool_backup"], out = timed(*TOOL, "logical", "--database", "bench")
    manifest = json.loads(out)["backups"]["bench"]
    got["stored"] = manifest["bytes"]
    pg("bash", "-c", "pg_dump -Fc -d bench -f /tmp/bench.dump")
    pg("psql", "-qX", "-c", "CREATE DATABASE bench_plain")
    got["base_restore"] = timed("pg_restore", "-d", "bench_plain", "/tmp/bench.dump")[0]
    pg("rm", "-f", "/tmp/bench.dump")
    s3_before = s3_cpu_seconds()
    got["tool_restore"], out = timed(*TOOL, "restore-logical", "--source-database", "bench", "--into", "bench_tool",
                                     "--owner", "postgres")
    got["s3_cpu"] = s3_cpu_seconds() - s3_before
    restored = json.loads(out)
    assert restored["row_counts"] == manifest["row_counts"], "restored row counts differ"
    # the same decrypt and restore from a copy of the object in the container: the tool's
    # pipeline without the lab's S3 endpoint competing for this machine's cores (a diagnostic)
    pg("python3", "-c", FETCH)
    pg("psql", "-qX", "-c", "CREATE DATABASE bench_local")
    got["local_restore"] = timed("bash", "-c", "set -o pipefail; gpg --homedir \"$(mktemp -d)\" --batch --quiet --no-tty"
                                 " --pinentry-mode loopback --passphrase-fd 3 --decrypt /tmp/bench.dump.gpg 3<<<'%s'"
                                 " | pg_restore --exit-on-error --single-transaction -d bench_local" % PASSPHRASE)[0]
    pg("rm", "-f", "/tmp/bench.dump.gpg")
    for database in ("bench_plain", "bench_tool", "bench_local"):
        pg("psql", "-qX", "-c", "DROP DATABASE %s" % database)
    print("round %d of %d: %s" % (number, rounds, ", ".join("%s %.1f s" % (k, v) for k, v in got.items() if k != "stored")),
          flush=True)
    return got


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--size-gb", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=None, help="rounds of every pipeline, medians printed (default 3; 1 below 1 GB)")
    parser.add_argument("--keep", action="store_true", help="leave the containers for inspection")
    args = parser.parse_args()
    args.rounds = max(1, args.rounds or (3 if args.size_gb >= 1 else 1))
    cleanup()
    workdir = tempfile.mkdtemp(prefix="lbbench-")
    try:
        setup(workdir)
        t0 = time.monotonic()
        size = generate(args.size_gb)
        pg("psql", "-qX", "-d", "bench", "-c", "VACUUM ANALYZE orders")
        rows = int(pg("psql", "-qXAt", "-d", "bench", "-c", "SELECT count(*) FROM orders").strip())
        mb = size / 1024 ** 2
        print("database: %.0f MB (pg_database_size), %d rows, generated in %.0f s" % (mb, rows, time.monotonic() - t0))

        times = [measure_round(n, args.rounds) for n in range(1, args.rounds + 1)]
        names = ("base_backup", "tool_backup", "base_restore", "tool_restore", "local_restore")
        base_backup, tool_backup, base_restore, tool_restore, local_restore = (
            statistics.median(t[k] for t in times) for k in names)
        s3_restore = statistics.median(t["s3_cpu"] for t in times)
        stored = times[-1]["stored"]
        rows_out = [
            ("backup", "pg_dump | gzip > /dev/null", base_backup, None),
            ("backup", "tool: pg_dump -Fc | gpg AES256 | S3 (%.0f MB stored)" % (stored / 1024 ** 2),
             tool_backup, base_backup),
            ("restore", "pg_restore of a local dump", base_restore, None),
            ("restore", "tool: S3 | sha256 | gpg -d | pg_restore -1, counts checked", tool_restore, base_restore),
            ("(check)", "gpg -d | pg_restore -1 of the object copied here (no S3)", local_restore, base_restore),
        ]
        print("medians of %d rounds (each round: every pipeline once, in this order)" % args.rounds)
        print("%-8s %-62s %9s %9s %8s" % ("", "pipeline", "seconds", "MB/s", "vs plain"))
        for kind, name, seconds, base in rows_out:
            ratio = ("%.0f%%" % (100.0 * base / seconds)) if base else "-"
            print("%-8s %-62s %9.1f %9.1f %8s" % (kind, name, seconds, mb / seconds, ratio))
        print("throughput target (issue 16): at least %.0f%% of the plain pipeline -> backup %s, restore %s%s" % (
            100 * TARGET, "met" if base_backup / tool_backup >= TARGET else "NOT met",
            "met" if base_restore / tool_restore >= TARGET else "NOT met",
            "" if args.size_gb >= 1 else " (the target is for 1 GB: at this size the tool's fixed costs dominate)"))
        print("the lab's S3 endpoint (moto and its TLS proxy, on this machine) used %.1f CPU-seconds during the tool's"
              " restore, on %d cores; the (check) row is the same pipeline without it" % (s3_restore, os.cpu_count() or 0))
    finally:
        if not args.keep:
            cleanup()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
