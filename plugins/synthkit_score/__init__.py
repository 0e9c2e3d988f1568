"""``synthkit score``: a detector's output scored against a run's ground-truth labels
(precision, recall and F1 per fault type, record by record and event by event)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from synthkit import hookimpl
from synthkit.api import Command, ConfigError

app = typer.Typer(add_completion=False)


@app.command(
    "score",
    rich_help_panel="Faults",
    epilog="Example: synthkit score --labels out/telemetry_rows.csv.labels.jsonl --detections alarms.jsonl",
)
def score_command(
    labels: Annotated[
        Path,
        typer.Option(
            "--labels",
            help="A run's labels (<output>.labels.jsonl), or the directory holding one.",
        ),
    ],
    detections: Annotated[
        Path,
        typer.Option(
            "--detections",
            help="The detector's flagged records: JSON lines or CSV, each with stream (or "
            "device_id/driver_id) and seq, and optionally fault (the type it calls it).",
        ),
    ],
) -> None:
    """Score a detector against the labels: precision, recall and F1 per fault type, per
    record and per event (a run of one fault's consecutive records). JSON on stdout, a
    table on stderr."""
    from synthkit.api import emit_json, read_labels
    from synthkit_score.score import score

    result = score(read_labels(_labels_file(labels)), detections)
    _show(result)
    emit_json(result)


def _labels_file(path: Path) -> Path:
    if path.is_dir():
        found = sorted(path.glob("*.labels.jsonl"))
        if len(found) != 1:
            raise ConfigError(
                f"{path}: {'no' if not found else len(found)} labels files in the directory",
                hint="give --labels the file itself (<output>.labels.jsonl)",
            )
        return found[0]
    return path


def _show(result: dict[str, Any]) -> None:
    from synthkit.api import stderr, table

    out = table(
        f"{Path(result['detections']).name} against {Path(result['labels']).name}",
        ("fault type", "records P", "R", "F1", "events P", "R", "F1"),
    )
    rows = {**result["by_type"], "(any)": result["any"]}
    for kind, row in rows.items():
        cells = [
            "-" if row[part][what] is None else f"{row[part][what]:.3f}"
            for part in ("records", "events")
            for what in ("precision", "recall", "f1")
        ]
        out.add_row(kind, *cells)
    stderr().print(out)


@hookimpl
def synthkit_register_commands() -> list[Command]:
    return [Command(name="score", app=app, help="Score a detector against labels.", top_level=True)]
