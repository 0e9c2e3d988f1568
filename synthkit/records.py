"""Typed records that registration hooks return, and the contracts they refer to.

Each record has a ``name``; names are normalised (lower case, ``-`` -> ``_``) and must be
unique per kind across all plugins.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from synthkit.errors import PluginError

if TYPE_CHECKING:  # typer, numpy and the kernels load only where commands and events are built
    import typer


_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def normalise_name(name: str) -> str:
    """``"Hard-Braking "`` -> ``"hard_braking"``; refuses names that are not identifiers."""
    cleaned = name.strip().lower().replace("-", "_")
    if not _NAME.match(cleaned):
        raise PluginError(
            f"invalid registration name {name!r}",
            hint="use letters, digits and underscores, starting with a letter",
        )
    return cleaned


# ---------------------------------------------------------------- fields of generated records

FieldKind = Literal["int", "decimal", "bool", "str"]


@dataclass(frozen=True)
class FieldSpec:
    """One output field: its name, kind and, for ``decimal``, the digits after the point."""

    name: str
    kind: FieldKind
    decimals: int = 0
    choices: tuple[Any, ...] = ()  # for "str": the values it can take, when known

    def __post_init__(self) -> None:
        if self.kind == "decimal" and not 0 <= self.decimals <= 9:
            raise PluginError(f"field {self.name!r}: decimals must be 0..9")


# -------------------------------------------------------------- archetypes and device models


@dataclass(frozen=True)
class Family:
    """A family of device fleets (a simulator): what it calls a mode, and what it is.

    A device model names its family; the core leaves out a model whose family is not
    installed or that claims a mode its family does not have, so the family's own code can
    rely on both. The family brings the rest (scenario section, row layout, payload contract,
    commands) through the other hooks, and documents its factory contract.

    What the core's commands need of it, each optional: ``section``, the top-level key that
    makes a scenario file this family's, and ``load(path, plugins)``, which returns the
    scenario validated and resolved (a ``synthkit.api.Fleet``): with both, ``synthkit
    validate`` reads its scenarios; ``preview(fleet, start_s, steps, state_file)`` returns
    each device's first ``steps`` emissions (``synthkit dry-run``); ``preflight(plugins,
    fleet, url, strict)`` checks a database (``validate --db-url``, a
    ``synthkit.api.PreflightReport``); ``replay(record, plugins)`` returns a
    ``synthkit.api.Replayer`` that re-emits any seqs of one of the family's run records byte
    for byte (``synthkit replay``). ``stream_column`` and ``seq_column`` name the columns
    that key its records (what run records, reservations and reconcile count), and
    ``time_column`` the one that says when each was emitted (what fault windows read).

    A family whose devices emit on a fixed interval declares ``ticks(fleet, first_seqs,
    origin_s)`` (a ``synthkit.api.TickRun``) and ``topic`` (its default topic template), and
    needs no commands of its own: ``synthkit export``, ``live``, ``dry-run`` and ``replay``
    run it (``synthkit.ticks``). ``payloads()`` returns the family's message codec, the bytes
    a broker sink publishes for each row (None: each row's JSON line), what a live run and a
        replay of any family send. A family that keeps its records in tables of its own (not
    the ingest sink's) declares ``ledger(url)``, a ``synthkit.api.Ledger`` of them:
    ``synthkit reconcile`` reads its runs there; ``ingest_sink`` names the ingest sink
    that stores it, which ``ingest listen`` uses for a subscription to the family's
    ``topic``."""

    name: str
    modes: tuple[str, ...]
    description: str = ""
    replay: Callable[[Any, Any], Any] | None = None
    section: str = ""
    load: Callable[[str, Any], Any] | None = None
    preview: Callable[[Any, int, int, Any], Any] | None = None
    preflight: Callable[[Any, Any, str, bool], Any] | None = None
    stream_column: str = "device_id"
    seq_column: str = "seq"
    time_column: str = "received_at"
    ticks: Callable[[Any, Any, int], Any] | None = None
    topic: str = ""
    payloads: Callable[[], Any] | None = None  # its message codec: () -> (Batch -> [bytes])
    ledger: Callable[[str], Any] | None = None  # its own tables' ledger at a store URL
    ingest_sink: str = ""  # the ingest sink that stores its messages heard on its topic

    def __post_init__(self) -> None:
        if not self.modes or any(
            not isinstance(m, str) or not m or m != m.upper() for m in self.modes
        ):
            raise PluginError(
                f"family {self.name!r}: modes must be non-empty upper-case names, got {self.modes!r}"
            )


@dataclass(frozen=True)
class DeviceModel:
    """The physics or state machine that archetypes parameterise.

    ``parameters`` declares what archetypes and ``parameter_overrides`` may set: preferably a
    pydantic model class (with ``extra="forbid"``: values are then type- and range-checked),
    or a mapping of default values (names are then checked, values not). ``factory`` builds
    the simulator; how it is called is the contract of the family that runs the model
    (docs/plugins.md gives each family's). ``family`` names that family and ``mode`` one of
    its modes. ``columns`` declares every column the simulator emits: the family checks that
    the ones its payload needs are there, and writes the others as extra output columns.
    """

    name: str
    mode: str  # one of the family's modes, e.g. STATIONARY
    factory: Callable[..., Any]
    parameters: type[Any] | Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    family: str = ""
    columns: tuple[FieldSpec, ...] = ()


@dataclass(frozen=True)
class Archetype:
    """A named parameter set for a device model, with its documented tendencies."""

    name: str
    mode: str
    model: str
    defaults: Mapping[str, Any] = field(default_factory=dict)
    tendencies: tuple[str, ...] = ()
    description: str = ""


# ------------------------------------------------------------------------------------ sinks


@dataclass(frozen=True)
class SinkReport:
    """What a sink delivered. ``outcomes`` counts per-record results (stored/duplicate/failed);
    ``details`` holds what else a sink reports (seq gaps seen, say)."""

    sink: str
    records: int
    bytes: int = 0
    target: str | None = None
    outcomes: Mapping[str, int] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)


SINK_KINDS = ("file", "stream", "ingest", "broker")


@dataclass(frozen=True)
class SinkSpec:
    """A sink type. ``kind`` is the contract it keeps (``synthkit.api.FileSink``,
    ``StreamSink``, ``IngestSink``, ``BrokerSink``; docs/plugins.md): the core builds it with
    ``factory(target, options)``, the target of its kind and ``options`` an instance of
    ``options`` (a ``synthkit.api.SinkOptions`` subclass, from ``--sink-option KEY=VALUE``).
    ``extensions`` are the file endings a file sink claims when a format is inferred from an
    output path (``.jsonl.gz`` may be one); ``schemes`` the URL schemes an ingest sink claims
    (``http``) when ``--out`` is a URL. ``capabilities``: ``"dry_run"`` for an ingest sink
    that checks without writing when the target says ``apply=False``. ``ledger(url)``, for
    an ingest sink, returns a ``synthkit.api.Ledger`` of what it stored there (what
    ``synthkit reconcile`` reads; None: reconcile it from an exported file instead), and
    ``identity(url)`` names the store a URL reaches, the same for every spelling of one store
    and different between stores (run records, reconcile and a listener's session match
    stores by it; None: the URL without its password); ``default_url``, for an ingest sink,
    is the store a command uses when none is named (the reference database's embedded SQLite
    file), so the main job needs no server.
    ``endpoint(request)``, for a broker sink, resolves what a command knows of the broker
    (a ``synthkit.api.BrokerRequest``: ``--broker URL``, ``--host``/``--port``, the
    scenario's block) by the sink's own rules into a ``synthkit.api.Endpoint`` (None: the
    URL given, else host and port); a broker sink claims its URL schemes in ``schemes``."""

    name: str
    factory: Callable[..., Any]
    extensions: tuple[str, ...] = ()
    description: str = ""
    kind: str = "file"
    options: type[Any] | None = None
    schemes: tuple[str, ...] = ()
    capabilities: tuple[str, ...] = ()
    ledger: Callable[[str], Any] | None = None
    identity: Callable[[str], str] | None = None  # an ingest sink's: URL -> its store's name
    default_url: str = ""  # an ingest sink's: the store used when none is named
    endpoint: Callable[[Any], Any] | None = (
        None  # a broker sink's resolver: BrokerRequest -> Endpoint
    )

    def __post_init__(self) -> None:
        if self.kind not in SINK_KINDS:
            raise PluginError(
                f"sink {self.name!r}: kind must be one of {', '.join(SINK_KINDS)}, got {self.kind!r}"
            )
        if self.schemes and self.kind not in ("ingest", "broker"):
            raise PluginError(
                f"sink {self.name!r}: only an ingest or a broker sink claims URL schemes"
            )
        if (self.identity is not None or self.default_url) and self.kind != "ingest":
            raise PluginError(f"sink {self.name!r}: only an ingest sink names its stores")
        if self.endpoint is not None and self.kind != "broker":
            raise PluginError(f"sink {self.name!r}: only a broker sink resolves an endpoint")


@dataclass(frozen=True)
class TransformSpec:
    """A transform type: ``factory(options, seed)`` builds a ``synthkit.api.Transform``,
    ``options`` an instance of ``options`` (a ``synthkit.api.SinkOptions`` subclass, from
    ``--transform-option NAME.KEY=VALUE``) and ``seed`` derived from the run's seed."""

    name: str
    factory: Callable[..., Any]
    options: type[Any] | None = None
    description: str = ""


@dataclass(frozen=True)
class SourceSpec:
    """A source type: ``factory(target, options)`` builds a ``synthkit.api.Source`` that
    reads batches from outside (a broker subscription) for a command to hand to a sink;
    ``options`` is a ``synthkit.api.SinkOptions`` subclass (``--source-option KEY=VALUE``).
    A broker source claims its URL schemes in ``schemes`` (a command's ``--broker URL`` picks
    it) and resolves what a command knows of the broker with ``endpoint``, as a broker sink."""

    name: str
    factory: Callable[..., Any]
    options: type[Any] | None = None
    description: str = ""
    endpoint: Callable[[Any], Any] | None = None  # its resolver: BrokerRequest -> Endpoint
    schemes: tuple[str, ...] = ()


# ---------------------------------------------------------------------------- preflight


@dataclass(frozen=True)
class Finding:
    """One preflight result. ``fix`` says what the user should do; ``subjects`` names the
    items it concerns (device ids, say), empty when it concerns the whole subject."""

    check: str
    level: Literal["error", "warning", "info"]
    message: str
    fix: str = ""
    location: str = ""
    subjects: tuple[str, ...] = ()


@dataclass(frozen=True)
class PreflightCheck:
    """``run(subject, context)`` returns findings; ``applies_to`` names the subjects it checks
    (e.g. ``"output"`` for an output path about to be written)."""

    name: str
    applies_to: tuple[str, ...]
    run: Callable[[Any, Mapping[str, Any]], Iterable[Finding]]
    description: str = ""


# ----------------------------------------------------------------------------- commands


@dataclass(frozen=True)
class Command:
    """CLI commands contributed by a plugin: a command group ``synthkit <name> ...`` or, with
    ``top_level=True``, the app's commands added directly (``synthkit validate``); each name
    must be free."""

    name: str
    app: typer.Typer
    help: str = ""
    top_level: bool = False
    panel: str = ""  # the root help's panel for the group ("Database", "Live"...); top-level
    # commands name theirs with ``@app.command(..., rich_help_panel=...)``
