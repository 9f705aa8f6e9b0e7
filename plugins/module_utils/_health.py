# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bounded waits for containers to become healthy, reporting the last state seen. Private."""

from __future__ import annotations

import time


def container_state(container, client=None, log_lines=10):
    """What an operator needs to see about one container: status, health, last check output."""
    if container is None:
        return {"status": "missing", "health": None, "last_output": None, "exit_code": None, "restarts": 0}
    state = container.get("State") or {}
    health = state.get("Health") or {}
    checks = health.get("Log") or []
    report = {
        "name": (container.get("Name") or "").lstrip("/"),
        "status": state.get("Status"),
        "health": health.get("Status") if health else None,
        "last_output": (checks[-1].get("Output") or "").strip()[-1000:] if checks else None,
        "exit_code": state.get("ExitCode"),
        "restarts": container.get("RestartCount", 0),
    }
    if client is not None and report["health"] != "healthy" and log_lines:
        try:
            report["logs"] = client.logs(container["Id"], tail=log_lines).strip()[-2000:]
        except Exception as exc:  # the logs are a help, not a requirement
            report["logs"] = "(logs unavailable: %s)" % exc
    return report


def is_ready(container, require="healthy"):
    """healthy: Docker reports healthy (a container without a health check counts when running);
    running: the container runs."""
    if container is None:
        return False
    state = container.get("State") or {}
    if state.get("Status") != "running":
        return False
    if require == "running":
        return True
    health = state.get("Health")
    return not health or health.get("Status") == "healthy"


def _hopeless(container):
    """A container that will not become healthy by waiting: gone, exited for good,
    reported unhealthy, or crash-looping."""
    if container is None:
        return True
    state = container.get("State") or {}
    policy = ((container.get("HostConfig") or {}).get("RestartPolicy") or {}).get("Name")
    if state.get("Status") in ("exited", "dead") and policy in (None, "", "no"):
        return True
    if (state.get("Health") or {}).get("Status") == "unhealthy":
        return True
    return container.get("RestartCount", 0) >= 3


def http_status(url, timeout=1):
    """The status of a GET of `url`, 0 when nothing answers (refused, reset, timed out)."""
    from ansible.module_utils.urls import open_url
    from urllib.error import HTTPError

    try:
        return open_url(url, timeout=timeout, follow_redirects="none").status
    except HTTPError as exc:
        return exc.code
    except Exception:  # pylint: disable=broad-exception-caught  # not up yet
        return 0


def http_probe(path, port, networks=(), status=http_status, address=None):
    """probe(container) for wait_healthy: the app's health `path` on `port`, asked directly on
    the container's address (on the first of `networks` it is attached to), answers 200.
    `address` replaces the container's own (127.0.0.1 for one on the host's network)."""
    def probe(container):
        if address:
            return status("http://%s:%d%s" % (address, port, path)) == 200
        addresses = (container.get("NetworkSettings") or {}).get("Networks") or {}
        attached = next((addresses[n] for n in networks if n in addresses), None) or next(iter(addresses.values()), {})
        ip = (attached or {}).get("IPAddress")
        return bool(ip) and status("http://%s:%d%s" % (ip, port, path)) == 200

    return probe


def wait_healthy(client, names, timeout, require="healthy", clock=time.time, sleep=time.sleep, fail_fast=True, probe=None):
    """Poll with backoff until every container in `names` is ready or `timeout` seconds pass.

    Returns (ok, {name: container_state}). With fail_fast, a container whose health is
    `unhealthy` or that exited ends the wait early: it will not recover on its own.
    `probe(container)`, when given, is the app's own health check asked directly: a running
    container it passes is ready at once, not at Docker's next health check tick. With
    require="answering" only the probe counts: Docker's last verdict may be older than the
    change being waited for (a database switched under a running app).
    """
    if require == "answering" and probe is None:
        raise ValueError("require=answering needs a probe")
    deadline = clock() + timeout
    delay = 0.05 if probe else 0.25
    ready = set()
    while True:
        found = dict((name, client.inspect(name)) for name in names)
        for name, container in found.items():
            if name in ready:
                continue
            probed = probe is not None and is_ready(container, "running") and not _hopeless(container)
            if (require != "answering" and is_ready(container, require)) or (probed and probe(container)):
                ready.add(name)
        if all(name in ready for name in found):
            return True, dict((n, container_state(c)) for n, c in found.items())
        hopeless = fail_fast and any(_hopeless(c) for c in found.values())
        if hopeless or clock() >= deadline:
            return False, dict((n, container_state(c, client)) for n, c in found.items())
        sleep(min(delay, max(deadline - clock(), 0.05)))
        # a probe is one local HTTP request: asked every 250 ms at most, a replica is routed
        # within a quarter second of answering, whatever its boot time
        delay = min(delay * 1.5, 0.25 if probe else 3)


def describe_states(states):
    """One readable paragraph per container for a failure message."""
    parts = []
    for name, st in sorted(states.items()):
        line = "%s: status=%s health=%s restarts=%s" % (name, st.get("status"), st.get("health"), st.get("restarts"))
        if st.get("status") in ("exited", "dead"):
            line += " exit_code=%s" % st.get("exit_code")
        if st.get("last_output"):
            line += "; last health check output: %s" % st["last_output"]
        if st.get("logs"):
            line += "; last log lines: %s" % st["logs"]
        parts.append(line)
    return " | ".join(parts)
