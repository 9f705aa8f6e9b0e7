# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: role_inputs
short_description: Digests of everything a role of this collection depends on
version_added: 0.3.0
description:
  - For each role named, the SHA-256 digest of the value (templated) of every variable the role's
    files mention (tasks, templates, defaults, vars, handlers) that is defined for the host, and one
    digest, C(code:ROLE), of the role's own files and the collection's plugins.
  - Left out, because they change from run to run without changing what the role does or are not
    inputs, are V(hostvars), V(vars), V(omit), every name that starts with C(ansible_) or C(run_),
    the host's facts, and what any role of this collection sets (C(register) and C(set_fact) names); pass
    host facts a role depends on yourself (combine them into the result).
  - The result feeds M(launchbay.webstack.converged), which keeps only keyed digests; values never
    leave the controller.
options:
  _terms:
    description: Role names of this collection.
    required: true
    type: list
    elements: str
  files:
    description:
      - Files on the controller the roles copy to hosts (a page, a certificate); the digest of each
        one's content is added as C(file:PATH). Found like the copy module's O(ansible.builtin.copy#module:src).
    type: list
    elements: str
    default: []
author:
  - launchbay maintainers (@launchbay)
"""

EXAMPLES = r"""
- name: Digests of what the traefik role depends on, your maintenance page included
  ansible.builtin.set_fact:
    traefik_inputs: "{{ lookup('launchbay.webstack.role_inputs', 'traefik', files=['files/maintenance.html']) }}"
  no_log: true
"""

RETURN = r"""
_raw:
  description: One mapping, from each variable's name (and C(code:ROLE)) to a SHA-256 digest.
  type: list
  elements: dict
"""

import functools
import hashlib
import json
import os
import re

import yaml

from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase

COLLECTION = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCANNED = ("tasks", "templates", "defaults", "vars", "handlers")
NAME = re.compile(r"\b[a-z][a-z0-9_]*\b")
# the play's own magic variables, which say nothing about what a role does
LEFT_OUT = frozenset(("hostvars", "vars", "omit", "play_hosts", "inventory_dir", "inventory_file", "playbook_dir",
                      "role_path", "role_name", "role_names", "item", "gather_subset", "gather_timeout"))


def _files(top):
    for folder, dirs, names in os.walk(top):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(names):
            if not name.endswith((".pyc", ".pyo")):
                yield os.path.join(folder, name)


def _set_names(tasks):
    """The names a list of tasks registers or sets as facts (blocks included)."""
    names = set()
    for task in tasks if isinstance(tasks, list) else []:
        if not isinstance(task, dict):
            continue
        if isinstance(task.get("register"), str):
            names.add(task["register"])
        for key in ("ansible.builtin.set_fact", "set_fact"):
            if isinstance(task.get(key), dict):
                names.update(k for k in task[key] if k != "cacheable")
        for key in ("block", "rescue", "always"):
            names |= _set_names(task.get(key))
    return names


@functools.lru_cache(maxsize=None)
def role_code(role):
    """(digest of the role's files and the plugins, the names the role's files mention, the
    names its tasks set)."""
    top = os.path.join(COLLECTION, "roles", role)
    if not os.path.isdir(top):
        raise AnsibleError("role_inputs: %s is not a role of this collection (no %s)" % (role, top))
    digest = hashlib.sha256()
    names, outputs = set(), set()
    for path in list(_files(top)) + list(_files(os.path.join(COLLECTION, "plugins"))):
        with open(path, "rb") as handle:
            data = handle.read()
        digest.update(os.path.relpath(path, COLLECTION).encode("utf-8") + b"\0" + data + b"\0")
        if path.startswith(top + os.sep) and os.path.relpath(path, top).split(os.sep)[0] in SCANNED:
            names.update(NAME.findall(data.decode("utf-8", "replace")))
            if path.endswith((".yml", ".yaml")) and os.path.relpath(path, top).startswith(("tasks", "handlers")):
                try:
                    outputs |= _set_names(yaml.safe_load(data))
                except yaml.YAMLError:
                    pass
    return digest.hexdigest(), frozenset(names), frozenset(outputs)


@functools.lru_cache(maxsize=None)
def collection_outputs():
    """What every role of the collection registers or sets as facts (one role's output, such as
    postgres_server_changed, is not an input of the next one)."""
    outputs = set()
    for role in sorted(os.listdir(os.path.join(COLLECTION, "roles"))):
        if os.path.isdir(os.path.join(COLLECTION, "roles", role, "tasks")):
            outputs |= role_code(role)[2]
    return frozenset(outputs)


def digest_of(value, omit_token=None):
    text = json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    if omit_token:
        text = text.replace(omit_token, "<omit>")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def left_out(name):
    return name in LEFT_OUT or name.startswith(("ansible_", "run_"))


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        variables = variables or {}
        omit_token = variables.get("omit")
        facts = variables.get("ansible_facts") or {}
        result = {}
        for path in self.get_option("files"):
            found = self.find_file_in_search_path(variables, "files", path)
            if not found:
                raise AnsibleError("role_inputs: the file %s was not found on the controller" % path)
            with open(found, "rb") as handle:
                result["file:%s" % path] = hashlib.sha256(handle.read()).hexdigest()
        for role in terms:
            code, names, _outputs = role_code(role)
            result["code:%s" % role] = code
            for name in sorted(names - collection_outputs()):
                if name in result or left_out(name) or name not in variables or name in facts:
                    continue
                try:
                    value = self._templar.template(variables[name])
                except Exception as exc:  # pylint: disable=broad-except
                    value = "<cannot be templated: %s>" % type(exc).__name__
                result[name] = digest_of(value, omit_token)
        return [result]
