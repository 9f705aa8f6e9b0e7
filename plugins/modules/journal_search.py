#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: journal_search
short_description: Search the logs the log host received, by host, container, app, time, text and request id
version_added: 0.2.0
description:
  - Runs C(journalctl) on the journals that systemd-journal-remote wrote on the log host and returns the
    matching lines, newest last, at most O(max_lines) of them.
  - Several values of one filter are alternatives; different filters must all match. O(text) matches in any
    case, O(request_id) exactly; with both, a line must hold both.
  - Reads only; the search ends after O(timeout) seconds and says so.
options:
  directory:
    description: Where the received journals are.
    type: path
    default: /var/log/journal/remote
  start:
    description: Start of the time window, in any form journalctl reads, like V(2026-11-24 10:00), V(-2h) or V(yesterday).
    type: str
  end:
    description: End of the time window, in the same forms as O(start).
    type: str
  hosts:
    description: Host names as the hosts report them (their C(hostname)).
    type: list
    elements: str
    default: []
  containers:
    description: Container names, like V(demo-web-1) or V(traefik).
    type: list
    elements: str
    default: []
  apps:
    description: App names (the containers' C(launchbay.app) label).
    type: list
    elements: str
    default: []
  text:
    description: Text each line must contain, in any case.
    type: str
  request_id:
    description: A request id each line must contain as written (the app and Traefik's access log both log it).
    type: str
  max_lines:
    description: At most this many lines, the newest.
    type: int
    default: 200
  timeout:
    description: Seconds the search may take.
    type: int
    default: 60
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - launchbay.webstack.attributes.read_only
notes:
  - Needs C(journalctl) and C(timeout) on the host it runs on (the log host), and read access to O(directory).
author:
  - launchbay maintainers (@launchbay)
"""

EXAMPLES = r"""
- name: Every line of one request, from the proxy and the app, on every host
  launchbay.webstack.journal_search:
    request_id: 6f1c2b0a9d8e4f7a
  delegate_to: "{{ groups['webstack_logs'][0] }}"
  become: true

- name: The app's errors of the last two hours
  launchbay.webstack.journal_search:
    apps: [shop]
    text: '"status": 500'
    start: -2h
"""

RETURN = r"""
lines:
  description: The matching lines as C(TIME HOST CONTAINER | MESSAGE), oldest first.
  returned: always
  type: list
  elements: str
entries:
  description: The same lines as fields.
  returned: always
  type: list
  elements: dict
  contains:
    time:
      description: When, in UTC as ISO 8601 with milliseconds.
      type: str
    host:
      description: The sending host's name.
      type: str
    container:
      description: The container (or the service) that wrote it.
      type: str
    app:
      description: The app of the container, or empty.
      type: str
    message:
      description: The line.
      type: str
truncated:
  description: Whether there may be more lines than returned (O(max_lines) reached).
  returned: always
  type: bool
command:
  description: The journalctl command that ran.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.launchbay.webstack.plugins.module_utils._journal import (
    SearchError, build_command, explain_failure, format_line, parse_entries)


class JournalSearch:
    """One search: the command, its run, and its lines."""

    def __init__(self, module):
        self.module = module
        self.params = module.params

    def run(self):
        params = self.params
        argv = build_command(params["directory"], since=params["start"], until=params["end"],
                             hosts=params["hosts"], containers=params["containers"], apps=params["apps"],
                             text=params["text"], request_id=params["request_id"],
                             max_lines=params["max_lines"], timeout=params["timeout"])
        rc, out, err = self.module.run_command(argv, environ_update={"LC_ALL": "C.UTF-8"})
        # journalctl --grep exits 1, saying nothing, when no line matches
        if rc != 0 and not (rc == 1 and not err.strip()):
            raise SearchError(explain_failure(rc, err, params["start"], params["end"], params["timeout"]))
        entries = parse_entries(out)
        return argv, entries


def main():
    module = AnsibleModule(
        argument_spec=dict(
            directory=dict(type="path", default="/var/log/journal/remote"),
            start=dict(type="str"),
            end=dict(type="str"),
            hosts=dict(type="list", elements="str", default=[]),
            containers=dict(type="list", elements="str", default=[]),
            apps=dict(type="list", elements="str", default=[]),
            text=dict(type="str"),
            request_id=dict(type="str"),
            max_lines=dict(type="int", default=200),
            timeout=dict(type="int", default=60),
        ),
        supports_check_mode=True,
    )
    try:
        argv, entries = JournalSearch(module).run()
    except SearchError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, command=argv, entries=entries, lines=[format_line(e) for e in entries],
                     truncated=len(entries) >= module.params["max_lines"])


if __name__ == "__main__":
    main()
