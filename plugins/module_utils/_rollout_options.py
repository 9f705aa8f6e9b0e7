# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options that define an app's replicas, shared by the rolling_update and app_release
modules (documented by the launchbay.webstack.rollout doc fragment). Private."""

from __future__ import annotations

from ansible_collections.launchbay.webstack.plugins.module_utils._rolling_update import (
    RollingUpdate,
    Spec,
    TraefikRotation,
    parse_bytes,
    parse_duration,
)

_HEALTH_SPEC = dict(
    test=dict(type="list", elements="str", required=True),
    interval=dict(type="str", default="5s"),
    timeout=dict(type="str", default="3s"),
    retries=dict(type="int", default=3),
    start_period=dict(type="str", default="0s"),
)
_TRAEFIK_SPEC = dict(
    file=dict(type="path", required=True),
    api_url=dict(type="str", default="http://127.0.0.1:8099"),
    api_token_file=dict(type="path", default=""),
    service=dict(type="str"),
    routers=dict(type="dict", default={}),
    middlewares=dict(type="dict", default={}),
    health_path=dict(type="str", default=""),
    health_interval=dict(type="str", default="2s"),
    health_timeout=dict(type="str", default="2s"),
    timeout=dict(type="int", default=60),
)
ROLLOUT_ARGUMENT_SPEC = dict(
    replicas=dict(type="int", default=1),
    batch_size=dict(type="int", default=1),
    env=dict(type="dict", default={}),
    command=dict(type="list", elements="str"),
    user=dict(type="str"),
    volumes=dict(type="list", elements="str", default=[]),
    networks=dict(type="list", elements="str", default=[]),
    labels=dict(type="dict", default={}),
    healthcheck=dict(type="dict", options=_HEALTH_SPEC),
    restart_policy=dict(type="str", default="unless-stopped", choices=["no", "on-failure", "always", "unless-stopped"]),
    stop_timeout=dict(type="int", default=30),
    memory=dict(type="str", default=""),
    cpus=dict(type="float", default=0),
    log_driver=dict(type="str"),
    log_options=dict(type="dict", default={}),
    port=dict(type="int", default=8000),
    config_hash_extra=dict(type="str", default="", no_log=False),
    health_timeout=dict(type="int", default=120),
    drain_delay=dict(type="float", default=2),
    busy_timeout=dict(type="int", default=600),
    traefik=dict(type="dict", options=_TRAEFIK_SPEC),
    mask_values=dict(type="list", elements="str", default=[], no_log=True),
)
_SPEC_FIELDS = ("env", "command", "user", "volumes", "networks", "labels", "healthcheck", "restart_policy",
                "stop_timeout", "memory", "cpus", "log_driver", "log_options", "port")
# What a release records of its replicas' definition (app_release), so a rollback recreates it:
# the container's own settings, the hash of its secret files, and Traefik's health check of it.
SETTINGS_FIELDS = _SPEC_FIELDS + ("config_hash_extra", "traefik")


def recorded_settings(params):
    """The settings a release records (Traefik: only its health check; routing stays today's)."""
    settings = dict((k, params[k]) for k in _SPEC_FIELDS + ("config_hash_extra",))
    if params["traefik"]:
        settings["traefik"] = dict((k, params["traefik"][k]) for k in ("health_path", "health_interval", "health_timeout"))
    return settings


def with_settings(params, settings):
    """`params` with a recorded release's settings in place of today's (those it has: records
    from older versions have fewer; Traefik's routing stays today's)."""
    wanted = dict(params)
    for key, value in (settings or {}).items():
        if key == "traefik":
            if params["traefik"] and value:
                wanted["traefik"] = dict(params["traefik"], **value)
        elif key in SETTINGS_FIELDS:
            wanted[key] = value
    return wanted


def input_errors(params):
    """The wrong inputs, each named; [] when all are right."""
    errors = []
    if not params["app"] or "/" in params["app"] or params["app"].startswith("."):
        errors.append("app must be a name (no '/', not starting with '.'), got %r" % params["app"])
    if params["replicas"] < 1:
        errors.append("replicas must be at least 1, got %d" % params["replicas"])
    if params["busy_timeout"] < 0:
        errors.append("busy_timeout must be 0 or more, got %d" % params["busy_timeout"])
    if params["batch_size"] < 0:
        errors.append("batch_size must be 0 (all at once) or more, got %d" % params["batch_size"])
    try:
        parse_bytes(params["memory"])
    except ValueError as exc:
        errors.append("memory: %s" % exc)
    for key in ("interval", "timeout", "start_period"):
        if params["healthcheck"]:
            try:
                parse_duration(params["healthcheck"][key])
            except ValueError as exc:
                errors.append("healthcheck.%s: %s" % (key, exc))
    return errors


def build_rolling_update(client, params, image, check_mode):
    """The RollingUpdate of `image` with the replicas `params` define."""
    opts = params["traefik"]
    service = (opts["service"] or params["app"]) if opts else None
    extra_hash = params["config_hash_extra"]
    if opts:
        # the service Traefik routes the replicas under is part of their definition
        extra_hash = "%s|%s" % (extra_hash, service)
    spec = Spec(params["app"], image=image, extra_hash=extra_hash, **dict((k, params[k]) for k in _SPEC_FIELDS))
    rotation = None
    if opts:
        rotation = TraefikRotation(
            opts["file"], opts["api_url"], service, params["port"],
            routers=opts["routers"], middlewares=opts["middlewares"],
            health=({"path": opts["health_path"], "interval": opts["health_interval"], "timeout": opts["health_timeout"]}
                    if opts["health_path"] else None),
            timeout=opts["timeout"], api_token_file=opts["api_token_file"],
        )
    return RollingUpdate(client, spec, params["replicas"], params["batch_size"], params["health_timeout"],
                         params["drain_delay"], rotation, check_mode)
