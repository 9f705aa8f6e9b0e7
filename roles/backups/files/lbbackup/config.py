# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tool's configuration (backup.json, written by the role), backup ids, masking."""

from __future__ import annotations

import datetime
import json
import re
import socket

from ._masking import DEFAULT_MASK, normalize_secrets, redact_text  # the collection's own, installed beside

MASK = DEFAULT_MASK

ID_FORMAT = "%Y%m%dT%H%M%SZ"
ID_RE = re.compile(r"^\d{8}T\d{6}Z$")


class BackupError(Exception):
    """A failure to report (and alert on) with a message an operator can act on."""


def mask_text(text, secrets):
    """`text` with every known secret and any URL password replaced by the mask."""
    return redact_text(str(text), normalize_secrets(list(secrets)))


def backup_id(now=None):
    return (now or datetime.datetime.now(datetime.timezone.utc)).strftime(ID_FORMAT)


def id_time(value):
    return datetime.datetime.strptime(value, ID_FORMAT).replace(tzinfo=datetime.timezone.utc)


class Config:
    def __init__(self, data):
        self.data = data
        self.host = data.get("host") or socket.gethostname()
        self.environment = data["environment"]
        self.s3 = data["s3"]
        self.prefix = data.get("prefix", "").strip("/")
        self.source_prefix = (data.get("source_prefix") or self.prefix).strip("/")
        self.passphrase = data["passphrase"]
        self.databases = data.get("databases") or []
        self.exclude = data.get("exclude_databases") or []
        self.retention = data.get("retention") or {"daily": 30, "monthly": 12}
        self.alerts = data.get("alerts") or {}
        self.freshness_hours = float(data.get("freshness_hours", 26))
        self.pgbackrest = data.get("pgbackrest") or {}
        self.superuser = data.get("superuser", "postgres")
        self.compress_level = int(data.get("compress_level", 6))
        self.secrets = [s for s in (self.passphrase, self.s3.get("secret_key"), self.s3.get("access_key"),
                                    (self.alerts.get("email") or {}).get("password"),
                                    self.pgbackrest.get("cipher_pass"), self.alerts.get("webhook_url"))
                        if s]

    @classmethod
    def load(cls, path):
        try:
            with open(path, encoding="utf-8") as handle:
                return cls(json.load(handle))
        except (OSError, ValueError, KeyError) as exc:
            raise BackupError("cannot read the configuration %s: %s" % (path, exc))

    def logical_prefix(self, database, source=False):
        base = self.source_prefix if source else self.prefix
        return "/".join(p for p in (base, "logical", database) if p) + "/"

    def pin_prefix(self, database):
        """Where the pins of a database's dumps are (outside its dumps' prefix)."""
        return "/".join(p for p in (self.prefix, "pins", database) if p) + "/"

    def mask(self, text):
        return mask_text(text, self.secrets)
