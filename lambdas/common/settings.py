"""Lambda settings from the environment, validated once at cold start.

Only names and URLs live in the environment, never secret values (the mTLS bundle is fetched from
Secrets Manager by name). Every error names the variable it is about.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

T = TypeVar("T", bound=BaseModel)


class SettingsError(ValueError):
    """The environment does not describe a usable configuration."""


class EdgeSettings(BaseModel):
    """What every function that talks to ClickHouse needs: the edge URL and the name of its mTLS bundle."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    CLICKHOUSE_URL: str = Field(min_length=1)
    MTLS_SECRET_NAME: str = Field(min_length=1)
    # How long a fetched mTLS bundle is trusted before Secrets Manager is asked again (rotation pickup).
    MTLS_MAX_AGE_SECONDS: int = Field(default=300, ge=0, le=86_400)
    # Which CA verifies the edge's server certificate: the public roots (production ACME certificate) or
    # the bundle's "ca" (local data plane, tests).
    CLICKHOUSE_SERVER_CA: Literal["certifi", "bundle"] = "certifi"

    @field_validator("CLICKHOUSE_URL")
    @classmethod
    def _https_hostname(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme != "https" or not parts.hostname or parts.path not in ("", "/") or parts.query:
            raise ValueError(f"must be https://<hostname>[:port], got {value!r}")
        return value.rstrip("/")

    @property
    def clickhouse_host(self) -> str:
        host = urlsplit(self.CLICKHOUSE_URL).hostname
        assert host is not None  # checked by the validator
        return host

    @property
    def clickhouse_port(self) -> int:
        return urlsplit(self.CLICKHOUSE_URL).port or 443


class IngestSettings(EdgeSettings):
    LEDGER_BUCKET: str = Field(min_length=3, max_length=63)
    NETWORK_PASSPHRASE: str = Field(min_length=1)
    INGEST_QUEUE_URL: str = Field(min_length=1)

    @field_validator("INGEST_QUEUE_URL")
    @classmethod
    def _queue_url(cls, value: str) -> str:
        if urlsplit(value).scheme not in ("https", "http"):
            raise ValueError(f"must be an SQS queue URL, got {value!r}")
        return value


def load_env_settings(model: type[T], environ: Mapping[str, str], function: str) -> T:
    """Validate `environ` into `model`, or raise SettingsError naming `function` and every bad variable."""
    try:
        return model.model_validate(dict(environ))
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"]) or "?"
            what = "is not set" if err["type"] == "missing" else err["msg"]
            problems.append(f"{name} {what}")
        raise SettingsError(f"invalid {function} environment: " + "; ".join(problems)) from None


def load_ingest_settings(environ: Mapping[str, str]) -> IngestSettings:
    return load_env_settings(IngestSettings, environ, "ledger-processor")
