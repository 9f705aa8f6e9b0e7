"""Import the backup tool as the backups role installs it: the package lbbackup with the
collection's _masking.py and _retention.py copied into it (roles/backups/tasks/config.yml)."""

import os
import shutil
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))))))
INSTALLED = tempfile.mkdtemp(prefix="lbbackup-installed-")
shutil.copytree(os.path.join(REPO, "roles", "backups", "files", "lbbackup"), os.path.join(INSTALLED, "lbbackup"))
shutil.copy(os.path.join(REPO, "roles", "backups", "files", "launchbay_backup.py"), INSTALLED)
for helper in ("_masking.py", "_retention.py"):
    shutil.copy(os.path.join(REPO, "plugins", "plugin_utils", helper), os.path.join(INSTALLED, "lbbackup", helper))
sys.path.insert(0, INSTALLED)
