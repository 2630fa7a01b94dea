"""What a decoder reads out of one LedgerCloseMeta: the raw facts trades are built from.

Both decoders (``fast_decode`` and ``sdk_decode``) return a ``LedgerFacts``; trade building
(``trades.py``) only ever sees these, so "both paths give identical trades" reduces to "both paths
give equal facts", which the tests check field by field on every fixture.

Selection rules (shared, so the fast walker can skip everything else):
- only successful transactions (``txSUCCESS``, or ``txFEE_BUMP_INNER_SUCCESS`` with a successful
  inner result) contribute anything;
- ClaimAtoms of ManageSellOffer, ManageBuyOffer, CreatePassiveSellOffer and both path payments;
- contract events (type CONTRACT) whose first topic is one of ``TRADE_TOPICS``, fully decoded;
- SAC hints: events whose first topic is one of ``SAC_TOPICS`` and whose last topic is a String (the
  CAP-67 SEP-11 asset name); they let the registry map a SAC contract back to its classic asset;
- contract-instance storage of contracts in operations that emitted a ``SoroswapPair`` event (that is
  where a Soroswap pair keeps token_0/token_1 under u32 keys 0 and 1);
- liquidity-pool entry changes only when asked (used by the reserve-conservation check).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TRADE_TOPICS = frozenset({"trade", "swap", "SoroswapPair", "SoroswapFactory", "POOL", "LOG"})
SAC_TOPICS = frozenset({"transfer", "mint", "burn", "clawback", "approve", "set_authorized", "set_admin"})

# OperationType values whose results carry ClaimAtoms.
OP_PATH_PAYMENT_STRICT_RECEIVE = 2
OP_MANAGE_SELL_OFFER = 3
OP_CREATE_PASSIVE_SELL_OFFER = 4
OP_MANAGE_BUY_OFFER = 12
OP_PATH_PAYMENT_STRICT_SEND = 13
TRADE_OPS = frozenset(
    {
        OP_PATH_PAYMENT_STRICT_RECEIVE,
        OP_MANAGE_SELL_OFFER,
        OP_CREATE_PASSIVE_SELL_OFFER,
        OP_MANAGE_BUY_OFFER,
        OP_PATH_PAYMENT_STRICT_SEND,
    }
)

# ClaimAtomType
ATOM_V0 = 0
ATOM_ORDER_BOOK = 1
ATOM_LIQUIDITY_POOL = 2

# LedgerEntryChangeType
CHANGE_CREATED, CHANGE_UPDATED, CHANGE_REMOVED, CHANGE_STATE, CHANGE_RESTORED = 0, 1, 2, 3, 4


@dataclass(frozen=True)
class ClaimAtomFact:
    tx_index: int
    tx_hash: str
    op_index: int
    fill_index: int
    op_type: int
    atom_type: int
    seller: str | None  # maker account (order book / v0)
    offer_id: int | None
    pool_id: str | None  # hex liquidity pool id
    asset_sold: str  # what the maker (offer owner or pool) gave up
    amount_sold: int
    asset_bought: str
    amount_bought: int


@dataclass(frozen=True)
class EventFact:
    tx_index: int
    tx_hash: str
    op_index: int
    event_index: int  # position among the operation's contract events
    contract: str
    topics: tuple[Any, ...]
    data: Any


@dataclass(frozen=True)
class InstanceFact:
    """Token pair found in a contract's instance storage (u32 keys 0 and 1 holding addresses)."""

    tx_index: int
    op_index: int
    contract: str
    token_0: str
    token_1: str


@dataclass(frozen=True)
class PoolChangeFact:
    tx_index: int
    op_index: int
    change_type: int
    pool_id: str
    asset_a: str
    asset_b: str
    reserve_a: int
    reserve_b: int


@dataclass
class LedgerFacts:
    sequence: int
    close_time: int
    protocol: int
    lcm_version: int
    tx_count: int = 0
    failed_tx_count: int = 0
    meta_versions: set[int] = field(default_factory=set)
    atoms: list[ClaimAtomFact] = field(default_factory=list)
    events: list[EventFact] = field(default_factory=list)
    sac_hints: list[tuple[str, str]] = field(default_factory=list)
    instances: list[InstanceFact] = field(default_factory=list)
    pool_changes: list[PoolChangeFact] = field(default_factory=list)
