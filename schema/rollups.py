"""Rollup chain 1m -> 15m -> 1h -> 4h -> 1d -> {1w, 1M}: one SELECT per step, used twice.

Design "change-driven refreshable rollups" (see docs/rollups.md):

* Each step's SELECT lives ONCE, in a parameterized view ``prices.rollup_<to>_from_<from>``
  with parameters ``changed_since`` (DateTime64), ``from_ts`` and ``to_ts`` (DateTime).
  It recomputes every target bucket that contains a source row inserted at or after
  ``changed_since`` whose candle timestamp is in ``[from_ts, to_ts)``, reading the WHOLE
  bucket from the source tier with ``FINAL``. Buckets are recomputed, never incremented, so
  a corrected (re-inserted) row cannot be counted twice (schema trap 2).
* The refreshable materialized views call that view with ``changed_since = now - LOOKBACK``
  and an unbounded timestamp range: late, historical and backfilled candles are re-rolled
  however old their timestamp is, because the trigger is ``inserted_at``.
* ``rollup_range`` calls the same views with bound parameters (``changed_since`` = epoch,
  explicit range) for repair/backfill.

The migration files holding the generated DDL are checked against this generator by a
test; regenerate them with ``python -m schema.rollups --write``.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

DATABASE = "prices"
TIERS: tuple[str, ...] = ("1m", "15m", "1h", "4h", "1d", "1w", "1M")

# Long enough to survive a stalled refresh or a short engine restart; short enough that a
# refresh does not re-read much. Anything older than this must be repaired with rollup_range.
LOOKBACK = "INTERVAL 2 HOUR"
REFRESH = "EVERY 1 MINUTE"

# Upper bound of DateTime is 2106-02-07; the views' range filter is half-open.
_OPEN_RANGE_FROM = "toDateTime(0, 'UTC')"
_OPEN_RANGE_TO = "toDateTime('2106-01-01 00:00:00', 'UTC')"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

ROLLUP_VIEWS_FILE = "007_rollup_select_views.sql"
ROLLUP_REFRESH_FILE = "008_rollup_refreshable_views.sql"


@dataclass(frozen=True)
class RollupStep:
    source: str
    target: str
    # Bucket expression over the source column `timestamp`; must return DateTime('UTC').
    bucket_sql: str
    # The step whose output this one reads; None for the first step.
    depends_on: str | None

    @property
    def select_view(self) -> str:
        return f"{DATABASE}.rollup_{self.target}_from_{self.source}"

    @property
    def refresh_view(self) -> str:
        return f"{DATABASE}.mv_rollup_{self.target}"

    @property
    def source_table(self) -> str:
        return f"{DATABASE}.price_ohlcv_{self.source}"

    @property
    def target_table(self) -> str:
        return f"{DATABASE}.price_ohlcv_{self.target}"


# 1w and 1M both come from 1d: weeks straddle month boundaries (schema trap 3).
STEPS: tuple[RollupStep, ...] = (
    RollupStep("1m", "15m", "toStartOfFifteenMinutes(timestamp)", None),
    RollupStep("15m", "1h", "toStartOfHour(timestamp)", "15m"),
    RollupStep("1h", "4h", "toStartOfInterval(timestamp, INTERVAL 4 HOUR)", "1h"),
    RollupStep("4h", "1d", "toStartOfDay(timestamp)", "4h"),
    RollupStep("1d", "1w", "toDateTime(toMonday(timestamp), 'UTC')", "1d"),
    RollupStep("1d", "1M", "toDateTime(toStartOfMonth(timestamp), 'UTC')", "1d"),
)

OUTPUT_COLUMNS: tuple[str, ...] = (
    "asset_id",
    "quote_asset_id",
    "source",
    "timestamp",
    "open",
    "high",
    "low",
    "close",
    "volume_base",
    "volume_quote",
    "volume_quote_usd",
    "close_usd",
    "vwap",
    "trade_count",
    "version",
)


def _select_view_ddl(step: RollupStep) -> str:
    # Three layers so that no alias ever shadows a column used inside an aggregate (trap 1):
    # the innermost renames source columns to s_*, the middle aggregates into r_*, and only
    # the outermost names the bucket `timestamp`.
    return f"""-- {step.source} -> {step.target}: every {step.target} bucket holding a {step.source} row
