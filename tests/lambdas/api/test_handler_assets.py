"""GET /v1/assets and /v1/assets/{asset} on the real engine with the mainnet fixtures ingested (conftest.py).

Expected listings are computed here, independently of the handler's SQL, from the seeded registry and a
plain read of prices.current_prices: which assets exist, which are active, their sort values, and the
order (nulls last in both directions, asset id as the tie-breaker in the sort's direction).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from lambdas.api import pricing
from tests.lambdas.api.conftest import (
    INACTIVE,
    NEVER_SEEN,
    TIES,
    TOKEN,
    TOKEN_CODE,
    UNTRADED,
    USDC,
    USDC_SAC,
    Call,
    Engine,
)

pytestmark = [pytest.mark.engine, pytest.mark.filterwarnings("ignore:No application metrics:UserWarning")]

SORT_COLUMNS = {"price": "price_usd", "volume_24h": "volume_24h_usd", "change_24h": "change_24h_pct"}


@dataclass(frozen=True)
class Expected:
    asset_id: str
    code: str
    type: str
    active: bool
    price: dict[str, Any] | None


def expected_assets(engine: Engine) -> dict[str, Expected]:
    rows = engine.admin.query(
        "SELECT asset_id, price_usd, volume_24h_usd, change_24h_pct FROM prices.current_prices FINAL"
    ).named_results()
    prices = {r["asset_id"]: r for r in rows}
    out = {}
    for asset_id in set(engine.registry) | set(prices):
        reg = engine.registry.get(asset_id)
        kind = "native" if asset_id == "native" else ("classic" if ":" in asset_id else "soroban")
        code = (
            "XLM"
            if kind == "native"
            else (asset_id.split(":")[0] if kind == "classic" else (reg or {}).get("code", ""))
        )
        out[asset_id] = Expected(asset_id, code, kind, reg["active"] if reg else True, prices.get(asset_id))
    return out


def expected_order(items: list[Expected], sort: str, order: str) -> list[str]:
    desc = order == "desc"

    def value(e: Expected) -> Any:
        if sort == "code":
            return e.code.lower()
        return None if e.price is None else e.price[SORT_COLUMNS[sort]]

    present = sorted((e for e in items if value(e) is not None), key=lambda e: (value(e), e.asset_id), reverse=desc)
    missing = sorted((e for e in items if value(e) is None), key=lambda e: e.asset_id, reverse=desc)
    return [e.asset_id for e in present + missing]


def page_through_items(call: Call, query: dict[str, str]) -> tuple[list[dict[str, Any]], int]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    pages = 0
    while True:
        answer = call("GET", "/v1/assets", {**query, **({"cursor": cursor} if cursor else {})})
        assert answer.status == 200, answer.body
        pages += 1
        items += answer.body["assets"]
        assert answer.body["has_more"] == (answer.body["cursor"] is not None)
        if not answer.body["has_more"]:
            return items, pages
        cursor = answer.body["cursor"]
        assert pages < 100


def page_through(call: Call, query: dict[str, str]) -> tuple[list[str], int]:
    items, pages = page_through_items(call, query)
    return [a["asset"] for a in items], pages


def test_default_listing_is_active_priced_assets_by_volume_desc(call: Call, engine: Engine) -> None:
    everything = expected_assets(engine)
    active = [e for e in everything.values() if e.active and e.price is not None]
    answer = call("GET", "/v1/assets", {"limit": "200"})
    assert answer.status == 200
    assert [a["asset"] for a in answer.body["assets"]] == expected_order(active, "volume_24h", "desc")
    assert answer.body == {**answer.body, "has_more": False, "cursor": None}
    assert answer.headers["Cache-Control"] == "public, max-age=60"
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert answer.headers["Content-Type"] == "application/json"
    listed = {a["asset"] for a in answer.body["assets"]}
    assert engine.unregistered in listed, "a priced asset missing from the registry is still listed"
    assert not listed & {INACTIVE, UNTRADED}
    first = call("GET", "/v1/assets")
    assert len(first.body["assets"]) == 50 and first.body["has_more"] is (len(active) > 50)


@pytest.mark.parametrize("sort", ["price", "volume_24h", "change_24h", "code"])
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_paging_with_the_cursor_visits_every_asset_once_in_order(
    call: Call, engine: Engine, sort: str, order: str
) -> None:
    everything = list(expected_assets(engine).values())
    ids, pages = page_through(call, {"sort": sort, "order": order, "limit": "37", "include_inactive": "true"})
    assert ids == expected_order(everything, sort, order)
    assert len(ids) == len(set(ids)) and pages == -(-len(ids) // 37)


def test_ties_are_broken_by_asset_id_across_a_page_boundary(call: Call) -> None:
    query = {"search": "TIE", "sort": "price", "order": "desc", "limit": "2"}
    first = call("GET", "/v1/assets", query)
    assert [a["asset"] for a in first.body["assets"]] == [TIES[2], TIES[1]]
    second = call("GET", "/v1/assets", {**query, "cursor": first.body["cursor"]})
    assert [a["asset"] for a in second.body["assets"]] == [TIES[0]] and second.body["has_more"] is False
    ascending = page_through(call, {**query, "order": "asc", "limit": "1"})[0]
    assert ascending == list(TIES)


def test_paging_the_active_listing_matches_one_big_page(call: Call) -> None:
    whole = [a["asset"] for a in call("GET", "/v1/assets", {"limit": "200", "sort": "change_24h"}).body["assets"]]
    ids, _ = page_through(call, {"limit": "9", "sort": "change_24h"})
    assert ids == whole


def test_type_filter_search_and_inactive_assets(call: Call, engine: Engine) -> None:
    everything = expected_assets(engine)

    def listed(query: dict[str, str]) -> list[dict[str, Any]]:
        return page_through_items(call, {"limit": "200", **query})[0]

    soroban = listed({"type": "soroban", "include_inactive": "true"})
    assert {a["asset"] for a in soroban} == {e.asset_id for e in everything.values() if e.type == "soroban"}
    assert all(a["type"] == "soroban" and a["contract"] == a["asset"] and a["issuer"] is None for a in soroban)
    classic = listed({"type": "classic", "include_inactive": "true"})
    assert {a["asset"] for a in classic} == {e.asset_id for e in everything.values() if e.type != "soroban"}
    assert "native" in {a["asset"] for a in classic}
    # Search is a case-insensitive code prefix, and finds a Soroban token by its registered code.
    assert [a["asset"] for a in listed({"search": TOKEN_CODE.lower()[:3]})] == [TOKEN]
    usd = listed({"search": "usd", "include_inactive": "true"})
    assert usd and all(a["code"].lower().startswith("usd") for a in usd)
    assert {e.asset_id for e in everything.values() if e.code.lower().startswith("usd")} == {a["asset"] for a in usd}
    assert listed({"search": "ZZZZZZ"}) == []
    # Inactive (registry flag) and untraded assets only with include_inactive.
    with_inactive = {a["asset"] for a in listed({"include_inactive": "true", "search": "O"})}
    assert INACTIVE in with_inactive
    assert INACTIVE not in {a["asset"] for a in listed({"search": "O"})}
    untraded = [a for a in listed({"include_inactive": "true", "search": "NOPX"})]
    assert [a["asset"] for a in untraded] == [UNTRADED]
    assert untraded[0]["price_usd"] is None and untraded[0]["sources"] == [] and untraded[0]["updated_at"] is None


def test_a_cursor_reused_with_another_sort_is_a_400(call: Call) -> None:
    first = call("GET", "/v1/assets", {"limit": "2", "sort": "price"})
    answer = call("GET", "/v1/assets", {"limit": "2", "sort": "code", "cursor": first.body["cursor"]})
    assert answer.status == 400 and answer.body["code"] == "invalid_parameter"
    assert answer.body["message"].startswith("parameter 'cursor'")
    assert answer.headers["Cache-Control"] == "no-store"


def test_list_items_carry_the_same_numbers_as_the_price_endpoint(call: Call, engine: Engine) -> None:
    items = call("GET", "/v1/assets", {"limit": "10"}).body["assets"]
    assert items
    for item in items:
        price = call("GET", f"/v1/assets/{item['asset']}/price").body
        for name in (
            "price_usd",
            "vwap_24h",
            "volume_24h_usd",
            "change_24h_pct",
            "change_7d_pct",
            "sources",
            "updated_at",
        ):
            assert item[name] == price[name], (item["asset"], name)
        stored = pricing.current_price(engine.reader, item["asset"])
        assert stored is not None and item["price_usd"] == stored.price_usd


def test_asset_detail_for_each_kind_of_identifier(call: Call, engine: Engine) -> None:
    native = call("GET", "/v1/assets/native").body
    assert call("GET", "/v1/assets/XLM").body == native
    assert native["asset"] == "native" and native["code"] == "XLM" and native["type"] == "native"
    assert native["issuer"] is None and native["price_usd"] > 0 and native["sources"]

    usdc = call("GET", f"/v1/assets/{USDC}").body
    assert usdc["type"] == "classic" and usdc["code"] == "USDC" and usdc["issuer"] == USDC.split(":")[1]
    assert usdc["contract"] == USDC_SAC
    # USDC's SAC contract id resolves to the classic asset its trades are stored under.
    assert call("GET", f"/v1/assets/{USDC_SAC}").body == usdc

    token = call("GET", f"/v1/assets/{TOKEN}").body
    assert token == {**token, "asset": TOKEN, "code": TOKEN_CODE, "type": "soroban", "contract": TOKEN, "issuer": None}
    assert token["change_24h_pct"] is None and token["price_usd"] == 0.5

    derived = call("GET", f"/v1/assets/{engine.unregistered}").body
    code, issuer = engine.unregistered.split(":")
    assert derived["code"] == code and derived["issuer"] == issuer and derived["price_usd"] is not None

    old = call("GET", f"/v1/assets/{engine.unregistered_old}")
    assert old.status == 200 and old.body["price_usd"] is None
    assert old.body["code"] == engine.unregistered_old.split(":")[0]
    old_price = call("GET", f"/v1/assets/{engine.unregistered_old}/price")
    assert (old_price.status, old_price.body["code"]) == (404, "price_unavailable")
    old_candles = call("GET", f"/v1/assets/{engine.unregistered_old}/ohlcv", {"timeframe": "all"})
    assert old_candles.status == 200 and old_candles.body["candles"]

    untraded = call("GET", f"/v1/assets/{UNTRADED}")
    assert untraded.status == 200 and untraded.body["price_usd"] is None and untraded.body["sources"] == []


def test_unknown_assets_are_404s_and_malformed_ones_400s(call: Call) -> None:
    missing = call("GET", f"/v1/assets/{NEVER_SEEN}")
    assert missing.status == 404 and missing.body["code"] == "asset_not_found" and NEVER_SEEN in missing.body["message"]
    bad = call("GET", "/v1/assets/" + NEVER_SEEN[:-1] + ("A" if NEVER_SEEN[-1] != "A" else "B"))
    assert bad.status == 400 and bad.body["code"] == "invalid_asset" and "checksum" in bad.body["message"]
