"""The fast walker and the stellar-sdk path must agree on every fixture; the skip module must be fresh."""

from __future__ import annotations

import pytest

from lambdas.ledger_processor import fast_decode, sdk_decode, xdr_skip, xdr_skip_gen
from lambdas.ledger_processor.trades import build_trades
from tests.lambdas.ledger_processor.helpers import ALL_FILES, ledger_xdrs


@pytest.mark.parametrize("rel", ALL_FILES)
def test_fast_equals_sdk_facts_and_trades(rel: str) -> None:
    for xdr in ledger_xdrs(rel):
        assert xdr_skip.skip_LedgerCloseMeta(xdr, 0) == len(xdr)
        fast = fast_decode.decode_facts(xdr, pool_changes=True)
        ref = sdk_decode.decode_facts(xdr, pool_changes=True)
        assert fast == ref
        assert build_trades(fast) == build_trades(ref)
        # without pool changes the walker takes a different branch; trades must not change
        assert build_trades(fast_decode.decode_facts(xdr)).trades == build_trades(ref).trades


def test_generated_skipper_is_current() -> None:
    assert xdr_skip_gen.generate() == xdr_skip_gen.TARGET.read_text()


def test_walker_rejects_garbage() -> None:
    xdr = ledger_xdrs(ALL_FILES[0])[0]
    with pytest.raises(ValueError):
        fast_decode.decode_facts(b"\0\0\0\x07" + xdr[4:])
    with pytest.raises(Exception):  # noqa: B017 - struct.error or ValueError, both mean "rejected"
        fast_decode.decode_facts(xdr[: len(xdr) // 2])
