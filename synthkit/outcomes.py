"""The one rule that turns a delivery's per-record outcomes into what a command reports:
records rejected or failed were not stored, and a delivery that stopped early left the rest
unsent. Every command that drives an ingest sink (import, bootstrap, generate --out URL,
replay) ends ``complete: false`` and exit 3 on any of these, with one warning each."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

NOT_STORED = ("rejected", "failed")  # outcome kinds whose records are not in the store


def delivery_problems(
    outcomes: Mapping[str, int], details: Mapping[str, Any] | None = None
) -> list[str]:
    """One warning per kind of record that did not land, and one if the delivery stopped
    (``details["stopped"]``, from :class:`~synthkit.errors.DeliveryStopped`)."""
    problems = []
    for kind in NOT_STORED:
        found = {
            k.partition(":")[2]: v for k, v in outcomes.items() if k.startswith(f"{kind}:") and v
        }
        if found:
            detail = ", ".join(f"{reason}: {n}" for reason, n in sorted(found.items()))
            problems.append(
                f"{sum(found.values())} record(s) {kind} ({detail}): they were not stored"
            )
    stopped = (details or {}).get("stopped")
    if stopped:
        problems.append(
            f"the delivery stopped early ({stopped}): the records after it were not sent"
        )
    return problems
