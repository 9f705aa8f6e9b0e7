#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: deploy_lock
short_description: Take, release or break the deploy lock of an environment
version_added: 0.1.0
description:
  - Keeps one lock file per environment on the host it runs on (run it once per play with
    C(run_once) on the same host every time, for example the first host of the inventory).
  - The lock records who holds it, why, since when, and its time to live (TTL).
  - A second run fails at once naming the holder, or waits up to O(wait_timeout) when asked.
  - The holder renews the lock (O(state=renewed)) while its run is alive; a lock not renewed
    within its TTL is stale. It is only broken when O(break_stale=true), and the broken lock is
    returned. Every read-decide-write holds an exclusive C(flock) of a guard file beside the
    lock, so two runs breaking the same stale lock cannot both hold it.
  - An empty or torn lock file counts as held by an unknown owner and is stale 60 seconds after
    it was last written.
  - The run's ansible-playbook process can be recorded (O(controller)). A later run on the same
    controller that finds that process gone (P(launchbay.webstack.controller_run_gone#filter))
    takes the lock over at once with O(break_dead), without waiting for the TTL.
  - The same O(token) may acquire again without a change, so one run can take the lock in
    several plays and release it once.
options:
  name:
    description: Environment (lock) name, like C(production).
    type: str
    required: true
  state:
    description:
      - V(acquired) takes the lock, V(renewed) says the holder is alive (fails when this run no
        longer holds it), V(released) gives it back (only the holder, unless O(force)),
        V(broken) removes it whoever holds it, V(query) only reads it.
    type: str
    choices: [acquired, renewed, released, broken, query]
    default: acquired
  owner:
    description: Who deploys, shown to others (user, CI job, AWX job id).
    type: str
    default: unknown
  token:
    description: Identifies this run; defaults to O(owner).
    type: str
  reason:
    description: Why, shown to others.
    type: str
    default: ""
  ttl:
    description: Seconds after which a lock not renewed counts as stale.
    type: int
    default: 3600
  wait_timeout:
    description: Seconds to wait for a held lock, with backoff; 0 fails at once.
    type: int
    default: 0
  break_stale:
    description: Take over a stale lock.
    type: bool
    default: false
  controller:
    description:
      - The ansible-playbook process of this run, from P(launchbay.webstack.controller_run#lookup),
        recorded in the lock with V(state=acquired).
    type: dict
  break_dead:
    description:
      - The recorded O(controller) of a run the caller found gone. With V(state=acquired), the
        lock is taken over, stale or not, if that run still holds it; held by any other run, it is
        refused as usual.
    type: dict
  force:
    description: With O(state=released), release a lock held by another run.
    type: bool
    default: false
  path:
    description: Directory of the lock files (created with mode 0700).
    type: path
    default: /var/lib/launchbay/locks
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - launchbay.webstack.attributes
author:
  - launchbay maintainers (@launchbay)
"""

EXAMPLES = r"""
- name: Take the deploy lock
  launchbay.webstack.deploy_lock:
    name: production
    owner: "{{ lookup('ansible.builtin.env', 'USER') }} (CI run {{ lookup('ansible.builtin.env', 'CI_PIPELINE_ID', default='-') }})"
    token: "{{ deploy_run_id }}"
    reason: "deploy {{ app_version }}"
    wait_timeout: 300
  run_once: true
  delegate_to: "{{ groups['webstack'] | first }}"

- name: Renew it at each step of a long run
  launchbay.webstack.deploy_lock:
    name: production
    token: "{{ deploy_run_id }}"
    state: renewed
  run_once: true
  delegate_to: "{{ groups['webstack'] | first }}"

- name: Release it
  launchbay.webstack.deploy_lock:
    name: production
    token: "{{ deploy_run_id }}"
    state: released
  run_once: true
  delegate_to: "{{ groups['webstack'] | first }}"
"""

RETURN = r"""
lock:
  description: The lock after the call (acquired), or the lock that was released or broken.
  returned: always
  type: dict
  contains:
    owner: {description: Who holds it., type: str}
    reason: {description: Why., type: str}
    acquired_at: {description: Epoch seconds., type: float}
    renewed_at: {description: Epoch seconds of the last renewal (absent before the first)., type: float}
    ttl: {description: Seconds until stale., type: int}
    host: {description: Host that keeps the lock file., type: str}
    controller:
      description: The holder's ansible-playbook process (O(controller)), when recorded.
      type: dict
stale:
  description: Whether the lock is older than its TTL.
  returned: when state=query
  type: bool
broken:
  description:
    - The lock that was broken to acquire, if any; its C(broken_because) is V(stale) or V(gone)
      (O(break_dead)).
  returned: when state=acquired
  type: dict
waited:
  description: Seconds spent waiting for the lock.
  returned: when state=acquired
  type: float
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.launchbay.webstack.plugins.module_utils._deploy_lock import DeployLock, LockError


def public(lock):
    """The lock without the run token (a token lets its holder release the lock)."""
    if not lock:
        return lock
    return dict((k, v) for k, v in lock.items() if k != "token")


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            state=dict(type="str", default="acquired", choices=["acquired", "renewed", "released", "broken", "query"]),
            owner=dict(type="str", default="unknown"),
            token=dict(type="str", no_log=False),
            reason=dict(type="str", default=""),
            ttl=dict(type="int", default=3600),
            wait_timeout=dict(type="int", default=0),
            break_stale=dict(type="bool", default=False),
            controller=dict(type="dict"),
            break_dead=dict(type="dict"),
            force=dict(type="bool", default=False),
            path=dict(type="path", default="/var/lib/launchbay/locks"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if params["ttl"] < 1 or params["wait_timeout"] < 0:
        module.fail_json(msg="ttl must be at least 1 and wait_timeout at least 0")
    token = params["token"] or params["owner"]
    try:
        lock = DeployLock(params["path"], params["name"])
        if params["state"] == "acquired":
            changed, record, broken, waited = lock.acquire(
                params["owner"], token, params["reason"], params["ttl"], params["wait_timeout"],
                params["break_stale"], module.check_mode, params["controller"], params["break_dead"],
            )
            result = dict(changed=changed, lock=public(record), broken=public(broken), waited=round(waited, 1))
            result["diff"] = dict(before=(public(broken) or {}) if changed else public(record), after=public(record))
        elif params["state"] == "query":
            holder = lock.read()
            result = dict(changed=False, lock=public(holder), stale=bool(holder) and lock.is_stale(holder))
        elif params["state"] == "renewed":
            changed, record = lock.renew(token, module.check_mode)
            result = dict(changed=changed, lock=public(record))
        elif params["state"] == "released":
            changed, previous = lock.release(token, params["force"], module.check_mode)
            result = dict(changed=changed, lock=public(previous), diff=dict(before=public(previous) or {}, after={}))
        else:
            changed, previous = lock.break_lock(module.check_mode)
            result = dict(changed=changed, lock=public(previous), diff=dict(before=public(previous) or {}, after={}))
    except LockError as exc:
        module.fail_json(msg=str(exc), lock=public(exc.holder))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
