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
        sum(s_volume_quote_usd) AS r_volume_quote_usd,
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


GENERATED_FILES: Mapping[str, Callable[[], str]] = {
    ROLLUP_VIEWS_FILE: render_select_views_sql,
    ROLLUP_REFRESH_FILE: render_refresh_views_sql,
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
    params = {
        "changed_since": EPOCH.strftime("%Y-%m-%d %H:%M:%S.000"),
        "from_ts": _fmt_ts(from_ts),
        "to_ts": _fmt_ts(to_ts),
    }
    cols = ", ".join(OUTPUT_COLUMNS)
    out: list[tuple[str, dict[str, str]]] = []
    for step in STEPS:
        sql = (
            f"INSERT INTO {step.target_table} ({cols}) SELECT {cols} FROM {step.select_view}("
            "changed_since = {changed_since:DateTime64(3, 'UTC')}, "
            "from_ts = {from_ts:DateTime('UTC')}, to_ts = {to_ts:DateTime('UTC')})"
        )
        out.append((sql, dict(params)))
    return out


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
