"""The ``synthkit`` command: composes the command groups that plugins register.

``main()`` maps synthkit's own errors and usage errors to one line on stderr and exit code 2;
``SYNTHKIT_DEBUG=1`` shows the traceback instead.
"""

from __future__ import annotations

import os
import sys
import traceback

import typer

from synthkit import __version__, interrupt
from synthkit.cli_options import checked_numbers, rooted
from synthkit.cli_shape import DELIVERY, PLUGINS, SIMULATE, hoist_global_options, tidy_help
from synthkit.console import stderr, take_progress_channel
from synthkit.errors import IncompleteRun, PluginError, SynthkitError
from synthkit.interrupt import Terminated, exit_code, follow_parent, terminate_like_ctrl_c
from synthkit.memory import keep_freed_memory
from synthkit.plugins import LoadFailure, Plugins, build_plugins
from synthkit.secrets import scrub

ENV_DEBUG = "SYNTHKIT_DEBUG"
CORE_COMMANDS = (
    "dataset",
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
    app.callback()(rooted(plugins))
    from synthkit.plugin_listing import plugins_command

    app.command("plugins", rich_help_panel=PLUGINS, epilog="Example: synthkit plugins --json")(
        plugins_command
    )
    app.command("version", rich_help_panel=PLUGINS, epilog="Example: synthkit version")(
        version_command
    )
    from synthkit.fleet_commands import dry_run_command, validate_command
    from synthkit.loop_commands import reconcile_command, runs_command
    from synthkit.replay_command import replay_command

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
    from synthkit.dataset_commands import app as dataset_app

    app.add_typer(dataset_app, name="dataset", rich_help_panel=SIMULATE)
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
        checked_numbers(command.app)
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


def _command_names(app: typer.Typer) -> list[str]:
    return [
        info.name or (info.callback.__name__.replace("_", "-") if info.callback else "")
        for info in app.registered_commands
    ]


def run(args: list[str], plugins: Plugins | None = None) -> int:
    """Run the CLI with ``args``; returns the exit code (never raises for user errors)."""
    try:
        plugins = plugins or build_plugins()
        return _invoke(plugins, args)
    except (Exception, KeyboardInterrupt) as exc:
        return _answer(exc, plugins)


def _invoke(plugins: Plugins, args: list[str]) -> int:
    for failure in plugins.failures:
        _warn_plugin(failure)
    plugins.on_failure = _warn_plugin  # hooks that raise later, when first called
    command = typer.main.get_command(build_app(plugins))
    tidy_help(command)
    args = hoist_global_options(command, list(args))
    result = command.main(args=args, prog_name="synthkit", standalone_mode=False, obj=tuple(args))
    if interrupt.received:  # typer returned the interrupt as 130: say which signal
        return _interrupted(Terminated(interrupt.received[-1]))
    return result if isinstance(result, int) else 0


def _answer(exc: BaseException, plugins: Plugins | None) -> int:
    """What the user is told of ``exc``, one line on stderr, and the exit code: 2 for bad
    input, 3 for an incomplete run, 130 for an interrupt, 1 for a bug (naming its plugin)."""
    debug = os.environ.get(ENV_DEBUG, "") not in ("", "0")
    if isinstance(exc, typer.Exit):
        if isinstance(exc.__cause__, KeyboardInterrupt):  # typer turns Ctrl+C into Exit(130)
            return _interrupted(exc.__cause__)
        return exc.exit_code
    if isinstance(exc, typer.Abort):
        _say("aborted")
        return 130
    if isinstance(exc, KeyboardInterrupt):
        return _interrupted(exc)
    ctx = getattr(exc, "ctx", None)
    if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
        sys.stdout.write(ctx.get_help() + "\n")
        return 0
    if debug:
        traceback.print_exc()
    if isinstance(exc, SynthkitError):
        _say(f"{'incomplete' if isinstance(exc, IncompleteRun) else 'error'}: {exc}")
        return exc.exit_code
    if isinstance(exc, typer.TyperException):  # click's usage errors (typer bundles click)
        where = ctx.command_path if ctx is not None else "synthkit"
        _say(f"error: {exc.format_message()} (see '{where} --help')")
        return exc.exit_code if exc.exit_code else 2
    # a bug, not bad input: say so, briefly, and whose
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
    take_progress_channel()  # a shard an executor started reports its progress there
    keep_freed_memory()
    terminate_like_ctrl_c()
    follow_parent()  # ... and ends with the executor's process
    sys.exit(run(sys.argv[1:]))


if __name__ == "__main__":
    main()
