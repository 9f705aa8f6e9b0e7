#!/usr/bin/env python3
"""launchbay demo app: a small real web service used by the local deploy and every test.
One file on purpose (about 650 lines): the image copies it alone, with no package to install.
It serves PostgreSQL (the stack's database) and SQLite (the "before" state that
playbooks/migrate_sqlite.yml moves to PostgreSQL) with the same schema and migrations.

Commands:
    demo_app.py serve        run the HTTP server (default)
    demo_app.py migrate      apply pending schema migrations once, then exit
    demo_app.py healthcheck  exit 0 when GET /health on this container answers 200

Configuration (environment; every secret also accepts NAME_FILE pointing at a file):
    DATABASE_URL      required  postgresql://user:password@host:5432/dbname,
                                or sqlite:////absolute/path/app.db (a file in a volume)
    SECRET_KEY        required  at least 16 characters
    APP_PORT          optional  listen port (default 8000)
    APP_DRAIN_TIMEOUT optional  seconds to finish in-flight requests on SIGTERM (default 20)
    APP_ENVIRONMENT   optional  free text shown in /health (default "development")
    APP_ERROR_PERCENT optional  this share (0-100) of requests other than /health answers 500,
                                evenly spread: a release that is healthy but fails its users
    APP_BOOT_SECONDS  optional  seconds spent starting before it listens, as a framework loading
                                its code would (0-600, default 0; benchmarks/rollout.py --boot)
    SENTRY_DSN        optional  error reporting (a secret); SENTRY_RELEASE names the release

Baked into the image at build time: APP_VERSION, APP_SCHEMA_VERSION (the highest migration
this release knows) and APP_BROKEN (when "1", /health never reports healthy).
"""

import datetime
import hashlib
import json
import os
import queue
import re
import signal
import sqlite3
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:
    import psycopg2
    import psycopg2.extras
except ImportError:  # pragma: no cover - the image always has it
    psycopg2 = None

MIGRATIONS_DIR = os.environ.get(
    "APP_MIGRATIONS_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "migrations")
)
MIGRATION_LOCK_ID = 4242001  # pg advisory lock key: one migrate at a time per database
SQLITE_MIGRATIONS = "sqlite"  # folder of MIGRATIONS_DIR with each migration's SQLite form
MIGRATION_RE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
MAX_SLOW_MS = 10000
# An X-Request-Id from the client or a proxy is kept when it looks like one; else one is made.
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def request_id(header):
    """The request's id: the caller's X-Request-Id when it is sane, else a new one."""
    header = (header or "").strip()
    return header if REQUEST_ID.match(header) else uuid.uuid4().hex


class ConfigError(Exception):
    """A configuration problem that names the variable at fault."""


def log(event, **fields):
    """One JSON line on stdout per event."""
    record = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + "Z", "event": event}
    record.update(fields)
    sys.stdout.write(json.dumps(record, sort_keys=True) + "\n")
    sys.stdout.flush()


