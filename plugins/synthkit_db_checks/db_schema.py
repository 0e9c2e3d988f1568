"""db_schema: the reference tables exist."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from synthkit_reference_db.snapshot import SUBJECT, snapshot_for

from synthkit import hookimpl
from synthkit.records import Finding, PreflightCheck


def run(subject: Any, context: Mapping[str, Any]) -> Iterator[Finding]:
    missing = snapshot_for(context).missing_tables
    if missing:
        yield Finding("db_schema", "error", f"the database lacks table(s) {', '.join(missing)}",
                      "run `synthkit db init` (and `synthkit --scenario ... db register`)")  # fmt: skip


@hookimpl
def synthkit_register_checks() -> list[PreflightCheck]:
    return [PreflightCheck("db_schema", (SUBJECT,), run, "the reference schema is present")]
