"""Steps a scenario's fleet through a time window and yields time-ordered batches.

Devices emit on their own grid from the window start: device d at ``start + k * step_d`` for
k = 0 .. floor((end - start) / step_d), i.e. about floor(window / step) + 1 points each, with
``seq = first_seq[d] + k``. Blocks cover a slice of time sized so a batch stays near
``BATCH_ROWS`` rows: memory is flat however long the window. Rows are ordered by time, then
by the device's order in the scenario.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np

from synthkit.api import ConfigError, DeviceModel, FieldSpec, ModelFault, PluginError
from synthkit_reservoir.fleet import Block
from synthkit_reservoir.layout import LAYOUT_COLUMNS
from synthkit_reservoir.scenario import LoadedScenario, ResolvedDevice

BATCH_ROWS = 65_536


@dataclass(frozen=True)
class Window:
    start_s: int  # epoch seconds of every device's first emission
    end_s: int  # no emission after this

    def points(self, step_s: int) -> int:
        return (self.end_s - self.start_s) // step_s + 1


@dataclass
class FleetBlock:
    """One block's emissions: device index (scenario order), seq, time, and model columns."""

    device: np.ndarray
    seq: np.ndarray
    time_s: np.ndarray
    columns: dict[str, np.ndarray]
    raw_readings: np.ndarray  # int64 (rows, samples), -1 where a device has fewer
    present: dict[str, np.ndarray]  # an int column some model lacks: which rows have it

    @property
    def rows(self) -> int:
        return int(self.device.shape[0])


class FleetRun:
    """Runs ``devices`` (a scenario's, or a subset) over ``window``; ``first_seq`` per device."""

    def __init__(
        self,
        loaded: LoadedScenario,
        devices: Sequence[ResolvedDevice],
        step_s: Sequence[int],
        window: Window,
        first_seq: Sequence[int],
    ) -> None:
        self.loaded = loaded
        self.devices = list(devices)
        self.window = window
        self.step_s = np.array(step_s, np.int64)
        self.first_seq = np.array(first_seq, np.int64)
        self.tick_s = int(np.gcd.reduce(self.step_s)) if len(self.step_s) else 60
        self.every = self.step_s // self.tick_s
        self.last_tick = (window.end_s - window.start_s) // self.tick_s
        # one simulator per device model, each over its own devices (kept in scenario order)
        self.groups: list[tuple[object, np.ndarray]] = []
        self.declared: list[frozenset[str]] = []  # per group: the columns its model declares
        by_model: dict[str, list[int]] = {}
        for i, dev in enumerate(self.devices):
            by_model.setdefault(dev.model.name, []).append(i)
        for idx in by_model.values():
            model = self.devices[idx[0]].model
            members = [self.devices[i] for i in idx]
            sim = model.factory(members, loaded.seed, [int(self.step_s[i]) for i in idx])
            self.groups.append((sim, np.array(idx, np.int64)))
            self.declared.append(frozenset(c.name for c in model.columns))
        self.model_faults = self._model_faults()
        self.extra = extra_columns([d.model for d in self.devices])
        self.max_samples = max((getattr(s, "max_samples", 1) for s, _ in self.groups), default=1)
        self.point_labels: tuple[str, ...] = ()
        for sim, _ in self.groups:
            self.point_labels += tuple(getattr(sim, "labels", {}).get("point_id", ()))

    def _model_faults(self) -> list[list[tuple[ModelFault, object, np.ndarray]]]:
        """Per model group: the faults its model acts on, each with its window and which of
        the group's devices it hits; a fault hitting a device of another model is refused."""
        plan = self.loaded.faults
        found: list[list[tuple[ModelFault, object, np.ndarray]]] = [[] for _ in self.groups]
        for f in plan.faults if plan else ():
            if not isinstance(f.fault, ModelFault):
                continue
            for d in self.devices:
                if d.device_id in f.streams and d.model.name != f.fault.model:
                    raise ConfigError(
                        f"fault {f.name!r} ({f.type}) acts on a {f.fault.model} model, and "
                        f"device {d.device_id!r} is a {d.model.name}",
                        hint="choose its devices by an archetype or group of that model",
                    )
            for k, (_, idx) in enumerate(self.groups):
                member = np.array([self.devices[i].device_id in f.streams for i in idx])
                if member.any():
                    found[k].append((f.fault, f.entry.window, member))
        return found

    def total_rows(self) -> int:
        return int(sum(self.window.points(int(s)) for s in self.step_s))

    def blocks(self, rows_per_block: int = BATCH_ROWS) -> Iterator[FleetBlock]:
        per_tick = float(np.sum(1.0 / self.every)) if len(self.every) else 1.0
        ticks = max(1, int(rows_per_block / max(per_tick, 1e-9)))
        tick0 = 0
        while tick0 <= self.last_tick:
            n = min(ticks, self.last_tick + 1 - tick0)
            yield self._block(tick0, n)
            tick0 += n

    def block(self, tick0: int, nticks: int) -> FleetBlock:
        """The emissions of ticks ``tick0 .. tick0 + nticks - 1``, asked for in order (each
        device's model carries its state from one block to the next); how the ticks are cut
        into blocks never changes the rows."""
        return self._block(tick0, nticks)

    def _block(self, tick0: int, nticks: int) -> FleetBlock:
        parts = []
        label_base = 0
        for k, ((sim, idx), declared) in enumerate(zip(self.groups, self.declared)):
            every = self.every[idx]
            row_device, row_tick = _grid(tick0, nticks, every)
            block = Block(
                self.window.start_s, self.tick_s, tick0, nticks, every, row_device, row_tick
            )
            block = self._with_faults(block, self.model_faults[k])
            cols = sim.emit(block)  # type: ignore[attr-defined]
            if cols.keys() != declared:
                _undeclared(self.devices[idx[0]].model.name, set(cols), declared)
            if "point_id" in cols:  # label codes are per model: shift into the run's list
                codes = cols["point_id"]
                cols["point_id"] = np.where(codes >= 0, codes + label_base, -1)
            label_base += len(getattr(sim, "labels", {}).get("point_id", ()))
            parts.append((idx[row_device], row_tick, cols))
        device = np.concatenate([p[0] for p in parts])
        tick = np.concatenate([p[1] for p in parts])
        order = None
        if len(parts) > 1:  # merge the models' time-major streams
            order = np.lexsort((device, tick))
            device, tick = device[order], tick[order]
        names = sorted({name for _, _, cols in parts for name in cols if name != "raw_readings"})
        columns: dict[str, np.ndarray] = {}
        present: dict[str, np.ndarray] = {}
        lengths = [len(p[0]) for p in parts]
        for name in names:
            arrays = [p[2].get(name) for p in parts]
            columns[name] = _merge(arrays, lengths, order)
            if any(a is None for a in arrays) and np.issubdtype(columns[name].dtype, np.integer):
                mask = np.concatenate([np.full(n, a is not None) for a, n in zip(arrays, lengths)])
                present[name] = mask[order] if order is not None else mask
        raw = np.full((len(device), self.max_samples), -1, np.int64)
        at = 0
        for _, _, cols in parts:
            r = cols["raw_readings"]
            raw[at : at + r.shape[0], : r.shape[1]] = r
            at += r.shape[0]
        if order is not None:
            raw = raw[order]
        k = (tick * self.tick_s) // self.step_s[device]
        return FleetBlock(
            device=device,
            seq=self.first_seq[device] + k,
            time_s=self.window.start_s + tick * self.tick_s,
            columns=columns,
            raw_readings=raw,
            present=present,
        )

    def _with_faults(self, block: Block, faults: list) -> Block:
        """``block`` with the rows each model fault hits (its devices, in its window: the
        same rule, from the same run start, as the fault stage's labels)."""
        if not faults:
            return block
        hits = []
        times = block.row_times()
        for fault, window, member in faults:
            hit = window.among(member[block.row_device], times, float(self.window.start_s))
            hits.append((fault, hit.rows if hit is not None else np.zeros(block.rows, bool)))
        return replace(block, faults=tuple(hits))


