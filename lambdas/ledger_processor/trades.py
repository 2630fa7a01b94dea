"""Trades: the ``Trade`` record, the base/quote orientation rule, and building trades from facts.

Venue interpretation of Soroban events lives here too (``_soroban_trades``); the shapes are described,
with their provenance and verification status, in docs/ledger-processing.md.
"""

from __future__ import annotations

import decimal
from collections import defaultdict
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from lambdas.ledger_processor.facts import ATOM_LIQUIDITY_POOL, EventFact, LedgerFacts
from lambdas.ledger_processor.registry import AssetRegistry, PoolRegistry
from lambdas.ledger_processor.values import NATIVE, Address, ScMap

USDC = "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN"  # Circle USDC on pubnet
# Lower index = preferred as the quote asset. Everything else ranks after these.
QUOTE_PRIORITY: tuple[str, ...] = (USDC, NATIVE)
CLASSIC_DECIMALS = 7
# Soroban tokens: 7 is the documented default (every SAC, and the tokens seen in the fixtures);
# a per-token override can be passed in when metadata is known.
DEFAULT_TOKEN_DECIMALS = 7
# Known Aquarius router contracts: their `swap` event repeats a pool `trade`, so it only counts when
# the pool emitted no `trade` in the same operation (older pools, e.g. ledger 51000294).
AQUARIUS_ROUTERS = frozenset(
    {
        "CBQDHNBFBZYE4MKPWBSJOPIYLW4SFSXAXUTSXJN76GNKYVYPCKWC6QUK",
        "CANMWW5DUNVYTZ3MZC66O6YNEXRULDI3JPQGBLJQQOVGZWB5PYONTTOD",
    }
)
PHOENIX_FIELDS = frozenset(
    {
        "sender",
        "sell_token",
        "offer_amount",
        "actual received amount",
        "buy_token",
        "return_amount",
        "spread_amount",
        "referral_fee_amount",
    }
)
_PRICE_CONTEXT = decimal.Context(prec=28, rounding=decimal.ROUND_HALF_EVEN)


@dataclass(frozen=True)
class Trade:
    ledger: int
    close_time: int
    tx_hash: str
    tx_index: int
    op_index: int
    fill_index: int
    source: str  # "sdex" | "soroswap" | "aquarius" | "phoenix" | "comet"
    kind: str  # "orderbook" | "pool" (classic liquidity pool) | "amm" (Soroban pool)
    base_asset: str
    quote_asset: str
    base_amount: Decimal
    quote_amount: Decimal
    price: Decimal  # quote per base
    side: str  # "buy" if the taker received the base asset, else "sell"
    venue_id: str  # offer id (order book), pool id hex (classic pool), contract strkey (Soroban)
    maker: str | None = None  # offer owner (order book only)
    trader: str | None = None  # user/recipient named by a Soroban event

    def to_json_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("base_amount", "quote_amount", "price"):
            d[k] = str(d[k])
        return d


@dataclass(frozen=True)
class UnresolvedSwap:
    """A Soroban swap whose tokens the registry does not know: kept, not dropped."""

    ledger: int
    tx_hash: str
    op_index: int
    event_index: int
    source: str
    contract: str
    amounts: tuple[int, ...]


@dataclass
class LedgerTrades:
    ledger: int
    close_time: int
    trades: list[Trade]
    unresolved: list[UnresolvedSwap]
    zero_fills: int  # atoms/events moving nothing on one side: no price, not emitted as trades


def quote_rank(identity: str) -> int:
    try:
        return QUOTE_PRIORITY.index(identity)
    except ValueError:
        return len(QUOTE_PRIORITY)


def orient(a: str, b: str) -> tuple[str, str]:
    """(base, quote) for an unordered pair: the better-ranked asset is the quote; among equal ranks the
    lexicographically smaller identity string is the quote. Deterministic and symmetric."""
    ka, kb = (quote_rank(a), a), (quote_rank(b), b)
    return (b, a) if ka < kb else (a, b)


def _amount(raw: int, decimals: int) -> Decimal:
    return Decimal(raw).scaleb(-decimals)


