"""The API's own reads (asset registry and listing, oracles, backfill status, health); prices and candles are
read by ``pricing.py``.

Every value is a bound parameter (``{name:Type}`` + ``parameters=``). The SQL text varies only by choices
from closed sets the handler validated (sort column, direction, which filters apply), each mapped here to a
fragment written in this file, never to request text.

The queries run as ``prices_reader``, whose profile is ``readonly=1``: they change no setting (not even in a
SETTINGS clause), so outer joins mark the matched side with a ``*_known`` column instead of relying on
``join_use_nulls``.

Which assets exist: the registry ``prices.assets`` (maintained outside this API) and every asset with a
current price. Type, code and issuer of a classic asset or lumens follow from the id itself (``native``,
``CODE:ISSUER``), so an asset priced before the registry learned about it is still listed correctly; the
registry adds the code of a Soroban token, the SAC contract of a classic asset and ``is_active``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from lambdas.api.cursor import Cursor
from lambdas.backfill.progress_table import ProgressRow, read_progress

# One row per known asset with the listing's columns; filters, sort and keyset apply on top of it.
# {only_r} / {only_p}: empty, or a filter on the ids of each side (pushed inside the FULL JOIN, so a lookup of a
# few assets does not read both tables whole).
_ASSET_ROWS = """
SELECT
    asset_id, code, type, issuer, contract, is_active, has_price,
    if(has_price, p_price, NULL) AS price_usd,
    if(has_price, p_volume, NULL) AS volume_24h_usd,
    if(has_price, p_change_24h, NULL) AS change_24h_pct,
    lowerUTF8(code) AS code_key
