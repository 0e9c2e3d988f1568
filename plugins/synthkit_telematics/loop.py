"""The closed loop of a telematics run that delivers (to an endpoint, a database, a broker):
each driver's events numbered on from the state file, seqs reserved ahead of the sink as the
reservoir's runs reserve theirs, and a run record whose recipe regenerates any of them byte
for byte (:class:`TelematicsReplayer`, what ``synthkit replay`` uses).

A file written by ``telematics generate`` keeps no state: its seqs start at 0, and the same
inputs give the same bytes. A delivering run counts on: ``generate --out URL``, ``stream``
into an ingest sink and ``publish`` each take every driver's next seq from the state file,
so a second run's events never look like the first's to a store that dedupes on
(driver_id, seq)."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from synthkit.api import (
    ConfigError,
    Reservation,
    Run,
    RunLog,
    RunRecord,
    RunRecorder,
    SeqState,
    Shard,
    new_run_id,
    runs_dir,
)
from synthkit_telematics.config import TelematicsConfig
from synthkit_telematics.fleet_shard import driver_events
from synthkit_telematics.generator import TelematicsGenerator, driver_labels

RESERVE_ROWS = 65_536  # seqs reserved per save, over all drivers: a save per batch or so


@contextlib.contextmanager
def first_seqs(
    state_file: Path, drivers: int, shard: Shard | None = None
) -> Iterator[tuple[SeqState, list[int]]]:
    """The state, held for the run (``shard``: that shard's own file), and each driver's
    next seq in it."""
    with SeqState.held(state_file, shard=shard) as state:
        yield state, [state.next_seq(d) for d in driver_labels(drivers)]


def recipe(
    generator: TelematicsGenerator,
    options_file: Path | None,
    id_salt: str,
    stamps: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What regenerates a run's events: its config, the options file (by path and sha256),
    the event types and the weights they had, the identifiers' salt, and how a live feed
    stamped its events (``stamps``: clock, started_ms, interval_ms, rows per stamp)."""
    config = generator.config
    return {
        "config": config.model_dump(mode="json", exclude={"context"}),
        "options_file": str(options_file.resolve()) if options_file else None,
        "options_sha256": _sha256(options_file) if options_file else None,
        "event_types": dict(zip(generator.type_names, generator.base_weights.tolist())),
        "id_salt": id_salt,
        "stamps": stamps or {"clock": "simulated"},
    }


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Recorded:
    """A delivering run's reservation and record: :meth:`reserve` before the sink is handed a
    batch, :meth:`taken` once it took it, :meth:`settle` at the end (as ``synthkit.api.
    Reservation``). ``planned``: the events the run will emit (None: until stopped)."""

    def __init__(
        self,
        run: Run,
        state: SeqState,
        state_file: Path,
        generator: TelematicsGenerator,
        *,
        command: str,
        sink: str,
        target: str,
        recipe: dict[str, Any],
        planned: int | None,
        live: bool,
        topic: str = "",
        store: str = "",
    ) -> None:
        ids, first = generator.driver_labels, generator.first_seq
        record = RunRecord(
            run_id=new_run_id(command),
            command=command,
            family="telematics",
            streams={},
            seed=generator.config.seed,
            window_start=generator.config.start.isoformat().replace("+00:00", "Z"),
            live=live,
            sink=sink,
            target=target,
            topic=topic,
            store=store,
            recipe=recipe,
        )
        self.recorder = RunRecorder(RunLog(runs_dir(state_file)), run.recorded(record), ids, first)
        n = len(ids)
        ceiling = None if not planned else first + driver_events(planned, n) - 1
        ahead = np.full(n, max(1, RESERVE_ROWS // n))
        self.reservation = Reservation(
            state, ids, ahead, ceiling, self.recorder, columns=("driver_id", "seq")
        )

    @property
    def record(self) -> RunRecord:
        return self.recorder.record

    def reserve(self, batch: Any) -> None:
        self.reservation.reserve_batch(batch)

    def taken(self, batch: Any) -> None:
        self.reservation.taken_batch(batch)

    def settle(self, status: str) -> None:
        self.reservation.settle(status)


def config_of(record: RunRecord, plugins: Any) -> tuple[TelematicsConfig, dict[str, Any]]:
    """The config a run record's recipe describes (its options file checked unchanged), and
    the recipe; a ConfigError naming what no longer matches."""
    from synthkit_telematics.context import read_context

    recipe = dict(record.recipe or {})
    if "config" not in recipe or "event_types" not in recipe:
        raise ConfigError(
            f"run {record.run_id} was recorded by an older synthkit, without a recipe to replay",
            hint="replay runs recorded by this version",
        )
    context = None
    path = recipe.get("options_file")
    if path:
        if not Path(path).is_file():
            raise ConfigError(
                f"run {record.run_id} read the options file {path}, which is gone",
                hint="restore it: the run's events derive from it",
            )
        if _sha256(Path(path)) != recipe.get("options_sha256"):
            raise ConfigError(
                f"{path} changed since run {record.run_id}: a replay would not be byte-identical",
                hint="restore the options file as it was when the run ran",
            )
        context = read_context(Path(path))
    known = plugins.event_types()
    names = list(recipe["event_types"])
    if list(known) != names:
        raise ConfigError(
            f"run {record.run_id} had the event types {', '.join(names)}; "
            f"this installation has {', '.join(known)}",
            hint="install (or enable) the event-type plugins the run had",
        )
    config = TelematicsConfig(**{**recipe["config"], "context": context})
    return config, recipe