-- inserted since {{changed_since}} with a candle timestamp in [{{from_ts}}, {{to_ts}}),
-- recomputed whole from {step.source_table} FINAL.
CREATE VIEW IF NOT EXISTS {step.select_view} AS
SELECT
    asset_id,
    quote_asset_id,
    source,
    bucket AS timestamp,
    r_open AS open,
    r_high AS high,
    r_low AS low,
    r_close AS close,
    r_volume_base AS volume_base,
    r_volume_quote AS volume_quote,
    r_volume_quote_usd AS volume_quote_usd,
    r_close_usd AS close_usd,
    if(r_volume_base = 0, 0, toFloat64(r_volume_quote) / toFloat64(r_volume_base)) AS vwap,
    r_trade_count AS trade_count,
    r_version AS version
FROM
(
    SELECT
        asset_id,
        quote_asset_id,
        source,
        bucket,
        argMin(s_open, s_ts) AS r_open,
        max(s_high) AS r_high,
        min(s_low) AS r_low,
        argMax(s_close, s_ts) AS r_close,
        sum(s_volume_base) AS r_volume_base,
        sum(s_volume_quote) AS r_volume_quote,
        -- Float sums depend on the order rows arrive in; summing exact decimals makes a
        -- recomputed bucket bit-identical however the parts were laid out.
        toFloat64(sum(toDecimal256(s_volume_quote_usd, 20))) AS r_volume_quote_usd,
        argMax(s_close_usd, s_ts) AS r_close_usd,
        toUInt32(sum(s_trade_count)) AS r_trade_count,
        max(s_version) AS r_version
    FROM
    (
        SELECT
            asset_id,
            quote_asset_id,
            source,
            {step.bucket_sql} AS bucket,
            timestamp AS s_ts,
            open AS s_open,
            high AS s_high,
            low AS s_low,
            close AS s_close,
            volume_base AS s_volume_base,
            volume_quote AS s_volume_quote,
            volume_quote_usd AS s_volume_quote_usd,
            close_usd AS s_close_usd,
            trade_count AS s_trade_count,
            version AS s_version
        FROM {step.source_table} FINAL
        WHERE (asset_id, quote_asset_id, source, {step.bucket_sql}) IN
        (
            -- Without FINAL on purpose: any inserted version of a row marks its bucket.
            SELECT asset_id, quote_asset_id, source, {step.bucket_sql}
            FROM {step.source_table}
            WHERE inserted_at >= {{changed_since:DateTime64(3, 'UTC')}}
              AND timestamp >= {{from_ts:DateTime('UTC')}}
              AND timestamp < {{to_ts:DateTime('UTC')}}
        )
    )
    GROUP BY asset_id, quote_asset_id, source, bucket
)"""


def _refresh_view_ddl(step: RollupStep) -> str:
    cols = ", ".join(OUTPUT_COLUMNS)
    depends = ""
    if step.depends_on is not None:
        depends = f"\nDEPENDS ON {DATABASE}.mv_rollup_{step.depends_on}"
    return f"""-- APPEND: without it every refresh would replace the whole {step.target} table (platform notes 3).
CREATE MATERIALIZED VIEW IF NOT EXISTS {step.refresh_view}
REFRESH {REFRESH}{depends}
APPEND TO {step.target_table} ({cols})
AS SELECT {cols}
FROM {step.select_view}(
    changed_since = now64(3, 'UTC') - {LOOKBACK},
    from_ts = {_OPEN_RANGE_FROM},
    to_ts = {_OPEN_RANGE_TO}
)"""


_HEADER = "-- GENERATED by `python -m schema.rollups --write` from schema/rollups.py; do not edit by hand.\n"


def render_select_views_sql() -> str:
    body = ";\n\n".join(_select_view_ddl(s) for s in STEPS)
    return f"""{_HEADER}-- One parameterized view per rollup step: the single definition of each step's SELECT,
-- shared by the refreshable views (008) and schema.rollups.rollup_range (repair/backfill).
-- Output per bucket: open = argMin(open, ts), close = argMax(close, ts), high = max,
-- low = min, volumes and trade_count summed, close_usd = argMax(close_usd, ts),
-- vwap = volume_quote / volume_base (0 when volume_base is 0), version = max(version).
{body};
"""


def render_refresh_views_sql() -> str:
    body = ";\n\n".join(_refresh_view_ddl(s) for s in STEPS)
    return f"""{_HEADER}-- Change-driven refreshable rollups. Each minute every step re-rolls the buckets that
