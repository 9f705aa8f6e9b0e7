#!/usr/bin/env python
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""launchbay backup tool: the entry point the backups role's timers and tasks run
(python3 /etc/launchbay/backups/launchbay_backup.py --config ... COMMAND). The tool itself is
the package lbbackup beside this file; `launchbay_backup.py --help` lists the commands."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from lbbackup.cli import main  # noqa: E402  (the package beside this file)

if __name__ == "__main__":
    sys.exit(main())
