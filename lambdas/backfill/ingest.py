"""One batch of archive ledgers into ClickHouse: decode each with the ingestion code, write them together.

Shared by the CLI's workers (`run.py`) and the fan-out function (`fanout_handler.py`), so it imports nothing
outside the zipped `lambdas` package (the CLI's rollups live in `schema/`, which the function's zip lacks).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from lambdas.ledger_processor.candles import PART_COLUMN_TYPES, PART_COLUMNS
from lambdas.ledger_processor.ledger_ingest import PoisonLedgerError, PreparedLedger, prepare_ledger
from lambdas.ledger_processor.writer import (
    INGESTED_COLUMNS,
    INGESTED_TABLE,
    INGESTED_TYPES,
    PARTS_TABLE,
    UNRESOLVED_COLUMNS,
    UNRESOLVED_TABLE,
    UNRESOLVED_TYPES,
    ingested_row,
    insert_idempotent,
    unresolved_rows,
)


@dataclass(frozen=True)
class LedgerOutcome:
    ledger: int
    close_time: int | None
    trades: int
    error: str | None = None
    parts: int = 0  # candle-part rows written


def write_group(client: Any, group: Sequence[PreparedLedger], **retry: Any) -> int:
    """Write several ledgers in at most three inserts: candle parts, unresolved swaps, then their records.

    Same rows as ``writer.write_ledger`` ledger by ledger, and the same guarantees: the records go last, so a
    recorded ledger always has its parts; every insert carries a deduplication token derived from the group's
    content, so a retried or re-run group is dropped by the server (and the tables' ReplacingMergeTree keys,
    which include the ledger, make a duplicate harmless when the group differs or the window has passed).
    Returns the number of candle-part rows.
    """
    ordered = sorted(group, key=lambda p: p.ledger)
    if not ordered:
        return 0
    digest = hashlib.sha256(
        "\n".join(f"{p.ledger}:{p.sha256}:{p.parts.content_hash}" for p in ordered).encode()
    ).hexdigest()
    parts = [part.row() for p in ordered for part in p.parts.parts]
    if parts:
        insert_idempotent(
            client,
            PARTS_TABLE,
            parts,
            columns=PART_COLUMNS,
            types=PART_COLUMN_TYPES,
            token=f"backfill-parts:{digest}",
            **retry,
        )
    unresolved = [row for p in ordered for row in unresolved_rows(p)]
    if unresolved:
        insert_idempotent(
            client,
            UNRESOLVED_TABLE,
            unresolved,
            columns=UNRESOLVED_COLUMNS,
            types=UNRESOLVED_TYPES,
            token=f"backfill-unresolved:{digest}",
            **retry,
        )
    insert_idempotent(
        client,
        INGESTED_TABLE,
        [ingested_row(p) for p in ordered],
        columns=INGESTED_COLUMNS,
        types=INGESTED_TYPES,
        token=f"backfill-ingested:{digest}",
        **retry,
    )
    return len(parts)


def ingest_batch(
    client: Any, read: Callable[[str], bytes], items: Sequence[tuple[int, str]], passphrase: str
) -> list[LedgerOutcome]:
    """Decode the (ledger, key) items and write the good ones as one group (``write_group``).

    A ledger that cannot be read (OSError) or is poison (corrupt, wrong network, key/content mismatch) is an
    outcome with its error, and the rest of the batch is written; a failed write raises (after the writer's
    retries) with nothing of the batch recorded. Outcomes come in the order of ``items``.
    """
    prepared: dict[int, PreparedLedger] = {}
    errors: dict[int, str] = {}
    for seq, key in items:
        try:
            prepared[seq] = prepare_ledger(read(key), key, passphrase, seq)
        except (PoisonLedgerError, OSError) as exc:
            errors[seq] = str(exc)
    write_group(client, list(prepared.values()))
    out: list[LedgerOutcome] = []
    for seq, _ in items:
        p = prepared.get(seq)
        if p is None:
            out.append(LedgerOutcome(seq, None, 0, errors[seq]))
        else:
            out.append(LedgerOutcome(seq, p.close_time, p.trade_count, parts=len(p.parts.parts)))
    return out
