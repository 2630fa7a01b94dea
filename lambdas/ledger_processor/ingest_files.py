"""Ingest ledger files from disk through the mTLS edge (local data plane, backfill by hand).

    from lambdas.ledger_processor.ingest_files import ingest_files
    report = ingest_files(["../shared/fixtures/stellar/mainnet/ledger-63092990.xdr.gz"])

Same preparation and writer as the Lambda (``prepare_ledger`` + ``write_ledger``), written as the
ingestion identity, then ``rollup_range_from_parts`` over the affected minutes so every tier is visible
at once (the refreshable views would also roll them within a minute).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from lambdas.common.clickhouse_client import edge_client
from lambdas.ledger_processor.ledger_files import ledger_from_key
from lambdas.ledger_processor.ledger_ingest import PoisonLedgerError, prepare_ledger
from lambdas.ledger_processor.values import PUBNET_PASSPHRASE
from lambdas.ledger_processor.writer import write_ledger
from schema.rollups import PIVOT_STALENESS_MINUTES, rollup_range_from_parts

Progress = Callable[[str], None]


def _print(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class FileResult:
    path: str
    ledger: int | None
    trades: int = 0
    parts: int = 0
    unresolved: int = 0
    error: str | None = None


@dataclass
class IngestReport:
    files: list[FileResult] = field(default_factory=list)
    rolled_ranges: list[tuple[datetime, datetime]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(f.error is None for f in self.files)

    @property
    def ledgers(self) -> list[int]:
        return [f.ledger for f in self.files if f.ledger is not None and f.error is None]

    @property
    def trades(self) -> int:
        return sum(f.trades for f in self.files if f.error is None)


def rollup_windows(minutes: Iterable[datetime]) -> list[tuple[datetime, datetime]]:
    """Half-open candle ranges to re-roll: each minute plus the minutes its XLM/USD pivot may price,
    merged where they overlap (one range per cluster instead of one spanning years)."""
    reach = timedelta(minutes=PIVOT_STALENESS_MINUTES + 1)
    out: list[tuple[datetime, datetime]] = []
    for m in sorted(set(minutes)):
        if out and m <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], m + reach))
        else:
            out.append((m, m + reach))
    return out


def _expected_ledger(path: Path) -> int | None:
    # SEP-54 names are checked against the content; other names (e.g. ledger-N.xdr.gz) are not keys.
    try:
        return ledger_from_key(path.name)
    except ValueError:
        return None


def ingest_files_with_client(
    client: Any,
    paths: Sequence[str | Path],
    *,
    passphrase: str = PUBNET_PASSPHRASE,
    progress: Progress = _print,
    rollup: bool = True,
) -> IngestReport:
    report = IngestReport()
    minutes: set[datetime] = set()
    for i, raw_path in enumerate(paths, 1):
        path = Path(raw_path)
        try:
            prepared = prepare_ledger(path.read_bytes(), path.name, passphrase, _expected_ledger(path))
        except (PoisonLedgerError, OSError) as exc:
            report.files.append(FileResult(str(path), None, error=str(exc)))
            progress(f"[{i}/{len(paths)}] {path.name}: SKIPPED {exc}")
            continue
        result = write_ledger(client, prepared)
        minutes.update(prepared.parts.minutes)
        report.files.append(
            FileResult(str(path), prepared.ledger, prepared.trade_count, result.parts_rows, prepared.unresolved_count)
        )
        progress(
            f"[{i}/{len(paths)}] {path.name}: ledger {prepared.ledger}, {prepared.trade_count} trades, "
            f"{result.parts_rows} candle parts, {prepared.unresolved_count} unresolved swaps"
        )
    if rollup:
        for start, end in rollup_windows(minutes):
            rollup_range_from_parts(lambda sql, params: client.command(sql, parameters=dict(params)), start, end)
            report.rolled_ranges.append((start, end))
        if report.rolled_ranges:
            progress(f"rolled {len(report.rolled_ranges)} candle range(s) through 1m..1M")
    return report


def ingest_files(
    paths: Sequence[str | Path],
    endpoints_path: str | Path | Mapping[str, Any] = ".local/endpoints.json",
    role: str = "ingestion",
    *,
    passphrase: str = PUBNET_PASSPHRASE,
    progress: Progress = _print,
) -> IngestReport:
    """Ingest ``paths`` through the mTLS edge described by ``endpoints_path`` as identity ``role``."""
    client = edge_client(endpoints_path, role)
    try:
        return ingest_files_with_client(client, paths, passphrase=passphrase, progress=progress)
    finally:
        client.close()
