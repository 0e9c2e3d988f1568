"""The reservoir family's run records and its replayer.

A reservoir run's rows are a pure function of the scenario file, the window start, each
device's first seq and step: the recipe a run record keeps. Replaying regenerates the devices
that have gaps over the window up to their last missing seq and keeps exactly the missing
rows, so every payload is byte-identical to its first emission.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from synthkit.api import Batch, ConfigError, Plugins, Replayer, RunRecord
from synthkit_reservoir.family import NAME
from synthkit_reservoir.rows import columns_for

_KEY_BITS = 40  # a row's key: device index << 40 | seq - first seq (runs never reach 2**40 seqs)
_LAST_SECOND = 253_402_300_799  # 9999-12-31T23:59:59Z
_MAX_STEP_S = 366 * 86_400


def recipe(
    scenario_path: str, scenario_sha256: str | None, window_start_s: int, steps: Mapping[str, int]
) -> dict[str, Any]:
    """What :class:`ReservoirReplayer` needs from a run, beside its streams' first seqs."""
    return {
        "scenario": str(Path(scenario_path).resolve()),
        "scenario_sha256": scenario_sha256,
        "window_start_s": int(window_start_s),
        "steps": {d: int(s) for d, s in steps.items()},
    }


def base_record(
    command: str,
    loaded: Any,
    window_start_s: int,
    steps: Sequence[int],
    *,
    sink: str,
    target: str,
    live: bool = False,
    topic: str = "",
    store: str = "",
) -> RunRecord:
    """A run record for ``command`` over ``loaded``'s devices (streams filled in by the recorder)."""
    from synthkit.api import new_run_id
    from synthkit_reservoir.export import iso

    return RunRecord(
        run_id=new_run_id(command),
        command=command,
        family=NAME,
        streams={},
        seed=loaded.seed,
        scenario_id=loaded.scenario_id,
        scenario_sha256=loaded.sha256,
        window_start=iso(window_start_s),
        live=live,
        sink=sink,
        target=target,
        topic=topic,
        store=store,
        recipe=recipe(
            loaded.path,
            loaded.sha256,
            window_start_s,
            dict(zip((d.device_id for d in loaded.devices), steps)),
        ),
    )


class ReservoirReplayer(Replayer):
    topic = "devices/{device_id}/telemetry"

    def __init__(self, record: RunRecord, plugins: Plugins) -> None:
        from synthkit_reservoir.scenario import load_scenario

        self.record = record
        r = record.recipe
        try:
            path, self.start_s, self.steps = r["scenario"], r["window_start_s"], dict(r["steps"])
            if type(self.start_s) is not int or not 0 <= self.start_s <= _LAST_SECOND:
                raise ValueError(f"window_start_s {self.start_s!r} is not a time in 1970..9999")
            wrong = [
                d
                for d in record.streams
                if type(self.steps.get(d)) is not int or not 1 <= self.steps[d] <= _MAX_STEP_S
            ]
            if wrong:
                raise ValueError(
                    f"steps[{wrong[0]!r}] is {self.steps.get(wrong[0])!r}, not whole seconds in 1..{_MAX_STEP_S}"
                )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(
                f"run {record.run_id}: its record does not say how to regenerate its messages "
                f"(its recipe: {exc})",
                hint="it was edited, or written by another version of synthkit: restore it, or replay it with that version",
            ) from None
        if not Path(path).is_file():
            raise ConfigError(
                f"run {record.run_id} was generated from {path}, which is gone",
                hint="restore the scenario file the run used: payloads derive from it",
            )
        self.loaded = load_scenario(path, plugins)
        self.faults = self.loaded.faults  # re-applied: a faulted record replays as it was sent
        if self.loaded.sha256 != r.get("scenario_sha256"):
            raise ConfigError(
                f"{path} changed since run {record.run_id} (sha256 {self.loaded.sha256[:12]}..., "
                f"the run's {str(r.get('scenario_sha256'))[:12]}...): a replay would not be byte-identical",
                hint="restore the scenario as it was when the run ran (keep scenarios versioned)",
            )
        self.ids = [d.device_id for d in self.loaded.devices if d.device_id in record.streams]
        if sorted(self.ids) != sorted(record.streams):
            raise ConfigError(
                f"{path} no longer has every device of run {record.run_id}",
                hint="replay the run with the scenario it used",
            )
        self._columns = columns_for(self._run({}))

    @property
    def columns(self) -> tuple[str, ...]:
        return self._columns

    def payloads(self) -> Any:
        from synthkit_reservoir.family import FAMILY

        assert FAMILY.payloads is not None
        return FAMILY.payloads()

    def _run(self, last: Mapping[str, int]) -> Any:
        """The run's whole fleet (what one device emits may depend on the fleet it ran in),
        up to the last seq wanted."""
        from synthkit_reservoir.engine import FleetRun, Window

        ids = self.ids
        devices = [d for d in self.loaded.devices if d.device_id in self.record.streams]
        first = [self.record.streams[i].first_seq for i in ids]
        steps = [int(self.steps[i]) for i in ids]
        end_s = max(
            [self.start_s]
            + [self.start_s + (last[i] - f) * s for i, f, s in zip(ids, first, steps) if i in last]
        )
        return FleetRun(self.loaded, devices, steps, Window(self.start_s, end_s), first)

    def batches(self, missing: Mapping[str, Sequence[Sequence[int]]]) -> Iterator[Batch]:
        from synthkit_reservoir.rows import RowBuilder

        ids = self.ids  # scenario order, as the run emitted them
        wanted = {k: v for k, v in missing.items() if v}
        unknown = sorted(set(wanted) - set(ids))
        if unknown:
            raise ConfigError(
                f"run {self.record.run_id} has no device {unknown[0]}", hint="check the ranges"
            )
        if not wanted:
            return
        run = self._run({i: max(int(hi) for _, hi in r) for i, r in wanted.items()})
        builder = RowBuilder(run)
        first = np.array([self.record.streams[i].first_seq for i in ids], np.int64)
        lo_keys, hi_keys = [], []
        for d, i in enumerate(ids):
            for lo, hi in sorted((int(a), int(b)) for a, b in wanted.get(i, ())):
                lo_keys.append((d << _KEY_BITS) | (lo - int(first[d])))
                hi_keys.append((d << _KEY_BITS) | (hi - int(first[d])))
        lo_arr, hi_arr = np.array(lo_keys, np.int64), np.array(hi_keys, np.int64)
        for block in run.blocks():
            key = (block.device << _KEY_BITS) | (block.seq - first[block.device])
            at = np.searchsorted(lo_arr, key, side="right") - 1
            keep = (at >= 0) & (key <= hi_arr[np.maximum(at, 0)])
            if keep.any():
                rows = np.flatnonzero(keep)
                batch = builder.batch(block)
                yield (
                    batch if rows.size == batch.n else Batch([c.take(rows) for c in batch.columns])
                )
