"""Plan and run a backfill: decode each ledger once with the ingestion code, write each batch through the mTLS
edge as the writer identity (`ingest.ingest_batch`), roll the touched minutes, keep `backfill_progress` current.

Resumable by construction: a ledger counts as done only once its `ingested_ledgers` record is written (after
its candle parts), so a re-run plans exactly the ledgers without a record. Re-writing a half-written batch
writes the same rows (under the same deduplication tokens when the batch is the same; otherwise the
ReplacingMergeTree keys and FINAL reads keep one copy), so a crash or Ctrl-C leaves neither a gap nor a double.
Minutes are rolled up at checkpoints; the progress row is written only after its checkpoint's rollup, so a
resumed run re-rolls the minutes of every ledger recorded after the last checkpoint (`_unrolled_minutes`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing import get_context
from typing import Any

from lambdas.backfill.ingest import LedgerOutcome, ingest_batch
from lambdas.backfill.progress_table import ProgressRow, Status, close_time_of, now_utc, read_progress, write_progress
from lambdas.backfill.source import LedgerSource, open_source
from lambdas.common.clickhouse_client import edge_client
from lambdas.ledger_processor.ingest_files import rollup_windows
from lambdas.ledger_processor.ledger_files import LEDGERS_PER_PARTITION
from lambdas.ledger_processor.reconcile import find_missing
from schema.rollups import rollup_range_from_parts

DEFAULT_TASK = "history"
DEFAULT_BATCH = 16
DEFAULT_CHECKPOINT_SECONDS = 15.0


@dataclass(frozen=True)
class Plan:
    task: str
    first: int
    last: int
    already_done: int  # ledgers of the range with an ingested record when the run was planned

    @property
    def span(self) -> int:
        return self.last - self.first + 1

    @property
    def to_write(self) -> int:
        """At most this many ledgers to write (fewer if the archive lacks some)."""
        return self.span - self.already_done


@dataclass
class RunReport:
    plan: Plan
    written: list[LedgerOutcome] = field(default_factory=list)
    failed: list[LedgerOutcome] = field(default_factory=list)
    absent: list[int] = field(default_factory=list)  # not ingested and not in the archive
    status: Status = "running"
    watermark: int | None = None
    interrupted: bool = False

    @property
    def trades(self) -> int:
        return sum(o.trades for o in self.written)


class Reporter:
    """What a run tells its user: a rich bar on a terminal, plain lines otherwise (the CLI provides one)."""

    def start(self, plan: Plan) -> None: ...

    def advance(self, outcomes: Sequence[LedgerOutcome]) -> None: ...

    def note(self, message: str) -> None: ...

    def stop(self) -> None: ...


def make_plan(client: Any, first: int, last: int, task: str = DEFAULT_TASK) -> Plan:
    if not 1 <= first <= last <= 0xFFFFFFFF:
        raise ValueError(f"invalid ledger range --from {first} --to {last} (want 1 <= FROM <= TO)")
    rows = client.query(
        "SELECT uniqExact(ledger) FROM prices.ingested_ledgers "
        "WHERE ledger >= {first:UInt32} AND ledger <= {last:UInt32}",
        parameters={"first": first, "last": last},
    ).result_rows
    return Plan(task, first, last, int(rows[0][0]))


def windows(plan: Plan) -> Iterator[tuple[int, int]]:
    """Archive-partition-aligned windows of the range, top down (one S3 listing and one gap query each)."""
    hi = plan.last
    while hi >= plan.first:
        lo = max(plan.first, hi - hi % LEDGERS_PER_PARTITION)
        yield lo, hi
        hi = lo - 1


class WorkQueue:
    """Hands out (ledger, key) batches top down, window by window, and knows how far the data is complete.

    Nothing is planned far ahead (a full-history range is ~57 M ledgers): each window's gaps and archive keys
    are looked up when the walk reaches it.
    """

    def __init__(self, client: Any, source: LedgerSource, plan: Plan, batch_size: int) -> None:
        self.client = client
        self.source = source
        self.plan = plan
        self.batch_size = batch_size
        self.frontier = plan.last + 1  # every ledger >= frontier was done, absent or handed out
        self.outstanding: set[int] = set()  # handed out, not yet written (or failed)
        self.absent: list[int] = []

    def batches(self) -> Iterator[list[tuple[int, str]]]:
        for lo, hi in windows(self.plan):
            missing = find_missing(self.client, lo, hi)
            keys = self.source.locate(lo, hi) if missing else {}
            todo = sorted((seq for seq in missing if seq in keys), reverse=True)
            self.absent.extend(seq for seq in missing if seq not in keys)
            for i in range(0, len(todo), self.batch_size):
                batch = todo[i : i + self.batch_size]
                self.outstanding.update(batch)
                self.frontier = min(self.frontier, batch[-1])
                yield [(seq, keys[seq]) for seq in batch]
            self.frontier = min(self.frontier, lo)

    def completed(self, ledger: int) -> None:
        self.outstanding.discard(ledger)

    def watermark(self) -> int:
        """Lowest L such that every ledger of [L, last] is ingested: no outstanding and no absent one above."""
        blockers = self.outstanding | {seq for seq in self.absent if seq >= self.frontier}
        return max(blockers) + 1 if blockers else self.frontier


# -- worker processes ----------------------------------------------------------------------------------------

_worker: dict[str, Any] = {}


def _init_worker(endpoints: str, source_spec: str, passphrase: str) -> None:
    # The parent handles Ctrl-C: a worker finishes its batch and the parent stops handing out more.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker["client"] = edge_client(endpoints, "ingestion")
    _worker["source"] = open_source(source_spec)
    _worker["passphrase"] = passphrase


def worker_pool(workers: int, endpoints: str, source_spec: str, passphrase: str) -> ProcessPoolExecutor:
    """The run's worker processes, each with its own edge client and source; submit ``ingest_in_worker`` to it."""
    # spawn, not fork: the parent may hold threads (the progress display, HTTP pools).
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=get_context("spawn"),
        initializer=_init_worker,
        initargs=(endpoints, source_spec, passphrase),
    )


