"""Registers the telematics driver model and the ``synthkit telematics`` command group."""

from __future__ import annotations

from synthkit import hookimpl
from synthkit.api import Command, DeviceModel, Family, FaultType, SinkSpec, store_identity


@hookimpl
def synthkit_register_families() -> list[Family]:
    return [
        Family(
            "telematics",
            ("DRIVER",),
            description="drivers on trips and their driving events",
            # what an options file's faults key on: the driver, its event number, the time
            stream_column="driver_id",
            seq_column="seq",
            time_column="ts",
            replay=_replay,
            ledger=_ledger,
            ingest_sink="telematics_db",  # `ingest listen --topic 'telematics/+/events'`
            topic="telematics/{driver_id}/events",
        )
    ]


def _ledger(url: str) -> object:
    """The endpoint's events table at ``url`` (``synthkit reconcile``)."""
    from synthkit_telematics.store import ledger

    return ledger(url)


def _replay(record: object, plugins: object) -> object:
    """A telematics run's events again (``synthkit replay``): loads the generator then."""
    from synthkit_telematics.replayer import TelematicsReplayer

    return TelematicsReplayer(record, plugins)  # type: ignore[arg-type]


@hookimpl
def synthkit_register_sinks() -> list[SinkSpec]:
    return [
        SinkSpec(
            kind="ingest",
            name="telematics_db",
            factory=_store_sink,
            ledger=_ledger,
            identity=store_identity,
            description="telematics events into the endpoint's tables (SQLite or PostgreSQL), each stored once by (driver_id, seq)",
        )
    ]


def _store_sink(target: object, options: object) -> object:
    from synthkit_telematics.store_sink import TelematicsDbSink

    return TelematicsDbSink(target, options)  # type: ignore[arg-type]


@hookimpl
def synthkit_register_fault_types() -> list[FaultType]:
    from synthkit_telematics.burst_params import BurstParams

    return [
        FaultType(
            "anomaly_burst",
            _burst,
            BurstParams,
            group="anomaly",
            families=("telematics",),
            description="a session of reckless driving: the event types named made likelier",
        )
    ]


def _burst(params: object) -> object:
    from synthkit_telematics.anomalies import AnomalyBurst

    return AnomalyBurst(params)


@hookimpl
def synthkit_register_device_models() -> list[DeviceModel]:
    return [
        DeviceModel(
            name="telematics_driver",
            mode="DRIVER",
            family="telematics",
            factory=_generator,
            description="drivers on trips; one event per driving minute, typed by event plugins",
        )
    ]


@hookimpl
def synthkit_register_commands() -> list[Command]:
    from synthkit_telematics.commands import app

    return [
        Command(
            name="telematics",
            app=app,
            help="Telematics mock events (drivers, trips, events).",
            panel="Telematics",
        )
    ]


def _generator(*args, **kwargs):
    """The generator; its compiled kernels load only when something generates."""
    from synthkit_telematics.generator import TelematicsGenerator

    return TelematicsGenerator(*args, **kwargs)
