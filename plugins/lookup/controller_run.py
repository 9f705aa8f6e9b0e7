# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: controller_run
short_description: The ansible-playbook process of this run, as the deploy lock records it
version_added: 0.4.0
description:
  - Returns the kernel's boot id, the PID namespace, the PID and the start time of the
    ansible-playbook process running this lookup, read from C(/proc) on the controller.
  - M(launchbay.webstack.deploy_lock) records it (O(launchbay.webstack.deploy_lock#module:controller)), so that a
    later run on the same controller can tell, with P(launchbay.webstack.controller_run_gone#filter), that the
    run holding the lock is gone.
  - Returns C(None) where C(/proc) does not tell (a controller that is not Linux).
options: {}
author:
  - launchbay maintainers (@launchbay)
"""

EXAMPLES = r"""
- name: Name this run
  ansible.builtin.set_fact:
    run_controller: "{{ lookup('launchbay.webstack.controller_run') }}"
"""

RETURN = r"""
_raw:
  description: One mapping (C(boot_id), C(pid_namespace), C(pid), C(started)), or C(None).
  type: list
  elements: dict
"""

from ansible.plugins.lookup import LookupBase

from ansible_collections.launchbay.webstack.plugins.plugin_utils._controller_run import identity, playbook_pid


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        return [identity(playbook_pid())]
