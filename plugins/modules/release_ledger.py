#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: release_ledger
short_description: Record and read the releases of an app on a host
version_added: 0.1.0
description:
  - Keeps the history of an app's releases on the host in C(<path>/<app>.json), newest first,
    with id, image and digest, configuration hash, migration version, who deployed (user, CI run),
    when, and the result.
  - Returns the current release (the newest successful one), the previous one (the rollback
    target), and the images that must not be pruned.
  - The ledger keeps O(keep) entries; the current and previous successful releases are never dropped.
options:
  app:
    description: Application name.
    type: str
    required: true
  state:
    description:
      - V(present) records O(release) with O(result); V(query) only reads.
      - V(rolled_back) makes O(rollback_to) the current release again, marking the successful
        releases newer than it as rolled back.
    type: str
    choices: [present, query, rolled_back]
    default: present
  rollback_to:
    description: Id of the release to return to, with O(state=rolled_back).
    type: str
  release:
    description: The release to record; an existing id is updated.
    type: dict
    suboptions:
      id: {description: Release id (unique per app)., type: str, required: true}
      image: {description: Image reference., type: str}
      digest: {description: Image digest or id., type: str}
      config_hash: {description: Hash of the app's configuration., type: str}
      migration_version: {description: Schema version after the release's migrations., type: str}
      deployed_by: {description: User who deployed., type: str}
      ci_run: {description: CI run or job id., type: str}
      revision: {description: The commit the image was built from., type: str}
      version: {description: The image's version., type: str}
      repo_digest: {description: The image's registry digest (repository@sha256:...)., type: str}
  result:
    description: Result of the release.
    type: str
    choices: [in_progress, success, failed, rolled_back]
    default: in_progress
  keep:
    description: Entries kept (at least 2).
    type: int
    default: 10
  path:
    description: Directory of the ledgers.
    type: path
    default: /var/lib/launchbay/releases
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - launchbay.webstack.attributes
seealso:
  - module: launchbay.webstack.app_release
    description: Deploys and rolls back through this ledger in one call.
author:
  - launchbay maintainers (@launchbay)
"""

EXAMPLES = r"""
- name: Record the start of a release
  launchbay.webstack.release_ledger:
    app: shop
    release:
      id: "{{ release_id }}"
      image: "ghcr.io/acme/shop:{{ app_version }}"
      deployed_by: "{{ lookup('ansible.builtin.env', 'USER') }}"
    result: in_progress

- name: Read the rollback target
  launchbay.webstack.release_ledger:
    app: shop
    state: query
  register: ledger
  # ledger.previous.image
"""

RETURN = r"""
target:
  description: With O(state=rolled_back), the release returned to.
  returned: state=rolled_back
  type: dict
current:
  description: The newest successful release, or null.
  returned: always
  type: dict
previous:
  description: The successful release before the current one (the rollback target), or null.
  returned: always
  type: dict
releases:
  description: All kept releases, newest first.
  returned: always
  type: list
  elements: dict
protected_images:
  description: Images of the kept successful releases (at least current and previous) and of releases in progress.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.launchbay.webstack.plugins.module_utils._release_ledger import RELEASE_SPEC, LedgerError, ReleaseLedger


def main():
    module = AnsibleModule(
        argument_spec=dict(
            app=dict(type="str", required=True),
            state=dict(type="str", default="present", choices=["present", "query", "rolled_back"]),
            rollback_to=dict(type="str"),
            release=dict(type="dict", options=RELEASE_SPEC),
            result=dict(type="str", default="in_progress", choices=["in_progress", "success", "failed", "rolled_back"]),
            keep=dict(type="int", default=10),
            path=dict(type="path", default="/var/lib/launchbay/releases"),
        ),
        required_if=[("state", "present", ["release"]), ("state", "rolled_back", ["rollback_to"])],
        supports_check_mode=True,
    )
    params = module.params
    try:
        ledger = ReleaseLedger(params["path"], params["app"])
        before = ledger.load()
        changed = False
        releases = before
        extra = {}
        if params["state"] == "present":
            changed, releases = ledger.record(params["release"], params["result"], params["keep"], module.check_mode)
        elif params["state"] == "rolled_back":
            changed, releases, extra["target"] = ledger.roll_back_to(params["rollback_to"], module.check_mode)
    except LedgerError as exc:
        module.fail_json(msg=str(exc))
    result = dict(extra, changed=changed, releases=releases, protected_images=ReleaseLedger.protected_images(releases, params["keep"]))
    result.update(ReleaseLedger.summary(releases))
    if changed:
        result["diff"] = dict(before={"releases": before}, after={"releases": releases})
    module.exit_json(**result)


if __name__ == "__main__":
    main()
