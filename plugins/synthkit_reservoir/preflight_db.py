"""The database preflight of a scenario: every check plugin for the ``reservoir_db`` subject,
with the engine in its context. ``--strict`` turns any error into a stop before writing."""

from __future__ import annotations

from synthkit.api import (
    Plugins,
    PreflightError,
    PreflightReport,
    collect_findings,
    redact,
    stderr,
)
from synthkit_reservoir.scenario import LoadedScenario

SUBJECT = "reservoir_db"


def db_preflight(
    plugins: Plugins, loaded: LoadedScenario, url: str, *, strict: bool
) -> PreflightReport:
    # SQLAlchemy: only once there is a database to check
    from synthkit_reservoir.database.engines import connected

    with connected(url) as engine:
        findings = collect_findings(
            plugins, SUBJECT, loaded, {"engine": engine, "cache": {}, "url": url}
        )
    report = PreflightReport(redact(url))
    for f in findings:
        line = f"{f.check}: {f.message}" + (f" ({f.fix})" if f.fix else "")
        (report.errors if f.level == "error" else report.warnings).append(line)
        if f.level == "error":
            report.failed_devices.update(f.subjects)
            report.whole_failed |= not f.subjects
    if report.errors and strict:
        n = len(report.errors)  # one per line, as validate lists them
        raise PreflightError(
            f"preflight failed against {report.database} (--strict), {n} error{'' if n == 1 else 's'}:"
            + "".join(f"\n  {e}" for e in report.errors)
        )
    for line in report.errors:
        stderr().print(
            f"[yellow]preflight error (not --strict, continuing):[/] {line}",
            highlight=False,
            soft_wrap=True,
        )
    return report