def redact_dsn(url):
    """The DSN with its password replaced, for logs and errors."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = "%s:***@%s" % (parts.username or "", parts.hostname or "")
    if parts.port:
        netloc += ":%d" % parts.port
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def read_setting(env, name, required=False, default=None):
    """NAME from the environment, or the content of the file named by NAME_FILE."""
    file_var = name + "_FILE"
    if env.get(file_var):
        path = env[file_var]
        try:
            with open(path, encoding="utf-8") as handle:
                value = handle.read().strip()
        except OSError as exc:
            raise ConfigError("%s=%s cannot be read: %s" % (file_var, path, exc.strerror))
        if not value:
            raise ConfigError("%s=%s is empty" % (file_var, path))
        return value
    value = env.get(name, "")
    if value:
        return value
    if required:
        raise ConfigError(
            "missing required environment variable %s (or %s pointing at a file)" % (name, file_var)
        )
    return default


def load_config(env, need_secret_key=True):
    """Validate the environment; raise ConfigError naming the first bad variable."""
    cfg = {}
    cfg["database_url"] = read_setting(env, "DATABASE_URL", required=True)
    parts = urllib.parse.urlsplit(cfg["database_url"])
    if parts.scheme == "sqlite" and not parts.netloc and parts.path.startswith("//"):
        cfg["sqlite_path"] = parts.path[1:]
    elif parts.scheme not in ("postgres", "postgresql") or not parts.hostname or not parts.path.strip("/"):
        raise ConfigError(
            "DATABASE_URL must look like postgresql://user:password@host:5432/dbname"
            " or sqlite:////absolute/path.db, got %s" % redact_dsn(cfg["database_url"])
        )
    if need_secret_key:
        cfg["secret_key"] = read_setting(env, "SECRET_KEY", required=True)
        if len(cfg["secret_key"]) < 16:
            raise ConfigError("SECRET_KEY must be at least 16 characters long")
    for name, default, low, high in (("APP_PORT", "8000", 1, 65535), ("APP_DRAIN_TIMEOUT", "20", 0, 600)):
        raw = env.get(name, default)
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError("%s must be an integer, got %r" % (name, raw))
        if not low <= value <= high:
            raise ConfigError("%s must be between %d and %d, got %d" % (name, low, high, value))
        cfg[name.lower()] = value
    cfg["environment"] = env.get("APP_ENVIRONMENT", "development")
    cfg["version"] = env.get("APP_VERSION", "dev")
    cfg["schema_version"] = int(env.get("APP_SCHEMA_VERSION", "0") or 0) or known_schema_version()
    cfg["broken"] = env.get("APP_BROKEN", "0") == "1"
    cfg["sentry_dsn"] = read_setting(env, "SENTRY_DSN") or ""
    raw = env.get("APP_ERROR_PERCENT", "0") or "0"
    try:
        cfg["error_percent"] = float(raw)
    except ValueError:
        raise ConfigError("APP_ERROR_PERCENT must be a number from 0 to 100, got %r" % raw)
    if not 0 <= cfg["error_percent"] <= 100:
        raise ConfigError("APP_ERROR_PERCENT must be a number from 0 to 100, got %r" % raw)
    raw = env.get("APP_BOOT_SECONDS", "0") or "0"
    try:
        cfg["boot_seconds"] = float(raw)
    except ValueError:
        cfg["boot_seconds"] = -1
    if not 0 <= cfg["boot_seconds"] <= 600:
        raise ConfigError("APP_BOOT_SECONDS must be a number of seconds from 0 to 600, got %r" % raw)
    return cfg


def list_migrations(limit=None, sqlite=False):
    """[(version, path)] sorted, up to `limit` when given; the SQLite forms with sqlite=True."""
    folder = os.path.join(MIGRATIONS_DIR, SQLITE_MIGRATIONS) if sqlite else MIGRATIONS_DIR
    found = []
    for name in sorted(os.listdir(folder)):
        match = MIGRATION_RE.match(name)
        if match:
            version = int(match.group(1))
            if limit is None or version <= limit:
                found.append((version, os.path.join(folder, name)))
    return found


def known_schema_version():
    migrations = list_migrations()
    return migrations[-1][0] if migrations else 0


class Database:
    """A tiny connection pool that throws away broken connections, so the app
    reconnects by itself once PostgreSQL is back. A pooled connection is pinged before use
    (like SQLAlchemy's pool_pre_ping): one the server closed while it waited (a restart, the
    database switched under the app by a restore) is replaced before the request's query."""

    sqlite = False

    def __init__(self, url, size=8):
        self.url = url
        self.pool = queue.LifoQueue(maxsize=size)

    def _connect(self):
        conn = psycopg2.connect(self.url, connect_timeout=3, application_name="demo_app")
        conn.autocommit = True
        return conn

    @staticmethod
    def _close(conn):
        try:
            conn.close()
        except Exception:  # noqa: BLE001 - the connection is gone anyway
            pass

    def _checkout(self):
        try:
            conn = self.pool.get_nowait()
        except queue.Empty:
            return self._connect()
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
            return conn
        except (psycopg2.OperationalError, psycopg2.InterfaceError):
            self._close(conn)
            return self._connect()

    def run(self, func):
        conn = self._checkout()
        try:
            result = func(conn)
        except (psycopg2.OperationalError, psycopg2.InterfaceError):
            self._close(conn)
            raise
        try:
            self.pool.put_nowait(conn)
        except queue.Full:
            conn.close()
        return result


