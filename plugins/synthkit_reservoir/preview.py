"""dry-run's preview: each device's first emissions from a given hour, with their payloads,
computed the way export-csv and run compute them (the same fleet run and row builder), and
nothing reserved or written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from synthkit.api import SeqState
from synthkit_reservoir.engine import FleetRun, Window
from synthkit_reservoir.payload import preview_payloads
from synthkit_reservoir.rows import RowBuilder
from synthkit_reservoir.scenario import LoadedScenario


def preview_samples(
    loaded: LoadedScenario, start_s: int, steps_per_device: int, state_file: Path
) -> dict[str, list[dict[str, Any]]]:
    """device id -> its first ``steps_per_device`` emissions from ``start_s``, numbered from
    the state file's next seqs (read only: nothing is reserved)."""
    state = SeqState.load(state_file)
    steps = [d.cadence_seconds for d in loaded.devices]
    window = Window(start_s, start_s + (steps_per_device - 1) * max(steps))
    run = FleetRun(
        loaded, loaded.devices, steps, window, [state.next_seq(d.device_id) for d in loaded.devices]
    )
    builder = RowBuilder(run)
    samples: dict[str, list[dict[str, Any]]] = {d.device_id: [] for d in loaded.devices}
    for block in run.blocks():
        batch = builder.batch(block)
        for row, payload in zip(batch.rows(), preview_payloads(batch)):  # the codec's bytes
            per_device = samples[row["device_id"]]
            if len(per_device) < steps_per_device:
                per_device.append(_sample(row, payload))
    return samples


def _sample(row: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "seq": row["seq"],
        "received_at": row["received_at"],
        "level_pct": row["level_pct"],
        "liters": row["liters"],
        "raw_samples": payload["sensors"]["ultrasonic"]["raw_readings"],
        "payload": payload,
    }
