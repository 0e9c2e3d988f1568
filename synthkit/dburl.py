"""Which database: the URL given (a command's ``--db-url``, else the global one: see
``GlobalOptions.database``), else ``SYNTHKIT_DB_URL``, else the embedded SQLite file.

Apart from :mod:`synthkit.database` (engines, errors), which imports SQLAlchemy: a command
that only resolves a URL (``run --db-url``, a preflight deciding whether a database is in
use) must not load a database driver it may never use; a live run's garbage collections
scan every object those ~100 modules leave behind.
"""

from __future__ import annotations

import os

from synthkit.secrets import hide_in_url

ENV_DB_URL = "SYNTHKIT_DB_URL"
DEFAULT_DB_URL = "sqlite:///.tmp/synthkit.db"


def resolve_url(flag: str | None) -> str:
    """``flag``, else ``$SYNTHKIT_DB_URL``, else the embedded SQLite file."""
    url = flag or os.environ.get(ENV_DB_URL) or DEFAULT_DB_URL
    hide_in_url(url)  # its secrets are scrubbed from everything printed from now on
    return url


def named_database(flag: str | None) -> bool:
    """Did the user name a database (``flag``, or the environment)? Checks that only make
    sense against a database run then: the default file merely existing is not a request (it
    may hold another scenario's devices)."""
    return bool(flag or os.environ.get(ENV_DB_URL))


def url_flag(url: str) -> str:
    """`` --db-url URL`` (redacted) for a command a message tells the user to run against
    ``url``; "" for the default database (a bare command already means it)."""
    from synthkit.secrets import redact

    return "" if url == DEFAULT_DB_URL else f" --db-url {redact(url)}"


_DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "mariadb": 3306, "mssql": 1433, "oracle": 1521}


def store_identity(url: str) -> str:
    """The database ``url`` names, however it is spelled: a SQLite file's absolute real path
    (``sqlite:///.tmp/x.db`` in two directories is two databases), a server's dialect, host,
    port and database name (no driver, user or password: the same database reached two ways
    is one). What must differ between stores and never between spellings (a listener's
    persistent session is named after it)."""
    from urllib.parse import parse_qs, urlsplit

    scheme, _, rest = url.partition("://")
    dialect = scheme.split("+")[0].lower()
    if dialect == "sqlite":
        path = (rest[1:] if rest.startswith("/") else rest).split("?")[0]
        return (
            f"sqlite:{os.path.realpath(path)}" if path and path != ":memory:" else hide_in_url(url)
        )
    try:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        host = (parts.hostname or query.get("host", ["localhost"])[0]).lower()
        port = parts.port or int(query.get("port", [0])[0]) or _DEFAULT_PORTS.get(dialect, 0)
    except ValueError:
        return hide_in_url(url)
    return f"{dialect}://{host}:{port}/{parts.path.lstrip('/')}"
