from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from synthkit_mqtt.testbroker import LocalBroker

pytest_plugins = ["synthkit.testing"]

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run_cmd(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run an installed console script (synthkit, synthkit-mock) for real."""
    exe = str(BIN / args[0])
    full_env = {**os.environ, **(env or {})}
    if "SYNTHKIT_DEBUG" not in (env or {}):  # a developer's debug setting must not leak in
        full_env.pop("SYNTHKIT_DEBUG", None)
    return subprocess.run(
        [exe, *args[1:]], capture_output=True, text=True, env=full_env, cwd=cwd, timeout=timeout
    )


def pytest_configure(config: pytest.Config) -> None:
    """A shell runs background jobs (`pytest &`, `nohup`) with SIGINT (or SIGHUP) ignored, and
    an ignored signal stays ignored across exec: every child would inherit it, and the tests
    that stop a child with Ctrl+C would wait in vain. synthkit rightly keeps an ignored signal
    ignored, so the suite restores the default for its children."""
    for sig in (signal.SIGINT, signal.SIGHUP):
        if signal.getsignal(sig) is signal.SIG_IGN:
            signal.signal(
                sig, signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL
            )


# ------------------------------------------ markers: a fast part of the suite that stays honest

SERVICE_PORTS = frozenset({1883, 3306, 4222, 5432, 5672, 6379})  # the machine's shared services
SLOW_FIXTURES = frozenset({"sh", "tls_broker", "certs"})  # each starts a process


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Markers that follow from a test's fixtures: a process started -> ``slow``; a PostgreSQL
    database -> ``services``. Tests that reach a service another way carry the marker
    themselves; :func:`_markers_hold` fails any that does not."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & SLOW_FIXTURES:
            item.add_marker(pytest.mark.slow)
        callspec = getattr(item, "callspec", None)
        postgres = callspec is not None and callspec.params.get("db_url") == "postgresql"
        if "pg_database" in fixtures or postgres:
            item.add_marker(pytest.mark.services)


@pytest.fixture(autouse=True)
def _markers_hold(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """A test without the ``services`` marker that connects to one of the machine's services,
    or without ``slow`` that starts a process, fails naming the marker it needs: so
    ``-m "not services and not slow"`` runs on a machine with neither, in minutes."""
    node, broken = request.node, []
    if node.get_closest_marker("services") is None:
        real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

        def refused(address: object) -> bool:
            service = (
                isinstance(address, tuple) and len(address) >= 2 and address[1] in SERVICE_PORTS
            )
            if service:
                broken.append(f"it connects to {address[0]}:{address[1]}: mark it services")
            return service

        def connect(self: socket.socket, address: object) -> None:
            if refused(address):
                raise ConnectionRefusedError(
                    f"a test without the services marker reached {address}"
                )
            real_connect(self, address)

        def connect_ex(self: socket.socket, address: object) -> int:
            return 111 if refused(address) else real_connect_ex(self, address)

        monkeypatch.setattr(socket.socket, "connect", connect)
        monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)

        def no_postgres(cls: type, *args: object, **kwargs: object) -> None:
            broken.append("it connects to PostgreSQL: mark it services")
            raise psycopg.OperationalError("a test without the services marker reached PostgreSQL")

        monkeypatch.setattr(psycopg.Connection, "connect", classmethod(no_postgres))
    if node.get_closest_marker("slow") is None:

        def no_process(
            self: subprocess.Popen, args: object, *rest: object, **kwargs: object
        ) -> None:
            broken.append(f"it starts a process ({args!r:.80}): mark it slow")
            raise OSError("a test without the slow marker started a process")

        monkeypatch.setattr(subprocess.Popen, "__init__", no_process)
    yield
    if broken:
        pytest.fail("; ".join(dict.fromkeys(broken)), pytrace=False)


@pytest.fixture
def sh():
    return run_cmd


@pytest.fixture(scope="session", autouse=True)
def _own_session_directory(tmp_path_factory):
    """Module and session fixtures run before any test's own directory: they get one of this
    pytest process's own. In the checkout they shared relative defaults (the sequence state
    file's lock) with every other xdist worker, and with the user's own runs there."""
    before = Path.cwd()
    os.chdir(tmp_path_factory.mktemp("cwd"))
    yield
    os.chdir(before)


@pytest.fixture(autouse=True)
def _own_working_directory(tmp_path, monkeypatch):
    """Each test runs in its own empty directory, so defaults that are relative paths (the
    sequence state file, the SQLite database, `generated/`) never touch the checkout or leak
    from one test into another."""
    monkeypatch.chdir(tmp_path)


# --------------------------------------------- real services: PostgreSQL databases, TLS brokers

PG_ADMIN = "postgresql://root@127.0.0.1:5432/test"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/synthkit.db"
        return
    yield from _pg_database()


@pytest.fixture
def pg_database():
    """A PostgreSQL database of the test's own (dropped after it)."""
    yield from _pg_database()


def _pg_database():
    name = f"sk_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL must run on 127.0.0.1:5432 (start it with `pg_ctlcluster "
            f"--skip-systemctl-redirect $(ls /etc/postgresql) main start`): {exc}"
        )
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://root@127.0.0.1:5432/{name}"
    finally:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("certs")

    def ssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

    for ca in ("ca", "other_ca"):
        ssl(
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            f"/CN={ca}",
            "-keyout",
            f"{ca}.key",
            "-out",
            f"{ca}.crt",
        )
    for name, cn in (("server", "127.0.0.1"), ("client", "synthkit")):
        ssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            f"/CN={cn}",
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.csr",
        )
        ext = d / f"{name}.ext"
        ext.write_text(
            "subjectAltName=IP:127.0.0.1\n" if name == "server" else "extendedKeyUsage=clientAuth\n"
        )
        ssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            f"{name}.crt",
            "-extfile",
            ext.name,
        )
    ssl(
        "pkey",
        "-in",
        "client.key",
        "-aes256",
        "-passout",
        "pass:secret",
        "-out",
        "client_encrypted.key",
    )
    return d


@pytest.fixture
def tls_broker(tmp_path, certs):
    broker = LocalBroker(
        tmp_path,
        extra=(
            f"cafile {certs / 'ca.crt'}\ncertfile {certs / 'server.crt'}\nkeyfile {certs / 'server.key'}\n"
            "require_certificate true\n"
        ),
    ).start()
    yield broker
    broker.stop()
