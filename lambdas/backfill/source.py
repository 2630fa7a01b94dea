"""Where backfilled ledgers come from: a SEP-54 archive in a local directory or under an S3 prefix.

The public ledger archive and the partner's bucket share the SEP-54 layout (one ledger per file, 64,000-ledger
partition folders), so one key parser (``ledger_from_key``) serves both. A source answers two questions: which
ledgers of a range it holds (``locate``) and the bytes of one (``read``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import boto3

from lambdas.ledger_processor.ledger_files import LEDGERS_PER_PARTITION, ledger_from_key

_MASK = 0xFFFFFFFF


class SourceError(ValueError):
    """The --source argument does not name a usable archive."""


class LedgerSource(Protocol):
    @property
    def spec(self) -> str: ...

    def locate(self, first: int, last: int) -> dict[int, str]:
        """Ledger → key of every ledger in ``[first, last]`` the archive holds."""
        ...

    def read(self, key: str) -> bytes: ...


def partition_prefix(start: int) -> str:
    return f"{_MASK - start:08X}--{start}-{start + LEDGERS_PER_PARTITION - 1}/"


def partitions(first: int, last: int) -> Iterator[int]:
    start = first - first % LEDGERS_PER_PARTITION
    while start <= last:
        yield start
        start += LEDGERS_PER_PARTITION


@dataclass
class DirectorySource:
    root: Path

    @property
    def spec(self) -> str:
        return str(self.root)

    def locate(self, first: int, last: int) -> dict[int, str]:
        found: dict[int, str] = {}
        for path in sorted(self.root.rglob("*.xdr.zst*")):
            key = path.relative_to(self.root).as_posix()
            try:
                seq = ledger_from_key(key)
            except ValueError:
                continue  # not an archive file (README, a partial download…)
            if first <= seq <= last:
                found[seq] = key
        return found

    def read(self, key: str) -> bytes:
        return (self.root / key).read_bytes()


@dataclass
class S3Source:
    """A SEP-54 archive under an S3 prefix, listed only over the range asked for.

    SEP-54 names start with the one's complement of the ledger, so a partition lists newest first: starting
    after the key of `last + 1` and stopping below `first` costs one LIST per 1,000 ledgers of the range (the
    fan-out's 500-ledger ranges take one), where listing each touched partition whole would take 64.
    """

    bucket: str
    prefix: str
    s3: Any

    @property
    def spec(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def locate(self, first: int, last: int) -> dict[int, str]:
        found: dict[int, str] = {}
        paginator = self.s3.get_paginator("list_objects_v2")
        for start in partitions(first, last):
            lo, hi = max(first, start), min(last, start + LEDGERS_PER_PARTITION - 1)
            folder = self.prefix + partition_prefix(start)
            # "~" sorts after "-": past every key of the ledgers above `hi`, before the key of `hi` itself.
            after = {"StartAfter": f"{folder}{_MASK - hi - 1:08X}~"} if hi < _MASK else {}
            for page in paginator.paginate(Bucket=self.bucket, Prefix=folder, **after):
                done = False
                for item in page.get("Contents", []):
                    key = item["Key"]
                    try:
                        seq = ledger_from_key(key[len(self.prefix) :])
                    except ValueError:
                        continue  # not an archive file (a multi-ledger batch, a partial upload…)
                    if seq < lo:
                        done = True
                        break
                    if seq <= hi:
                        found[seq] = key
                if done:
                    break
        return found

    def read(self, key: str) -> bytes:
        body: bytes = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return body


def open_source(spec: str, s3_client: Any = None) -> LedgerSource:
    """``DIR`` or ``s3://bucket[/prefix]`` → a source; a bad spec raises SourceError naming it."""
    if spec.startswith("s3://"):
        parts = urlsplit(spec)
        if not parts.netloc:
            raise SourceError(f"--source {spec!r}: no bucket name (want s3://bucket[/prefix])")
        prefix = parts.path.lstrip("/")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        return S3Source(parts.netloc, prefix, s3_client if s3_client is not None else boto3.client("s3"))
    root = Path(spec)
    if not root.is_dir():
        raise SourceError(f"--source {spec!r}: not a directory (want a SEP-54 archive folder or s3://bucket/prefix)")
    return DirectorySource(root)
