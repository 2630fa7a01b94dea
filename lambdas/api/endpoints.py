"""One function per operation of the route table (keyed by ``operation_id``): validated ``Inputs`` in, a
response model out, or an ``ApiError``.

Functions read their request only through ``inputs.get(name)`` (declared parameters) and ``inputs.body``;
they never see the raw event. Prices and candles come from ``pricing.py``; everything else from
``queries.py``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from lambdas.api import asset_memo, pricing, queries
from lambdas.api.asset_ids import NATIVE, AssetRef, parse_asset
from lambdas.api.cursor import Cursor, decode_cursor, encode_cursor
from lambdas.api.errors import ApiError, asset_not_found, bad_parameter, price_unavailable
from lambdas.api.params import Inputs
from lambdas.api.responses import (
    AssetItem,
    AssetList,
    BackfillStatusOut,
    BackfillTaskOut,
    BatchItemOut,
    BatchOut,
    Body,
    CandleOut,
    ErrorBody,
    HealthOut,
    OhlcvOut,
    OraclePriceOut,
    OraclesOut,
    PriceOut,
    SourcePriceOut,
    finite,
)
from lambdas.backfill.progress_table import ProgressRow

HEALTH_TIMEOUT_S = 1.5
# Longest OHLCV answer, in candles: ~1.8 MB of JSON, 27 years of daily candles ("all" at 1d stays valid
# for decades), a week of 1-minute candles.
MAX_CANDLES = 10_000
# Start of `timeframe=all`: the current Stellar public network ("Public Global Stellar Network ; September 2015").
HISTORY_START = datetime(2015, 9, 30, tzinfo=UTC)
TIMEFRAME_SPAN: dict[str, timedelta | None] = {
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "1y": timedelta(days=365),
    "all": None,
}
# The automatic granularity: the first whose window covers the requested span (so timeframe 1h→1m,
# 24h→15m, 7d→1h, 30d→4h, 1y/all→1d, and a start/end window gets the same ladder by its length).
AUTO_GRANULARITY: tuple[tuple[timedelta, str], ...] = (
    (timedelta(hours=1), "1m"),
    (timedelta(hours=24), "15m"),
    (timedelta(days=7), "1h"),
    (timedelta(days=30), "4h"),
)
AUTO_COARSEST = "1d"


@dataclass(frozen=True)
class Reply:
    body: Body
    status: int = 200


Endpoint = Callable[[Inputs, Any], Reply]


def _now() -> datetime:
    return datetime.now(UTC)


# ---- assets ---------------------------------------------------------------------------------------------


def resolve(client: Any, ref: AssetRef) -> str:
    """The id the prices are stored under: a C… id that is the SAC of a classic asset becomes that asset."""
    if ref.kind == "contract":
        return asset_memo.classic_of_contracts(client, [ref.asset_id]).get(ref.asset_id, ref.asset_id)
    return ref.asset_id


def positive(value: float | None) -> float | None:
    """A price that is only meaningful when > 0 (the L2 snapshot writes 0 for "none")."""
    checked = finite(value)
    return checked if checked is not None and checked > 0 else None


def sources_out(price: pricing.AssetPrice | None) -> list[SourcePriceOut]:
    if price is None:
        return []
    return [
        SourcePriceOut(
            source=s.source,
            price_usd=positive(s.price_usd),
            volume_24h_usd=finite(s.volume_24h_usd),
            last_trade_at=s.last_trade_at,
        )
        for s in price.sources
    ]


def derived_row(asset_id: str) -> queries.AssetRow:
    """The registry-free facts of an id (what queries.ASSET_ROWS derives for an unregistered asset); the last two
    fields (active, priced) do not reach the answer."""
    if asset_id == NATIVE:
        return queries.AssetRow(asset_id, "XLM", "native", None, None, True, True)
    code, sep, issuer = asset_id.partition(":")
    if sep:
        return queries.AssetRow(asset_id, code, "classic", issuer, None, True, True)
    return queries.AssetRow(asset_id, "", "soroban", None, asset_id, True, True)


def asset_item(row: queries.AssetRow, price: pricing.AssetPrice | None) -> AssetItem:
    return AssetItem(
        asset=row.asset_id,
        code=row.code,
        type=row.type,  # type: ignore[arg-type]  # one of the three by construction of ASSET_ROWS
        issuer=row.issuer,
        contract=row.contract,
        price_usd=positive(price.price_usd) if price else None,
        change_24h_pct=finite(price.change_24h_pct) if price else None,
        change_7d_pct=finite(price.change_7d_pct) if price else None,
        volume_24h_usd=finite(price.volume_24h_usd) if price else None,
        vwap_24h=positive(price.vwap_24h) if price else None,
        sources=sources_out(price),
        updated_at=price.updated_at if price else None,
    )


def list_assets(inputs: Inputs, client: Any) -> Reply:
    sort, order = inputs.get("sort"), inputs.get("order")
    limit: int = inputs.get("limit")
    cursor_text = inputs.get("cursor")
    numeric = queries.SORT_KEYS[sort][1]
    cursor = decode_cursor(cursor_text, sort=sort, order=order, numeric=numeric) if cursor_text else None
    page = queries.list_assets(
        client,
        type_filter=inputs.get("type"),
        search=inputs.get("search"),
        sort=sort,
        order=order,
        cursor=cursor,
        limit=limit,
        include_inactive=inputs.get("include_inactive"),
    )
    prices = pricing.current_prices(client, [r.asset_id for r in page.rows if r.has_price])
    next_cursor = None
    if page.has_more and page.rows:
        next_cursor = encode_cursor(Cursor(sort, order, page.last_sort_value, page.rows[-1].asset_id))
    return Reply(
        AssetList(
            assets=[asset_item(r, prices.get(r.asset_id)) for r in page.rows],
            cursor=next_cursor,
            has_more=page.has_more,
        )
    )


def get_asset(inputs: Inputs, client: Any) -> Reply:
    ref: AssetRef = inputs.get("asset")
    asset_id = resolve(client, ref)
    row = queries.asset_rows(client, [asset_id]).get(asset_id)
    price = pricing.current_price(client, asset_id)
    if row is None:
        # Not registered and not priced: known all the same when it has candles (then without a price).
        if price is None and asset_id not in asset_memo.known_assets(client, [asset_id]):
            raise asset_not_found(ref.given)
        row = derived_row(asset_id)
    return Reply(asset_item(row, price))


# ---- prices ---------------------------------------------------------------------------------------------


def price_out(asset_id: str, price: pricing.AssetPrice) -> PriceOut:
    return PriceOut(
        asset=asset_id,
        price_usd=positive(price.price_usd),
        price_xlm=positive(price.price_xlm),
        vwap_24h=positive(price.vwap_24h),
        volume_24h_usd=finite(price.volume_24h_usd),
        change_24h_pct=finite(price.change_24h_pct),
        change_7d_pct=finite(price.change_7d_pct),
        sources=sources_out(price),
        updated_at=price.updated_at,
        method=price.method,
    )


def missing_price_error(known: bool, given: str) -> ApiError:
    return price_unavailable(given, "no priced trade in the last 24 h") if known else asset_not_found(given)


def get_price(inputs: Inputs, client: Any) -> Reply:
    ref: AssetRef = inputs.get("asset")
    asset_id = resolve(client, ref)
    price = pricing.current_price(client, asset_id, min_volume_usd=inputs.get("min_volume_usd"))
    if price is None:
        raise missing_price_error(asset_id in asset_memo.known_assets(client, [asset_id]), ref.given)
    return Reply(price_out(asset_id, price))


def prices_batch(inputs: Inputs, client: Any) -> Reply:
    given: list[str] = inputs.body["assets"]
    refs: list[AssetRef | ApiError] = []
    for index, text in enumerate(given):
        try:
            refs.append(parse_asset(text, label=f"assets[{index}]"))
        except ApiError as exc:
            refs.append(exc)
    contracts = sorted({r.asset_id for r in refs if isinstance(r, AssetRef) and r.kind == "contract"})
    sac = asset_memo.classic_of_contracts(client, contracts)
    ids = [sac.get(r.asset_id, r.asset_id) if isinstance(r, AssetRef) else None for r in refs]
    wanted = list(dict.fromkeys(i for i in ids if i is not None))
    prices = pricing.current_prices(client, wanted)
    unpriced = [i for i in wanted if i not in prices]
    known = asset_memo.known_assets(client, unpriced)
    results = []
    for text, ref, asset_id in zip(given, refs, ids, strict=True):
        if isinstance(ref, ApiError) or asset_id is None:
            error = ref if isinstance(ref, ApiError) else asset_not_found(text)
            results.append(
                BatchItemOut(asset=text, price=None, error=ErrorBody(code=error.code, message=error.message))
            )
        elif asset_id in prices:
            results.append(BatchItemOut(asset=text, price=price_out(asset_id, prices[asset_id]), error=None))
        else:
            error = missing_price_error(asset_id in known, text)
            results.append(
                BatchItemOut(asset=text, price=None, error=ErrorBody(code=error.code, message=error.message))
            )
    return Reply(BatchOut(results=results))


# ---- candles --------------------------------------------------------------------------------------------


def ohlcv_window(
    timeframe: str, granularity: str | None, start: datetime | None, end: datetime | None, now: datetime
) -> tuple[str, datetime, datetime]:
    """(granularity, start, end) of an OHLCV request, or a 400 naming the parameter at fault."""
    window_end = end if end is not None else now
    if start is not None:
        window_start = start
    else:
        span = TIMEFRAME_SPAN[timeframe]
        window_start = HISTORY_START if span is None else window_end - span
    if window_end <= window_start:
        which = "end" if end is not None else "start"
        raise bad_parameter(
            which, f"the window must end after it starts ({window_start.isoformat()} .. {window_end.isoformat()})"
        )
    length = window_end - window_start
    chosen = granularity or next((g for cover, g in AUTO_GRANULARITY if length <= cover), AUTO_COARSEST)
    count = math.ceil(length.total_seconds() / pricing.MIN_BUCKET_SECONDS[chosen])
    if count > MAX_CANDLES:
        raise bad_parameter(
            "granularity" if granularity else "start",
            f"{length.total_seconds() / 86_400:.1f} days at granularity {chosen} would be up to {count} candles; "
            f"at most {MAX_CANDLES} per request: choose a coarser granularity or a shorter window",
        )
    return chosen, window_start, window_end


def get_ohlcv(inputs: Inputs, client: Any) -> Reply:
    ref: AssetRef = inputs.get("asset")
    granularity, start, end = ohlcv_window(
        inputs.get("timeframe"), inputs.get("granularity"), inputs.get("start"), inputs.get("end"), _now()
    )
    base_currency = inputs.get("base_currency")
    asset_id = resolve(client, ref)
    candles = pricing.ohlcv(
        client, asset_id, granularity=granularity, start=start, end=end, base_currency=base_currency
    )
    if not candles and asset_id not in asset_memo.known_assets(client, [asset_id]):
        raise asset_not_found(ref.given)
    return Reply(
        OhlcvOut(
            asset=asset_id,
            granularity=granularity,
            base_currency=base_currency,
            start=start,
            end=end,
            candles=[
                CandleOut(
                    timestamp=c.timestamp,
                    open=finite(c.open),
                    high=finite(c.high),
                    low=finite(c.low),
                    close=finite(c.close),
                    volume_base=finite(c.volume_base) or 0.0,
                    volume_quote_usd=finite(c.volume_quote_usd) or 0.0,
                    vwap=finite(c.vwap),
                    trade_count=c.trade_count,
                )
                for c in candles
            ],
        )
    )


# ---- oracles, backfill ----------------------------------------------------------------------------------


def get_oracles(inputs: Inputs, client: Any) -> Reply:
    ref: AssetRef = inputs.get("asset")
    asset_id = resolve(client, ref)
    rows = queries.latest_oracle_prices(client, asset_id)
    if not rows and asset_id not in asset_memo.known_assets(client, [asset_id]):
        raise asset_not_found(ref.given)
    return Reply(
        OraclesOut(
            asset=asset_id,
            oracles=[
                OraclePriceOut(oracle=r.oracle, price_usd=positive(r.price_usd), updated_at=r.updated_at) for r in rows
            ],
        )
    )


def backfill_task(stream: str, tasks: dict[str, ProgressRow], earliest: datetime | None) -> BackfillTaskOut:
    """One stream's section (reference §9 semantics), with an earliest date the data itself supports."""
    row = next((tasks[name] for name in queries.STREAM_TASKS[stream] if name in tasks), None)
    if row is None:
        return BackfillTaskOut(
            task=queries.STREAM_TASKS[stream][-1],
            status="not_started",
            start_ledger=None,
            target_ledger=None,
            current_ledger=None,
            progress_pct=None,
            ledgers_remaining=None,
            last_push_at=None,
            completed_at=None,
            earliest_data_available=earliest,
        )
    # Never earlier than what the candles show, nor than the task's own (checked) claim.
    claims = [d for d in (earliest, row.earliest_data_available) if d is not None]
    return BackfillTaskOut(
        task=row.task_name,
        status=row.status,
        start_ledger=row.start_ledger,
        target_ledger=row.target_ledger,
        current_ledger=row.current_ledger,
        # One definition with the CLI's `status` (lambdas/backfill/progress_table.py, docs/backfill.md).
        progress_pct=row.progress_pct,
        ledgers_remaining=row.ledgers_remaining,
        last_push_at=row.last_push_at,
        completed_at=row.completed_at,
        earliest_data_available=max(claims) if earliest is not None else None,
    )


