"""Sequence state (section 6): the last ``seq`` used per device, kept across runs so that
``seq`` stays monotonic. Ingestion dedupes on (mqtt_client_id, seq), so reusing numbers would
make new data look like duplicates.

The file is JSON, written atomically and durably (temp file, fsync, rename, fsync of the
directory); an exclusive ``flock`` on a sibling ``.lock`` file keeps two writers apart.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from synthkit.errors import ConfigError
from synthkit.files import AtomicFile

VERSION = 1


class SeqState:
    """``last_seq(device)`` -> the last seq used (-1 if none); ``next_seq`` the one to use."""

    def __init__(self, path: str | os.PathLike[str], last: Mapping[str, int] | None = None):
        self.path = Path(path)
        self.last: dict[str, int] = dict(last or {})

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SeqState:
        p = Path(path)
        if not p.exists():
            return cls(p)
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
            devices = doc["devices"]
            if doc.get("version") != VERSION or not isinstance(devices, dict):
                raise ValueError(f"unsupported version {doc.get('version')!r}")
            last = {str(k): int(v) for k, v in devices.items()}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(
                f"{p}: not a readable sequence state file ({exc})",
                hint="restore it from a backup; deleting it restarts every device at seq 0, "
                "which ingestion will treat as duplicates",
            ) from None
        return cls(p, last)

    def next_seq(self, device_id: str) -> int:
        return self.last.get(device_id, -1) + 1

    def advance(self, device_id: str, last_seq: int) -> None:
        """Record ``last_seq`` as used; numbers only ever move forward."""
        self.last[device_id] = max(self.last.get(device_id, -1), int(last_seq))

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.locked():
            on_disk = SeqState.load(self.path).last if self.path.exists() else {}
            for device, seq in on_disk.items():  # never move a device backwards
                self.advance(device, seq)
            f = AtomicFile(self.path, durable=True)
            try:
                body = {"version": VERSION, "devices": dict(sorted(self.last.items()))}
                f.write(json.dumps(body, indent=1).encode() + b"\n")
            except BaseException:
                f.abort()
                raise
            f.commit()

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        lock = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ConfigError(
                    f"{self.path} is locked by another synthkit process",
                    hint="wait for it to finish, or use another --state-file",
                ) from None
            yield
        finally:
            os.close(fd)
