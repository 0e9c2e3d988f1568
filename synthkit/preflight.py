"""Runs the preflight check plugins that apply to a subject, before anything is written."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from synthkit.errors import PreflightError
from synthkit.plugins import Plugins
from synthkit.records import Finding


def collect_findings(
    plugins: Plugins, subject_kind: str, subject: Any, context: Mapping[str, Any] | None = None
) -> list[Finding]:
    """Every finding of every check that applies to ``subject_kind`` (raises nothing)."""
    findings: list[Finding] = []
    for check in plugins.checks().values():
        if subject_kind in check.applies_to:
            findings.extend(check.run(subject, context or {}))
    return findings


def run_checks(
    plugins: Plugins, subject_kind: str, subject: Any, context: Mapping[str, Any] | None = None
) -> list[Finding]:
    """All findings of all checks for ``subject_kind``; raises on any error finding."""
    findings = collect_findings(plugins, subject_kind, subject, context)
    errors = [f for f in findings if f.level == "error"]
    if errors:
        text = "; ".join(
            f"{f.location + ': ' if f.location else ''}{f.message}"
            + (f" ({f.fix})" if f.fix else "")
            for f in errors
        )
        raise PreflightError(f"preflight failed: {text}")
    return findings
