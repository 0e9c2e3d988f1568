"""The root command's options (``synthkit --scenario X --strict ... COMMAND``), put on the
root context with the invocation's plugin manager, and the number rule every command's
options are held to."""

from __future__ import annotations

import functools
import inspect
import math
import typing
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer

from synthkit import __version__
from synthkit.context import DEFAULT_STATE_FILE, GlobalOptions
from synthkit.dburl import ENV_DB_URL
from synthkit.errors import ConfigError

if typing.TYPE_CHECKING:
    from synthkit.plugins import Plugins


def _print_version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit(0)


def root_options(
    ctx: typer.Context,
    scenario: Annotated[
        Path | None,
        typer.Option("--scenario", help="Scenario YAML, for the commands that read one."),
    ] = None,
    state_file: Annotated[
        Path, typer.Option("--state-file", help="Sequence-number state file.")
    ] = DEFAULT_STATE_FILE,
    strict: Annotated[
        bool, typer.Option("--strict", help="Any preflight error stops the command.")
    ] = False,
    transform: Annotated[
        list[str] | None,
        typer.Option(
            "--transform",
            metavar="<name>",
            help="A transform between generator and sink, NAME (repeatable: applied in order).",
        ),
    ] = None,
    transform_option: Annotated[
        list[str] | None,
        typer.Option(
            "--transform-option",
            metavar="<name.key=value>",
            help="NAME.KEY=VALUE for a transform, checked by its options model (repeatable).",
        ),
    ] = None,
    notes_dir: Annotated[
        Path | None,
        typer.Option(
            "--notes-dir",
            metavar="<dir>",
            help="Where transforms write their notes (ground-truth labels, counters); default: beside a file output.",
        ),
    ] = None,
    db_url: Annotated[
        str | None,
        typer.Option(
            "--db-url",
            metavar="<url>",
            help=f"The store of every command that uses one, as a URL whose scheme picks the ingest sink (default: ${ENV_DB_URL}, else the default store an installed ingest sink offers: `synthkit plugins`); a command's own --db-url wins.",
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print synthkit's version and exit.",
            is_eager=True,
            callback=_print_version,
        ),
    ] = False,
) -> None:
    """Deterministic synthetic telemetry, delivered where a real device fleet would."""
    ctx.obj = GlobalOptions(
        scenario=scenario,
        state_file=state_file,
        strict=strict,
        transforms=tuple(transform or ()),
        transform_options=tuple(transform_option or ()),
        db_url=db_url,
        notes_dir=notes_dir,
    )


def rooted(plugins: Plugins) -> Callable[..., None]:
    """The root callback of an app built for ``plugins``: its options (typer reads them off
    :func:`root_options`' signature) and the plugin manager, on the root context's object,
    where commands find them (``global_options``, ``plugins_of``)."""

    @functools.wraps(root_options)
    def callback(ctx: typer.Context, **options: Any) -> None:
        given = ctx.obj  # what synthkit.cli.run was given: the command line, to run shards of
        root_options(ctx, **options)
        argv = tuple(given) if isinstance(given, tuple) else ()
        ctx.obj = replace(ctx.obj, plugins=plugins, argv=argv)

    return callback


def checked_numbers(app: typer.Typer) -> None:
    """Every float option of every command refuses NaN and infinity (``--duration-seconds
    nan`` would otherwise mean "unlimited", and ``inf`` overflow later), and every int option
    a number no int64 holds (``--iterations 99999999999999999999`` overflowed deep inside):
    one rule for all plugin commands, applied where they are composed."""
    for info in app.registered_commands:
        if info.callback is not None and not getattr(info.callback, "_checked_numbers", False):
            info.callback = _checking_numbers(info.callback)
    for group in app.registered_groups:
        if group.typer_instance is not None:
            checked_numbers(group.typer_instance)


def _checking_numbers(callback):
    names, unsigned = {}, set()
    try:
        hints = typing.get_type_hints(callback, include_extras=True)
    except Exception:  # a plugin's unresolvable annotation: check by value only
        hints = {}
    for name, param in inspect.signature(callback).parameters.items():
        infos = getattr(hints.get(name, param.annotation), "__metadata__", ())
        decls = [
            d
            for meta in infos
            for d in (getattr(meta, "param_decls", None) or ()) + (getattr(meta, "default", None),)
            if isinstance(d, str) and d.startswith("--")
        ]
        names[name] = decls[0] if decls else "--" + name.replace("_", "-")
        # a float option whose default is a number >= 0 (a duration, a timeout, a rate) takes no
        # negative value, unless it declares its own range (typer checks that one)
        declared = any(getattr(meta, "min", None) is not None for meta in infos)
        default = param.default
        if type(default) in (int, float) and default >= 0 and not declared:
            unsigned.add(name)

    @functools.wraps(callback)
    def checked(*args, **kwargs):
        for name, value in kwargs.items():
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(
                    f"{names.get(name, name)} {value} is not a finite number",
                    hint="give a number; 0 means unlimited where the option allows it",
                )
            if isinstance(value, float) and value < 0 and name in unsigned:
                raise ConfigError(
                    f"{names.get(name, name)} {value:g} must be >= 0",
                    hint="0 means unlimited (or no wait) where the option allows it",
                )
            if (
                type(value) is int and not -(2**63) <= value < 2**63
            ):  # every count lands in an int64
                raise ConfigError(
                    f"{names.get(name, name)} {value} is too large",
                    hint="give a number below 2**63 (0 means unlimited where the option allows it)",
                )
        return callback(*args, **kwargs)

    checked._checked_numbers = True  # type: ignore[attr-defined]
    return checked
