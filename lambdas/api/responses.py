"""Response bodies, defined once: handlers build them, ``openapi.py`` publishes their JSON Schema.

Numbers are JSON numbers (floats), times RFC 3339 UTC strings. A value that cannot be known is ``null``,
never a sentinel such as ``0`` (the reference system's ``price_usd: "0"``). Non-finite floats become
``null`` too (``finite``), so a body always validates against its published schema.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


def finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


class Body(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ErrorBody(Body):
    """Every 4xx and 5xx response."""

    code: str = Field(description="Stable machine-readable error code, e.g. invalid_parameter, asset_not_found")
    message: str = Field(description="What is wrong; for a 400 it names the parameter and why")


class SourcePriceOut(Body):
    source: str = Field(description="Venue: sdex, soroswap, aquarius, phoenix, …")
    price_usd: float | None
    volume_24h_usd: float | None
    last_trade_at: datetime | None


class AssetItem(Body):
    asset: str = Field(description="Canonical id: native, CODE:ISSUER or a C… contract id")
    code: str = Field(description="Asset code (XLM for lumens; empty when a token's code is unknown)")
    type: Literal["native", "classic", "soroban"]
    issuer: str | None = Field(description="G… issuer of a classic asset")
    contract: str | None = Field(description="C… contract id: the token itself, or the SAC of a classic asset")
    price_usd: float | None
    change_24h_pct: float | None
    change_7d_pct: float | None
    volume_24h_usd: float | None
    vwap_24h: float | None
    sources: list[SourcePriceOut]
    updated_at: datetime | None = Field(description="When the price snapshot was computed")


class AssetList(Body):
    assets: list[AssetItem]
    cursor: str | None = Field(description="Pass as `cursor` to get the next page; null on the last page")
    has_more: bool


class PriceOut(Body):
    asset: str
    price_usd: float | None
    price_xlm: float | None
    vwap_24h: float | None
    volume_24h_usd: float | None
    change_24h_pct: float | None
    change_7d_pct: float | None
    sources: list[SourcePriceOut]
    updated_at: datetime
    method: str = Field(description="How price_usd was derived")


class CandleOut(Body):
    timestamp: datetime = Field(description="Start of the candle")
    open: float | None
    high: float | None
    low: float | None
    close: float | None
    volume_base: float
    volume_quote_usd: float
    vwap: float | None
    trade_count: int


class OhlcvOut(Body):
    asset: str
    granularity: str
    base_currency: Literal["USD", "XLM"]
    start: datetime
    end: datetime
    candles: list[CandleOut]


class OraclePriceOut(Body):
    oracle: str
    price_usd: float | None
    updated_at: datetime


class OraclesOut(Body):
    asset: str
    oracles: list[OraclePriceOut]


class BackfillTaskOut(Body):
    task: str = Field(description="Row of prices.backfill_progress this section is read from")
    status: Literal["not_started", "running", "paused", "completed", "error"]
    start_ledger: int | None = Field(description="Lowest ledger the task walks down to")
    target_ledger: int | None = Field(description="Ledger the task started from (it walks backwards)")
    current_ledger: int | None = Field(description="Lowest ledger reached so far (a floor)")
    progress_pct: float | None = Field(description="(target - current + 1) / (target - start + 1) × 100")
    ledgers_remaining: int | None = Field(description="current - start")
    last_push_at: datetime | None
    completed_at: datetime | None
    earliest_data_available: datetime | None = Field(
        description="Start of the earliest candle of this stream actually present; never earlier than the "
        "task's own stored claim"
    )


class BackfillStatusOut(Body):
    realtime_tip_ledger: int | None = Field(description="Newest ledger written by the live ingestion")
    realtime_tip_closed_at: datetime | None
    sdex: BackfillTaskOut
    soroban_amm: BackfillTaskOut


class BatchItemOut(Body):
    asset: str = Field(description="As given in the request")
    price: PriceOut | None
    error: ErrorBody | None


class BatchOut(Body):
    results: list[BatchItemOut] = Field(description="One entry per requested asset, in request order")


class HealthOut(Body):
    status: Literal["ok"]
    clickhouse: Literal["up"]


RESPONSE_MODELS: tuple[type[Body], ...] = (
    ErrorBody,
    AssetList,
    AssetItem,
    PriceOut,
    OhlcvOut,
    OraclesOut,
    BackfillStatusOut,
    BatchOut,
    HealthOut,
)
