# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: address_scope
short_description: Whether an IP address is a loopback, private or public one
version_added: 0.2.0
description:
  - Returns V(loopback), V(private) (RFC 1918, shared address space 100.64.0.0/10 as used by
    WireGuard meshes such as Tailscale, link-local, IPv6 unique local), V(public), or V(invalid)
    for anything that is not an IP address (a host name is V(invalid), since a listener needs an address).
  - The monitoring role refuses an exporter listening on a public address.
options:
  _input:
    description: The address.
    type: str
    required: true
author: launchbay maintainers
"""

EXAMPLES = r"""
- name: Refuse a public scrape address
  ansible.builtin.assert:
    that: monitoring_scrape_address | launchbay.webstack.address_scope in ['loopback', 'private']
"""

RETURN = r"""
_value:
  description: V(loopback), V(private), V(public) or V(invalid).
  type: str
"""

import ipaddress

_SHARED = ipaddress.ip_network("100.64.0.0/10")


def address_scope(value):
    try:
        address = ipaddress.ip_address(str(value).strip("[]"))
    except ValueError:
        return "invalid"
    if address.is_loopback:
        return "loopback"
    if address.is_unspecified or address.is_multicast:
        return "invalid"
    if address.is_link_local or (address.version == 4 and address in _SHARED):
        return "private"
    if address.is_private and not address.is_global:
        return "private"
    return "public"


class FilterModule(object):
    def filters(self):
        return {"address_scope": address_scope}
