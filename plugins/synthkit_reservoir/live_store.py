"""What a live run reports on a store it names (``run --db-url``): the store must hold no seq
the run will send, the broker keeps what the run publishes for that store's listener, and
the summary says how much was published, acknowledged and stored."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from synthkit.api import Endpoint, Plugins, SeqState, SinkSpec


def checked_store(
    plugins: Plugins,
    state: SeqState,
    ids: list[str],
    stored_url: str | None,
    spec: SinkSpec,
    endpoint: Endpoint,
    topic: str,
    state_file: Path,
) -> dict[str, Any]:
    """With a store to report on: it must hold no seq the run will send, and the broker
    keeps what the run publishes for that store's listener (the summary's part)."""
    if stored_url is None:
        return {}
    from synthkit.api import topic_filter
    from synthkit_reservoir.database.presence import hold_for_listener

    require_ahead_of_store(plugins, state, ids, stored_url)
    if spec.name != "mqtt":
        return {}
    return hold_for_listener(plugins, state_file, endpoint, topic_filter(topic), stored_url)


GUARANTEE = (
    "at least once to the broker (QoS >= 1: each message is re-sent until the broker acknowledges it); "
    "stored exactly once through dedupe on (mqtt_client_id, seq) plus `synthkit reconcile` and `synthkit replay`"
)


def require_ahead_of_store(plugins: Plugins, state: SeqState, ids: list[str], url: str) -> None:
    """Refuse a state file behind the store (ConfigError): the run's seqs would be dropped as
    duplicates of older rows, and counted as stored."""
    ledger = plugins.ledger(url)
    try:
        highs = {d: t.high for d, t in ledger.tallies(ids).items()}
    finally:
        ledger.close()
    state.require_ahead_of(
        highs,
        f"the store {ledger.where}",
        fix="restore the state file from a backup (or give the --state-file that store's "
        "runs used); to start after what it holds, use a fresh store or state file",
    )


def delivery_report(
    plugins: Plugins,
    record: Any,
    totals: dict[str, Any],
    stored_url: str | None,
    settle_timeout_s: float,
) -> dict[str, Any]:
    """Published, acknowledged by the broker, and (with ``stored_url``) stored: an
    acknowledgement means the broker took a message, not that anyone stored it. The store is
    read until it holds everything or ``settle_timeout_s`` passes (a listener lags a little)."""
    out: dict[str, Any] = {
        "published": totals["emitted"],
        "broker_acknowledged": totals["acknowledged"],
        "stored": None,
        "missing": None,
        "guarantee": GUARANTEE,
        "warnings": [],
    }
    if stored_url is None:
        return out
    from synthkit.api import reconcile_records

    ledger = plugins.ledger(stored_url)
    deadline = time.monotonic() + settle_timeout_s
    try:
        while True:
            report = reconcile_records([record], ledger)
            if report["missing"] == 0 or time.monotonic() >= deadline:
                break
            time.sleep(0.5)
    finally:
        ledger.close()
    out.update(stored=report["stored"], missing=report["missing"])
    if report["missing"]:
        out["warnings"].append(
            f"{report['missing']} of {report['expected']} published message(s) are not in {report['store']} "
            f"{settle_timeout_s:g} s after the run: replay them with `synthkit reconcile --run {record.run_id} "
            "--report r.json` then `synthkit replay --report r.json`"
        )
    return out