class _Builder:
    def __init__(self, facts: LedgerFacts, assets: AssetRegistry, pools: PoolRegistry, decimals: dict[str, int]):
        self.facts = facts
        self.assets = assets
        self.pools = pools
        self.decimals = decimals
        self.trades: list[Trade] = []
        self.unresolved: list[UnresolvedSwap] = []
        self.zero = 0

    def _dec(self, identity: str) -> int:
        if identity in self.decimals:
            return self.decimals[identity]
        return DEFAULT_TOKEN_DECIMALS if identity.startswith("C") else CLASSIC_DECIMALS

    def add(  # noqa: PLR0917 - one fill's coordinates, always passed in this order
        self,
        ev_ctx: tuple[int, str, int, int],
        source: str,
        kind: str,
        got: tuple[str, int],
        gave: tuple[str, int],
        venue_id: str,
        *,
        maker: str | None = None,
        trader: str | None = None,
    ) -> None:
        """One fill where the taker received ``got`` and paid ``gave`` (identity, raw amount)."""
        tx_index, tx_hash, op_index, fill = ev_ctx
        if got[1] <= 0 or gave[1] <= 0:
            self.zero += 1
            return
        base, quote = orient(got[0], gave[0])
        taker_bought_base = base == got[0]
        b_raw, q_raw = (got[1], gave[1]) if taker_bought_base else (gave[1], got[1])
        base_amount, quote_amount = _amount(b_raw, self._dec(base)), _amount(q_raw, self._dec(quote))
        self.trades.append(
            Trade(
                ledger=self.facts.sequence,
                close_time=self.facts.close_time,
                tx_hash=tx_hash,
                tx_index=tx_index,
                op_index=op_index,
                fill_index=fill,
                source=source,
                kind=kind,
                base_asset=base,
                quote_asset=quote,
                base_amount=base_amount,
                quote_amount=quote_amount,
                price=_PRICE_CONTEXT.divide(quote_amount, base_amount),
                side="buy" if taker_bought_base else "sell",
                venue_id=venue_id,
                maker=maker,
                trader=trader,
            )
        )

    def classic(self) -> None:
        for a in self.facts.atoms:
            ctx = (a.tx_index, a.tx_hash, a.op_index, a.fill_index)
            # the maker sold `asset_sold`, so the taker received it
            got, gave = (a.asset_sold, a.amount_sold), (a.asset_bought, a.amount_bought)
            if a.atom_type == ATOM_LIQUIDITY_POOL:
                self.add(ctx, "sdex", "pool", got, gave, a.pool_id or "")
            else:
                self.add(ctx, "sdex", "orderbook", got, gave, str(a.offer_id), maker=a.seller)

    def soroban(self) -> None:
        by_op: dict[tuple[int, int], list[EventFact]] = defaultdict(list)
        for ev in self.facts.events:
            by_op[(ev.tx_index, ev.op_index)].append(ev)
        for evs in by_op.values():
            self._op_events(evs)

    def _tok(self, v: Any) -> str:
        return self.assets.identity(str(v))

    def _op_events(self, evs: list[EventFact]) -> None:
        trade_pools = {ev.contract for ev in evs if _is_aquarius_trade(ev)}
        phoenix: dict[str, dict[str, Any]] = {}
        phoenix_first: dict[str, EventFact] = {}
        for ev in evs:
            t, d = ev.topics, ev.data
            ctx = (ev.tx_index, ev.tx_hash, ev.op_index, ev.event_index)
            if _is_aquarius_trade(ev):
                # ["trade", token_in, token_out, user] / [in, out, fee]: user paid `in` of token_in
                self.add(
                    ctx, "aquarius", "amm", (self._tok(t[2]), d[1]), (self._tok(t[1]), d[0]), ev.contract, trader=t[3]
                )
            elif (
                ev.contract in AQUARIUS_ROUTERS
                and len(t) == 3
                and t[0] == "swap"
                and isinstance(d, tuple)
                and len(d) == 5
                and str(d[0]) not in trade_pools
            ):
                # router ["swap", [tokenA, tokenB], user] / [pool, token_in, token_out, in, out]: only when
                # the pool itself reported no `trade` (else the same swap would count twice)
                self.add(
                    ctx, "aquarius", "amm", (self._tok(d[2]), d[4]), (self._tok(d[1]), d[3]), str(d[0]), trader=t[2]
                )
            elif len(t) == 2 and t[0] == "SoroswapPair" and t[1] == "swap" and isinstance(d, ScMap):
                self._soroswap(ev, ctx, d)
            elif len(t) == 2 and t[0] == "swap" and t[1] in PHOENIX_FIELDS:
                fields = phoenix.setdefault(ev.contract, {})
                phoenix_first.setdefault(ev.contract, ev)
                fields[str(t[1])] = d
                if {"sell_token", "buy_token", "offer_amount", "return_amount"} <= fields.keys() and (
                    "referral_fee_amount" in fields or "spread_amount" in fields
                ):
                    first = phoenix_first.pop(ev.contract)
                    f = phoenix.pop(ev.contract)
                    pctx = (first.tx_index, first.tx_hash, first.op_index, first.event_index)
                    self.add(
                        pctx,
                        "phoenix",
                        "amm",
                        (self._tok(f["buy_token"]), f["return_amount"]),
                        (self._tok(f["sell_token"]), f["offer_amount"]),
                        ev.contract,
                        trader=f.get("sender"),
                    )
            elif len(t) == 2 and (t[0], t[1]) in (("POOL", "swap"), ("LOG", "SWAP")) and isinstance(d, ScMap):
                # Comet SwapEvent {caller, token_in, token_out, token_amount_in, token_amount_out}
                self.add(
                    ctx,
                    "comet",
                    "amm",
                    (self._tok(d.get("token_out")), d.get("token_amount_out")),
                    (self._tok(d.get("token_in")), d.get("token_amount_in")),
                    ev.contract,
                    trader=d.get("caller"),
                )

    def _soroswap(self, ev: EventFact, ctx: tuple[int, str, int, int], d: ScMap) -> None:
        a0i, a0o = d.get("amount_0_in", 0), d.get("amount_0_out", 0)
        a1i, a1o = d.get("amount_1_in", 0), d.get("amount_1_out", 0)
        tokens = self.pools.tokens(ev.contract)
        if tokens is None:
            self.unresolved.append(
                UnresolvedSwap(
                    self.facts.sequence,
                    ev.tx_hash,
                    ev.op_index,
                    ev.event_index,
                    "soroswap",
                    ev.contract,
                    (a0i, a0o, a1i, a1o),
                )
            )
            return
        t0, t1 = self._tok(tokens[0]), self._tok(tokens[1])
        # net flows: the user paid token0 if amount_0_in exceeds amount_0_out (flash-swap safe)
        if a0i - a0o > 0:
            got, gave = (t1, a1o - a1i), (t0, a0i - a0o)
        else:
            got, gave = (t0, a0o - a0i), (t1, a1i - a1o)
        to = d.get("to")
        self.add(ctx, "soroswap", "amm", got, gave, ev.contract, trader=to if isinstance(to, Address) else None)


