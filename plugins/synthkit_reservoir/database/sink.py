"""The ``reference_db`` sink: batches in the reservoir row layout, through the ingestion
contract, into the reference database; outcomes counted per record."""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from synthkit.api import MESSAGE_COLUMNS, Batch, ConfigError, IngestSink, SinkReport
from synthkit_reservoir.database.engines import make_engine
from synthkit_reservoir.database.ingest import Ingestor, TelemetryRows
from synthkit_reservoir.database.intake import SeqTracker, ingest_batch, messages_of, retrying
from synthkit_reservoir.payload import fields_from_batch


def rows_from_batch(batch: Batch) -> TelemetryRows:
    """Reservoir rows (device_id, seq, received_at, raw_1..N, ...) as ingestion columns."""
    codes, labels, f = fields_from_batch(batch)
    return TelemetryRows(
        client=np.array(labels, dtype=object)[codes],
        received_s=batch.column("received_at").timestamps().astype(np.int64),
        fields=f,
    )


class Stopped(Exception):
    """The run was asked to stop while the database was away: the batch was not stored."""


class ReferenceDbSink(IngestSink):
    """``apply=False`` checks every record against the database without writing (dry run).

    Rows (bootstrap, import-csv) are pipelined as below. Messages (a source's batches in the
    message layout: ``ingest listen``) are parsed and stored before ``write`` returns, each
    one stored, duplicate, or rejected and kept whole in ``telemetry_rejects``, so the source
    may acknowledge them as soon as ``write`` returned; a busy or unreachable database is
    waited for until ``stop`` is set.

    Batches may be large; each is committed in transactions of ``commit_rows`` rows (one per
    batch when None). Writing is pipelined: this thread checks a batch (rejections, derived
    values) while writer threads store the ones before it, at most ``writers`` in flight (one for SQLite; two for PostgreSQL, whose server then works on
    both cores). Outcomes are summed, so order does not matter, and a batch's failure
    surfaces at the next write or at close.
    """

    def __init__(
        self,
        target: str,
        *,
        apply: bool = True,
        drain_analytics: int = 0,
        commit_rows: int | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.url = target
        self.apply = apply
        self.commit_rows = commit_rows
        self.drain_batch = drain_analytics  # > 0: run the analytics consumer at close
        self.engine = make_engine(target)
        self.ingestor = Ingestor(self.engine)
        self.counts: Counter[str] = Counter()
        self.records = 0
        self.writers = self.ingestor.writers
        self.pool = ThreadPoolExecutor(self.writers, thread_name_prefix="ingest") if apply else None
        self.in_flight: deque[Future[Counter[str]]] = deque()
        self.stop = stop or threading.Event()
        self.seqs = SeqTracker()  # messages: the seqs seen per device, for the gaps

    def open(self, columns: tuple[str, ...]) -> None:
        messages = set(MESSAGE_COLUMNS) <= set(columns)
        missing = (
            []
            if messages
            else [c for c in ("device_id", "seq", "received_at", "raw_1") if c not in columns]
        )
        if missing:
            self.engine.dispose()
            self._finish(cancel=True)
            raise ConfigError(
                f"the reference_db sink stores reservoir rows; these rows have no {', '.join(missing)}",
                hint="give it a reservoir command's rows (bootstrap, import-csv), or pick another sink",
            )

        def ready() -> Counter[
            str
        ]:  # a schema that cannot dedupe is refused before the first write
            self.ingestor.verify()
            self.ingestor.targets()
            return Counter()

        try:
            if messages:  # a live source: a busy database is waited for, as every batch is
                if retrying(ready, self.stop) is None:
                    raise Stopped()
            else:
                ready()
        except BaseException:
            self._finish(cancel=True)  # nothing was written: close every connection now
            self.engine.dispose()
            raise

    def write(self, batch: Batch) -> None:
        if "payload" in batch.names:
            self._messages(batch)
            return
        counts, accepted = self.ingestor.check(rows_from_batch(batch), apply=self.apply)
        self.counts.update(counts)
        self.records += batch.n
        if accepted is None or self.pool is None:
            return
        while len(self.in_flight) >= self.writers:
            self.counts.update(self.in_flight.popleft().result())
        self.in_flight.append(self.pool.submit(self.ingestor.write, accepted, self.commit_rows))

    def _messages(self, batch: Batch) -> None:
        messages = messages_of(batch)
        outcome = retrying(lambda: ingest_batch(self.ingestor, messages, self.seqs), self.stop)
        if outcome is None:  # stopped while the database was away: not stored, not acked
            raise Stopped()
        self.counts.update(outcome)
        self.records += batch.n

    def _finish(self, *, cancel: bool) -> None:
        if self.pool is None:
            return
        try:
            while self.in_flight:
                future = self.in_flight.popleft()
                if cancel:
                    if not future.cancel():
                        future.exception()  # wait: a running commit completes or rolls back whole
                else:
                    self.counts.update(future.result())
        finally:
            self.pool.shutdown(wait=True)

    def close(self) -> SinkReport:
        try:
            self._finish(cancel=False)
        except BaseException:
            self.engine.dispose()
            raise
        outcomes = dict(sorted(self.counts.items()))
        details: dict[str, Any] = {}
        if self.apply and self.drain_batch > 0:
            from synthkit.api import progress_bar
            from synthkit_reservoir.database.analytics import drain, pending

            started = time.perf_counter()
            with progress_bar("analytics drain", pending(self.engine)) as bar:
                folded = drain(self.engine, self.drain_batch, bar.advance)
            outcomes.update({f"analytics:{k}": v for k, v in folded.items()})
            details["analytics_seconds"] = time.perf_counter() - started  # not the rows' own rate
        self.engine.dispose()
        if self.seqs.seen:
            details.update(devices=len(self.seqs.seen), seq_gaps=self.seqs.gaps())
        return SinkReport("reference_db", self.records, 0, None, outcomes, details)

    def abort(self) -> None:
        # every batch is its own committed transaction: what landed stays, and a re-run
        # stores only the rest (dedupe on mqtt_client_id, seq)
        self._finish(cancel=True)
        self.engine.dispose()
