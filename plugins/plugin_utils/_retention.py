# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which backups a daily/monthly retention policy keeps. Private: no API promise."""

from __future__ import annotations

import datetime


def _parse(value):
    """A datetime (aware, UTC) from an ISO 8601 string, a datetime or epoch seconds."""
    if isinstance(value, datetime.datetime):
        stamp = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        stamp = datetime.datetime.fromtimestamp(value, tz=datetime.timezone.utc)
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        stamp = datetime.datetime.fromisoformat(text)
    else:
        raise ValueError("not a timestamp: %r" % (value,))
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=datetime.timezone.utc)
    return stamp.astimezone(datetime.timezone.utc)


def plan(backups, daily=30, monthly=12, key="key", time_key="last_modified"):
    """Split `backups` (dicts with a name under `key` and a time under `time_key`) into
    (keep, delete), each newest first. Kept: the newest backup of each of the `daily` most
    recent days that have one, the newest of each of the `monthly` most recent months that
    have one, and always the newest backup. Every kept entry gets `reasons`."""
    if not isinstance(daily, int) or isinstance(daily, bool) or daily < 0:
        raise ValueError("daily must be a whole number >= 0, got %r" % (daily,))
    if not isinstance(monthly, int) or isinstance(monthly, bool) or monthly < 0:
        raise ValueError("monthly must be a whole number >= 0, got %r" % (monthly,))
    entries = []
    for backup in backups:
        if not isinstance(backup, dict) or key not in backup or time_key not in backup:
            raise ValueError("every backup needs %r and %r, got %r" % (key, time_key, backup))
        entries.append((_parse(backup[time_key]), backup))
    entries.sort(key=lambda item: item[0], reverse=True)
    reasons = {}
    seen_days, seen_months = [], []
    for stamp, backup in entries:
        day, month = stamp.strftime("%Y-%m-%d"), stamp.strftime("%Y-%m")
        if day not in seen_days:
            seen_days.append(day)
            if len(seen_days) <= daily:
                reasons.setdefault(backup[key], []).append("daily %s" % day)
        if month not in seen_months:
            seen_months.append(month)
            if len(seen_months) <= monthly:
                reasons.setdefault(backup[key], []).append("monthly %s" % month)
    if entries:
        reasons.setdefault(entries[0][1][key], []).append("newest")
    keep, delete = [], []
    for _stamp, backup in entries:
        if backup[key] in reasons:
            keep.append(dict(backup, reasons=reasons[backup[key]]))
        else:
            delete.append(backup)
    return keep, delete
