"""``synthkit ingest listen``: the live counterpart of import-csv, as source -> sink.

The ``mqtt`` source subscribes (QoS 1, a persistent session under one client id) to the
telemetry topic and hands its messages in small batches to the same ingest sink bootstrap and
import-csv use (``reference_db`` unless ``--sink`` names another). A message is acknowledged
to the broker only after the sink took its batch, which for reference_db means the
transaction holding it committed, so a listener killed at any moment loses nothing: the
broker re-delivers, and dedupe on (mqtt_client_id, seq) keeps a re-delivery from being
stored twice.

Every message ends as exactly one of: stored, duplicate, or rejected:REASON. A rejected
message is kept whole in ``telemetry_rejects`` (topic, bytes, reason) before it is
acknowledged, so nothing a device sends can stop the listener or vanish. A database that is
busy or away (SQLite locked, PostgreSQL restarting) is waited for, batch unacknowledged.
Seq gaps per device come from the run records of ``--state-file`` (the live runs that
published to this broker): what each run emitted, leading and trailing gaps included, against
what the database holds, not the holes between the seqs this listener happened to see. With
``reconcile_every_s`` a running count is printed while it listens.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from synthkit.api import (
    MESSAGE_COLUMNS,
    Endpoint,
    IngestTarget,
    Plugins,
    Run,
    RunLog,
    RunPlan,
    SourceTarget,
    deliver,
    progress_bar,
    reconcile_records,
    records_for,
    runs_dir,
    stderr,
    stop_on_signals,
    store_identity,
)
from synthkit_reservoir.database.presence import Presence
from synthkit_reservoir.database.sink import Stopped


def listen(
    run: Run,
    url: str,
    *,
    endpoint: Endpoint | None,
    topic: str,
    client_id: str,
    source_name: str = "mqtt",
    duration_s: float = 0.0,
    count: int = 0,
    idle_s: float = 0.0,
    connect_timeout_s: float = 10.0,
    sink_name: str = "reference_db",
    sink_options: list[str] | None = None,
    source_options: list[str] | None = None,
    state_file: Path | None = None,
    reconcile_every_s: float = 0.0,
    ready_file: Path | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """(the summary, what keeps it from being complete). ``endpoint`` for a broker source
    (its own resolver's), None for one that reads elsewhere (the ``capture`` source's files)."""
    plugins = run.plugins
    where = endpoint.address if endpoint is not None else ""
    presence = Presence(
        state_file if where else None,
        ready_file,
        {
            "client_id": client_id,
            "broker": where,
            "subscription": topic,
            "store": store_identity(url),
            "source": source_name,
        },
    )
    target = SourceTarget(
        endpoint or Endpoint(""),
        topic,
        client_id,
        duration_s=duration_s,
        count=count,
        idle_s=idle_s,
        connect_timeout_s=connect_timeout_s,
        on_ready=presence.on_ready,
    )
    gaps = GapWatch(
        plugins, url, where, topic, state_file if where else None, reconcile_every_s, sink_name
    )
    fix = (
        "install (or enable) synthkit's mqtt plugin, which provides the mqtt source"
        if source_name == "mqtt"
        else ""
    )
    source = plugins.open_source(
        source_name, target, source_options or (), needed_by="ingest listen", fix=fix
    )
    spec = plugins.sink(
        sink_name,
        "ingest",
        needed_by="ingest listen",
        fix="give --sink an ingest sink (see `synthkit plugins`)",
    )
    with (
        stop_on_signals() as stop,
        progress_bar(f"listen <- {where or source_name}", count or None) as bar,
    ):
        sink = run.open_sink(
            spec,
            IngestTarget(url, stop=stop),
            sink_options or (),
            RunPlan("ingest listen", rows=count or None, live=True),
        )
        started = time.monotonic()
        source.open()  # the broker is reachable, or a clear error before anything is read
        report = None
        gaps.start()
        try:
            # on this thread: the source's network thread already competes for the GIL
            report = deliver(
                source.batches(stop),
                sink,
                MESSAGE_COLUMNS,
                bar.advance,
                after_write=source.delivered,
                threaded=False,
            )
        except Stopped:  # stopped while the database was away: what was taken stays counted
            pass
        finally:
            presence.remove()
            gaps.stop()
            session = source.close()
    counts = (
        dict(report.outcomes)
        if report is not None
        else dict(sorted(getattr(sink, "counts", {}).items()))
    )
    details = dict(report.details) if report is not None else {}
    rejected = sum(v for k, v in counts.items() if k.startswith("rejected:"))
    found, missing = gaps.final(details.get("seq_gaps", {}))
    return {
        "command": "ingest listen",
        "topic": topic,
        "client_id": client_id,
        "received": report.records if report is not None else getattr(sink, "records", 0),
        "status_counts": counts,
        "rejects_stored": rejected,
        "devices": details.get("devices", 0),
        **found,
        "reconnects": session["reconnects"],
        "warnings": session["warnings"],
        "elapsed_seconds": round(time.monotonic() - started, 3),
    }, missing


class GapWatch:
    """Gaps against the run records of live runs this listener hears (published to ``broker``
    on a topic ``subscription`` matches, for this store or none named): counted every
    ``every_s`` seconds on a thread of its own (0: only at the end)."""

    def __init__(
        self,
        plugins: Plugins,
        url: str,
        broker: str,
        subscription: str,
        state_file: Path | None,
        every_s: float,
        sink: str = "reference_db",
    ) -> None:
        self.plugins, self.url, self.broker, self.every_s = plugins, url, broker, every_s
        self.sink = sink  # the table it stores into is where its gaps are counted
        self.subscription, self.store = subscription, store_identity(url)
        self.log = RunLog(runs_dir(state_file)) if state_file is not None else None
        self.left_out: list[dict[str, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="synthkit-gaps", daemon=True)

    def records(self) -> list[Any]:
        if self.log is None:
            return []
        kept, self.left_out = records_for(
            self.log.records(),
            self.store,
            broker=self.broker,
            subscription=self.subscription,
            identify=store_identity,
        )
        return kept

    def report(self) -> dict[str, Any] | None:
        records = self.records()
        if not records:
            return None
        ledger = self.plugins.ledger(self.url, self.sink)
        try:
            found = reconcile_records(records, ledger)
        finally:
            ledger.close()
        # a run still publishing has reserved seqs it has not sent yet: not yet a gap
        ended = {r.run_id for r in records if r.status != "running"}
        found["ended_runs_missing"] = sum(
            hi - lo + 1
            for run_id, streams in found["missing_ranges"].items()
            if run_id in ended
            for ranges in streams.values()
            for lo, hi in ranges
        )
        found["ended_runs_expected"] = sum(r.emitted for r in records if r.run_id in ended)
        return found

    def start(self) -> None:
        if self.every_s > 0:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                found = self.report()
            except Exception as exc:  # a count that fails must not stop the listener
                stderr().print(
                    f"[yellow]reconcile:[/] not counted ({type(exc).__name__}: {exc})",
                    highlight=False,
                )
                continue
            if found is None:
                stderr().print(
                    f"reconcile: no run record of a live run to {self.broker} on {self.subscription} yet",
                    highlight=False,
                )
            else:
                stderr().print(
                    f"reconcile: {found['missing']} missing of {found['expected']} emitted "
                    f"({found['streams_incomplete']} stream(s) incomplete, {found['duplicates']} duplicate(s))",
                    highlight=False,
                )

    def final(self, seen_gaps: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """(the summary's gap keys, problems): gaps from the run records when there are any,
        else from the seqs this listener saw (and it says which). A listener is not complete
        while runs that ended say they published what the store lacks, whoever should have
        stored it: the fix is reconcile, then replay."""
        found = self.report()
        left = {"seq_gaps_left_out": self.left_out} if self.left_out else {}
        if found is None:
            return {
                "seq_gaps": seen_gaps,
                "seq_gaps_from": "seqs seen by this listener (no run record of a live run to "
                f"{self.broker} on {self.subscription} in {self.log.directory if self.log else '-'})",
                **left,
            }, []
        gaps = {
            s: {"missing": r["missing"], "first_missing": r["missing_ranges"][:10]}
            for s, r in found["streams"].items()
            if r["missing"]
        }
        keys = {
            "seq_gaps": gaps,
            "seq_gaps_missing": found["missing"],
            "seq_gaps_from": f"run records {', '.join(found['runs'])}",
            **left,
        }
        missing = found["ended_runs_missing"]
        if not missing:
            return keys, []
        return keys, [
            f"{missing} of {found['ended_runs_expected']} message(s) that ended live runs published to "
            f"{self.broker} on {self.subscription} are not in {self.store}: `synthkit reconcile --report "
            "r.json`, then `synthkit replay --report r.json`"
        ]
