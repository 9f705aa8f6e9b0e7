# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    # What defines an app's replicas and how they are rolled over: the options shared by
    # rolling_update and app_release (module_utils/_rollout_options.py holds their spec).
    DOCUMENTATION = r"""
options:
  replicas:
    description: Number of replicas on this host.
    type: int
    default: 1
  batch_size:
    description:
      - Replicas replaced at a time; V(0) replaces them all at once (a surge beside the old ones).
      - With O(memory) set, a batch is also bounded by the host's available memory (C(MemAvailable) in
        C(/proc/meminfo)) divided by O(memory), and is at least one replica.
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
  busy_timeout:
    description:
      - Seconds to wait while another process on the host rolls the same app over (the module of a run whose
        controller died, still at work there). A rollout holds an exclusive C(flock) of C(/run/launchbay/<app>.rollout),
        which the kernel drops when its process ends, so the wait ends as soon as that rollout does.
      - After this time the module fails, naming the other process, and changes nothing.
      - Check mode neither waits nor takes it.
    type: int
    default: 600
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
      api_token_file:
        description:
          - File on the host holding the bearer token Traefik's API requires (the traefik role's
            C(traefik_api_token_file)); empty to send none.
        type: path
        default: ""
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
"""
