"""The ``reference_db`` sink: batches in the reservoir row layout, through the ingestion
contract, into the reference database; outcomes counted per record."""

from __future__ import annotations

from collections import Counter, deque
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from synthkit.api import Batch, ConfigError, IngestSink, SinkReport, make_engine
from synthkit_reservoir.database.ingest import Ingestor, TelemetryRows
from synthkit_reservoir.payload import fields_from_batch


def rows_from_batch(batch: Batch) -> TelemetryRows:
    """Reservoir rows (device_id, seq, received_at, raw_1..N, ...) as ingestion columns."""
    codes, labels, f = fields_from_batch(batch)
    stamps = np.ascontiguousarray(batch.column("received_at").values[:, :19]).view("S19").ravel()
    return TelemetryRows(
        client=np.array(labels, dtype=object)[codes],
        received_s=stamps.astype("datetime64[s]").astype(np.int64),
        fields=f,
    )


class ReferenceDbSink(IngestSink):
    """``apply=False`` checks every record against the database without writing (dry run).

    Batches may be large; each is committed in transactions of ``commit_rows`` rows (one per
    batch when None). Writing is pipelined: this thread checks a batch (rejections, derived
    values) while writer threads store the ones before it, at most ``writers`` in flight (one for SQLite; two for PostgreSQL, whose server then works on
    both cores). Outcomes are summed, so order does not matter, and a batch's failure
    surfaces at the next write or at close.
    """

    def __init__(
        self, target: str, *, apply: bool = True, drain_analytics: int = 0, commit_rows: int | None = None
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

    def open(self, columns: tuple[str, ...]) -> None:
        missing = [c for c in ("device_id", "seq", "received_at", "raw_1") if c not in columns]
        if missing:
            self.engine.dispose()
            self._finish(cancel=True)
            raise ConfigError(f"the reference_db sink stores reservoir rows; these rows have no {', '.join(missing)}",
                              hint="give it a reservoir command's rows (bootstrap, import-csv), or pick another sink")  # fmt: skip
        try:
            self.ingestor.verify()  # a schema that cannot dedupe is refused before the first write
            self.ingestor.targets()
        except BaseException:
            self._finish(cancel=True)  # nothing was written: close every connection now
            self.engine.dispose()
            raise

    def write(self, batch: Batch) -> None:
        counts, accepted = self.ingestor.check(rows_from_batch(batch), apply=self.apply)
        self.counts.update(counts)
        self.records += batch.n
        if accepted is None or self.pool is None:
            return
        while len(self.in_flight) >= self.writers:
            self.counts.update(self.in_flight.popleft().result())
        self.in_flight.append(self.pool.submit(self.ingestor.write, accepted, self.commit_rows))

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
        if self.apply and self.drain_batch > 0:
            from synthkit_reservoir.database.analytics import drain

            outcomes.update({f"analytics:{k}": v for k, v in drain(self.engine, self.drain_batch).items()})
        self.engine.dispose()
        return SinkReport("reference_db", self.records, 0, None, outcomes)

    def abort(self) -> None:
        # every batch is its own committed transaction: what landed stays, and a re-run
        # stores only the rest (dedupe on mqtt_client_id, seq)
        self._finish(cancel=True)
        self.engine.dispose()
