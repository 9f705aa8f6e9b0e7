#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: rolling_update
short_description: Replace an app's replicas on one host without dropping a request
version_added: 0.1.0
description:
  - Runs O(replicas) containers of an app on the host and replaces them one batch at a time
    when anything that defines them changes (image, environment, mounts, limits, health check,
    O(config_hash_extra)).
  - For each batch it starts new containers beside the old ones, waits until Docker reports them
    healthy and Traefik routes to them (read back from Traefik's API), then takes as many old
    replicas out of Traefik's rotation, confirms through the API that Traefik no longer routes to
    them, and stops them with the container's stop timeout so in-flight requests finish.
  - Old replicas are only removed once every new one serves. When a new replica does not become
    healthy within O(health_timeout), or Traefik does not route to it, the module starts the old
    replicas it stopped, routes to them again, removes the new containers and fails with each
    replica's status, last health check output and last log lines.
  - Traefik routes through a file of its file provider (O(traefik.file)) owned by this module;
    it holds the routers given in O(traefik.routers) and one service whose servers are the replicas, reached
    by container name on the first network.
  - The same definition already running changes nothing.
options:
  app:
    description: App name; containers are named C(<app>-<hash>-<n>) and labelled C(launchbay.app=<app>).
    type: str
    required: true
  state:
    description: V(present) runs the replicas; V(query) only reports them.
    type: str
    choices: [present, query]
    default: present
  image:
    description: Image reference (must be on the host). Required with O(state=present).
    type: str
  replicas:
    description: Number of replicas on this host.
    type: int
    default: 1
  batch_size:
    description: Replicas replaced at a time.
    type: int
    default: 1
  env:
    description: Environment variables (no secrets; deliver those as files).
    type: dict
    default: {}
  command:
    description: Command (the image's CMD when omitted).
    type: list
    elements: str
  user:
    description: User the container runs as.
    type: str
  volumes:
    description: Bind mounts like C(/host/path:/container/path:ro).
    type: list
    elements: str
    default: []
  networks:
    description: Networks; the first is the one Traefik reaches the app on. The app name is an alias on each.
    type: list
    elements: str
    default: []
  labels:
    description: Extra labels.
    type: dict
    default: {}
  healthcheck:
    description: Docker health check; the image's own when omitted.
    type: dict
    suboptions:
      test:
        description: Command, like V([CMD, curl, -f, http://127.0.0.1/health]).
        type: list
        elements: str
        required: true
      interval:
        description: Time between checks.
        type: str
        default: 5s
      timeout:
        description: Time a check may take.
        type: str
        default: 3s
      retries:
        description: Failures in a row that make the container unhealthy.
        type: int
        default: 3
      start_period:
        description: Time to start during which failures do not count.
        type: str
        default: 0s
  restart_policy:
    description: Docker restart policy.
    type: str
    choices: ["no", on-failure, always, unless-stopped]
    default: unless-stopped
  stop_timeout:
    description: Seconds between SIGTERM and SIGKILL, for in-flight requests to finish (the drain timeout).
    type: int
    default: 30
  memory:
    description: Memory limit like C(512m); empty for none.
    type: str
    default: ""
  cpus:
    description: CPU limit; 0 for none.
    type: float
    default: 0
  log_driver:
    description: Log driver; the daemon's default (with its rotation settings) when omitted.
    type: str
  log_options:
    description: Options of O(log_driver).
    type: dict
    default: {}
  port:
    description: Port the app listens on inside the container.
    type: int
    default: 8000
  config_hash_extra:
    description: Anything else whose change must replace the replicas, like a checksum of secret files.
    type: str
    default: ""
  health_timeout:
    description: Seconds a new replica has to become healthy.
    type: int
    default: 120
  drain_delay:
    description: Seconds between Traefik confirming a replica left the rotation and its SIGTERM.
    type: float
    default: 2
  traefik:
    description: Route through Traefik; omit to run the replicas without it.
    type: dict
    suboptions:
      file:
        description: File in Traefik's file provider directory on the host.
        type: path
        required: true
      api_url:
        description: Traefik's API as reachable from the host.
        type: str
        default: http://127.0.0.1:8099
      service:
        description: Service name (in the file provider); the app name by default.
        type: str
      routers:
        description: Routers of the file provider, by name; each should name O(traefik.service).
        type: dict
        default: {}
      middlewares:
        description: Middlewares of the file provider, by name.
        type: dict
        default: {}
      health_path:
        description: Path Traefik checks on each replica; empty for none.
        type: str
        default: ""
      health_interval:
        description: Time between Traefik's checks.
        type: str
        default: 2s
      health_timeout:
        description: Time a check may take.
        type: str
        default: 2s
      timeout:
        description: Seconds to wait for Traefik to pick up a change.
        type: int
        default: 60
  mask_values:
    description: Values masked in every message (secrets the app may log).
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - launchbay.webstack.attributes
  - launchbay.webstack.docker_api
notes:
  - Old containers of the app that are not running are removed at the end of a rollout.
author:
  - launchbay maintainers (@launchbay)
"""

EXAMPLES = r"""
- name: Roll out release 1.4.2, two replicas behind Traefik
  launchbay.webstack.rolling_update:
    app: shop
    image: ghcr.io/acme/shop:1.4.2
    replicas: 2
    env: {APP_ENVIRONMENT: production}
    volumes: [/etc/launchbay/apps/shop/secrets:/run/secrets:ro]
    networks: [launchbay_public, launchbay_internal]
    stop_timeout: 30
    traefik:
      file: /etc/launchbay/traefik/dynamic/app-shop.yml
      health_path: /health
      routers:
        shop-example-com:
          rule: Host(`shop.example.com`)
          entryPoints: [websecure]
          service: shop
          tls: {certResolver: letsencrypt}

- name: Report the replicas
  launchbay.webstack.rolling_update:
    app: shop
    state: query
  register: replicas
"""

RETURN = r"""
config_hash:
  description: Hash of the replicas' definition (label C(launchbay.config-hash)).
  returned: state=present
  type: str
image_id:
  description: Id of the image rolled out.
  returned: state=present
  type: str
replicas:
  description: Names of the replicas serving after the run (with O(state=query), their states).
  returned: always
  type: list
started:
  description: Replicas started by this run.
  returned: state=present
  type: list
  elements: str
replaced:
  description: Replicas removed by this run.
  returned: state=present
  type: list
  elements: str
events:
  description: What happened, in order.
  returned: state=present
  type: list
  elements: str
states:
  description: On failure, each replica's status, health, last health check output and last log lines.
  returned: failure
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.launchbay.webstack.plugins.module_utils._docker_api import DOCKER_ARGUMENT_SPEC, DockerClient, DockerError
from ansible_collections.launchbay.webstack.plugins.module_utils._health import container_state
from ansible_collections.launchbay.webstack.plugins.module_utils._rolling_update import (
    RollingUpdate,
    RolloutError,
    Spec,
    TraefikRotation,
    failure_message,
    parse_bytes,
    parse_duration,
)


def _check_input(module, params):
    if params["replicas"] < 1:
        module.fail_json(msg="replicas must be at least 1, got %d" % params["replicas"])
    if params["batch_size"] < 1:
        module.fail_json(msg="batch_size must be at least 1, got %d" % params["batch_size"])
    try:
        parse_bytes(params["memory"])
        for key in ("interval", "timeout", "start_period"):
            if params["healthcheck"]:
                parse_duration(params["healthcheck"][key])
    except ValueError as exc:
        module.fail_json(msg=str(exc))


def main():
    health_spec = dict(
        test=dict(type="list", elements="str", required=True),
        interval=dict(type="str", default="5s"),
        timeout=dict(type="str", default="3s"),
        retries=dict(type="int", default=3),
        start_period=dict(type="str", default="0s"),
    )
    traefik_spec = dict(
        file=dict(type="path", required=True),
        api_url=dict(type="str", default="http://127.0.0.1:8099"),
        service=dict(type="str"),
        routers=dict(type="dict", default={}),
        middlewares=dict(type="dict", default={}),
        health_path=dict(type="str", default=""),
        health_interval=dict(type="str", default="2s"),
        health_timeout=dict(type="str", default="2s"),
        timeout=dict(type="int", default=60),
    )
    module = AnsibleModule(
        argument_spec=dict(
            app=dict(type="str", required=True),
            state=dict(type="str", default="present", choices=["present", "query"]),
            image=dict(type="str"),
            replicas=dict(type="int", default=1),
            batch_size=dict(type="int", default=1),
            env=dict(type="dict", default={}),
            command=dict(type="list", elements="str"),
            user=dict(type="str"),
            volumes=dict(type="list", elements="str", default=[]),
            networks=dict(type="list", elements="str", default=[]),
            labels=dict(type="dict", default={}),
            healthcheck=dict(type="dict", options=health_spec),
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
            traefik=dict(type="dict", options=traefik_spec),
            mask_values=dict(type="list", elements="str", default=[], no_log=True),
            **DOCKER_ARGUMENT_SPEC
        ),
        required_if=[("state", "present", ["image"])],
        supports_check_mode=True,
    )
    params = module.params
    client = DockerClient(params["docker_socket"])
    if params["state"] == "query":
        try:
            found = RollingUpdate(client, Spec(params["app"]), 1).replicas_found()
        except DockerError as exc:
            module.fail_json(msg=str(exc))
        module.exit_json(changed=False, replicas=[container_state(c) for c in found])
    _check_input(module, params)

    opts = params["traefik"]
    service = (opts["service"] or params["app"]) if opts else None
    extra_hash = params["config_hash_extra"]
    if opts:
        # the service Traefik routes the replicas under is part of their definition
        extra_hash = "%s|%s" % (extra_hash, service)
    spec = Spec(params["app"], extra_hash=extra_hash, **dict((k, params[k]) for k in (
        "image", "env", "command", "user", "volumes", "networks", "labels", "healthcheck", "restart_policy",
        "stop_timeout", "memory", "cpus", "log_driver", "log_options", "port")))
    rotation = None
    if opts:
        rotation = TraefikRotation(
            opts["file"], opts["api_url"], service, params["port"],
            routers=opts["routers"], middlewares=opts["middlewares"],
            health=({"path": opts["health_path"], "interval": opts["health_interval"], "timeout": opts["health_timeout"]}
                    if opts["health_path"] else None),
            timeout=opts["timeout"],
        )
    manager = RollingUpdate(client, spec, params["replicas"], params["batch_size"], params["health_timeout"],
                            params["drain_delay"], rotation, module.check_mode)
    try:
        result = manager.run()
    except (RolloutError, DockerError) as exc:
        module.fail_json(msg=failure_message(exc), states=getattr(exc, "states", {}), events=manager.events)
    before = result.pop("before")
    after = result.pop("after")
    result["events"] = manager.events
    if result["changed"]:
        result["diff"] = dict(before=before, after=after)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