def ingest_in_worker(items: Sequence[tuple[int, str]]) -> list[LedgerOutcome]:
    """``ingest_batch`` inside a ``worker_pool`` process, with that process's client and source."""
    return ingest_batch(_worker["client"], _worker["source"].read, items, _worker["passphrase"])


# -- the run ---------------------------------------------------------------------------------------------------


def _minute(close_time: int) -> datetime:
    return datetime.fromtimestamp(close_time - close_time % 60, tz=UTC)


def _unrolled_minutes(client: Any, plan: Plan, since: datetime) -> set[datetime]:
    """Minutes of ledgers recorded after the previous run's last checkpoint (it may have died before rolling)."""
    rows = client.query(
        "SELECT DISTINCT toStartOfMinute(close_time) FROM prices.ingested_ledgers "
        "WHERE ledger >= {first:UInt32} AND ledger <= {last:UInt32} AND inserted_at >= {since:DateTime64(3, 'UTC')}",
        parameters={"first": plan.first, "last": plan.last, "since": since},
    ).result_rows
    return {r[0].replace(tzinfo=UTC) if r[0].tzinfo is None else r[0] for r in rows}


class _Checkpointer:
    def __init__(self, client: Any, queue: WorkQueue, started_at: datetime, every_s: float) -> None:
        self.client = client
        self.queue = queue
        self.plan = queue.plan
        self.started_at = started_at
        self.every_s = every_s
        self.pending: set[datetime] = set()
        self.last = time.monotonic()

    def due(self) -> bool:
        return time.monotonic() - self.last >= self.every_s

    def flush(self, status: Status) -> int:
        for start, end in rollup_windows(self.pending):
            rollup_range_from_parts(self._execute, start, end)
        self.pending.clear()
        mark = self.queue.watermark()
        now = now_utc()
        write_progress(
            self.client,
            ProgressRow(
                task_name=self.plan.task,
                start_ledger=self.plan.first,
                target_ledger=self.plan.last,
                current_ledger=mark,
                status=status,
                last_push_at=now,
                earliest_data_available=close_time_of(self.client, mark) if mark <= self.plan.last else None,
                newest_data_available=close_time_of(self.client, self.plan.last),
                started_at=self.started_at,
                completed_at=now if status == "completed" else None,
            ),
        )
        self.last = time.monotonic()
        return mark

    def _execute(self, sql: str, params: Any) -> None:
        self.client.command(sql, parameters=dict(params))


