"""The module as Ansible runs it, with journalctl replaced by a script that behaves as journalctl
252 does (checked on the log host): the module's handling of its answers. The real journalctl
on real received journals is tested by the Molecule scenario rollout."""

import json
import os
import stat

import pytest

LINES = [
    {"__REALTIME_TIMESTAMP": "1795500001000000", "_HOSTNAME": "web-2", "CONTAINER_NAME": "traefik",
     "MESSAGE": '{"request_X-Request-Id":"r-1"}'},
    {"__REALTIME_TIMESTAMP": "1795500000000000", "_HOSTNAME": "web-1", "CONTAINER_NAME": "shop-1", "LAUNCHBAY_APP": "shop",
     "MESSAGE": '{"request_id": "r-1"}'},
]


@pytest.fixture
def journalctl(tmp_path, monkeypatch):
    """A journalctl on PATH: it records its arguments, then prints OUT to stdout and ERR to stderr
    and exits with RC (each from a file the test writes)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = bindir / "journalctl"
    script.write_text("#!/bin/sh\nprintf '%%s\\n' \"$@\" > %(d)s/argv\ncat %(d)s/out\ncat %(d)s/err >&2\nexit $(cat %(d)s/rc)\n"
                      % {"d": tmp_path})
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", "%s:%s" % (bindir, os.environ["PATH"]))

    def answer(out="", err="", rc=0):
        (tmp_path / "out").write_text(out)
        (tmp_path / "err").write_text(err)
        (tmp_path / "rc").write_text(str(rc))
        return tmp_path / "argv"

    return answer


def test_lines_come_back_in_time_order(run_module, journalctl):
    argv = journalctl(out="\n".join(json.dumps(line) for line in LINES) + "\n")
    result = run_module("journal_search", {"request_id": "r-1", "hosts": ["web-1", "web-2"], "start": "-1h"})
    assert result["changed"] is False and not result.get("failed"), result
    assert [e["host"] for e in result["entries"]] == ["web-1", "web-2"]
    assert result["lines"][0] == '2026-11-24T06:00:00.000Z web-1 shop-1 | {"request_id": "r-1"}'
    assert result["truncated"] is False
    called = argv.read_text().splitlines()
    assert "--grep=r\\-1" in called and "--since=-1h" in called and "_HOSTNAME=web-2" in called


def test_no_match_is_an_empty_answer_not_a_failure(run_module, journalctl):
    journalctl(rc=1)  # journalctl --grep says nothing and exits 1 when no line matches
    result = run_module("journal_search", {"text": "nothing like this"})
    assert not result.get("failed") and result["entries"] == [] and result["lines"] == []


def test_a_time_journalctl_cannot_read_is_named(run_module, journalctl):
    journalctl(err="Failed to parse timestamp: lastweek\n", rc=1)
    result = run_module("journal_search", {"start": "lastweek"})
    assert result["failed"] is True and result["msg"].startswith("start ('lastweek'): journalctl cannot read it as a time")


def test_a_bad_request_id_fails_before_journalctl_runs(run_module, journalctl):
    argv = journalctl()
    result = run_module("journal_search", {"request_id": "x; rm -rf /"})
    assert result["failed"] is True and "request_id must be" in result["msg"] and not argv.exists()


def test_reaching_the_line_limit_says_there_may_be_more(run_module, journalctl):
    journalctl(out="\n".join(json.dumps(line) for line in LINES) + "\n")
    result = run_module("journal_search", {"max_lines": 2})
    assert result["truncated"] is True
