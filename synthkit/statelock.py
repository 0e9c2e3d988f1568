"""The state file's lock: an exclusive ``flock`` on ``<state>.lock`` that names its holder
(pid, host, command), so a second process that would reuse the same seqs fails at once with
that name; the lock file, and directories the holder had to create, go when it releases.

The shards of one run (``--shard K/N``) hold it shared, each with its own shard's file held
exclusively: they run side by side, and a run of the whole fleet waits for none of them."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
import time
from pathlib import Path

from synthkit.errors import ConfigError, OutputError
from synthkit.files import bookkeeping, missing_parents


class StateLock:
    """A flock on ``<state>.lock``: exclusive (naming its holder), or ``shared``."""

    def __init__(
        self, path: Path, fd: int, created: list[Path], guards: Path, shared: bool = False
    ) -> None:
        self.path, self.fd, self.created = path, fd, created
        self.guards, self.shared = guards, shared  # the state file it guards

    @classmethod
    def acquire(cls, state_path: Path, *, shared: bool = False) -> StateLock:
        path = state_path.with_name(state_path.name + ".lock")
        created = missing_parents(path.parent)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"cannot create {path.parent} for the state file: {exc.strerror}",
                hint="check --state-file",
            ) from None
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(fd)
                os.close(fd)
                raise ConfigError(
                    f"{state_path} is held by another synthkit process ({holder})",
                    hint="wait for it to finish, or give this command another --state-file",
                ) from None
            # a releasing holder may have removed the file after we opened it: lock the new one
            try:
                same = os.fstat(fd).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        if shared:  # several hold it: none names itself (each shard's own lock does)
            return cls(path, fd, created, state_path, shared=True)
        own = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": int(time.time()),
            "command": _shown_command(),
        }
        try:
            with bookkeeping(path, "the state's lock file"):
                os.fchmod(fd, 0o600)  # a lock file an older version made readable by all
                os.ftruncate(fd, 0)
                os.pwrite(fd, json.dumps(own).encode(), 0)
        except OutputError:
            lock = cls(path, fd, created, state_path)
            lock.release(keep=state_path.exists())
            raise
        return cls(path, fd, created, state_path)

    @staticmethod
    def is_held(path: Path) -> bool:
        """Whether another process holds the lock file ``path`` now."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return False
        except BlockingIOError:
            return True
        finally:
            os.close(fd)

    def release(self, *, keep: bool) -> None:
        """Unlock; without a state file to guard (nothing was ever saved) the lock file and
        the directories made for it go too, so a failed command leaves no trace."""
        try:
            if self.shared:  # others may hold it too: it goes only if this was the last
                try:
                    fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return
                keep = keep or self.path.stat().st_size > 0
            if not keep:
                self.path.unlink(missing_ok=True)
                for directory in reversed(self.created):
                    with contextlib.suppress(OSError):
                        directory.rmdir()  # only if empty
            else:
                os.ftruncate(self.fd, 0)
        finally:
            os.close(self.fd)


def _shown_command() -> str:
    """This process's command line as the lock may show it to another: database passwords
    and secret parameters masked (the lock outlives a kill -9, and its holder is printed)."""
    from synthkit.secrets import hide_in_url, scrub

    return scrub(hide_in_url(" ".join(["synthkit", *sys.argv[1:]])))[:200]


def _read_holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return f"pid {info['pid']} on {info['host']}, running `{info.get('command', '?')}`"
    except (OSError, ValueError, KeyError, TypeError):
        return "shard runs (--shard K/N), or a process that did not name itself"
