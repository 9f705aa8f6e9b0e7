# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Silences of an Alertmanager (its API v2): the ones this collection set for planned work,
found again by who set them, their comment and their matchers."""

from __future__ import annotations

import datetime
import json
import re

_DURATION = re.compile(r"^([0-9]+)(s|m|h|d)$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
LIVE = ("active", "pending")


class AlertmanagerError(Exception):
    pass


def parse_duration(text):
    match = _DURATION.match(str(text))
    if not match or int(match.group(1)) == 0:
        raise AlertmanagerError("duration must be like 30m, 2h or 1d (found %r)" % (text,))
    return int(match.group(1)) * _SECONDS[match.group(2)]


def http_json(method, url, body=None, timeout=10):
    from ansible.module_utils.urls import open_url

    data = json.dumps(body).encode("utf-8") if body is not None else None
    response = open_url(url, method=method, data=data, timeout=timeout, headers={"Content-Type": "application/json"})
    text = response.read()
    return json.loads(text) if text else None


def matcher_list(matchers):
    return [{"name": k, "value": str(v), "isRegex": False, "isEqual": True} for k, v in sorted(matchers.items())]


def _same_matchers(silence, matchers):
    found = sorted((m.get("name"), m.get("value"), bool(m.get("isRegex")), m.get("isEqual", True))
                   for m in silence.get("matchers") or [])
    return found == sorted((m["name"], m["value"], False, True) for m in matcher_list(matchers))


class Silences(object):
    def __init__(self, url, created_by, request=http_json, now=None):
        self.url = url.rstrip("/")
        self.created_by = created_by
        self.request = request
        self.now = now or (lambda: datetime.datetime.now(datetime.timezone.utc))

    def _call(self, method, path, body=None):
        try:
            return self.request(method, self.url + path, body)
        except Exception as exc:  # refused, timeout, HTTP error, bad JSON
            raise AlertmanagerError("Alertmanager at %s: %s %s failed: %s" % (self.url, method, path, exc))

    def find(self, matchers, comment):
        """The live silences this collection set with these matchers and this comment."""
        found = self._call("GET", "/api/v2/silences") or []
        return [s for s in found
                if (s.get("status") or {}).get("state") in LIVE and s.get("createdBy") == self.created_by
                and s.get("comment") == comment and _same_matchers(s, matchers)]

    def ensure(self, matchers, comment, duration, state, check_mode=False):
        """(changed, ids): state present sets one silence unless a live one is there; absent
        expires every one found."""
        if not matchers:
            raise AlertmanagerError("matchers must name at least one label")
        live = self.find(matchers, comment)
        if state == "present":
            if live:
                return False, [s["id"] for s in live]
            if check_mode:
                return True, []
            start = self.now()
            body = {"matchers": matcher_list(matchers), "startsAt": start.isoformat(),
                    "endsAt": (start + datetime.timedelta(seconds=parse_duration(duration))).isoformat(),
                    "createdBy": self.created_by, "comment": comment}
            created = self._call("POST", "/api/v2/silences", body) or {}
            return True, [created.get("silenceID")]
        if not check_mode:
            for silence in live:
                self._call("DELETE", "/api/v2/silence/%s" % silence["id"])
        return bool(live), [s["id"] for s in live]
