# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: retention_plan
short_description: Which backups a daily and monthly retention policy keeps and deletes
version_added: 0.1.0
description:
  - Takes a list of backups (for example the objects listed in an S3 bucket) and returns which to
    keep and which to delete, newest first.
  - Kept are the newest backup of each of the O(daily) most recent days that have a backup, the
    newest of each of the O(monthly) most recent months that have one, and always the newest
    backup; each kept entry says why in C(reasons).
  - Times may be ISO 8601 strings (a missing zone means UTC), datetimes or epoch seconds.
options:
  _input:
    description: The backups, dicts with a name and a time.
    type: list
    elements: dict
    required: true
  daily:
    description: Days kept.
    type: int
    default: 30
  monthly:
    description: Months kept.
    type: int
    default: 12
  key:
    description: Key of a backup's name.
    type: str
    default: key
  time_key:
    description: Key of a backup's time.
    type: str
    default: last_modified
author: launchbay maintainers
"""

EXAMPLES = r"""
- name: Plan the retention of the daily dumps
  ansible.builtin.set_fact:
    retention: "{{ listed_objects | launchbay.webstack.retention_plan(daily=30, monthly=12) }}"
  # retention.delete | map(attribute='key') are the objects to remove
"""

RETURN = r"""
_value:
  description: C(keep) (each with C(reasons)) and C(delete), newest first.
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.launchbay.webstack.plugins.plugin_utils._retention import plan


def retention_plan(backups, daily=30, monthly=12, key="key", time_key="last_modified"):
    if not isinstance(backups, (list, tuple)):
        raise AnsibleFilterError("retention_plan: expects a list of backups, got %s" % type(backups).__name__)
    try:
        keep, delete = plan(backups, daily, monthly, key, time_key)
    except ValueError as exc:
        raise AnsibleFilterError("retention_plan: %s" % exc)
    return {"keep": keep, "delete": delete}


class FilterModule(object):
    def filters(self):
        return {"retention_plan": retention_plan}
