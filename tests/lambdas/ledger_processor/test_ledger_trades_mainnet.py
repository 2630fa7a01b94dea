"""Trade extraction on the six mainnet ledgers: counts, failed txs, LP conservation, Soroban venues."""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

import pytest
from stellar_sdk import Asset, Network
from stellar_sdk import xdr as X

from lambdas.ledger_processor.extract import extract_ledger
from lambdas.ledger_processor.facts import CHANGE_STATE, CHANGE_UPDATED, EventFact
from lambdas.ledger_processor.registry import PoolRegistry
from lambdas.ledger_processor.trades import USDC, build_trades, orient
from lambdas.ledger_processor.values import NATIVE, Address, ScMap, sac_contract_id
from tests.lambdas.ledger_processor.helpers import MAINNET, facts, mainnet_xdr, sdk_lcm

# ClaimAtoms in the op results of ALL transactions (this is what stellar-data.md §5 tabulates) and in
# SUCCESSFUL ones only. The difference: txFAILED results still list the atoms of ops that succeeded
# before a later op failed; those trades were rolled back.
ALL_ATOMS = {
    53312000: (12, 18),
    51000294: (154, 40),
    57500008: (19, 20),
    63092988: (24, 48),
    63092990: (30, 38),
    63092996: (38, 89),
}
SUCCESS_ATOMS = {
    53312000: (11, 18),
    51000294: (154, 40),
    57500008: (19, 20),
    63092988: (14, 35),
    63092990: (22, 37),
    63092996: (37, 71),
}


def _sdk_atoms(seq: int) -> tuple[Counter[tuple[bool, int]], set[str]]:
    """Independent count straight from the sdk objects: (tx successful?, atom type) -> n; failed hashes."""
    lcm = sdk_lcm(seq)
    body: Any = lcm.v1 or lcm.v2
    counts: Counter[tuple[bool, int]] = Counter()
    failed: set[str] = set()
    for tp in body.tx_processing:
        r = tp.result.result.result
        results, ok = r.results, r.code == X.TransactionResultCode.txSUCCESS
        if r.inner_result_pair is not None:
            inner = r.inner_result_pair.result.result
            results = inner.results
            ok = r.code == X.TransactionResultCode.txFEE_BUMP_INNER_SUCCESS
        if not ok:
            failed.add(tp.result.transaction_hash.hash.hex())
        for res in results or []:
            tr = res.tr
            if tr is None:
                continue
            for sub in (tr.manage_sell_offer_result, tr.manage_buy_offer_result, tr.create_passive_sell_offer_result):
                if sub is not None and sub.success is not None:
                    counts.update((ok, a.type.value) for a in sub.success.offers_claimed)
            for pp in (tr.path_payment_strict_send_result, tr.path_payment_strict_receive_result):
                if pp is not None and pp.success is not None:
                    counts.update((ok, a.type.value) for a in pp.success.offers)
    return counts, failed


@pytest.mark.parametrize("seq", list(MAINNET))
def test_atom_counts_and_failed_txs(seq: int) -> None:
    counts, failed = _sdk_atoms(seq)
    ob_all = counts[(True, 1)] + counts[(False, 1)]
    lp_all = counts[(True, 2)] + counts[(False, 2)]
    assert (ob_all, lp_all) == ALL_ATOMS[seq]
    assert (counts[(True, 1)], counts[(True, 2)]) == SUCCESS_ATOMS[seq]
    assert counts[(True, 0)] == counts[(False, 0)] == 0

    f = facts(seq)
    kinds = Counter(a.atom_type for a in f.atoms)
    assert (kinds[1], kinds[2]) == SUCCESS_ATOMS[seq]
    assert not {a.tx_hash for a in f.atoms} & failed
    assert f.failed_tx_count == len(failed)

    lt = build_trades(f)
    assert not {t.tx_hash for t in lt.trades} & failed  # failed txs contribute zero
    by_kind = Counter(t.kind for t in lt.trades)
    zero = sum(1 for a in f.atoms if a.amount_sold == 0 or a.amount_bought == 0)
    assert by_kind["orderbook"] + by_kind["pool"] == sum(SUCCESS_ATOMS[seq]) - zero
    assert lt.zero_fills == zero
    for t in lt.trades:
        assert t.base_amount > 0 and t.quote_amount > 0
        assert t.price == t.quote_amount / t.base_amount
        assert (t.base_asset, t.quote_asset) == orient(t.base_asset, t.quote_asset)


@pytest.mark.parametrize("seq", list(MAINNET))
def test_liquidity_pool_reserve_conservation(seq: int) -> None:
    f = facts(seq)
    flows: dict[tuple[int, int, str], Counter[str]] = defaultdict(Counter)
    for a in f.atoms:
        if a.atom_type == 2:
            flow = flows[(a.tx_index, a.op_index, a.pool_id or "")]
            flow[a.asset_bought] += a.amount_bought
            flow[a.asset_sold] -= a.amount_sold
    before: dict[tuple[int, int, str], tuple[int, int]] = {}
    after: dict[tuple[int, int, str], tuple[int, int, str, str]] = {}
    for c in f.pool_changes:
        key = (c.tx_index, c.op_index, c.pool_id)
        if c.change_type == CHANGE_STATE:
            before[key] = (c.reserve_a, c.reserve_b)
        elif c.change_type == CHANGE_UPDATED:
            after[key] = (c.reserve_a, c.reserve_b, c.asset_a, c.asset_b)
    assert flows, "every mainnet fixture has pool fills"
    for key, flow in flows.items():
        ra0, rb0 = before[key]
        ra1, rb1, asset_a, asset_b = after[key]
        assert (ra1 - ra0, rb1 - rb0) == (flow[asset_a], flow[asset_b]), key
        assert set(flow) <= {asset_a, asset_b}