class _Absorber:
    """Takes finished batches in: records outcomes, advances the display, checkpoints when due."""

    def __init__(self, report: RunReport, cp: _Checkpointer, reporter: Reporter, stop_after: int | None) -> None:
        self.report = report
        self.cp = cp
        self.reporter = reporter
        self.stop_after = stop_after
        self.batches = 0

    def __call__(self, outcomes: Sequence[LedgerOutcome]) -> None:
        self.batches += 1
        for o in outcomes:
            if o.error is None:
                self.report.written.append(o)
                self.cp.queue.completed(o.ledger)
                if o.close_time is not None:
                    self.cp.pending.add(_minute(o.close_time))
            else:
                self.report.failed.append(o)
        self.reporter.advance(outcomes)
        if self.cp.due():
            self.cp.flush("running")
        if self.stop_after is not None and self.batches >= self.stop_after:
            raise KeyboardInterrupt


@dataclass(frozen=True)
class RunOptions:
    endpoints: str
    source_spec: str
    passphrase: str
    workers: int = 1
    batch_size: int = DEFAULT_BATCH
    checkpoint_seconds: float = DEFAULT_CHECKPOINT_SECONDS
    # Simulates Ctrl-C after this many batches (tests of the resume path).
    stop_after_batches: int | None = None


def run_backfill(plan: Plan, options: RunOptions, reporter: Reporter | None = None) -> RunReport:
    """Run ``plan``; Ctrl-C (KeyboardInterrupt) pauses cleanly and the same command resumes."""
    if options.workers < 1:
        raise ValueError(f"--workers must be at least 1, got {options.workers}")
    if options.batch_size < 1:
        raise ValueError(f"--batch-size must be at least 1, got {options.batch_size}")
    reporter = reporter or Reporter()
    client = edge_client(options.endpoints, "ingestion")
    report = RunReport(plan)
    previous = read_progress(client, plan.task)
    started_at = previous[0].started_at if previous and previous[0].status != "completed" else now_utc()
    source = open_source(options.source_spec)
    queue = WorkQueue(client, source, plan, options.batch_size)
    cp = _Checkpointer(client, queue, started_at, options.checkpoint_seconds)
    if previous and previous[0].updated_at is not None:
        # A previous run may have recorded ledgers and died before rolling their minutes.
        cp.pending |= _unrolled_minutes(client, plan, previous[0].updated_at - timedelta(seconds=5))
    absorb = _Absorber(report, cp, reporter, options.stop_after_batches)
    reporter.start(plan)
    try:
        batches = queue.batches()
        if options.workers == 1:
            for batch in batches:
                absorb(ingest_batch(client, source.read, batch, options.passphrase))
        else:
            _run_pool(options, batches, absorb)
    except KeyboardInterrupt:
        report.interrupted = True
        report.status = "paused"
    except Exception:
        report.status = "error"
        raise
    else:
        # Ledgers the archive lacks keep the task open: it is not complete until they are ingested.
        report.status = "error" if report.failed else "completed" if not queue.absent else "paused"
    finally:
        reporter.stop()
        report.absent = queue.absent
        report.watermark = cp.flush(report.status)
        client.close()
    return report


def _run_pool(
    options: RunOptions, batches: Iterator[list[tuple[int, str]]], absorb: Callable[[Sequence[LedgerOutcome]], None]
) -> None:
    with worker_pool(options.workers, options.endpoints, options.source_spec, options.passphrase) as pool:
        running: set[Future[list[LedgerOutcome]]] = set()
        try:
            for batch in batches:
                running.add(pool.submit(ingest_in_worker, batch))
                # Two batches in flight per worker keep every process busy without planning far ahead.
                while len(running) >= 2 * options.workers:
                    finished, running = _wait(running)
                    for f in finished:
                        absorb(f.result())
            while running:
                finished, running = _wait(running)
                for f in finished:
                    absorb(f.result())
        except BaseException:
            for f in running:
                f.cancel()
            # Batches already in a worker finish and their ledgers are recorded: count them in.
            for f in running:
                if not f.cancelled():
                    with contextlib.suppress(BaseException):
                        absorb(f.result())
            raise


def _wait(running: set[Future[list[LedgerOutcome]]]) -> tuple[set[Future[Any]], set[Future[Any]]]:
    finished, pending = wait(running, return_when=FIRST_COMPLETED)
    return set(finished), set(pending)


def default_workers() -> int:
    return max(1, min(4, (os.cpu_count() or 2)))
