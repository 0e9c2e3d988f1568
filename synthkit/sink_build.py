"""Building what the contracts describe: a sink's (or source's, or transform's) options from
``KEY=VALUE`` pairs, checked by its model; the sink itself from its spec and target, its
kind's contract checked; the target of a kind for ``--out``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from synthkit.contracts import (
    CONTRACTS,
    FileTarget,
    IngestTarget,
    Sink,
    SinkOptions,
    StreamTarget,
    Target,
)
from synthkit.errors import ConfigError, PluginError, article

if TYPE_CHECKING:
    from synthkit.records import SinkSpec


def parse_sink_options(spec: SinkSpec, pairs: Iterable[str]) -> SinkOptions:
    """``["batch_size=5000", ...]`` validated by the sink's options model; a ConfigError
    names the option and lists the ones the sink has."""
    return parse_options(f"sink {spec.name!r}", spec.options, pairs)


def parse_options(
    owner: str,
    model: type[SinkOptions] | None,
    pairs: Iterable[str],
    flag: str = "--sink-option",
    prefix: str = "",
) -> SinkOptions:
    """``KEY=VALUE`` pairs checked by ``model`` (``owner`` names whose they are in errors)."""
    model = model or SinkOptions
    values: dict[str, str] = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not eq or not key:
            first = next(iter(model.model_fields), "key")
            raise ConfigError(
                f"{flag} {prefix}{pair!r} is not {prefix}KEY=VALUE",
                hint=f"e.g. {flag} {prefix}{first}=VALUE",
            )
        if key in values:
            raise ConfigError(f"{flag} {prefix}{key} is given twice", hint="give each option once")
        values[key] = value
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        given = f"={values[key]!r}" if key in values else ""
        problem = (
            "is not an option of this sink" if err["type"] == "extra_forbidden" else err["msg"]
        )
        if err["type"] == "extra_forbidden" and flag != "--sink-option":
            problem = "is not one of its options"
        raise ConfigError(
            f"{flag} {prefix}{key}{given}: {problem} ({owner})",
            hint=f"options of {owner.split(' ', 1)[-1]}: {describe_options(model)}",
        ) from None


def describe_options(model: type[SinkOptions]) -> str:
    """``"batch_size (int, default 5000), token_env (str, default 'X')"``, or ``none``."""
    parts = []
    for name, f in model.model_fields.items():
        kind = getattr(f.annotation, "__name__", str(f.annotation))
        default = "required" if f.is_required() else f"default {f.default!r}"
        parts.append(
            f"{name} ({kind}, {default})" + (f": {f.description}" if f.description else "")
        )
    return ", ".join(parts) or "none"


def make_sink(
    spec: SinkSpec, target: Target, options: SinkOptions | Mapping[str, Any] | Iterable[str] = ()
) -> Sink:
    """``spec.factory(target, options)``, after checking the target is of the sink's kind
    and the options against its model; what comes back must keep its kind's contract."""
    if target.kind != spec.kind:
        raise PluginError(
            f"sink {spec.name!r} is a {spec.kind} sink, handed a {target.kind} target"
        )
    if not isinstance(options, SinkOptions):
        model = spec.options or SinkOptions
        options = (
            model.model_validate(options)
            if isinstance(options, Mapping)
            else parse_sink_options(spec, options)
        )
    sink = call_factory(
        f"sink {spec.name!r}", spec.factory, ("target", target), ("options", options)
    )
    contract = CONTRACTS[spec.kind]
    if not isinstance(sink, contract):
        raise PluginError(
            f"sink {spec.name!r}: its factory returned a {type(sink).__name__}, not a synthkit.api.{contract.__name__}",
            hint=f"subclass synthkit.api.{contract.__name__} (docs/plugins.md, sink kinds)",
        )
    return sink


def call_factory(what: str, factory: Any, *args: tuple[str, Any]) -> Any:
    """``factory(*values)``; a factory whose signature cannot take them is the plugin's
    mistake, said as such (a TypeError at the call would be blamed on the calling command)."""
    import inspect

    try:
        inspect.signature(factory).bind(*(value for _, value in args))
    except TypeError as exc:
        shape = ", ".join(name for name, _ in args)
        raise PluginError(
            f"{what}: its factory cannot be called as factory({shape}) ({exc})",
            hint=f"give it the signature factory({shape}) (docs/plugins.md)",
        ) from None
    except ValueError:  # no signature to read (a builtin): the call itself will tell
        pass
    return factory(*(value for _, value in args))


def sink_target(
    kind: str, out: str | Path | None, needed_by: str, **ingest: Any
) -> FileTarget | StreamTarget | IngestTarget:
    """The target of ``kind`` for ``--out`` (a path, or an ingest sink's URL); ``ingest``
    are the :class:`IngestTarget` fields the command fixes (``apply``, ``commit_rows``)."""
    if kind == "stream":
        return StreamTarget()
    if not out:
        what = "a file path" if kind == "file" else "the URL to deliver to"
        raise ConfigError(
            f"{needed_by}: {article(kind)} sink needs --out ({what})", hint="give --out"
        )
    if kind == "file":
        return FileTarget(Path(out))
    if kind == "ingest":
        return IngestTarget(str(out), **ingest)
    raise PluginError(f"{needed_by} cannot build {article(kind)} sink's target from --out")
