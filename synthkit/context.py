"""Global options (``synthkit --scenario X --strict validate``; after the command too, see
``synthkit.cli.hoist_global_options``); plugin commands read them with :func:`global_options`."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from pathlib import Path

import typer

from synthkit.errors import ConfigError

DEFAULT_STATE_FILE = Path(".tmp/synthetic_sim_seq_state.json")


@dataclass(frozen=True)
class GlobalOptions:
    scenario: Path | None = None
    state_file: Path = DEFAULT_STATE_FILE
    strict: bool = False
    transforms: tuple[str, ...] = ()  # --transform NAME, in order
    transform_options: tuple[str, ...] = ()  # --transform-option NAME.KEY=VALUE
    db_url: str | None = None  # --db-url before the command: every command that uses a database
    notes_dir: Path | None = (
        None  # --notes-dir: where transforms' notes go (else beside the output)
    )

    def require_scenario(self) -> Path:
        if self.scenario is None:
            raise ConfigError(
                "this command needs a scenario",
                hint="give --scenario path/to/scenario.yaml (before or after the command)",
            )
        return self.scenario


_current: contextvars.ContextVar[GlobalOptions] = contextvars.ContextVar(
    "synthkit_options",
    default=GlobalOptions(),  # noqa: B039 - frozen
)


def set_current(options: GlobalOptions) -> None:
    """The root command's options, for code that has no typer context (a database URL's default)."""
    _current.set(options)


def current_options() -> GlobalOptions:
    return _current.get()


def global_options(ctx: typer.Context) -> GlobalOptions:
    root = ctx.find_root()
    return root.obj if isinstance(root.obj, GlobalOptions) else GlobalOptions()
