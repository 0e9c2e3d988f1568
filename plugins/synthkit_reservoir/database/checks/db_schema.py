"""db_schema: the reference tables exist, each with every column ingestion writes."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from synthkit import hookimpl
from synthkit.api import Finding, PreflightCheck
from synthkit_reservoir.database.snapshot import SUBJECT, snapshot_for
from synthkit_reservoir.database.urls import url_flag


def run(subject: Any, context: Mapping[str, Any]) -> Iterator[Finding]:
    snap = snapshot_for(context)
    if snap.missing_tables:
        flag = url_flag(context["url"]) if "url" in context else ""
        yield Finding(
            "db_schema",
            "error",
            f"the database lacks table(s) {', '.join(snap.missing_tables)}",
            f"run `synthkit db init{flag}` (and `synthkit --scenario {subject.path} db register{flag}`)",
        )
    for table, columns in snap.missing_columns.items():
        yield Finding(
            "db_schema",
            "error",
            f"table {table} lacks column(s) {', '.join(columns)}",
            "restore them (see synthkit_reservoir/database/schema.py), or init a fresh database",
        )


@hookimpl
def synthkit_register_checks() -> list[PreflightCheck]:
    return [PreflightCheck("db_schema", (SUBJECT,), run, "the reference schema is present")]
