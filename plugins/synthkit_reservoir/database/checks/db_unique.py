"""db_unique: telemetry is unique on (mqtt_client_id, seq), which dedupe relies on."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from synthkit import hookimpl
from synthkit.api import Finding, PreflightCheck
from synthkit_reservoir.database.snapshot import SUBJECT, snapshot_for


def run(subject: Any, context: Mapping[str, Any]) -> Iterator[Finding]:
    snap = snapshot_for(context)
    if "telemetry" not in snap.missing_tables and not snap.has_unique:
        yield Finding(
            "db_unique",
            "error",
            "telemetry has no unique constraint on (mqtt_client_id, seq): replays would store duplicates",
            "restore the constraint (see synthkit_reservoir/database/schema.py) before ingesting",
        )


@hookimpl
def synthkit_register_checks() -> list[PreflightCheck]:
    return [
        PreflightCheck("db_unique", (SUBJECT,), run, "telemetry dedupes on (mqtt_client_id, seq)")
    ]
