"""L3 price reads: current prices from the L2 snapshot, and OHLCV across sources (docs/pricing.md).

* ``current_prices`` / ``current_price`` read ``prices.current_prices`` (written every minute by
  ``prices.mv_current_prices``, schema/013). With ``min_volume_usd`` the caller's minimum is strict: the
  VWAP and the source list are recomputed from the stored per-source values, keeping only sources at or
  above it; the price, the volume and the changes are never filtered.
* ``ohlcv`` is a plain GROUP BY across the sources and quote assets of one tier: no re-weighting.

Every value reaches ClickHouse as a bound parameter; the table comes from a fixed mapping. Asset ids
are the ingestion's (``native``, ``CODE:ISSUER``, ``C…``): the handler canonicalises client input
(``lambdas.api.asset_ids``) before calling these.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

# L2 constants. The SQL of schema/013_current_prices_l2.sql holds the same numbers (a test checks that
# both agree); docs/pricing.md explains each one.
WINDOW_HOURS = 24
STALE_AFTER_HOURS = 2
MIN_VOLUME_USD = 100.0
OUTLIER_MAX_DEVIATION = 0.20
OUTLIER_MIN_SOURCES = 3

METHOD_VWAP = "vwap_24h"
METHOD_NO_FRESH_SOURCE = "no_fresh_source"
METHOD_USD_PEG = "usd_peg"
# Only at read time: a strict min_volume_usd left no source to form the VWAP.
METHOD_BELOW_MIN_VOLUME = "below_min_volume"

NATIVE = "native"
MAX_ASSETS = 1000
MAX_CANDLES = 20_000

CURRENT_PRICES_TABLE = "prices.current_prices"
L2_VIEW = "prices.current_prices_l2"
L2_REFRESH_VIEW = "prices.mv_current_prices"
L2_COLUMNS: tuple[str, ...] = (
    "asset_id",
    "price_usd",
    "price_xlm",
    "vwap_24h",
    "volume_24h_usd",
    "change_24h_pct",
    "change_7d_pct",
    "sources",
    "method",
    "excluded_sources",
    "price_at",
    "as_of",
    "updated_at",
)

# granularity -> (table, bucket length as SQL interval). Fixed: input only ever selects a key.
TIERS: Mapping[str, tuple[str, str]] = {
    "1m": ("prices.price_ohlcv_1m", "INTERVAL 1 MINUTE"),
    "15m": ("prices.price_ohlcv_15m", "INTERVAL 15 MINUTE"),
    "1h": ("prices.price_ohlcv_1h", "INTERVAL 1 HOUR"),
    "4h": ("prices.price_ohlcv_4h", "INTERVAL 4 HOUR"),
    "1d": ("prices.price_ohlcv_1d", "INTERVAL 1 DAY"),
    "1w": ("prices.price_ohlcv_1w", "INTERVAL 1 WEEK"),
    "1M": ("prices.price_ohlcv_1M", "INTERVAL 1 MONTH"),
}
# Longest bucket in seconds (months: 31 days): how far back the XLM conversion may look.
_BUCKET_SECONDS = {"1m": 60, "15m": 900, "1h": 3600, "4h": 14400, "1d": 86400, "1w": 604800, "1M": 2678400}
# Shortest bucket (months: 28 days): the most buckets a window can hold, for the candle-count guards.
MIN_BUCKET_SECONDS = {**_BUCKET_SECONDS, "1M": 28 * 86400}

# The shapes the ingestion writes; anything else cannot exist in the tables.
_ASSET_ID = re.compile(r"^(native|[A-Za-z0-9]{1,12}:G[A-Z2-7]{55}|C[A-Z2-7]{55})$")


class PricingInputError(ValueError):
    """An argument a caller passed cannot be used; the message names it and says why."""


@dataclass(frozen=True)
class SourcePrice:
    source: str
    price_usd: float
    volume_24h_usd: float
    last_trade_at: datetime


@dataclass(frozen=True)
class AssetPrice:
    asset_id: str
    price_usd: float
    price_xlm: float
    vwap_24h: float
    volume_24h_usd: float
    change_24h_pct: float | None
    change_7d_pct: float | None
    sources: tuple[SourcePrice, ...]
    updated_at: datetime
    method: str


@dataclass(frozen=True)
class Candle:
    timestamp: datetime
    open: float | None
    high: float | None
    low: float | None
    close: float | None
    volume_base: float
    volume_quote_usd: float
    vwap: float | None
    trade_count: int


# ---- current prices ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _StoredSource:
    """One source as stored in current_prices.sources / excluded_sources."""

    source: str
    price: float
    vwap: float
    volume: float
    last_trade_at: datetime
    reason: str  # "" = formed the stored VWAP; else stale | outlier | min_volume

    def public(self) -> SourcePrice:
        return SourcePrice(self.source, self.price, self.volume, self.last_trade_at)


_CURRENT_SQL = (
    "SELECT asset_id, price_usd, price_xlm, vwap_24h, volume_24h_usd, change_24h_pct, change_7d_pct, "
    f"sources, excluded_sources, method, updated_at FROM {CURRENT_PRICES_TABLE} FINAL "
    "WHERE asset_id IN {ids:Array(String)}"
)


def current_prices(
    client: Any, asset_ids: Sequence[str], *, min_volume_usd: float | None = None
) -> dict[str, AssetPrice]:
    """The current price of each asset that has one, keyed by asset id; assets without a row are absent."""
    ids = _check_asset_ids(asset_ids, "asset_ids")
    minimum = _check_min_volume(min_volume_usd)
    if not ids:
        return {}
    rows = client.query(_CURRENT_SQL, parameters={"ids": ids}).named_results()
    return {row["asset_id"]: _asset_price(row, minimum) for row in rows}


def current_price(client: Any, asset_id: str, *, min_volume_usd: float | None = None) -> AssetPrice | None:
    """The current price of one asset, or None when it has none (no priced trade in the last 24 h)."""
    return current_prices(client, [asset_id], min_volume_usd=min_volume_usd).get(asset_id)


def vwap_of(sources: Sequence[tuple[float, float]]) -> float:
    """L2/L3 cross-source VWAP of (source vwap, source USD volume) pairs: Σ vwap×vol / Σ vol.

    The same formula as the SQL (including its fallback to the plain mean when every volume is 0).
    """
    if not sources:
        return 0.0
    total = math.fsum(v for _, v in sources)
    if total > 0:
        return math.fsum(p * v for p, v in sources) / total
    return math.fsum(p for p, _ in sources) / len(sources)


def _asset_price(row: Mapping[str, Any], minimum: float | None) -> AssetPrice:
    kept = _stored_sources(row["sources"], excluded=False)
    excluded = _stored_sources(row["excluded_sources"], excluded=True)
    method = str(row["method"])
    vwap = float(row["vwap_24h"])
    if minimum is not None:
        # Strict: every fresh, non-outlier source at or above the caller's minimum; the conditional
        # 100 USD rule of the snapshot is replaced, the stale cut and the outlier filter are not.
        candidates = [*kept, *(s for s in excluded if s.reason == "min_volume")]
        kept = [s for s in candidates if s.volume >= minimum]
        if method == METHOD_USD_PEG:
            vwap = 1.0
        elif kept:
            vwap = vwap_of([(s.vwap, s.volume) for s in kept])
        else:
            vwap = 0.0
            if method == METHOD_VWAP:
                method = METHOD_BELOW_MIN_VOLUME
    ordered = sorted(kept, key=lambda s: (-s.volume, s.source))
    return AssetPrice(
        asset_id=str(row["asset_id"]),
        price_usd=float(row["price_usd"]),
        price_xlm=float(row["price_xlm"]),
        vwap_24h=vwap,
        volume_24h_usd=float(row["volume_24h_usd"]),
        change_24h_pct=_opt_float(row["change_24h_pct"]),
        change_7d_pct=_opt_float(row["change_7d_pct"]),
        sources=tuple(s.public() for s in ordered),
        updated_at=_utc(row["updated_at"]),
        method=method,
    )


def _stored_sources(text: str, *, excluded: bool) -> list[_StoredSource]:
    data = json.loads(text) if text else {}
    out = []
    for name, v in data.items():
        out.append(
            _StoredSource(
                source=str(name),
                price=float(v["price"]),
                vwap=float(v["vwap"]),
                volume=float(v["volume_24h"]),
                last_trade_at=datetime.fromisoformat(v["last_trade_at"]).astimezone(UTC),
                reason=str(v["reason"]) if excluded else "",
            )
        )
    return out


def _check_asset_ids(asset_ids: Sequence[str], label: str) -> list[str]:
    if isinstance(asset_ids, str):
        raise PricingInputError(f"{label}: expected a sequence of asset ids, got one string")
    ids = list(asset_ids)
    if len(ids) > MAX_ASSETS:
        raise PricingInputError(f"{label}: {len(ids)} ids, at most {MAX_ASSETS} per call")
    for value in ids:
        if not isinstance(value, str) or not _ASSET_ID.match(value):
            raise PricingInputError(
                f"{label}: {value!r} is not an asset id as ingested ('native', 'CODE:ISSUER' or a C… contract id)"
            )
    return list(dict.fromkeys(ids))


def _check_min_volume(value: float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise PricingInputError(f"min_volume_usd: {value!r} must be a finite number >= 0")
    return float(value)


# ---- on-demand L2 snapshot -----------------------------------------------------------------------


def l2_snapshot_statement(as_of: datetime) -> tuple[str, dict[str, str]]:
    """INSERT of the L2 snapshot as of ``as_of`` into current_prices (bound parameters).

    The refreshable view replaces the whole table every minute; this insert only upserts the assets it
    computes (ReplacingMergeTree on updated_at), so assets that left the window keep their old row until
    the next refresh. ``SYSTEM REFRESH VIEW prices.mv_current_prices`` (admin) is the full replacement.
    """
    cols = ", ".join(L2_COLUMNS)
    sql = (
        f"INSERT INTO {CURRENT_PRICES_TABLE} ({cols}) SELECT {cols} FROM {L2_VIEW}"
        "(as_of = {as_of:DateTime64(3, 'UTC')})"
    )
    return sql, {"as_of": _fmt_ts(_aware("as_of", as_of))}


# ---- OHLCV ---------------------------------------------------------------------------------------

# Per bucket, across every (quote asset, source) candle of the asset as base. A candle is "priced" when
# its conversion to the requested currency is known; unpriced candles still count in the volumes and
# trade_count (their base volume is real) but never in a price field. `f` is the candle's conversion
# factor to the requested currency, 0 when unknown. One flat aggregate over the rows: a renaming subquery
# level cost the engine more than the candles themselves (bench-api).
_OHLCV_SQL = """
SELECT
    timestamp AS bucket,
    countIf(({factor} AS f) > 0) AS n_priced,
    argMinIf(open * f, (version, source, quote_asset_id), f > 0) AS o,
    maxIf(high * f, f > 0) AS h,
    minIf(low * f, f > 0) AS l,
    argMaxIf(close * f, (version, source, quote_asset_id), f > 0) AS c,
    sum(toFloat64(volume_base)) AS vb,
    sum(volume_quote_usd) AS vusd,
    sumIf({quote_volume}, f > 0) / sumIf(toFloat64(volume_base), f > 0) AS vw,
    toUInt64(sum(trade_count)) AS tc
