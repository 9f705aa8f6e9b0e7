# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: availability_report
short_description: Each app's availability and error budget from Prometheus' answers
version_added: 0.2.0
description:
  - Takes the result of a Prometheus instant query giving each app's share of successful health probes
    over the window (a vector with the label C(app)), and optionally one giving each app's seconds of
    history within it, and returns per app its availability in percent, the error budget left against
    O(target), the days of history, and a sentence for status output.
  - The error budget is the share of failures the target allows (0.1% for 99.9%); what is left is
    100% minus the part failures used, negative when the target is missed.
positional: history, target, window
options:
  _input:
    description: The C(data.result) list of the availability query.
    type: list
    elements: dict
    required: true
  history:
    description: The C(data.result) list of the history query (seconds per app); empty when unknown.
    type: list
    elements: dict
    default: []
  target:
    description: Availability target in percent, below 100.
    type: float
    default: 99.9
  window:
    description: The window's name as shown, like C(30d).
    type: str
    default: 30d
author: launchbay maintainers
"""

EXAMPLES = r"""
- name: Report
  ansible.builtin.debug:
    msg: "{{ (ratios | launchbay.webstack.availability_report(history, 99.9, '30d')).shop.text }}"
"""

RETURN = r"""
_value:
  description: "App name to {availability, budget_left, history_days, text}."
  type: dict
"""

from ansible.errors import AnsibleFilterError


def availability_report(ratios, history=None, target=99.9, window="30d"):
    target = float(target)
    if not 0 < target < 100:
        raise AnsibleFilterError("availability_report: target must be a percentage below 100, got %r" % target)
    seconds = {}
    for row in history or []:
        seconds[row["metric"].get("app")] = float(row["value"][1])
    allowed = 1 - target / 100
    report = {}
    for row in ratios or []:
        app = row["metric"].get("app")
        ratio = float(row["value"][1])
        left = (1 - (1 - ratio) / allowed) * 100
        days = seconds.get(app, 0.0) / 86400
        span = "%.1f days" % days if days >= 1 else "%.1f hours" % (days * 24)
        report[app] = {
            "availability": round(ratio * 100, 3), "budget_left": round(left, 1), "history_days": round(days, 2),
            "text": "%.3f%% over %s (%s of history); error budget against %s%%: %.1f%% left%s" % (
                ratio * 100, window, span, ("%f" % target).rstrip("0").rstrip("."), left, " (EXHAUSTED)" if left < 0 else ""),
        }
    return report


class FilterModule(object):
    def filters(self):
        return {"availability_report": availability_report}