class SqliteDatabase:
    """The same interface on a SQLite file: one short connection per call (SQLite
    connections are cheap and must not cross threads), foreign keys enforced, and a
    bounded wait when another writer holds the file."""

    sqlite = True

    def __init__(self, path):
        self.path = path

    def connect(self):
        conn = sqlite3.connect(self.path, timeout=5, isolation_level=None)
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    def run(self, func):
        conn = self.connect()
        try:
            return func(conn)
        finally:
            conn.close()


DB_ERRORS = (sqlite3.Error,) + ((psycopg2.Error,) if psycopg2 else ())


def query(conn, sql, params=()):
    """Rows of `sql` (psycopg2's %s placeholders) as dicts, on either database."""
    if isinstance(conn, sqlite3.Connection):
        cur = conn.execute(sql.replace("%s", "?"), params)
        names = [col[0] for col in cur.description or ()]
        return [dict(zip(names, row)) for row in cur.fetchall()]
    with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        cur.execute(sql, params)
        return [dict(row) for row in cur.fetchall()] if cur.description else []


def iso_utc(value):
    """A timestamp the same way from both databases: PostgreSQL gives an aware datetime,
    SQLite the UTC text of CURRENT_TIMESTAMP."""
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value.replace("Z", "")).replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def db_schema_version(conn):
    if isinstance(conn, sqlite3.Connection):
        exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
        if exists.fetchone() is None:
            return 0
        return int(conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0])
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass('public.schema_migrations') IS NOT NULL")
        if not cur.fetchone()[0]:
            return 0
        cur.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
        return int(cur.fetchone()[0])


def open_database(cfg):
    if cfg.get("sqlite_path"):
        return SqliteDatabase(cfg["sqlite_path"])
    return Database(cfg["database_url"])


