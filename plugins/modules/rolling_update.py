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
  - For each batch it starts new containers beside the old ones and waits until each is healthy
    (Docker's health check, or sooner its health path answering 200 when O(traefik.health_path)
    is set). Then one change of the routing file takes the batch in and as many old replicas
    out. It confirms through Traefik's API that Traefik routes to the new ones and no longer to
    the old, waits O(drain_delay), and stops the old ones with the container's stop timeout so
    in-flight requests finish.
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
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - launchbay.webstack.attributes
  - launchbay.webstack.docker_api
  - launchbay.webstack.rollout
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
from ansible_collections.launchbay.webstack.plugins.module_utils._rollout_mutex import RolloutBusy, rollout_mutex
from ansible_collections.launchbay.webstack.plugins.module_utils._rollout_options import (
    ROLLOUT_ARGUMENT_SPEC,
    build_rolling_update,
    input_errors,
)
from ansible_collections.launchbay.webstack.plugins.module_utils._rolling_update import (
    RollingUpdate,
    RolloutError,
    Spec,
    failure_message,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            app=dict(type="str", required=True),
            state=dict(type="str", default="present", choices=["present", "query"]),
            image=dict(type="str"),
            **dict(ROLLOUT_ARGUMENT_SPEC, **DOCKER_ARGUMENT_SPEC)
        ),
        required_if=[("state", "present", ["image"])],
        supports_check_mode=True,
    )
    params = module.params
    try:
        client = DockerClient.from_params(params)
    except DockerError as exc:
        module.fail_json(msg=str(exc))
    if params["state"] == "query":
        try:
            found = RollingUpdate(client, Spec(params["app"]), 1).replicas_found()
        except DockerError as exc:
            module.fail_json(msg=str(exc))
        module.exit_json(changed=False, replicas=[container_state(c) for c in found])
    errors = input_errors(params)
    if errors:
        module.fail_json(msg="; ".join(errors))
    manager = build_rolling_update(client, params, params["image"], module.check_mode)
    waited = []
    try:
        with rollout_mutex(params["app"], "rolling_update %s" % params["image"], params["busy_timeout"],
                           module.check_mode) as waited:
            result = manager.run()
    except (RolloutError, DockerError) as exc:
        module.fail_json(msg=failure_message(exc), states=getattr(exc, "states", {}), events=waited + manager.events)
    except RolloutBusy as exc:
        module.fail_json(msg=str(exc))
    before = result.pop("before")
    after = result.pop("after")
    result["events"] = waited + manager.events
    if result["changed"]:
        result["diff"] = dict(before=before, after=after)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
