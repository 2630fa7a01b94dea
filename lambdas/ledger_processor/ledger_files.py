"""Ledger file names (SEP-54 / Galexie data-lake keys) and the containers ledgers arrive in.

Every reader returns the raw XDR bytes of each ``LedgerCloseMeta``; decoding is left to the caller so
that the fast walker and the stellar-sdk path start from exactly the same bytes.
"""

from __future__ import annotations

import gzip
import io
import re
import struct
from dataclasses import dataclass
from pathlib import Path

import zstandard

from lambdas.ledger_processor.xdr_skip import skip_LedgerCloseMeta

LEDGERS_PER_PARTITION = 64_000
_MASK = 0xFFFFFFFF
_FILE_RE = re.compile(r"^(?P<inv>[0-9A-F]{8})--(?P<seq>\d+)(?:-(?P<end>\d+))?\.xdr\.zstd?$")
_PART_RE = re.compile(r"^(?P<pinv>[0-9A-F]{8})--(?P<pstart>\d+)-(?P<pend>\d+)$")
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_GZIP_MAGIC = b"\x1f\x8b"
_U32 = struct.Struct(">I")


def ledger_key_for(seq: int, suffix: str = ".xdr.zst") -> str:
    """SEP-54 object key of a one-ledger file, partition prefix included."""
    if not 0 <= seq <= _MASK:
        raise ValueError(f"ledger sequence out of range: {seq}")
    start = seq - seq % LEDGERS_PER_PARTITION
    end = start + LEDGERS_PER_PARTITION - 1
    return f"{_MASK - start:08X}--{start}-{end}/{_MASK - seq:08X}--{seq}{suffix}"


def ledger_from_key(key: str) -> int:
    """Ledger sequence named by a SEP-54 key (``.xdr.zst`` or ``.xdr.zstd``, with or without partition).

    The hex prefixes are checked against the decimal numbers, so a mangled key is rejected instead of
    being silently trusted for one of its two spellings of the sequence.
    """
    parts = key.split("/")
    m = _FILE_RE.match(parts[-1])
    if m is None:
        raise ValueError(f"not a SEP-54 ledger key (want [PART/]XXXXXXXX--SEQ.xdr.zst[d]): {key!r}")
    seq = int(m["seq"])
    if int(m["inv"], 16) != _MASK - seq:
        raise ValueError(f"hex prefix {m['inv']} does not match ledger {seq} in {key!r}")
    if m["end"] is not None and int(m["end"]) != seq:
        raise ValueError(f"multi-ledger files are not supported (ledgers_per_file = 1): {key!r}")
    # the partition directory is optional (keys are also handled without it), but checked if present
    p = _PART_RE.match(parts[-2]) if len(parts) > 1 else None
    if p is not None:
        pstart, pend = int(p["pstart"]), int(p["pend"])
        expected = seq - seq % LEDGERS_PER_PARTITION
        if int(p["pinv"], 16) != _MASK - pstart or (pstart, pend) != (expected, expected + LEDGERS_PER_PARTITION - 1):
            raise ValueError(f"partition prefix does not match ledger {seq} in {key!r}")
    return seq


@dataclass(frozen=True)
class LedgerBlob:
    """Raw XDR of one LedgerCloseMeta and where it came from."""

    xdr: bytes
    source: str


@dataclass(frozen=True)
class LedgerBatch:
    """What one file holds: its ledgers, plus the batch's declared range (None for bare/framed files)."""

    ledgers: list[LedgerBlob]
    start_sequence: int | None = None
    end_sequence: int | None = None


def zstd_decompress(data: bytes) -> bytes:
    # Galexie writes frames without a content-size field, so one-shot decompress() refuses them;
    # the stream reader does not need it.
    with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data)) as reader:
        return reader.read()


def split_batch(raw: bytes, source: str) -> LedgerBatch:
    """Split ``LedgerCloseMetaBatch {start, end, LedgerCloseMeta<>}`` into its ledgers without decoding.

    Each ledger's extent is found with the generated skipper (XDR has no length prefixes).
    """
    start, end, count = struct.unpack_from(">III", raw, 0)
    o = 12
    blobs = []
    for _ in range(count):
        nxt = skip_LedgerCloseMeta(raw, o)
        blobs.append(LedgerBlob(raw[o:nxt], source))
        o = nxt
    if o != len(raw):
        raise ValueError(f"{source}: {len(raw) - o} trailing bytes after LedgerCloseMetaBatch")
    return LedgerBatch(blobs, start, end)


def split_framed(raw: bytes, source: str) -> LedgerBatch:
    """Split stellar-core's metadata output stream (RFC 5531 record marking) into ledgers."""
    blobs = []
    o = 0
    while o < len(raw):
        if o + 4 > len(raw):
            raise ValueError(f"{source}: truncated record mark at byte {o}")
        mark = _U32.unpack_from(raw, o)[0]
        if not mark & 0x80000000:
            # core always writes each record as one fragment with the last-fragment bit set
            raise ValueError(f"{source}: record at byte {o} is not a last fragment (mark {mark:#x})")
        length = mark & 0x7FFFFFFF
        o += 4
        if o + length > len(raw):
            raise ValueError(f"{source}: record at byte {o - 4} runs past the end")
        blobs.append(LedgerBlob(raw[o : o + length], source))
        o += length
    return LedgerBatch(blobs)


def _looks_framed(raw: bytes) -> bool:
    # A batch starts with startSequence (high bit never set for real ledgers); a framed stream with a
    # record mark whose high bit is set and whose length fits in the buffer.
    if len(raw) < 4:
        return False
    mark = _U32.unpack_from(raw, 0)[0]
    return bool(mark & 0x80000000) and 4 + (mark & 0x7FFFFFFF) <= len(raw)


def read_ledger_file(path: str | Path) -> LedgerBatch:
    """Read any supported container by content (magic bytes), not by name.

    - zstd of a LedgerCloseMetaBatch (Galexie / SEP-54, ``.xdr.zst`` / ``.xdr.zstd``)
    - zstd of a framed stream (stellar-core ``--metadata-output-stream``)
    - gzip of one bare LedgerCloseMeta (``.xdr.gz``)
    - uncompressed versions of the above (a bare LedgerCloseMeta starts with its union arm 0/1/2)
    """
    p = Path(path)
    return read_ledger_bytes(p.read_bytes(), str(p))


def read_ledger_bytes(data: bytes, source: str = "<bytes>") -> LedgerBatch:
    if data.startswith(_ZSTD_MAGIC):
        raw = zstd_decompress(data)
    elif data.startswith(_GZIP_MAGIC):
        raw = gzip.decompress(data)
    else:
        raw = data
    if _looks_framed(raw):
        return split_framed(raw, source)
    if len(raw) >= 4 and _U32.unpack_from(raw, 0)[0] in (0, 1, 2):
        # a bare LedgerCloseMeta: its first word is the union arm (a batch starts with a sequence > 2)
        return LedgerBatch([LedgerBlob(raw, source)])
    return split_batch(raw, source)
