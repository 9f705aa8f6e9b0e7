#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: alertmanager_silence
short_description: Silence alerts in Alertmanager during planned work, and lift the silence
version_added: 0.2.0
description:
  - Sets a silence through Alertmanager's API v2 for alerts with the given labels (maintenance mode,
    a restore's switch), so planned downtime pages nobody; O(state=absent) expires it when the work ends.
  - The silence is found again by its O(created_by), O(comment) and O(matchers), so a second run with
    the same ones changes nothing, and the one that lifts it needs no id.
  - A silence always ends by itself after O(duration), even when the work that set it never lifts it.
options:
  url:
    description: Alertmanager's base URL, as the host the module runs on reaches it.
    type: str
    default: http://127.0.0.1:9093
  matchers:
    description: "Labels and values an alert must all have to be silenced (equality), like C({app: shop})."
    type: dict
    required: true
  comment:
    description: Why; shown in Alertmanager and used to find the silence again.
    type: str
    required: true
  created_by:
    description: Who set it; used to find the silence again.
    type: str
    default: launchbay.webstack
  duration:
    description: How long the silence lasts at most, like V(30m), V(2h) or V(1d).
    type: str
    default: 2h
  state:
    description: V(present) sets the silence unless a live one is there; V(absent) expires it.
    type: str
    choices: [present, absent]
    default: present
  timeout:
    description: Seconds each API request may take.
    type: int
    default: 10
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - launchbay.webstack.attributes
attributes:
  diff_mode:
    support: none
    details: The result lists the silences set or expired.
author:
  - launchbay maintainers (@launchbay)
"""

EXAMPLES = r"""
- name: Page nobody about the shop during its maintenance
  launchbay.webstack.alertmanager_silence:
    matchers: {app: shop}
    comment: maintenance of shop
    duration: 2h
  delegate_to: "{{ groups['webstack_monitoring'][0] }}"

- name: Lift the silence
  launchbay.webstack.alertmanager_silence:
    matchers: {app: shop}
    comment: maintenance of shop
    state: absent
  delegate_to: "{{ groups['webstack_monitoring'][0] }}"
"""

RETURN = r"""
silences:
  description: Ids of the silence set or found (present), or of those expired (absent).
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.launchbay.webstack.plugins.module_utils._alertmanager import (
    AlertmanagerError, Silences, http_json, parse_duration)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type="str", default="http://127.0.0.1:9093"),
            matchers=dict(type="dict", required=True),
            comment=dict(type="str", required=True),
            created_by=dict(type="str", default="launchbay.webstack"),
            duration=dict(type="str", default="2h"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            timeout=dict(type="int", default=10),
        ),
        supports_check_mode=True,
    )
    params = module.params
    timeout = params["timeout"]

    def request(method, url, body=None):
        return http_json(method, url, body, timeout=timeout)

    try:
        parse_duration(params["duration"])
        silences = Silences(params["url"], params["created_by"], request=request)
        changed, ids = silences.ensure(params["matchers"], params["comment"], params["duration"], params["state"],
                                       check_mode=module.check_mode)
    except AlertmanagerError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=changed, silences=ids)


if __name__ == "__main__":
    main()
