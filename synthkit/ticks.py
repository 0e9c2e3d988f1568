"""A family whose devices emit on a fixed interval needs no commands of its own: it declares
``Family.ticks(fleet, first_seqs, origin_s)``, which returns a :class:`TickRun`, and the core
exports any window of it to any file sink (``synthkit export``), runs it live through any
broker sink (``synthkit live``, with a run record), previews it (``synthkit dry-run``) and
replays any of its live runs byte for byte (:class:`TickReplayer`).

Tick ``k`` of a run is the instant ``origin_s + k * fleet.interval_s`` (a ticks family's
fleet declares its interval, so a window is laid out before any run is built); stream ``i`` emits there the
record with seq ``first_seqs[i] + k``. ``batch(k0, n)`` is called with consecutive ticks from
0 (each call's ``k0`` is the last call's ``k0 + n``), so a model may carry its state from tick
to tick (an energy register): what one tick emits is then a pure function of the scenario,
the stream and the ticks before it, and replay makes a run again from its tick 0.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from synthkit.errors import ConfigError, PluginError
from synthkit.replay import Missing, Replayer

if TYPE_CHECKING:
    from synthkit.batch import Batch
    from synthkit.fleets import Fleet
    from synthkit.plugins import Plugins
    from synthkit.records import Family
    from synthkit.runs import RunRecord

BATCH_ROWS = 50_000  # rows per batch an export asks for (whole ticks)


class TickRun(Protocol):
    """What ``Family.ticks(fleet, first_seqs, origin_s)`` returns."""

    @property
    def columns(self) -> tuple[str, ...]: ...
    def batch(self, k0: int, n: int) -> Batch:
        """Ticks ``k0 .. k0+n-1``, tick-major, streams in the fleet's order."""
        ...


class ModelTicks:
    """The ``TickRun`` of a family whose device models are vectorised (ticks
    ``fleet.interval_s`` apart): each model's ``factory(stream_ids, params, seed, interval_s)``
    returns an object whose ``emit(k0, n,
    origin_s)`` gives ticks ``k0..k0+n-1`` of its devices as ``{column: array}``, tick-major
    (NaN: absent), for the columns the model declares. Rows: ``stream_column``, ``seq``,
    ``time_column`` (ISO UTC), the models' columns, ``archetype``."""

    def __init__(
        self,
        fleet: Fleet,
        first_seqs: Sequence[int],
        origin_s: int,
        *,
        stream_column: str = "device_id",
        time_column: str = "ts",
    ) -> None:
        from synthkit.records import FieldSpec

        devices = fleet.devices
        self.ids = tuple(d.device_id for d in devices)
        self.first_seq = np.array(first_seqs, np.int64)
        self.origin_s = origin_s
        self.interval_s = interval_s = int(fleet.interval_s)  # type: ignore[attr-defined]
        self.names = (stream_column, time_column)
        archetypes = sorted({d.archetype.name for d in devices})
        self.archetypes = tuple(archetypes)
        self.arch_code = np.array([archetypes.index(d.archetype.name) for d in devices], np.int64)
        by_model: dict[str, list[int]] = {}
        for i, d in enumerate(devices):
            by_model.setdefault(d.model.name, []).append(i)
        self.groups: list[tuple[Any, np.ndarray]] = []
        specs: dict[str, FieldSpec] = {}
        for idx in by_model.values():
            model = devices[idx[0]].model
            params = [getattr(devices[i], "params", None) for i in idx]
            sim = model.factory([self.ids[i] for i in idx], params, fleet.seed, interval_s)
            self.groups.append((sim, np.array(idx, np.int64)))
            specs.update((c.name, c) for c in model.columns if c.name not in specs)
        self.specs = tuple(specs.values())
        self.columns = (
            stream_column,
            "seq",
            time_column,
            *(c.name for c in self.specs),
            "archetype",
        )

    def batch(self, k0: int, n: int) -> Batch:
        from synthkit.batch import Batch, Column
        from synthkit.isotime import iso_seconds

        streams = len(self.ids)
        values = {c.name: np.full(n * streams, np.nan) for c in self.specs}
        for sim, idx in self.groups:  # each model's rows into their tick-major places
            rows = (np.arange(n)[:, None] * streams + idx[None, :]).ravel()
            for name, column in sim.emit(k0, n, self.origin_s).items():
                values[name][rows] = column
        stream = np.tile(np.arange(streams, dtype=np.int64), n)
        k = np.repeat(np.arange(k0, k0 + n, dtype=np.int64), streams)
        at = iso_seconds(self.origin_s + k * self.interval_s)
        cols = [
            Column(self.names[0], "label", stream, labels=self.ids),
            Column("seq", "int", self.first_seq[stream] + k),
            Column(self.names[1], "fixed", at, type="timestamp"),
        ]
        for spec in self.specs:
            v = values[spec.name]
            ok = ~np.isnan(v)
            present = None if ok.all() else ok
            if spec.kind == "decimal":
                filled = np.where(ok, v, 0.0)
                cols.append(
                    Column(spec.name, "decimal", filled, decimals=spec.decimals, present=present)
                )
            else:
                filled = np.where(ok, v, 0).astype(np.int64)
                cols.append(Column(spec.name, "int", filled, present=present))
        cols.append(Column("archetype", "label", self.arch_code[stream], labels=self.archetypes))
        return Batch(cols)


