"""Sequence state (section 6): the last ``seq`` used per device, kept across runs so that
``seq`` stays monotonic. Ingestion dedupes on (mqtt_client_id, seq), so reusing numbers would
make new data look like duplicates.

A command that uses seqs holds the state for its whole run (:meth:`SeqState.held`): an
exclusive ``flock`` on a sibling ``.lock`` file that names the holder (pid, host, command),
so a second process fails at once with that name instead of reusing the same numbers. The
file is JSON, written atomically and durably (temp file, fsync, rename, fsync of the
directory). A command that never saved leaves no trace: the lock file, and directories it
had to create, are removed again.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from synthkit.errors import ConfigError
from synthkit.files import AtomicFile

VERSION = 1
MAX_SEQ = 2**63 - 1  # seqs are int64 in payloads and databases


class SeqState:
    """``last_seq(device)`` -> the last seq used (-1 if none); ``next_seq`` the one to use."""

    def __init__(self, path: str | os.PathLike[str], last: Mapping[str, int] | None = None):
        self.path = Path(path)
        self.last: dict[str, int] = dict(last or {})
        self._held: _Lock | None = None
        self._changed = False  # advanced since loaded: save() has something to write

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SeqState:
        """Read the state without holding it (for commands that reserve nothing)."""
        p = Path(path)
        if not p.exists():
            return cls(p)
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
            devices = doc["devices"]
            if doc.get("version") != VERSION or not isinstance(devices, dict):
                raise ValueError(f"unsupported version {doc.get('version')!r}")
            last = {str(k): _seq_value(k, v) for k, v in devices.items()}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(
                f"{p}: not a readable sequence state file ({exc})",
                hint="restore it from a backup; deleting it restarts every device at seq 0, "
                "which ingestion will treat as duplicates",
            ) from None
        return cls(p, last)

    @classmethod
    @contextlib.contextmanager
    def held(cls, path: str | os.PathLike[str]) -> Iterator[SeqState]:
        """The state, locked against every other process until the block ends (raises
        :class:`ConfigError` naming the holder when another process has it)."""
        lock = _Lock.acquire(Path(path))
        try:
            state = cls.load(path)
            state._held = lock
            yield state
        finally:
            lock.release(keep=Path(path).exists())

    def next_seq(self, device_id: str) -> int:
        return self.last.get(device_id, -1) + 1

    def advance(self, device_id: str, last_seq: int) -> None:
        """Record ``last_seq`` as used; numbers only ever move forward."""
        if not 0 <= int(last_seq) <= MAX_SEQ:
            raise ConfigError(f"seq {last_seq} for device {device_id} is out of range 0..{MAX_SEQ}")
        if int(last_seq) > self.last.get(device_id, -1):
            self.last[device_id] = int(last_seq)
            self._changed = True

    def save(self) -> None:
        """Write what was advanced (nothing, and no file, when nothing was)."""
        if not self._changed:
            return
        if self._held is not None:
            self._write()
            return
        with SeqState.held(self.path) as on_disk:  # a one-off save takes the lock briefly
            for device, seq in on_disk.last.items():  # never move a device backwards
                self.advance(device, seq)
            self._write()
        self._changed = False

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        f = AtomicFile(self.path, durable=True)
        try:
            body = {"version": VERSION, "devices": dict(sorted(self.last.items()))}
            f.write(json.dumps(body, indent=1).encode() + b"\n")
        except BaseException:
            f.abort()
            raise
        f.commit()
        self._changed = False


def _seq_value(device: object, value: object) -> int:
    # bool is an int in Python and 5.7 or 1e30 would be coerced: only a whole JSON number counts
    if type(value) is not int or not -1 <= value <= MAX_SEQ:
        raise ValueError(f"device {device!r}: last seq {value!r} is not a whole number in -1..{MAX_SEQ}")
    return value


class _Lock:
    """An exclusive flock on ``<state>.lock``, which names its holder."""

    def __init__(self, path: Path, fd: int, created: list[Path]) -> None:
        self.path, self.fd, self.created = path, fd, created

    @classmethod
    def acquire(cls, state_path: Path) -> _Lock:
        path = state_path.with_name(state_path.name + ".lock")
        created = _missing_parents(path.parent)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create {path.parent} for the state file: {exc.strerror}",
                              hint="check --state-file") from None  # fmt: skip
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
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
        holder = {"pid": os.getpid(), "host": socket.gethostname(), "since": int(time.time()),
                  "command": " ".join(["synthkit", *sys.argv[1:]])[:200]}  # fmt: skip
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        return cls(path, fd, created)

    def release(self, *, keep: bool) -> None:
        """Unlock; without a state file to guard (nothing was ever saved) the lock file and
        the directories made for it go too, so a failed command leaves no trace."""
        try:
            if not keep:
                self.path.unlink(missing_ok=True)
                for directory in reversed(self.created):
                    with contextlib.suppress(OSError):
                        directory.rmdir()  # only if empty
            else:
                os.ftruncate(self.fd, 0)
        finally:
            os.close(self.fd)


def _missing_parents(directory: Path) -> list[Path]:
    """The directories that ``mkdir(parents=True)`` would create, outermost first."""
    missing = []
    while not directory.exists():
        missing.append(directory)
        if directory.parent == directory:
            break
        directory = directory.parent
    return list(reversed(missing))


def _read_holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return f"pid {info['pid']} on {info['host']}, running `{info.get('command', '?')}`"
    except (OSError, ValueError, KeyError, TypeError):
        return "pid unknown"
