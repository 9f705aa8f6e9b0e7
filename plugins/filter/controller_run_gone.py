# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: controller_run_gone
short_description: Whether the run that recorded this controller process is provably gone
version_added: 0.4.0
description:
  - Takes what P(launchbay.webstack.controller_run#lookup) returned for an earlier run (the deploy
    lock keeps it) and says V(true) only when that run's ansible-playbook ran on this controller,
    in this boot and this PID namespace, and no process with its PID and start time runs any more.
  - Says V(false) when the process still runs, and whenever it cannot be sure (another machine or
    container, a reboot since, a record without these fields).
options:
  _input:
    description: The recorded process (C(boot_id), C(pid_namespace), C(pid), C(started)).
    type: dict
    required: true
author: launchbay maintainers
"""

EXAMPLES = r"""
- name: Take over the lock of a run that died on this controller
  launchbay.webstack.deploy_lock:
    name: production
    break_dead: "{{ found.lock.controller }}"
  when: found.lock.controller | default(none) | launchbay.webstack.controller_run_gone
"""

RETURN = r"""
_value:
  description: V(true) when that run is gone for sure.
  type: bool
"""

from ansible_collections.launchbay.webstack.plugins.plugin_utils._controller_run import is_gone


def controller_run_gone(record):
    return is_gone(record)


class FilterModule(object):
    def filters(self):
        return {"controller_run_gone": controller_run_gone}
