"""Is this ledger from the network we are configured for?

Nothing in a LedgerCloseMeta names its network, but every transaction hash does: it is
``sha256(sha256(passphrase) ‖ envelope type ‖ tx)`` (the TransactionSignaturePayload). We recompute the
hash of the first transaction envelope in the tx set with the configured passphrase and require it to be
one of the ``TransactionResultPair.transactionHash`` values in ``txProcessing``. A file from another
network (e.g. the testnet-local fixtures) can never match.

Only raw bytes are hashed: the envelope's union arm (ENVELOPE_TYPE_TX = 2 / ENVELOPE_TYPE_TX_FEE_BUMP = 5)
is the same 4 bytes as the payload's envelope-type field, so the payload is ``network id ‖ arm ‖ tx`` taken
straight from the file. Pre-protocol-13 V0 envelopes (arm 0) are skipped (their hash needs a re-encoding).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from lambdas.ledger_processor import xdr_skip as sk

ENVELOPE_TYPE_TX_V0 = 0
ENVELOPE_TYPE_TX = 2
ENVELOPE_TYPE_TX_FEE_BUMP = 5
_U32 = struct.Struct(">I")


class WrongNetworkError(ValueError):
    """The ledger's transactions were not signed for the configured network."""


@dataclass(frozen=True)
class NetworkCheck:
    checked: bool  # False: no hashable envelope (empty ledger, or V0 envelopes only)
    tx_hash: str | None = None


def _u32(b: bytes, o: int) -> int:
    return int(_U32.unpack_from(b, o)[0])


def _envelopes_v0_set(b: bytes, o: int) -> tuple[list[int], int]:
    # TransactionSet { Hash previousLedgerHash; TransactionEnvelope txs<>; }
    o += 32
    n = _u32(b, o)
    o += 4
    offsets = []
    for _ in range(n):
        offsets.append(o)
        o = sk.skip_TransactionEnvelope(b, o)
    return offsets, o


def _envelope_list(b: bytes, o: int, out: list[int]) -> int:
    n = _u32(b, o)
    o += 4
    for _ in range(n):
        out.append(o)
        o = sk.skip_TransactionEnvelope(b, o)
    return o


def _skip_optional_int64(b: bytes, o: int) -> int:
    return o + 4 + (8 if _u32(b, o) else 0)


def _envelopes_generalized(b: bytes, o: int) -> tuple[list[int], int]:
    # GeneralizedTransactionSet (v=1) { TransactionSetV1 { Hash previousLedgerHash; TransactionPhase phases<> } }
    if _u32(b, o) != 1:
        raise ValueError(f"unsupported GeneralizedTransactionSet version {_u32(b, o)}")
    o += 4 + 32
    offsets: list[int] = []
    phases = _u32(b, o)
    o += 4
    for _ in range(phases):
        phase_v = _u32(b, o)
        o += 4
        if phase_v == 0:  # TxSetComponent v0Components<>
            components = _u32(b, o)
            o += 4
            for _ in range(components):
                if _u32(b, o) != 0:
                    raise ValueError(f"unsupported TxSetComponent type {_u32(b, o)}")
                o = _skip_optional_int64(b, o + 4)  # txsMaybeDiscountedFee.baseFee
                o = _envelope_list(b, o, offsets)
        elif phase_v == 1:  # ParallelTxsComponent { int64* baseFee; ParallelTxExecutionStage stages<> }
            o = _skip_optional_int64(b, o)
            stages = _u32(b, o)
            o += 4
            for _ in range(stages):
                clusters = _u32(b, o)  # a stage is DependentTxCluster<>, a cluster TransactionEnvelope<>
                o += 4
                for _ in range(clusters):
                    o = _envelope_list(b, o, offsets)
        else:
            raise ValueError(f"unsupported TransactionPhase version {phase_v}")
    return offsets, o


def envelope_offsets(xdr: bytes) -> tuple[list[int], int]:
    """Offsets of every TransactionEnvelope in the tx set, and the offset where txProcessing starts."""
    lcm_v = _u32(xdr, 0)
    if lcm_v not in (0, 1, 2):
        raise ValueError(f"unsupported LedgerCloseMeta version {lcm_v}")
    o = 4
    if lcm_v:
        o = sk.skip_LedgerCloseMetaExt(xdr, o)
    o = sk.skip_LedgerHeaderHistoryEntry(xdr, o)
    if lcm_v == 0:
        return _envelopes_v0_set(xdr, o)
    offsets, end = _envelopes_generalized(xdr, o)
    if end != sk.skip_GeneralizedTransactionSet(xdr, o):
        raise ValueError("transaction set walk ended at the wrong offset")
    return offsets, end


def _hashes(xdr: bytes, offsets: list[int], network_id: bytes) -> Iterator[bytes]:
    for o in offsets:
        arm = _u32(xdr, o)
        if arm == ENVELOPE_TYPE_TX:
            end = sk.skip_Transaction(xdr, o + 4)
        elif arm == ENVELOPE_TYPE_TX_FEE_BUMP:
            end = sk.skip_FeeBumpTransaction(xdr, o + 4)
        else:
            continue
        yield hashlib.sha256(network_id + xdr[o:end]).digest()


def check_network(xdr: bytes, passphrase: str) -> NetworkCheck:
    """Raise ``WrongNetworkError`` unless the first hashable envelope hashes, under ``passphrase``, to a
    transaction hash present in the ledger's results."""
    network_id = hashlib.sha256(passphrase.encode("utf-8")).digest()
    offsets, processing_start = envelope_offsets(xdr)
    for digest in _hashes(xdr, offsets, network_id):
        # The results (TransactionResultPair.transactionHash) follow the tx set; a 32-byte hash cannot
        # appear there by chance.
        if xdr.find(digest, processing_start) < 0:
            raise WrongNetworkError(
                f"transaction hash {digest.hex()} computed with the configured passphrase {passphrase!r} "
                "is not among the ledger's results: the file is from another network"
            )
        return NetworkCheck(True, digest.hex())
    return NetworkCheck(False)
