# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""File helpers shared by the modules. Private: no API promise."""

from __future__ import annotations

import errno
import json
import os
import tempfile


def read_json(path, missing=None):
    """The JSON document in `path`, or `missing` when there is no such file. A file that is not
    JSON raises ValueError (each caller says what that means for it)."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return missing


def write_atomically(path, text, mode=0o644, prefix=".launchbay-", staging_dir=None):
    """Replace `path` with `text` in one rename: a reader sees the old file or the new one,
    never half of one. The temporary file is removed when anything fails.

    `staging_dir` (on the same filesystem) holds the temporary file instead of the target's
    folder: for a folder a program watches (Traefik's file provider reloads at the temporary
    file's creation, then holds the real change back for its 2 s throttle). When the rename
    across folders is not possible (another filesystem), the file is staged beside the target."""
    directory = os.path.dirname(path) or "."
    if staging_dir is not None:
        try:
            return _write_via(staging_dir, path, text, mode, prefix)
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.ENOENT, errno.EACCES, errno.EPERM):
                raise
    return _write_via(directory, path, text, mode, prefix)


def _write_via(directory, path, text, mode, prefix):
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=prefix, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