def iso(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def interval_of(family: Family, fleet: Fleet) -> int:
    """The seconds between a ticks family's ticks (its fleet's ``interval_s``), checked."""
    if family.ticks is None:
        raise ConfigError(
            f"family {family.name!r} does not emit on ticks: it has commands of its own",
            hint="see `synthkit --help` for the family's commands",
        )
    interval = getattr(fleet, "interval_s", None)
    if not isinstance(interval, int) or interval < 1:
        raise PluginError(
            f"family {family.name!r}: its fleet's interval_s is {interval!r}, not whole seconds >= 1",
            hint="a ticks family's loader returns a fleet with interval_s (synthkit.api.Fleet)",
        )
    return interval


def tick_run(family: Family, fleet: Fleet, first_seqs: Sequence[int], origin_s: int) -> TickRun:
    interval_of(family, fleet)
    assert family.ticks is not None  # interval_of refused a family without ticks
    return family.ticks(fleet, list(first_seqs), origin_s)


def tick_batches(run: TickRun, streams: int, first: int, count: int) -> Iterator[Batch]:
    """Ticks ``first .. first+count-1``, whole ticks of about ``BATCH_ROWS`` rows a batch."""
    per = max(1, BATCH_ROWS // max(1, streams))
    for k0 in range(first, first + count, per):
        yield run.batch(k0, min(per, first + count - k0))


def preview(
    family: Family, fleet: Fleet, start_s: int, steps: int, state_file: Path
) -> dict[str, list[dict[str, Any]]]:
    """``dry-run`` for a ticks family: each stream's first ``steps`` records from the tick at
    or before ``start_s``, numbered from the state file's next seqs (nothing reserved)."""
    from synthkit.state import SeqState

    state = SeqState.load(state_file)
    ids = [d.device_id for d in fleet.devices]
    interval = interval_of(family, fleet)
    first = [state.next_seq(d) for d in ids]
    run = tick_run(family, fleet, first, start_s // interval * interval)
    samples: dict[str, list[dict[str, Any]]] = {d: [] for d in ids}
    for batch in tick_batches(run, len(ids), 0, steps):
        for row in batch.rows():
            samples[str(row.pop(family.stream_column))].append(row)
    return samples


def recipe(fleet: Fleet, origin_s: int) -> dict[str, Any]:
    """What a ticks run's record keeps to make any of its records again."""
    return {"scenario": fleet.path, "scenario_sha256": fleet.sha256, "origin_s": origin_s}


class TickReplayer(Replayer):
    """Any records of a ticks family's run, made again from its tick 0, byte for byte."""

    def __init__(self, family: Family, record: RunRecord, plugins: Plugins) -> None:
        recipe, self.family = record.recipe, family
        path, origin_s = recipe.get("scenario"), recipe.get("origin_s")
        if not isinstance(path, str) or type(origin_s) is not int:
            raise ConfigError(
                f"run {record.run_id}: its record does not say how to make its records again",
                hint="it was edited, or written by another version of synthkit: restore it",
            )
        if not Path(path).is_file():
            raise ConfigError(
                f"run {record.run_id} was generated from {path}, which is gone",
                hint="restore the scenario file the run used: its records derive from it",
            )
        assert family.load is not None  # a ticks family declares its loader
        fleet = family.load(path, plugins)
        if fleet.sha256 != recipe.get("scenario_sha256"):
            raise ConfigError(
                f"{path} changed since run {record.run_id}: a replay would not be byte-identical",
                hint="restore the scenario as it was when the run ran (keep scenarios versioned)",
            )
        self.ids = [d.device_id for d in fleet.devices]
        self.first = {s: r.first_seq for s, r in record.streams.items()}
        self.run = tick_run(family, fleet, [self.first.get(d, 0) for d in self.ids], origin_s)
        self.client_column, self.topic = family.stream_column, family.topic

    @property
    def columns(self) -> tuple[str, ...]:
        return self.run.columns

    def payloads(self) -> Any:
        """The family's message codec (``Family.payloads``), as the live run sent."""
        return self.family.payloads() if self.family.payloads is not None else None

    def batches(self, missing: Missing) -> Iterator[Batch]:
        from synthkit.batch import Batch

        wanted = {s: [(lo, hi) for lo, hi in rs] for s, rs in missing.items() if rs}
        if not wanted:
            return
        last = max(hi - self.first[s] for s, rs in wanted.items() for _, hi in rs)
        for batch in tick_batches(self.run, len(self.ids), 0, last + 1):
            stream = batch.column(self.family.stream_column)
            seq = batch.column(self.family.seq_column).values
            names = np.asarray(stream.labels, dtype=object)[stream.values]
            keep = np.zeros(batch.n, bool)
            for s, ranges in wanted.items():
                mine = names == s
                for lo, hi in ranges:
                    keep |= mine & (seq >= lo) & (seq <= hi)
            if keep.any():
                rows = np.flatnonzero(keep)
                yield Batch([c.take(rows) for c in batch.columns])
