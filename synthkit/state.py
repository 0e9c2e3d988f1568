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
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from synthkit.errors import ConfigError
from synthkit.files import AtomicFile, bookkeeping
from synthkit.runs import MAX_SEQ
from synthkit.shards import Shard
from synthkit.statelock import StateLock

VERSION = 1
RUN_SEQS = 2**40  # the most seqs one run hands a stream (run --iterations is capped there)
SEQ_LIMIT = MAX_SEQ - RUN_SEQS  # the highest last seq a state may hold: the next run still fits


class SeqState:
    """``last_seq(device)`` -> the last seq used (-1 if none); ``next_seq`` the one to use."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        last: Mapping[str, int] | None = None,
        shard: Shard | None = None,
    ):
        self.main = Path(path)  # the state file the command was given (its run records beside)
        self.shard = shard
        self.path = shard_state(self.main, shard)  # where this state saves
        self.last: dict[str, int] = dict(last or {})
        self._loaded = dict(self.last)  # what the file said when this run began
        self._existed = self.path.exists()
        self._raw: bytes | None = (
            None  # the file's bytes when loaded: restored when all is given back
        )
        self._held: StateLock | None = None
        self._changed = False  # advanced since loaded: save() has something to write

    @classmethod
    def load(cls, path: str | os.PathLike[str], shard: Shard | None = None) -> SeqState:
        """Read the state without holding it (for commands that reserve nothing): the file
        and its shards' files (``<state>.shards/``), each stream at the highest seq any says;
        with ``shard``, a state that saves into that shard's file."""
        main = Path(path)
        state = cls(main, shard=shard)
        for p in [main, *sorted(shards_dir(main).glob("*-of-*.json"))]:
            raw = _read_file(p)
            if raw is None:
                continue
            for device, seq in _parse(p, raw).items():
                state.last[device] = max(seq, state.last.get(device, -1))
            if p == state.path:
                state._raw = raw
        state._loaded = dict(state.last)
        return state

    @classmethod
    @contextlib.contextmanager
    def held(
        cls, path: str | os.PathLike[str], *, check: bool = True, shard: Shard | None = None
    ) -> Iterator[SeqState]:
        """The state, locked against every other process until the block ends (raises
        :class:`ConfigError` naming the holder when another process has it, or, with
        ``check``, when the state is behind its run records). With ``shard`` (``--shard
        K/N``), only that shard's file is held: the shards of one run, whose streams never
        overlap, run side by side, and an unsharded run waits for none of them to be on."""
        main = Path(path)
        locks = [StateLock.acquire(main, shared=shard is not None)]
        try:
            if shard is not None:
                locks.append(StateLock.acquire(shard_state(main, shard)))
                _refuse_other_counts(main, shard)
            state = cls.load(main, shard)
            if check:
                state.require_ahead_of_records()
            state._held = locks[-1]
            yield state
        finally:
            for lock in reversed(locks):
                lock.release(keep=lock.guards.exists())
                if lock.guards != main:  # the last shard out takes the shards' directory
                    with contextlib.suppress(OSError):
                        shards_dir(main).rmdir()

    def require_ahead_of_records(self) -> None:
        """Refuse a state behind the run records beside it: a lost or reset state file would
        hand out seqs that runs already used, and ingestion would drop the new data as
        duplicates in silence."""
        from synthkit.runs import RunLog, runs_dir

        highs: dict[str, tuple[int, str]] = {}
        for record in RunLog(runs_dir(self.main)).records():
            for stream, r in record.streams.items():
                if r.count and r.last_seq > highs.get(stream, (-1, ""))[0]:
                    highs[stream] = (r.last_seq, record.run_id)
        self.require_ahead_of(
            {k: v[0] for k, v in highs.items()},
            f"its run records in {runs_dir(self.main)}",
            {k: v[1] for k, v in highs.items()},
            fix="restore the state file from a backup (or give the --state-file those runs "
            "used); if it was reset on purpose, `synthkit runs --catch-up-state` moves each "
            "stream past its recorded seqs; if a record was edited, restore or remove it",
        )

    def require_ahead_of(
        self,
        highs: Mapping[str, int],
        where: str,
        runs: Mapping[str, str] | None = None,
        *,
        fix: str,
    ) -> None:
        """ConfigError when a stream's ``highs`` (the highest seq ``where`` holds) is not below
        the next seq this state hands out."""
        behind = sorted(d for d, high in highs.items() if high >= self.next_seq(d))
        if not behind:
            return
        shown = "; ".join(
            f"{d}: seq {highs[d]} used{f' (run {runs[d]})' if runs and d in runs else ''}, the state's next is "
            f"{self.next_seq(d)}"
            for d in behind[:3]
        )
        more = f" (and {len(behind) - 3} more)" if len(behind) > 3 else ""
        raise ConfigError(
            f"{self.path} is behind {where}: {shown}{more}; its seqs would repeat, and the store "
            "would drop the new data as duplicates",
            hint=fix,
        )

    def next_seq(self, device_id: str) -> int:
        return self.last.get(device_id, -1) + 1

    def advance(self, device_id: str, last_seq: int) -> None:
        """Record ``last_seq`` as used; numbers only ever move forward."""
        if not 0 <= int(last_seq) <= MAX_SEQ:
            raise ConfigError(f"seq {last_seq} for device {device_id} is out of range 0..{MAX_SEQ}")
        if int(last_seq) > self.last.get(device_id, -1):
            self.last[device_id] = int(last_seq)
            self._changed = True

    def give_back(self, device_id: str, last_used: int) -> None:
        """Return what this run reserved past ``last_used`` (never below what the file said
        when the run began): only while held, for seqs reserved but never handed out."""
        if self._held is None:
            raise RuntimeError("give_back needs the state held")
        keep = max(int(last_used), self._loaded.get(device_id, -1))
        if keep < self.last.get(device_id, -1):
            if keep < 0:
                del self.last[device_id]
            else:
                self.last[device_id] = keep
            self._changed = True

    def save(self) -> None:
        """Write what was advanced (nothing, and no file, when nothing was)."""
        if not self._changed:
            return
        if self._held is not None:
            if not self._existed and self.last == self._loaded:  # all given back: no trace
                self.path.unlink(missing_ok=True)
                self._changed = False
                return
            self._write()
            return
        with SeqState.held(
            self.main, check=False, shard=self.shard
        ) as on_disk:  # a one-off save takes the lock briefly
            for device, seq in on_disk.last.items():  # never move a device backwards
                self.advance(device, seq)
            self._write()
        self._changed = False

    def _write(self) -> None:
        with bookkeeping(self.path, "the state file"):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            f = AtomicFile(self.path, durable=True)
            try:
                body = {"version": VERSION, "devices": dict(sorted(self.last.items()))}
                given_back = self._raw if self.last == self._loaded else None
                f.write(
                    given_back
                    if given_back is not None
                    else json.dumps(body, indent=1).encode() + b"\n"
                )
            except BaseException:
                f.abort()
                raise
            f.commit()
        self._changed = False


