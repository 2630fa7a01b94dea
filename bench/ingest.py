"""Decode+extract throughput on one core: fast walker vs stellar-sdk full decode, same run, same input.

Input: the six mainnet fixture ledgers (decompressed once, outside the timing). Each round decodes
and extracts every ledger; the best round of each path is kept (least disturbed by other load).
The sdk path is timed twice: as the library runs by default (GC on) and with the cyclic GC paused
(what ``extract.decode(..., "sdk")`` does). The headline ratio uses the stricter, GC-off baseline.
Trades are asserted identical between the paths before anything is printed.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from pathlib import Path

from lambdas.ledger_processor import fast_decode, sdk_decode
from lambdas.ledger_processor.facts import LedgerFacts
from lambdas.ledger_processor.ledger_files import read_ledger_file
from lambdas.ledger_processor.trades import Trade, build_trades

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "stellar" / "mainnet"


def _run(decode: Callable[[bytes], LedgerFacts], ledgers: list[bytes]) -> list[list[Trade]]:
    return [build_trades(decode(x)).trades for x in ledgers]


def _best(decode: Callable[[bytes], LedgerFacts], ledgers: list[bytes], rounds: int, gc_on: bool) -> float:
    best = float("inf")
    for _ in range(rounds):
        if not gc_on:
            gc.disable()
        t0 = time.perf_counter()
        _run(decode, ledgers)
        best = min(best, time.perf_counter() - t0)
        gc.enable()
        gc.collect()
    return best


def main() -> None:
    ledgers = [b.xdr for f in sorted(FIXTURES.iterdir()) for b in read_ledger_file(f).ledgers]
    n = len(ledgers)
    mb = sum(map(len, ledgers)) / 1e6
    fast_trades = _run(fast_decode.decode_facts, ledgers)
    sdk_trades = _run(sdk_decode.decode_facts, ledgers)
    assert fast_trades == sdk_trades, "fast and sdk paths disagree"
    total = sum(map(len, fast_trades))

    fast = _best(fast_decode.decode_facts, ledgers, rounds=15, gc_on=True)
    sdk_gc_on = _best(sdk_decode.decode_facts, ledgers, rounds=3, gc_on=True)
    sdk_gc_off = _best(sdk_decode.decode_facts, ledgers, rounds=3, gc_on=False)

    print(f"input: {n} mainnet ledgers, {mb:.2f} MB XDR, {total} trades (identical on both paths)")
    for name, t in [("fast walker", fast), ("sdk, GC on", sdk_gc_on), ("sdk, GC off", sdk_gc_off)]:
        print(f"{name:12s} {t * 1000:8.1f} ms/round  {n / t:8.1f} ledgers/s  {mb / t:6.1f} MB/s")
    print(f"ratio vs sdk with GC on (library default): {sdk_gc_on / fast:.1f}x")
    print(f"ingest ratio: {sdk_gc_off / fast:.1f}x")


if __name__ == "__main__":
    main()
