# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Health-gated rolling replacement of an app's replicas on one host. Private: no API promise.

The replicas are containers labelled launchbay.app=<app>, launchbay.role=app and
launchbay.config-hash=<hash of everything that defines them>. Traefik routes to them
through a file of its file provider that this code owns: a replica enters the rotation
only once Docker reports it healthy, and leaves it (confirmed through Traefik's API)
before it is stopped, so in-flight requests finish and no new ones arrive.

Over 300 lines on purpose: the rollout (RollingUpdate) and the routing it confirms
(TraefikRotation) are one order of operations, read and changed together.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time

from ansible.module_utils.common.text.formatters import human_to_bytes

from ansible_collections.launchbay.webstack.plugins.module_utils._files import write_atomically
from ansible_collections.launchbay.webstack.plugins.module_utils._health import (
    container_state,
    describe_states,
    http_probe,
    wait_healthy,
)
from ansible_collections.launchbay.webstack.plugins.module_utils._traefik_api import TraefikAPI, TraefikAPIError, http_get_json

LABEL_APP = "launchbay.app"
LABEL_ROLE = "launchbay.role"
LABEL_HASH = "launchbay.config-hash"
LABEL_IMAGE = "launchbay.image"

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")


class RolloutError(Exception):
    """The rollout failed; `states` holds the last observed state of the replicas involved."""

    def __init__(self, message, states=None):
        super(RolloutError, self).__init__(message)
        self.states = states or {}


def parse_duration(value):
    """'1m30s', '500ms', '5s' or a number of seconds -> seconds (float)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    if re.match(r"^\d+(\.\d+)?$", text):
        return float(text)
    total, pos = 0.0, 0
    for match in _DURATION.finditer(text):
        if match.start() != pos:
            break
        number, unit = float(match.group(1)), match.group(2)
        total += number * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
        pos = match.end()
    if pos != len(text) or not text:
        raise ValueError("not a duration: %r (use like 5s, 500ms, 1m30s)" % (value,))
    return total


def parse_bytes(value):
    """'512m', '1g', '0' or a number -> bytes (int); '' or None -> 0. Docker's units, in any case,
    read by Ansible's own human_to_bytes."""
    if value in (None, ""):
        return 0
    try:
        return human_to_bytes(str(value).strip().upper().rstrip("B") or "0", default_unit="B")
    except ValueError:
        raise ValueError("not a memory size: %r (use like 512m or 1g)" % (value,))


class Spec(object):
    """Everything that defines one replica. `hash(image_id)` changes when any of it does."""

    FIELDS = ("image", "env", "command", "user", "volumes", "networks", "labels", "healthcheck",
              "restart_policy", "stop_timeout", "memory", "cpus", "log_driver", "log_options", "port", "extra_hash")

    def __init__(self, app, **kwargs):
        self.app = app
        for field in self.FIELDS:
            setattr(self, field, kwargs.get(field))
        self.env = dict(self.env or {})
        self.labels = dict(self.labels or {})
        self.networks = list(self.networks or [])
        self.volumes = list(self.volumes or [])

    def hash(self, image_id):
        # the image by ID, not by name: a rollback by ID recreates the release's very replicas,
        # and a tag that moved is a change
        data = dict((f, getattr(self, f)) for f in self.FIELDS if f != "image")
        data["image_id"] = image_id
        data["app"] = self.app
        text = json.dumps(data, sort_keys=True, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]

    def container_config(self, config_hash):
        labels = dict(self.labels)
        labels.update({LABEL_APP: self.app, LABEL_ROLE: "app", LABEL_HASH: config_hash, LABEL_IMAGE: self.image})
        host = {
            "Binds": self.volumes,
            "RestartPolicy": {"Name": self.restart_policy or "no"},
            "NetworkMode": self.networks[0] if self.networks else "bridge",
        }
        memory = parse_bytes(self.memory)
        if memory:
            host["Memory"] = memory
        if self.cpus:
            host["NanoCpus"] = int(float(self.cpus) * 1e9)
        if self.log_driver:
            host["LogConfig"] = {"Type": self.log_driver, "Config": dict((k, str(v)) for k, v in (self.log_options or {}).items())}
        config = {
            "Image": self.image,
            "Env": ["%s=%s" % (k, v) for k, v in sorted(self.env.items())],
            "Labels": labels,
            "HostConfig": host,
            "StopTimeout": int(self.stop_timeout or 10),
        }
        if self.networks:
            config["NetworkingConfig"] = {"EndpointsConfig": {self.networks[0]: {"Aliases": [self.app]}}}
        if self.command:
            config["Cmd"] = list(self.command)
        if self.user:
            config["User"] = self.user
        if self.healthcheck:
            check = self.healthcheck
            config["Healthcheck"] = {
                "Test": list(check["test"]),
                "Interval": int(parse_duration(check.get("interval", "5s")) * 1e9),
                "Timeout": int(parse_duration(check.get("timeout", "3s")) * 1e9),
                "Retries": int(check.get("retries", 3)),
                "StartPeriod": int(parse_duration(check.get("start_period", "0s")) * 1e9),
            }
        return config


class TraefikRotation(object):
    """The replicas Traefik routes to: a file of its file provider, confirmed through its API."""

    def __init__(self, path, api_url, service, port, routers=None, middlewares=None, health=None,
                 timeout=60, clock=time.time, sleep=time.sleep, http_get=http_get_json, api_token_file=""):
        self.path = path
        self.api = TraefikAPI(api_url, api_token_file, http_get)
        self.api_url = self.api.url
        self.service = service
        self.port = port
        self.routers = routers or {}
        self.middlewares = middlewares or {}
        self.health = health
        self.timeout = timeout
        self.clock = clock
        self.sleep = sleep
        self.last_seen = None

    def url(self, name):
        return "http://%s:%d" % (name, self.port)

    def document(self, names):
        balancer = {"servers": [{"url": self.url(n)} for n in sorted(names)], "passHostHeader": True}
        if self.health:
            balancer["healthCheck"] = dict(self.health)
        http = {"services": {self.service: {"loadBalancer": balancer}}}
        if self.routers:
            http["routers"] = self.routers
        if self.middlewares:
            http["middlewares"] = self.middlewares
        return {"http": http}

    def render(self, names):
        return "# Managed by launchbay.webstack.rolling_update: do not edit.\n" + json.dumps(
            self.document(names), indent=2, sort_keys=True) + "\n"

    def read(self):
        try:
            with open(self.path, encoding="utf-8") as handle:
                return handle.read()
        except FileNotFoundError:
            return None

    def write(self, names):
        """Write atomically (Traefik never reads half a file). Returns True when it changed."""
        text = self.render(names)
        if text == self.read():
            return False
        write_atomically(self.path, text, 0o644, prefix=".rolling-", staging_dir=os.path.dirname(os.path.dirname(self.path)))
        return True

    def observe(self):
        """(servers, status by url) as Traefik's API reports them now."""
        try:
            self.api.headers()
        except TraefikAPIError as exc:
            raise RolloutError(str(exc))
        try:
            data = self.api.get("/api/http/services/%s@file" % self.service)
        except Exception as exc:  # connection refused, timeout, bad JSON: keep polling
            self.last_seen = {"error": str(exc)}
            return None, {}
        self.last_seen = data or {"404": "not routed yet, or not the API token Traefik has (traefik.api_token_file)"}
        if not data:
            return [], {}
        servers = [s.get("url") for s in (data.get("loadBalancer") or {}).get("servers") or []]
        return servers, data.get("serverStatus") or {}

    def wait(self, present=(), absent=(), up=True):
        """Until Traefik routes to every name in `present` (UP when it health-checks them)
        and to none in `absent`."""
        want = [self.url(n) for n in present]
        gone = [self.url(n) for n in absent]
        deadline = self.clock() + self.timeout
        delay = 0.05
        while True:
            servers, status = self.observe()
            if servers is not None:
                ok = all(u in servers for u in want) and not any(u in servers for u in gone)
                if ok and up and self.health:
                    down = [u for u in want if status.get(u) == "DOWN"]
                    if down:  # its health check failed: no use waiting, the old replicas go back at once
                        raise RolloutError("Traefik's health check reports %s DOWN (service %s@file at %s; path %s)" % (
                            ", ".join(down), self.service, self.api_url, self.health.get("path")))
                    ok = all(status.get(u) == "UP" for u in want)
                if ok:
                    return
            if self.clock() >= deadline:
                raise RolloutError(
                    "Traefik did not %s within %ss (service %s@file at %s; last seen: %s)" % (
                        "route to %s" % ", ".join(present) if present else "stop routing to %s" % ", ".join(absent),
                        self.timeout, self.service, self.api_url, json.dumps(self.last_seen, sort_keys=True)[:800]))
            self.sleep(delay)
            delay = min(delay * 1.5, 0.25)  # Traefik's API on this host: the rollout waits for nothing else


def available_memory(meminfo="/proc/meminfo"):
    """The host's MemAvailable in bytes, None when it cannot be read."""
    try:
        with open(meminfo, encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def surge_size(batch_size, replicas, memory=None, available=None):
    """Replicas started at a time: `batch_size` (0: all `replicas`), at most what the available
    memory holds at the replicas' memory limit, and at least one."""
    size = replicas if batch_size == 0 else min(batch_size, replicas)
    if memory and available is not None:
        size = min(size, available // memory)
    return max(1, size)


class RollingUpdate(object):
    """Replace the replicas of one app on one host. `client` is a DockerClient."""

    def __init__(self, client, spec, replicas, batch_size=1, health_timeout=120, drain_delay=2.0,
                 rotation=None, check_mode=False, clock=time.time, sleep=time.sleep, available=available_memory, parallel=True):
        self.client = client
        self.spec = spec
        self.replicas = replicas
        self.batch_size = surge_size(batch_size, replicas, parse_bytes(spec.memory) if spec.memory else None,
                                     available() if spec.memory else None)
        self.health_timeout = health_timeout
        self.drain_delay = drain_delay
        self.rotation = rotation
        self.check_mode = check_mode
        self.clock = clock
        self.sleep = sleep
        self.events = []
        self.began = clock()
        self.parallel = parallel

    def _log(self, message):
        """An event, with the seconds since the module began (where a rollout spends its time)."""
        self.events.append("+%.1fs %s" % (self.clock() - self.began, message))

    def replicas_found(self):
        found = self.client.containers({LABEL_APP: self.spec.app, LABEL_ROLE: "app"})
        return [c for c in (self.client.inspect(item["Id"]) for item in found) if c is not None]

    @staticmethod
    def name_of(container):
        return (container.get("Name") or "").lstrip("/")

    @staticmethod
    def running(container):
        return (container.get("State") or {}).get("Status") == "running"

    def plan(self):
        image = self.client.image(self.spec.image)
        if image is None:
            raise RolloutError("the image %s is not on this host; pull or load it before the rollout" % self.spec.image)
        want = self.spec.hash(image["Id"])
        current = sorted(self.replicas_found(), key=self.name_of)
        matching = [c for c in current if (c["Config"].get("Labels") or {}).get(LABEL_HASH) == want and self.running(c)]
        keep = matching[: self.replicas]
        retire = [c for c in current if c not in keep]
        return {
            "config_hash": want,
            "image_id": image["Id"],
            "keep": keep,
            "retire": retire,
            "start": self.replicas - len(keep),
        }

    def _new_name(self, config_hash, taken):
        index = 1
        while True:
            name = "%s-%s-%d" % (self.spec.app, config_hash[:8], index)
            if name not in taken:
                return name
            index += 1

    def _start_batch(self, config_hash, taken, count, started):
        """Start `count` new replicas together; their names join `started` first, so that the
        undo removes whatever was created when one of them fails."""
        names = []
        for _index in range(count):
            name = self._new_name(config_hash, taken)
            taken.add(name)
            names.append(name)
        started.extend(names)
        self._each(lambda name: self._start(name, config_hash), names)
        return names

    def _start(self, name, config_hash):
        stale = self.client.inspect(name)
        if stale is not None:  # left over by an interrupted run: not in rotation
            self.client.remove(stale["Id"])
        ident = self.client.create(name, self.spec.container_config(config_hash))
        for network in self.spec.networks[1:]:
            self.client.connect(network, ident, aliases=[self.spec.app])
        self.client.start(ident)
        self._log("started %s" % name)

    def health_probe(self):
        """The app's health path, asked directly on the replica's address (the path Traefik
        checks): a replica is routed as soon as it answers 200, not at Docker's next health
        check tick. None without a health path (Docker's check alone decides)."""
        path = ((getattr(self.rotation, "health", None) or {}).get("path") if self.rotation is not None else None) or ""
        if not path.startswith("/"):
            return None
        return http_probe(path, self.rotation.port, list(self.spec.networks or [])[:1])

    def summary(self, plan):
        return {
            "image": [self.spec.image],
            "config_hash": plan["config_hash"],
            "replicas": [self.name_of(c) for c in plan["keep"]] + ["(new %s)" % (i + 1) for i in range(plan["start"])],
        }

    def run(self):
        plan = self.plan()
        keep_names = [self.name_of(c) for c in plan["keep"]]
        old_running = [self.name_of(c) for c in plan["retire"] if self.running(c)]
        old_idle = [self.name_of(c) for c in plan["retire"] if not self.running(c)]
        before = {
            "image": sorted(set((c["Config"].get("Labels") or {}).get(LABEL_IMAGE) or c["Config"].get("Image") for c in plan["keep"] + plan["retire"])),
            "replicas": sorted(keep_names + old_running + old_idle),
        }
        routing_changed = False
        if self.rotation is not None and plan["start"] == 0 and not plan["retire"]:
            routing_changed = self.rotation.read() != self.rotation.render(keep_names)
        result = {
            "changed": bool(plan["start"] or plan["retire"] or routing_changed),
            "config_hash": plan["config_hash"],
            "image_id": plan["image_id"],
            "replaced": sorted(old_running + old_idle),
            "started": [],
            "before": before,
        }
        if not result["changed"] or self.check_mode:
            result["after"] = self.summary(plan)
            result["replicas"] = keep_names
            return result

        taken = set(keep_names + old_running + old_idle)
        serving = list(keep_names)
        started, stopped = [], []
        remaining = plan["start"]
        try:
            if self.rotation is not None and (old_running or keep_names):
                # the rotation file may be missing (first rollout with this module) or stale
                if self.rotation.write(keep_names + old_running):
                    self.rotation.wait(present=keep_names + old_running, up=False)
            serving = keep_names + old_running
            while remaining > 0 or old_running:
                count = min(self.batch_size, remaining)
                batch = self._start_batch(plan["config_hash"], taken, count, started) if count else []
                if batch:
                    began = self.clock()
                    ok, states = wait_healthy(self.client, batch, self.health_timeout, clock=self.clock, sleep=self.sleep,
                                              probe=self.health_probe())
                    if not ok:
                        raise RolloutError("the new replicas of %s did not become healthy (gave up after %ds of at most %ds)"
                                           % (self.spec.image, self.clock() - began, self.health_timeout), states)
                    self._log("healthy %s" % ", ".join(batch))
                out = old_running[: count or self.batch_size]
                old_running = old_running[len(out):]
                # one routing change: the batch in, as many old replicas out (each new one has
                # answered its health path, so Traefik switches to it at once)
                serving = [n for n in serving if n not in out] + batch
                if self.rotation is not None:
                    self.rotation.write(serving)
                    self.rotation.wait(present=batch, absent=out)
                    self._log("routed %s" % ", ".join(
                        (["in: " + ", ".join(batch)] if batch else []) + (["out: " + ", ".join(out)] if out else [])))
                remaining -= count
                if out:
                    if self.rotation is not None:
                        self.sleep(self.drain_delay)
                    # SIGTERM, then the container's own stop timeout to finish in-flight requests; the
                    # batch's old replicas all at once
                    self._stop_all(out)
                    for name in out:
                        stopped.append(name)
                        self._log("drained and stopped %s" % name)
            self._each(self.client.remove, stopped + old_idle)
        except Exception as exc:
            states = getattr(exc, "states", None) or {}
            self._restore(stopped, started, states)
            raise RolloutError("%s; the previous replicas keep serving" % exc, states)
        result["started"] = started
        result["replicas"] = sorted(serving)
        result["after"] = {"image": [self.spec.image], "config_hash": plan["config_hash"], "replicas": sorted(serving)}
        return result

    def _stop_all(self, names):
        timeout = int(self.spec.stop_timeout or 10)
        self._each(lambda name: self.client.stop(name, timeout), names)

    def _each(self, action, names):
        """action(name) for every name, in parallel threads when there are several (each Docker API
        call has its own connection); the first error is raised once all have finished."""
        if len(names) < 2 or not self.parallel:
            for name in names:
                action(name)
            return
        errors = []

        def run(name):
            try:
                action(name)
            except Exception as exc:  # pylint: disable=broad-exception-caught  # raised below, after the others
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(name,)) for name in names]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]

    def _restore(self, stopped, started, states):
        """Undo a failed rollout: old replicas back and routed first, then the new ones removed."""
        for name in started:
            if name not in states:
                states[name] = container_state(self.client.inspect(name), self.client)
        for name in stopped:
            self.client.start(name)
        if stopped:
            wait_healthy(self.client, stopped, self.health_timeout, clock=self.clock, sleep=self.sleep)
        survivors = [self.name_of(c) for c in self.replicas_found()
                     if self.running(c) and self.name_of(c) not in started]
        if self.rotation is not None and survivors:
            self.rotation.write(survivors)
            try:
                self.rotation.wait(present=survivors, absent=started, up=False)
            except RolloutError as exc:
                self._log("while restoring: %s" % exc)
        for name in started:
            self.client.remove(name)
            self._log("removed %s" % name)


def failure_message(exc):
    text = str(exc)
    if getattr(exc, "states", None):
        text += ". Replicas: " + describe_states(exc.states)
    return text
