# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import json
import re

import pytest

from ansible_collections.launchbay.webstack.plugins.module_utils._journal import (
    SearchError, build_command, explain_failure, format_line, grep_pattern, parse_entries)


def test_a_search_without_filters_reads_the_newest_lines_under_a_time_limit():
    argv = build_command("/var/log/journal/remote", max_lines=50, timeout=30)
    assert argv[:4] == ["timeout", "--kill-after=5", "30", "journalctl"]
    assert "--directory=/var/log/journal/remote" in argv and "--lines=50" in argv and "--output=json" in argv
    assert not [a for a in argv if a.startswith("--grep")]


def test_filters_become_journal_matches():
    argv = build_command("/d", since="-2h", until="2026-11-24 10:00", hosts=["web-1", "web-2"],
                         containers=["traefik"], apps=["shop"])
    assert "--since=-2h" in argv and "--until=2026-11-24 10:00" in argv
    assert argv[-4:] == ["_HOSTNAME=web-1", "_HOSTNAME=web-2", "CONTAINER_NAME=traefik", "LAUNCHBAY_APP=shop"]


@pytest.mark.parametrize("field", ["hosts", "containers", "apps"])
def test_a_name_that_could_change_the_match_is_refused(field):
    with pytest.raises(SearchError, match=field):
        build_command("/d", **{field: ["shop CONTAINER_NAME=x"]})


def test_the_request_id_matches_as_written_and_the_text_in_any_case():
    pattern = grep_pattern(text="Not Found", request_id="ab.12-x")
    assert pattern == r"(?=.*ab\.12\-x)(?=.*(?i:Not\ Found))"
    # the same semantics in Python's engine, which shares these constructs with PCRE2
    assert re.search(pattern, "GET /x ab.12-x 404 not found")
    assert not re.search(pattern, "GET /x ab.12-x 200")
    assert not re.search(pattern, "GET /x abX12-x not found")
    assert "--case-sensitive=true" in build_command("/d", request_id="ab.12-x")


def test_text_with_regex_characters_is_literal():
    pattern = grep_pattern(text='"status": 500 (x)*')
    assert re.search(pattern, 'x {"status": 500 (x)*}')
    assert not re.search(pattern, '"status": 500 xxx')


@pytest.mark.parametrize("bad", ["", "a b", "x" * 129, "id;rm"])
def test_a_request_id_of_another_form_is_refused(bad):
    if bad == "":
        assert grep_pattern(request_id=bad) is None
        return
    with pytest.raises(SearchError, match="request_id"):
        grep_pattern(request_id=bad)


def test_entries_come_back_readable():
    lines = "\n".join(json.dumps(r) for r in [
        {"__REALTIME_TIMESTAMP": "1795500000123456", "_HOSTNAME": "web-1", "CONTAINER_NAME": "demo-web-1",
         "LAUNCHBAY_APP": "demo", "MESSAGE": '{"event": "request"}\n'},
        {"__REALTIME_TIMESTAMP": "1795500001000000", "_HOSTNAME": "web-2", "SYSLOG_IDENTIFIER": "traefik",
         "MESSAGE": [104, 105, 255]},
        {"__REALTIME_TIMESTAMP": "1795500002000000", "_HOSTNAME": "logs-1",
         "SYSLOG_IDENTIFIER": "ansible-launchbay.webstack.journal_search", "MESSAGE": "Invoked with request_id=x"},
    ])
    entries = parse_entries(lines + "\n-- No entries --\n")
    assert entries[0] == {"time": "2026-11-24T06:00:00.123Z", "host": "web-1", "container": "demo-web-1",
                          "app": "demo", "message": '{"event": "request"}'}
    assert entries[1]["container"] == "traefik" and entries[1]["message"] == "hi\ufffd"
    assert len(entries) == 2  # a search's own call, logged by Ansible, is not a match
    assert format_line(entries[0]) == '2026-11-24T06:00:00.123Z web-1 demo-web-1 | {"event": "request"}'


def test_failures_say_which_input_and_why():
    assert explain_failure(1, "Failed to parse timestamp: lastweek", since="lastweek").startswith("start ('lastweek'):")
    assert explain_failure(1, "Failed to parse timestamp: soon", since="-1h", until="soon").startswith("end ('soon'):")
    assert "longer than 30 s" in explain_failure(124, "", timeout=30)
    assert "no journals received" in explain_failure(1, "Failed to open /var/log/journal/remote: No such file or directory")
    assert "exit 2" in explain_failure(2, "boom")
