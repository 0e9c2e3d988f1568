"""The reference database's engines, and clear errors when it cannot be reached.

``--db-url`` or ``SYNTHKIT_DB_URL`` picks it (``GlobalOptions.database``), as a SQLAlchemy URL
(``sqlite:///path/synthkit.db``, ``postgresql+psycopg://root@127.0.0.1:5432/test``). The
embedded default is a SQLite file, so the main job needs no server. A password in a URL is
never printed: every message shows :func:`redact`'s form.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from synthkit.api import ConfigError, redact, scrub
from synthkit_reservoir.database.urls import url_flag


def make_engine(url: str, *, create: bool = False) -> Engine:
    """An engine for ``url``; SQLite gets WAL and foreign keys. A SQLite file that does not
    exist is an error unless ``create`` (``db init``): any other command would leave an
    empty database file behind."""
    try:
        parsed = make_url(url)
        parsed.port  # noqa: B018 - a port that is not a number fails here, not in the driver
    except (ArgumentError, ValueError):
        raise ConfigError(
            f"{redact(url)} is not a database URL",
            hint="e.g. sqlite:///.tmp/synthkit.db or postgresql+psycopg://root@127.0.0.1:5432/test",
        ) from None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database)
        if not create and not path.is_file():
            raise ConfigError(
                f"no database at {path}" + (" (it is not a file)" if path.exists() else ""),
                hint=f"run `synthkit db init{url_flag(url)}` first, or check --db-url / SYNTHKIT_DB_URL",
            )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"cannot create the directory of {path}: {exc.strerror}",
                hint="check --db-url / SYNTHKIT_DB_URL",
            ) from None
    try:
        engine = create_engine(parsed, future=True)
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        raise ConfigError(
            f"no driver for {redact(url)} ({exc})",
            hint="for PostgreSQL install psycopg 3 and use postgresql+psycopg://",
        ) from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # readers never block the importer
    # consistent after any crash; a power cut may undo the last commits, which a re-run of
    # the import restores (dedupe), so the per-commit fsync is not worth its cost
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA cache_size=-131072")  # 128 MiB of pages: keeps the dedupe index hot
    # checkpoint every 64 MiB of WAL, not 4: bulk ingestion rewrites far fewer index pages
    cur.execute("PRAGMA wal_autocheckpoint=16384")
    cur.close()


def describe_db_error(url: str, exc: Exception) -> ConfigError:
    """A connection or schema failure as one line naming the (redacted) database, and the fix
    for that failure (a server that is down, a database or role to create, a schema to init)."""
    text = scrub(" ".join(str(getattr(exc, "orig", exc) or exc).split()))
    parsed = make_url(url)
    if re.search(r'database "[^"]*" does not exist', text):
        hint = (
            f"create the database first (`createdb -h {parsed.host or 'localhost'} -p {parsed.port or 5432} "
            f"{parsed.database}`, or CREATE DATABASE), then `synthkit db init{url_flag(url)}`"
        )
    elif re.search(r'role "[^"]*" does not exist', text):
        hint = "give --db-url a user that exists on that server, or create the role (`createuser NAME`)"
    elif "Connection refused" in text or "could not connect" in text.lower():
        hint = "start the database server, or check --db-url / SYNTHKIT_DB_URL"
    elif "does not exist" in text or "no such table" in text:
        hint = f"run `synthkit db init{url_flag(url)}` first"
    else:
        hint = "check --db-url / SYNTHKIT_DB_URL"
    return ConfigError(f"database {redact(url)}: {text[:300]}", hint=hint)


@contextmanager
def db_errors(url: str) -> Iterator[None]:
    """A connection or schema failure of ``url`` inside the block becomes
    :func:`describe_db_error`'s one-line ConfigError (nothing is opened here: a command whose
    sink may not use that database at all wraps its run in this)."""
    try:
        yield
    except DBAPIError as exc:
        raise describe_db_error(url, exc) from None


@contextmanager
def connected(url: str, *, create: bool = False) -> Iterator[Engine]:
    """An engine for ``url``, disposed however the block ends; a connection or schema failure
    inside the block becomes :func:`describe_db_error`'s one-line ConfigError."""
    engine = make_engine(url, create=create)
    try:
        yield engine
    except DBAPIError as exc:  # OperationalError included
        raise describe_db_error(url, exc) from None
    finally:
        engine.dispose()
