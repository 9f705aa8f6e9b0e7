# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""launchbay backup tool: runs inside the PostgreSQL image (pg_dump, pg_restore, gpg,
pgBackRest, python3-boto3), driven by the launchbay.webstack.backups role and its timers
through ../launchbay_backup.py. One module a concern:

  config      the configuration file, backup ids, masking (the collection's _masking.py)
  transport   S3 through boto3: listing (paginators), managed streaming upload and download
  crypto      processes chained by pipes, GnuPG with the passphrase through a pipe
  database    psql, row counts in a snapshot, databases created/dropped/checked, scratch servers
  alerts      webhook and email
  logical     encrypted dumps, retention, restores of dumps, the drill
  pitr        pgBackRest: base backups, point-in-time extraction
  cli         the commands and the one-JSON-line report

The role installs the collection's plugins/plugin_utils/_masking.py and _retention.py into
this package beside these files.
"""
