"""synthkit's public API: everything a plugin may import, and every contract that crosses
plugins (records and hooks, batches and encoders, sinks, broker settings, the pipeline,
files, sequence state, scenario files, errors, console). Import from here, never from
another plugin: ``from synthkit.api import Batch, EventType, BrokerRequest``.

Names load on first use (PEP 562), so importing this module costs nothing: an entry-point
module that takes ``hookimpl`` and a record from it loads no numpy, kernel or driver.
"""

# ruff: noqa: F401  (the TYPE_CHECKING imports below are the re-exports, for type checkers)
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# name -> the core module that defines it
_WHERE: dict[str, str] = {
    # hooks and the records they return
    "hookimpl": "synthkit.hookspecs",
    **dict.fromkeys(
        (
            "Archetype",
            "Command",
            "DeviceModel",
            "Family",
            "FieldSpec",
            "Finding",
            "PreflightCheck",
            "SinkReport",
            "SinkSpec",
            "SourceSpec",
            "TransformSpec",
        ),
        "synthkit.records",
    ),
    **dict.fromkeys(("EventContext", "EventType"), "synthkit.events"),
    # the sink contract: one base class per kind, the target each is handed, its options
    **dict.fromkeys(
        (
            "Sink",
            "FileSink",
            "StreamSink",
            "IngestSink",
            "BrokerSink",
            "FileTarget",
            "StreamTarget",
            "IngestTarget",
            "BrokerTarget",
            "SinkOptions",
            "Transform",
        ),
        "synthkit.contracts",
    ),
    **dict.fromkeys(("make_sink", "parse_sink_options", "sink_target"), "synthkit.sink_build"),
    # the source contract: what a command reads from outside for a sink
    **dict.fromkeys(("Source", "SourceTarget", "make_source"), "synthkit.sources"),
    # how a family's declared devices resolve: archetype -> model -> parameters, groups
    **dict.fromkeys(
        (
            "Declared",
            "DeviceEntry",
            "declare",
            "Resolved",
            "resolve_devices",
            "resolve_parameters",
            "ParameterError",
            "id_rule",
            "group_ids",
            "check_pattern",
        ),
        "synthkit.devices",
    ),
    # a family that emits on ticks: what it returns, and the one built from vectorised models
    **dict.fromkeys(("TickRun", "ModelTicks"), "synthkit.ticks"),
    # a family's scenario as the core's validate and dry-run see it
    **dict.fromkeys(("Fleet", "FleetDevice", "PreflightReport", "family_of"), "synthkit.fleets"),
    # the plugin manager's typed facade
    **dict.fromkeys(("Plugins", "build_plugins", "lookup"), "synthkit.plugins"),
    # columnar batches, the compiled encoder, sinks built on it
    **dict.fromkeys(
        (
            "Batch",
            "Column",
            "message_batch",
            "MESSAGE_COLUMNS",
        ),
        "synthkit.batch",
    ),
    **dict.fromkeys(("LAST_ISO_MS", "iso_epoch", "iso_seconds"), "synthkit.isotime"),
    "Encoder": "synthkit.encode",
    **dict.fromkeys(("EncodedFileSink", "EncodedStreamSink"), "synthkit.sinks"),
    # a run's life, from plan to summary: its transforms, its delivery, its ending
    **dict.fromkeys(("RunPlan", "Run", "start_run"), "synthkit.run"),
    "Delivery": "synthkit.delivery",
    "Notes": "synthkit.notes",  # what a transform knows that is not data (labels, counters)
    # ground truth read back, records keyed by (stream, seq)
    **dict.fromkeys(
        ("Labels", "read_labels", "labels_beside", "record_keys", "split_keys", "read_json_lines"),
        "synthkit.labels",
    ),
    # faults a scenario declares: the fault contract, its block compiled against a fleet
    **dict.fromkeys(
        ("Fault", "Held", "FaultPlan", "ModelFault"),
        "synthkit.faults",
    ),
    **dict.fromkeys(("Hit", "FaultWindow"), "synthkit.fault_windows"),
    "FaultType": "synthkit.fault_type",
    "Draws": "synthkit.fault_draws",
    **dict.fromkeys(("FaultParams", "duration_s"), "synthkit.fault_params"),
    "compile_faults": "synthkit.fault_block",
    # moving batches: as fast as they come, or each at its due time
    **dict.fromkeys(("Pace", "deliver", "paced"), "synthkit.engine"),
    # counter-based randomness (the module for numpy code, its kernels for compiled code)
    "rand": "synthkit.rand",
    **dict.fromkeys(("unit_nb", "word_nb", "stable_key"), "synthkit.rand"),
    # where a broker is and how to reach it
    **dict.fromkeys(
        ("BrokerBlock", "BrokerRequest", "Endpoint", "broker_url", "endpoint_of", "plain_endpoint"),
        "synthkit.brokers",
    ),
    # databases
    **dict.fromkeys(
        (
            "ENV_DB_URL",
            "named_database",
            "resolve_url",
        ),
        "synthkit.dburl",
    ),
    "redact": "synthkit.secrets",
    "scrub": "synthkit.secrets",
    "hide_secret": "synthkit.secrets",
    # files, state, signals, options, time
    **dict.fromkeys(
        (
            "AtomicFile",
            "missing_parents",
            "process_alive",
            "read_json",
            "sha256_file",
            "sweep_stale",
            "temp_path",
        ),
        "synthkit.files",
    ),
    "SeqState": "synthkit.state",
    "Reservation": "synthkit.reservation",
    # closing the loop: run records, what a store holds, re-emitting what it lacks
    **dict.fromkeys(
        (
            "RunRecord",
            "StreamRange",
            "RunLog",
            "RunRecorder",
            "new_run_id",
            "runs_dir",
            "topic_filter",
            "utc_now",
            "where_stored",
        ),
        "synthkit.runs",
    ),
    **dict.fromkeys(("Ledger", "PairsLedger", "FileLedger", "Tally", "Island"), "synthkit.ledger"),
    "SqlLedger": "synthkit.sql_ledger",
    **dict.fromkeys(
        ("make_engine", "describe_db_error", "db_errors", "connected_engine", "store_identity"),
        "synthkit.sql_store",
    ),
    **dict.fromkeys(("Replayer", "Missing"), "synthkit.replay"),
    **dict.fromkeys(("reconcile_records", "records_for"), "synthkit.reconcile"),
    "stop_on_signals": "synthkit.interrupt",
    **dict.fromkeys(("GlobalOptions", "global_options", "plugins_of"), "synthkit.context"),
    "parse_utc": "synthkit.timeparse",
    # scenario and option files
    **dict.fromkeys(("Loc", "YamlDocument", "format_loc", "load_yaml"), "synthkit.yamlfile"),
    **dict.fromkeys(("LocatedProblems", "Problems", "validate_section"), "synthkit.located"),
    # preflight
    **dict.fromkeys(("collect_findings", "run_checks"), "synthkit.preflight"),
    # errors: exit 2 (3 for an incomplete run), one line, no traceback
    **dict.fromkeys(
        (
            "SynthkitError",
            "ConfigError",
            "PluginError",
            "PreflightError",
            "OutputError",
            "IncompleteRun",
            "DeliveryStopped",
        ),
        "synthkit.errors",
    ),
    "delivery_problems": "synthkit.outcomes",
    # the command line: output, progress, the in-process runner, the allocator setting
    **dict.fromkeys(
        ("emit_json", "finish", "per_second", "progress_bar", "stderr", "table"), "synthkit.console"
    ),
    **dict.fromkeys(
        (
            "BrokerFlag",
            "BrokerSinkFlag",
            "DbUrlFlag",
            "ExecutorFlag",
            "SchedulerFlag",
            "ShardFlag",
            "ShardsFlag",
            "SinkFlag",
            "SinkOptionFlag",
            "SpreadExecutorFlag",
            "SpreadFlag",
            "WorkersFlag",
        ),
        "synthkit.flags",
    ),
    "Shard": "synthkit.shards",
    # datasets: a sharded run's parts and the manifest that commits them
    **dict.fromkeys(
        (
            "Part",
            "PartFile",
            "is_dataset",
            "open_dataset",
            "part_file",
            "part_files",
            "part_name",
            "seal",
        ),
        "synthkit.dataset",
    ),
    **dict.fromkeys(("merge_summaries", "run_sharded", "run_spread"), "synthkit.sharded"),
    "run": "synthkit.cli",
    "keep_freed_memory": "synthkit.memory",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"synthkit.api has no {name!r} (the public API: docs/plugins.md)")
    loaded = importlib.import_module(module)
    value = loaded if module == f"synthkit.{name}" else getattr(loaded, name)  # a module itself
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # the same names, for type checkers and editors
    from synthkit import rand
    from synthkit.batch import (
        MESSAGE_COLUMNS,
        Batch,
        Column,
        message_batch,
    )
    from synthkit.brokers import (
        BrokerBlock,
        BrokerRequest,
        Endpoint,
        broker_url,
        endpoint_of,
        plain_endpoint,
    )
    from synthkit.cli import run
    from synthkit.console import emit_json, finish, per_second, progress_bar, stderr, table
    from synthkit.context import GlobalOptions, global_options, plugins_of
    from synthkit.contracts import (
        BrokerSink,
        BrokerTarget,
        FileSink,
        FileTarget,
        IngestSink,
        IngestTarget,
        Sink,
        SinkOptions,
        StreamSink,
        StreamTarget,
        Transform,
    )
    from synthkit.dataset import (
        Part,
        PartFile,
        is_dataset,
        open_dataset,
        part_file,
        part_files,
        part_name,
        seal,
    )
    from synthkit.dburl import (
        ENV_DB_URL,
        named_database,
        resolve_url,
    )
    from synthkit.delivery import Delivery
    from synthkit.devices import (
        Declared,
        DeviceEntry,
        ParameterError,
        Resolved,
        check_pattern,
        declare,
        group_ids,
        id_rule,
        resolve_devices,
        resolve_parameters,
    )
    from synthkit.encode import Encoder
    from synthkit.engine import Pace, deliver, paced
    from synthkit.errors import (
        ConfigError,
        DeliveryStopped,
        IncompleteRun,
        OutputError,
        PluginError,
        PreflightError,
        SynthkitError,
    )
    from synthkit.events import EventContext, EventType
    from synthkit.fault_block import compile_faults
    from synthkit.fault_draws import Draws
    from synthkit.fault_params import FaultParams, duration_s
    from synthkit.fault_type import FaultType
    from synthkit.fault_windows import FaultWindow, Hit
    from synthkit.faults import Fault, FaultPlan, Held, ModelFault
    from synthkit.files import (
        AtomicFile,
        missing_parents,
        process_alive,
        read_json,
        sha256_file,
        sweep_stale,
        temp_path,
    )
    from synthkit.flags import (
        BrokerFlag,
        BrokerSinkFlag,
        DbUrlFlag,
        ExecutorFlag,
        SchedulerFlag,
        ShardFlag,
        ShardsFlag,
        SinkFlag,
        SinkOptionFlag,
        SpreadExecutorFlag,
        SpreadFlag,
        WorkersFlag,
    )
    from synthkit.fleets import Fleet, FleetDevice, PreflightReport, family_of
    from synthkit.hookspecs import hookimpl
    from synthkit.interrupt import stop_on_signals
    from synthkit.isotime import LAST_ISO_MS, iso_epoch, iso_seconds
    from synthkit.labels import (
        Labels,
        labels_beside,
        read_json_lines,
        read_labels,
        record_keys,
        split_keys,
    )
    from synthkit.ledger import FileLedger, Island, Ledger, PairsLedger, Tally
    from synthkit.located import LocatedProblems, Problems, validate_section
    from synthkit.memory import keep_freed_memory
    from synthkit.notes import Notes
    from synthkit.outcomes import delivery_problems
    from synthkit.plugins import Plugins, build_plugins, lookup
    from synthkit.preflight import collect_findings, run_checks
    from synthkit.rand import stable_key, unit_nb, word_nb
    from synthkit.reconcile import reconcile_records, records_for
    from synthkit.records import (
        Archetype,
        Command,
        DeviceModel,
        Family,
        FieldSpec,
        Finding,
        PreflightCheck,
        SinkReport,
        SinkSpec,
        SourceSpec,
        TransformSpec,
    )
    from synthkit.replay import Missing, Replayer
    from synthkit.reservation import Reservation
    from synthkit.run import Run, RunPlan, start_run
    from synthkit.runs import (
        RunLog,
        RunRecord,
        RunRecorder,
        StreamRange,
        new_run_id,
        runs_dir,
        topic_filter,
        utc_now,
        where_stored,
    )
    from synthkit.secrets import hide_secret, redact, scrub
    from synthkit.sharded import merge_summaries, run_sharded, run_spread
    from synthkit.shards import Shard
    from synthkit.sink_build import make_sink, parse_sink_options, sink_target
    from synthkit.sinks import EncodedFileSink, EncodedStreamSink
    from synthkit.sources import Source, SourceTarget, make_source
    from synthkit.sql_ledger import SqlLedger
    from synthkit.sql_store import (
        connected_engine,
        db_errors,
        describe_db_error,
        make_engine,
        store_identity,
    )
    from synthkit.state import SeqState
    from synthkit.ticks import ModelTicks, TickRun
    from synthkit.timeparse import parse_utc
    from synthkit.yamlfile import Loc, YamlDocument, format_loc, load_yaml
