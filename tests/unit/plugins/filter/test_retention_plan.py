# -*- coding: utf-8 -*-
from __future__ import annotations

import datetime

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.launchbay.webstack.plugins.filter.retention_plan import retention_plan

UTC = datetime.timezone.utc


def daily_backups(days, start=datetime.datetime(2026, 11, 22, 2, 0, tzinfo=UTC), per_day=1):
    out = []
    for offset in range(days):
        for n in range(per_day):
            stamp = start - datetime.timedelta(days=offset, minutes=10 * n)
            out.append({"key": "dump-%s" % stamp.strftime("%Y%m%dT%H%M"), "last_modified": stamp.isoformat()})
    return out


def test_a_year_and_a_half_of_dailies_keeps_30_days_and_12_months():
    backups = daily_backups(550)
    result = retention_plan(backups, daily=30, monthly=12)
    kept = [b["key"] for b in result["keep"]]
    # 30 most recent days, plus the newest of each of the 12 most recent months (the two
    # months the dailies cover already have theirs among them)
    assert kept[:30] == [b["key"] for b in backups[:30]]
    months = sorted({b["key"][5:11] for b in result["keep"]}, reverse=True)
    assert len(months) == 12 and months[0] == "202611"
    assert len(kept) == 30 + 12 - 2
    assert len(result["keep"]) + len(result["delete"]) == 550
    # the monthly one is the newest of its month: the last day of that month
    october_2025 = [b for b in result["keep"] if b["key"].startswith("dump-202512")]
    assert october_2025 and october_2025[0]["key"].startswith("dump-20251231")


def test_several_backups_a_day_keep_only_the_newest_of_each_day():
    result = retention_plan(daily_backups(3, per_day=4), daily=30, monthly=0)
    assert [b["key"] for b in result["keep"]] == ["dump-20261122T0200", "dump-20261121T0200", "dump-20261120T0200"]
    assert len(result["delete"]) == 9


def test_the_newest_backup_is_always_kept_and_reasons_are_given():
    result = retention_plan(daily_backups(5), daily=0, monthly=0)
    assert [b["key"] for b in result["keep"]] == ["dump-20261122T0200"]
    assert result["keep"][0]["reasons"] == ["newest"]
    result = retention_plan(daily_backups(2), daily=1, monthly=1)
    assert result["keep"][0]["reasons"] == ["daily 2026-11-22", "monthly 2026-11", "newest"]


def test_times_in_several_forms_and_order_of_input_do_not_matter():
    backups = [
        {"key": "c", "last_modified": 1795312800},  # 2026-11-22T00:00:00Z as epoch
        {"key": "a", "last_modified": "2026-11-20T01:00:00Z"},
        {"key": "b", "last_modified": datetime.datetime(2026, 11, 21, 1, 0)},
    ]
    result = retention_plan(backups, daily=2, monthly=0)
    assert [b["key"] for b in result["keep"]] == ["c", "b"] and [b["key"] for b in result["delete"]] == ["a"]


def test_empty_list():
    assert retention_plan([]) == {"keep": [], "delete": []}


@pytest.mark.parametrize("backups, kwargs, message", [
    ("x", {}, "expects a list"),
    ([{"key": "a"}], {}, "every backup needs"),
    ([{"key": "a", "last_modified": "yesterday"}], {}, "Invalid isoformat"),
    ([], {"daily": -1}, "daily must be"),
    ([], {"monthly": True}, "monthly must be"),
])
def test_bad_input(backups, kwargs, message):
    with pytest.raises(AnsibleFilterError) as err:
        retention_plan(backups, **kwargs)
    assert str(err.value).startswith("retention_plan:") and message in str(err.value)