FROM {rows}
GROUP BY bucket
ORDER BY bucket
"""

_WINDOW = """asset_id = {{asset:String}}
  AND timestamp < {{end:DateTime64(3, 'UTC')}}
  AND timestamp + {interval} > {{start:DateTime64(3, 'UTC')}}"""

_USD_ROWS = "{table} FINAL WHERE " + _WINDOW
_USD_FACTOR = "if(close > 0 AND close_usd > 0, close_usd / close, 0.)"
_USD_QUOTE_VOLUME = "volume_quote_usd"

# XLM: exact for XLM-quoted candles; otherwise through USD and XLM's own USD close of the bucket (the
# latest at or before it in the same tier, at most one bucket or 60 minutes older, like the 1m pivot).
_XLM_ROWS = (
    "(SELECT *, 'x' AS t_key FROM {table} FINAL WHERE "
    + _WINDOW
    + """) AS k
ASOF LEFT JOIN
(
    SELECT 'x' AS x_key, timestamp AS x_ts, argMax(close_usd, (version, source, quote_asset_id)) AS x_usd
    FROM {table} FINAL
    WHERE asset_id = 'native' AND close_usd > 0
      AND timestamp < {{end:DateTime64(3, 'UTC')}}
      AND timestamp + {interval} > {{start:DateTime64(3, 'UTC')}} - INTERVAL {lag} SECOND
    GROUP BY timestamp
) AS x ON k.t_key = x.x_key AND k.timestamp >= x.x_ts"""
)
_XLM_FACTOR = (
    "multiIf(quote_asset_id = 'native', 1., "
    "close > 0 AND close_usd > 0 AND x.x_usd > 0 AND dateDiff('second', x.x_ts, timestamp) <= {lag}, "
    "close_usd / close / x.x_usd, 0.)"
)
_XLM_QUOTE_VOLUME = "if(quote_asset_id = 'native', toFloat64(volume_quote), volume_quote_usd / x.x_usd)"


def ohlcv(
    client: Any,
    asset_id: str,
    *,
    granularity: str,
    start: datetime,
    end: datetime,
    base_currency: Literal["USD", "XLM"],
) -> list[Candle]:
    """Candles of ``granularity`` overlapping ``[start, end)``, across all sources, in USD or XLM."""
    (asset,) = _check_asset_ids([asset_id], "asset_id")
    if granularity not in TIERS:
        raise PricingInputError(f"granularity: {granularity!r} is not one of {', '.join(TIERS)}")
    if base_currency not in ("USD", "XLM"):
        raise PricingInputError(f"base_currency: {base_currency!r} is not USD or XLM")
    start_utc, end_utc = _aware("start", start), _aware("end", end)
    if end_utc <= start_utc:
        raise PricingInputError(f"end: {end_utc.isoformat()} must be after start {start_utc.isoformat()}")
    span = (end_utc - start_utc).total_seconds()
    if span / MIN_BUCKET_SECONDS[granularity] > MAX_CANDLES:
        raise PricingInputError(
            f"start/end: {span / 86400:.1f} days at granularity {granularity} exceed {MAX_CANDLES} candles"
        )
    table, interval = TIERS[granularity]
    if base_currency == "USD":
        rows = _USD_ROWS.format(table=table, interval=interval)
        sql = _OHLCV_SQL.format(factor=_USD_FACTOR, quote_volume=_USD_QUOTE_VOLUME, rows=rows)
    else:
        lag = max(3600, _BUCKET_SECONDS[granularity])
        rows = _XLM_ROWS.format(table=table, interval=interval, lag=lag)
        sql = _OHLCV_SQL.format(factor=_XLM_FACTOR.format(lag=lag), quote_volume=_XLM_QUOTE_VOLUME, rows=rows)
    params = {"asset": asset, "start": _fmt_ts(start_utc), "end": _fmt_ts(end_utc)}
    candles = [_candle(row) for row in client.query(sql, parameters=params).named_results()]
    if asset == NATIVE and base_currency == "XLM":
        # XLM in XLM is 1 by definition; the volumes stay what was traded.
        return [
            Candle(c.timestamp, 1.0, 1.0, 1.0, 1.0, c.volume_base, c.volume_quote_usd, 1.0, c.trade_count)
            for c in candles
        ]
    return candles


def _candle(row: Mapping[str, Any]) -> Candle:
    priced = int(row["n_priced"]) > 0
    return Candle(
        timestamp=_utc(row["bucket"]),
        open=float(row["o"]) if priced else None,
        high=float(row["h"]) if priced else None,
        low=float(row["l"]) if priced else None,
        close=float(row["c"]) if priced else None,
        volume_base=float(row["vb"]),
        volume_quote_usd=float(row["vusd"]),
        vwap=_opt_float(row["vw"]) if priced else None,
        trade_count=int(row["tc"]),
    )


# ---- small helpers -------------------------------------------------------------------------------


def _aware(name: str, value: datetime) -> datetime:
    if not isinstance(value, datetime):
        raise PricingInputError(f"{name}: expected a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise PricingInputError(f"{name}: {value.isoformat()} has no time zone; pass an aware (UTC) datetime")
    return value.astimezone(UTC)


def _fmt_ts(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}"


def _utc(value: datetime) -> datetime:
    # clickhouse-connect returns naive datetimes for DateTime('UTC') columns unless told otherwise.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _opt_float(value: Any) -> float | None:
    if value is None:
        return None
    f = float(value)
    return f if math.isfinite(f) else None
