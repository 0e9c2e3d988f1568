"""The ``http`` sink: batches POSTed as JSON lines to an endpoint (``POST /telematics/ingest``,
say), a request per ``batch_size`` records on one kept-alive connection.

Outcomes come from the response codes, per record of the request: 2xx ``stored:HTTP_2xx``,
409 ``duplicate:HTTP_409``, any other 4xx ``rejected:HTTP_4xx`` (not retried: the same bytes
would be refused again). An endpoint that answers 2xx with its own count per outcome (JSON
``{"outcomes": {"stored": n, "duplicate": m, "rejected:REASON": k}}``, as ``synthkit
telematics serve`` does) has those counted instead, record by record. A 429, a 5xx or a dropped connection is retried ``retries`` times,
pausing ``backoff_s`` doubling (or the server's ``Retry-After``), then counted
``failed:HTTP_5xx`` / ``failed:CONNECTION``. Each request carries an ``Idempotency-Key`` (the
sha256 of its body), so an endpoint can tell a retry from new data.

Each attempt must end within ``timeout_s``, from the first byte sent to the last read (a
server that trickles its answer a byte at a time never trips a per-read timeout, so a timer
closes the connection at the deadline: ``failed:TIMEOUT``); at most :data:`MAX_BODY` bytes of
a response are read.

A ``write`` that raises has delivered none of its batch (the sink contract): when retries run
out on the first request of a batch the sink raises :class:`DeliveryStopped` at once (the
run stops and ends with its summary); when they run out later in a batch, the rest of it is
counted failed and the run stops at the next write.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import socket
import ssl
import threading
import time
from collections import Counter
from urllib.parse import urlsplit

from synthkit.api import (
    Batch,
    ConfigError,
    DeliveryStopped,
    Encoder,
    IngestSink,
    IngestTarget,
    SinkReport,
)
from synthkit.api import redact as redact_url
from synthkit_sink_http.options import HttpOptions

RETRIED = {429, 500, 502, 503, 504}
PER_RECORD = ("stored", "duplicate", "rejected")  # the outcomes an endpoint may count per record
MAX_BODY = 1 << 16  # bytes of a response read: outcomes come from its status, not its body
_DROPPED = (
    ConnectionError,
    http.client.RemoteDisconnected,
    http.client.IncompleteRead,
    TimeoutError,
    http.client.BadStatusLine,
    OSError,
)


class HttpSink(IngestSink):
    def __init__(self, target: IngestTarget, options: HttpOptions) -> None:
        if not target.apply:
            raise ConfigError(
                "the http sink cannot check records without sending them", hint="give --apply"
            )
        parts = urlsplit(target.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                f"{redact_url(target.url)!r} is not an http(s) URL",
                hint="e.g. http://127.0.0.1:8080/telematics/ingest",
            )
        self.url, self.options = target.url, options
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.host, self.port, self.tls = parts.hostname, parts.port, parts.scheme == "https"
        self.headers = {"Content-Type": "application/x-ndjson"}
        token = os.environ.get(options.token_env, "")
        if token:
            from synthkit.api import hide_secret

            hide_secret(token)  # scrubbed from every line synthkit prints
            self.headers["Authorization"] = f"Bearer {token}"
        self.context = self._tls_context() if self.tls else None
        self.encoder = Encoder("jsonl", threads=1)
        self.counts: Counter[str] = Counter()
        self.records = self.bytes = self.requests = self.retried = 0
        self._conn: http.client.HTTPConnection | None = None
        self._stopped: str = ""  # why the run must stop before the next batch

    def _tls_context(self) -> ssl.SSLContext:
        try:
            return ssl.create_default_context(cafile=self.options.ca_file or None)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"--sink-option ca_file={self.options.ca_file!r}: {exc}", hint="a PEM CA bundle"
            ) from None

    def open(self, columns: tuple[str, ...]) -> None:
        self._connection()

    def write(self, batch: Batch) -> None:
        if self._stopped:
            raise DeliveryStopped(self._stopped)
        step = self.options.batch_size
        for r0 in range(0, batch.n, step):
            part = batch.slice(r0, min(batch.n, r0 + step)) if batch.n > step else batch
            body = self.encoder.encode_bytes(part)
            outcome, answer = self._post(body)
            if outcome.startswith("failed:") and r0 == 0:
                self.close_connection()
                raise DeliveryStopped(
                    f"{redact_url(self.url)}: {outcome.removeprefix('failed:')} after "
                    f"{self.options.retries + 1} attempt(s)"
                )
            self.counts.update(_per_record(outcome, answer, part.n))
            self.records += part.n
            self.bytes += len(body)
            if outcome.startswith(
                "failed:"
            ):  # part of this batch is stored: count the rest, stop next time
                rest = batch.n - r0 - part.n
                self.counts[outcome] += rest
                self.records += rest
                self._stopped = f"{redact_url(self.url)}: {outcome.removeprefix('failed:')} after {self.options.retries + 1} attempt(s)"
                return

    def _post(self, body: bytes) -> tuple[str, bytes]:
        """(the outcome of every record of ``body``, the body of a 2xx answer)."""
        headers = {**self.headers, "Idempotency-Key": hashlib.sha256(body).hexdigest()[:32]}
        pause = self.options.backoff_s
        outcome = "failed:CONNECTION"
        for attempt in range(self.options.retries + 1):
            if attempt:
                self.retried += 1
                time.sleep(pause)
                pause = min(self.options.max_backoff_s, pause * 2)
            conn = self._connection()
            expired = threading.Event()
            timer = threading.Timer(self.options.timeout_s, _expire, (conn, expired))
            timer.daemon = True
            timer.start()
            try:
                conn.request("POST", self.path, body=body, headers=headers)
                response = conn.getresponse()
                answer = response.read(MAX_BODY)
                status = response.status
                if not response.isclosed():  # a body past MAX_BODY: the connection cannot be reused
                    self.close_connection()
            except ssl.SSLCertVerificationError as exc:
                raise ConfigError(
                    f"{redact_url(self.url)}: {exc.verify_message}",
                    hint="give --sink-option ca_file=PEM",
                ) from None
            except _DROPPED:
                self.close_connection()
                outcome = "failed:TIMEOUT" if expired.is_set() else "failed:CONNECTION"
                continue
            finally:
                timer.cancel()
            if expired.is_set():  # what came before the deadline cut it short is no answer
                self.close_connection()
                outcome = "failed:TIMEOUT"
                continue
            self.requests += 1
            if 200 <= status < 300:
                return f"stored:HTTP_{status}", answer
            if status == 409:
                return "duplicate:HTTP_409", b""
            if status not in RETRIED:
                return f"rejected:HTTP_{status}", b""
            outcome = f"failed:HTTP_{status}"
            after = response.getheader("Retry-After", "")
            if after.isdigit():
                pause = min(self.options.max_backoff_s, float(after))
            if response.getheader("Connection", "").lower() == "close":
                self.close_connection()
        return outcome, b""

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            timeout = self.options.timeout_s
            if self.tls:
                self._conn = http.client.HTTPSConnection(
                    self.host, self.port, timeout=timeout, context=self.context
                )
            else:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        return self._conn

    def close_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def close(self) -> SinkReport:
        self.close_connection()
        self.encoder.close()
        outcomes = dict(sorted(self.counts.items()))  # a stop mid-batch shows as failed:*
        return SinkReport("http", self.records, self.bytes, redact_url(self.url), outcomes)

    def abort(self) -> None:
        self.close_connection()
        self.encoder.close()


def _expire(conn: http.client.HTTPConnection, expired: threading.Event) -> None:
    """The deadline of one attempt: shut its socket, so a read blocked on a trickling server
    returns at once (a timeout per read would wait for each byte anew)."""
    expired.set()
    sock = conn.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _per_record(outcome: str, answer: bytes, n: int) -> dict[str, int]:
    """The outcome of each of a request's ``n`` records: the endpoint's own counts when
    its 2xx answer gives them (JSON ``{"outcomes": {"stored": 4990, "duplicate": 8,
    "rejected:ts": 2}}`` summing to ``n``: what ``telematics serve`` answers), else the
    status's for all of them."""
    if not outcome.startswith("stored:") or not answer.startswith(b"{"):
        return {outcome: n}
    try:
        given = json.loads(answer).get("outcomes")
    except (ValueError, AttributeError):
        return {outcome: n}
    if (
        not isinstance(given, dict)
        or not all(isinstance(v, int) and v >= 0 for v in given.values())
        or sum(given.values()) != n
        or any(str(k).split(":")[0] not in PER_RECORD for k in given)
    ):
        return {outcome: n}
    status = outcome.removeprefix("stored:")
    return {(k if ":" in k else f"{k}:{status}"): v for k, v in given.items() if v}
