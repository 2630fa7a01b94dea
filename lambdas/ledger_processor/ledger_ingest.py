"""One ledger file's bytes → everything the writer needs, with every failure classified.

This stage is pure (no I/O): the same bytes always give the same result or the same error, so any
failure here is *poison* — retrying cannot help, SQS redelivers it until ``maxReceiveCount`` and then parks
it in the DLQ. Transient failures (S3, ClickHouse) happen outside this module.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from dataclasses import dataclass

import zstandard

from lambdas.ledger_processor.candles import LedgerParts, build_parts
from lambdas.ledger_processor.extract import decode
from lambdas.ledger_processor.ledger_files import ledger_from_key, read_ledger_bytes, zstd_decompress
from lambdas.ledger_processor.network_check import NetworkCheck, WrongNetworkError, check_network
from lambdas.ledger_processor.registry import AssetRegistry, PoolRegistry
from lambdas.ledger_processor.trades import LedgerTrades, build_trades

_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_GZIP_MAGIC = b"\x1f\x8b"


class PoisonLedgerError(ValueError):
    """The input can never be ingested as it is; ``reason`` is a short stable code for logs and metrics."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


@dataclass(frozen=True)
class PreparedLedger:
    ledger: int
    close_time: int
    file_key: str
    sha256: str  # of the decompressed bytes
    trades: LedgerTrades
    parts: LedgerParts
    network: NetworkCheck

    @property
    def trade_count(self) -> int:
        return len(self.trades.trades)

    @property
    def unresolved_count(self) -> int:
        return len(self.trades.unresolved)


def ledger_for_key(key: str) -> int:
    try:
        return ledger_from_key(key)
    except ValueError as exc:
        raise PoisonLedgerError("bad_key", str(exc)) from exc


def decompress(data: bytes, source: str) -> bytes:
    """The container's payload (zstd / gzip by magic bytes; anything else is taken as raw XDR)."""
    try:
        if data.startswith(_ZSTD_MAGIC):
            return zstd_decompress(data)
        if data.startswith(_GZIP_MAGIC):
            return gzip.decompress(data)
    except (zstandard.ZstdError, OSError, EOFError, zlib.error) as exc:
        raise PoisonLedgerError("corrupt_container", f"{source}: {exc}") from exc
    return data


def prepare_ledger(data: bytes, file_key: str, passphrase: str, expected_ledger: int | None) -> PreparedLedger:
    """Decompress, split, check the network, extract trades (fresh registries) and build candle parts.

    Fresh registries per ledger keep a ledger's rows a pure function of that ledger (order independence):
    a SAC or Soroswap pair is resolved from what the ledger itself proves (docs/candles.md).
    """
    raw = decompress(data, file_key)
    digest = hashlib.sha256(raw).hexdigest()
    try:
        batch = read_ledger_bytes(raw, file_key)
    except Exception as exc:  # pure parsing of untrusted bytes: any failure is a malformed file
        raise PoisonLedgerError("bad_xdr", f"{file_key}: cannot split ledger file: {exc!r}") from exc
    if len(batch.ledgers) != 1:
        raise PoisonLedgerError("bad_xdr", f"{file_key}: expected exactly one ledger, found {len(batch.ledgers)}")
    xdr = batch.ledgers[0].xdr
    try:
        network = check_network(xdr, passphrase)
    except WrongNetworkError as exc:
        raise PoisonLedgerError("wrong_network", f"{file_key}: {exc}") from exc
    except Exception as exc:
        raise PoisonLedgerError("bad_xdr", f"{file_key}: cannot walk the transaction set: {exc!r}") from exc
    try:
        facts = decode(xdr, "fast")
        trades = build_trades(facts, AssetRegistry(passphrase), PoolRegistry())
    except Exception as exc:
        raise PoisonLedgerError("bad_xdr", f"{file_key}: cannot decode ledger: {exc!r}") from exc
    if expected_ledger is not None and facts.sequence != expected_ledger:
        raise PoisonLedgerError("ledger_mismatch", f"{file_key} names ledger {expected_ledger}, holds {facts.sequence}")
    declared = (batch.start_sequence, batch.end_sequence)
    if declared not in ((None, None), (facts.sequence, facts.sequence)):
        raise PoisonLedgerError("ledger_mismatch", f"{file_key}: batch declares {declared}, holds {facts.sequence}")
    try:
        parts = build_parts(facts.sequence, trades.trades)
    except ValueError as exc:
        raise PoisonLedgerError("bad_trades", f"{file_key}: {exc}") from exc
    return PreparedLedger(facts.sequence, facts.close_time, file_key, digest, trades, parts, network)
