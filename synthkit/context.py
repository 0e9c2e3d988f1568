"""Options given before the command (``synthkit --scenario X --strict validate``), as the
seed's simulator takes them; plugin commands read them with :func:`global_options`."""

from __future__ import annotations

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

    def require_scenario(self) -> Path:
        if self.scenario is None:
            raise ConfigError(
                "this command needs a scenario",
                hint="put --scenario path/to/scenario.yaml before the command",
            )
        return self.scenario


def global_options(ctx: typer.Context) -> GlobalOptions:
    root = ctx.find_root()
    return root.obj if isinstance(root.obj, GlobalOptions) else GlobalOptions()
