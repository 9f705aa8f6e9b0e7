# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: redact_url
short_description: Mask the password in a connection URL
version_added: 0.1.0
description:
  - Masks the password in the user information of a URL (C(postgresql://), C(redis://),
    C(https://user:pw@host), ...) and the values of query parameters whose names look secret
    (C(password), C(token), C(key), ...). Everything else is kept as it was.
  - A URL without credentials comes back unchanged; an empty string comes back empty.
  - Input that is not a URL with a scheme and a host, or that has a malformed port, raises an error.
options:
  _input:
    description: The URL.
    type: str
    required: true
extends_documentation_fragment:
  - launchbay.webstack.mask
author: launchbay maintainers
"""

EXAMPLES = r"""
- name: Say which database the app uses
  ansible.builtin.debug:
    msg: "Database: {{ app_database_url | launchbay.webstack.redact_url }}"
  # "Database: postgresql://app:********@db:5432/app"
"""

RETURN = r"""
_value:
  description: The URL with its password masked.
  type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.launchbay.webstack.plugins.plugin_utils._masking import (
    DEFAULT_MASK,
    MaskingError,
    redact_url as _redact_url,
)


def redact_url(url, mask=DEFAULT_MASK):
    try:
        return _redact_url(url, mask=mask)
    except MaskingError as exc:
        raise AnsibleFilterError("redact_url: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"redact_url": redact_url}