FROM
(
    SELECT
        if(r_known = 1, r_id, p_id) AS asset_id,
        multiIf(asset_id = 'native', 'native', position(asset_id, ':') > 0, 'classic', 'soroban') AS type,
        multiIf(asset_id = 'native', 'XLM', type = 'classic', splitByChar(':', asset_id)[1], r_code) AS code,
        if(type = 'classic', splitByChar(':', asset_id)[2], '') AS issuer,
        if(type = 'soroban', asset_id, r_sac) AS contract,
        if(r_known = 1, r_active, true) AS is_active,
        p_known = 1 AS has_price,
        p_price, p_volume, p_change_24h
    FROM
    (
        SELECT asset_id AS r_id, asset_code AS r_code, sac_contract_id AS r_sac, is_active AS r_active,
               toUInt8(1) AS r_known
        FROM prices.assets FINAL {only_r}
    ) AS r
    FULL OUTER JOIN
    (
        SELECT asset_id AS p_id, price_usd AS p_price, volume_24h_usd AS p_volume,
               toNullable(change_24h_pct) AS p_change_24h, toUInt8(1) AS p_known
        FROM prices.current_prices FINAL {only_p}
    ) AS p ON r.r_id = p.p_id
)
"""

ASSET_ROWS = _ASSET_ROWS.format(only_r="", only_p="")
_IDS = "WHERE asset_id IN {ids:Array(String)}"
ASSET_ROWS_OF_IDS = _ASSET_ROWS.format(only_r=_IDS, only_p=_IDS)

ROW_COLUMNS = "asset_id, code, type, issuer, contract, is_active, has_price"

# sort parameter → (column of ASSET_ROWS, numeric?)
SORT_KEYS: dict[str, tuple[str, bool]] = {
    "price": ("price_usd", True),
    "volume_24h": ("volume_24h_usd", True),
    "change_24h": ("change_24h_pct", True),
    "code": ("code_key", False),
}
TYPE_FILTERS: dict[str, str | None] = {
    "all": None,
    # Lumens are a classic (non-contract) asset.
    "classic": "type IN ('native', 'classic')",
    "soroban": "type = 'soroban'",
}

STREAM_SDEX = "sdex"
STREAM_AMM = "soroban_amm"
# Which prices.backfill_progress row feeds each stream's section, first match wins: a dedicated task (the
# reference system's names) or the one-pass history backfill (lambdas/backfill), which covers both.
STREAM_TASKS: dict[str, tuple[str, ...]] = {
    STREAM_SDEX: ("sdex_archive", "history"),
    STREAM_AMM: ("soroban_amm", "history"),
}
# Candle source → stream: the order book is "sdex", every Soroban venue (soroswap, aquarius, …) the AMM stream.
STREAM_OF_SOURCE = "if(source = 'sdex', 'sdex', 'soroban_amm')"


@dataclass(frozen=True)
class AssetRow:
    asset_id: str
    code: str
    type: str
    issuer: str | None
    contract: str | None
    is_active: bool
    has_price: bool


@dataclass(frozen=True)
class ListPage:
    rows: list[AssetRow]
    has_more: bool
    last_sort_value: float | str | None  # of the page's last row, for the next cursor


@dataclass(frozen=True)
class OracleRow:
    oracle: str
    price_usd: float
    updated_at: datetime


def utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _asset_row(row: Sequence[Any]) -> AssetRow:
    asset_id, code, type_, issuer, contract, is_active, has_price = row[:7]
    return AssetRow(
        str(asset_id), str(code), str(type_), issuer or None, contract or None, bool(is_active), bool(has_price)
    )


def list_assets(
    client: Any,
    *,
    type_filter: str,
    search: str | None,
    sort: str,
    order: str,
    cursor: Cursor | None,
    limit: int,
    include_inactive: bool,
) -> ListPage:
    """One page of the listing, fetched with limit + 1 rows to learn `has_more` without a count."""
    column, numeric = SORT_KEYS[sort]
    descending = order == "desc"
    direction, before = ("DESC", "<") if descending else ("ASC", ">")
    where: list[str] = []
    params: dict[str, Any] = {"fetch": limit + 1}
    type_sql = TYPE_FILTERS[type_filter]
    if type_sql:
        where.append(type_sql)
    if search:
        where.append("startsWith(code_key, {search:String})")
        params["search"] = search.lower()
    if not include_inactive:
        where.append("is_active AND has_price")
    if cursor is not None:
        params["cursor_id"] = cursor.asset_id
        if cursor.value is None:
            # The cursor sits among the rows without a sort value (always last, whatever the order).
            where.append(f"{column} IS NULL AND asset_id {before} {{cursor_id:String}}")
        else:
            value_type = "Float64" if numeric else "String"
            params["cursor_value"] = cursor.value
            where.append(
                f"({column} IS NULL OR {column} {before} {{cursor_value:{value_type}}} "
                f"OR ({column} = {{cursor_value:{value_type}}} AND asset_id {before} {{cursor_id:String}}))"
            )
    sql = (
        f"SELECT {ROW_COLUMNS}, {column} FROM ({ASSET_ROWS})"
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + f" ORDER BY {column} IS NULL, {column} {direction}, asset_id {direction} LIMIT {{fetch:UInt32}}"
    )
    rows = client.query(sql, parameters=params).result_rows
    page = rows[:limit]
    last_value = page[-1][7] if page else None
    if last_value is not None and numeric:
        last_value = float(last_value)
    return ListPage([_asset_row(r) for r in page], len(rows) > limit, last_value)


def asset_rows(client: Any, asset_ids: Sequence[str]) -> dict[str, AssetRow]:
    """The known assets among `asset_ids` (registry or priced), by id."""
    if not asset_ids:
        return {}
    rows = client.query(
        f"SELECT {ROW_COLUMNS} FROM ({ASSET_ROWS_OF_IDS})",
        parameters={"ids": list(asset_ids)},
    ).result_rows
    return {str(r[0]): _asset_row(r) for r in rows}


def classic_of_contracts(client: Any, contract_ids: Sequence[str]) -> dict[str, str]:
    """contract id → the classic asset whose Stellar Asset Contract it is, for those the registry knows (the
    ingestion writes SAC legs under the classic identity, so that is where their prices are)."""
    if not contract_ids:
        return {}
    rows = client.query(
        "SELECT sac_contract_id, min(asset_id) FROM prices.assets FINAL "
        "WHERE sac_contract_id IN {contracts:Array(String)} GROUP BY sac_contract_id",
        parameters={"contracts": list(contract_ids)},
    ).result_rows
    return {str(contract): str(asset) for contract, asset in rows}


def known_assets(client: Any, asset_ids: Sequence[str]) -> set[str]:
    """Those of `asset_ids` this API knows: registered, priced now, or with any daily candle as base asset."""
    if not asset_ids:
        return set()
    rows = client.query(
        """
        SELECT asset_id FROM prices.assets FINAL WHERE asset_id IN {ids:Array(String)}
        UNION DISTINCT
        SELECT asset_id FROM prices.current_prices FINAL WHERE asset_id IN {ids:Array(String)}
        UNION DISTINCT
        SELECT DISTINCT asset_id FROM prices.price_ohlcv_1d WHERE asset_id IN {ids:Array(String)}
        """,
        parameters={"ids": list(asset_ids)},
    ).result_rows
    return {str(r[0]) for r in rows}


def latest_oracle_prices(client: Any, asset_id: str) -> list[OracleRow]:
    rows = client.query(
        """
        SELECT oracle_name, argMax(price_usd, timestamp) AS o_price, max(timestamp) AS o_at
        FROM prices.oracle_prices FINAL
        WHERE asset_id = {asset:String}
        GROUP BY oracle_name
        ORDER BY oracle_name
        """,
        parameters={"asset": asset_id},
    ).result_rows
    return [OracleRow(str(name), float(price), utc(at) or datetime.min.replace(tzinfo=UTC)) for name, price, at in rows]


def backfill_progress(client: Any) -> dict[str, ProgressRow]:
    """The progress rows of the tasks ``STREAM_TASKS`` names, by task name (the table holds a handful)."""
    wanted = {name for names in STREAM_TASKS.values() for name in names}
    return {row.task_name: row for row in read_progress(client) if row.task_name in wanted}


def realtime_tip(client: Any) -> tuple[int, datetime] | None:
    rows = client.query(
        "SELECT ledger, close_time FROM prices.ingested_ledgers ORDER BY ledger DESC LIMIT 1"
    ).result_rows
    if not rows:
        return None
    ledger, closed = rows[0]
    return int(ledger), utc(closed) or datetime.min.replace(tzinfo=UTC)


def earliest_candles(client: Any) -> dict[str, datetime]:
    """Per stream, the start of the earliest 1-minute candle actually present.

    Two cheap steps instead of a scan of every part: the earliest daily candle per stream, then the earliest
    per-ledger part inside that day (its minute). When the parts of that day are gone (retention), the day
    itself is what the data shows.
    """
    days = {
        str(stream): utc(day)
        for stream, day in client.query(
            f"SELECT {STREAM_OF_SOURCE} AS d_stream, min(timestamp) AS d_first FROM prices.price_ohlcv_1d "
            "GROUP BY d_stream"
        ).result_rows
    }
    out: dict[str, datetime] = {stream: day for stream, day in days.items() if day is not None}
    if not out:
        return out
    params: dict[str, Any] = {}
    windows = []
    for index, (stream, day) in enumerate(sorted(out.items())):
        params[f"stream_{index}"] = stream
        params[f"from_{index}"] = day
        params[f"to_{index}"] = day + timedelta(days=1)
        windows.append(
            f"({STREAM_OF_SOURCE} = {{stream_{index}:String}} AND timestamp >= {{from_{index}:DateTime('UTC')}} "
            f"AND timestamp < {{to_{index}:DateTime('UTC')}})"
        )
    rows = client.query(
        f"SELECT {STREAM_OF_SOURCE} AS p_stream, min(timestamp) AS p_first FROM prices.candle_parts_1m "
        f"WHERE {' OR '.join(windows)} GROUP BY p_stream",
        parameters=params,
    ).result_rows
    for stream, first in rows:
        first_utc = utc(first)
        if first_utc is not None:
            out[str(stream)] = first_utc
    return out


def ping(client: Any, timeout_s: float) -> bool:
    return bool(client.ping(timeout=timeout_s))
