# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: backup_report
short_description: The JSON report of the backups role's tool, from a task result
version_added: 0.2.0
description:
  - >-
    The backup tool (C(launchbay_backup.py)) ends every command with one line, a JSON object
    (its report, or one with an C(error) key when it failed). This filter finds that line in a
    registered result of M(community.docker.docker_container_exec) (C(stdout)) or of
    M(community.docker.docker_container) (C(container.Output)), or in plain text.
  - Lines before it (warnings, progress) are skipped. No report gives an empty dictionary.
options:
  _input:
    description: A registered task result, or the text the tool printed.
    type: raw
    required: true
author: launchbay maintainers
"""

EXAMPLES = r"""
- name: Fail with the tool's reason
  ansible.builtin.fail:
    msg: "{{ (backup_run | launchbay.webstack.backup_report).error | default('no report') }}"
  when: backup_run.rc != 0
"""

RETURN = r"""
_value:
  description: The report (a dictionary), or C({}) when there is none.
  type: dict
"""

import json

from ansible.module_utils.common.text.converters import to_text


def _text_of(result):
    if isinstance(result, dict):
        container = result.get("container")
        if isinstance(container, dict) and container.get("Output"):
            return container["Output"]
        return result.get("stdout") or ""
    return "" if result is None else result


def backup_report(result):
    for line in reversed(to_text(_text_of(result)).splitlines()):
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            report = json.loads(line)
        except ValueError:
            continue
        if isinstance(report, dict):
            return report
    return {}


class FilterModule(object):
    def filters(self):
        return {"backup_report": backup_report}
