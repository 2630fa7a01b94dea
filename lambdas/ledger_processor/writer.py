"""Write one prepared ledger: its candle parts and unresolved swaps, then its ``prices.ingested_ledgers`` record.

clickhouse-connect never retries inserts (platform notes §4), so each insert is retried here with an
``insert_deduplication_token`` derived from the content: a retry of an insert that did land is dropped by
the server, a replay of the same ledger is dropped too, and changed content (a fixed extractor) gets a new
token and lands. The tables' ReplacingMergeTree keys make a duplicate harmless even beyond the
deduplication window. The record is written only after the parts insert succeeded, so a recorded ledger
always has its parts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from clickhouse_connect.driver.exceptions import ClickHouseError, OperationalError

from lambdas.ledger_processor.candles import PART_COLUMN_TYPES, PART_COLUMNS
from lambdas.ledger_processor.ledger_ingest import PreparedLedger

PARTS_TABLE = "prices.candle_parts_1m"
INGESTED_TABLE = "prices.ingested_ledgers"
INGESTED_COLUMNS = ("ledger", "close_time", "file_key", "sha256", "trade_count", "unresolved_count")
INGESTED_TYPES = ("UInt32", "DateTime('UTC')", "String", "String", "UInt32", "UInt32")
UNRESOLVED_TABLE = "prices.unresolved_swaps"
UNRESOLVED_COLUMNS = ("contract_id", "source", "ledger", "tx_hash", "op_index", "event_index", "amounts")
UNRESOLVED_TYPES = ("String", "String", "UInt32", "String", "UInt16", "UInt16", "Array(String)")
DEFAULT_ATTEMPTS = 3
DEFAULT_BACKOFF_S = (0.2, 0.8)


class ClickHouseWriteError(RuntimeError):
    """An insert failed after its retries: transient, the record must be retried later."""


@dataclass(frozen=True)
class WriteResult:
    ledger: int
    parts_rows: int
    parts_token: str | None
    record_token: str


def insert_idempotent(
    client: Any,
    table: str,
    rows: Sequence[Sequence[object]],
    *,
    columns: Sequence[str],
    types: Sequence[str],
    token: str,
    attempts: int = DEFAULT_ATTEMPTS,
    backoff_s: Sequence[float] = DEFAULT_BACKOFF_S,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    last: Exception | None = None
    for attempt in range(attempts):
        try:
            client.insert(
                table,
                rows,
                column_names=list(columns),
                column_type_names=list(types),
                settings={"insert_deduplication_token": token},
            )
            return
        except (OperationalError, ClickHouseError, OSError) as exc:
            last = exc
            if attempt + 1 < attempts:
                sleep(backoff_s[min(attempt, len(backoff_s) - 1)])
    raise ClickHouseWriteError(f"insert into {table} failed after {attempts} attempts: {last}") from last


def unresolved_rows(prepared: PreparedLedger) -> list[list[object]]:
    """The `unresolved_swaps` rows of a ledger (UNRESOLVED_COLUMNS order)."""
    return [
        [u.contract, u.source, u.ledger, u.tx_hash, u.op_index, u.event_index, [str(a) for a in u.amounts]]
        for u in prepared.trades.unresolved
    ]


def ingested_row(prepared: PreparedLedger) -> list[object]:
    """The `ingested_ledgers` record of a ledger (INGESTED_COLUMNS order), written after its parts."""
    return [
        prepared.ledger,
        datetime.fromtimestamp(prepared.close_time, tz=UTC),
        prepared.file_key,
        prepared.sha256,
        prepared.trade_count,
        prepared.unresolved_count,
    ]


def write_ledger(client: Any, prepared: PreparedLedger, **retry: Any) -> WriteResult:
    parts = prepared.parts
    parts_token: str | None = None
    if parts.parts:
        parts_token = f"parts:{prepared.ledger}:{parts.content_hash}"
        insert_idempotent(
            client,
            PARTS_TABLE,
            [p.row() for p in parts.parts],
            columns=PART_COLUMNS,
            types=PART_COLUMN_TYPES,
            token=parts_token,
            **retry,
        )
    unresolved = unresolved_rows(prepared)
    if unresolved:
        insert_idempotent(
            client,
            UNRESOLVED_TABLE,
            unresolved,
            columns=UNRESOLVED_COLUMNS,
            types=UNRESOLVED_TYPES,
            token=f"unresolved:{prepared.ledger}:{prepared.sha256}",
            **retry,
        )
    record = ingested_row(prepared)
    record_token = f"ingested:{prepared.ledger}:{prepared.sha256}:{parts.content_hash}"
    insert_idempotent(
        client, INGESTED_TABLE, [record], columns=INGESTED_COLUMNS, types=INGESTED_TYPES, token=record_token, **retry
    )
    return WriteResult(prepared.ledger, len(parts.parts), parts_token, record_token)
