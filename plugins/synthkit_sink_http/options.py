"""The ``http`` sink's ``--sink-option`` flags. The bearer token is never an option: it is
read from the environment variable ``token_env`` names, so it is never on a command line."""

from __future__ import annotations

from pydantic import Field

from synthkit.api import SinkOptions


class HttpOptions(SinkOptions):
    batch_size: int = Field(5000, ge=1, le=1_000_000, description="records per request")
    timeout_s: float = Field(
        30.0, gt=0, le=3600, description="seconds each request may take, sending to last byte read"
    )
    retries: int = Field(
        4, ge=0, le=20, description="further attempts after a 429, 5xx or dropped connection"
    )
    backoff_s: float = Field(
        0.25,
        ge=0,
        le=60,
        description="first pause between attempts; doubles, capped at max_backoff_s",
    )
    max_backoff_s: float = Field(
        8.0, ge=0, le=600, description="the longest pause (a Retry-After above it is capped)"
    )
    token_env: str = Field(
        "SYNTHKIT_HTTP_TOKEN", description="environment variable holding the bearer token"
    )
    ca_file: str = Field(
        "", description="PEM CA bundle that signs the endpoint's certificate (https)"
    )
