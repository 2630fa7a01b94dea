"""Reference decoder: full ``stellar_sdk.xdr.LedgerCloseMeta`` decode, then the same selection as
``fast_decode`` (rules in ``facts.py``). Slow but written against the library's object model, so it is
the oracle the fast walker is tested against, and the fallback if the walker ever rejects a ledger.
"""

# ruff: noqa: PLR0911, PLR0912 - SCVal conversion is a flat dispatch on the value type
# XDR union arms are typed Optional by stellar-sdk; the discriminant checked before each access
# guarantees the arm, so the walkers take ``Any`` rather than asserting on every field.
from __future__ import annotations

from typing import Any

from stellar_sdk import Address as SdkAddress
from stellar_sdk import xdr as X

from lambdas.ledger_processor.facts import (
    CHANGE_REMOVED,
    CHANGE_STATE,
    SAC_TOPICS,
    TRADE_OPS,
    TRADE_TOPICS,
    ClaimAtomFact,
    EventFact,
    InstanceFact,
    LedgerFacts,
    PoolChangeFact,
)
from lambdas.ledger_processor.values import (
    NATIVE,
    Address,
    RawVal,
    ScMap,
    Text,
    account_strkey,
    asset_identity,
    contract_strkey,
)

_SUCCESS = X.TransactionResultCode.txSUCCESS
_INNER_SUCCESS = X.TransactionResultCode.txFEE_BUMP_INNER_SUCCESS


def _asset(a: Any) -> str:
    if a.type == X.AssetType.ASSET_TYPE_NATIVE:
        return NATIVE
    if a.alpha_num4 is not None:
        return asset_identity(a.alpha_num4.asset_code.asset_code4, a.alpha_num4.issuer.account_id.ed25519.uint256)
    assert a.alpha_num12 is not None
    return asset_identity(a.alpha_num12.asset_code.asset_code12, a.alpha_num12.issuer.account_id.ed25519.uint256)


def scval(v: Any) -> Any:
    """SCVal -> values model (see values.py); must agree with fast_decode.read_scval."""
    t = v.type.value
    if t == 15:
        return v.sym.sc_symbol.decode("ascii", "replace")
    if t == 14:
        return Text(v.str.sc_string.decode("utf-8", "replace"))
    if t == 13:
        return v.bytes.sc_bytes
    if t == 10:
        return (v.i128.hi.int64 << 64) | v.i128.lo.uint64
    if t == 9:
        return (v.u128.hi.uint64 << 64) | v.u128.lo.uint64
    if t == 18:
        return Address(SdkAddress.from_xdr_sc_address(v.address).address)
    if t == 16:
        return None if v.vec is None else tuple(scval(x) for x in v.vec.sc_vec)
    if t == 17:
        return None if v.map is None else ScMap((scval(e.key), scval(e.val)) for e in v.map.sc_map)
    if t == 0:
        return bool(v.b)
    if t == 1:
        return None
    if t == 3:
        return v.u32.uint32
    if t == 4:
        return v.i32.int32
    if t == 5:
        return v.u64.uint64
    if t == 6:
        return v.i64.int64
    if t == 7:
        return v.timepoint.time_point.uint64
    if t == 8:
        return v.duration.duration.uint64
    if t in (11, 12):
        return int.from_bytes(v.to_xdr_bytes()[4:], "big", signed=t == 12)
    return RawVal(t, v.to_xdr_bytes()[4:])


def _atoms(tr: Any) -> list[Any] | None:
    for r in (tr.manage_sell_offer_result, tr.manage_buy_offer_result, tr.create_passive_sell_offer_result):
        if r is not None:
            return r.success.offers_claimed if r.success is not None else None
    for p in (tr.path_payment_strict_receive_result, tr.path_payment_strict_send_result):
        if p is not None:
            return p.success.offers if p.success is not None else None
    return None