def test_soroswap_swap_in_63092990() -> None:
    lt = extract_ledger(mainnet_xdr(63092990))
    (swap,) = [t for t in lt.trades if t.source == "soroswap"]
    assert swap.kind == "amm" and swap.venue_id == "CAM7DY53G63XA4AJRS24Z6VFYAFSSF76C3RZ45BE5YU3FQS5255OOABP"
    # pair tokens come from the pair's instance storage: token0 = XLM SAC, token1 = USDC SAC
    assert (swap.base_asset, swap.quote_asset) == (NATIVE, USDC)
    assert (swap.base_amount, swap.quote_amount) == (Decimal("187.3180072"), Decimal("43.4109811"))
    assert swap.side == "sell"  # amount_0_in: the user sold XLM
    assert lt.unresolved == []


def test_soroswap_unknown_pair_is_recorded_not_dropped() -> None:
    f = dataclasses.replace(facts(63092990), instances=[])
    lt = build_trades(f)
    assert not [t for t in lt.trades if t.source == "soroswap"]
    (u,) = lt.unresolved
    assert u.contract.startswith("CAM7DY53") and u.amounts == (1873180072, 0, 0, 434109811)
    # a factory new_pair event (as emitted when the pair is created) resolves it
    pools = PoolRegistry()
    xlm, usdc = sac_contract_id(NATIVE), sac_contract_id(USDC)
    data = ScMap(
        [("new_pairs_length", 1), ("pair", Address(u.contract)), ("token_0", Address(xlm)), ("token_1", Address(usdc))]
    )
    pools.learn_event(EventFact(0, "", 0, 0, "CA4HEQTL", ("SoroswapFactory", "new_pair"), data))
    assert [t.source for t in build_trades(f, pools=pools).trades if t.kind == "amm"] == ["soroswap"]


@pytest.mark.parametrize(("seq", "n"), [(57500008, 1), (63092996, 3)])
def test_aquarius_pool_trades_not_router_swaps(seq: int, n: int) -> None:
    f = facts(seq)
    routers = [e for e in f.events if e.topics[0] == "swap"]
    pool_trades = [e for e in f.events if e.topics[0] == "trade"]
    assert len(routers) == 1 and len(pool_trades) == n
    amm = [t for t in extract_ledger(mainnet_xdr(seq)).trades if t.kind == "amm"]
    assert [t.source for t in amm] == ["aquarius"] * n
    assert sorted(t.venue_id for t in amm) == sorted(e.contract for e in pool_trades)
    assert len({(t.tx_hash, t.op_index) for t in amm}) == n  # one per swap, router not counted


def test_aquarius_57500008_amounts() -> None:
    (t,) = [t for t in extract_ledger(mainnet_xdr(57500008)).trades if t.kind == "amm"]
    # topics [trade, XLM SAC, USDC SAC, user], data [71317751, 20000000, 20021]
    assert (t.base_asset, t.quote_asset, t.side) == (NATIVE, USDC, "sell")
    assert (t.base_amount, t.quote_amount) == (Decimal("7.1317751"), Decimal("2.0000000"))


def test_router_swap_counts_when_pool_emitted_no_trade() -> None:
    # 2024: the pool emitted no `trade` event, only the router `swap` exists
    amm = [t for t in extract_ledger(mainnet_xdr(51000294)).trades if t.kind == "amm"]
    assert len(amm) == 1 and amm[0].source == "aquarius"
    assert amm[0].venue_id == "CCKWA3RENJIQ4B7QAWWAFAS6GDT7TCHWCLLSONKMHNCESG36GGKMN6OX"


def test_sac_derivation_matches_sdk() -> None:
    for ident, asset in [(NATIVE, Asset.native()), (USDC, Asset("USDC", USDC.split(":")[1]))]:
        assert sac_contract_id(ident) == asset.contract_id(Network.PUBLIC_NETWORK_PASSPHRASE)
    long = "yXLM:GARDNV3Q7YGT4AKSDF25LT32YSCCW4EV22Y2TV3I2PU2MMXJTEDL5T55"
    assert sac_contract_id(long) == Asset("yXLM", long[5:]).contract_id(Network.PUBLIC_NETWORK_PASSPHRASE)
    twelve = "AQUA12345678:GBNZILSTVQZ4R7IKQDGHYGY2QXL5QOFJYQMXPKWRRM5PAV7Y4M67AQUA"
    assert sac_contract_id(twelve) == Asset(twelve[:12], twelve[13:]).contract_id(Network.PUBLIC_NETWORK_PASSPHRASE)


def test_orientation_rule() -> None:
    other = "AQUA:GBNZILSTVQZ4R7IKQDGHYGY2QXL5QOFJYQMXPKWRRM5PAV7Y4M67AQUA"
    assert orient(NATIVE, USDC) == orient(USDC, NATIVE) == (NATIVE, USDC)
    assert orient(other, NATIVE) == orient(NATIVE, other) == (other, NATIVE)
    assert orient(other, USDC) == (other, USDC)
    c1, c2 = "CAAA", "CBBB"
    assert orient(c1, c2) == orient(c2, c1) == (c2, c1)  # ties: smaller identity string is the quote