class App:
    def __init__(self, cfg):
        self.cfg = cfg
        self.db = open_database(cfg)
        self.draining = threading.Event()
        self.inflight = 0
        self.inflight_lock = threading.Lock()
        self.idle = threading.Condition(self.inflight_lock)
        self.served = 0  # requests counted for APP_ERROR_PERCENT

    def injected_error(self):
        """True for APP_ERROR_PERCENT of the requests, evenly spread (0: never)."""
        share = self.cfg.get("error_percent", 0) / 100.0
        if share <= 0:
            return False
        with self.inflight_lock:
            self.served += 1
            return int(self.served * share) != int((self.served - 1) * share)

    # -- request accounting, for graceful shutdown -------------------------------------
    def enter(self):
        with self.inflight_lock:
            self.inflight += 1

    def leave(self):
        with self.inflight_lock:
            self.inflight -= 1
            if self.inflight == 0:
                self.idle.notify_all()

    def wait_idle(self, timeout):
        deadline = time.monotonic() + timeout
        with self.inflight_lock:
            while self.inflight > 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.idle.wait(remaining)
        return True

    # -- endpoints ----------------------------------------------------------------------
    def health(self):
        components = {}
        status = 200
        try:
            db_version = self.db.run(db_schema_version)
            components["database"] = {"status": "ok", "kind": "sqlite" if self.db.sqlite else "postgresql"}
            components["schema"] = {
                "status": "ok" if db_version >= self.cfg["schema_version"] else "behind",
                "database": db_version,
                "required": self.cfg["schema_version"],
            }
            if db_version < self.cfg["schema_version"]:
                status = 503
        except DB_ERRORS as exc:
            components["database"] = {"status": "unreachable", "error": str(exc).strip().splitlines()[0][:200]}
            status = 503
        if self.cfg["broken"]:
            components["selftest"] = {"status": "failing", "error": "this build is broken on purpose"}
            status = 503
        if self.draining.is_set():
            components["lifecycle"] = {"status": "draining"}
            status = 503
        failing = sorted(k for k, v in components.items() if v.get("status") not in ("ok",))
        body = {
            "status": "ok" if status == 200 else "unhealthy",
            "components": components,
            "environment": self.cfg["environment"],
        }
        if failing:
            body["failing"] = failing
        return status, body

    def list_records(self, limit):
        def run(conn):
            rows = query(conn, "SELECT id, note, created_at FROM records ORDER BY id DESC LIMIT %s", (limit,))
            return rows, query(conn, "SELECT count(*) AS n FROM records")[0]["n"]

        rows, total = self.db.run(run)
        for row in rows:
            row["created_at"] = iso_utc(row["created_at"])
        return 200, {"records": rows, "count": total}

    def get_record(self, rec_id):
        rows = self.db.run(lambda conn: query(conn, "SELECT id, note, created_at FROM records WHERE id = %s", (rec_id,)))
        if not rows:
            return 404, {"error": "record %d not found" % rec_id}
        rows[0]["created_at"] = iso_utc(rows[0]["created_at"])
        return 200, {"record": rows[0]}

    def add_record(self, note):
        rows = self.db.run(
            lambda conn: query(conn, "INSERT INTO records (note) VALUES (%s) RETURNING id, note, created_at", (note,))
        )
        rows[0]["created_at"] = iso_utc(rows[0]["created_at"])
        return 201, {"record": rows[0]}

    def get_order(self, order_id):
        """An order of the shop schema (v3) with its customer and attachments: every type
        a migration must carry (booleans, dates, timestamps, bytes, NULLs, unicode)."""

        def run(conn):
            orders = query(
                conn,
                "SELECT o.id, o.total_cents, o.paid, o.note, o.placed_at, c.id AS customer_id, c.name,"
                " c.email, c.vip, c.born FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.id = %s",
                (order_id,),
            )
            files = query(conn, "SELECT id, name, body FROM attachments WHERE order_id = %s ORDER BY id", (order_id,))
            return orders, files

        orders, files = self.db.run(run)
        if not orders:
            return 404, {"error": "order %d not found" % order_id}
        row = orders[0]
        paid = None if row["paid"] is None else bool(row["paid"])
        order = {
            "id": row["id"],
            "total_cents": row["total_cents"],
            "paid": paid,
            "note": row["note"],
            "placed_at": iso_utc(row["placed_at"]),
            "customer": {
                "id": row["customer_id"],
                "name": row["name"],
                "email": row["email"],
                "vip": bool(row["vip"]),
                "born": None if row["born"] is None else str(row["born"]),
            },
            "attachments": [
                {
                    "id": f["id"],
                    "name": f["name"],
                    "sha256": None if f["body"] is None else hashlib.sha256(bytes(f["body"])).hexdigest(),
                }
                for f in files
            ],
        }
        return 200, {"order": order}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "demo_app"
    app = None  # set by serve()
    request_id = ""  # set for each request by _handle()

    def log_message(self, fmt, *args):  # replaced by one JSON line per request
        pass

    def _send(self, status, body):
        body = dict(body)
        body["version"] = self.app.cfg["version"]
        payload = json.dumps(body, sort_keys=True).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-App-Version", self.app.cfg["version"])
        # the same id the app logs; Traefik's access log records it too (traefik_access_log_headers)
        self.send_header("X-Request-Id", self.request_id)
        if self.app.draining.is_set():
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
        return status

    def _dispatch(self):
        url = urllib.parse.urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        params = urllib.parse.parse_qs(url.query)
        app = self.app
        try:
            if path == "/health" and self.command in ("GET", "HEAD"):
                return self._send(*app.health())
            if app.injected_error():
                return self._send(500, {"error": "injected error (APP_ERROR_PERCENT)"})
            if path == "/" and self.command in ("GET", "HEAD"):
                return self._send(200, {"service": "launchbay demo app", "environment": app.cfg["environment"]})
            if path == "/slow" and self.command == "GET":
                ms = min(max(int(params.get("ms", ["500"])[0]), 0), MAX_SLOW_MS)
                time.sleep(ms / 1000.0)
                return self._send(200, {"slept_ms": ms})
            if path == "/records" and self.command == "GET":
                limit = min(max(int(params.get("limit", ["100"])[0]), 1), 10000)
                return self._send(*app.list_records(limit))
            if path == "/records" and self.command == "POST":
                length = int(self.headers.get("Content-Length") or 0)
                if length > 65536:
                    return self._send(413, {"error": "body too large"})
                try:
                    data = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    return self._send(400, {"error": "body must be JSON"})
                note = data.get("note") if isinstance(data, dict) else None
                if not isinstance(note, str) or not note:
                    return self._send(400, {"error": "field 'note' (non-empty string) is required"})
                return self._send(*app.add_record(note))
            match = re.match(r"^/(records|orders)/(\d+)$", path)
            if match and self.command == "GET":
                getter = app.get_record if match.group(1) == "records" else app.get_order
                return self._send(*getter(int(match.group(2))))
            return self._send(404, {"error": "no route for %s %s" % (self.command, path)})
        except ValueError as exc:
            return self._send(400, {"error": str(exc)})
        except DB_ERRORS as exc:
            return self._send(503, {"error": "database unavailable", "detail": str(exc).strip().splitlines()[0][:200]})

    def _handle(self):
        started = time.monotonic()
        self.request_id = request_id(self.headers.get("X-Request-Id"))
        self.app.enter()
        status = 500
        try:
            status = self._dispatch()
        finally:
            self.app.leave()
            log(
                "request",
                method=self.command,
                path=urllib.parse.urlsplit(self.path).path,
                status=status,
                ms=round((time.monotonic() - started) * 1000, 1),
                remote=self.client_address[0],
                request_id=self.request_id,
                version=self.app.cfg["version"],
            )

    do_GET = do_POST = do_HEAD = _handle


