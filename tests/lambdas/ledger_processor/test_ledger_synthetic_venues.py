"""Phoenix and Comet have no public sample: build them by editing a real ledger (57500008) with the
stellar-sdk XDR classes, replacing the Aquarius events of tx 239 in place, then run both decoders.

Shapes assumed (unverified on mainnet, see docs/ledger-processing.md):
- Phoenix pool: 8 events, topics [String "swap", String <field>], data = the single field value
- Comet pool: topics [Symbol "POOL", Symbol "swap"], data = map SwapEvent
  {caller, token_amount_in, token_amount_out, token_in, token_out}
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from stellar_sdk import StrKey, scval
from stellar_sdk import xdr as X

from lambdas.ledger_processor.extract import extract_ledger
from lambdas.ledger_processor.fast_decode import decode_facts as fast_facts
from lambdas.ledger_processor.sdk_decode import decode_facts as sdk_facts
from lambdas.ledger_processor.trades import USDC, Trade
from lambdas.ledger_processor.values import NATIVE, sac_contract_id
from tests.lambdas.ledger_processor.helpers import mainnet_xdr

POOL = "CA6PUJLBYKZKUEKLZJMKBZLEKP2OTHANDEOWSFF44FTSYLKQPIICCJBE"
USER = "GA7QBBEEGMIMM3EQ73NI3HDFPTKHGZDHR4PYBYVNWC6HFQYQVV6SRPVI"
XLM_SAC, USDC_SAC = sac_contract_id(NATIVE), sac_contract_id(USDC)


def _event(contract: str, topics: list[X.SCVal], data: X.SCVal) -> X.ContractEvent:
    return X.ContractEvent(
        ext=X.ExtensionPoint(0),
        contract_id=X.ContractID(X.Hash(StrKey.decode_contract(contract))),
        type=X.ContractEventType.CONTRACT,
        body=X.ContractEventBody(0, X.ContractEventV0(topics=topics, data=data)),
    )


def _edit(replacement: list[X.ContractEvent]) -> bytes:
    """57500008 with tx 239 op 0's Aquarius `trade` (event 6) replaced by `replacement` and the router
    `swap` (event 7) replaced by a copy of the unrelated event 8, so only the new venue remains."""
    lcm: Any = X.LedgerCloseMeta.from_xdr_bytes(mainnet_xdr(57500008))
    events = lcm.v1.tx_processing[239].tx_apply_processing.v4.operations[0].events
    assert events[6].body.v0.topics[0].sym.sc_symbol == b"trade"
    assert events[7].body.v0.topics[0].sym.sc_symbol == b"swap"
    events[7] = copy.deepcopy(events[8])
    events[6:7] = replacement
    return lcm.to_xdr_bytes()


def _amm(xdr: bytes) -> list[Trade]:
    assert fast_facts(xdr, pool_changes=True) == sdk_facts(xdr, pool_changes=True)
    assert extract_ledger(xdr, "fast") == extract_ledger(xdr, "sdk")
    return [t for t in extract_ledger(xdr).trades if t.kind == "amm"]


def test_phoenix_swap_from_edited_ledger() -> None:
    fields = [
        ("sender", scval.to_address(USER)),
        ("sell_token", scval.to_address(XLM_SAC)),
        ("offer_amount", scval.to_int128(71_317_751)),
        ("actual received amount", scval.to_int128(71_317_751)),
        ("buy_token", scval.to_address(USDC_SAC)),
        ("return_amount", scval.to_int128(20_000_000)),
        ("spread_amount", scval.to_int128(1_234)),
        ("referral_fee_amount", scval.to_int128(0)),
    ]
    evs = [_event(POOL, [scval.to_string("swap"), scval.to_string(k)], v) for k, v in fields]
    (t,) = _amm(_edit(evs))
    assert (t.source, t.venue_id, t.trader) == ("phoenix", POOL, USER)
    assert (t.base_asset, t.quote_asset, t.side) == (NATIVE, USDC, "sell")
    assert (t.base_amount, t.quote_amount) == (Decimal("7.1317751"), Decimal("2.0000000"))
    assert t.fill_index == 6  # the first event of the group


def test_phoenix_incomplete_group_is_not_a_trade() -> None:
    evs = [
        _event(POOL, [scval.to_string("swap"), scval.to_string("sell_token")], scval.to_address(XLM_SAC)),
        _event(POOL, [scval.to_string("swap"), scval.to_string("offer_amount")], scval.to_int128(5)),
    ]
    assert _amm(_edit(evs)) == []


def test_comet_swap_from_edited_ledger() -> None:
    data = scval.to_map(
        {
            scval.to_symbol("caller"): scval.to_address(USER),
            scval.to_symbol("token_amount_in"): scval.to_int128(20_000_000),
            scval.to_symbol("token_amount_out"): scval.to_int128(71_000_000),
            scval.to_symbol("token_in"): scval.to_address(USDC_SAC),
            scval.to_symbol("token_out"): scval.to_address(XLM_SAC),
        }
    )
    ev = _event(POOL, [scval.to_symbol("POOL"), scval.to_symbol("swap")], data)
    (t,) = _amm(_edit([ev]))
    assert (t.source, t.venue_id, t.trader, t.side) == ("comet", POOL, USER, "buy")
    assert (t.base_asset, t.quote_asset) == (NATIVE, USDC)
    assert (t.base_amount, t.quote_amount) == (Decimal("7.1000000"), Decimal("2.0000000"))


def test_unedited_ledger_still_aquarius() -> None:
    assert [t.source for t in _amm(mainnet_xdr(57500008))] == ["aquarius"]
