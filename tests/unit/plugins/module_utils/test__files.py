import os

import pytest

from ansible_collections.launchbay.webstack.plugins.module_utils import _files
from ansible_collections.launchbay.webstack.plugins.module_utils._files import write_atomically


def test_replaces_the_file_with_the_mode(tmp_path):
    path = tmp_path / "f.json"
    path.write_text("old")
    write_atomically(str(path), "new", 0o600)
    assert path.read_text() == "new" and oct(os.stat(path).st_mode & 0o777) == "0o600"
    assert os.listdir(tmp_path) == ["f.json"]


def test_a_failure_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "f.json"
    path.write_text("old")

    def broken_replace(_src, _dst):
        raise OSError("disk full")

    monkeypatch.setattr(_files.os, "replace", broken_replace)
    with pytest.raises(OSError):
        write_atomically(str(path), "new")
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["f.json"]
