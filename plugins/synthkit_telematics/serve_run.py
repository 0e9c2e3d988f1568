"""Running the endpoint (``synthkit telematics serve``): uvicorn on a host and port (0: a free
one), the store's tables made when missing, a ready file written once the socket listens
(its URLs, for a script or a test to wait on), and on Ctrl+C or SIGTERM a graceful stop and
a JSON summary of what the store holds."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from pathlib import Path
from typing import Any

from synthkit.api import AtomicFile, ConfigError, hide_secret, redact, stderr
from synthkit_telematics.event_rules import EventRules
from synthkit_telematics.serve import Chaos, make_app
from synthkit_telematics.serve_api import openapi
from synthkit_telematics.store import TelematicsStore


def serve(
    plugins: Any,
    url: str,
    *,
    host: str,
    port: int,
    token_env: str,
    ready_file: Path | None,
    fail_share: float,
    lose_share: float,
    chaos_seed: int,
) -> dict[str, Any]:
    import uvicorn

    from synthkit import __version__

    for name, share in (("--fail-share", fail_share), ("--lose-share", lose_share)):
        if not 0.0 <= share <= 1.0:
            raise ConfigError(f"{name} must be between 0 and 1, got {share}")
    if fail_share + lose_share > 1.0:
        raise ConfigError("--fail-share and --lose-share add up to more than 1")
    token = os.environ.get(token_env, "") if token_env else ""
    if token:
        hide_secret(token)
    sock = _bound(host, port)  # a port in use is one clear answer, before the store is made
    store = TelematicsStore(url, create=True)
    rules = EventRules(plugins.event_types())
    app = make_app(
        store,
        rules,
        token=token,
        chaos=Chaos(fail_share, lose_share, chaos_seed),
        openapi=openapi(rules, __version__),
    )
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=False, lifespan="off"
    )
    server = _Server(config, ready_file, redact(url), bool(token))
    started = time.monotonic()
    try:
        server.run(sock)
    finally:
        sock.close()
        if ready_file is not None:
            ready_file.unlink(missing_ok=True)
    if not server.started:
        raise ConfigError(
            f"the endpoint on {host}:{port} did not start", hint="see the error above"
        )
    held = store.counts()
    store.close()
    return {
        "command": "telematics serve",
        "url": server.base,
        "store": redact(url),
        "auth": "bearer" if token else "none",
        "uptime_seconds": round(time.monotonic() - started, 3),
        "stopped_by": server.stopped_by[0] if server.stopped_by else None,
        **held,
    }


def _bound(host: str, port: int) -> socket.socket:
    """A listening socket on ``host``:``port`` (0: a free port), or a ConfigError."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP said outright: asyncio sets TCP_NODELAY only on sockets that say so, and
    # without it each answer waits on a delayed ACK (measured: 40,000 events/s, not 67,000)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            hint="give a free --port (0 picks one), or a --host of this machine",
        ) from None
    return sock


class _Server:
    """uvicorn's server, and the ready file once its socket listens."""

    def __init__(self, config: Any, ready_file: Path | None, store: str, auth: bool) -> None:
        import uvicorn

        class Server(uvicorn.Server):
            async def startup(inner, sockets: Any = None) -> None:
                await super().startup(sockets)
                if inner.started:
                    self._ready(inner)

            async def _serve(inner, sockets: Any = None) -> None:
                await super()._serve(sockets)
                # stopped gracefully by Ctrl+C or SIGTERM: that is this command's normal end
                # (its summary follows), not a signal to raise again once uvicorn is done
                self.stopped_by = [signal.Signals(s).name for s in inner._captured_signals]
                inner._captured_signals.clear()

        self.server = Server(config)
        self.ready_file, self.store, self.auth = ready_file, store, auth
        self.base = ""
        self.stopped_by: list[str] = []

    @property
    def started(self) -> bool:
        return bool(self.server.started)

    def run(self, sock: socket.socket) -> None:
        self.server.run(sockets=[sock])

    def _ready(self, server: Any) -> None:
        host, port = server.servers[0].sockets[0].getsockname()[:2]
        self.base = f"http://{host}:{port}"
        note = {
            "url": self.base,
            "ingest": f"{self.base}/telematics/ingest",
            "health": f"{self.base}/health",
            "openapi": f"{self.base}/openapi.json",
            "store": self.store,
            "auth": "bearer" if self.auth else "none",
            "pid": os.getpid(),
        }
        stderr().print(
            f"serving: POST {note['ingest']} -> {self.store} (Ctrl+C stops)", highlight=False
        )
        if self.ready_file is not None:
            self.ready_file.parent.mkdir(parents=True, exist_ok=True)
            out = AtomicFile(self.ready_file)
            out.write((json.dumps(note, indent=1) + "\n").encode())
            out.commit()
