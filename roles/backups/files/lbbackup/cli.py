# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The command line of the backup tool (../launchbay_backup.py).

Commands (all print one JSON document on stdout; errors go to stderr, secrets masked):
  logical            pg_dump (custom format) of every database, encrypted with GnuPG
                     (AES-256, passphrase) while streaming to S3; a manifest beside each
                     dump records its SHA-256, size and the row counts of every table taken
                     in the dump's own snapshot; then the retention policy is applied.
  pitr-backup        pgBackRest base backup (--type full|diff|incr).
  freshness          alert when the newest backup is older than the threshold.
  list               the backups in the bucket.
  retention          apply the retention policy without a new backup.
  restore-logical    a logical backup into a NEW database on this server, checked against
                     its manifest (checksum, row counts); dropped again if anything fails.
  pitr-extract       (in a scratch container) pgBackRest restore of the whole cluster to a
                     point in time, then copy its databases into NEW databases on the live
                     server, row counts compared; every wait bounded by --timeout-minutes.
  pitr-window        refuse a target time outside the recoverable window (naming it).
  archive-check      alert when WAL archiving fails or lags (pg_stat_archiver), saying up to
                     when point-in-time recovery can reach.
  drill              (in a scratch container) restore the newest logical backups into a
                     throwaway cluster, check them, report RTO and RPO, alert on failure.
  init               check the bucket (create it when allowed).
  alert              send an alert (a test one by default; systemd's OnFailure unit names the job).

Exit status: 0 done, 1 failed, 3 failed and alerted (systemd's OnFailure unit then stays quiet).
"""

from __future__ import annotations

import argparse
import json
import re
import sys

from .alerts import send_alert
from .commands import cmd_drill, cmd_freshness, cmd_init, cmd_list, cmd_logical, cmd_restore_logical, cmd_retention
from .config import BackupError, Config, mask_text
from .metrics import record as record_metrics
from .pitr import cmd_archive_check, cmd_pitr_backup, cmd_pitr_extract, cmd_pitr_window


def cmd_alert(cfg, args, client=None):
    sent, problems = send_alert(cfg, args.job, args.message)
    if problems or not sent:
        raise BackupError("; ".join(problems) or "no alert channel is configured")
    return {"sent": sent}


COMMANDS = {
    "logical": cmd_logical, "pitr-backup": cmd_pitr_backup, "freshness": cmd_freshness, "list": cmd_list,
    "retention": cmd_retention, "restore-logical": cmd_restore_logical, "pitr-extract": cmd_pitr_extract,
    "pitr-window": cmd_pitr_window, "archive-check": cmd_archive_check,
    "drill": cmd_drill, "alert": cmd_alert, "init": cmd_init,
}
ALERTING = {"logical", "pitr-backup", "freshness", "drill", "retention", "archive-check"}


def parser():
    top = argparse.ArgumentParser(prog="launchbay_backup", description="launchbay backup tool")
    top.add_argument("--config", default="/etc/launchbay/backups/backup.json")
    top.add_argument("--no-alert", action="store_true", help="report failures only on stderr")
    sub = top.add_subparsers(dest="command", required=True)
    for name in ("logical", "retention", "list"):
        cmd = sub.add_parser(name)
        cmd.add_argument("--database", action="append", help="only this database (repeatable)")
        if name == "logical":
            cmd.add_argument("--keep-days", type=float, default=0,
                             help="keep these dumps this many days whatever the retention policy says")
            cmd.add_argument("--reason", default="", help="why they are kept (shown by retention)")
    cmd = sub.add_parser("pitr-backup")
    cmd.add_argument("--type", choices=["full", "diff", "incr"], default="full")
    cmd = sub.add_parser("freshness")
    cmd.add_argument("--database", action="append")
    cmd.add_argument("--max-age-hours", type=float)
    cmd.add_argument("--logical-only", action="store_true")
    cmd = sub.add_parser("restore-logical")
    cmd.add_argument("--source-database", required=True)
    cmd.add_argument("--backup", default="latest")
    cmd.add_argument("--into", required=True)
    cmd.add_argument("--owner", required=True)
    cmd.add_argument("--no-owner", action="store_true")
    cmd.add_argument("--like", help="copy database privileges and settings from this (live) database")
    cmd.add_argument("--check", action="append")
    cmd = sub.add_parser("pitr-extract")
    cmd.add_argument("--datadir", required=True)
    cmd.add_argument("--target-time")
    cmd.add_argument("--set")
    cmd.add_argument("--database", action="append", required=True, help="SOURCE=INTO")
    cmd.add_argument("--live-host", required=True)
    cmd.add_argument("--live-port", type=int, default=5432)
    cmd.add_argument("--live-password-file", required=True)
    cmd.add_argument("--check", action="append")
    cmd.add_argument("--timeout-minutes", type=float, default=30,
                     help="bound of each wait: the pgBackRest restore, the recovery, each copy")
    cmd = sub.add_parser("archive-check")
    cmd.add_argument("--max-lag-minutes", type=float, default=15)
    cmd = sub.add_parser("pitr-window")
    cmd.add_argument("--target-time", required=True)
    cmd.add_argument("--stanza", help="another stanza than the configured one")
    cmd = sub.add_parser("drill")
    cmd.add_argument("--database", action="append")
    cmd.add_argument("--check", action="append")
    cmd = sub.add_parser("init")
    cmd.add_argument("--create-bucket", action="store_true")
    cmd = sub.add_parser("alert")
    cmd.add_argument("--message", default="test alert: the backup alerts reach you")
    cmd.add_argument("--job", default="alert-test")
    return top


def main(argv=None):
    args = parser().parse_args(argv)
    cfg = None
    try:
        cfg = Config.load(args.config)
        result = COMMANDS[args.command](cfg, args)
    except Exception as exc:  # pylint: disable=broad-except
        message = cfg.mask(exc) if cfg else mask_text(exc, [])
        out = {"failed": True, "command": args.command, "error": message}
        if cfg and args.command in ALERTING and not args.no_alert:
            database = None
            match = re.match(r"database (\S+):", message)
            if match:
                database = match.group(1)
            out["alerted"], problems = send_alert(cfg, args.command, message, database)
            if problems:
                out["alert_problems"] = problems
        if cfg and args.command in ALERTING:
            _metrics(cfg, args.command, None, True)
        print(json.dumps(out, sort_keys=True))
        print("launchbay_backup %s: %s" % (args.command, message), file=sys.stderr)
        return 3 if out.get("alerted") else 1
    if args.command in ALERTING:
        _metrics(cfg, args.command, result, False)
    print(json.dumps(result, sort_keys=True, default=str))
    return 0


def _metrics(cfg, command, result, failed):
    """The run's result for the monitoring (the node exporter's textfile collector), when configured."""
    problem = record_metrics(cfg.data.get("metrics_dir") or "", command, result, failed)
    if problem:
        print("launchbay_backup %s: %s" % (command, cfg.mask(problem)), file=sys.stderr)
