# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: unknown_variables
short_description: Variables that carry a role's prefix but that no role knows, with the nearest known name
version_added: 0.2.0
description:
  - Compares variable names with the options of the roles' argument specs (C(meta/argument_specs.yml)).
  - A name that starts with one of O(prefixes) but is no option of any spec and not in O(known) is returned,
    with the known name closest to it (a misspelling such as C(app_replica) for C(app_replicas)), or null.
options:
  _input:
    description: The variable names to check (for example C(vars.keys())).
    type: list
    elements: str
    required: true
  specs:
    description: The roles' argument specs, each the parsed content of a C(meta/argument_specs.yml).
    type: list
    elements: dict
    required: true
  prefixes:
    description: The prefixes that mark a role's variables, like C(app_).
    type: list
    elements: str
    required: true
  known:
    description: Other names that are right (public facts, inventory helpers).
    type: list
    elements: str
    default: []
author: launchbay maintainers
"""

EXAMPLES = r"""
- name: Warn about misspelt role variables
  ansible.builtin.debug:
    msg: "{{ vars.keys() | launchbay.webstack.unknown_variables(specs=[app_spec], prefixes=['app_']) }}"
"""

RETURN = r"""
_value:
  description: One C({name, nearest}) per unknown name, sorted by name.
  type: list
  elements: dict
"""

import difflib

from ansible.errors import AnsibleFilterError


def known_options(specs):
    known = set()
    for spec in specs:
        if not isinstance(spec, dict) or not isinstance(spec.get("argument_specs"), dict):
            raise AnsibleFilterError("unknown_variables: each spec must be the content of a meta/argument_specs.yml")
        for entry in spec["argument_specs"].values():
            known.update((entry or {}).get("options") or {})
    return known


def unknown_variables(names, specs, prefixes, known=None):
    options = known_options(specs) | set(known or [])
    candidates = sorted(options)
    found = []
    for name in sorted(set(names)):
        if not name.startswith(tuple(prefixes)) or name in options:
            continue
        nearest = difflib.get_close_matches(name, candidates, n=1, cutoff=0.75)
        found.append({"name": name, "nearest": nearest[0] if nearest else None})
    return found


class FilterModule(object):
    def filters(self):
        return {"unknown_variables": unknown_variables}
