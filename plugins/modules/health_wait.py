#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: health_wait
short_description: Wait until containers are healthy, and say why when they are not
version_added: 0.1.0
description:
  - Polls the Docker Engine API with backoff until every container in O(containers) runs and
    Docker reports it healthy (a container without a health check counts once it runs), or until
    O(timeout) seconds have passed.
  - Stops early when waiting cannot help (the container is gone, exited without a restart policy,
    is reported unhealthy, or restarted three times).
  - On failure it reports each container's status, health, last health check output and last log
    lines. It never changes anything.
options:
  containers:
    description: Container names or ids.
    type: list
    elements: str
    required: true
  timeout:
    description: Seconds to wait.
    type: int
    default: 120
  require:
    description:
      - V(healthy) (Docker's health check passes), V(running), or V(answering) (the app's health path,
        O(probe_path), answers 200 now, asked directly; for a change Docker's last verdict predates,
        such as a database switched under a running app).
      - With O(probe_path) set, V(healthy) also counts a container that answers before Docker's next check.
    type: str
    choices: [healthy, running, answering]
    default: healthy
  probe_path:
    description: The app's health path (like V(/health)), asked on each container's own address.
    type: str
  probe_port:
    description: The port O(probe_path) is served on. Required with O(probe_path).
    type: int
  probe_network:
    description: The Docker network whose address of the container is asked (the first attached one when unset).
    type: str
  probe_address:
    description:
      - The address O(probe_path) is asked on instead of the container's own, like V(127.0.0.1) for a container
        on the host's network that listens on the loopback.
    type: str
    version_added: 0.2.0
  fail_fast:
    description: Stop waiting as soon as a container cannot become healthy by waiting.
    type: bool
    default: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - launchbay.webstack.attributes.read_only
  - launchbay.webstack.docker_api
notes:
  - It only reads, also in check mode, where it still waits (skip it when the containers would not exist yet).
author:
  - launchbay maintainers (@launchbay)
"""

EXAMPLES = r"""
- name: Wait until PostgreSQL accepts connections
  launchbay.webstack.health_wait:
    containers: [launchbay_postgres]
    timeout: 120

- name: Wait until the replicas answer their health path on the database they were just switched to
  launchbay.webstack.health_wait:
    containers: [demo-1a2b3c4d-1, demo-1a2b3c4d-2]
    require: answering
    probe_path: /health
    probe_port: 8000
    timeout: 60
"""

RETURN = r"""
containers:
  description: Each container's status, health, last health check output (and last log lines on failure).
  returned: always
  type: dict
waited:
  description: Seconds waited.
  returned: always
  type: float
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.launchbay.webstack.plugins.module_utils._docker_api import DOCKER_ARGUMENT_SPEC, DockerClient, DockerError
from ansible_collections.launchbay.webstack.plugins.module_utils._health import describe_states, http_probe, wait_healthy


def main():
    module = AnsibleModule(
        argument_spec=dict(
            containers=dict(type="list", elements="str", required=True),
            timeout=dict(type="int", default=120),
            require=dict(type="str", default="healthy", choices=["healthy", "running", "answering"]),
            fail_fast=dict(type="bool", default=True),
            probe_path=dict(type="str"),
            probe_port=dict(type="int"),
            probe_network=dict(type="str"),
            probe_address=dict(type="str"),
            **DOCKER_ARGUMENT_SPEC
        ),
        required_together=[("probe_path", "probe_port")],
        required_if=[("require", "answering", ("probe_path", "probe_port"))],
        supports_check_mode=True,
    )
    params = module.params
    if not params["containers"]:
        module.fail_json(msg="containers must name at least one container")
    if params["probe_path"] is not None and not params["probe_path"].startswith("/"):
        module.fail_json(msg="probe_path must start with '/', like /health (found %r)" % params["probe_path"])
    probe = None
    if params["probe_path"]:
        probe = http_probe(params["probe_path"], params["probe_port"], [params["probe_network"]] if params["probe_network"] else [],
                           address=params["probe_address"])
    started = time.time()
    try:
        ok, states = wait_healthy(DockerClient.from_params(params), params["containers"], params["timeout"],
                                  require=params["require"], fail_fast=params["fail_fast"], probe=probe)
    except DockerError as exc:
        module.fail_json(msg=str(exc))
    waited = round(time.time() - started, 1)
    if not ok:
        module.fail_json(msg="not %s after %ss: %s" % (params["require"], waited, describe_states(states)),
                         containers=states, waited=waited)
    module.exit_json(changed=False, containers=states, waited=waited)


if __name__ == "__main__":
    main()
