# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PostgreSQL through psql: row counts taken in a snapshot, the databases of a server, new
databases (with the live one's privileges and settings), checks, and throwaway servers."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time

from .config import BackupError

COUNTS_SQL = r"""
SELECT format('SELECT %L, count(*) FROM %I.%I', n.nspname || '.' || c.relname, n.nspname, c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
 ORDER BY 1 \gexec
"""


def psql(args, sql=None, env=None, timeout=600):
    res = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"] + args, input=sql,
                         capture_output=True, encoding="utf-8", errors="replace", env=env, timeout=timeout, check=False)
    if res.returncode != 0:
        raise BackupError("psql failed: %s" % res.stderr.strip()[-800:])
    return res.stdout


def parse_counts(text):
    counts = {}
    for line in text.splitlines():
        if "|" in line:
            table, _sep, number = line.rpartition("|")
            counts[table] = int(number)
    return counts


def row_counts(conn_args, env=None, snapshot=None):
    head = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\n"
    if snapshot:
        head += "SET TRANSACTION SNAPSHOT '%s';\n" % snapshot
    return parse_counts(psql(conn_args, head + COUNTS_SQL + "COMMIT;\n", env=env))


def server_databases(cfg, conn_args):
    names = psql(conn_args + ["-d", "postgres", "-c",
                              "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate "
                              "AND datname <> 'postgres' ORDER BY 1"]).split()
    if cfg.databases:
        missing = sorted(set(cfg.databases) - set(names))
        if missing:
            raise BackupError("databases to back up do not exist: %s" % ", ".join(missing))
        names = list(cfg.databases)
    return [n for n in names if n not in cfg.exclude and not re.search(r"_(restore|before_restore)_\d{8}T\d{6}Z$", n)]


