"""The reference database's engines and errors: the core's (``synthkit.api.make_engine``...)
with this database's own fix for a missing file or schema, `synthkit db init`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine

from synthkit import api
from synthkit.api import ConfigError
from synthkit_reservoir.database.urls import url_flag


def _init(url: str) -> str:
    return f"run `synthkit db init{url_flag(url)}` first"


def make_engine(url: str, *, create: bool = False) -> Engine:
    """An engine for ``url`` (``create``: a missing SQLite file is made, as `db init` does)."""
    return api.make_engine(url, create=create, init_hint=_init(url))


def describe_db_error(url: str, exc: Exception) -> ConfigError:
    return api.describe_db_error(url, exc, init_hint=_init(url))


@contextmanager
def db_errors(url: str) -> Iterator[None]:
    with api.db_errors(url, init_hint=_init(url)):
        yield


@contextmanager
def connected(url: str, *, create: bool = False) -> Iterator[Engine]:
    with api.connected_engine(url, create=create, init_hint=_init(url)) as engine:
        yield engine
