"""The endpoint's OpenAPI 3.1 document (``GET /openapi.json``): the request and answer shapes
of ``POST /telematics/ingest`` and ``GET /health``, with the event schema made from the seed's
fields and every installed event type's (so a new event type documents itself)."""

from __future__ import annotations

from typing import Any

from synthkit_telematics.event_rules import MAX_ID, EventRules

_KINDS = {"decimal": "number", "int": "integer", "bool": "boolean", "str": "string"}


def event_schema(rules: EventRules) -> dict[str, Any]:
    text = {"type": "string", "minLength": 1, "maxLength": MAX_ID}
    base: dict[str, Any] = {
        "event_id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
        "driver_id": text,
        "seq": {
            "type": "integer",
            "minimum": 0,
            "description": "the driver's event number; stored once per (driver_id, seq)",
        },
        "trip_id": text,
        "ts": {"type": "string", "format": "date-time", "description": "ISO 8601 UTC"},
        "event_type": {"type": "string", "enum": sorted(rules.fields)},
        "latitude": {"type": "number", "minimum": -90, "maximum": 90},
        "longitude": {"type": "number", "minimum": -180, "maximum": 180},
        "speed_mph": {"type": "number", "minimum": 0, "maximum": 250},
        "heading_deg": {"type": "integer", "minimum": 0, "maximum": 359},
        "period_minute": {"type": "integer", "minimum": 0},
    }
    fields: dict[str, Any] = {}
    for name, specs in sorted(rules.fields.items()):
        for spec in specs:
            entry: dict[str, Any] = {"type": _KINDS.get(spec.kind, "string")}
            if spec.choices and spec.kind == "str":
                entry["enum"] = list(spec.choices)
            entry["description"] = f"required when event_type is {name}"
            fields.setdefault(spec.name, entry)
    return {
        "type": "object",
        "required": [k for k in base if k != "seq"],
        "properties": {**base, **fields},
        "additionalProperties": True,
    }


def openapi(rules: EventRules, version: str) -> dict[str, Any]:
    counts = {"type": "integer", "minimum": 0}
    answer = {
        "type": "object",
        "properties": {
            "received": counts,
            "stored": counts,
            "duplicate": counts,
            "rejected": counts,
            "outcomes": {
                "type": "object",
                "description": "records per outcome: stored, duplicate, rejected:FIELD",
                "additionalProperties": counts,
            },
            "rejects": {
                "type": "array",
                "description": "the first 100 rejects (all are kept in telematics_rejects)",
                "items": {
                    "type": "object",
                    "properties": {"index": counts, "reason": {"type": "string"}},
                },
            },
        },
    }
    error = {"type": "object", "properties": {"error": {"type": "string"}}}

    def reply(description: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {"description": description, "content": {"application/json": {"schema": schema}}}

    events = {"$ref": "#/components/schemas/Event"}
    return {
        "openapi": "3.1.0",
        "info": {"title": "synthkit telematics ingestion", "version": version},
        "paths": {
            "/telematics/ingest": {
                "post": {
                    "summary": "Store telematics events exactly once",
                    "parameters": [
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": False,
                            "schema": {"type": "string"},
                            "description": "a retry with the same key gets the first answer",
                        },
                        {
                            "name": "Content-Encoding",
                            "in": "header",
                            "required": False,
                            "schema": {"type": "string", "enum": ["gzip"]},
                        },
                    ],  # fmt: skip
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/x-ndjson": {
                                "schema": {"type": "string", "description": "one Event per line"}
                            },
                            "application/json": {"schema": {"type": "array", "items": events}},
                        },
                    },
                    "responses": {
                        "200": reply(
                            "every record answered: stored, duplicate or rejected", answer
                        ),
                        "400": reply("a gzip body that does not inflate", error),
                        "401": reply("a bearer token is required and was not given", error),
                        "413": reply("the body is too large", error),
                        "503": reply("try again (the store or the endpoint is busy)", error),
                    },
                    "security": [{"bearer": []}, {}],
                }
            },
            "/health": {
                "get": {
                    "summary": "Whether the store answers",
                    "responses": {
                        "200": reply("ready", {"type": "object"}),
                        "503": reply("the store does not answer", {"type": "object"}),
                    },
                }
            },
        },
        "components": {
            "schemas": {"Event": event_schema(rules)},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
