#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: release_watch
short_description: Watch a new release's errors and latency through the proxy for a while after a deploy
version_added: 0.2.0
description:
  - Reads Traefik's metrics of the app's service from Prometheus every O(interval) seconds for O(seconds)
    seconds after a deploy, over the time since the watch began (requests, 5xx answers and the 95th percentile
    latency).
  - Fails as soon as the share of 5xx answers passes O(error_ratio_max) or the latency passes
    O(latency_p95_max_seconds), once at least O(min_requests) requests were answered; the deploy playbook then
    rolls the release back. With fewer requests it passes and says so.
  - Bounded. It ends at the window's end, at once on a verdict, or when Prometheus stops answering for three
    intervals (saying why).
options:
  prometheus_url:
    description: Prometheus' base URL, as the host the module runs on reaches it.
    type: str
    default: http://127.0.0.1:9090
  service:
    description: The app's service as Traefik names it in its metrics, like C(shop@file).
    type: str
    required: true
  seconds:
    description: Length of the watch window.
    type: int
    default: 180
  interval:
    description: Seconds between two readings.
    type: int
    default: 10
  min_window:
    description: Shortest range the queries read, in seconds (at least two scrapes of Traefik).
    type: int
    default: 30
  error_ratio_max:
    description: Share of 5xx answers (0 to 1) that fails the release.
    type: float
    default: 0.05
  latency_p95_max_seconds:
    description: 95th percentile latency, in seconds, that fails the release.
    type: float
    default: 1.5
  min_requests:
    description: Requests needed before a verdict.
    type: int
    default: 20
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - launchbay.webstack.attributes.read_only
notes:
  - It only reads; in check mode it returns at once without watching.
author:
  - launchbay maintainers (@launchbay)
"""

EXAMPLES = r"""
- name: Watch the new release for three minutes
  launchbay.webstack.release_watch:
    service: shop@file
    seconds: 180
  delegate_to: "{{ groups['webstack_monitoring'][0] }}"
  run_once: true
"""

RETURN = r"""
requests:
  description: Requests answered through the proxy during the watch.
  returned: always
  type: float
errors:
  description: Of them, 5xx answers.
  returned: always
  type: float
latency_p95:
  description: 95th percentile latency in seconds (null without requests).
  returned: always
  type: float
watched:
  description: Seconds watched.
  returned: always
  type: float
verdict:
  description: What the watch concluded, in a sentence.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.launchbay.webstack.plugins.module_utils._release_watch import (
    ReleaseWatch, WatchError, prometheus_query)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            prometheus_url=dict(type="str", default="http://127.0.0.1:9090"),
            service=dict(type="str", required=True),
            seconds=dict(type="int", default=180),
            interval=dict(type="int", default=10),
            min_window=dict(type="int", default=30),
            error_ratio_max=dict(type="float", default=0.05),
            latency_p95_max_seconds=dict(type="float", default=1.5),
            min_requests=dict(type="int", default=20),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if module.check_mode:
        module.exit_json(changed=False, requests=0, errors=0, latency_p95=None, watched=0, verdict="not watched in check mode")
    if p["seconds"] < 0 or p["interval"] < 1:
        module.fail_json(msg="seconds must be 0 or more and interval at least 1")
    watch = ReleaseWatch(lambda q: prometheus_query(p["prometheus_url"], q), p["service"], p["seconds"], p["interval"],
                         p["error_ratio_max"], p["latency_p95_max_seconds"], p["min_requests"], p["min_window"])
    try:
        reason, figures, watched = watch.run()
    except WatchError as exc:
        module.fail_json(msg=str(exc))
    requests, errors = figures.get("requests") or 0, figures.get("errors") or 0
    result = dict(changed=False, requests=requests, errors=errors, latency_p95=figures.get("latency_p95"), watched=watched)
    if reason:
        module.fail_json(msg="the new release failed its watch after %s s: %s" % (watched, reason),
                         verdict=reason, **result)
    if requests < p["min_requests"]:
        verdict = "too few requests to judge (%d in %s s, %d needed): no failure seen" % (round(requests), watched, p["min_requests"])
    else:
        verdict = "%d requests in %s s, %.2f%% answered 5xx, 95%% within %s s" % (
            round(requests), watched, errors * 100.0 / requests,
            "%.3f" % figures["latency_p95"] if figures.get("latency_p95") is not None else "?")
    module.exit_json(verdict=verdict, **result)


if __name__ == "__main__":
    main()
