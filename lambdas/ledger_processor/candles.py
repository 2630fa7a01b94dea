"""Trades of one ledger → per-ledger partial candles (rows of ``prices.candle_parts_1m``).

The rows are a pure function of the ledger's trades: same ledger, same rows, same keys, same content
hash. That is what makes replays (any number, any order, any concurrency) idempotent: the table is a
ReplacingMergeTree keyed by ``(asset_id, quote_asset_id, source, timestamp, ledger)`` and the 1m tier
is recomputed from it whole (``schema/rollups.py``, docs/candles.md).
"""

from __future__ import annotations

import decimal
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from lambdas.ledger_processor.trades import Trade

# Global trade-order key: ledger << 32 | tx_index << 20 | op_index << 13 | fill_index (64 bits).
#   ledger      32 bits: a ledger sequence is an XDR uint32.
#   tx_index    12 bits: < 4096 transactions per ledger (mainnet tx sets hold ~1000 ops plus a few
#                        hundred Soroban txs; every tx has at least one op).
#   op_index     7 bits: at most 100 operations per transaction (protocol limit MAX_OPS_PER_TX).
#   fill_index  13 bits: ClaimAtoms per op are capped by MAX_OFFERS_TO_CROSS = 1000; for Soroban it is
#                        the event index within the operation (< 8192 by the event-size limits).
TX_BITS, OP_BITS, FILL_BITS = 12, 7, 13
LEDGER_SHIFT = TX_BITS + OP_BITS + FILL_BITS
assert LEDGER_SHIFT == 32  # the bit budget must add up to the low word

# Decimal(38, 18) columns: 20 integer digits, 18 fractional.
VOLUME_SCALE = Decimal("1e-18")
VOLUME_LIMIT = Decimal("1e20")
_QUANTIZE = decimal.Context(prec=60, rounding=decimal.ROUND_HALF_EVEN)

PART_COLUMNS: tuple[str, ...] = (
    "timestamp",
    "asset_id",
    "quote_asset_id",
    "source",
    "ledger",
    "open",
    "open_order",
    "high",
    "low",
    "close",
    "close_order",
    "volume_base",
    "volume_quote",
    "trade_count",
)
PART_COLUMN_TYPES: tuple[str, ...] = (
    "DateTime('UTC')",
    "String",
    "String",
    "LowCardinality(String)",
    "UInt32",
    "Float64",
    "UInt64",
    "Float64",
    "Float64",
    "Float64",
    "UInt64",
    "Decimal(38, 18)",
    "Decimal(38, 18)",
    "UInt32",
)


class TradeOrderError(ValueError):
    """A trade coordinate does not fit the order-key bit budget (never seen; the ledger is poison)."""


def trade_order(ledger: int, tx_index: int, op_index: int, fill_index: int) -> int:
    for name, value, bits in (
        ("ledger", ledger, 32),
        ("tx_index", tx_index, TX_BITS),
        ("op_index", op_index, OP_BITS),
        ("fill_index", fill_index, FILL_BITS),
    ):
        if not 0 <= value < (1 << bits):
            raise TradeOrderError(f"{name}={value} does not fit {bits} bits of the trade-order key")
    return (ledger << LEDGER_SHIFT) | (tx_index << (OP_BITS + FILL_BITS)) | (op_index << FILL_BITS) | fill_index


def order_of(t: Trade) -> int:
    return trade_order(t.ledger, t.tx_index, t.op_index, t.fill_index)


@dataclass(frozen=True)
class CandlePart:
    timestamp: datetime  # minute start, UTC
    asset_id: str
    quote_asset_id: str
    source: str
    ledger: int
    open: float
    open_order: int
    high: float
    low: float
    close: float
    close_order: int
    volume_base: Decimal
    volume_quote: Decimal
    trade_count: int

    def row(self) -> list[object]:
        return [getattr(self, c) for c in PART_COLUMNS]


@dataclass(frozen=True)
class LedgerParts:
    ledger: int
    parts: tuple[CandlePart, ...]
    trades_used: int
    trades_skipped: int  # amounts that do not fit Decimal(38, 18): counted, not written

    @property
    def content_hash(self) -> str:
        return parts_content_hash(self.parts)

    @property
    def minutes(self) -> tuple[datetime, ...]:
        return tuple(sorted({p.timestamp for p in self.parts}))


def _volume(value: Decimal) -> Decimal:
    return value.quantize(VOLUME_SCALE, context=_QUANTIZE)


def _fits(value: Decimal) -> bool:
    return abs(value) < VOLUME_LIMIT


def minute_of(close_time: int) -> datetime:
    return datetime.fromtimestamp(close_time - close_time % 60, tz=UTC)


def build_parts(ledger: int, trades: Iterable[Trade]) -> LedgerParts:
    """One ``CandlePart`` per (minute, base, quote, source) of one ledger's trades.

    Base/quote orientation is the extraction's (``trades.orient``); open/close follow the trade order
    (tx_index, op_index, fill_index) inside the ledger.
    """
    groups: dict[tuple[datetime, str, str, str], list[tuple[int, Trade]]] = defaultdict(list)
    used = skipped = 0
    for t in trades:
        if t.ledger != ledger:
            raise ValueError(f"trade of ledger {t.ledger} passed as ledger {ledger}")
        if not (_fits(t.base_amount) and _fits(t.quote_amount)):
            skipped += 1
            continue
        used += 1
        groups[(minute_of(t.close_time), t.base_asset, t.quote_asset, t.source)].append((order_of(t), t))
    parts: list[CandlePart] = []
    for (minute, base, quote, source), items in sorted(groups.items()):
        items.sort(key=lambda it: it[0])
        prices = [float(t.price) for _, t in items]
        vb = sum((t.base_amount for _, t in items), Decimal(0))
        vq = sum((t.quote_amount for _, t in items), Decimal(0))
        if not (_fits(vb) and _fits(vq)):
            skipped += len(items)
            used -= len(items)
            continue
        parts.append(
            CandlePart(
                timestamp=minute,
                asset_id=base,
                quote_asset_id=quote,
                source=source,
                ledger=ledger,
                open=prices[0],
                open_order=items[0][0],
                high=max(prices),
                low=min(prices),
                close=prices[-1],
                close_order=items[-1][0],
                volume_base=_volume(vb),
                volume_quote=_volume(vq),
                trade_count=len(items),
            )
        )
    return LedgerParts(ledger, tuple(parts), used, skipped)


def parts_content_hash(parts: Sequence[CandlePart]) -> str:
    """Stable digest of the rows (repr of floats round-trips exactly; Decimals are quantized)."""
    h = hashlib.sha256()
    for p in sorted(parts, key=lambda p: (p.asset_id, p.quote_asset_id, p.source, p.timestamp)):
        h.update("\x1f".join(repr(v) if isinstance(v, float) else str(v) for v in p.row()).encode())
        h.update(b"\x1e")
    return h.hexdigest()