def serve(cfg):
    if cfg["boot_seconds"]:
        log("booting", seconds=cfg["boot_seconds"])
        time.sleep(cfg["boot_seconds"])  # nothing listens yet: connections are refused, as while a real app loads
    app = App(cfg)
    Handler.app = app
    server = ThreadingHTTPServer(("0.0.0.0", cfg["app_port"]), Handler)
    server.daemon_threads = True
    stopped = threading.Event()

    def on_sigterm(signum, _frame):
        if app.draining.is_set():
            return
        app.draining.set()
        log("shutdown", signal=signal.Signals(signum).name, inflight=app.inflight)
        # stop accepting: shutdown() waits for serve_forever() to return, so run it apart
        threading.Thread(target=lambda: (server.shutdown(), stopped.set()), daemon=True).start()

    signal.signal(signal.SIGTERM, on_sigterm)
    signal.signal(signal.SIGINT, on_sigterm)
    log(
        "start",
        version=cfg["version"],
        schema_version=cfg["schema_version"],
        port=cfg["app_port"],
        database=redact_dsn(cfg["database_url"]),
        environment=cfg["environment"],
        broken=cfg["broken"],
        # where a real app would call sentry_sdk.init(dsn=..., release=..., environment=...): the
        # DSN's host only (the key is a secret), the release and environment as given
        error_reporting=(
            {"host": urllib.parse.urlsplit(cfg["sentry_dsn"]).hostname, "release": os.environ.get("SENTRY_RELEASE", ""),
             "environment": os.environ.get("SENTRY_ENVIRONMENT", "")} if cfg["sentry_dsn"] else None),
    )
    server.serve_forever(poll_interval=0.2)
    stopped.wait(5)
    server.server_close()
    finished = app.wait_idle(cfg["app_drain_timeout"])
    log("stopped", drained=finished, inflight=app.inflight)
    return 0


