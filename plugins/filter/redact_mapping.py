# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: redact_mapping
short_description: Mask secrets anywhere in a nested structure
version_added: 0.1.0
description:
  - Walks dictionaries and lists recursively (environment dictionaries, module results,
    C(docker inspect) output) and masks
  - the value of every key that matches one of O(patterns), whatever that value is;
  - C(KEY=value) strings whose key matches (as in C(Config.Env) of C(docker inspect));
  - every occurrence of a known secret from O(secrets), also inside longer strings;
  - the password of any C(scheme://user:password@) URL inside a string.
  - Strings are treated the same way when given alone, so command output can be passed in.
options:
  _input:
    description: The structure or text.
    type: raw
    required: true
  patterns:
    description: Regular expressions matched case-insensitively against keys.
    type: list
    elements: str
    default: [password, passwd, passphrase, secret, token, key, dsn, credential, auth, cookie, private, cert_pass]
  secrets:
    description: Known secret values to mask wherever they appear.
    type: list
    elements: raw
    default: []
extends_documentation_fragment:
  - launchbay.webstack.mask
author: launchbay maintainers
"""

EXAMPLES = r"""
- name: Show the container's environment without its secrets
  ansible.builtin.debug:
    msg: "{{ inspect.container.Config.Env | launchbay.webstack.redact_mapping(secrets=[app_secret_key]) }}"

- name: Show a failed command's output safely
  ansible.builtin.fail:
    msg: "{{ result.stderr | launchbay.webstack.redact_mapping(secrets=app_secrets.values() | list) }}"
"""

RETURN = r"""
_value:
  description: A copy of the input with every secret masked.
  type: raw
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.launchbay.webstack.plugins.plugin_utils._masking import (
    DEFAULT_MASK,
    MaskingError,
    redact_structure,
)


def redact_mapping(data, patterns=None, secrets=None, mask=DEFAULT_MASK):
    try:
        return redact_structure(data, patterns=patterns, secrets=secrets, mask=mask)
    except MaskingError as exc:
        raise AnsibleFilterError("redact_mapping: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"redact_mapping": redact_mapping}
