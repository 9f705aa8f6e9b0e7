# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Processes chained by pipes (pg_dump | gpg, gpg | pg_restore) and GnuPG's command lines.
The passphrase reaches gpg through a pipe (--passphrase-fd): never a file or an argv."""

from __future__ import annotations

import os
import subprocess
import threading
import time


class Pipeline:
    """Processes chained stdout -> stdin; collects each one's stderr in the background.
    `stdin` is the first one's input: a stream, or PIPE to write it from here (self.stdin)."""

    def __init__(self, commands, stdin=None, env=None, pass_fds_for=None):
        self.procs, self.errors, self._threads = [], [], []
        self.stdin = None
        prev = stdin
        for index, (name, argv) in enumerate(commands):
            extra = (pass_fds_for or {}).get(name, ())
            proc = subprocess.Popen(argv, stdin=prev if prev is not None else subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, pass_fds=extra)
            if index == 0 and prev is subprocess.PIPE:
                self.stdin = proc.stdin
            elif prev is not None and index > 0:
                prev.close()  # the next process owns it now
            prev = proc.stdout
            self.procs.append((name, proc))
            buf = []
            self.errors.append(buf)
            thread = threading.Thread(target=lambda p=proc, b=buf: b.append(p.stderr.read()), daemon=True)
            thread.start()
            self._threads.append(thread)
        self.stdout = prev

    def close_stdin(self):
        if self.stdin is not None:
            try:
                self.stdin.close()
            except BrokenPipeError:
                pass

    def wait(self, timeout=None):
        """Wait for every process (all together at most `timeout` s, then each one left is killed);
        returns one line per failure."""
        failures = []
        deadline = None if timeout is None else time.monotonic() + timeout
        for (name, proc), buf, thread in zip(self.procs, self.errors, self._threads):
            try:
                rc = proc.wait(timeout=None if deadline is None else max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                failures.append("%s was still running after %g s and was stopped" % (name, timeout))
                continue
            thread.join(5)
            if rc != 0:
                err = b"".join(buf).decode("utf-8", "replace").strip()
                failures.append("%s exited with %s: %s" % (name, rc, err[-800:] or "(no output)"))
        return failures

    def kill(self):
        for _name, proc in self.procs:
            if proc.poll() is None:
                proc.kill()


def passphrase_fd(passphrase):
    """A pipe whose read end carries the passphrase to gpg (--passphrase-fd); never a file."""
    read_fd, write_fd = os.pipe()
    os.write(write_fd, passphrase.encode("utf-8"))
    os.close(write_fd)
    return read_fd


def gpg_argv(home, fd, decrypt=False):
    base = ["gpg", "--homedir", home, "--batch", "--quiet", "--no-tty", "--pinentry-mode", "loopback",
            "--passphrase-fd", str(fd)]
    if decrypt:
        return base + ["--decrypt"]
    return base + ["--symmetric", "--cipher-algo", "AES256", "--s2k-digest-algo", "SHA512",
                   "--compress-algo", "none", "--output", "-"]