-- hold a source row inserted within the last {LOOKBACK.lower()}, whatever the candle's age.
-- A step's output rows get a fresh inserted_at, which is what makes the next step pick
-- them up; DEPENDS ON orders the steps within one refresh period.
-- Target version = max(source version). When a bucket is recomputed with the same
-- max(version) (e.g. a late row with an older ledger), ReplacingMergeTree keeps the LAST
-- inserted row among equal versions, so the newer recomputation wins (tested).
{body};
"""


# --- parts -> 1m: the first, derived step (docs/candles.md) ------------------------------------
#
# The ledger processor writes per-ledger partial candles to prices.candle_parts_1m; the 1m tier is
# recomputed whole, per bucket, from those parts read with FINAL, so replays and concurrent writers
# can never race on a candle. The same step attaches the USD columns through a pivot:
#   quote in USD_QUOTES             -> 1 USD per quote unit
#   quote = native (XLM)            -> XLM/USD of that minute: the close of the latest XLM/USDC minute
#                                      at or before it (all sources; last trade by global order) within
#                                      PIVOT_STALENESS_MINUTES, else the latest oracle_prices 'native'
#                                      observation within the same bound
#   otherwise / no pivot            -> 0, meaning "no USD value", never "worth nothing"
# Order independence for USD: a bucket is recomputed when its own parts change AND, for native-quoted
# buckets, when the pivot of any minute in [m - staleness, m] changes (XLM/USDC parts or oracle rows
# inserted since changed_since), so a late XLM/USDC ledger re-prices the candles it affects.

PARTS_TABLE = f"{DATABASE}.candle_parts_1m"
PARTS_SELECT_VIEW = f"{DATABASE}.rollup_1m_from_parts"
PARTS_REFRESH_VIEW = f"{DATABASE}.mv_rollup_1m"
PARTS_STEP_FILE = "011_candles_1m_from_parts.sql"
NATIVE = "native"
USDC_CLASSIC = "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN"
# The USDC Stellar Asset Contract on pubnet (derived from USDC_CLASSIC; a test re-derives it). The
# extraction collapses a SAC onto its classic identity when the ledger proves the mapping; this entry
# covers the swaps where it could not.
USDC_SAC = "CCW67TSZV3SSS2HXMBQ5JFGCKJNXKZM7UQUWUZPUTHXSTZLEO7SJMI75"
USD_QUOTES: tuple[str, ...] = (USDC_CLASSIC, USDC_SAC)
PIVOT_PAIR = (NATIVE, USDC_CLASSIC)  # base, quote as oriented by trades.orient (USDC outranks XLM)
PIVOT_STALENESS_MINUTES = 60
_IDENT_LITERAL = re.compile(r"^[A-Za-z0-9:]+$")


def _lit(value: str) -> str:
    # Only our own constants are rendered; the regex keeps anything else out of the SQL text.
    if not _IDENT_LITERAL.match(value):
        raise ValueError(f"refusing to render {value!r} into SQL")
    return f"'{value}'"


def _changed_pivot_minutes_sql() -> str:
    """Minutes whose XLM/USD pivot changed since {changed_since}, each widened by the staleness bound."""
    base, quote = (_lit(x) for x in PIVOT_PAIR)
    span = PIVOT_STALENESS_MINUTES + 1
    return f"""SELECT arrayJoin(arrayMap(i -> addMinutes(timestamp, i), range({span})))
            FROM {PARTS_TABLE}
            WHERE asset_id = {base} AND quote_asset_id = {quote}
              AND inserted_at >= {{changed_since:DateTime64(3, 'UTC')}}
            UNION ALL
            SELECT arrayJoin(arrayMap(i -> addMinutes(toStartOfMinute(timestamp), i), range({span})))
            FROM {DATABASE}.oracle_prices
            WHERE asset_id = {_lit(NATIVE)} AND ingested_at >= {{changed_since:DateTime64(3, 'UTC')}}"""


def _selected_parts_filter_sql() -> str:
    return f"""(
            (asset_id, quote_asset_id, source, timestamp) IN
            (
                -- Without FINAL on purpose: any inserted version of a part marks its bucket.
                SELECT asset_id, quote_asset_id, source, timestamp
                FROM {PARTS_TABLE}
                WHERE inserted_at >= {{changed_since:DateTime64(3, 'UTC')}}
                  AND timestamp >= {{from_ts:DateTime('UTC')}}
                  AND timestamp < {{to_ts:DateTime('UTC')}}
            )
            OR (
                quote_asset_id = {_lit(NATIVE)}
                AND timestamp >= {{from_ts:DateTime('UTC')}}
                AND timestamp < {{to_ts:DateTime('UTC')}}
                AND timestamp IN
                (
            {_changed_pivot_minutes_sql()}
                )
            )
        )"""


def _pivot_candidate_minutes_sql() -> str:
    """Every minute a selected native-quoted bucket may take its pivot from: [m - staleness, m]."""
    span = PIVOT_STALENESS_MINUTES + 1
    return f"""SELECT arrayJoin(arrayMap(i -> subtractMinutes(timestamp, i), range({span})))
                FROM {PARTS_TABLE}
                WHERE quote_asset_id = {_lit(NATIVE)} AND {_selected_parts_filter_sql()}"""


def _parts_select_view_ddl() -> str:
    usd = ", ".join(_lit(q) for q in USD_QUOTES)
    base, quote = (_lit(x) for x in PIVOT_PAIR)
    stale_s = PIVOT_STALENESS_MINUTES * 60
    return f"""-- parts -> 1m: every 1m bucket holding a part inserted since {{changed_since}} (or, for XLM-quoted
-- buckets, whose XLM/USD pivot changed since then) with a timestamp in [{{from_ts}}, {{to_ts}}),
-- recomputed whole from {PARTS_TABLE} FINAL. Layers: s_* source columns, r_* aggregates, c_* the
-- candle, p_*/o_* the pivots; only the outermost layer names `timestamp` (trap 1).
CREATE VIEW IF NOT EXISTS {PARTS_SELECT_VIEW} AS
SELECT
    c_asset AS asset_id,
    c_quote AS quote_asset_id,
    c_source AS source,
    c_ts AS timestamp,
    r_open AS open,
    r_high AS high,
    r_low AS low,
    r_close AS close,
    r_volume_base AS volume_base,
    r_volume_quote AS volume_quote,
    multiIf(c_quote IN ({usd}), toFloat64(r_volume_quote),
            c_quote = {_lit(NATIVE)} AND x_usd > 0, toFloat64(r_volume_quote) * x_usd, 0) AS volume_quote_usd,
    multiIf(c_quote IN ({usd}), r_close, c_quote = {_lit(NATIVE)} AND x_usd > 0, r_close * x_usd, 0) AS close_usd,
    if(r_volume_base = 0, 0, toFloat64(r_volume_quote) / toFloat64(r_volume_base)) AS vwap,
    r_trade_count AS trade_count,
    r_version AS version
