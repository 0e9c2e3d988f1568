"""Registers the reference database: the ``reference_db`` ingestion sink and ``synthkit db``."""

from __future__ import annotations

from synthkit import hookimpl
from synthkit.api import Command, SinkSpec, store_identity
from synthkit_reservoir.database.urls import DEFAULT_URL


def _factory(target, options):  # an IngestTarget and SinkOptions
    from synthkit_reservoir.database.sink import ReferenceDbSink

    return ReferenceDbSink(
        target.url,
        apply=target.apply,
        drain_analytics=target.drain_analytics,
        commit_rows=target.commit_rows,
        stop=target.stop,
    )


def _ledger(url):  # what the telemetry table holds, for synthkit reconcile
    from synthkit.api import SqlLedger, redact
    from synthkit_reservoir.database.engines import make_engine
    from synthkit_reservoir.database.urls import url_flag

    return SqlLedger(
        make_engine(url),
        "telemetry",
        client="mqtt_client_id",
        seq="seq",
        stored_at="received_at",
        unique=True,
        where=redact(url),
        init_hint=f"run `synthkit db init{url_flag(url)}` first",
    )


@hookimpl
def synthkit_register_sinks() -> list[SinkSpec]:
    return [
        SinkSpec(
            kind="ingest",
            name="reference_db",
            factory=_factory,
            capabilities=("dry_run",),
            schemes=("sqlite", "postgresql", "postgres"),  # the database URLs are this sink's
            ledger=_ledger,
            identity=store_identity,
            default_url=DEFAULT_URL,
            description="the reference ingestion database (SQLite or PostgreSQL), deduped on (mqtt_client_id, seq)",
        )
    ]


@hookimpl
def synthkit_register_commands() -> list[Command]:
    from synthkit_reservoir.database.commands import app, ingest_app

    return [
        Command(name="db", app=app, help="The reference ingestion database.", panel="Database"),
        Command(
            name="ingest",
            app=ingest_app,
            help="Ingest live MQTT telemetry into the reference database.",
            panel="Live",
        ),
    ]
