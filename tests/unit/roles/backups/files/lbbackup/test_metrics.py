"""The backup tool's metrics for the node exporter's textfile collector."""

from __future__ import annotations

import json
import os

from lbbackup import cli, metrics


def test_a_successful_dump_records_each_database_and_keeps_other_jobs(tmp_path):
    result = {"backups": {"demo": {"id": "20261124T100000Z", "bytes": 2048}, "shop": {"id": "20261124T100000Z", "bytes": 10}}}
    assert metrics.record(str(tmp_path), "pitr-backup", {"latest": {"stop": 1700000000, "size": 99}}, False, now=1.0) is None
    assert metrics.record(str(tmp_path), "logical", result, False, now=2.0) is None
    text = (tmp_path / metrics.METRICS_FILE).read_text()
    assert 'launchbay_backup_last_run_success{job_name="logical"} 1.0' in text
    assert 'launchbay_backup_last_run_success{job_name="pitr-backup"} 1.0' in text
    assert 'launchbay_backup_newest_timestamp_seconds{database="demo",kind="logical"} 1795514400.0' in text
    assert 'launchbay_backup_newest_timestamp_seconds{kind="base"} 1700000000.0' in text
    assert 'launchbay_backup_newest_bytes{database="demo",kind="logical"} 2048.0' in text
    assert oct(os.stat(tmp_path / metrics.METRICS_FILE).st_mode & 0o777) == "0o644"
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]  # no temporary file left


def test_a_failed_run_sets_success_to_0_and_keeps_the_newest_backup(tmp_path):
    metrics.record(str(tmp_path), "logical", {"backups": {"demo": {"id": "20261124T100000Z", "bytes": 1}}}, False, now=5.0)
    metrics.record(str(tmp_path), "logical", None, True, now=9.0)
    text = (tmp_path / metrics.METRICS_FILE).read_text()
    assert 'launchbay_backup_last_run_success{job_name="logical"} 0.0' in text
    assert 'launchbay_backup_last_run_timestamp_seconds{job_name="logical"} 9.0' in text
    assert 'launchbay_backup_last_success_timestamp_seconds{job_name="logical"} 5.0' in text
    assert 'launchbay_backup_newest_timestamp_seconds{database="demo",kind="logical"}' in text


def test_an_older_report_never_replaces_a_newer_backup(tmp_path):
    metrics.record(str(tmp_path), "logical", {"backups": {"demo": {"id": "20261124T100000Z", "bytes": 1}}}, False, now=5.0)
    metrics.record(str(tmp_path), "freshness", {"fresh": {"demo": {"newest": "20261101T000000Z", "age_hours": 1}}}, False, now=6.0)
    state = json.loads((tmp_path / metrics.STATE_FILE).read_text())
    assert state["newest"]["logical/demo"]["time"] == 1795514400.0


def test_no_directory_writes_nothing_and_a_bad_one_is_reported_not_raised(tmp_path):
    assert metrics.record("", "logical", {}, False) is None
    problem = metrics.record(str(tmp_path / "missing"), "logical", {}, False)
    assert "metrics not written" in problem


def test_the_cli_records_a_failed_job(tmp_path, monkeypatch, capsys):
    config = tmp_path / "backup.json"
    config.write_text(json.dumps({"environment": "test", "s3": {"bucket": "b"}, "passphrase": "p" * 20,
                                  "metrics_dir": str(tmp_path)}))

    def boom(cfg, args, client=None):
        raise cli.BackupError("listing the databases failed: refused")

    monkeypatch.setitem(cli.COMMANDS, "logical", boom)
    assert cli.main(["--config", str(config), "--no-alert", "logical"]) == 1
    assert 'launchbay_backup_last_run_success{job_name="logical"} 0.0' in (tmp_path / metrics.METRICS_FILE).read_text()
