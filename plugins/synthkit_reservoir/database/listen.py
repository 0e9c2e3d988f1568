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
Seq gaps per device are reported at the end.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from synthkit.api import (
    MESSAGE_COLUMNS,
    IngestTarget,
    Plugins,
    RunPlan,
    SourceTarget,
    deliver,
    progress_bar,
    stop_on_signals,
)
from synthkit_reservoir.database.sink import Stopped


def default_client_id(shown_url: str, topic: str) -> str:
    """One persistent session per (database, subscription): two listeners of different
    databases never take each other's session or queued messages; a restarted listener of
    the same one resumes its own."""
    digest = hashlib.sha256(f"{shown_url}\n{topic}".encode()).hexdigest()[:12]
    return f"synthkit-listener-{digest}"


def listen(
    plugins: Plugins, url: str, *, host: str, port: int, tls: Any, topic: str, client_id: str,
    duration_s: float = 0.0, count: int = 0, idle_s: float = 0.0, connect_timeout_s: float = 10.0,
    sink_name: str = "reference_db", sink_options: list[str] | None = None, source_options: list[str] | None = None,
) -> dict[str, Any]:  # fmt: skip
    target = SourceTarget(f"{host}:{port}", topic, client_id, tls, duration_s=duration_s, count=count, idle_s=idle_s,
                          connect_timeout_s=connect_timeout_s)  # fmt: skip
    source = plugins.open_source("mqtt", target, source_options or (), needed_by="ingest listen",
                                 fix="install (or enable) synthkit's mqtt plugin, which provides the mqtt source")  # fmt: skip
    spec = plugins.sink(sink_name, "ingest", needed_by="ingest listen", fix="give --sink an ingest sink (see `synthkit plugins`)")
    with stop_on_signals() as stop, progress_bar(f"listen <- {host}:{port}", count or None) as bar:
        sink = plugins.open_sink(spec, IngestTarget(url, stop=stop), sink_options or (),
                                 RunPlan("ingest listen", rows=count or None, live=True))  # fmt: skip
        started = time.monotonic()
        source.open()  # the broker is reachable, or a clear error before anything is read
        report = None
        try:
            # on this thread: the source's network thread already competes for the GIL
            report = deliver(source.batches(stop), sink, MESSAGE_COLUMNS, bar.advance, after_write=source.delivered,
                             threaded=False)  # fmt: skip
        except Stopped:  # stopped while the database was away: what was taken stays counted
            pass
        finally:
            session = source.close()
    counts = dict(report.outcomes) if report is not None else dict(sorted(getattr(sink, "counts", {}).items()))
    details = dict(report.details) if report is not None else {}
    rejected = sum(v for k, v in counts.items() if k.startswith("rejected:"))
    return {
        "command": "ingest listen",
        "topic": topic,
        "client_id": client_id,
        "received": report.records if report is not None else getattr(sink, "records", 0),
        "status_counts": counts,
        "rejects_stored": rejected,
        "devices": details.get("devices", 0),
        "seq_gaps": details.get("seq_gaps", {}),
        "reconnects": session["reconnects"],
        "warnings": session["warnings"],
        "elapsed_seconds": round(time.monotonic() - started, 3),
    }
