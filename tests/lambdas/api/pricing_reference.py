"""An independent, plain-Python model of the L2 snapshot (docs/pricing.md), computed from 1m candle rows.

Written from the documented rules, not from the SQL, so the engine tests can compare the two on any data.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

USD_QUOTES = frozenset(
    {
        "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN",
        "CCW67TSZV3SSS2HXMBQ5JFGCKJNXKZM7UQUWUZPUTHXSTZLEO7SJMI75",
    }
)


@dataclass(frozen=True)
class Row:
    """One 1m candle (FINAL), with what L2 needs."""

    asset: str
    quote: str
    source: str
    ts: datetime
    version: int
    close_usd: float
    volume_base: float
    volume_usd: float


@dataclass(frozen=True)
class SourceStats:
    price: float
    vwap: float
    volume: float
    last: datetime
    last_version: int


@dataclass(frozen=True)
class Expected:
    price_usd: float
    vwap_24h: float
    volume_24h_usd: float
    method: str
    price_at: datetime
    sources: dict[str, SourceStats]  # the ones forming vwap_24h
    excluded: dict[str, str]  # source -> reason


def snapshot(rows: Iterable[Row], anchor: datetime) -> dict[str, Expected]:
    window = [r for r in rows if anchor - timedelta(hours=24) <= r.ts <= anchor]
    roles: dict[str, dict[str, list[tuple[str, Row]]]] = defaultdict(lambda: defaultdict(list))
    for r in window:
        roles[r.asset][r.source].append(("base", r))
        roles[r.quote][r.source].append(("quote", r))
    out: dict[str, Expected] = {}
    for asset, by_source in roles.items():
        stats = {s: st for s, items in by_source.items() if (st := _source_stats(asset, items)) is not None}
        if stats:
            volume = sum(r.volume_usd for items in by_source.values() for _, r in items)
            out[asset] = _asset(asset, stats, volume, anchor)
    return out


def _source_stats(asset: str, items: list[tuple[str, Row]]) -> SourceStats | None:
    """Price-forming candles: the asset as base with a USD close; for USD assets, as quote (price 1)."""
    peg = asset in USD_QUOTES
    if peg:
        forming = [r for role, r in items if role == "quote" and r.volume_usd > 0]
    else:
        forming = [r for role, r in items if role == "base" and r.close_usd > 0]
    if not forming:
        return None
    last = max(forming, key=lambda r: (r.ts, r.version))
    usd = sum(r.volume_usd for r in forming)
    base = sum(r.volume_base for r in forming)
    return SourceStats(
        price=1.0 if peg else last.close_usd,
        vwap=1.0 if peg else (usd / base if base > 0 else 0.0),
        volume=usd,
        last=last.ts,
        last_version=last.version,
    )


def _asset(asset: str, stats: dict[str, SourceStats], volume: float, anchor: datetime) -> Expected:
    fresh = {s for s, st in stats.items() if anchor - st.last <= timedelta(hours=2)}
    outliers: set[str] = set()
    if len(fresh) >= 3:
        median = statistics.median(stats[s].vwap for s in fresh)
        far = {s for s in fresh if abs(stats[s].vwap - median) > 0.2 * median}
        if far != fresh:
            outliers = far
    kept = fresh - outliers
    in_vwap = {s for s in kept if stats[s].volume >= 100} or set(kept)
    latest = max(kept or set(stats), key=lambda s: (stats[s].last, stats[s].last_version, s))
    excluded = {}
    for s in stats:
        if s not in fresh:
            excluded[s] = "stale"
        elif s in outliers:
            excluded[s] = "outlier"
        elif s not in in_vwap:
            excluded[s] = "min_volume"
    return Expected(
        price_usd=stats[latest].price,
        vwap_24h=_vwap([stats[s] for s in in_vwap]),
        volume_24h_usd=volume,
        method="usd_peg" if asset in USD_QUOTES else ("vwap_24h" if in_vwap else "no_fresh_source"),
        price_at=stats[latest].last,
        sources={s: stats[s] for s in in_vwap},
        excluded=excluded,
    )


def _vwap(kept: list[SourceStats]) -> float:
    weight = sum(st.volume for st in kept)
    if not kept:
        return 0.0
    if weight > 0:
        return sum(st.vwap * st.volume for st in kept) / weight
    return sum(st.vwap for st in kept) / len(kept)
