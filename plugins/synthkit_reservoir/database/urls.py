"""How the reference database is named: its default URL (``SinkSpec.default_url``: the main
job needs no server), which database a URL reaches however it is spelled
(``SinkSpec.identity``), and the flag a message repeats. No SQLAlchemy here, so a live run
that names its store loads no driver."""

from __future__ import annotations

import os
from urllib.parse import parse_qs, urlsplit

from synthkit.api import redact

DEFAULT_URL = "sqlite:///.tmp/synthkit.db"  # embedded: a fresh machine has no server


def url_flag(url: str) -> str:
    """`` --db-url URL`` (redacted) for a command a message tells the user to run against
    ``url``; "" for the default database (a bare command already means it)."""
    return "" if url == DEFAULT_URL else f" --db-url {redact(url)}"


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
