"""The ``synthkit`` command: composes the command groups that plugins register.

``main()`` maps synthkit's own errors and usage errors to one line on stderr and exit code 2;
``SYNTHKIT_DEBUG=1`` shows the traceback instead.
"""

from __future__ import annotations

import functools
import inspect
import math
import os
import sys
import traceback
import typing
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer

from synthkit import __version__, interrupt
from synthkit.cli_shape import DELIVERY, PLUGINS, SIMULATE, hoist_global_options, tidy_help
from synthkit.console import stderr
from synthkit.context import DEFAULT_STATE_FILE, GlobalOptions
from synthkit.dburl import DEFAULT_DB_URL, ENV_DB_URL
from synthkit.errors import ConfigError, IncompleteRun, PluginError, SynthkitError
from synthkit.interrupt import Terminated, exit_code, terminate_like_ctrl_c
from synthkit.memory import keep_freed_memory
from synthkit.plugins import LoadFailure, Plugins, build_plugins
from synthkit.secrets import scrub

ENV_DEBUG = "SYNTHKIT_DEBUG"
CORE_COMMANDS = (
    "plugins",
    "version",
    "validate",
    "dry-run",
    "export",
    "live",
    "runs",
    "reconcile",
    "replay",
)


def version_command() -> None:
    """Print synthkit's version."""
    typer.echo(__version__)