class _Reader:
    def __init__(self, facts: LedgerFacts, pool_changes: bool) -> None:
        self.facts = facts
        self.want_pools = pool_changes
        self.hints_seen: set[tuple[str, str]] = set()

    def op_results(self, results: list[Any], tx_index: int, tx_hash: str) -> None:
        for op_index, res in enumerate(results):
            if res.tr is None or res.tr.type.value not in TRADE_OPS:
                continue
            for fill, atom in enumerate(_atoms(res.tr) or []):
                t = atom.type.value
                seller = pool = None
                offer_id = None
                if atom.order_book is not None:
                    body: Any = atom.order_book
                    seller = account_strkey(body.seller_id.account_id.ed25519.uint256)
                    offer_id = body.offer_id.int64
                elif atom.liquidity_pool is not None:
                    body = atom.liquidity_pool
                    pool = body.liquidity_pool_id.pool_id.hash.hex()
                else:
                    body = atom.v0
                    seller = account_strkey(body.seller_ed25519.uint256)
                    offer_id = body.offer_id.int64
                self.facts.atoms.append(
                    ClaimAtomFact(
                        tx_index,
                        tx_hash,
                        op_index,
                        fill,
                        res.tr.type.value,
                        t,
                        seller,
                        offer_id,
                        pool,
                        _asset(body.asset_sold),
                        body.amount_sold.int64,
                        _asset(body.asset_bought),
                        body.amount_bought.int64,
                    )
                )

    def changes(self, changes: Any, tx_index: int, op_index: int, record_pools: bool = True) -> list[tuple[str, Any]]:
        instances = []
        for ch in changes.ledger_entry_changes:
            ct = ch.type.value
            if ct == CHANGE_REMOVED:
                continue
            entry = ch.created or ch.updated or ch.state or ch.restored
            assert entry is not None
            data = entry.data
            if data.liquidity_pool is not None and self.want_pools and record_pools:
                lp = data.liquidity_pool
                cp = lp.body.constant_product
                self.facts.pool_changes.append(
                    PoolChangeFact(
                        tx_index,
                        op_index,
                        ct,
                        lp.liquidity_pool_id.pool_id.hash.hex(),
                        _asset(cp.params.asset_a),
                        _asset(cp.params.asset_b),
                        cp.reserve_a.int64,
                        cp.reserve_b.int64,
                    )
                )
            elif data.contract_data is not None and ct != CHANGE_STATE:
                cd = data.contract_data
                if cd.contract.contract_id is not None and cd.key.type == X.SCValType.SCV_LEDGER_KEY_CONTRACT_INSTANCE:
                    instances.append((contract_strkey(cd.contract.contract_id.contract_id.hash), cd.val))
        return instances

    def instance_tokens(self, tx_index: int, op_index: int, instances: list[tuple[str, Any]]) -> None:
        for contract, val in instances:
            if val.instance is None or val.instance.storage is None:
                continue
            storage = ScMap((scval(e.key), scval(e.val)) for e in val.instance.storage.sc_map)
            t0, t1 = storage.get(0), storage.get(1)
            if isinstance(t0, Address) and isinstance(t1, Address):
                self.facts.instances.append(InstanceFact(tx_index, op_index, contract, t0, t1))

    def events(self, events: list[Any], tx_index: int, tx_hash: str, op_index: int) -> bool:
        soroswap = False
        for k, ev in enumerate(events):
            topics = ev.body.v0.topics
            if ev.contract_id is None or ev.type != X.ContractEventType.CONTRACT or not topics:
                continue
            first = topics[0]
            name = None
            if first.sym is not None:
                name = first.sym.sc_symbol.decode("ascii", "replace")
            elif first.str is not None:
                name = first.str.sc_string.decode("ascii", "replace")
            contract = contract_strkey(ev.contract_id.contract_id.hash)
            if name in TRADE_TOPICS:
                values = tuple(scval(t) for t in topics)
                self.facts.events.append(
                    EventFact(tx_index, tx_hash, op_index, k, contract, values, scval(ev.body.v0.data))
                )
                soroswap = soroswap or name == "SoroswapPair"
            elif name in SAC_TOPICS and len(topics) >= 2 and topics[-1].type == X.SCValType.SCV_STRING:
                hint = (contract, scval(topics[-1]))
                if hint not in self.hints_seen:
                    self.hints_seen.add(hint)
                    self.facts.sac_hints.append(hint)
        return soroswap

    def tx_meta(self, meta: Any, tx_index: int, tx_hash: str) -> None:
        self.facts.meta_versions.add(meta.v)
        body: Any = {0: None, 1: meta.v1, 2: meta.v2, 3: meta.v3, 4: meta.v4}[meta.v]
        ops: Any = meta.operations if meta.v == 0 else body.operations
        for op_index, op in enumerate(ops):
            instances = self.changes(op.changes, tx_index, op_index)
            if meta.v == 4 and self.events(op.events, tx_index, tx_hash, op_index) and instances:
                self.instance_tokens(tx_index, op_index, instances)
        if meta.v == 3 and body.soroban_meta is not None:  # noqa: SIM102 - the call has side effects
            if self.events(body.soroban_meta.events, tx_index, tx_hash, 0):
                self.instance_tokens(tx_index, 0, self.changes(ops[0].changes, tx_index, 0, record_pools=False))


def decode_facts(xdr: bytes, *, pool_changes: bool = False) -> LedgerFacts:
    lcm = X.LedgerCloseMeta.from_xdr_bytes(xdr)
    body: Any = {0: lcm.v0, 1: lcm.v1, 2: lcm.v2}[lcm.v]
    header = body.ledger_header.header
    facts = LedgerFacts(
        sequence=header.ledger_seq.uint32,
        close_time=header.scp_value.close_time.time_point.uint64,
        protocol=header.ledger_version.uint32,
        lcm_version=lcm.v,
    )
    reader = _Reader(facts, pool_changes)
    facts.tx_count = len(body.tx_processing)
    for tx_index, tp in enumerate(body.tx_processing):
        pair = tp.result
        tx_hash = pair.transaction_hash.hash.hex()
        result = pair.result.result
        results = None
        if result.code == _SUCCESS:
            results = result.results
        elif result.code == _INNER_SUCCESS and result.inner_result_pair is not None:
            inner = result.inner_result_pair.result.result
            if inner.code == _SUCCESS:
                results = inner.results
        if results is None:
            facts.failed_tx_count += 1
            continue
        reader.op_results(results, tx_index, tx_hash)
        reader.tx_meta(tp.tx_apply_processing, tx_index, tx_hash)
    return facts
