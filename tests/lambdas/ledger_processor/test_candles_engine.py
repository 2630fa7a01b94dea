"""Candles on the real engine (chDB behind the stand-in): idempotent, order-independent, consistent tiers.

Every run starts from a freshly migrated `prices` database, writes the mainnet fixtures through
`prepare_ledger` + `write_ledger` as prices_writer, triggers the refresh chain (parts → 1m → … → 1M) as
admin, and snapshots every tier's FINAL content (all columns but inserted_at).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import clickhouse_connect
import pytest

from lambdas.ledger_processor.candles import build_parts, order_of, trade_order
from lambdas.ledger_processor.ledger_ingest import PreparedLedger, prepare_ledger
from lambdas.ledger_processor.network_check import NetworkCheck
from lambdas.ledger_processor.trades import LedgerTrades, Trade
from lambdas.ledger_processor.values import PUBNET_PASSPHRASE
from lambdas.ledger_processor.writer import write_ledger
from schema.migrations import apply_migrations
from schema.rollups import (
    PIVOT_STALENESS_MINUTES,
    TIERS,
    USDC_CLASSIC,
    all_refresh_views_in_order,
    rollup_range_from_parts,
)
from tests.chfront_fixture import PASSWORDS, Front, running_front
from tests.lambdas.ledger_processor.helpers import FIXTURES, MAINNET

pytestmark = [pytest.mark.engine, pytest.mark.slow]

KEY_COLS = "asset_id, quote_asset_id, source, timestamp"


# ---- helpers shared with the handler tests (imported there; no test_ prefix) ----------------------


def admin_client(front: Any) -> Any:
    return clickhouse_connect.get_client(
        host=front.host, port=front.port, username="default", autogenerate_session_id=False
    )


def writer_client(front: Any) -> Any:
    return clickhouse_connect.get_client(
        host=front.host,
        port=front.port,
        username="prices_writer",
        password=PASSWORDS["prices_writer"],
        autogenerate_session_id=False,
    )


def fresh_prices(admin: Any) -> None:
    admin.command("DROP DATABASE IF EXISTS prices SYNC")
    apply_migrations(admin.command)


def refresh_chain(admin: Any) -> None:
    for view in all_refresh_views_in_order():
        admin.command(f"SYSTEM REFRESH VIEW {view}")
        admin.command(f"SYSTEM WAIT VIEW {view}")
    failures = admin.query(
        "SELECT view, exception FROM system.view_refreshes WHERE database = 'prices' AND exception != ''"
    ).result_rows
    assert failures == []


def snapshot(admin: Any) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    for tier in TIERS:
        out[tier] = admin.query(
            f"SELECT * EXCEPT inserted_at FROM prices.price_ohlcv_{tier} FINAL ORDER BY {KEY_COLS}"
        ).result_rows
    out["parts"] = admin.query(
        f"SELECT * EXCEPT inserted_at FROM prices.candle_parts_1m FINAL ORDER BY {KEY_COLS}, ledger"
    ).result_rows
    out["ingested"] = admin.query(
        "SELECT * EXCEPT inserted_at FROM prices.ingested_ledgers FINAL ORDER BY ledger"
    ).result_rows
    return out


def fixture_paths() -> list[Path]:
    return [FIXTURES / rel for rel in MAINNET.values()]


def prepare(path: Path) -> PreparedLedger:
    return prepare_ledger(path.read_bytes(), path.name, PUBNET_PASSPHRASE, None)


# ---- fixtures ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def front(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Front]:
    with running_front(Path(tmp_path_factory.mktemp("chfront-candles"))) as f:
        yield f


@pytest.fixture(scope="module")
def admin(front: Front) -> Any:
    return admin_client(front)


@pytest.fixture(scope="module")
def writer(front: Front) -> Any:
    return writer_client(front)


@pytest.fixture(scope="module")
def clean_run(admin: Any, writer: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Reference: every fixture once, in file order, one writer."""
    fresh_prices(admin)
    for path in fixture_paths():
        write_ledger(writer, prepare(path))
    refresh_chain(admin)
    return snapshot(admin)


# ---- tests -------------------------------------------------------------------------------------------


def test_trade_order_key_packs_and_rejects_values_outside_the_bit_budget() -> None:
    assert trade_order(1, 0, 0, 0) == 1 << 32
    assert trade_order(0xFFFFFFFF, 4095, 127, 8191) == 2**64 - 1
    assert trade_order(7, 1, 2, 3) < trade_order(7, 1, 3, 0) < trade_order(7, 2, 0, 0) < trade_order(8, 0, 0, 0)
    for bad in ((2**32, 0, 0, 0), (1, 4096, 0, 0), (1, 0, 128, 0), (1, 0, 0, 8192), (1, -1, 0, 0)):
        with pytest.raises(ValueError, match="bits"):
            trade_order(*bad)


