"""Entry points: ledger bytes / files → trades, through either decoder."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from lambdas.ledger_processor import fast_decode
from lambdas.ledger_processor.facts import LedgerFacts
from lambdas.ledger_processor.ledger_files import read_ledger_file
from lambdas.ledger_processor.registry import AssetRegistry, PoolRegistry
from lambdas.ledger_processor.trades import LedgerTrades, build_trades

Decoder = Literal["fast", "sdk"]


def decode(xdr: bytes, decoder: Decoder = "fast", *, pool_changes: bool = False) -> LedgerFacts:
    if decoder == "fast":
        return fast_decode.decode_facts(xdr, pool_changes=pool_changes)
    # Imported here: the reference decoder loads all of stellar_sdk (~0.4 s), which the Lambda never needs.
    from lambdas.ledger_processor import sdk_decode  # noqa: PLC0415

    # The sdk path allocates millions of small objects; the cyclic GC would rescan them repeatedly
    # for nothing (no cycles are created), so it is paused for the decode.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return sdk_decode.decode_facts(xdr, pool_changes=pool_changes)
    finally:
        if enabled:
            gc.enable()


def extract_ledger(
    xdr: bytes,
    decoder: Decoder = "fast",
    assets: AssetRegistry | None = None,
    pools: PoolRegistry | None = None,
) -> LedgerTrades:
    return build_trades(decode(xdr, decoder), assets, pools)


def extract_file(
    path: str | Path,
    decoder: Decoder = "fast",
    assets: AssetRegistry | None = None,
    pools: PoolRegistry | None = None,
) -> Iterator[LedgerTrades]:
    """Trades of every ledger in a file (any supported container), in file order."""
    for blob in read_ledger_file(path).ledgers:
        yield extract_ledger(blob.xdr, decoder, assets, pools)
