import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.launchbay.webstack.plugins.filter.migrate_sqlite_compare import migrate_sqlite_compare
from ansible_collections.launchbay.webstack.plugins.filter.migrate_sqlite_plan import migrate_sqlite_plan
from ansible_collections.launchbay.webstack.plugins.filter.sqlite_mount import sqlite_mount
from ansible_collections.launchbay.webstack.plugins.filter.table_digest_sql import FilterModule


def test_the_mount_that_holds_the_file():
    found = sqlite_mount("sqlite:////data/db/app.db", ["/srv/x:/data", "app_db:/data/db:rw", "other:/dat"])
    assert found == {"source": "app_db", "kind": "volume", "container_path": "/data/db", "relative": "app.db",
                     "path": "/data/db/app.db"}
    assert sqlite_mount("sqlite:////data/app.db", ["/srv/x:/data:ro"])["kind"] == "bind"


def test_a_file_no_mount_holds_is_refused():
    with pytest.raises(AnsibleFilterError, match="no entry of app_volumes holds /app/app.db"):
        sqlite_mount("sqlite:////app/app.db", ["app_data:/data"])
    with pytest.raises(AnsibleFilterError, match="must be sqlite:////absolute/path.db"):
        sqlite_mount("postgresql://u:p@h/db", ["app_data:/data"])


TABLES = [{"name": "customers", "columns": ["id", "name"]}, {"name": "orders", "columns": ["id", "customer_id"]},
          {"name": "order_s", "columns": ["id"]}, {"name": "Orderxs", "columns": ["id"]}]
PG = [{"table": t, "column": c, "type": "bigint"} for t, c in
      [("customers", "id"), ("customers", "name"), ("orders", "id"), ("orders", "customer_id"), ("order_s", "id"),
       ("Orderxs", "id")]]


def test_the_plan_keeps_the_foreign_key_order_and_pins_each_like_pattern():
    plan = migrate_sqlite_plan(TABLES, PG)
    assert plan["order"] == ["customers", "orders", "order_s", "Orderxs"] and plan["problems"] == []
    assert plan["columns"]["customers"] == [["id", "bigint"], ["name", "bigint"]]
    # SQLite's LIKE 'order_s' also matches Orderxs (_ is any character, case does not count)
    assert plan["patterns"]["order_s"] == {"include": "order_s", "exclude": ["Orderxs"]}
    assert plan["patterns"]["orders"]["exclude"] == []


def test_the_plan_names_what_exists_on_one_side_only():
    plan = migrate_sqlite_plan(TABLES[:3] + [{"name": "extra", "columns": ["id"]}],
                               PG[:2] + [{"table": "orders", "column": "id", "type": "bigint"},
                                         {"table": "pg_only", "column": "id", "type": "bigint"}])
    assert plan["problems"] == [
        "table orders: columns only in SQLite ['customer_id'], only in PostgreSQL []",
        "table order_s is in the SQLite file but the app's migrations did not create it in PostgreSQL",
        "table extra is in the SQLite file but the app's migrations did not create it in PostgreSQL",
        "table pg_only is in PostgreSQL but not in the SQLite file",
    ]
    assert plan["order"] == ["customers"]


def test_compare_names_each_difference_and_counts_new_rows():
    switch = {"a": {"rows": 10, "digest": "1"}, "b": {"rows": 5, "digest": "2"}, "c": {"rows": 1, "digest": "3"}}
    now = {"a": {"rows": 12, "digest": "9"}, "b": {"rows": 5, "digest": "7"}, "c": {"rows": 1, "digest": "3"}}
    found = migrate_sqlite_compare(switch, now, names=["at the switch", "now"])
    assert found == {"problems": ["a: 10 rows at the switch, 12 now", "b: the same 5 rows, different content"],
                     "changed": ["a", "b"], "new_rows": 2}
    assert migrate_sqlite_compare(switch, switch) == {"problems": [], "changed": [], "new_rows": 0}
    assert migrate_sqlite_compare({"x": {"rows": 1, "digest": "1"}}, {})["problems"] == ["x: only in SQLite"]


def test_the_digest_query_filter_is_registered():
    assert "json_build_object" in FilterModule().filters()["table_digest_sql"]({"t": [["id", "bigint"]]})