def test_parts_are_a_pure_function_of_the_ledger_and_count_every_trade() -> None:
    for path in fixture_paths():
        first, again = prepare(path), prepare(path)
        assert first.parts == again.parts and first.parts.content_hash == again.parts.content_hash
        assert first.parts.trades_skipped == 0
        assert sum(p.trade_count for p in first.parts.parts) == first.trade_count
        for p in first.parts.parts:
            assert p.low <= min(p.open, p.close) and max(p.open, p.close) <= p.high
            assert p.open_order <= p.close_order and p.open_order >> 32 == first.ledger


def test_replaying_in_shuffled_orders_and_concurrently_gives_identical_candles_at_every_tier(
    admin: Any, writer: Any, front: Front, clean_run: dict[str, list[tuple[Any, ...]]]
) -> None:
    paths = fixture_paths()
    assert all(clean_run[t] for t in TIERS), "every tier must hold candles"
    rng = random.Random(20260916)
    for run in range(3):
        fresh_prices(admin)
        order = paths * (run + 1)  # run 0 once, run 1 twice, run 2 three times each
        rng.shuffle(order)
        for path in order:
            write_ledger(writer, prepare(path))
        refresh_chain(admin)
        if run == 1:
            refresh_chain(admin)  # a second refresh must not change anything either
        assert snapshot(admin) == clean_run, f"run {run} ({[p.name for p in order]}) differs"

    # Four concurrent writers (one client each, like four Lambda containers), every ledger twice,
    # with the refresh chain running in between.
    fresh_prices(admin)
    order = paths * 2
    rng.shuffle(order)
    clients = [writer_client(front) for _ in range(4)]

    def work(i: int) -> None:
        write_ledger(clients[i % 4], prepare(order[i]))
        if i == len(order) // 2:
            refresh_chain(admin_client(front))

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(work, range(len(order))))
    refresh_chain(admin)
    assert snapshot(admin) == clean_run


def test_candle_invariants_and_tiers_sum_exactly_to_the_1m_tier(
    admin: Any, clean_run: dict[str, list[tuple[Any, ...]]]
) -> None:
    fresh_prices(admin)  # a reference snapshot may have been replaced by another test: rebuild it
    expected_trades = 0
    for path in fixture_paths():
        prepared = prepare(path)
        expected_trades += prepared.trade_count
        write_ledger(admin, prepared)
    refresh_chain(admin)
    assert snapshot(admin) == clean_run
    tol = 1e-9
    for tier in TIERS:
        rows = admin.query(
            f"SELECT open, high, low, close, vwap, volume_base FROM prices.price_ohlcv_{tier} FINAL"
        ).result_rows
        assert rows
        for o, h, lo, c, vwap, vb in rows:
            assert lo <= o <= h and lo <= c <= h, (tier, o, h, lo, c)
            assert vb > 0
            assert lo * (1 - tol) <= vwap <= h * (1 + tol), (tier, lo, vwap, h)

    def sums(tier: str) -> dict[tuple[str, str, str], tuple[Decimal, Decimal, int]]:
        return {
            (a, q, s): (vb, vq, n)
            for a, q, s, vb, vq, n in admin.query(
                f"SELECT asset_id, quote_asset_id, source, sum(volume_base), sum(volume_quote), sum(trade_count) "
                f"FROM prices.price_ohlcv_{tier} FINAL GROUP BY asset_id, quote_asset_id, source"
            ).result_rows
        }

    base = sums("1m")
    assert sum(n for _, _, n in base.values()) == expected_trades == 481
    for tier in TIERS[1:]:
        assert sums(tier) == base, tier
    # The USD pivot priced something: USDC-quoted candles exactly, XLM-quoted through XLM/USDC.
    usd = admin.query(
        "SELECT quote_asset_id, countIf(close_usd > 0), count() FROM prices.price_ohlcv_1m FINAL "
        "WHERE quote_asset_id IN ('native', {usdc:String}) GROUP BY quote_asset_id ORDER BY quote_asset_id",
        parameters={"usdc": USDC_CLASSIC},
    ).result_rows
    by_quote = {q: (priced, total) for q, priced, total in usd}
    assert by_quote[USDC_CLASSIC][0] == by_quote[USDC_CLASSIC][1] > 0
    assert by_quote["native"][0] > 0


def test_rollup_range_from_parts_builds_the_same_candles_as_the_refresh_views(
    admin: Any, writer: Any, clean_run: dict[str, list[tuple[Any, ...]]]
) -> None:
    fresh_prices(admin)
    for view in all_refresh_views_in_order():
        admin.command(f"SYSTEM STOP VIEW {view}")
    minutes: list[datetime] = []
    for path in fixture_paths():
        prepared = prepare(path)
        write_ledger(writer, prepared)
        minutes += prepared.parts.minutes
    rollup_range_from_parts(
        lambda sql, p: admin.command(sql, parameters=dict(p)),
        min(minutes),
        max(minutes) + timedelta(minutes=PIVOT_STALENESS_MINUTES + 1),
    )
    assert snapshot(admin) == clean_run


# ---- USD pivot: synthetic ledgers ----------------------------------------------------------------------

ASSET = "AAA:GBRPYHIL2CI3FNQ4BXLFMNDLFJUNPU2HY3ZMFSHONUCEOASW7QC7OX2H"
MINUTE = datetime(2025, 3, 4, 12, 30, tzinfo=UTC)


