# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Maintenance mode of one app: a file of Traefik's file provider whose routers, in front of
the app's own, send its domains to the maintenance page server (503, Retry-After), except the
paths that must keep reaching the app (its health check). Confirmed through Traefik's API.
Private: no API promise."""

from __future__ import annotations

import json
import os
import time

from ansible_collections.launchbay.webstack.plugins.module_utils._files import write_atomically

HEADER = "# Managed by launchbay.webstack.maintenance_mode: do not edit. On since %s\n"
SUFFIX = "-maintenance"
# above the app's routers (Traefik's default priority is the rule's length)
PRIORITY = 100000


class MaintenanceError(Exception):
    pass


def maintenance_routers(routers, service, except_paths=()):
    """The app's routers (name: {rule, entryPoints, tls, middlewares, ...}) turned towards
    `service`, leaving out `except_paths` (path prefixes)."""
    result = {}
    for name, router in sorted(routers.items()):
        rule = "(%s)" % router["rule"]
        for path in except_paths:
            if path:
                rule += " && !PathPrefix(`%s`)" % path
        copy = {"rule": rule, "entryPoints": router.get("entryPoints") or ["websecure"], "service": service,
                "priority": PRIORITY}
        for key in ("tls", "middlewares"):
            if router.get(key) is not None:
                copy[key] = router[key]
        result[name + SUFFIX] = copy
    return result


class MaintenanceMode(object):
    """Turn one app's maintenance routing on or off; `api` is a TraefikAPI."""

    def __init__(self, path, routers, service, except_paths=(), api=None, timeout=30,
                 clock=time.time, sleep=time.sleep, ready_urls=(), status=None):
        self.path = path
        self.ready_urls = list(ready_urls)
        self.status = status  # url -> HTTP status (0 when nothing answers), for ready_urls
        self.routers = maintenance_routers(routers, service, except_paths)
        self.api = api
        self.timeout = timeout
        self.clock = clock
        self.sleep = sleep
        self.seen = {}

    def current(self):
        """(routers, since) of the file now, or (None, None) when maintenance is off."""
        try:
            with open(self.path, encoding="utf-8") as handle:
                text = handle.read()
        except FileNotFoundError:
            return None, None
        header, _newline, body = text.partition("\n")
        since = header.rsplit(" On since ", 1)[1] if " On since " in header else None
        try:
            return json.loads(body)["http"]["routers"], since
        except (KeyError, TypeError, ValueError):
            return {}, since  # not ours or torn: rewritten when turned on, removed when off

    def render(self, since):
        return HEADER % since + json.dumps({"http": {"routers": self.routers}}, indent=2, sort_keys=True) + "\n"

    def apply(self, state, check_mode=False):
        """{changed, state, since, before, after}; waits (bounded) until Traefik's API agrees."""
        routers, since = self.current()
        if state == "on":
            changed = routers != self.routers
            since = since if (since and routers is not None) else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            if changed and not check_mode:
                write_atomically(self.path, self.render(since), 0o644, prefix=".maintenance-",
                                 staging_dir=os.path.dirname(os.path.dirname(self.path)))
            if not check_mode:
                self.wait(sorted(self.routers), present=True)
        else:
            changed = routers is not None
            if changed and not check_mode:
                self.wait_ready()
                os.unlink(self.path)
            if not check_mode:
                self.wait(sorted(set(routers or {}) | set(self.routers)), present=False)
            since = None
        return {"changed": changed, "state": state, "since": since,
                "before": "on" if routers is not None else "off", "after": state}

    def wait_ready(self):
        """Until each of ready_urls answers 200 (the replicas, asked directly, on whatever changed
        under them): the page stays up until then, and stays up when the timeout passes."""
        deadline = self.clock() + self.timeout
        delay = 0.05
        pending = list(self.ready_urls)
        while pending:
            answers = dict((url, self.status(url)) for url in pending)
            pending = [url for url, code in answers.items() if code != 200]
            if not pending:
                return
            if self.clock() >= deadline:
                raise MaintenanceError("maintenance stays on: not answering 200 within %ss: %s" % (
                    self.timeout, ", ".join("%s (%s)" % (url, answers[url] or "no answer") for url in pending)))
            self.sleep(delay)
            delay = min(delay * 1.5, 0.5)

    def wait(self, names, present):
        """Until Traefik's API shows each router in `names` enabled (or none of them)."""
        if names:
            self.api.headers()  # an unreadable token fails at once, not after the timeout
        deadline = self.clock() + self.timeout
        delay = 0.05
        while names:
            seen = self.seen = {}
            for name in names:
                try:
                    data = self.api.get("/api/http/routers/%s@file" % name)
                except Exception as exc:  # connection refused, timeout: Traefik restarting, keep polling
                    seen[name] = "error: %s" % exc
                    continue
                if data is None:
                    seen[name] = "absent"
                else:
                    errors = data.get("error") or []
                    seen[name] = data.get("status", "?") + (": " + "; ".join(errors) if errors else "")
            if all(state == ("enabled" if present else "absent") for state in seen.values()):
                return seen
            if self.clock() >= deadline:
                raise MaintenanceError("Traefik did not %s the maintenance routers within %ss (last seen: %s)" % (
                    "enable" if present else "drop", self.timeout, json.dumps(seen, sort_keys=True)[:600]))
            self.sleep(delay)
            delay = min(delay * 1.5, 0.1)  # a local API: the page's window ends when it shows
