#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: app_release
short_description: Deploy or roll back a release of an app on one host, recorded in its release ledger
version_added: 0.2.0
description:
  - The release state machine of the launchbay.webstack.app role, in one call per direction.
  - With O(direction=deploy), plans the rollout of O(image); when the replicas already run it as the
    ledger's current release, changes nothing. Otherwise records O(release) as in progress,
    replaces the replicas (health-gated, through Traefik, like M(launchbay.webstack.rolling_update)),
    and records the release as successful, or as failed when the rollout failed and was undone.
    A release is recorded completely, with its image by ID and the settings the replicas run with
    (environment, volumes such as the secret files, health check, command, user, limits, port).
  - When the replicas already run O(image) but the ledger does not say so (a run that died after
    its rollout left the release in progress), the ledger is repaired and nothing is rolled.
  - With O(direction=rollback), chooses O(rollback_to) or the previous successful release, refuses a
    release that never served or one older than the database's schema (unless
    O(allow_schema_downgrade)), rolls the replicas over to its image by ID with its recorded
    settings (today's with O(rollback_settings=current)), and marks the newer releases as rolled
    back. A tag that moved since (C(latest)) does not change what comes back.
options:
  app:
    description: App name (containers C(<app>-<hash>-<n>), ledger C(<ledger_path>/<app>.json)).
    type: str
    required: true
  direction:
    description: V(deploy) rolls out O(image); V(rollback) returns to an earlier release.
    type: str
    choices: [deploy, rollback]
    default: deploy
  image:
    description: Image to deploy (must be on the host). Required with O(direction=deploy).
    type: str
  release:
    description: The release to record, with O(direction=deploy). Image, digest and configuration hash are added.
    type: dict
    suboptions:
      id: {description: Release id (unique per app)., type: str, required: true}
      deployed_by: {description: Who deployed., type: str}
      ci_run: {description: CI run or job id., type: str}
      migration_version: {description: Schema version after the release's migrations., type: str}
      revision: {description: The commit the image was built from (its C(org.opencontainers.image.revision) label)., type: str}
      version: {description: The image's version (its C(org.opencontainers.image.version) label)., type: str}
      repo_digest: {description: "The image's registry digest (C(repository@sha256:...)) when it came from a registry.", type: str}
  rollback_to:
    description: Release id to return to; empty for the previous successful release.
    type: str
    default: ""
  allow_schema_downgrade:
    description: Roll back to a release that expects an older schema than the database's.
    type: bool
    default: false
  rollback_settings:
    description:
      - V(recorded) recreates the release as it ran (its environment, secret files, health check,
        command, limits); V(current) runs its image with today's settings instead.
      - Releases recorded before 0.3.0 have no settings; they always take today's.
    type: str
    choices: [recorded, current]
    default: recorded
  keep:
    description: Ledger entries kept (at least 2).
    type: int
    default: 10
  ledger_path:
    description: Directory of the release ledgers.
    type: path
    default: /var/lib/launchbay/releases
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - launchbay.webstack.attributes
  - launchbay.webstack.docker_api
  - launchbay.webstack.rollout
seealso:
  - module: launchbay.webstack.rolling_update
  - module: launchbay.webstack.release_ledger
author:
  - launchbay maintainers (@launchbay)
"""

EXAMPLES = r"""
- name: Deploy release 1.4.2
  launchbay.webstack.app_release:
    app: shop
    image: ghcr.io/acme/shop:1.4.2
    release: {id: 20261122T101500Z, deployed_by: ci}
    replicas: 2
    networks: [launchbay_public, launchbay_internal]
    traefik:
      file: /etc/launchbay/traefik/dynamic/app-shop.yml
      health_path: /health
  register: shop_release

- name: Return to the previous release
  launchbay.webstack.app_release:
    app: shop
    direction: rollback
    replicas: 2
    networks: [launchbay_public, launchbay_internal]
"""

RETURN = r"""
direction:
  description: O(direction).
  returned: always
  type: str
before:
  description: The current release before this run (ledger record), or null.
  returned: always
  type: dict
release:
  description: With O(direction=deploy), the release recorded (or the current one when nothing changed).
  returned: direction=deploy
  type: dict
target:
  description: With O(direction=rollback), the release returned to.
  returned: direction=rollback
  type: dict
states:
  description: On failure, each replica's status, health, last health check output and last log lines.
  returned: failure
  type: dict
settings:
  description: With O(direction=rollback), whether the release's V(recorded) settings or V(current) ones were used.
  returned: direction=rollback
  type: str
repaired:
  description: The replicas already ran the release and the ledger was brought in line (nothing rolled).
  returned: when the ledger was repaired
  type: bool
rolled_out:
  description: Whether the replicas were rolled over by this run.
  returned: always
  type: bool
up_to_date:
  description:
    - Whether the replicas already ran the release (or the rollback target) and the ledger said so, so that
      nothing was, or in check mode would be, changed.
    - The deploy playbook plans every host in check mode, in parallel, and skips the serial rollout of the hosts
      that are up to date.
  returned: always
  type: bool
image_id:
  description: Id of the image the replicas run.
  returned: always
  type: str
config_hash:
  description: Hash of the replicas' definition.
  returned: always
  type: str
replicas:
  description: Replicas serving after the rollout.
  returned: when rolled_out
  type: list
  elements: str
events:
  description: What the rollout did, in order.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.launchbay.webstack.plugins.module_utils._docker_api import DOCKER_ARGUMENT_SPEC, DockerClient, DockerError
from ansible_collections.launchbay.webstack.plugins.module_utils._release import Release, ReleaseError
from ansible_collections.launchbay.webstack.plugins.module_utils._release_ledger import RELEASE_SPEC, LedgerError, ReleaseLedger
from ansible_collections.launchbay.webstack.plugins.module_utils._rollout_mutex import RolloutBusy, rollout_mutex
from ansible_collections.launchbay.webstack.plugins.module_utils._rollout_options import (
    ROLLOUT_ARGUMENT_SPEC,
    build_rolling_update,
    input_errors,
    recorded_settings,
    with_settings,
)


def main():
    # the release's own fields; image, digest and configuration hash come from the rollout
    own = ("id", "deployed_by", "ci_run", "migration_version", "revision", "version", "repo_digest")
    release_spec = dict((k, v) for k, v in RELEASE_SPEC.items() if k in own)
    module = AnsibleModule(
        argument_spec=dict(
            app=dict(type="str", required=True),
            direction=dict(type="str", default="deploy", choices=["deploy", "rollback"]),
            image=dict(type="str"),
            release=dict(type="dict", options=release_spec),
            rollback_to=dict(type="str", default=""),
            allow_schema_downgrade=dict(type="bool", default=False),
            rollback_settings=dict(type="str", default="recorded", choices=["recorded", "current"]),
            keep=dict(type="int", default=10),
            ledger_path=dict(type="path", default="/var/lib/launchbay/releases"),
            **dict(ROLLOUT_ARGUMENT_SPEC, **DOCKER_ARGUMENT_SPEC)
        ),
        required_if=[("direction", "deploy", ["image", "release"])],
        supports_check_mode=True,
    )
    params = module.params
    errors = input_errors(params) + (["keep must be at least 2"] if params["keep"] < 2 else [])
    if errors:
        module.fail_json(msg="; ".join(errors))
    try:
        client = DockerClient.from_params(params)
    except DockerError as exc:
        module.fail_json(msg=str(exc))

    def rollout(image, check_mode, settings=None):
        return build_rolling_update(client, with_settings(params, settings), image, check_mode)

    what = "app_release %s %s" % (params["direction"], params["image"] if params["direction"] == "deploy"
                                  else params["rollback_to"] or "to the previous release")
    waited = []
    try:
        # the ledger's read-decide-write and the rollout, one process of this host at a time
        with rollout_mutex(params["app"], what, params["busy_timeout"], module.check_mode) as waited:
            release = Release(ReleaseLedger(params["ledger_path"], params["app"]), rollout, params["keep"], module.check_mode)
            if params["direction"] == "deploy":
                result = release.deploy(params["image"], dict((k, v) for k, v in params["release"].items() if v is not None),
                                        recorded_settings(params))
            else:
                result = release.rollback(params["rollback_to"], params["allow_schema_downgrade"],
                                          params["rollback_settings"] == "current")
    except ReleaseError as exc:
        module.fail_json(msg=str(exc), states=exc.states, events=waited + exc.events)
    except (LedgerError, RolloutBusy) as exc:
        module.fail_json(msg=str(exc))
    result["events"] = waited + result.get("events", [])
    # the diff: the replicas and image before and after (as rolling_update's), and the release ids
    diff = result.pop("diff")
    if result["changed"]:
        result["diff"] = diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