def extra_columns(models: Sequence[DeviceModel]) -> tuple[FieldSpec, ...]:
    """The columns models declare beyond the reservoir layout, in declaration order; two
    models declaring one name differently is refused."""
    extra: dict[str, tuple[FieldSpec, str]] = {}
    for model in models:
        for spec in model.columns:
            if spec.name in LAYOUT_COLUMNS:
                continue
            seen = extra.setdefault(spec.name, (spec, model.name))
            if seen[0] != spec:
                raise PluginError(
                    f"device models {seen[1]!r} and {model.name!r} declare column "
                    f"{spec.name!r} differently ({seen[0]} vs {spec})"
                )
    return tuple(spec for spec, _ in extra.values())


def _undeclared(model: str, emitted: set[str], declared: frozenset[str]) -> None:
    extra, missing = sorted(emitted - declared), sorted(declared - emitted)
    raise PluginError(
        f"device model {model!r} emitted "
        + "; ".join(
            p
            for p in (
                extra and f"undeclared column(s) {', '.join(extra)}",
                missing and f"none of its declared column(s) {', '.join(missing)}",
            )
            if p
        ),
        hint="DeviceModel.columns must list exactly what the simulator's emit() returns",
    )


def _grid(tick0: int, nticks: int, every: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(device, tick) of every emission in the block, time-major."""
    if np.all(every == every[0]):  # one cadence: a plain (tick, device) grid
        e = int(every[0])
        first = -(-tick0 // e) * e
        ticks = np.arange(first, tick0 + nticks, e, dtype=np.int64)
        n = len(every)
        return np.tile(np.arange(n, dtype=np.int64), len(ticks)), np.repeat(ticks, n)
    dev_parts, tick_parts = [], []
    for d, e in enumerate(every.tolist()):
        first = -(-tick0 // e) * e
        t = np.arange(first, tick0 + nticks, e, dtype=np.int64)
        dev_parts.append(np.full(len(t), d, np.int64))
        tick_parts.append(t)
    device, tick = np.concatenate(dev_parts), np.concatenate(tick_parts)
    order = np.lexsort((device, tick))
    return device[order], tick[order]


def _merge(arrays: list, lengths: list[int], order: np.ndarray | None) -> np.ndarray:
    """Concatenate one column over the models (NaN / -1 where a model lacks it), reordered."""
    dtype = next(a.dtype for a in arrays if a is not None)
    filler = -1 if np.issubdtype(dtype, np.integer) else np.nan
    full = np.concatenate(
        [a if a is not None else np.full(n, filler, dtype) for a, n in zip(arrays, lengths)]
    )
    return full[order] if order is not None else full


def export_window(loaded: LoadedScenario, end_s: int) -> tuple[Window, list[int]]:
    """The historical window of section 5: ``bootstrap.days`` back from ``end_s``; each
    device steps every max(cadence_seconds, bootstrap.step_minutes * 60) seconds."""
    boot = loaded.scenario.bootstrap
    steps = [max(d.cadence_seconds, boot.step_minutes * 60) for d in loaded.devices]
    return Window(end_s - boot.days * 86_400, end_s), steps