def shards_dir(main: Path) -> Path:
    """Where the shards of ``--shard K/N`` runs keep their states, beside the state file."""
    return main.with_name(main.name + ".shards")


def shard_state(main: Path, shard: Shard | None) -> Path:
    return main if shard is None else shards_dir(main) / f"{shard.k}-of-{shard.n}.json"


def _refuse_other_counts(main: Path, shard: Shard) -> None:
    """Shards of another count (2/4 beside 1/2) would share streams: refuse while one is on."""
    for lock in shards_dir(main).glob("*-of-*.json.lock"):
        if lock.name.split("-of-")[1] != f"{shard.n}.json.lock" and StateLock.is_held(lock):
            other = lock.name.removesuffix(".json.lock").replace("-of-", "/")
            raise ConfigError(
                f"{main}: shard {other} is running, and shards of another count than {shard.n} "
                "would share its streams",
                hint=f"run the shards of one count at a time (--shard K/{other.split('/')[1]}), "
                "or give this run another --state-file",
            )


def _read_file(p: Path) -> bytes | None:
    try:
        return p.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _unreadable(p, exc) from None


def _parse(p: Path, raw: bytes) -> dict[str, int]:
    try:
        doc = json.loads(raw.decode("utf-8"))
        devices = doc["devices"]
        if doc.get("version") != VERSION or not isinstance(devices, dict):
            raise ValueError(f"unsupported version {doc.get('version')!r}")
        return {str(k): _seq_value(k, v) for k, v in devices.items()}
    except (ValueError, KeyError, TypeError) as exc:  # UnicodeDecodeError is a ValueError
        raise _unreadable(p, exc) from None


def _unreadable(p: Path, exc: Exception) -> ConfigError:
    return ConfigError(
        f"{p}: not a readable sequence state file ({exc})",
        hint="restore it from a backup; deleting it restarts every device at seq 0, "
        "which ingestion will treat as duplicates",
    )


def _seq_value(device: object, value: object) -> int:
    # bool is an int in Python and 5.7 or 1e30 would be coerced: only a whole JSON number counts
    if type(value) is not int or not -1 <= value <= SEQ_LIMIT:
        raise ValueError(
            f"device {device!r}: last seq {value!r} is not a whole number in -1..{SEQ_LIMIT} "
            "(2**63 - 2**40: room for one more run below the int64 limit)"
        )
    return value
