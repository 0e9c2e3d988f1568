"""What an export-csv shard (``--shard K/N``) says of its run: the inputs that make the
parts one run's, and the rows the whole run writes (for the executor's progress bar)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from synthkit.api import Run, SeqState
from synthkit_reservoir.engine import export_window
from synthkit_reservoir.scenario import LoadedScenario


def iso(t: datetime | int) -> str:
    if isinstance(t, int):
        t = datetime.fromtimestamp(t, UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def planned_rows(loaded: LoadedScenario, end: datetime) -> int:
    """The rows an export of the window ending at ``end`` writes (before faults)."""
    window, steps = export_window(loaded, int(end.timestamp()))
    return sum(window.points(step) for step in steps)


def part_about(
    run: Run, loaded: LoadedScenario, end_s: int, sink: str, options: Any, state: SeqState
) -> dict[str, Any]:
    """What makes the run's parts one run's: its inputs, and the seqs its devices start at."""
    return {
        "command": "export-csv",
        "scenario_sha256": loaded.sha256,
        "end_at": iso(end_s),
        "sink": sink,
        "sink_options": options.model_dump(mode="json"),
        "transforms": [*run.transforms, *run.transform_options],
        "state_sha256": hashlib.sha256(json.dumps(sorted(state.last.items())).encode()).hexdigest(),
    }
