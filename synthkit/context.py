"""Global options (``synthkit --scenario X --strict validate``; after the command too, see
``synthkit.cli.hoist_global_options``); plugin commands read them with :func:`global_options`,
and the plugin manager of the invocation with :func:`plugins_of`. They live on the root
command's context, never in a process global: two invocations in one process share nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from synthkit.errors import ConfigError

if TYPE_CHECKING:
    from synthkit.plugins import Plugins

DEFAULT_STATE_FILE = Path(".tmp/synthetic_sim_seq_state.json")


@dataclass(frozen=True)
class GlobalOptions:
    scenario: Path | None = None
    state_file: Path = DEFAULT_STATE_FILE
    strict: bool = False
    transforms: tuple[str, ...] = ()  # --transform NAME, in order
    transform_options: tuple[str, ...] = ()  # --transform-option NAME.KEY=VALUE
    db_url: str | None = None  # --db-url before the command: every command that uses a database
    # --notes-dir: where transforms' notes go (else beside the output)
    notes_dir: Path | None = None
    # the invocation's plugin manager (synthkit.cli.run's, or build_app's)
    plugins: Plugins | None = field(default=None, compare=False, repr=False)
    # the command line as given (synthkit.cli.run's): an executor runs its shards with it
    argv: tuple[str, ...] = field(default=(), compare=False, repr=False)

    def database(self, flag: str | None = None) -> str:
        """The store a command uses: its own ``--db-url``, else the global one, else
        ``$SYNTHKIT_DB_URL``, else the default an ingest sink offers (the reference
        database's embedded SQLite file: ``Plugins.default_store``)."""
        from synthkit.dburl import resolve_url

        named = flag or self.db_url
        if named or self.names_database():
            return resolve_url(named)
        if self.plugins is None:
            raise ConfigError("no store named", hint="give --db-url URL (or SYNTHKIT_DB_URL)")
        return resolve_url(None, self.plugins.default_store())

    def names_database(self, flag: str | None = None) -> bool:
        """Did the user name a database (the command's ``--db-url``, the global one, the
        environment's)? The default file merely existing is not a request."""
        from synthkit.dburl import named_database

        return named_database(flag or self.db_url)

    def require_scenario(self) -> Path:
        if self.scenario is None:
            raise ConfigError(
                "this command needs a scenario",
                hint="give --scenario path/to/scenario.yaml (before or after the command)",
            )
        return self.scenario


def global_options(ctx: typer.Context) -> GlobalOptions:
    root = ctx.find_root()
    return root.obj if isinstance(root.obj, GlobalOptions) else GlobalOptions()


def plugins_of(ctx: typer.Context) -> Plugins:
    """The plugin manager this invocation runs with (``synthkit.cli.run``'s, or the app's
    ``build_app(plugins)``)."""
    plugins = global_options(ctx).plugins
    if plugins is None:
        raise RuntimeError("no plugin manager: run commands through synthkit.cli.run or build_app")
    return plugins
