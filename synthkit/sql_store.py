"""Stores behind SQLAlchemy URLs, for every plugin that keeps rows in one: an engine per URL
(SQLite gets WAL and the pragmas bulk ingestion wants), one-line errors that name the
(redacted) database and the fix, and the identity of the database a URL reaches however it
is spelled (what run records and ``synthkit reconcile`` match stores by).

``--db-url`` or ``SYNTHKIT_DB_URL`` picks a store (``GlobalOptions.database``), as a
SQLAlchemy URL (``sqlite:///path/synthkit.db``, ``postgresql+psycopg://root@127.0.0.1:5432/test``).
A password in a URL is never printed: every message shows :func:`synthkit.secrets.redact`'s
form. SQLAlchemy loads when an engine is made, not with this module."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from synthkit.errors import ConfigError
from synthkit.secrets import redact, scrub

if TYPE_CHECKING:
    from sqlalchemy import Engine

EXAMPLE_URLS = "sqlite:///.tmp/synthkit.db or postgresql+psycopg://root@127.0.0.1:5432/test"


def make_engine(url: str, *, create: bool = False, init_hint: str = "") -> Engine:
    """An engine for ``url``; SQLite gets WAL and foreign keys. A SQLite file that does not
    exist is an error unless ``create``: a command that only reads would leave an empty
    database file behind. ``init_hint``: how the user makes the store (the missing file's
    fix)."""
    from sqlalchemy import create_engine, event
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        parsed = make_url(url)
        parsed.port  # noqa: B018 - a port that is not a number fails here, not in the driver
    except (ArgumentError, ValueError):
        raise ConfigError(
            f"{redact(url)} is not a database URL", hint=f"e.g. {EXAMPLE_URLS}"
        ) from None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database)
        if not create and not path.is_file():
            raise ConfigError(
                f"no database at {path}" + (" (it is not a file)" if path.exists() else ""),
                hint=f"{init_hint or 'create it first'}, or check --db-url / SYNTHKIT_DB_URL",
            )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"cannot create the directory of {path}: {exc.strerror}",
                hint="check --db-url / SYNTHKIT_DB_URL",
            ) from None
    try:
        engine = create_engine(parsed)
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        raise ConfigError(
            f"no driver for {redact(url)} ({exc})",
            hint="for PostgreSQL install psycopg 3 and use postgresql+psycopg://",
        ) from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
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


def describe_db_error(url: str, exc: Exception, *, init_hint: str = "") -> ConfigError:
    """A connection or schema failure as one line naming the (redacted) database, and the fix
    for that failure (a server that is down, a database or role to create, a schema to make:
    ``init_hint``)."""
    from sqlalchemy.engine import make_url

    text = scrub(" ".join(str(getattr(exc, "orig", exc) or exc).split()))
    parsed = make_url(url)
    make_schema = init_hint or "create the store's tables first"
    if re.search(r'database "[^"]*" does not exist', text):
        hint = (
            f"create the database first (`createdb -h {parsed.host or 'localhost'} -p {parsed.port or 5432} "
            f"{parsed.database}`, or CREATE DATABASE), then {make_schema}"
        )
    elif re.search(r'role "[^"]*" does not exist', text):
        hint = "give --db-url a user that exists on that server, or create the role (`createuser NAME`)"
    elif "Connection refused" in text or "could not connect" in text.lower():
        hint = "start the database server, or check --db-url / SYNTHKIT_DB_URL"
    elif "does not exist" in text or "no such table" in text:
        hint = make_schema
    else:
        hint = "check --db-url / SYNTHKIT_DB_URL"
    return ConfigError(f"database {redact(url)}: {text[:300]}", hint=hint)


@contextmanager
def db_errors(url: str, *, init_hint: str = "") -> Iterator[None]:
    """A connection or schema failure of ``url`` inside the block becomes
    :func:`describe_db_error`'s one-line ConfigError."""
    from sqlalchemy.exc import DBAPIError

    try:
        yield
    except DBAPIError as exc:
        raise describe_db_error(url, exc, init_hint=init_hint) from None


@contextmanager
def connected_engine(url: str, *, create: bool = False, init_hint: str = "") -> Iterator[Engine]:
    """An engine for ``url``, disposed however the block ends; a connection or schema failure
    inside the block becomes :func:`describe_db_error`'s one-line ConfigError."""
    engine = make_engine(url, create=create, init_hint=init_hint)
    try:
        with db_errors(url, init_hint=init_hint):
            yield engine
    finally:
        engine.dispose()


_DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "mariadb": 3306, "mssql": 1433, "oracle": 1521}


def store_identity(url: str) -> str:
    """The database ``url`` names, however it is spelled: a SQLite file's absolute real path
    (``sqlite:///.tmp/x.db`` in two directories is two databases), a server's dialect, host,
    port and database name (no driver, user or password: the same database reached two ways
    is one). What must differ between stores and never between spellings (a listener's
    persistent session is named after it)."""
    scheme, _, rest = url.partition("://")
    dialect = scheme.split("+")[0].lower()
    if dialect == "sqlite":
        path = (rest[1:] if rest.startswith("/") else rest).split("?")[0]
        return f"sqlite:{os.path.realpath(path)}" if path and path != ":memory:" else redact(url)
    try:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        host = (parts.hostname or query.get("host", ["localhost"])[0]).lower()
        port = parts.port or int(query.get("port", [0])[0]) or _DEFAULT_PORTS.get(dialect, 0)
    except ValueError:
        return redact(url)
    return f"{dialect}://{host}:{port}/{parts.path.lstrip('/')}"
