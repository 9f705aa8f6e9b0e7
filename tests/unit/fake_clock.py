# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fake clock the unit tests hand to bounded waits: reading it costs no time, sleeping
advances it at once (and is kept in `slept`), so a test of a 30 s timeout takes no 30 s."""

from __future__ import annotations


class Clock(object):
    def __init__(self, now=0.0):
        self.now = now
        self.slept = []

    def __call__(self):
        return self.now

    def time(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds
