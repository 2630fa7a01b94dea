"""GET /v1/assets/{asset}/price, /ohlcv and POST /v1/prices/batch on the real engine (conftest.py).

The numbers themselves are the pricing engine's (tests/lambdas/api/test_pricing_engine.py proves them);
here the handler must pass the right arguments (alias, resolved SAC, window, granularity, currency,
minimum volume) and hand the values through faithfully, and its own rules (404 vs 200, windows) must hold.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lambdas.api import pricing
from lambdas.api.routes import GRANULARITIES
from tests.lambdas.api.conftest import NEVER_SEEN, TIES, TOKEN, UNTRADED, USDC, USDC_SAC, Call, Engine

pytestmark = [pytest.mark.engine, pytest.mark.filterwarnings("ignore:No application metrics:UserWarning")]

# The three protocol-26 fixture ledgers close between 00:21:26 and 00:22:11 on 2026-06-19.
WINDOW = {"start": "2026-06-18T12:00:00Z", "end": "2026-06-19T12:00:00Z"}
START, END = datetime(2026, 6, 18, 12, tzinfo=UTC), datetime(2026, 6, 19, 12, tzinfo=UTC)
BUCKET = {"1m": 60, "15m": 900, "1h": 3600, "4h": 14_400, "1d": 86_400}


def iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def price_json(price: pricing.AssetPrice) -> dict[str, Any]:
    return {
        "price_usd": price.price_usd,
        "vwap_24h": price.vwap_24h if price.vwap_24h > 0 else None,
        "volume_24h_usd": price.volume_24h_usd,
        "change_24h_pct": price.change_24h_pct,
        "change_7d_pct": price.change_7d_pct,
        "method": price.method,
        "updated_at": iso(price.updated_at) if price.updated_at.microsecond == 0 else price.updated_at.isoformat(),
        "sources": [
            {
                "source": s.source,
                "price_usd": s.price_usd,
                "volume_24h_usd": s.volume_24h_usd,
                "last_trade_at": iso(s.last_trade_at),
            }
            for s in price.sources
        ],
    }


def test_price_passes_the_engine_values_through_for_lumens_and_its_alias(call: Call, engine: Engine) -> None:
    expected = pricing.current_price(engine.reader, "native")
    assert expected is not None
    for spelling in ("native", "XLM"):
        answer = call("GET", f"/v1/assets/{spelling}/price")
        assert answer.status == 200 and answer.headers["Cache-Control"] == "public, max-age=10"
        body = answer.body
        assert body["asset"] == "native" and body["price_xlm"] == 1.0
        wanted = price_json(expected)
        assert {k: body[k] for k in wanted if k != "updated_at"} == {
            k: v for k, v in wanted.items() if k != "updated_at"
        }
        assert datetime.fromisoformat(body["updated_at"]) == expected.updated_at


def test_min_volume_usd_is_strict_and_reaches_the_engine(call: Call, engine: Engine) -> None:
    base = pricing.current_price(engine.reader, "native")
    assert base is not None and len(base.sources) >= 2
    cut = sorted(s.volume_24h_usd for s in base.sources)[-1]  # only the biggest source passes
    strict = pricing.current_price(engine.reader, "native", min_volume_usd=cut)
    assert strict is not None
    body = call("GET", "/v1/assets/native/price", {"min_volume_usd": repr(cut)}).body
    assert [s["source"] for s in body["sources"]] == [s.source for s in strict.sources] and len(body["sources"]) == 1
    assert body["vwap_24h"] == strict.vwap_24h and body["price_usd"] == base.price_usd
    none_left = call("GET", "/v1/assets/native/price", {"min_volume_usd": "1e15"}).body
    assert none_left["sources"] == [] and none_left["vwap_24h"] is None and none_left["price_usd"] == base.price_usd


def test_price_of_a_sac_contract_is_the_classic_assets(call: Call) -> None:
    via_contract = call("GET", f"/v1/assets/{USDC_SAC}/price")
    assert via_contract.status == 200 and via_contract.body == call("GET", f"/v1/assets/{USDC}/price").body
    assert via_contract.body["asset"] == USDC


def test_price_404s_tell_an_unknown_asset_from_one_without_a_price(call: Call) -> None:
    unknown = call("GET", f"/v1/assets/{NEVER_SEEN}/price")
    assert (unknown.status, unknown.body["code"]) == (404, "asset_not_found")
    untraded = call("GET", f"/v1/assets/{UNTRADED}/price")
    assert (untraded.status, untraded.body["code"]) == (404, "price_unavailable")
    assert "24 h" in untraded.body["message"]
    assert untraded.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("granularity", GRANULARITIES)
def test_ohlcv_each_granularity_matches_the_engine_and_is_aligned(call: Call, engine: Engine, granularity: str) -> None:
    answer = call("GET", "/v1/assets/native/ohlcv", {**WINDOW, "granularity": granularity})
    assert answer.status == 200
    body = answer.body
    assert (body["asset"], body["granularity"], body["base_currency"]) == ("native", granularity, "USD")
    assert (body["start"], body["end"]) == (WINDOW["start"], WINDOW["end"])
    expected = pricing.ohlcv(
        engine.reader, "native", granularity=granularity, start=START, end=END, base_currency="USD"
    )
    assert expected, "the fixtures trade lumens in this window"
    assert [c["timestamp"] for c in body["candles"]] == [iso(c.timestamp) for c in expected]
    for got, want in zip(body["candles"], expected, strict=True):
        assert (got["open"], got["high"], got["low"], got["close"], got["vwap"]) == (
            want.open,
            want.high,
            want.low,
            want.close,
            want.vwap,
        )
        assert (got["volume_base"], got["volume_quote_usd"], got["trade_count"]) == (
            want.volume_base,
            want.volume_quote_usd,
            want.trade_count,
        )
        assert got["low"] <= min(got["open"], got["close"]) <= max(got["open"], got["close"]) <= got["high"]
        stamp = datetime.fromisoformat(got["timestamp"])
        if granularity in BUCKET:
            assert stamp.timestamp() % BUCKET[granularity] == 0
    assert sum(c["trade_count"] for c in body["candles"]) == sum(c.trade_count for c in expected)


def priced_base_asset(engine: Engine) -> str:
    """A fixture asset other than lumens with USD-priced candles as base asset in WINDOW."""
    rows = engine.admin.query(
        "SELECT asset_id FROM prices.price_ohlcv_15m FINAL WHERE asset_id != 'native' AND close_usd > 0 "
        "AND timestamp >= {s:DateTime('UTC')} AND timestamp < {e:DateTime('UTC')} "
        "GROUP BY asset_id ORDER BY sum(trade_count) DESC, asset_id LIMIT 1",
        parameters={"s": START, "e": END},
    ).result_rows
    assert rows, "the 2026-06 fixtures price some non-native asset"
    return str(rows[0][0])


def test_ohlcv_in_xlm(call: Call, engine: Engine) -> None:
    lumens = call("GET", "/v1/assets/native/ohlcv", {**WINDOW, "granularity": "1h", "base_currency": "XLM"}).body
    assert lumens["base_currency"] == "XLM" and lumens["candles"]
    assert all(c["open"] == c["close"] == c["vwap"] == 1.0 for c in lumens["candles"])
    asset = priced_base_asset(engine)
    in_xlm = call("GET", f"/v1/assets/{asset}/ohlcv", {**WINDOW, "granularity": "15m", "base_currency": "XLM"}).body
    expected = pricing.ohlcv(engine.reader, asset, granularity="15m", start=START, end=END, base_currency="XLM")
    assert in_xlm["candles"] and [c["close"] for c in in_xlm["candles"]] == [c.close for c in expected]
    in_usd = call("GET", f"/v1/assets/{asset}/ohlcv", {**WINDOW, "granularity": "15m"}).body
    assert [c["volume_base"] for c in in_xlm["candles"]] == [c["volume_base"] for c in in_usd["candles"]]
    assert any(c["close"] != d["close"] for c, d in zip(in_xlm["candles"], in_usd["candles"], strict=True))


def test_ohlcv_window_from_timeframe_and_end_with_the_automatic_granularity(call: Call, engine: Engine) -> None:
    end = "2026-06-19T01:00:00Z"
    for timeframe, granularity, hours in (("1h", "1m", 1), ("24h", "15m", 24), ("7d", "1h", 168), ("30d", "4h", 720)):
        body = call("GET", "/v1/assets/native/ohlcv", {"timeframe": timeframe, "end": end}).body
        assert body["granularity"] == granularity
        assert datetime.fromisoformat(body["end"]) - datetime.fromisoformat(body["start"]) == timedelta(hours=hours)
        assert body["candles"], timeframe
    # Without end, the window ends now: the 2026-06 fixtures are outside the last hour.
    recent = call("GET", "/v1/assets/native/ohlcv", {"timeframe": "1h"})
    assert recent.status == 200 and recent.body["candles"] == []
    assert datetime.fromisoformat(recent.body["end"]) > datetime.now(UTC) - timedelta(minutes=5)
    every = call("GET", "/v1/assets/native/ohlcv", {"timeframe": "all"}).body
    assert every["granularity"] == "1d" and every["start"] == "2015-09-30T00:00:00Z"
    daily = engine.admin.query(
        "SELECT DISTINCT formatDateTime(timestamp, '%Y-%m-%dT00:00:00Z') FROM prices.price_ohlcv_1d "
        "WHERE asset_id = 'native'"
    ).result_rows
    assert {c["timestamp"] for c in every["candles"]} == {r[0] for r in daily} and len(daily) >= 3


def test_ohlcv_404_only_for_an_unknown_asset(call: Call) -> None:
    assert call("GET", f"/v1/assets/{NEVER_SEEN}/ohlcv", WINDOW).status == 404
    empty = call("GET", f"/v1/assets/{UNTRADED}/ohlcv", WINDOW)
    assert empty.status == 200 and empty.body["candles"] == []
    too_many = call("GET", "/v1/assets/native/ohlcv", {"timeframe": "30d", "granularity": "1m"})
    assert too_many.status == 400 and "10000" in too_many.body["message"]
    backwards = call("GET", "/v1/assets/native/ohlcv", {"start": WINDOW["end"], "end": WINDOW["start"]})
    assert backwards.status == 400 and backwards.body["message"].startswith("parameter 'end'")


def test_batch_answers_each_asset_with_a_price_or_its_own_error(call: Call, engine: Engine) -> None:
    bad_checksum = USDC[:-1] + ("M" if USDC[-1] != "M" else "N")
    assets = ["XLM", USDC_SAC, "BTC", bad_checksum, NEVER_SEEN, UNTRADED, TIES[0], TOKEN, "native"]
    answer = call("POST", "/v1/prices/batch", body={"assets": assets})
    assert answer.status == 200 and answer.headers["Cache-Control"] == "no-store"
    assert "Access-Control-Allow-Origin" not in answer.headers
    results = answer.body["results"]
    assert [r["asset"] for r in results] == assets
    outcome = [
        (r["price"]["asset"] if r["price"] else None, r["error"]["code"] if r["error"] else None) for r in results
    ]
    assert outcome == [
        ("native", None),
        (USDC, None),
        (None, "invalid_asset"),
        (None, "invalid_asset"),
        (None, "asset_not_found"),
        (None, "price_unavailable"),
        (TIES[0], None),
        (TOKEN, None),
        ("native", None),
    ]
    assert "assets[3]" in results[3]["error"]["message"] and "checksum" in results[3]["error"]["message"]
    single = call("GET", "/v1/assets/native/price").body
    assert results[0]["price"] == single == results[-1]["price"]
    base64_body = call("POST", "/v1/prices/batch", body={"assets": ["native"]}, base64_body=True)
    assert base64_body.status == 200 and base64_body.body["results"][0]["price"] == single
