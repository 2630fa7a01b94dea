"""Environment settings of the scheduled workers, validated once at cold start.

The environment carries names, URLs and small JSON documents only, never secret values. Every error names
the variable (``load_env_settings``). The infrastructure sets exactly these variables
(components/workers.py); tests bind the deployed environment to these models.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from lambdas.common.settings import EdgeSettings

# Tables retention may drop partitions from: monthly partitions by toYYYYMM(timestamp). A fixed list in code,
# so neither configuration nor an event can point DROP PARTITION at any other table.
RETAINABLE_TABLES: tuple[str, ...] = (
    "price_ohlcv_1m",
    "price_ohlcv_15m",
    "price_ohlcv_1h",
    "price_ohlcv_4h",
    "price_ohlcv_1d",
    "price_ohlcv_1w",
    "price_ohlcv_1M",
    "oracle_prices",
    "candle_parts_1m",
)
# Loopback hosts may be reached over plain http: the local Soroban RPC stand-in. Anything else needs https.
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def _json_document(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"is not valid JSON ({exc.msg} at position {exc.pos})") from None
    return value


def _true_false(value: Any) -> Any:
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered not in ("true", "false"):
            raise ValueError(f'must be "true" or "false", got {value!r}')
        return lowered == "true"
    return value


class OracleContractRef(BaseModel):
    """One SEP-40 oracle contract: ``name`` becomes ``oracle_prices.oracle_name``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{1,39}$")
    contract_id: str

    @field_validator("contract_id")
    @classmethod
    def _contract_strkey(cls, value: str) -> str:
        # Imported here: stellar-sdk takes ~1.5 s to import, which cleanup and probes should not pay at cold start.
        from stellar_sdk import StrKey  # noqa: PLC0415

        if not StrKey.is_valid_contract(value):
            raise ValueError(f"{value!r} is not a contract address (C…, with a valid checksum)")
        return value


class OracleSettings(EdgeSettings):
    SOROBAN_RPC_URL: str = Field(min_length=1)
    NETWORK_PASSPHRASE: str = Field(min_length=1)
    ORACLE_CONTRACTS: tuple[OracleContractRef, ...] = Field(min_length=1)

    @field_validator("SOROBAN_RPC_URL")
    @classmethod
    def _rpc_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if not parts.hostname or parts.query or parts.fragment:
            raise ValueError(f"must be an http(s) URL of a Soroban RPC server, got {value!r}")
        if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in _LOOPBACK):
            raise ValueError(f"must be https:// (plain http only on loopback), got {value!r}")
        return value

    @field_validator("ORACLE_CONTRACTS", mode="before")
    @classmethod
    def _contracts_json(cls, value: Any) -> Any:
        return _json_document(value)

    @field_validator("ORACLE_CONTRACTS")
    @classmethod
    def _unique(cls, value: tuple[OracleContractRef, ...]) -> tuple[OracleContractRef, ...]:
        for attribute in ("name", "contract_id"):
            seen = [getattr(c, attribute) for c in value]
            duplicates = sorted({s for s in seen if seen.count(s) > 1})
            if duplicates:
                raise ValueError(f"two contracts share the {attribute} {duplicates[0]!r}")
        return value


class CleanupSettings(EdgeSettings):
    RETENTION_DAYS: dict[str, int] = Field(min_length=1)
    DRY_RUN: bool = False

    @field_validator("RETENTION_DAYS", mode="before")
    @classmethod
    def _retention_json(cls, value: Any) -> Any:
        value = _json_document(value)
        if not isinstance(value, dict):
            raise ValueError('must be a JSON object of table -> days, e.g. {"price_ohlcv_1m": 7}')
        for table, days in value.items():
            if table not in RETAINABLE_TABLES:
                raise ValueError(f"table {table!r} is not one retention may drop from ({', '.join(RETAINABLE_TABLES)})")
            if isinstance(days, bool) or not isinstance(days, int) or days < 1:
                raise ValueError(f"{table}: {days!r} is not a whole number of days >= 1")
        return value

    @field_validator("DRY_RUN", mode="before")
    @classmethod
    def _dry_run(cls, value: Any) -> Any:
        return _true_false(value)


class MtlsSecretNames(BaseModel):
    """The Secrets Manager bundle of every mTLS identity, by role: the probe reads each certificate."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ingestion: str = Field(min_length=1)
    api: str = Field(min_length=1)

    def by_role(self) -> dict[str, str]:
        return {"ingestion": self.ingestion, "api": self.api}


class ProbesSettings(EdgeSettings):
    """``MTLS_SECRET_NAME`` is the ingestion (writer) bundle the probe writes with; ``MTLS_SECRET_NAMES`` names
    every bundle whose certificate expiry is published."""

    MTLS_SECRET_NAMES: MtlsSecretNames

    @field_validator("MTLS_SECRET_NAMES", mode="before")
    @classmethod
    def _names_json(cls, value: Any) -> Any:
        return _json_document(value)

    @model_validator(mode="after")
    def _writes_as_ingestion(self) -> ProbesSettings:
        # The timed write must go through the writer identity; any other bundle would be refused or read-only.
        if self.MTLS_SECRET_NAMES.ingestion != self.MTLS_SECRET_NAME:
            raise ValueError(
                f"MTLS_SECRET_NAME {self.MTLS_SECRET_NAME!r} must be the ingestion bundle "
                f"MTLS_SECRET_NAMES.ingestion {self.MTLS_SECRET_NAMES.ingestion!r}"
            )
        return self
