#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: maintenance_mode
short_description: Put an app's domains in maintenance behind Traefik, or take them out
version_added: 0.2.0
description:
  - With O(state=on), writes a file for Traefik's file provider with one router per router of
    the app, in front of them (a higher priority), that sends the app's domains to the
    maintenance page server (the traefik role's, which answers 503 with Retry-After and a
    page), except the paths in O(except_paths) (the app's health check keeps reaching the app).
    ACME challenges are answered by Traefik before any router, so certificates still renew.
  - With O(state=off), removes that file; Traefik routes to the app again, without a restart.
  - Either way it waits, bounded by O(timeout), until Traefik's API shows the change, and says
    what it last saw when it does not.
  - The file's first line records since when maintenance is on; a second O(state=on) keeps it.
options:
  app:
    description: The app's name (the file is C(maintenance-APP.yml) in O(dynamic_dir)).
    type: str
    required: true
  state:
    description: V(on), V(off), or V(query) to report the state and change nothing.
    type: str
    choices: ["on", "off", query]
    default: "on"
  routers:
    description: The app's routers (the launchbay.webstack.traefik_routers filter's result).
    type: dict
    default: {}
  service:
    description: The maintenance page server's service in Traefik.
    type: str
    default: launchbay-maintenance@file
  except_paths:
    description: Path prefixes that keep reaching the app (its health check).
    type: list
    elements: str
    default: []
  dynamic_dir:
    description: Directory of Traefik's file provider on the host.
    type: path
    default: /etc/launchbay/traefik/dynamic
  api_url:
    description: Traefik's API on the host.
    type: str
    default: http://127.0.0.1:8099
  api_token_file:
    description: File with the API's bearer token (the traefik role's C(traefik_api_token_file)); empty to send none.
    type: path
    default: ""
  timeout:
    description: Seconds to wait for Traefik to show the change (and, with O(ready_urls), for them to answer).
    type: int
    default: 30
  ready_urls:
    description:
      - With O(state=off), URLs that must answer 200 before the page is lifted, like each replica's health path on
        its own address after a change under the running app (a database switched by a restore).
      - When one does not answer within O(timeout), the module fails and maintenance stays on.
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - launchbay.webstack.attributes
notes:
  - In check mode it reports what it would change and neither writes nor waits.
author:
  - launchbay maintainers (@launchbay)
"""

EXAMPLES = r"""
- name: Answer the shop's domains with the maintenance page
  launchbay.webstack.maintenance_mode:
    app: shop
    state: "on"
    routers: "{{ ['shop.example.com'] | launchbay.webstack.traefik_routers(name='shop', port=8000) }}"
    except_paths: [/health]
    api_token_file: /etc/launchbay/traefik/secrets/api-token

- name: Route to the app again
  launchbay.webstack.maintenance_mode:
    app: shop
    state: "off"
    api_token_file: /etc/launchbay/traefik/secrets/api-token
"""

RETURN = r"""
state:
  description: V(on) or V(off), after the run.
  returned: always
  type: str
since:
  description: When maintenance was turned on (UTC, ISO 8601); null when it is off.
  returned: always
  type: str
routers:
  description: The maintenance routers by name (Traefik's state of each, as last seen, after a wait).
  returned: always
  type: dict
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.launchbay.webstack.plugins.module_utils._health import http_status
from ansible_collections.launchbay.webstack.plugins.module_utils._maintenance import MaintenanceError, MaintenanceMode
from ansible_collections.launchbay.webstack.plugins.module_utils._traefik_api import TraefikAPI, TraefikAPIError


def main():
    module = AnsibleModule(
        argument_spec=dict(
            app=dict(type="str", required=True),
            state=dict(type="str", default="on", choices=["on", "off", "query"]),
            routers=dict(type="dict", default={}),
            service=dict(type="str", default="launchbay-maintenance@file"),
            except_paths=dict(type="list", elements="str", default=[]),
            dynamic_dir=dict(type="path", default="/etc/launchbay/traefik/dynamic"),
            api_url=dict(type="str", default="http://127.0.0.1:8099"),
            api_token_file=dict(type="path", default=""),
            timeout=dict(type="int", default=30),
            ready_urls=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    params = module.params
    path = os.path.join(params["dynamic_dir"], "maintenance-%s.yml" % params["app"])
    manager = MaintenanceMode(path, params["routers"], params["service"], params["except_paths"],
                              api=TraefikAPI(params["api_url"], params["api_token_file"]), timeout=params["timeout"],
                              ready_urls=params["ready_urls"], status=http_status)
    if params["state"] == "query":
        routers, since = manager.current()
        module.exit_json(changed=False, state="off" if routers is None else "on", since=since, routers=routers or {})
    try:
        result = manager.apply(params["state"], check_mode=module.check_mode)
    except (MaintenanceError, TraefikAPIError, OSError) as exc:
        module.fail_json(msg="maintenance %s for %s: %s" % (params["state"], params["app"], exc))
    before, after = result.pop("before"), result.pop("after")
    if result["changed"]:
        result["diff"] = dict(before="maintenance: %s\n" % before, after="maintenance: %s\n" % after,
                              before_header=path, after_header=path)
    result["routers"] = manager.seen or manager.routers
    module.exit_json(**result)


if __name__ == "__main__":
    main()
