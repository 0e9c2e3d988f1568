"""``synthkit validate`` and ``synthkit dry-run``, for the scenario of any family that
declares a section and a loader (``Family.section``, ``Family.load``): the family is the
one whose section the file declares (:func:`synthkit.fleets.family_of`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from synthkit.console import emit_json, finish, stderr, table
from synthkit.context import global_options, plugins_of
from synthkit.errors import ConfigError

if TYPE_CHECKING:
    from synthkit.fleets import Fleet


def _loaded(ctx: typer.Context) -> tuple[Any, Fleet]:
    from synthkit.fleets import load_fleet

    return load_fleet(str(global_options(ctx).require_scenario()), plugins_of(ctx))


def validate_command(
    ctx: typer.Context,
    db_url: Annotated[
        str | None,
        typer.Option(
            "--db-url",
            help="Run the database preflight against this ingestion database (default: the global --db-url or $SYNTHKIT_DB_URL; none named: no database checks).",
        ),
    ] = None,
) -> None:
    """Validate the scenario (schema, cross-references, archetypes, parameter overrides) and,
    when an ingestion database is configured, run the database preflight checks."""
    family, fleet = _loaded(ctx)
    opts = global_options(ctx)
    warnings = list(fleet.warnings)
    errors: list[str] = []
    database = None
    validated = [d.device_id for d in fleet.devices]
    if family.preflight is not None and opts.names_database(db_url):
        report = family.preflight(plugins_of(ctx), fleet, opts.database(db_url), opts.strict)
        database, errors = report.database, report.errors
        warnings += report.warnings
        validated = [d for d in validated if report.passed(d)]
    elif family.preflight is not None:
        warnings.append(
            "database checks skipped: no ingestion database named (give --db-url or SYNTHKIT_DB_URL; "
            "the default store is checked only when named)"
        )
    counts: dict[str, int] = {}
    for d in fleet.devices:
        counts[d.archetype.name] = counts.get(d.archetype.name, 0) + 1
    n = len(fleet.devices)
    out = table(
        f"{fleet.scenario_id}: {len(validated)} of {n} device{'' if n == 1 else 's'} valid",
        ("archetype", "mode", "model", "devices", "tendencies"),
        prose=("tendencies",),
    )
    archetypes = {d.archetype.name: d for d in fleet.devices}
    for name, count in counts.items():
        d = archetypes[name]
        out.add_row(name, d.mode, d.model.name, str(count), "; ".join(d.archetype.tendencies))
    stderr().print(out)
    finish(
        {
            "command": "validate",
            "scenario": fleet.path,
            "scenario_id": fleet.scenario_id,
            "scenario_sha256": fleet.sha256,
            "seed": fleet.seed,
            "strict": opts.strict,
            "devices_validated": validated,
            "archetypes": counts,
            **_faults_of(fleet),
            "database": database,
            "warnings": warnings,
            "errors": errors,
        },
        [f"{len(errors)} preflight error(s), listed in `errors` (--strict stops at them)"]
        if errors
        else [],
    )


def _faults_of(fleet: Any) -> dict[str, Any]:
    """The scenario's faults, as validate reports them: each entry's name, type and devices."""
    plan = getattr(fleet, "faults", None)
    if not plan:
        return {}
    return {
        "faults": [
            {"name": f.name, "type": f.type, "devices": len(f.streams)} for f in plan.faults
        ],
        "faults_sha256": plan.sha256,
    }


def dry_run_command(
    ctx: typer.Context,
    preview_steps: Annotated[
        int, typer.Option("--preview-steps", help="Emissions per device.")
    ] = 5,
    start_at: Annotated[
        str | None,
        typer.Option("--start-at", help="UTC time of the first emission (default: this hour)."),
    ] = None,
) -> None:
    """Preview each device's tendencies and first emissions; writes nothing at all."""
    from synthkit.timeparse import parse_utc

    if preview_steps < 1:
        raise ConfigError(f"--preview-steps must be at least 1, got {preview_steps}")
    family, fleet = _loaded(ctx)
    if family.preview is None and family.ticks is None:
        raise ConfigError(
            f"family {family.name!r} has no preview", hint="its plugin registers no Family.preview"
        )
    start = (
        parse_utc(start_at, "--start-at")
        if start_at is not None
        else datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    )
    state_file = global_options(ctx).state_file
    if family.preview is not None:
        samples = family.preview(fleet, int(start.timestamp()), preview_steps, state_file)
    else:  # a ticks family: its first ticks
        from synthkit.ticks import preview

        samples = preview(family, fleet, int(start.timestamp()), preview_steps, state_file)
    _preview_table(fleet, samples, family.seq_column)
    emit_json(
        {
            "command": "dry-run",
            "scenario_id": fleet.scenario_id,
            "seed": fleet.seed,
            "start_at": start.isoformat().replace("+00:00", "Z"),
            "preview_steps": preview_steps,
            "writes": "none",
            "devices": [
                {
                    "device_id": d.device_id,
                    "archetype": d.archetype.name,
                    "mode": d.mode,
                    "model": d.model.name,
                    **d.facts,
                    "tendencies": list(d.archetype.tendencies),
                    "samples": samples[d.device_id],
                }
                for d in fleet.devices
            ],
        }
    )


def _preview_table(fleet: Fleet, samples: Any, seq: str) -> None:
    """The first 50 devices, each sample's first two numeric fields from first to last."""
    first: dict[str, Any] = next((s[0] for s in samples.values() if s), {})
    shown = [
        k
        for k, v in first.items()
        if k != seq and isinstance(v, int | float) and not isinstance(v, bool)
    ][:2]
    out = table(
        "dry-run (nothing written)",
        ("device", "archetype", seq, *shown, "tendencies"),
        prose=(*shown, "tendencies"),
    )
    for d in fleet.devices[:50]:
        got = samples[d.device_id]
        out.add_row(
            d.device_id,
            d.archetype.name,
            f"{got[0].get(seq)}..{got[-1].get(seq)}" if got else "",
            *(f"{got[0].get(k)} -> {got[-1].get(k)}" if got else "" for k in shown),
            "; ".join(d.archetype.tendencies),
        )
    if len(fleet.devices) > 50:
        out.caption = f"first 50 of {len(fleet.devices)} devices; all are in the JSON"
    stderr().print(out)
