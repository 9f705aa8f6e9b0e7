# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Searching the journals the log host received (journal-remote): the journalctl command
for a search, and its JSON output turned into lines a person reads."""

from __future__ import annotations

import datetime
import json
import re

# What a request id may hold: what the demo app generates and what a proxy or client sends.
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Names journald fields carry: host names, container names, app names.
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$")
# journalctl exits 124 through timeout(1) when the search ran out of time.
TIMED_OUT = 124
# How Ansible names this module's calls in the journal of the host it runs on.
SELF_IDENTIFIER = "ansible-launchbay.webstack.journal_search"


class SearchError(Exception):
    pass


def _pcre_literal(text):
    """The text as a PCRE2 literal: every character that is not a letter or digit escaped."""
    return "".join(ch if ch.isalnum() or ch == "_" else "\\" + ch if ord(ch) < 128 else ch for ch in text)


def grep_pattern(text=None, request_id=None):
    """One PCRE2 pattern for journalctl --grep: the request id as written, the text in any case;
    with both, a line must hold both, in either order."""
    parts = []
    if request_id:
        if not REQUEST_ID.match(request_id):
            raise SearchError("request_id must be 1 to 128 letters, digits, '.', '_', ':' or '-' (found %r)" % request_id)
        parts.append(_pcre_literal(request_id))
    if text:
        parts.append("(?i:%s)" % _pcre_literal(text))
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return "".join("(?=.*%s)" % part for part in parts)


def build_command(directory, since=None, until=None, hosts=(), containers=(), apps=(), text=None,
                  request_id=None, max_lines=200, timeout=60):
    """The argv of one search: journalctl on the received journals under a time limit.
    Matches on different fields must all hold; several values of one field are alternatives."""
    for label, values in (("hosts", hosts), ("containers", containers), ("apps", apps)):
        for value in values:
            if not NAME.match(value):
                raise SearchError("%s: %r is not a host, container or app name" % (label, value))
    if max_lines < 1 or timeout < 1:
        raise SearchError("max_lines and timeout must be at least 1")
    argv = ["timeout", "--kill-after=5", str(timeout), "journalctl", "--directory=%s" % directory,
            "--output=json", "--no-pager", "--quiet", "--utc", "--lines=%d" % max_lines]
    if since:
        argv.append("--since=%s" % since)
    if until:
        argv.append("--until=%s" % until)
    pattern = grep_pattern(text, request_id)
    if pattern:
        argv += ["--case-sensitive=true", "--grep=%s" % pattern]
    argv += ["_HOSTNAME=%s" % host for host in hosts]
    argv += ["CONTAINER_NAME=%s" % name for name in containers]
    argv += ["LAUNCHBAY_APP=%s" % app for app in apps]
    return argv


def _text(value):
    """A journal field as text: journalctl gives fields that are not valid UTF-8 as a list of bytes."""
    if isinstance(value, list):
        return bytes(value).decode("utf-8", errors="replace")
    return "" if value is None else str(value)


def parse_entries(output):
    """journalctl --output=json (one object per line) as entries: time, host, container, app, message."""
    entries = []
    for line in output.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        # a search logged by an older run of this module (Ansible logs module calls to the journal)
        if _text(record.get("SYSLOG_IDENTIFIER")).startswith(SELF_IDENTIFIER):
            continue
        micros = int(record.get("__REALTIME_TIMESTAMP", 0))
        when = datetime.datetime.fromtimestamp(micros / 1e6, tz=datetime.timezone.utc)
        entries.append({
            "time": when.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (when.microsecond // 1000),
            "host": _text(record.get("_HOSTNAME")),
            "container": _text(record.get("CONTAINER_NAME") or record.get("SYSLOG_IDENTIFIER")
                               or record.get("_SYSTEMD_UNIT")),
            "app": _text(record.get("LAUNCHBAY_APP")),
            "message": _text(record.get("MESSAGE")).rstrip("\n"),
        })
    # journalctl interleaves the hosts' files by their own clocks' order; a reader wants time order
    entries.sort(key=lambda entry: entry["time"])
    return entries


def format_line(entry):
    return "%s %s %s | %s" % (entry["time"], entry["host"] or "-", entry["container"] or "-", entry["message"])


def explain_failure(rc, stderr, since=None, until=None, timeout=None):
    """Why a search failed, naming the input at fault where journalctl says which."""
    stderr = (stderr or "").strip()
    if rc == TIMED_OUT:
        return "the search took longer than %s s (timeout); narrow it with a time window, a host or a container" % timeout
    if "parse timestamp" in stderr or "--since=" in stderr or "--until=" in stderr:
        bad = ["%s (%r)" % (name, value) for name, value in (("start", since), ("end", until))
               if value and value in stderr] or ["start or end"]
        return "%s: journalctl cannot read it as a time (%s); use '2026-11-24 10:00', '-2h' or 'yesterday'" % (
            " and ".join(bad), stderr.splitlines()[-1])
    if "No journal files" in stderr or "No such file" in stderr:
        return "no journals received yet in the directory (%s)" % stderr.splitlines()[-1]
    return "journalctl failed (exit %s): %s" % (rc, stderr.splitlines()[-1] if stderr else "no message")
