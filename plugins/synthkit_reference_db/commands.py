"""``synthkit db init | register``."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.exc import DBAPIError, OperationalError

from synthkit.console import emit_json
from synthkit.context import global_options
from synthkit.database import describe_db_error, make_engine, redact, resolve_url
from synthkit.plugins import get_plugins
from synthkit.scenario import load_scenario
from synthkit_reference_db.register import init_schema, register

app = typer.Typer(add_completion=False, no_args_is_help=True)
DbUrl = Annotated[
    str | None,
    typer.Option("--db-url", help="SQLAlchemy URL (default: $SYNTHKIT_DB_URL, else sqlite:///.tmp/synthkit.db)."),
]


@app.command("init")
def init(db_url: DbUrl = None) -> None:
    """Create the reference schema (idempotent)."""
    url = resolve_url(db_url)
    engine = make_engine(url)
    try:
        result = init_schema(engine)
    except (OperationalError, DBAPIError) as exc:
        raise describe_db_error(url, exc) from None
    finally:
        engine.dispose()
    emit_json({"command": "db init", "database": redact(url), **result})


@app.command("register")
def register_command(ctx: typer.Context, db_url: DbUrl = None) -> None:
    """Create and attach the scenario's devices and reservoirs (idempotent)."""
    loaded = load_scenario(str(global_options(ctx).require_scenario()), get_plugins())
    url = resolve_url(db_url)
    engine = make_engine(url)
    try:
        result = register(engine, loaded)
    except (OperationalError, DBAPIError) as exc:
        raise describe_db_error(url, exc) from None
    finally:
        engine.dispose()
    emit_json({"command": "db register", "database": redact(url), "scenario_id": loaded.scenario_id, **result})
