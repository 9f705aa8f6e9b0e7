# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: mask_secret
short_description: Replace a secret value by a fixed mask
version_added: 0.1.0
description:
  - Returns a fixed mask in place of a secret, optionally keeping a short prefix so that
    operators can tell which credential is meant.
  - The prefix is only kept when the secret is at least four times as long as the prefix.
  - C(None) and empty strings give the mask as well, so the output never tells whether a secret is set.
  - Numbers and booleans are masked like strings; lists and dictionaries are refused (use
    P(launchbay.webstack.redact_mapping#filter)).
positional: prefix
options:
  _input:
    description: The secret.
    type: raw
    required: true
  prefix:
    description: Number of leading characters to keep (0 to 8).
    type: int
    default: 0
extends_documentation_fragment:
  - launchbay.webstack.mask
author: launchbay maintainers
"""

EXAMPLES = r"""
- name: Show which token is configured without showing it
  ansible.builtin.debug:
    msg: "Deploy token: {{ deploy_token | launchbay.webstack.mask_secret(4) }}"
  # "Deploy token: ghp_********"
"""

RETURN = r"""
_value:
  description: The mask, possibly after a short prefix of the secret.
  type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.launchbay.webstack.plugins.plugin_utils._masking import (
    DEFAULT_MASK,
    MaskingError,
    mask_value,
)


def mask_secret(value, prefix=0, mask=DEFAULT_MASK):
    try:
        return mask_value(value, prefix=prefix, mask=mask)
    except MaskingError as exc:
        raise AnsibleFilterError("mask_secret: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"mask_secret": mask_secret}