FROM
(
    SELECT
        c.c_asset AS c_asset,
        c.c_quote AS c_quote,
        c.c_source AS c_source,
        c.c_ts AS c_ts,
        c.r_open AS r_open,
        c.r_high AS r_high,
        c.r_low AS r_low,
        c.r_close AS r_close,
        c.r_volume_base AS r_volume_base,
        c.r_volume_quote AS r_volume_quote,
        c.r_trade_count AS r_trade_count,
        c.r_version AS r_version,
        multiIf(
            p.p_close > 0 AND dateDiff('second', p.p_ts, c.c_ts) <= {stale_s}, p.p_close,
            o.o_price > 0 AND dateDiff('second', o.o_ts, c.c_ts) <= {stale_s}, o.o_price,
            0) AS x_usd
    FROM
    (
        SELECT
            asset_id AS c_asset,
            quote_asset_id AS c_quote,
            source AS c_source,
            s_ts AS c_ts,
            argMin(s_open, s_open_order) AS r_open,
            max(s_high) AS r_high,
            min(s_low) AS r_low,
            argMax(s_close, s_close_order) AS r_close,
            sum(s_volume_base) AS r_volume_base,
            sum(s_volume_quote) AS r_volume_quote,
            toUInt32(sum(s_trade_count)) AS r_trade_count,
            max(s_close_order) AS r_version
        FROM
        (
            SELECT
                asset_id, quote_asset_id, source,
                timestamp AS s_ts,
                open AS s_open, open_order AS s_open_order,
                high AS s_high, low AS s_low,
                close AS s_close, close_order AS s_close_order,
                volume_base AS s_volume_base, volume_quote AS s_volume_quote,
                trade_count AS s_trade_count
            FROM {PARTS_TABLE} FINAL
            WHERE {_selected_parts_filter_sql()}
        )
        GROUP BY asset_id, quote_asset_id, source, s_ts
    ) AS c
    ASOF LEFT JOIN
    (
        -- XLM/USDC close per minute: the last trade by global order, whatever its source.
        SELECT {_lit(NATIVE)} AS p_key, pv_ts AS p_ts, argMax(pv_close, pv_order) AS p_close
        FROM
        (
            SELECT timestamp AS pv_ts, close AS pv_close, close_order AS pv_order
            FROM {PARTS_TABLE} FINAL
            WHERE asset_id = {base} AND quote_asset_id = {quote}
              AND timestamp IN
              (
                {_pivot_candidate_minutes_sql()}
              )
        )
        GROUP BY pv_ts
    ) AS p ON c.c_quote = p.p_key AND c.c_ts >= p.p_ts
    ASOF LEFT JOIN
    (
        -- Oracle fallback: latest observation per minute; ties between oracles broken by name.
        SELECT {_lit(NATIVE)} AS o_key, om_ts AS o_ts, argMax(om_price, (om_at, om_name)) AS o_price
        FROM
        (
            SELECT toStartOfMinute(timestamp) AS om_ts, timestamp AS om_at, oracle_name AS om_name,
                   price_usd AS om_price
            FROM {DATABASE}.oracle_prices FINAL
            WHERE asset_id = {_lit(NATIVE)}
              AND toStartOfMinute(timestamp) IN
              (
                {_pivot_candidate_minutes_sql()}
              )
        )
        GROUP BY om_ts
    ) AS o ON c.c_quote = o.o_key AND c.c_ts >= o.o_ts
)"""


def _parts_refresh_view_ddl() -> str:
    cols = ", ".join(OUTPUT_COLUMNS)
    # No DEPENDS ON from 15m to this view: the 15m step is change-driven with a 2 h look-back, so
    # a 1m row written after its refresh is rolled by the next one (at most one period later).
    return f"""-- APPEND: without it every refresh would replace the whole 1m table (platform notes 3).