def backfill_status(inputs: Inputs, client: Any) -> Reply:
    tasks = queries.backfill_progress(client)
    earliest = queries.earliest_candles(client)
    tip = queries.realtime_tip(client)
    return Reply(
        BackfillStatusOut(
            realtime_tip_ledger=tip[0] if tip else None,
            realtime_tip_closed_at=tip[1] if tip else None,
            sdex=backfill_task(queries.STREAM_SDEX, tasks, earliest.get(queries.STREAM_SDEX)),
            soroban_amm=backfill_task(queries.STREAM_AMM, tasks, earliest.get(queries.STREAM_AMM)),
        )
    )


# ---- service --------------------------------------------------------------------------------------------


def health(inputs: Inputs, client: Any) -> Reply:
    if not queries.ping(client, HEALTH_TIMEOUT_S):
        raise ApiError(503, "clickhouse_unavailable", f"ClickHouse did not answer a ping within {HEALTH_TIMEOUT_S} s")
    return Reply(HealthOut(status="ok", clickhouse="up"))


ENDPOINTS: dict[str, Endpoint] = {
    "getHealth": health,
    "listAssets": list_assets,
    "getAsset": get_asset,
    "getAssetPrice": get_price,
    "getAssetOhlcv": get_ohlcv,
    "getOraclePrices": get_oracles,
    "getBackfillStatus": backfill_status,
    "getPricesBatch": prices_batch,
}
"""Every route but getOpenApi, which needs no ClickHouse client (the handler serves it directly)."""
