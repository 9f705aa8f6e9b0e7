"""Point-in-time recovery's bounds: the recoverable window, a scratch server that dies during
recovery, and pipelines that outlive their time. The real recovery runs in the Molecule
postgres scenario (molecule/postgres/backups_e2e.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from lbbackup import crypto, database, pitr
from lbbackup.config import BackupError

MIB = 2**20

DAY = 86400.0
BACKUPS = [{"label": "20261120-010000F", "start": 1763600000 - 60, "stop": 1763600000},
           {"label": "20261121-010000F_20261121-020000I", "start": 1763690000 - 60, "stop": 1763690000}]


def test_window_accepts_a_time_between_the_oldest_backup_and_now():
    assert pitr.window_problem(1763650000, 1763700000, BACKUPS) is None


def test_window_refuses_the_future_and_names_the_window():
    problem = pitr.window_problem(1763700000 + 300, 1763700000, BACKUPS)
    assert "is in the future" in problem
    assert "the recoverable window is %s to %s (now)" % (pitr.utc_text(1763600000), pitr.utc_text(1763700000)) in problem


def test_window_refuses_a_time_before_the_oldest_backup_ended():
    problem = pitr.window_problem(1763600000 - 1, 1763700000, BACKUPS)
    assert "before the oldest base backup ended" in problem and pitr.utc_text(1763600000) in problem


def test_window_without_base_backup():
    assert "no base backup" in pitr.window_problem(1763650000, 1763700000, [])


class Clock:
    """time.monotonic and time.sleep of the database module: sleeping advances the clock."""

    def __init__(self, monkeypatch):
        self.now, self.sleeps = 1000.0, 0
        monkeypatch.setattr(database.time, "monotonic", lambda: self.now)
        monkeypatch.setattr(database.time, "sleep", self.sleep)

    def sleep(self, seconds):
        self.sleeps += 1
        self.now += seconds


def scratch(monkeypatch, tmp_path, running, in_recovery="t"):
    monkeypatch.setattr(database.tempfile, "mkdtemp", lambda prefix: str(tmp_path))
    server = database.ScratchServer(str(tmp_path / "data"))
    (tmp_path / "log").write_text("LOG:  starting point-in-time recovery\n"
                                  "FATAL:  recovery ended before configured recovery target was reached\n")

    def fake_psql(args, sql=None, env=None, timeout=600):
        if in_recovery is None:
            raise BackupError("psql failed: could not connect to server")
        return in_recovery + "\n"

    monkeypatch.setattr(database, "psql", fake_psql)
    monkeypatch.setattr(database.subprocess, "run",
                        lambda argv, **kw: subprocess.CompletedProcess(argv, 0 if running() else 3, b"", b""))
    return server


def test_a_scratch_server_that_stops_fails_at_once_with_its_log(monkeypatch, tmp_path):
    clock = Clock(monkeypatch)
    alive = iter([True, True, False])
    server = scratch(monkeypatch, tmp_path, lambda: next(alive), in_recovery=None)
    with pytest.raises(BackupError) as err:
        server.wait_promoted(3600)
    assert "stopped during recovery" in str(err.value)
    assert "recovery ended before configured recovery target was reached" in str(err.value)
    assert clock.sleeps == 2, "it ended at the first look that found the server gone"


def test_recovery_that_never_ends_is_bounded(monkeypatch, tmp_path):
    clock = Clock(monkeypatch)
    server = scratch(monkeypatch, tmp_path, lambda: True, in_recovery="t")
    with pytest.raises(BackupError) as err:
        server.wait_promoted(120)
    assert "did not finish in 2 minutes (last: t)" in str(err.value)
    assert clock.now <= 1000.0 + 120


def test_a_promoted_server_returns(monkeypatch, tmp_path):
    Clock(monkeypatch)
    server = scratch(monkeypatch, tmp_path, lambda: True, in_recovery="f")
    server.wait_promoted(60)


def test_a_pipeline_that_outlives_its_time_is_stopped():
    pipeline = crypto.Pipeline([("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"]),
                                ("cat", [sys.executable, "-c", "import sys; sys.stdin.read()"])])
    pipeline.stdout.close()
    failures = pipeline.wait(timeout=0.5)
    assert failures and failures[0].startswith("sleeper was still running after 0.5 s"), failures
    assert all(proc.poll() is not None for _name, proc in pipeline.procs)


def stats(**changes):
    base = {"archived_count": 40, "last_archived_wal": "00000001000000000000002A", "last_archived_time": 1763700000.0,
            "failed_count": 0, "last_failed_wal": "", "last_failed_time": 0.0, "now": 1763700060.0, "waiting": 0,
            "pg_wal_bytes": 80 * 1024 * 1024}
    return dict(base, **changes)


def test_archiving_that_keeps_up_is_fine():
    assert pitr.archive_problems(stats(), 900) == []
    assert pitr.archive_problems(stats(now=1763700000.0 + 3600), 900) == [], "idle: nothing waits"


def test_failing_archiving_says_up_to_when_recovery_reaches():
    problems = pitr.archive_problems(stats(failed_count=7, last_failed_wal="00000001000000000000002B",
                                           last_failed_time=1763700050.0, waiting=3), 900)
    assert len(problems) == 1 and problems[0].startswith("WAL archiving is failing (7 failures, the last on 00000001000000000000002B")
    assert "3 WAL segments wait in pg_wal (80 MiB in pg_wal)" in problems[0]
    assert "cannot reach past %s" % pitr.utc_text(1763700000.0) in problems[0]


def test_archiving_that_recovered_after_a_failure_is_fine():
    assert pitr.archive_problems(stats(failed_count=7, last_failed_time=1763699000.0), 900) == []


def test_lagging_archiving_is_reported_after_the_limit():
    lagging = stats(now=1763700000.0 + 1800, waiting=12)
    assert pitr.archive_problems(lagging, 3600) == []
    problems = pitr.archive_problems(lagging, 900)
    assert problems and problems[0].startswith("WAL archiving lags: nothing archived for 30 minutes; 12 WAL segments wait")


def test_the_restored_size_is_the_named_backups_or_the_largest():
    backups = [{"label": "F1", "size": 50 * MIB}, {"label": "F2", "size": 80 * MIB}, {"label": "F2_I", "size": 70 * MIB}]
    assert pitr.restored_size(backups, "F1") == 50 * MIB
    assert pitr.restored_size(backups) == 80 * MIB
    assert pitr.restored_size([]) == 0


def test_a_scratch_volume_too_small_is_refused_with_the_figures():
    assert pitr.scratch_space_problem(200 * MIB, 100 * MIB, "/data") is None
    problem = pitr.scratch_space_problem(8 * MIB, 40 * MIB, "/data")
    assert "/data has 8 MiB free, the base backup restores to 44 MiB" in problem
    assert "restore_scratch_volume_options" in problem


DROP_LOG = [
    "-------------------PROCESS START-------------------\n",
    "2026-11-23 04:10:00.120 P00   WARN: unable to push WAL file: could not connect to 's3'\n",
    "2026-11-23 04:10:05.001 P00   WARN: dropped WAL file '000000010000000000000012' because archive queue exceeded 64MB\n",
    "2026-11-23 04:10:05.002 P00   WARN: dropped WAL file '000000010000000000000013' because archive queue exceeded 64MB\n",
]


def test_dropped_wal_is_read_from_pgbackrests_log():
    assert [segment for _when, segment in pitr.dropped_wal(DROP_LOG)] == ["000000010000000000000012", "000000010000000000000013"]
    assert pitr.utc_text(pitr.dropped_wal(DROP_LOG)[0][0]) == "2026-11-23 04:10:05+00"


def test_dropped_wal_is_a_problem_until_a_base_backup_started_after_it():
    dropped = pitr.dropped_wal(DROP_LOG)
    problem = pitr.dropped_problem(dropped, [{"start": dropped[0][0] - 3600}])
    assert "dropped 2 WAL segments (000000010000000000000012 to 000000010000000000000013" in problem
    assert "no time from before 2026-11-23 04:10:05+00" in problem and "take a full base backup now" in problem
    assert pitr.dropped_problem(dropped, [{"start": dropped[0][0] - 3600}, {"start": dropped[-1][0] + 60}]) is None
    assert pitr.dropped_problem([], []) is None
