"""L2 current prices (schema/013) and the L3 read helpers (lambdas/api/pricing.py) on the real engine.

Hand-made 1m candles with answers worked out by hand, the snapshot computed with a pinned ``as_of``
through the same view the refreshable view uses, read back as prices_reader; then the mainnet fixtures
through the refreshable view itself, checked against an independent Python model.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from lambdas.api import pricing
from lambdas.api.pricing import AssetPrice, Candle, PricingInputError, SourcePrice
from lambdas.ledger_processor.writer import write_ledger
from schema.migrations import SCHEMA_DIR
from schema.rollups import (
    CURRENT_PRICES_REFRESH_VIEW,
    OUTPUT_COLUMNS,
    TIERS,
    USD_QUOTES,
    USDC_CLASSIC,
    all_refresh_views_in_order,
    rollup_range,
)
from tests.chfront_fixture import Front, running_front
from tests.lambdas.api import pricing_reference as ref
from tests.lambdas.api.conftest import reader_client
from tests.lambdas.ledger_processor.test_candles_engine import (
    admin_client,
    fixture_paths,
    fresh_prices,
    prepare,
    refresh_chain,
    writer_client,
)

pytestmark = [pytest.mark.engine]

ISSUER = "GBRPYHIL2CI3FNQ4BXLFMNDLFJUNPU2HY3ZMFSHONUCEOASW7QC7OX2H"
T = datetime(2025, 3, 4, 12, 30, tzinfo=UTC)  # the pinned as_of of the hand-made tests


def asset(code: str) -> str:
    return f"{code}:{ISSUER}"


@dataclass
class Env:
    admin: Any
    writer: Any
    reader: Any


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with running_front(Path(tmp_path_factory.mktemp("chfront-pricing"))) as front:
        yield _env(front)


def _env(front: Front) -> Env:
    admin = admin_client(front)
    fresh_prices(admin)
    return Env(admin, writer_client(front), reader_client(front))


@pytest.fixture
def db(env: Env) -> Env:
    """Empty candle tables and no scheduled refresh: only what a test inserts and triggers exists."""
    for view in all_refresh_views_in_order():
        env.admin.command(f"SYSTEM STOP VIEW {view}")
    for tier in TIERS:
        env.admin.command(f"TRUNCATE TABLE prices.price_ohlcv_{tier}")
    for table in ("candle_parts_1m", "ingested_ledgers", "current_prices"):
        env.admin.command(f"TRUNCATE TABLE prices.{table}")
    return env


class Bars:
    """Hand-made 1m candles; versions follow time so "latest" is unambiguous."""

    def __init__(self) -> None:
        self.rows: list[list[Any]] = []
        self.model: list[ref.Row] = []

    def usd(
        self, code_or_id: str, source: str, when: datetime, price: float, usd_volume: float, *, trades: int = 1
    ) -> None:
        """A USDC-quoted candle at one price: close_usd = price, volume_quote_usd = usd_volume."""
        self.add(
            code_or_id,
            USDC_CLASSIC,
            source,
            when,
            ohlc=(price,) * 4,
            volume_base=usd_volume / price,
            volume_quote=usd_volume,
            close_usd=price,
            trades=trades,
        )

    def add(
        self,
        code_or_id: str,
        quote: str,
        source: str,
        when: datetime,
        *,
        ohlc: tuple[float, float, float, float],
        volume_base: float,
        volume_quote: float,
        close_usd: float,
        trades: int = 1,
    ) -> None:
        """Any candle; its USD volume uses the close's USD factor, like the 1m step's pivot."""
        a = code_or_id if ":" in code_or_id or code_or_id == "native" else asset(code_or_id)
        volume_usd = volume_quote * close_usd / ohlc[3] if close_usd > 0 else 0.0
        version = int(when.timestamp()) * 1000 + len(self.rows)
        vb, vq = Decimal(repr(volume_base)), Decimal(repr(volume_quote))
        vwap = volume_quote / volume_base
        self.rows.append([a, quote, source, when, *ohlc, vb, vq, volume_usd, close_usd, vwap, trades, version])
        self.model.append(ref.Row(a, quote, source, when, version, close_usd, float(vb), volume_usd))

    def insert(self, client: Any) -> None:
        client.insert("prices.price_ohlcv_1m", self.rows, column_names=list(OUTPUT_COLUMNS))


def minutes_before(n: float) -> datetime:
    return T - timedelta(minutes=n)


def snapshot_at(env: Env, as_of: datetime) -> None:
    sql, params = pricing.l2_snapshot_statement(as_of)
    env.writer.command(sql, parameters=params)


def stored(env: Env, asset_id: str) -> dict[str, Any]:
    rows = list(
        env.reader.query(
            "SELECT * FROM prices.current_prices FINAL WHERE asset_id = {a:String}", parameters={"a": asset_id}
        ).named_results()
    )
    assert len(rows) == 1, (asset_id, rows)
    return rows[0]


def excluded_reasons(env: Env, asset_id: str) -> dict[str, str]:
    return {k: v["reason"] for k, v in json.loads(stored(env, asset_id)["excluded_sources"]).items()}


def vols(price: AssetPrice) -> list[tuple[str, float]]:
    return [(s.source, s.volume_24h_usd) for s in price.sources]


def agree_with_model(env: Env, bars: Bars, anchor: datetime) -> None:
    """Every stored row equals the independent Python model, and no asset is missing or extra."""
    expected = ref.snapshot(bars.model, anchor)
    got = {a: p for a, p in pricing.current_prices(env.reader, sorted(expected)).items()}
    assert set(got) == set(expected)
    count = env.reader.query("SELECT count() FROM prices.current_prices FINAL").result_rows[0][0]
    assert count == len(expected)
    for a, exp in expected.items():
        p = got[a]
        assert p.price_usd == pytest.approx(exp.price_usd, rel=1e-12), a
        assert p.vwap_24h == pytest.approx(exp.vwap_24h, rel=1e-9), a
        assert p.volume_24h_usd == pytest.approx(exp.volume_24h_usd, rel=1e-9), a
        assert p.method == exp.method, a
        assert {s.source for s in p.sources} == set(exp.sources), a
        for s in p.sources:
            e = exp.sources[s.source]
            assert (s.price_usd, s.last_trade_at) == (pytest.approx(e.price, rel=1e-12), e.last), (a, s)
            assert s.volume_24h_usd == pytest.approx(e.volume, rel=1e-9), (a, s)
        assert excluded_reasons(env, a) == exp.excluded, a
        assert stored(env, a)["price_at"].replace(tzinfo=UTC) == exp.price_at, a


# ---- L2: formula, window, roles ----------------------------------------------------------------------


def test_vwap_formula_latest_price_volume_roles_usd_peg_and_window(db: Env) -> None:
    b = Bars()
    b.usd("AAA", "sdex", minutes_before(60), 1.0, 100.0)
    b.usd("AAA", "sdex", minutes_before(30), 1.2, 60.0)
    b.usd("AAA", "soroswap", minutes_before(20), 1.1, 220.0)
    b.usd("AAA", "sdex", T - timedelta(hours=24, minutes=1), 5.0, 1000.0)  # outside the window
    b.usd("native", "sdex", minutes_before(10), 0.25, 1000.0)
    # OOO priced in XLM: 8 XLM at 0.25 USD; XLM is the quote side here.
    b.add(
        "OOO", "native", "sdex", minutes_before(5), ohlc=(8.0,) * 4, volume_base=10.0, volume_quote=80.0, close_usd=2.0
    )
    # BBB: one trade exactly 24 h before (in the window, but stale) and one just before it (out).
    b.usd("BBB", "sdex", T - timedelta(hours=24), 2.0, 10.0)
    b.usd("BBB", "sdex", T - timedelta(hours=24, minutes=1), 3.0, 1000.0)
    b.insert(db.admin)
    snapshot_at(db, T)

    p = pricing.current_price(db.reader, asset("AAA"))
    assert p is not None
    sdex_vwap = 160.0 / (100.0 / 1.0 + 60.0 / 1.2)  # Σ USD / Σ base of that source
    assert p.vwap_24h == pytest.approx((sdex_vwap * 160.0 + 1.1 * 220.0) / 380.0, rel=1e-12)
    assert p.price_usd == 1.1  # soroswap traded last
    assert p.price_xlm == pytest.approx(1.1 / 0.25, rel=1e-12)
    assert p.volume_24h_usd == pytest.approx(380.0)
    assert p.method == "vwap_24h"
    # The latest close that ended by T - 24 h is the 5.0 candle just outside the window; none by T - 7 d.
    assert (p.change_24h_pct, p.change_7d_pct) == (pytest.approx((1.1 / 5.0 - 1) * 100, rel=1e-12), None)
    assert vols(p) == [("soroswap", pytest.approx(220.0)), ("sdex", pytest.approx(160.0))]
    assert p.sources[0] == SourcePrice("soroswap", 1.1, pytest.approx(220.0), minutes_before(20))  # type: ignore[arg-type]
    assert p.updated_at.tzinfo is UTC and p.updated_at > T
    assert stored(db, asset("AAA"))["as_of"].replace(tzinfo=UTC) == T

    xlm = pricing.current_price(db.reader, "native")
    assert xlm is not None
    # Price-forming volume (XLM as base) per source; the asset's volume adds the XLM-quoted trade.
    assert (xlm.price_usd, xlm.price_xlm, vols(xlm)) == (0.25, 1.0, [("sdex", pytest.approx(1000.0))])
    assert xlm.volume_24h_usd == pytest.approx(1000.0 + 20.0)
    ooo = pricing.current_price(db.reader, asset("OOO"))
    assert ooo is not None and (ooo.price_usd, ooo.price_xlm) == (2.0, pytest.approx(8.0))

    usdc = pricing.current_price(db.reader, USDC_CLASSIC)
    assert usdc is not None
    assert (usdc.method, usdc.price_usd, usdc.vwap_24h, usdc.price_xlm) == ("usd_peg", 1.0, 1.0, 4.0)
    assert usdc.volume_24h_usd == pytest.approx(100.0 + 60.0 + 220.0 + 1000.0 + 10.0)  # BBB's 10 is in too
    assert vols(usdc) == [("sdex", pytest.approx(1170.0)), ("soroswap", pytest.approx(220.0))]

    bbb = pricing.current_price(db.reader, asset("BBB"))
    assert bbb is not None
    assert (bbb.method, bbb.price_usd, bbb.vwap_24h, bbb.sources) == ("no_fresh_source", 2.0, 0.0, ())
    assert bbb.volume_24h_usd == pytest.approx(10.0)
    assert excluded_reasons(db, asset("BBB")) == {"sdex": "stale"}

    assert pricing.current_price(db.reader, asset("ZZZ")) is None
    agree_with_model(db, b, T)


# ---- L2 filters at their boundaries ----------------------------------------------------------------------


def test_stale_cut_at_exactly_two_hours_and_stale_volume_never_triggers_the_minimum(db: Env) -> None:
    b = Bars()
    b.usd("CCC", "sdex", minutes_before(120), 1.0, 50.0)  # exactly 2 h: fresh
    b.usd("CCC", "soroswap", minutes_before(121), 1.5, 500.0)  # older than 2 h: stale
    b.usd("CCC", "aquarius", minutes_before(5), 1.02, 30.0)
    b.insert(db.admin)
    snapshot_at(db, T)
    p = pricing.current_price(db.reader, asset("CCC"))
    assert p is not None
    assert {s.source for s in p.sources} == {"sdex", "aquarius"}
    # soroswap's 500 USD would trigger the 100 USD rule if stale sources counted; both small ones stay.
    assert p.vwap_24h == pytest.approx((1.0 * 50.0 + 1.02 * 30.0) / 80.0, rel=1e-12)
    assert p.price_usd == 1.02
    assert p.volume_24h_usd == pytest.approx(580.0)
    assert excluded_reasons(db, asset("CCC")) == {"soroswap": "stale"}
    agree_with_model(db, b, T)


def test_minimum_volume_is_conditional_and_never_filters_price_or_volume(db: Env) -> None:
    b = Bars()
    b.usd("DDD", "sdex", minutes_before(30), 2.0, 100.0)  # exactly 100: qualifies
    b.usd("DDD", "soroswap", minutes_before(10), 2.2, 99.99)  # below, and latest
    b.usd("EEE", "sdex", minutes_before(30), 3.0, 99.0)  # nobody reaches 100: both stay
    b.usd("EEE", "soroswap", minutes_before(10), 3.3, 50.0)
    b.insert(db.admin)
    snapshot_at(db, T)
    ddd = pricing.current_price(db.reader, asset("DDD"))
    eee = pricing.current_price(db.reader, asset("EEE"))
    assert ddd is not None and eee is not None
    assert (ddd.vwap_24h, vols(ddd)) == (pytest.approx(2.0, rel=1e-12), [("sdex", pytest.approx(100.0))])
    assert ddd.price_usd == 2.2 and ddd.volume_24h_usd == pytest.approx(199.99)
    assert excluded_reasons(db, asset("DDD")) == {"soroswap": "min_volume"}
    assert eee.vwap_24h == pytest.approx((3.0 * 99.0 + 3.3 * 50.0) / 149.0, rel=1e-12)
    assert {s.source for s in eee.sources} == {"sdex", "soroswap"}
    assert excluded_reasons(db, asset("EEE")) == {}
    agree_with_model(db, b, T)


def test_outlier_filter_needs_three_sources_and_cuts_only_beyond_twenty_percent(db: Env) -> None:
    b = Bars()

    def sources(code: str, prices: list[float], volume: float = 1000.0) -> None:
        for i, price in enumerate(prices):
            b.usd(code, f"venue{i}", minutes_before(30 - i), price, volume)

    sources("FFF", [100.0, 300.0])  # two sources, each 50 % off their median: no majority, both stay
    sources("GGG", [100.0, 102.0, 130.0])  # median 102: 130 is 27 % off (and traded last)
    sources("HHH", [100.0, 100.0, 120.0])  # exactly 20 %: stays
    sources("III", [100.0, 100.0, 120.5])  # 20.5 %: cut
    sources("JJJ", [1.0, 1.0, 10.0, 10.0])  # median 5.5, every source > 20 % off: no consensus, none cut
    # KKK: the outlier is the only source above 100 USD; once it is cut, the 100 USD rule must not blank
    # the two small ones (outlier first, then the minimum among what is left).
    b.usd("KKK", "venue0", minutes_before(30), 200.0, 5000.0)
    b.usd("KKK", "venue1", minutes_before(20), 100.0, 50.0)
    b.usd("KKK", "venue2", minutes_before(10), 101.0, 60.0)
    b.insert(db.admin)
    snapshot_at(db, T)
    got = pricing.current_prices(db.reader, [asset(c) for c in ("FFF", "GGG", "HHH", "III", "JJJ", "KKK")])

    def kept(code: str) -> set[str]:
        return {s.source for s in got[asset(code)].sources}

    assert kept("FFF") == {"venue0", "venue1"}
    assert got[asset("FFF")].vwap_24h == pytest.approx(200.0, rel=1e-12)
    assert kept("GGG") == {"venue0", "venue1"}
    assert got[asset("GGG")].vwap_24h == pytest.approx(101.0, rel=1e-12)
    assert got[asset("GGG")].price_usd == 102.0  # the outlier traded last but does not set the price
    assert excluded_reasons(db, asset("GGG")) == {"venue2": "outlier"}
    assert kept("HHH") == {"venue0", "venue1", "venue2"}
    assert kept("III") == {"venue0", "venue1"}
    assert kept("JJJ") == {"venue0", "venue1", "venue2", "venue3"}
    assert kept("KKK") == {"venue1", "venue2"}
    assert got[asset("KKK")].vwap_24h == pytest.approx((100.0 * 50.0 + 101.0 * 60.0) / 110.0, rel=1e-12)
    assert got[asset("KKK")].volume_24h_usd == pytest.approx(5110.0)
    agree_with_model(db, b, T)


# ---- L3: strict min_volume_usd ---------------------------------------------------------------------------


def test_min_volume_usd_read_is_strict_and_recomputes_only_from_stored_sources(db: Env) -> None:
    b = Bars()
    b.usd("DDD", "sdex", minutes_before(30), 2.0, 100.0)
    b.usd("DDD", "soroswap", minutes_before(10), 2.2, 99.99)
    b.usd("GGG", "venue0", minutes_before(30), 100.0, 1000.0)
    b.usd("GGG", "venue1", minutes_before(29), 102.0, 1000.0)
    b.usd("GGG", "venue2", minutes_before(28), 130.0, 1000.0)
    b.usd("CCC", "sdex", minutes_before(5), 1.0, 50.0)
    b.usd("CCC", "soroswap", minutes_before(121), 1.5, 500.0)
    b.insert(db.admin)
    snapshot_at(db, T)
    read = pricing.current_price

    def both(code: str, minimum: float) -> AssetPrice:
        p = read(db.reader, asset(code), min_volume_usd=minimum)
        assert p is not None
        return p

    # Below both: the source the conditional rule dropped comes back.
    p = both("DDD", 50)
    assert vols(p) == [("sdex", pytest.approx(100.0)), ("soroswap", pytest.approx(99.99))]
    assert p.vwap_24h == pytest.approx((2.0 * 100.0 + 2.2 * 99.99) / 199.99, rel=1e-12)
    assert p.method == "vwap_24h"
    p = both("DDD", 100)  # at the minimum: in
    assert (vols(p), p.vwap_24h) == ([("sdex", pytest.approx(100.0))], pytest.approx(2.0, rel=1e-12))
    p = both("DDD", 100.01)  # above every source: nothing forms the VWAP; price and volume untouched
    assert (p.sources, p.vwap_24h, p.method) == ((), 0.0, "below_min_volume")
    assert (p.price_usd, p.volume_24h_usd) == (2.2, pytest.approx(199.99))
    # Outliers and stale sources never come back, whatever the minimum.
    assert {s.source for s in both("GGG", 0).sources} == {"venue0", "venue1"}
    assert {s.source for s in both("CCC", 0).sources} == {"sdex"}
    # Without a minimum: exactly the stored snapshot.
    stored_ddd = stored(db, asset("DDD"))
    plain = read(db.reader, asset("DDD"))
    assert plain is not None and plain.vwap_24h == stored_ddd["vwap_24h"]
    # USDC: sdex 150, soroswap 599.99, venue0-2 1000 each (every USDC-quoted candle above).
    usdc = read(db.reader, USDC_CLASSIC, min_volume_usd=1000)
    assert usdc is not None and (usdc.vwap_24h, usdc.method) == (1.0, "usd_peg")
    assert [s for s, _ in vols(usdc)] == ["venue0", "venue1", "venue2"]


# ---- L2: change columns from the 1m / 1h / 1d tiers -------------------------------------------------------


def test_change_pcts_use_the_latest_close_before_24h_and_7d_from_the_right_tier(db: Env) -> None:
    b = Bars()
    r24 = T - timedelta(hours=24)
    r7 = T - timedelta(days=7)
    b.usd("LLL", "sdex", r7 - timedelta(hours=3), 2.0, 10.0)  # 7 d ref: only reachable through 1h
    b.usd("LLL", "sdex", r24 - timedelta(minutes=80), 1.5, 10.0)  # in an hour that ended before r24
    b.usd("LLL", "sdex", r24 - timedelta(minutes=20), 1.6, 10.0)  # its hour ends after r24: 1m only
    b.usd("LLL", "sdex", r24 + timedelta(minutes=5), 9.9, 10.0)  # after the reference instant
    b.usd("LLL", "sdex", minutes_before(10), 2.4, 10.0)
    b.usd("MMM", "sdex", T - timedelta(days=17), 4.0, 10.0)  # only the 1d tier reaches it
    b.usd("MMM", "sdex", minutes_before(10), 5.0, 10.0)
    b.usd("NNN", "sdex", minutes_before(10), 7.0, 10.0)
    b.insert(db.admin)
    rollup_range(lambda sql, p: db.admin.command(sql, parameters=dict(p)), T - timedelta(days=40), T)
    snapshot_at(db, T)
    got = pricing.current_prices(db.reader, [asset("LLL"), asset("MMM"), asset("NNN")])
    lll, mmm, nnn = got[asset("LLL")], got[asset("MMM")], got[asset("NNN")]
    assert lll.price_usd == 2.4
    assert lll.change_24h_pct == pytest.approx(50.0, rel=1e-12)  # 2.4 / 1.6
    assert lll.change_7d_pct == pytest.approx(20.0, rel=1e-12)  # 2.4 / 2.0
    assert mmm.change_24h_pct == pytest.approx(25.0, rel=1e-12)
    assert mmm.change_7d_pct == pytest.approx(25.0, rel=1e-12)
    assert (nnn.change_24h_pct, nnn.change_7d_pct) == (None, None)
    assert stored(db, asset("NNN"))["change_24h_pct"] is None


# ---- L3: OHLCV across sources ----------------------------------------------------------------------------


def test_ohlcv_groups_sources_and_quotes_in_usd_and_xlm_without_reweighting(db: Env) -> None:
    b = Bars()
    m0, m1 = minutes_before(30), minutes_before(29)
    # JJ/USDC on sdex (USD) and JJ/XLM on soroswap (XLM at 0.25 USD), same minute; the XLM candle
    # closes last. A third candle in an unknown quote has no USD value and the latest trade.
    jj = b.add
    jj(
        "JJ",
        USDC_CLASSIC,
        "sdex",
        m0,
        ohlc=(1.0, 1.2, 0.9, 1.1),
        volume_base=10,
        volume_quote=10.5,
        close_usd=1.1,
        trades=2,
    )
    jj(
        "JJ",
        "native",
        "soroswap",
        m0,
        ohlc=(4.0, 5.0, 3.8, 4.4),
        volume_base=20,
        volume_quote=86,
        close_usd=1.1,
        trades=3,
    )
    jj("JJ", asset("UNK"), "sdex", m0, ohlc=(7.0,) * 4, volume_base=5, volume_quote=35, close_usd=0, trades=4)
    jj("JJ", asset("UNK"), "sdex", m1, ohlc=(7.0,) * 4, volume_base=1, volume_quote=7, close_usd=0)  # unpriced
    b.usd("native", "sdex", m0, 0.25, 100.0)
    b.insert(db.admin)
    rollup_range(lambda sql, p: db.admin.command(sql, parameters=dict(p)), T - timedelta(hours=2), T)

    usd = pricing.ohlcv(db.reader, asset("JJ"), granularity="1m", start=m0, end=T, base_currency="USD")
    assert [c.timestamp for c in usd] == [m0, m1]
    c = usd[0]
    assert (c.open, c.close) == (1.0, pytest.approx(1.1))  # first = sdex; last = soroswap (XLM × 0.25)
    assert (c.high, c.low) == (pytest.approx(1.25), 0.9)
    assert (c.volume_base, c.volume_quote_usd, c.trade_count) == (pytest.approx(35.0), pytest.approx(32.0), 9)
    assert c.vwap == pytest.approx((10.5 + 21.5) / 30.0, rel=1e-12)  # Σ USD / Σ base of priced candles
    assert usd[1] == Candle(m1, None, None, None, None, pytest.approx(1.0), 0.0, None, 1)  # type: ignore[arg-type]

    xlm = pricing.ohlcv(db.reader, asset("JJ"), granularity="1m", start=m0, end=T, base_currency="XLM")
    c = xlm[0]
    assert (c.open, c.high, c.low, c.close) == (pytest.approx(4.0), 5.0, pytest.approx(3.6), 4.4)
    assert c.vwap == pytest.approx((10.5 / 0.25 + 86.0) / 30.0, rel=1e-12)
    assert (c.volume_base, c.volume_quote_usd, c.trade_count) == (pytest.approx(35.0), pytest.approx(32.0), 9)

    # A coarser tier: one 1h bucket with the same aggregate; a start inside a bucket still returns it.
    hour = pricing.ohlcv(db.reader, asset("JJ"), granularity="1h", start=m1, end=T, base_currency="USD")
    assert [h.timestamp for h in hour] == [m0.replace(minute=0)]
    assert (hour[0].open, hour[0].close, hour[0].trade_count) == (1.0, pytest.approx(1.1), 10)
    assert hour[0].volume_base == pytest.approx(36.0)

    native = pricing.ohlcv(db.reader, "native", granularity="1m", start=m0, end=T, base_currency="XLM")
    assert [(n.open, n.close, n.vwap) for n in native] == [(1.0, 1.0, 1.0)]
    assert pricing.ohlcv(db.reader, asset("ZZZ"), granularity="1m", start=m0, end=T, base_currency="USD") == []


def test_ohlcv_in_xlm_converts_through_the_latest_xlm_close_at_most_the_lag_older(db: Env) -> None:
    b = Bars()
    b.usd("native", "sdex", minutes_before(185), 0.1, 100.0)
    b.usd("native", "sdex", minutes_before(50), 0.25, 100.0)
    b.usd("KK", "sdex", minutes_before(120), 1.0, 10.0)  # the latest XLM close is 65 minutes older
    b.usd("KK", "sdex", minutes_before(45), 1.0, 10.0)  # XLM closed 5 minutes earlier, before `start` below
    b.usd("KK", "sdex", minutes_before(20), 2.0, 10.0)  # the same XLM close, 30 minutes older
    b.insert(db.admin)

    def candles(start: datetime, currency: Any) -> list[tuple[datetime, float | None, float | None]]:
        got = pricing.ohlcv(db.reader, asset("KK"), granularity="1m", start=start, end=T, base_currency=currency)
        return [(c.timestamp, c.close, c.vwap) for c in got]

    assert candles(minutes_before(130), "XLM") == [
        (minutes_before(120), None, None),
        (minutes_before(45), pytest.approx(4.0), pytest.approx(4.0)),
        (minutes_before(20), pytest.approx(8.0), pytest.approx(10.0 / 0.25 / 5.0)),
    ]
    assert [c[1] for c in candles(minutes_before(130), "USD")] == [1.0, 1.0, 2.0]
    # XLM's close before the window still converts the window's first candle.
    assert candles(minutes_before(46), "XLM")[0] == (minutes_before(45), pytest.approx(4.0), pytest.approx(4.0))


def test_bad_input_is_rejected_with_the_name_of_the_argument(db: Env) -> None:
    def bad(match: str, **kw: Any) -> None:
        args: dict[str, Any] = {"granularity": "1m", "start": T - timedelta(hours=1), "end": T, "base_currency": "USD"}
        args.update(kw)
        with pytest.raises(PricingInputError, match=match):
            pricing.ohlcv(db.reader, args.pop("asset_id", "native"), **args)

    bad("granularity", granularity="2m")
    bad("granularity", granularity="price_ohlcv_1m; DROP TABLE x")
    bad("base_currency", base_currency="EUR")
    bad("start", start=datetime(2025, 1, 1))
    bad("end", end=T - timedelta(hours=2))
    bad("start/end", start=T - timedelta(days=30), granularity="1m")
    bad("asset_id", asset_id="XLM' OR 1=1")
    with pytest.raises(PricingInputError, match="min_volume_usd"):
        pricing.current_price(db.reader, "native", min_volume_usd=-1)
    with pytest.raises(PricingInputError, match="min_volume_usd"):
        pricing.current_price(db.reader, "native", min_volume_usd=math.nan)
    with pytest.raises(PricingInputError, match="asset_ids"):
        pricing.current_prices(db.reader, "native")
    with pytest.raises(PricingInputError, match="asset_ids"):
        pricing.current_prices(db.reader, ["native"] * (pricing.MAX_ASSETS + 1))
    assert pricing.current_prices(db.reader, []) == {}


def test_sql_constants_agree_with_the_documented_python_constants() -> None:
    sql = (SCHEMA_DIR / "013_current_prices_l2.sql").read_text(encoding="utf-8")
    assert f"INTERVAL {pricing.WINDOW_HOURS} HOUR AND timestamp <= anchor" in sql
    assert f"anchor - INTERVAL {pricing.STALE_AFTER_HOURS} HOUR AS f_fresh" in sql
    assert len(re.findall(rf"s_volume >= {int(pricing.MIN_VOLUME_USD)}\b", sql)) == 2
    assert f"> {pricing.OUTLIER_MAX_DEVIATION} * f_median" in sql
    assert f"f_n_fresh >= {pricing.OUTLIER_MIN_SOURCES} AND" in sql
    usd_quotes = re.search(r"\[([^\]]*)\] AS usd_quotes", sql)
    assert usd_quotes is not None
    assert tuple(re.findall(r"'([^']+)'", usd_quotes.group(1))) == USD_QUOTES
    assert CURRENT_PRICES_REFRESH_VIEW == pricing.L2_REFRESH_VIEW
    assert all_refresh_views_in_order()[-1] == CURRENT_PRICES_REFRESH_VIEW


# ---- the refreshable view itself, on the mainnet fixtures -------------------------------------------------


def test_refreshable_view_on_mainnet_fixtures_agrees_with_an_independent_model(db: Env) -> None:
    for path in fixture_paths():
        write_ledger(db.writer, prepare(path))
    for view in all_refresh_views_in_order():
        db.admin.command(f"SYSTEM START VIEW {view}")  # a stopped view ignores SYSTEM REFRESH VIEW
    refresh_chain(db.admin)  # parts -> 1m -> ... -> mv_current_prices, in order
    tip = db.admin.query("SELECT max(close_time) FROM prices.ingested_ledgers").result_rows[0][0].replace(tzinfo=UTC)
    rows = db.admin.query(
        "SELECT asset_id, quote_asset_id, source, timestamp, version, close_usd, toFloat64(volume_base), "
        "volume_quote_usd FROM prices.price_ohlcv_1m FINAL"
    ).result_rows
    model = [ref.Row(a, q, s, ts.replace(tzinfo=UTC), v, cu, vb, vu) for a, q, s, ts, v, cu, vb, vu in rows]
    expected = ref.snapshot(model, tip)
    assert len(expected) > 20 and "native" in expected and USDC_CLASSIC in expected
    # Older fixture ledgers (2024, 2025) are outside the 24 h before the newest ledger.
    assert any(r.ts < tip - timedelta(days=30) for r in model)
    got = pricing.current_prices(db.reader, sorted(expected))
    assert set(got) == set(expected)
    total = db.reader.query("SELECT count(), min(as_of), max(as_of) FROM prices.current_prices FINAL").result_rows[0]
    assert (total[0], total[1].replace(tzinfo=UTC), total[2].replace(tzinfo=UTC)) == (len(expected), tip, tip)
    xlm_usd = expected["native"].price_usd
    for a, exp in expected.items():
        p = got[a]
        assert p.price_usd == pytest.approx(exp.price_usd, rel=1e-12), a
        assert p.price_xlm == pytest.approx(1.0 if a == "native" else exp.price_usd / xlm_usd, rel=1e-12), a
        assert p.vwap_24h == pytest.approx(exp.vwap_24h, rel=1e-9), a
        assert p.volume_24h_usd == pytest.approx(exp.volume_24h_usd, rel=1e-9), a
        assert (p.method, {s.source for s in p.sources}) == (exp.method, set(exp.sources)), a
        assert excluded_reasons(db, a) == exp.excluded, a
    # Two venues priced XLM in the fixtures: the cross-source VWAP really is across sources.
    assert {s.source for s in got["native"].sources} == {"sdex", "soroswap"}
    refreshes = db.admin.query(
        "SELECT exception FROM system.view_refreshes WHERE database = 'prices' AND view = 'mv_current_prices'"
    ).result_rows
    assert refreshes == [("",)]