CREATE MATERIALIZED VIEW IF NOT EXISTS {PARTS_REFRESH_VIEW}
REFRESH {REFRESH}
APPEND TO {DATABASE}.price_ohlcv_1m ({cols})
AS SELECT {cols}
FROM {PARTS_SELECT_VIEW}(
    changed_since = now64(3, 'UTC') - {LOOKBACK},
    from_ts = {_OPEN_RANGE_FROM},
    to_ts = {_OPEN_RANGE_TO}
)"""


def render_parts_step_sql() -> str:
    return f"""{_HEADER}-- The derived 1m tier: prices.candle_parts_1m (per-ledger partial candles) -> price_ohlcv_1m,
-- with the USD pivot (docs/candles.md). Per bucket: open = argMin(open, open_order),
-- close = argMax(close, close_order), high = max, low = min, volumes and trade_count summed,
-- vwap = volume_quote / volume_base, version = max(close_order).
{_parts_select_view_ddl()};

{_parts_refresh_view_ddl()};
"""


def parts_step_statement(from_ts: datetime, to_ts: datetime) -> tuple[str, dict[str, str]]:
    """INSERT ... SELECT of the parts -> 1m step over ``[from_ts, to_ts)``, with bound parameters."""
    if to_ts <= from_ts:
        raise ValueError(f"empty rollup range: {from_ts} >= {to_ts}")
    cols = ", ".join(OUTPUT_COLUMNS)
    sql = (
        f"INSERT INTO {DATABASE}.price_ohlcv_1m ({cols}) SELECT {cols} FROM {PARTS_SELECT_VIEW}("
        "changed_since = {changed_since:DateTime64(3, 'UTC')}, "
        "from_ts = {from_ts:DateTime('UTC')}, to_ts = {to_ts:DateTime('UTC')})"
    )
    params = {
        "changed_since": EPOCH.strftime("%Y-%m-%d %H:%M:%S.000"),
        "from_ts": _fmt_ts(from_ts),
        "to_ts": _fmt_ts(to_ts),
    }
    return sql, params


def rollup_range_from_parts(
    execute_with_params: Callable[[str, Mapping[str, str]], object], start: datetime, end: datetime
) -> list[str]:
    """Rebuild ``[start, end)`` from the parts: parts -> 1m, then the whole chain. Returns the targets."""
    sql, params = parts_step_statement(start, end)
    execute_with_params(sql, params)
    return [f"{DATABASE}.price_ohlcv_1m", *rollup_range(execute_with_params, start, end)]


# L2 current prices (schema/013_current_prices_l2.sql, docs/pricing.md): reads the tiers, so it goes last.
CURRENT_PRICES_REFRESH_VIEW = f"{DATABASE}.mv_current_prices"


def all_refresh_views_in_order() -> Sequence[str]:
    """Every refreshable view, parts -> 1m first, current prices last (the order to trigger them by hand)."""
    return (PARTS_REFRESH_VIEW, *refresh_views_in_order(), CURRENT_PRICES_REFRESH_VIEW)


GENERATED_FILES: Mapping[str, Callable[[], str]] = {
    ROLLUP_VIEWS_FILE: render_select_views_sql,
    ROLLUP_REFRESH_FILE: render_refresh_views_sql,
    PARTS_STEP_FILE: render_parts_step_sql,
}


def _fmt_ts(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("rollup range bounds must be timezone-aware (UTC)")
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def rollup_statements(from_ts: datetime, to_ts: datetime) -> list[tuple[str, dict[str, str]]]:
    """INSERT ... SELECT per step, in chain order, with bound parameters.

    Each step re-rolls every target bucket that overlaps ``[from_ts, to_ts)``; buckets are
    read whole from the source tier, so partial coverage of a coarse bucket is fine as long
    as the finer tier is itself correct.
    """
    if to_ts <= from_ts:
        raise ValueError(f"empty rollup range: {from_ts} >= {to_ts}")
    cols = ", ".join(OUTPUT_COLUMNS)
    out: list[tuple[str, dict[str, str]]] = []
    for step in STEPS:
        # The views filter on the SOURCE row's timestamp, i.e. its bucket start: a source bucket that
        # starts before from_ts but overlaps the range (a 15m bar at 12:30 for a range from 12:31) must
        # still count, so the lower bound is floored to the source tier's bucket.
        params = {
            "changed_since": EPOCH.strftime("%Y-%m-%d %H:%M:%S.000"),
            "from_ts": _fmt_ts(floor_to_tier(from_ts, step.source)),
            "to_ts": _fmt_ts(to_ts),
        }
        sql = (
            f"INSERT INTO {step.target_table} ({cols}) SELECT {cols} FROM {step.select_view}("
            "changed_since = {changed_since:DateTime64(3, 'UTC')}, "
            "from_ts = {from_ts:DateTime('UTC')}, to_ts = {to_ts:DateTime('UTC')})"
        )
        out.append((sql, params))
    return out


def floor_to_tier(value: datetime, tier: str) -> datetime:
    """Start of the ``tier`` bucket holding ``value`` (tiers that are rollup sources: 1m .. 1d)."""
    v = value.astimezone(UTC).replace(second=0, microsecond=0)
    if tier == "1m":
        return v
    if tier == "15m":
        return v.replace(minute=v.minute - v.minute % 15)
    if tier == "1h":
        return v.replace(minute=0)
    if tier == "4h":
        return v.replace(minute=0, hour=v.hour - v.hour % 4)
    if tier == "1d":
        return v.replace(minute=0, hour=0)
    raise ValueError(f"tier {tier!r} is not a rollup source")


def rollup_range(
    execute_with_params: Callable[[str, Mapping[str, str]], object], start: datetime, end: datetime
) -> list[str]:
    """Re-roll ``[start, end)`` through the whole chain, in order; returns the targets touched."""
    done: list[str] = []
    for (sql, params), step in zip(rollup_statements(start, end), STEPS, strict=True):
        execute_with_params(sql, params)
        done.append(step.target_table)
    return done


def refresh_views_in_order() -> Sequence[str]:
    return tuple(s.refresh_view for s in STEPS)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--write", action="store_true", help="rewrite the generated migration files")
    args = parser.parse_args(argv)
    here = Path(__file__).resolve().parent
    for name, render in GENERATED_FILES.items():
        if args.write:
            (here / name).write_text(render(), encoding="utf-8")
        else:
            print(f"-- {name}\n{render()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
