"""Issue 13: the built-in ``http`` sink, against a real HTTP server this test starts on
127.0.0.1: batches of JSON lines, outcomes per record from the response codes, bounded
retries with backoff on 500/429/dropped connections, TLS, a bearer token from the
environment that is sent and never printed, and a failure that leaves the state as it was."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from synthkit.api import IngestTarget
from synthkit.plugins import build_plugins
from synthkit.testing import check_sink, run_cli

TOKEN = "s3cr3t-token-value"


class Endpoint(ThreadingHTTPServer):
    """Answers each POST with the next entry of ``script`` (then ``then``): a status code,
    or ``"drop"`` to close the connection without an answer. Keeps what it stored."""

    daemon_threads = True

    def __init__(
        self, script: list[int | str] | None = None, then: int | str = 200, retry_after: str = ""
    ) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script, self.then, self.retry_after = list(script or []), then, retry_after
        self.stored: list[dict] = []
        self.requests: list[dict] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/telematics/ingest"

    def next_answer(self) -> int | str:
        with self.lock:
            return self.script.pop(0) if self.script else self.then


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real ingestion API

    def do_POST(self) -> None:
        server: Endpoint = self.server  # type: ignore[assignment]
        body = self.rfile.read(int(self.headers["Content-Length"]))
        answer = server.next_answer()
        server.requests.append(
            {"headers": dict(self.headers), "lines": body.count(b"\n"), "answer": answer}
        )
        if answer == "drop":
            self.close_connection = True
            self.connection.close()
            return
        if answer in range(200, 300):
            server.stored.extend(json.loads(line) for line in body.splitlines())
        self.send_response(int(answer))
        if answer == 429 and server.retry_after:
            self.send_header("Retry-After", server.retry_after)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def endpoint() -> Iterator[callable]:
    started: list[Endpoint] = []

    def start(*args: object, **kwargs: object) -> Endpoint:
        server = Endpoint(*args, **kwargs)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.shutdown()
        server.server_close()


def _generate(url: str, *extra: str, events: int = 12000, env_token: bool = True, monkeypatch=None):
    return run_cli(
        [
            "telematics",
            "generate",
            "--events",
            str(events),
            "--drivers",
            "20",
            "--out",
            url,
            "--sink-option",
            "backoff_s=0.01",
            *extra,
        ]
    )


def test_events_are_posted_in_batches_with_the_token_and_never_printed(
    endpoint, tmp_path, monkeypatch
):
    monkeypatch.setenv("SYNTHKIT_HTTP_TOKEN", TOKEN)
    server = endpoint()
    res = _generate(server.url, "--sink-option", "batch_size=5000")
    assert res.exit_code == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["sink"] == "http" and summary["outcomes"] == {"stored:HTTP_200": 12000}
    assert [r["lines"] for r in server.requests][:3] == [5000, 5000, 2000] or sum(
        r["lines"] for r in server.requests
    ) == 12000
    assert all(r["headers"]["Authorization"] == f"Bearer {TOKEN}" for r in server.requests)
    assert all(r["headers"]["Content-Type"] == "application/x-ndjson" for r in server.requests)
    assert len({r["headers"]["Idempotency-Key"] for r in server.requests}) == len(server.requests)
    assert TOKEN not in res.stdout + res.stderr
    file = run_cli(
        [
            "telematics",
            "generate",
            "--events",
            "12000",
            "--drivers",
            "20",
            "--out",
            str(tmp_path / "e.jsonl"),
        ]
    )
    assert file.exit_code == 0
    assert server.stored == [
        json.loads(x) for x in (tmp_path / "e.jsonl").read_text().splitlines()
    ]  # same rows


def test_500_429_and_dropped_connections_are_retried_then_stored_once(endpoint):
    server = endpoint(script=[500, "drop", 429, 503], retry_after="0")
    res = _generate(server.url, "--sink-option", "batch_size=4000")
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["outcomes"] == {"stored:HTTP_200": 12000}
    assert len(server.stored) == 12000 and len({e["event_id"] for e in server.stored}) == 12000
    first_key = {r["headers"]["Idempotency-Key"] for r in server.requests[:5]}
    assert len(first_key) == 1  # the four retries re-sent the same request, with its key


def test_refused_and_duplicate_records_are_counted_not_retried(endpoint):
    server = endpoint(script=[422, 409])
    res = _generate(server.url, "--sink-option", "batch_size=4000")
    assert res.exit_code == 3, (
        res.stderr
    )  # rejected records were not stored: incomplete (issue 23, item 12)
    summary = json.loads(res.stdout)
    assert summary["outcomes"] == {
        "duplicate:HTTP_409": 4000,
        "rejected:HTTP_422": 4000,
        "stored:HTTP_200": 4000,
    }
    assert summary["complete"] is False and summary["warnings"] == [
        "4000 record(s) rejected (HTTP_422: 4000): they were not stored"
    ]
    assert len(server.requests) == 3


def test_an_endpoint_that_keeps_failing_ends_in_one_clear_message(endpoint):
    server = endpoint(then=500)
    res = _generate(server.url, "--sink-option", "retries=2")
    assert (
        res.exit_code == 2
        and "HTTP_500 after 3 attempt(s)" in res.stderr
        and "Traceback" not in res.stderr
    )
    assert len(server.requests) == 3  # bounded
    dead = run_cli(
        [
            "telematics",
            "generate",
            "--events",
            "10",
            "--out",
            "http://127.0.0.1:9/x",
            "--sink-option",
            "retries=0",
        ]
    )
    assert dead.exit_code == 2 and "CONNECTION after 1 attempt(s)" in dead.stderr


def test_bad_options_and_urls_are_named(endpoint):
    server = endpoint()
    res = _generate(server.url, "--sink-option", "batch_size=0")
    assert (
        res.exit_code == 2
        and "--sink-option batch_size='0'" in res.stderr
        and server.requests == []
    )
    res = _generate(server.url, "--sink-option", "token=abc")
    assert (
        res.exit_code == 2
        and "token='abc': is not an option of this sink (sink 'http')" in res.stderr
    )


def test_https_with_the_endpoints_ca(endpoint, certs, tmp_path):
    server = endpoint()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certs / "server.crt", certs / "server.key")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    url = server.url.replace("http://", "https://")
    res = _generate(url, "--sink-option", f"ca_file={certs / 'ca.crt'}", events=3000)
    assert res.exit_code == 0, res.stderr
    assert len(server.stored) == 3000
    res = _generate(url, events=100)  # the system CAs do not sign it
    assert res.exit_code == 2 and "certificate" in res.stderr and "ca_file" in res.stderr


def test_bootstrap_and_import_csv_deliver_to_an_endpoint_and_a_dead_one_spends_no_seq(
    endpoint, tmp_path
):
    from tests.test_ingestion_db import END, SCENARIO

    scenario = tmp_path / "ingest_t.yaml"
    scenario.write_text(SCENARIO)
    state = tmp_path / "seq.json"
    down = endpoint(then=503)
    res = run_cli(
        [
            "--scenario",
            str(scenario),
            "--state-file",
            str(state),
            "bootstrap",
            "--out",
            down.url,
            "--sink-option",
            "retries=1",
            "--sink-option",
            "backoff_s=0",
        ]
    )
    assert res.exit_code == 2 and "HTTP_503 after 2 attempt(s)" in res.stderr
    assert not state.exists()  # nothing reached the endpoint: no seq spent
    server = endpoint()
    res = run_cli(
        ["--scenario", str(scenario), "--state-file", str(state), "bootstrap", "--out", server.url]
    )
    assert res.exit_code == 0, res.stderr
    summary = json.loads(res.stdout)
    assert (
        summary["status_counts"]
        == {"stored:HTTP_200": summary["total_emitted"]}
        == {"stored:HTTP_200": len(server.stored)}
    )
    assert "database checks skipped" in " ".join(summary["warnings"])
    last = json.loads(state.read_text())["devices"]
    assert all(last[d] == max(r["seq"] for r in server.stored if r["device_id"] == d) for d in last)
    art = run_cli(
        [
            "--scenario",
            str(scenario),
            "--state-file",
            str(tmp_path / "e.json"),
            "export-csv",
            "--end-at",
            END,
            "--run-id",
            "r",
            "--output-root",
            str(tmp_path / "o"),
        ]
    )
    replay = endpoint()
    res = run_cli(
        [
            "--state-file",
            str(tmp_path / "i.json"),
            "import-csv",
            "--artifact-dir",
            json.loads(art.stdout)["artifact_dir"],
            "--apply",
            "--out",
            replay.url,
        ]
    )
    assert res.exit_code == 0, res.stderr
    assert len(replay.stored) == json.loads(art.stdout)["row_count"]
    assert set(replay.stored[0]) == set(server.stored[0])  # the same row layout as bootstrap's
    res = run_cli(
        [
            "import-csv",
            "--artifact-dir",
            json.loads(art.stdout)["artifact_dir"],
            "--out",
            replay.url,
        ]
    )
    assert res.exit_code == 2 and "no dry run" in res.stderr


def test_http_passes_the_conformance_kit(endpoint):
    server = endpoint()
    spec = build_plugins().sinks()["http"]
    report = check_sink(spec, lambda run: IngestTarget(server.url), options={"batch_size": 1000})
    assert report.outcomes == {"stored:HTTP_200": 5000}


# ------------------------------------------- issue 23, item 12: outcomes, deadlines, bounded reads


def test_an_endpoint_that_fails_after_storing_some_ends_with_the_summary_and_exit_3(
    endpoint, tmp_path
):
    server = endpoint(script=[200], then=503)
    res = _generate(
        server.url, "--sink-option", "batch_size=1000", "--sink-option", "retries=1", events=3000
    )
    assert res.exit_code == 3, res.stderr
    summary = json.loads(res.stdout)
    assert (
        summary["outcomes"] == {"stored:HTTP_200": 1000, "failed:HTTP_503": 2000}
        and len(server.stored) == 1000
    )
    assert summary["complete"] is False
    assert summary["warnings"] == ["2000 record(s) failed (HTTP_503: 2000): they were not stored"]
    # a later batch finds the endpoint gone: the run stops there, with its summary
    server = endpoint(script=[200], then=503)
    res = _generate(
        server.url, "--sink-option", "batch_size=1000", "--sink-option", "retries=0", events=200000
    )
    assert res.exit_code == 3, res.stderr
    summary = json.loads(res.stdout)
    assert (
        summary["outcomes"]["stored:HTTP_200"] == len(server.stored) == 1000
        and summary["events"] < 200000
    )
    assert any(
        "the delivery stopped early" in w and "HTTP_503 after 1 attempt(s)" in w
        for w in summary["warnings"]
    )
    # bootstrap: a block's later requests fail, so its rows after the first 1,000 count failed
    from tests.test_ingestion_db import SCENARIO

    scenario = tmp_path / "ingest_t.yaml"
    scenario.write_text(SCENARIO)
    state = tmp_path / "seq.json"
    server = endpoint(script=[200], then=503)
    res = run_cli(
        [
            "--scenario",
            str(scenario),
            "--state-file",
            str(state),
            "bootstrap",
            "--out",
            server.url,
            "--sink-option",
            "batch_size=1000",
            "--sink-option",
            "retries=0",
        ]
    )
    assert res.exit_code == 3, res.stderr
    summary = json.loads(res.stdout)
    counts = summary["status_counts"]
    assert counts["stored:HTTP_200"] == len(server.stored) == 1000 and counts["failed:HTTP_503"] > 0
    assert summary["complete"] is False and any(
        "failed (HTTP_503" in w for w in summary["warnings"]
    )
    last = json.loads(state.read_text())[
        "devices"
    ]  # what the sink took, failed rows included (gaps to replay)
    assert sum(v + 1 for v in last.values()) == sum(counts.values())


def test_redirects_and_client_errors_are_not_success(endpoint):
    for code in (400, 307):
        server = endpoint(then=code)
        res = _generate(server.url, events=300)
        assert res.exit_code == 3, res.stderr
        assert json.loads(res.stdout)["warnings"] == [
            f"300 record(s) rejected (HTTP_{code}: 300): they were not stored"
        ]


class _RawEndpoint:
    """A socket server that reads a request, then answers with ``answer(conn)``."""

    def __init__(self, answer) -> None:
        import socket

        self.sock = socket.create_server(("127.0.0.1", 0))
        self.answer, self.sent = answer, 0
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/ingest"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn) -> None:
        with conn:
            conn.settimeout(30)
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            head, _, rest = data.partition(b"\r\n\r\n")
            length = int(
                next(
                    h.split(b":")[1]
                    for h in head.split(b"\r\n")
                    if h.lower().startswith(b"content-length")
                )
            )
            while len(rest) < length:
                rest += conn.recv(65536)
            try:
                self.answer(self, conn)
            except OSError:
                pass


def _trickle(server: _RawEndpoint, conn) -> None:
    import time

    conn.sendall(b"HTTP/1.1 200 OK\r\n")
    for _ in range(600):  # a header byte a second: never a whole answer
        conn.sendall(b"X")
        time.sleep(0.5)


def _huge(server: _RawEndpoint, conn) -> None:
    total = 200 << 20
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % total)
    chunk = b"x" * (1 << 20)
    for _ in range(total >> 20):
        conn.sendall(chunk)
        server.sent += len(chunk)


@pytest.mark.slow
def test_a_trickling_endpoint_does_not_outlast_the_deadline(tmp_path):
    import subprocess

    from tests.conftest import BIN

    server = _RawEndpoint(_trickle)
    # no wall-clock bar here: before the fix this never ended, so any generous timeout tells
    res = subprocess.run(
        [
            str(BIN / "synthkit"),
            "telematics",
            "generate",
            "--events",
            "10",
            "--out",
            server.url,
            "--sink-option",
            "timeout_s=1",
            "--sink-option",
            "retries=0",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 2, res.stderr
    assert "TIMEOUT after 1 attempt(s)" in res.stderr and "Traceback" not in res.stderr


def test_a_huge_response_body_is_not_read_whole():
    server = _RawEndpoint(_huge)
    res = _generate(server.url, "--sink-option", "batch_size=100", events=100)
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["outcomes"] == {"stored:HTTP_200": 100}
    assert server.sent < 200 << 20  # the sink hung up after its bounded read