def _is_aquarius_trade(ev: EventFact) -> bool:
    t, d = ev.topics, ev.data
    return (
        len(t) == 4
        and t[0] == "trade"
        and isinstance(t[1], Address)
        and isinstance(t[2], Address)
        and isinstance(d, tuple)
        and len(d) == 3
    )


def learn(facts: LedgerFacts, assets: AssetRegistry, pools: PoolRegistry) -> None:
    """Feed one ledger's facts into the registries (before its trades are built)."""
    for a in facts.atoms:
        assets.learn_classic(a.asset_sold)
        assets.learn_classic(a.asset_bought)
    for contract, asset in facts.sac_hints:
        assets.learn_hint(contract, asset)
    for inst in facts.instances:
        pools.learn_instance(inst)
    for ev in facts.events:
        pools.learn_event(ev)


def build_trades(
    facts: LedgerFacts,
    assets: AssetRegistry | None = None,
    pools: PoolRegistry | None = None,
    decimals: dict[str, int] | None = None,
) -> LedgerTrades:
    assets = assets if assets is not None else AssetRegistry()
    pools = pools if pools is not None else PoolRegistry()
    learn(facts, assets, pools)
    b = _Builder(facts, assets, pools, decimals or {})
    b.classic()
    b.soroban()
    b.trades.sort(key=lambda t: (t.tx_index, t.op_index, t.kind == "amm", t.fill_index))
    return LedgerTrades(facts.sequence, facts.close_time, b.trades, b.unresolved, b.zero)
