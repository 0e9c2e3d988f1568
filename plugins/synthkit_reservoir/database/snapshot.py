"""What the preflight checks read from the database, loaded once per command."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from synthkit.api import Finding, PreflightCheck

if TYPE_CHECKING:  # the checks register at every start; the scenario schema loads when they run
    from sqlalchemy import Engine

    from synthkit_reservoir.scenario import LoadedScenario, ResolvedDevice

SUBJECT = "reservoir_db"  # checks for a scenario against an ingestion database
SHOWN = 5  # device ids named per finding


@dataclass
class DbSnapshot:
    missing_tables: list[str]
    has_unique: bool
    missing_columns: dict[str, list[str]] = field(default_factory=dict)  # table -> columns
    devices: dict[str, Any] = field(default_factory=dict)  # device_id -> row
    reservoirs: dict[uuid.UUID, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, engine: Engine, *, rows: bool = True) -> DbSnapshot:
        """The schema as found (tables, columns, the dedupe constraint) and, with ``rows``,
        every device and reservoir."""
        # SQLAlchemy loads here, not when the checks register: most commands never need it
        from sqlalchemy import inspect, select

        from synthkit_reservoir.database.schema import devices, metadata, reservoirs

        insp = inspect(engine)
        present = set(insp.get_table_names())
        missing = sorted(set(metadata.tables) - present)
        lacking: dict[str, list[str]] = {}
        for name in sorted(set(metadata.tables) & present):
            have = {c["name"] for c in insp.get_columns(name)}
            absent = [c.name for c in metadata.tables[name].columns if c.name not in have]
            if absent:
                lacking[name] = absent
        has_unique = False
        if "telemetry" in present:
            has_unique = any(
                _is_key(u["column_names"]) for u in insp.get_unique_constraints("telemetry")
            ) or any(_is_whole_unique_index(i) for i in insp.get_indexes("telemetry"))
        snap = cls(missing, has_unique, lacking)
        if (
            rows
            and {"devices", "reservoirs"} <= present
            and not ({"devices", "reservoirs"} & set(lacking))
        ):
            with engine.connect() as conn:
                snap.devices = {r.device_id: r for r in conn.execute(select(devices))}
                snap.reservoirs = {r.reservoir_id: r for r in conn.execute(select(reservoirs))}
        return snap

    @property
    def usable(self) -> bool:
        return not self.missing_tables and not self.missing_columns

    def schema_problems(self) -> list[str]:
        """What stops safe ingestion, one line each (empty: the schema is whole)."""
        out = []
        if self.missing_tables:
            out.append(f"the database lacks table(s) {', '.join(self.missing_tables)}")
        for table, columns in self.missing_columns.items():
            out.append(f"table {table} lacks column(s) {', '.join(columns)}")
        if "telemetry" not in self.missing_tables and not self.has_unique:
            out.append(
                "telemetry has no unique constraint on (mqtt_client_id, seq) covering every row: "
                "replays would store duplicates"
            )
        return out


def _is_key(columns: Sequence[str | None]) -> bool:
    """Exactly the dedupe key's columns, in either order (no expression, nothing more)."""
    return len(columns) == 2 and set(columns) == {"mqtt_client_id", "seq"}


def _is_whole_unique_index(index: Mapping[str, Any]) -> bool:
    """A unique index on exactly the key that covers every row: a partial one (``WHERE ...``,
    reflected as ``<dialect>_where``) lets duplicates through outside its predicate."""
    partial = any(
        k.endswith("_where") and v is not None
        for k, v in (index.get("dialect_options") or {}).items()
    )
    return bool(index.get("unique")) and _is_key(index["column_names"]) and not partial


SCHEMA_FIX = (
    "run `synthkit db init` (it adds what is missing and never drops data); a dropped "
    "constraint or column must be restored by hand (see synthkit_reservoir/database/schema.py)"
)


def require_ingestible(engine: Engine, shown_url: str) -> None:
    """Refuse to write into a schema that cannot dedupe or lacks what ingestion writes."""
    from synthkit.api import ConfigError

    problems = DbSnapshot.load(engine, rows=False).schema_problems()
    if problems:
        raise ConfigError(
            f"database {shown_url}: " + "; ".join(problems) + "; nothing was written",
            hint=SCHEMA_FIX,
        )


def snapshot_for(context: Mapping[str, Any]) -> DbSnapshot:
    """The snapshot of ``context["engine"]``, loaded once and shared by every check."""
    cache = context["cache"]
    if "reference_db" not in cache:
        cache["reference_db"] = DbSnapshot.load(context["engine"])
    return cache["reference_db"]


def device_check(
    name: str,
    description: str,
    problem: Callable[[ResolvedDevice, DbSnapshot], str | None],
    fix: str,
    level: str = "error",
) -> PreflightCheck:
    """A check that asks ``problem(device, snapshot)`` of every scenario device (None: fine)
    and reports one finding naming how many failed and the first few."""

    def run(subject: LoadedScenario, context: Mapping[str, Any]) -> Iterator[Finding]:
        snap = snapshot_for(context)
        if not snap.usable:
            return
        failed = [
            (d.device_id, msg) for d in subject.devices if (msg := problem(d, snap)) is not None
        ]
        if failed:
            shown = "; ".join(f"{device}: {msg}" for device, msg in failed[:SHOWN])
            more = f" (and {len(failed) - SHOWN} more)" if len(failed) > SHOWN else ""
            yield Finding(
                name,
                level,  # type: ignore[arg-type]
                f"{len(failed)} device(s): {shown}{more}",
                fix,
                subjects=tuple(device for device, _ in failed),
            )

    return PreflightCheck(name=name, applies_to=(SUBJECT,), run=run, description=description)


def attached_reservoir(device: ResolvedDevice, snap: DbSnapshot) -> Any | None:
    row = snap.devices.get(device.device_id)
    if row is None or row.reservoir_id is None:
        return None
    return snap.reservoirs.get(row.reservoir_id)