def build_app(plugins: Plugins) -> typer.Typer:
    """The root app: core commands plus every plugin command group."""
    app = typer.Typer(
        name="synthkit",
        help="Deterministic synthetic telemetry, delivered where a real device fleet would.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    app.callback()(_rooted(plugins))
    from synthkit.plugin_listing import plugins_command

    app.command("plugins", rich_help_panel=PLUGINS, epilog="Example: synthkit plugins --json")(
        plugins_command
    )
    app.command("version", rich_help_panel=PLUGINS, epilog="Example: synthkit version")(
        version_command
    )
    from synthkit.fleet_commands import dry_run_command, validate_command
    from synthkit.loop_commands import reconcile_command, replay_command, runs_command

    app.command(
        "validate",
        rich_help_panel=SIMULATE,
        epilog="Example: synthkit --scenario scenarios/stationary_only_v1.yaml --strict validate",
    )(validate_command)
    app.command(
        "dry-run",
        rich_help_panel=SIMULATE,
        epilog="Example: synthkit --scenario scenarios/mobile_only_v1.yaml dry-run --preview-steps 10",
    )(dry_run_command)
    from synthkit.tick_commands import export_command, live_command

    app.command(
        "export",
        rich_help_panel=SIMULATE,
        epilog="Example: synthkit --scenario meters.yaml export --out readings.csv --end-at 2026-03-02T00:00:00Z",
    )(export_command)
    app.command(
        "live",
        rich_help_panel="Live",
        epilog="Example: synthkit --scenario meters.yaml live --iterations 10 --every 1",
    )(live_command)
    app.command("runs", rich_help_panel=DELIVERY, epilog="Example: synthkit runs --json")(
        runs_command
    )
    app.command(
        "reconcile",
        rich_help_panel=DELIVERY,
        epilog="Example: synthkit reconcile --db-url sqlite:///.tmp/synthkit.db --report gaps.json",
    )(reconcile_command)
    app.command(
        "replay",
        rich_help_panel=DELIVERY,
        epilog="Example: synthkit replay --report gaps.json --sink mqtt --rate 500",
    )(replay_command)
    taken: dict[str, str] = {}
    for name, command in plugins.commands().items():
        names = _command_names(command.app) if command.top_level else [name]
        source = plugins.source_of("commands", name)
        for each in names:
            if each in CORE_COMMANDS:
                owner = f"synthkit's own {each!r} command"
            elif each in taken:
                owner = f"the {each!r} command of {taken[each]}"
            else:
                taken[each] = source
                continue
            raise PluginError(
                f"plugin command {each!r} from {source} would replace {owner}",
                hint="rename the plugin's command",
            )
        _checked_numbers(command.app)
        if command.top_level:
            app.add_typer(command.app)
        else:
            app.add_typer(
                command.app,
                name=name,
                help=command.help or None,
                rich_help_panel=command.panel or None,
            )
    return app


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
            help=f"The ingestion database of every command that uses one (default: ${ENV_DB_URL}, else {DEFAULT_DB_URL}); a command's own --db-url wins.",
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


def _rooted(plugins: Plugins) -> Callable[..., None]:
    """The root callback of an app built for ``plugins``: its options (typer reads them off
    :func:`root_options`' signature) and the plugin manager, on the root context's object,
    where commands find them (``global_options``, ``plugins_of``)."""

    @functools.wraps(root_options)
    def callback(ctx: typer.Context, **options: Any) -> None:
        root_options(ctx, **options)
        ctx.obj = replace(ctx.obj, plugins=plugins)

    return callback


def _checked_numbers(app: typer.Typer) -> None:
    """Every float option of every command refuses NaN and infinity (``--duration-seconds
    nan`` would otherwise mean "unlimited", and ``inf`` overflow later), and every int option
    a number no int64 holds (``--iterations 99999999999999999999`` overflowed deep inside):
    one rule for all plugin commands, applied where they are composed."""
    for info in app.registered_commands:
        if info.callback is not None and not getattr(info.callback, "_checked_numbers", False):
            info.callback = _checking_numbers(info.callback)
    for group in app.registered_groups:
        if group.typer_instance is not None:
            _checked_numbers(group.typer_instance)


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


def _command_names(app: typer.Typer) -> list[str]:
    return [
        info.name or (info.callback.__name__.replace("_", "-") if info.callback else "")
        for info in app.registered_commands
    ]


def run(args: list[str], plugins: Plugins | None = None) -> int:
    """Run the CLI with ``args``; returns the exit code (never raises for user errors)."""
    debug = os.environ.get(ENV_DEBUG, "") not in ("", "0")
    try:
        plugins = plugins or build_plugins()
        for failure in plugins.failures:
            _warn_plugin(failure)
        plugins.on_failure = _warn_plugin  # hooks that raise later, when first called
        command = typer.main.get_command(build_app(plugins))
        tidy_help(command)
        args = hoist_global_options(command, list(args))
        result = command.main(args=args, prog_name="synthkit", standalone_mode=False)
        if interrupt.received:  # typer returned the interrupt as 130: say which signal
            return _interrupted(Terminated(interrupt.received[-1]))
        return result if isinstance(result, int) else 0
    except SynthkitError as exc:
        if debug:
            traceback.print_exc()
        _say(f"{'incomplete' if isinstance(exc, IncompleteRun) else 'error'}: {exc}")
        return exc.exit_code
    except typer.Exit as exc:
        if isinstance(exc.__cause__, KeyboardInterrupt):  # typer turns Ctrl+C into Exit(130)
            return _interrupted(exc.__cause__)
        return exc.exit_code
    except typer.TyperException as exc:  # click's usage errors (typer bundles click)
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
            sys.stdout.write(ctx.get_help() + "\n")
            return 0
        if debug:
            traceback.print_exc()
        where = ctx.command_path if ctx is not None else "synthkit"
        _say(f"error: {exc.format_message()} (see '{where} --help')")
        return exc.exit_code if exc.exit_code else 2
    except typer.Abort:
        _say("aborted")
        return 130
    except KeyboardInterrupt as exc:
        return _interrupted(exc)
    except Exception as exc:  # a bug, not bad input: say so, briefly, and whose
        if debug:
            traceback.print_exc()
        owner = plugins.owner_of(exc) if plugins is not None else None
        where = f"in {owner}" if owner else "in synthkit"
        _say(
            f"internal error {where}: {type(exc).__name__}: {exc} (set {ENV_DEBUG}=1 for the traceback)"
        )
        return 1


def _interrupted(exc: KeyboardInterrupt) -> int:
    """Ctrl+C, or SIGTERM/SIGHUP (:mod:`synthkit.interrupt`): cleanup has run; say which."""
    name = str(exc) if isinstance(exc, Terminated) else "SIGINT"
    _say(f"interrupted ({name}); nothing half-written was left")
    return exit_code(exc)


def _warn_plugin(failure: LoadFailure) -> None:
    stderr().print(
        f"[yellow]warning:[/] {failure.describe()} (left out; the other plugins keep "
        "working; SYNTHKIT_STRICT_PLUGINS=1 makes this fatal)",
        highlight=False,
        soft_wrap=True,
    )


def _say(message: str) -> None:
    sys.stderr.write(scrub(message.rstrip()) + "\n")
    sys.stderr.flush()


def main() -> None:
    keep_freed_memory()
    terminate_like_ctrl_c()
    sys.exit(run(sys.argv[1:]))


if __name__ == "__main__":
    main()