def synthetic(ledger: int, when: datetime, fills: Sequence[tuple[str, str, str, str]]) -> PreparedLedger:
    """A prepared ledger from (base, quote, base_amount, quote_amount) fills, one tx each."""
    close_time = int(when.timestamp())
    trades = [
        Trade(
            ledger=ledger,
            close_time=close_time,
            tx_hash=f"{ledger:08x}{i:056x}",
            tx_index=i,
            op_index=0,
            fill_index=0,
            source="sdex",
            kind="orderbook",
            base_asset=b,
            quote_asset=q,
            base_amount=Decimal(ba),
            quote_amount=Decimal(qa),
            price=Decimal(qa) / Decimal(ba),
            side="buy",
            venue_id=str(i),
        )
        for i, (b, q, ba, qa) in enumerate(fills)
    ]
    lt = LedgerTrades(ledger, close_time, trades, [], 0)
    return PreparedLedger(
        ledger,
        close_time,
        f"synthetic-{ledger}",
        f"{ledger:064x}",
        lt,
        build_parts(ledger, trades),
        NetworkCheck(False),
    )


def usd_of(admin: Any, asset: str) -> list[tuple[Any, ...]]:
    return admin.query(
        "SELECT timestamp, close, close_usd, volume_quote_usd FROM prices.price_ohlcv_1m FINAL "
        "WHERE asset_id = {a:String} ORDER BY timestamp",
        parameters={"a": asset},
    ).result_rows


def test_usd_pivot_is_order_independent_including_a_late_xlm_usdc_ledger(admin: Any, writer: Any) -> None:
    asset_ledger = synthetic(1000, MINUTE, [(ASSET, "native", "10", "20"), (ASSET, "native", "5", "15")])
    later_asset = synthetic(1001, MINUTE + timedelta(minutes=3), [(ASSET, "native", "1", "4")])
    pivot = synthetic(
        990,
        MINUTE - timedelta(minutes=5),
        [("native", USDC_CLASSIC, "100", "12"), ("native", USDC_CLASSIC, "100", "11")],
    )
    stale = synthetic(
        900, MINUTE - timedelta(minutes=PIVOT_STALENESS_MINUTES + 1), [("native", USDC_CLASSIC, "1", "9")]
    )

    results = []
    for order in ([pivot, asset_ledger, later_asset], [asset_ledger, later_asset, pivot], [later_asset, asset_ledger]):
        fresh_prices(admin)
        for prepared in order:
            write_ledger(writer, prepared)
            refresh_chain(admin)  # the pivot may arrive after the candles it prices were rolled
        if pivot not in order:
            assert [r[2] for r in usd_of(admin, ASSET)] == [0.0, 0.0]  # unpriced, not "worth nothing"
            write_ledger(writer, pivot)
            refresh_chain(admin)
        results.append(snapshot(admin))
    assert results[0] == results[1] == results[2]
    rows = usd_of(admin, ASSET)
    # close = 15/5 = 3 XLM; XLM/USD = 0.11 (the last XLM/USDC trade of the pivot minute by trade order)
    assert rows[0][1] == 3.0 and rows[0][2] == pytest.approx(3.0 * 0.11)
    assert rows[0][3] == pytest.approx(35 * 0.11)
    assert rows[1][2] == pytest.approx(4.0 * 0.11)
    # A pivot older than the staleness bound is not used; the oracle fills in, also when it arrives late.
    fresh_prices(admin)
    write_ledger(writer, stale)
    write_ledger(writer, asset_ledger)
    refresh_chain(admin)
    assert usd_of(admin, ASSET)[0][2] == 0.0
    admin.insert(
        "prices.oracle_prices",
        [["native", "reflector", MINUTE - timedelta(minutes=2), 0.5, "{}"]],
        column_names=["asset_id", "oracle_name", "timestamp", "price_usd", "raw_data"],
    )
    refresh_chain(admin)
    assert usd_of(admin, ASSET)[0][2] == pytest.approx(3.0 * 0.5)


def test_parts_group_by_minute_asset_pair_and_source_in_trade_order() -> None:
    when = MINUTE
    fills = [(ASSET, "native", "1", "2"), (ASSET, "native", "1", "5"), (ASSET, "native", "2", "2")]
    prepared = synthetic(77, when, fills)
    (part,) = prepared.parts.parts
    assert (part.open, part.high, part.low, part.close) == (2.0, 5.0, 1.0, 1.0)
    assert part.volume_base == Decimal(4) and part.volume_quote == Decimal(9) and part.trade_count == 3
    assert part.open_order == order_of(prepared.trades.trades[0])
    assert part.close_order == order_of(prepared.trades.trades[-1])
    grouped: dict[tuple[datetime, str, str, str], int] = defaultdict(int)
    for p in prepare(fixture_paths()[1]).parts.parts:
        grouped[(p.timestamp, p.asset_id, p.quote_asset_id, p.source)] += 1
    assert set(grouped.values()) == {1}
