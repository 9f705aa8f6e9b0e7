#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: converged
short_description: Prove that nothing a role depends on changed since its last full run on a host
version_added: 0.3.0
description:
  - A role that converges a host (the engine, the database, the proxy) records, after a full run
    that ended well, a digest of its inputs and the state it left; on the next run it asks this
    module whether everything still matches, and skips its tasks when it does.
  - The inputs are one SHA-256 digest per variable and one for the role's code, computed on the
    controller by the P(launchbay.webstack.role_inputs#lookup) lookup; the module keeps only keyed
    digests of them (HMAC-SHA256 with a random key kept on the host, mode 0600), never values.
  - The state is each file in O(files) (SHA-256, mode, owner, or absent), each container in
    O(containers) (its ID and whether it runs) and each network in O(networks) (its ID).
  - With O(state=checked) it only reads and answers RV(converged) and, when not, RV(reason), the first
    difference found (a variable's name, a file, a container) or that the record is missing or older
    than O(max_age).
  - With O(state=recorded) it writes the record; with O(state=forgotten) it removes it, so that the
    next run is a full one.
options:
  name:
    description: The role (one record per role and host).
    type: str
    required: true
  state:
    description: V(checked) compares, V(recorded) writes the record, V(forgotten) removes it.
    type: str
    choices: [checked, recorded, forgotten]
    default: checked
  inputs:
    description:
      - Digests of the role's inputs, by name (the P(launchbay.webstack.role_inputs#lookup) lookup's result).
      - Required unless O(state=forgotten).
    type: dict
  files:
    description: Files (or folders) the role manages.
    type: list
    elements: path
    default: []
  containers:
    description: Containers the role runs.
    type: list
    elements: str
    default: []
  networks:
    description: Docker networks the role creates.
    type: list
    elements: str
    default: []
  max_age:
    description: Seconds after which a record is not trusted, so that a full run repairs drift at least that often.
    type: int
    default: 86400
  path:
    description: Folder of the records (created mode 0700).
    type: path
    default: /var/lib/launchbay/converged
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - launchbay.webstack.attributes
  - launchbay.webstack.docker_api
notes:
  - In check mode O(state=checked) answers as usual; nothing is recorded or removed.
  - What the record cannot see (a database user dropped by hand, a package removed) is repaired by the
    next full run, after O(max_age) or when the role is told not to skip.
author:
  - launchbay maintainers (@launchbay)
"""

EXAMPLES = r"""
- name: See whether anything changed since the last full run
  launchbay.webstack.converged:
    name: traefik
    inputs: "{{ lookup('launchbay.webstack.role_inputs', 'traefik') }}"
    files: [/etc/launchbay/traefik/traefik.yml]
    containers: [launchbay_traefik]
  register: traefik_converged
  no_log: true

- name: Record the full run
  launchbay.webstack.converged:
    name: traefik
    state: recorded
    inputs: "{{ lookup('launchbay.webstack.role_inputs', 'traefik') }}"
    files: [/etc/launchbay/traefik/traefik.yml]
    containers: [launchbay_traefik]
"""

RETURN = r"""
converged:
  description: Whether the record matches the inputs and the state now (V(false) for the other states).
  returned: always
  type: bool
reason:
  description: Why the role must run in full (empty when RV(converged)).
  returned: always
  type: str
  sample: "changed since the last full run: traefik_domains"
recorded_at:
  description: Epoch seconds of the record compared or written.
  returned: when there is one
  type: float
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.launchbay.webstack.plugins.module_utils._converged import ConvergedRecord
from ansible_collections.launchbay.webstack.plugins.module_utils._docker_api import DOCKER_ARGUMENT_SPEC, DockerClient, DockerError
from ansible_collections.launchbay.webstack.plugins.module_utils._files import read_json


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            state=dict(type="str", default="checked", choices=["checked", "recorded", "forgotten"]),
            inputs=dict(type="dict", no_log=True),
            files=dict(type="list", elements="path", default=[]),
            containers=dict(type="list", elements="str", default=[]),
            networks=dict(type="list", elements="str", default=[]),
            max_age=dict(type="int", default=86400),
            path=dict(type="path", default="/var/lib/launchbay/converged"),
            **DOCKER_ARGUMENT_SPEC
        ),
        required_if=[("state", "checked", ("inputs",)), ("state", "recorded", ("inputs",))],
        supports_check_mode=True,
    )
    params = module.params
    records = ConvergedRecord(params["path"], DockerClient.from_params(params))
    name = params["name"]
    resources = dict(files=params["files"], containers=params["containers"], networks=params["networks"])
    try:
        if params["state"] == "checked":
            converged, reason = records.check(name, params["inputs"], max_age=params["max_age"], **resources)
            known = read_json(records.path(name)) or {}
            module.exit_json(changed=False, converged=converged, reason=reason, recorded_at=known.get("recorded_at"))
        if params["state"] == "recorded":
            if module.check_mode:
                module.exit_json(changed=False, converged=False, reason="check mode: nothing recorded")
            record = records.record(name, params["inputs"], **resources)
            # the record is bookkeeping: writing it changes nothing a user would see
            module.exit_json(changed=False, converged=False, reason="", recorded_at=record["recorded_at"])
        existed = records.path(name)
        if module.check_mode:
            module.exit_json(changed=bool(read_json(existed)), converged=False, reason="")
        module.exit_json(changed=records.forget(name), converged=False, reason="")
    except DockerError as exc:
        module.fail_json(msg=str(exc), converged=False, reason=str(exc))
    except (OSError, ValueError) as exc:
        module.fail_json(msg="the record of %s in %s cannot be used: %s" % (name, params["path"], exc), converged=False, reason=str(exc))


if __name__ == "__main__":
    main()