def migrate(cfg):
    """Apply every pending migration in one transaction, under an advisory lock."""
    target = cfg["schema_version"]
    deadline = time.monotonic() + 60
    while True:  # bounded wait for the database to come up
        try:
            conn = psycopg2.connect(cfg["database_url"], connect_timeout=3, application_name="demo_app_migrate")
            break
        except psycopg2.OperationalError as exc:
            if time.monotonic() > deadline:
                log("migrate_failed", error="database unreachable: %s" % str(exc).strip().splitlines()[0][:200])
                return 3
            time.sleep(1)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_lock(%s)", (MIGRATION_LOCK_ID,))
            if not cur.fetchone()[0]:
                log("migrate_refused", error="another migration holds the advisory lock %d" % MIGRATION_LOCK_ID)
                return 4
        conn.commit()
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                    " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
                )
                cur.execute("SELECT version FROM schema_migrations")
                applied = {row[0] for row in cur.fetchall()}
                pending = [(v, p) for v, p in list_migrations(target) if v not in applied]
                for version, path in pending:
                    with open(path, encoding="utf-8") as handle:
                        cur.execute(handle.read())
                    cur.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, os.path.basename(path))
                    )
                hold = float(os.environ.get("APP_MIGRATE_HOLD_SECONDS", "0") or 0)
                if hold > 0:  # lets tests prove that a second migrate is refused meanwhile
                    time.sleep(min(hold, 60))
            conn.commit()
        except psycopg2.Error as exc:
            conn.rollback()
            log("migrate_failed", error=str(exc).strip().splitlines()[0][:300])
            return 5
        finally:
            with conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_ID,))
            conn.commit()
        version = db_schema_version(conn)
        log("migrated", applied=[os.path.basename(p) for _v, p in pending], schema_version=version, version=cfg["version"])
        return 0
    finally:
        conn.close()


def migrate_sqlite(cfg):
    """The SQLite form: every pending migration in one IMMEDIATE transaction (SQLite's
    write lock stands in for PostgreSQL's advisory lock)."""
    conn = SqliteDatabase(cfg["sqlite_path"]).connect()
    try:
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            log("migrate_refused", error="another writer holds %s: %s" % (cfg["sqlite_path"], exc))
            return 4
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
                " name TEXT NOT NULL, applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)"
            )
            applied = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            pending = [(v, p) for v, p in list_migrations(cfg["schema_version"], sqlite=True) if v not in applied]
            for version, path in pending:
                statement = ""
                with open(path, encoding="utf-8") as handle:
                    for line in handle:
                        statement += line
                        if sqlite3.complete_statement(statement):
                            conn.execute(statement)
                            statement = ""
                conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (?, ?)", (version, os.path.basename(path))
                )
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            conn.execute("ROLLBACK")
            log("migrate_failed", error=str(exc)[:300])
            return 5
        log("migrated", applied=[os.path.basename(p) for _v, p in pending], schema_version=db_schema_version(conn),
            version=cfg["version"])
        return 0
    finally:
        conn.close()


def healthcheck(env):
    port = env.get("APP_PORT", "8000")
    # prints the health body: Docker keeps it as the check's output, for whoever asks why
    try:
        with urllib.request.urlopen("http://127.0.0.1:%s/health" % port, timeout=3) as resp:
            sys.stdout.write(resp.read(2000).decode("utf-8", "replace") + "\n")
            return 0 if resp.status == 200 else 1
    except urllib.error.HTTPError as exc:
        sys.stdout.write("HTTP %d %s\n" % (exc.code, exc.read(2000).decode("utf-8", "replace")))
        return 1
    except (OSError, ValueError) as exc:
        sys.stdout.write("health endpoint unreachable: %s\n" % exc)
        return 1


def main(argv=None, env=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    env = os.environ if env is None else env
    command = argv[0] if argv else "serve"
    if command == "healthcheck":
        return healthcheck(env)
    if command not in ("serve", "migrate"):
        sys.stderr.write("usage: demo_app.py [serve|migrate|healthcheck]\n")
        return 2
    try:
        cfg = load_config(env, need_secret_key=(command == "serve"))
    except ConfigError as exc:
        log("config_error", error=str(exc))
        sys.stderr.write("demo_app: configuration error: %s\n" % exc)
        return 2
    if command == "migrate":
        return migrate_sqlite(cfg) if cfg.get("sqlite_path") else migrate(cfg)
    return serve(cfg)


if __name__ == "__main__":
    sys.exit(main())
