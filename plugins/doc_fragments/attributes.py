# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    # What a module of this collection supports, beside ansible.builtin.action_common_attributes
    # (which describes each attribute). Modules that change state, with check and diff mode:
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    support: full
    platforms: posix
"""

    # Modules that only read (launchbay.webstack.attributes.read_only): nothing to diff.
    READ_ONLY = r"""
options: {}
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
    details: It only reads; it changes nothing.
  platform:
    support: full
    platforms: posix
"""