class SnapshotHolder:
    """An open transaction that exported its snapshot, so pg_dump and the row counts see the same data."""

    def __init__(self, conn_args):
        self.proc = subprocess.Popen(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"] + conn_args,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.proc.stdin.write("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\nSELECT pg_export_snapshot();\n")
        self.proc.stdin.flush()
        self.snapshot = self.proc.stdout.readline().strip()
        if not self.snapshot:
            raise BackupError("could not export a snapshot: %s" % self.proc.stderr.read().strip())

    def close(self):
        try:
            self.proc.stdin.write("COMMIT;\n")
            self.proc.stdin.close()
            self.proc.wait(30)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()


def compare_counts(expected, actual, what):
    if expected != actual:
        diff = sorted(set(expected) | set(actual))
        detail = ", ".join("%s %s!=%s" % (t, expected.get(t), actual.get(t)) for t in diff
                           if expected.get(t) != actual.get(t))
        raise BackupError("%s: row counts differ (expected!=restored): %s" % (what, detail))


# Database-level privileges and settings are not in a dump (they belong to CREATE DATABASE):
# a restored database takes them from the live one it replaces, so the switch keeps them.
COPY_DATABASE_SQL = r"""
SELECT stmt FROM (
  SELECT 1 AS ord, format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'db') AS stmt
    FROM pg_database WHERE datname = :'like' AND datacl IS NOT NULL
  UNION ALL
  SELECT 2, format('GRANT %s ON DATABASE %I TO %s%s', a.privilege_type, :'db',
                   CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
                   CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
    FROM pg_database d, aclexplode(d.datacl) a WHERE d.datname = :'like'
  UNION ALL
  -- list settings are stored already quoted element by element (as pg_dump treats them)
  SELECT 3, format(CASE WHEN split_part(c, '=', 1) IN ('search_path', 'temp_tablespaces', 'session_preload_libraries',
                                                        'local_preload_libraries', 'shared_preload_libraries')
                        THEN 'ALTER DATABASE %I SET %s = %s' ELSE 'ALTER DATABASE %I SET %s = %L' END,
                   :'db', split_part(c, '=', 1), substr(c, strpos(c, '=') + 1))
    FROM pg_database d JOIN pg_db_role_setting s ON s.setdatabase = d.oid AND s.setrole = 0, unnest(s.setconfig) c
   WHERE d.datname = :'like'
) t ORDER BY ord \gexec
"""


def create_database(conn_args, name, owner, env=None, like=None):
    """A new empty database; with `like`, also that database's privileges and settings."""
    args = conn_args + ["-d", "postgres", "-v", "db=" + name, "-v", "owner=" + owner, "-v", "like=" + (like or "")]
    psql(args, 'CREATE DATABASE :"db" OWNER :"owner" TEMPLATE template0;\n' + (COPY_DATABASE_SQL if like else ""), env=env)


def drop_database(conn_args, name, env=None):
    try:
        psql(conn_args + ["-d", "postgres", "-v", "db=" + name], 'DROP DATABASE IF EXISTS :"db" WITH (FORCE);\n', env=env)
    except BackupError:
        pass


def run_checks(conn_args, database, checks, env=None):
    """Each check is SQL whose first value must be true (t); returns what each gave."""
    results = []
    for sql in checks:
        out = psql(conn_args + ["-d", database], sql, env=env).strip().splitlines()
        value = out[0].split("|")[0] if out else ""
        results.append({"sql": sql, "value": value})
        if value not in ("t", "true", "1"):
            raise BackupError("check failed on %s (gave %r): %s" % (database, value, sql))
    return results


class ScratchServer:
    """A throwaway PostgreSQL server in this (scratch) container: socket in a private dir."""

    def __init__(self, datadir, port=5433, settings=None):
        self.datadir, self.port = datadir, port
        self.sockdir = tempfile.mkdtemp(prefix="lb-sock-")
        self.settings = dict({"archive_mode": "off", "listen_addresses": "", "port": str(port),
                              "unix_socket_directories": self.sockdir, "hba_file": self._hba()}, **(settings or {}))
        self.conn = ["-h", self.sockdir, "-p", str(port), "-U", "postgres"]

    def _hba(self):
        path = os.path.join(self.sockdir, "pg_hba.conf")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("local all all trust\n")
        return path

    def init(self):
        res = subprocess.run(["initdb", "-D", self.datadir, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                              "--locale=C.UTF-8"], capture_output=True, text=True, check=False)
        if res.returncode != 0:
            raise BackupError("initdb failed: %s" % res.stderr.strip())

    def start(self, timeout=600):
        opts = " ".join("-c %s='%s'" % (k, v) for k, v in self.settings.items())
        res = subprocess.run(["pg_ctl", "-D", self.datadir, "-o", opts, "-l", os.path.join(self.sockdir, "log"),
                              "-w", "-t", str(timeout), "start"], capture_output=True, text=True, check=False)
        if res.returncode != 0:
            raise BackupError("the scratch server did not start: %s %s" % (res.stdout.strip(), self.log_tail()))

    def log_tail(self):
        try:
            with open(os.path.join(self.sockdir, "log"), encoding="utf-8", errors="replace") as handle:
                return "\n".join(handle.read().splitlines()[-12:])[-2000:]
        except OSError:
            return ""

    def running(self):
        """pg_ctl status: 0 while the postmaster runs, 3 once it has stopped."""
        return subprocess.run(["pg_ctl", "-D", self.datadir, "status"], capture_output=True, check=False).returncode == 0

    def wait_promoted(self, timeout):
        """Until recovery has ended and the server accepts writes; at once, with the server's own
        log, when it stops (recovery that cannot reach its target makes PostgreSQL exit)."""
        deadline, delay = time.monotonic() + timeout, 0.5
        last = None
        while time.monotonic() < deadline:
            try:
                last = psql(self.conn + ["-d", "postgres", "-c", "SELECT pg_is_in_recovery()"], timeout=60).strip()
                if last == "f":
                    return
            except BackupError as exc:
                last = str(exc)
            if not self.running():
                raise BackupError("the scratch server stopped during recovery: %s" % self.log_tail())
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 5)
        raise BackupError("recovery did not finish in %d minutes (last: %s) %s" % (timeout // 60, last, self.log_tail()))

    def stop(self):
        subprocess.run(["pg_ctl", "-D", self.datadir, "-m", "fast", "-w", "stop"], capture_output=True, check=False)
