"""Which store: the URL given (a command's ``--db-url``, else the global one: see
``GlobalOptions.database``), else ``SYNTHKIT_DB_URL``, else the default an ingest sink offers
(``SinkSpec.default_url``: the reference database's embedded SQLite file).

The core only resolves the URL: the ingest sink claiming its scheme opens it (and names its
store: ``SinkSpec.identity``). A command that only resolves a URL (``run --db-url``, a
preflight deciding whether a database is in use) loads no database driver it may never use;
a live run's garbage collections scan every object those modules leave behind.
"""

from __future__ import annotations

import os

from synthkit.secrets import hide_in_url

ENV_DB_URL = "SYNTHKIT_DB_URL"


def resolve_url(flag: str | None, default: str = "") -> str:
    """``flag``, else ``$SYNTHKIT_DB_URL``, else ``default``."""
    url = flag or os.environ.get(ENV_DB_URL) or default
    hide_in_url(url)  # its secrets are scrubbed from everything printed from now on
    return url


def named_database(flag: str | None) -> bool:
    """Did the user name a database (``flag``, or the environment)? Checks that only make
    sense against a database run then: the default file merely existing is not a request (it
    may hold another scenario's devices)."""
    return bool(flag or os.environ.get(ENV_DB_URL))
