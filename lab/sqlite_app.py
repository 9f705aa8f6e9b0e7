"""Fill the demo app's SQLite file (schema 3) with a known data set, for the migration's
tests and benchmark: every type the migration must carry (NULLs, booleans, dates,
timestamps, bytes, non-ASCII text) over tables with foreign keys.

    python3 lab/sqlite_app.py FILE [ROWS]     (ROWS in total, default 105000)

The file must exist with the app's schema (the app's migrate command made it). Rows are
inserted in one transaction; the same ROWS gives the same content every time.
deploy_vars() is the extra-vars file that deploys the local stack's demo app on SQLite."""

import hashlib
import sqlite3
import sys

NAMES = ["Zoë", "Jürgen", "Ærøskøbing", "Łukasz", "Søren", "Ñandú", "李雷", "Ольга", "O'Brien", 'say "hi"', "tab\there"]


DEPLOY_VARS = """
app_version: v3
app_volumes: ["%(volume)s:/data"]
app_secrets:
  DATABASE_URL: "sqlite:////data/app.db"
  SECRET_KEY: "{{ lookup('ansible.builtin.password', _local_secrets ~ '/app_secret_key', length=48, chars=['ascii_letters', 'digits']) }}"
postgres_databases: [{name: %(database)s}]
migrate_sqlite_database_url: >-
  {{ {'user': postgres_initial_user, 'password': postgres_initial_user_password, 'host': 'launchbay_postgres',
      'database': '%(database)s'} | launchbay.webstack.database_url }}
migrate_sqlite_pgloader_image: launchbay-lab/pgloader:bookworm
"""


def deploy_vars(volume, database):
    """Extra vars: the local inventory's demo app (v3) on SQLite in `volume`, to move to `database`."""
    return DEPLOY_VARS % {"volume": volume, "database": database}


def shares(total):
    """customers, orders, attachments, records out of `total` rows."""
    customers = max(total // 10, 1)
    orders = total * 6 // 10
    attachments = total * 2 // 10
    return customers, orders, attachments, total - customers - orders - attachments


def fill(path, total=105000):
    customers, orders, attachments, records = shares(total)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO customers (id, name, email, vip, born, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (
            (
                i,
                "%s %d" % (NAMES[i % len(NAMES)], i),
                None if i % 7 == 0 else "c%d@example.invalid" % i,
                1 if i % 5 == 0 else 0,
                None if i % 3 == 0 else "19%02d-%02d-%02d" % (50 + i % 50, 1 + i % 12, 1 + i % 28),
                "2025-%02d-%02d %02d:%02d:%02d" % (1 + i % 12, 1 + i % 28, i % 24, i % 60, (i * 7) % 60),
            )
            for i in range(1, customers + 1)
        ),
    )
    conn.executemany(
        "INSERT INTO orders (id, customer_id, total_cents, paid, note, placed_at) VALUES (?, ?, ?, ?, ?, ?)",
        (
            (
                i,
                1 + i % customers,
                (i * 137) % 100000,
                None if i % 4 == 0 else i % 2,
                None if i % 3 else "Lieferung für %s — ½ kg ✓" % NAMES[i % len(NAMES)],
                "2026-%02d-%02d %02d:%02d:%02d.%06d" % (1 + i % 12, 1 + i % 28, i % 24, i % 60, i % 60, (i * 7919) % 1000000),
            )
            for i in range(1, orders + 1)
        ),
    )
    conn.executemany(
        "INSERT INTO attachments (id, order_id, name, body) VALUES (?, ?, ?, ?)",
        (
            (i, 1 + i % orders, "file-%d.bin" % i, None if i % 6 == 0 else hashlib.sha256(b"%d" % i).digest() + bytes([0, 255, i % 256]))
            for i in range(1, attachments + 1)
        ),
    )
    conn.executemany(
        "INSERT INTO records (note, tag) VALUES (?, ?)",
        (("record %d — %s" % (i, NAMES[i % len(NAMES)]), "t%d" % (i % 10)) for i in range(records)),
    )
    conn.execute("COMMIT")
    conn.close()
    return {"customers": customers, "orders": orders, "attachments": attachments, "records": records}


if __name__ == "__main__":
    print(fill(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 105000))
