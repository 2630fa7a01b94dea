"""Fixture paths and cached decodes shared by the ledger-processor tests."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from stellar_sdk import xdr as X

from lambdas.ledger_processor import fast_decode, sdk_decode
from lambdas.ledger_processor.facts import LedgerFacts
from lambdas.ledger_processor.ledger_files import read_ledger_file

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO.parent / "shared" / "fixtures" / "stellar"

MAINNET = {
    53312000: "mainnet/FCD285FF--53312000.xdr.zstd",
    51000294: "mainnet/ledger-51000294.xdr.gz",
    57500008: "mainnet/ledger-57500008.xdr.gz",
    63092988: "mainnet/ledger-63092988.xdr.gz",
    63092990: "mainnet/ledger-63092990.xdr.gz",
    63092996: "mainnet/ledger-63092996.xdr.gz",
}
OTHER = [
    "testnet-local/FFFFFC18--999.xdr.zstd",
    "testnet-local/FFFFFC19--998.xdr.zstd",
    "testnet-local/FFFFFC1A--997.xdr.zstd",
    "synthetic-loadtest/load-test-ledgers-v22.xdr.zstd",
    "synthetic-loadtest/load-test-ledgers-v24.xdr.zstd",
]
ALL_FILES = list(MAINNET.values()) + OTHER


@cache
def ledger_xdrs(rel: str) -> tuple[bytes, ...]:
    return tuple(b.xdr for b in read_ledger_file(FIXTURES / rel).ledgers)


@cache
def mainnet_xdr(seq: int) -> bytes:
    (xdr,) = ledger_xdrs(MAINNET[seq])
    return xdr


@cache
def sdk_lcm(seq: int) -> X.LedgerCloseMeta:
    return X.LedgerCloseMeta.from_xdr_bytes(mainnet_xdr(seq))


@cache
def facts(seq: int, decoder: str = "fast") -> LedgerFacts:
    mod = fast_decode if decoder == "fast" else sdk_decode
    return mod.decode_facts(mainnet_xdr(seq), pool_changes=True)
