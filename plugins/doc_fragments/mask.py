# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    # The masking filters' common option (plugin_utils/_masking.py DEFAULT_MASK).
    DOCUMENTATION = r"""
options:
  mask:
    description: The text that replaces each secret.
    type: str
    default: "********"
"""
