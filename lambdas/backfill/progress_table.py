"""The `prices.backfill_progress` row of a backfill task, and the coverage facts it is computed from.

One row per task (ReplacingMergeTree on updated_at: the newest row wins). The walk goes **downwards** from
`target_ledger` (where it began, next to the live range) to `start_ledger` (the floor), like the reference
system's SDEX stream, so `current_ledger` falls over time and the newest history is usable first.

`current_ledger` is a watermark, not a claim: every ledger in `[current_ledger, target_ledger]` has an
`ingested_ledgers` record (or is known to be absent from the archive). `earliest_data_available` is the close
time of that ledger — the reference stored a hopeful value and overclaimed (tasks 0263, 0272); ours is only
ever written from a checked watermark.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

Status = Literal["running", "paused", "completed", "error"]

TABLE = "prices.backfill_progress"
COLUMNS = (
    "task_name",
    "start_ledger",
    "target_ledger",
    "current_ledger",
    "status",
    "last_push_at",
    "earliest_data_available",
    "newest_data_available",
    "started_at",
    "completed_at",
)


@dataclass(frozen=True)
class ProgressRow:
    task_name: str
    start_ledger: int
    target_ledger: int
    current_ledger: int
    status: Status
    last_push_at: datetime | None
    earliest_data_available: datetime | None
    newest_data_available: datetime | None
    started_at: datetime
    completed_at: datetime | None
    updated_at: datetime | None = None

    @property
    def progress_pct(self) -> float:
        return progress_pct(self.start_ledger, self.target_ledger, self.current_ledger)

    @property
    def ledgers_remaining(self) -> int:
        return ledgers_remaining(self.start_ledger, self.current_ledger)


def progress_pct(start_ledger: int, target_ledger: int, current_ledger: int) -> float:
    """Share of `[start, target]` known complete: every ledger of `[current, target]` is ingested, so
    `target − current + 1` of `target − start + 1` are done (the reference's `(target − current) /
    (target − start)` showed 0 % with the first ledger written). `current > target`: nothing yet."""
    span = target_ledger - start_ledger + 1
    if span <= 0:
        return 100.0
    done = min(span, max(0, target_ledger - current_ledger + 1))
    return round(100.0 * done / span, 2)


def ledgers_remaining(start_ledger: int, current_ledger: int) -> int:
    """Ledgers below the watermark still to do: `[start, current)`."""
    return max(0, current_ledger - start_ledger)


def write_progress(client: Any, row: ProgressRow) -> None:
    values = [getattr(row, c) for c in COLUMNS]
    client.insert(TABLE, [values], column_names=list(COLUMNS))


def read_progress(client: Any, task: str | None = None) -> list[ProgressRow]:
    where = "WHERE task_name = {task:String}" if task is not None else ""
    rows = client.query(
        f"SELECT {', '.join(COLUMNS)}, updated_at FROM {TABLE} FINAL {where} ORDER BY task_name",
        parameters={"task": task} if task is not None else None,
    ).result_rows
    return [ProgressRow(*_utc_row(r)) for r in rows]


def _utc_row(row: Iterable[Any]) -> list[Any]:
    return [v.replace(tzinfo=UTC) if isinstance(v, datetime) and v.tzinfo is None else v for v in row]


def close_time_of(client: Any, ledger: int) -> datetime | None:
    rows = client.query(
        "SELECT close_time FROM prices.ingested_ledgers WHERE ledger = {ledger:UInt32} LIMIT 1",
        parameters={"ledger": ledger},
    ).result_rows
    if not rows:
        return None
    value: datetime = rows[0][0]
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def live_floor(client: Any) -> int | None:
    """First ledger of the contiguous run that ends at the newest ingested ledger (the live range)."""
    rows = client.query(
        """
        SELECT ledger FROM (
            SELECT ledger, lagInFrame(ledger, 1, 0) OVER (ORDER BY ledger ASC ROWS BETWEEN UNBOUNDED PRECEDING
                                                          AND CURRENT ROW) AS prev
            FROM (SELECT DISTINCT ledger FROM prices.ingested_ledgers)
        )
        WHERE prev = 0 OR ledger - prev > 1
        ORDER BY ledger DESC
        LIMIT 1
        """
    ).result_rows
    return int(rows[0][0]) if rows else None


def now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
