"""``synthkit telematics serve``: the reference ingestion endpoint, an ASGI app (Starlette,
served by uvicorn) that stores posted events exactly once (:mod:`synthkit_telematics.store`).

``POST /telematics/ingest`` takes JSON lines (``application/x-ndjson``) or a JSON array
(``application/json``), gzipped or not (``Content-Encoding: gzip``). Each record is checked
(:mod:`synthkit_telematics.event_rules`) and answered: stored, duplicate (already held, by
(driver_id, seq) or, without a seq, by event_id), or rejected with its reason (kept whole in
``telematics_rejects``). The answer is 200 with the counts, per-outcome counts the ``http``
sink reads, and the first rejects with their index and reason. A request repeated with the
same ``Idempotency-Key`` gets the first answer again. ``GET /health`` says whether the store
answers; ``GET /openapi.json`` documents all of it (:mod:`synthkit_telematics.serve_api`).

For closed-loop tests the endpoint can misbehave on purpose, on a seeded share of requests:
refuse them (503, nothing stored: ``fail_share``) or store them and lose the answer (503
after storing: ``lose_share``), as a flaky network would."""

from __future__ import annotations

import hmac
import itertools
import zlib
from collections import Counter, OrderedDict
from typing import Any

import orjson

from synthkit.api import rand
from synthkit_telematics.event_rules import EventRules
from synthkit_telematics.store import COLUMNS, TelematicsStore

MAX_REJECTS_SHOWN = 100  # rejects listed in an answer (all are counted and kept)
IDEMPOTENT_ANSWERS = 1024  # answers remembered by Idempotency-Key


class Ingest:
    """Parses, checks and stores one request's body (on a worker thread: it is CPU and I/O)."""

    def __init__(self, store: TelematicsStore, rules: EventRules) -> None:
        self.store, self.rules = store, rules

    def __call__(self, body: bytes) -> dict[str, Any]:
        rows: list[tuple[Any, ...]] = []
        rejects: list[tuple[int, str, str]] = []
        for index, (event, line, bad) in enumerate(_records(body)):
            reason = bad or self.rules.check(event)
            if reason:
                rejects.append((index, reason, line))
                continue
            rows.append((event["driver_id"], event.get("seq"), *(event[c] for c in COLUMNS), line))
        stored = self.store.put(rows, [(r, line) for _, r, line in rejects])
        outcomes = Counter({"stored": stored, "duplicate": len(rows) - stored})
        outcomes.update(f"rejected:{r.split(':', 1)[0]}" for _, r, _ in rejects)
        return {
            "received": len(rows) + len(rejects),
            "stored": stored,
            "duplicate": len(rows) - stored,
            "rejected": len(rejects),
            "outcomes": {k: v for k, v in sorted(outcomes.items()) if v},
            "rejects": [{"index": i, "reason": r} for i, r, _ in rejects[:MAX_REJECTS_SHOWN]],
        }


def _records(body: bytes) -> Any:
    """(event, its text, "") per record of a JSON array or of JSON lines; a record that is
    not JSON is (None, its text, "json: why")."""
    text = body.lstrip()
    if text.startswith(b"["):
        try:
            items = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            yield (
                None,
                body[:4000].decode("utf-8", "replace"),
                f"json: the array does not parse ({exc})",
            )
            return
        for item in items if isinstance(items, list) else [items]:
            yield item, orjson.dumps(item).decode(), ""
        return
    for raw in body.splitlines():
        if not raw.strip():
            continue
        line = raw.decode("utf-8", "replace")
        try:
            yield orjson.loads(raw), line, ""
        except orjson.JSONDecodeError as exc:
            yield None, line, f"json: {exc}"


class Chaos:
    """Which requests misbehave on purpose: a seeded draw per request number."""

    def __init__(self, fail_share: float, lose_share: float, seed: int) -> None:
        self.fail, self.lose, self.seed = fail_share, lose_share, seed
        self.numbers = itertools.count()

    def draw(self) -> tuple[bool, bool]:
        if not (self.fail or self.lose):
            return False, False
        key = rand.stable_key("serve chaos", self.seed, next(self.numbers))
        u = (rand.word(key, 0) >> 11) / (1 << 53)  # what rand.uniforms gives, as a scalar
        return bool(u < self.fail), bool(self.fail <= u < self.fail + self.lose)


def make_app(
    store: TelematicsStore,
    rules: EventRules,
    *,
    token: str = "",
    chaos: Chaos | None = None,
    max_body: int = 64 << 20,
    openapi: dict[str, Any] | None = None,
) -> Any:
    """The endpoint's ASGI app."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    ingest = Ingest(store, rules)
    answers: OrderedDict[str, tuple[int, bytes]] = OrderedDict()
    chaos = chaos or Chaos(0.0, 0.0, 0)

    def problem(status: int, message: str, **headers: str) -> Response:
        return JSONResponse({"error": message}, status, headers=headers or None)

    async def post(request: Request) -> Response:
        if token and not _bearer(request.headers.get("authorization", ""), token):
            return problem(401, "a bearer token is required", **{"WWW-Authenticate": "Bearer"})
        key = request.headers.get("idempotency-key", "")
        if key and key in answers:
            status, content = answers[key]
            return Response(content, status, media_type="application/json")
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > max_body:
            return problem(413, f"the body is over {max_body} bytes: send smaller batches")
        body = await request.body()
        if request.headers.get("content-encoding", "").lower() == "gzip":
            try:
                body = _gunzip(body, max_body)
            except (OSError, EOFError, zlib.error, ValueError) as exc:
                return problem(400, f"the gzip body does not inflate: {exc}")
        fail, lose = chaos.draw()
        if fail:  # refused on purpose, before storing anything
            return problem(503, "refused on purpose (--fail-share)", **{"Retry-After": "0"})
        answer = await run_in_threadpool(ingest, body)
        content = orjson.dumps(answer)
        if lose:  # stored, but the client never hears it
            return problem(503, "the answer was lost on purpose (--lose-share)")
        if key:
            answers[key] = (200, content)
            while len(answers) > IDEMPOTENT_ANSWERS:
                answers.popitem(last=False)
        return Response(content, 200, media_type="application/json")

    async def health(_: Request) -> Response:
        try:
            await run_in_threadpool(store.ping)
        except Exception as exc:  # any failure of the store is "not ready"
            return JSONResponse({"status": "unavailable", "error": str(exc)[:300]}, 503)
        return JSONResponse({"status": "ok", "store": store.identity})

    async def spec(_: Request) -> Response:
        return JSONResponse(openapi or {})

    routes = [
        Route("/telematics/ingest", post, methods=["POST"]),
        Route("/health", health, methods=["GET"]),
        Route("/openapi.json", spec, methods=["GET"]),
    ]
    return Starlette(routes=routes)


def _bearer(header: str, token: str) -> bool:
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)


def _gunzip(body: bytes, limit: int) -> bytes:
    """``body`` inflated, refusing more than ``limit`` bytes (a gzip bomb)."""
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = inflate.decompress(body, limit + 1)
    if len(out) > limit or inflate.unconsumed_tail:
        raise ValueError(f"it inflates past {limit} bytes")
    if not inflate.eof:
        raise EOFError("it ends early")
    return out
