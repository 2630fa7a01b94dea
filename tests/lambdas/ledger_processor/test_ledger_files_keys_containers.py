"""SEP-54 keys and the three containers."""

from __future__ import annotations

import gzip
from typing import Any

import pytest
import zstandard
from stellar_sdk import xdr as X

from lambdas.ledger_processor.ledger_files import (
    ledger_from_key,
    ledger_key_for,
    read_ledger_bytes,
    read_ledger_file,
    zstd_decompress,
)
from tests.lambdas.ledger_processor.helpers import FIXTURES, MAINNET


def test_documented_key() -> None:
    assert ledger_key_for(62528059) == "FC45E5FF--62528000-62591999/FC45E5C4--62528059.xdr.zst"
    assert ledger_from_key("FC45E5FF--62528000-62591999/FC45E5C4--62528059.xdr.zst") == 62528059


@pytest.mark.parametrize("seq", [0, 1, 999, 63_999, 64_000, 53_312_000, 62_528_059, 0xFFFFFFFF])
@pytest.mark.parametrize("suffix", [".xdr.zst", ".xdr.zstd"])
def test_key_round_trip(seq: int, suffix: str) -> None:
    key = ledger_key_for(seq, suffix)
    assert key.endswith(suffix)
    assert ledger_from_key(key) == seq
    assert ledger_from_key(key.split("/")[1]) == seq  # without partition
    assert ledger_from_key("v1.1/stellar/ledgers/pubnet/" + key) == seq  # with a bucket prefix


def test_fixture_names_parse() -> None:
    assert ledger_from_key("FCD285FF--53312000.xdr.zstd") == 53312000
    for name, seq in [("FFFFFC18--999", 999), ("FFFFFC19--998", 998), ("FFFFFC1A--997", 997)]:
        assert ledger_from_key(f"testnet-local/{name}.xdr.zstd") == seq
        batch = read_ledger_file(FIXTURES / f"testnet-local/{name}.xdr.zstd")
        assert batch.start_sequence == batch.end_sequence == seq
        lcm: Any = X.LedgerCloseMeta.from_xdr_bytes(batch.ledgers[0].xdr)
        assert lcm.v1.ledger_header.header.ledger_seq.uint32 == seq


@pytest.mark.parametrize(
    "bad",
    [
        "FC45E5C4--62528059.xdr.gz",  # wrong suffix
        "FC45E5C5--62528059.xdr.zst",  # hex does not match
        "FC45E5FF--62528000-62591999/FC45E5C4--62528058.xdr.zst",  # hex vs decimal
        "FC45E5FE--62528001-62591999/FC45E5C4--62528059.xdr.zst",  # partition prefix mismatch
        "FC45E5FF--62592000-62655999/FC45E5C4--62528059.xdr.zst",  # ledger outside partition
        "62528059.xdr.zst",
        "",
    ],
)
def test_bad_keys(bad: str) -> None:
    with pytest.raises(ValueError):
        ledger_from_key(bad)


def test_galexie_zstd_has_no_content_size() -> None:
    data = (FIXTURES / MAINNET[53312000]).read_bytes()
    with pytest.raises(zstandard.ZstdError):
        zstandard.ZstdDecompressor().decompress(data)  # why the stream reader is needed
    raw = zstd_decompress(data)
    batch = X.LedgerCloseMetaBatch.from_xdr_bytes(raw)
    got = read_ledger_file(FIXTURES / MAINNET[53312000])
    assert (got.start_sequence, got.end_sequence) == (53312000, 53312000)
    assert [b.xdr for b in got.ledgers] == [m.to_xdr_bytes() for m in batch.ledger_close_metas]


def test_gz_bare_ledger() -> None:
    path = FIXTURES / MAINNET[63092990]
    got = read_ledger_file(path)
    assert got.start_sequence is None and len(got.ledgers) == 1
    assert got.ledgers[0].xdr == gzip.decompress(path.read_bytes())


@pytest.mark.parametrize(
    ("rel", "seqs", "lcm_v"),
    [
        ("synthetic-loadtest/load-test-ledgers-v22.xdr.zstd", [95, 98], 1),
        ("synthetic-loadtest/load-test-ledgers-v24.xdr.zstd", [62, 63, 66], 2),
    ],
)
def test_framed_stream(rel: str, seqs: list[int], lcm_v: int) -> None:
    got = read_ledger_file(FIXTURES / rel)
    lcms = [X.LedgerCloseMeta.from_xdr_bytes(b.xdr) for b in got.ledgers]
    assert [m.v for m in lcms] == [lcm_v] * len(seqs)
    body: list[Any] = [m.v1 or m.v2 for m in lcms]
    assert [b.ledger_header.header.ledger_seq.uint32 for b in body] == seqs


def test_framed_stream_rejects_truncation_and_bad_marks() -> None:
    (xdr,) = [b.xdr for b in read_ledger_file(FIXTURES / MAINNET[53312000]).ledgers]
    framed = (0x80000000 | len(xdr)).to_bytes(4, "big") + xdr
    assert [b.xdr for b in read_ledger_bytes(framed * 2).ledgers] == [xdr, xdr]
    with pytest.raises(ValueError, match=r"not a last fragment|runs past"):
        read_ledger_bytes(framed + (0x80000000 | len(xdr)).to_bytes(4, "big") + xdr[:100])
    # a batch with a trailing byte is rejected rather than silently truncated
    batch = (53312000).to_bytes(4, "big") * 2 + (1).to_bytes(4, "big") + xdr + b"\0\0\0\0"
    with pytest.raises(ValueError, match="trailing"):
        read_ledger_bytes(batch)
