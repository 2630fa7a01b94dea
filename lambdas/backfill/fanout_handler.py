"""Backfill fan-out: ledger ranges on an SQS queue, ingested in parallel by a Lambda (docs/backfill.md#lambda-fan-out).

The pieces, in the order a run uses them:

* ``enqueue_ranges`` (``python -m lambdas.backfill fanout``) sends ``{"task", "first", "last"}`` messages, newest
  range first, ten per SendMessageBatch;
* the function (``handler``: Powertools BatchProcessor over the SQS records) ingests one range per record: the
  range's ledgers without an ``ingested_ledgers`` record (``find_missing``), newest first, read from the SEP-54
  archive (``S3Source``: one bounded listing, objects prefetched in parallel), decoded and written
  ``ledgersPerInsert`` at a time (``ingest.ingest_batch``, the CLI's batch path: ``prepare_ledger``, then
  ``write_group``'s three inserts per group instead of three per ledger over the ~85 ms path to the box). A
  range with a poison or missing ledger, or that ran out of time, is reported as a batch item failure; SQS
  redelivers it, and the redelivery writes only what is still missing, so nothing doubles;
* ``recompute_progress`` (``python -m lambdas.backfill status --recompute``) writes the task's
  ``backfill_progress`` row from ``ingested_ledgers``: parallel functions cannot keep one watermark, so it is
  derived from the highest gap instead.

The function does not roll candles up: in AWS the change-driven refreshable views roll every bucket whose
candle parts were inserted in the last two hours (docs/rollups.md).

Module-scope state, reused while the container is warm: the settings, the S3 client and its read threads,
and the ClickHouse client through the mTLS edge (``EdgeClickHouse``: bundle from Secrets Manager).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field, field_validator

from lambdas.backfill.ingest import ingest_batch
from lambdas.backfill.progress_table import ProgressRow, Status, close_time_of, now_utc, read_progress, write_progress
from lambdas.backfill.source import LedgerSource, S3Source
from lambdas.common import metric_catalog as mc
from lambdas.common.catalog_metrics import CatalogMetrics
from lambdas.common.edge_clickhouse import ClickHouseProvider, EdgeClickHouse
from lambdas.common.runtime_slot import RuntimeSlot
from lambdas.common.settings import EdgeSettings, load_env_settings
from lambdas.ledger_processor.ledger_ingest import PoisonLedgerError
from lambdas.ledger_processor.reconcile import MAX_RANGE, find_missing

SERVICE = mc.FANOUT_SERVICE
NAMESPACE = mc.BACKFILL
SQS_BATCH = 10  # SendMessageBatch maximum
MAX_LEDGER = 0xFFFFFFFF
# Stop taking on ledger groups this long before the timeout: the record then fails cleanly and its
# redelivery resumes with what is still missing, instead of the whole invocation being killed mid-insert.
STOP_BEFORE_TIMEOUT_MS = 30_000
# Archive objects fetched at once (network-bound: threads overlap the S3 round trips while one core decodes;
# 16 GETs of ~150 ms from another region keep ~100 ledgers/s ahead of the decoder).
READ_THREADS = 16

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
published = CatalogMetrics(metrics, NAMESPACE, SERVICE)
tracer = Tracer(service=SERVICE)
# A failed range is a batch item failure even when it is the whole batch (one range per invocation): SQS
# redelivers it either way, and the function's Errors alarm keeps meaning crashes and timeouts, while ranges
# that keep failing reach the DLQ and its alarm.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


# -- the message: one ledger range ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RangeMessage:
    task: str
    first: int
    last: int

    @property
    def span(self) -> int:
        return self.last - self.first + 1

    def body(self) -> str:
        return json.dumps({"task": self.task, "first": self.first, "last": self.last}, separators=(",", ":"))


def parse_range(body: str, max_ledgers: int) -> RangeMessage:
    """A message body → the range it names, or PoisonLedgerError("bad_message") saying what is wrong."""
    try:
        message = json.loads(body)
    except json.JSONDecodeError as exc:
        raise PoisonLedgerError("bad_message", f"not JSON: {exc.msg}") from None
    if not isinstance(message, dict) or set(message) != {"task", "first", "last"}:
        raise PoisonLedgerError("bad_message", f'want {{"task", "first", "last"}}, got {body[:200]!r}')
    task, first, last = message["task"], message["first"], message["last"]
    if not isinstance(task, str) or not task:
        raise PoisonLedgerError("bad_message", f"task must be a non-empty string, got {task!r}")
    for name, value in (("first", first), ("last", last)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_LEDGER:
            raise PoisonLedgerError("bad_message", f"{name} must be a ledger number, got {value!r}")
    if first > last:
        raise PoisonLedgerError("bad_message", f"first {first} is above last {last}")
    if last - first + 1 > max_ledgers:
        raise PoisonLedgerError(
            "bad_message", f"range {first}-{last} holds {last - first + 1} ledgers; this function takes {max_ledgers}"
        )
    return RangeMessage(task, first, last)


def ranges_top_down(first: int, last: int, per_message: int) -> Iterator[tuple[int, int]]:
    """[first, last] cut into ranges of at most `per_message` ledgers, newest first (like the CLI's walk)."""
    if not 1 <= first <= last <= MAX_LEDGER:
        raise ValueError(f"invalid ledger range --from {first} --to {last} (want 1 <= FROM <= TO)")
    if per_message < 1:
        raise ValueError(f"--per-message must be at least 1, got {per_message}")
    hi = last
    while hi >= first:
        lo = max(first, hi - per_message + 1)
        yield lo, hi
        hi = lo - 1


def enqueue_ranges(
    sqs: Any,
    queue_url: str,
    task: str,
    first: int,
    last: int,
    *,
    per_message: int,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Send the range messages of [first, last] (newest first, 10 per request); returns how many were sent."""
    sent = 0
    total = -(-(last - first + 1) // per_message) if 1 <= first <= last else 0
    batch: list[RangeMessage] = []

    def flush() -> None:
        nonlocal sent
        entries = [{"Id": str(i), "MessageBody": m.body()} for i, m in enumerate(batch)]
        response = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        failed = response.get("Failed") or []
        if failed:
            refused = ", ".join(
                f"{batch[int(f['Id'])].first}-{batch[int(f['Id'])].last} ({f.get('Code')})" for f in failed
            )
            raise RuntimeError(f"SQS refused {len(failed)} of {len(entries)} range messages: {refused}")
        sent += len(entries)
        batch.clear()
        if progress is not None:
            progress(sent, total)

    for lo, hi in ranges_top_down(first, last, per_message):
        batch.append(RangeMessage(task, lo, hi))
        if len(batch) == SQS_BATCH:
            flush()
    if batch:
        flush()
    return sent


# -- one range ------------------------------------------------------------------------------------------------


class TransientError(RuntimeError):
    """A dependency failed or time ran out; the redelivered range continues with what is still missing."""

    # What this delivery wrote before it stopped: published too, since the redelivery will not write it again.
    partial: RangeResult | None = None


class RangeIncompleteError(RuntimeError):
    """Some ledgers of the range are poison or absent from the archive; the rest were written."""


@dataclass
class RangeResult:
    message: RangeMessage
    already: int  # ledgers of the range recorded before this delivery
    written: list[int] = field(default_factory=list)
    trades: int = 0
    parts: int = 0
    poison: dict[int, str] = field(default_factory=dict)
    absent: list[int] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.poison and not self.absent


def _prefetched(downloads: Mapping[str, Future[bytes]]) -> Callable[[str], bytes]:
    """`read` for ``ingest_batch`` over downloads already under way: a failed one is transient (S3, not the
    ledger), so it stops the range instead of counting as poison."""

    def read(key: str) -> bytes:
        try:
            return downloads[key].result()
        except Exception as exc:
            raise TransientError(f"cannot read {key}: {exc}") from exc

    return read


def ingest_range(
    clickhouse: ClickHouseProvider,
    source: LedgerSource,
    message: RangeMessage,
    passphrase: str,
    *,
    ledgers_per_insert: int,
    remaining_ms: Callable[[], int],
    reads: ThreadPoolExecutor,
) -> RangeResult:
    """Write the ledgers of `message`'s range that have no record, newest first, `ledgers_per_insert` at a time.

    Raises TransientError (ClickHouse or S3 failed, or less than STOP_BEFORE_TIMEOUT_MS left); what was
    written before stays written and recorded.
    """
    try:
        missing = find_missing(clickhouse.client(), message.first, message.last)
    except Exception as exc:
        clickhouse.invalidate()
        raise TransientError(f"range {message.first}-{message.last}: gap query failed: {exc}") from exc
    result = RangeResult(message, message.span - len(missing))
    if not missing:
        return result
    try:
        keys = source.locate(message.first, message.last)
    except Exception as exc:
        raise TransientError(f"range {message.first}-{message.last}: cannot list {source.spec}: {exc}") from exc
    todo = sorted((seq for seq in missing if seq in keys), reverse=True)
    result.absent = sorted(seq for seq in missing if seq not in keys)
    groups = [todo[i : i + ledgers_per_insert] for i in range(0, len(todo), ledgers_per_insert)]

    def fetch(group: Sequence[int]) -> list[Future[bytes]]:
        return [reads.submit(source.read, keys[seq]) for seq in group]

    pending = fetch(groups[0]) if groups else []
    following: list[Future[bytes]] = []
    try:
        for i, group in enumerate(groups):
            if remaining_ms() < STOP_BEFORE_TIMEOUT_MS:
                raise TransientError(
                    f"range {message.first}-{message.last}: out of time after {len(result.written)} ledgers; "
                    "the redelivery continues below ledger "
                    f"{min(result.written) if result.written else message.last + 1}"
                )
            # The next group downloads while this one decodes.
            following = fetch(groups[i + 1]) if i + 1 < len(groups) else []
            read = _prefetched({keys[seq]: download for seq, download in zip(group, pending, strict=True)})
            try:
                outcomes = ingest_batch(clickhouse.client(), read, [(seq, keys[seq]) for seq in group], passphrase)
            except TransientError:
                raise
            except Exception as exc:
                clickhouse.invalidate()
                raise TransientError(f"ledgers {group[-1]}-{group[0]}: write failed: {exc}") from exc
            pending = following
            for outcome in outcomes:
                if outcome.error is not None:
                    result.poison[outcome.ledger] = outcome.error
                    continue
                result.written.append(outcome.ledger)
                result.trades += outcome.trades
                result.parts += outcome.parts
    except TransientError as exc:
        exc.partial = result
        raise
    finally:
        # Stopped early: downloads nobody will decode are dropped (a running one just finishes).
        for download in (*pending, *following):
            download.cancel()
    return result


# -- the Lambda -------------------------------------------------------------------------------------------------


class FanOutSettings(EdgeSettings):
    """The function's environment (components/backfill.py sets exactly these; a test binds the two)."""

    # s3://bucket/prefix/ of the SEP-54 archive (the CLI's --source spelling).
    ARCHIVE_URL: str = Field(min_length=1)
    ARCHIVE_REGION: str = Field(min_length=1)
    NETWORK_PASSPHRASE: str = Field(min_length=1)
    MAX_LEDGERS_PER_MESSAGE: int = Field(ge=1, le=64_000)
    LEDGERS_PER_INSERT: int = Field(ge=1, le=1_000)

    @field_validator("ARCHIVE_URL")
    @classmethod
    def _archive_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme != "s3" or not parts.netloc or parts.query or not value.endswith("/"):
            raise ValueError(f"must be s3://bucket/[prefix/] ending in '/', got {value!r}")
        return value

    @property
    def archive_bucket(self) -> str:
        return urlsplit(self.ARCHIVE_URL).netloc

    @property
    def archive_prefix(self) -> str:
        return urlsplit(self.ARCHIVE_URL).path.lstrip("/")


SETTINGS_MODEL = FanOutSettings


@dataclass
class Runtime:
    settings: FanOutSettings
    source: LedgerSource
    clickhouse: ClickHouseProvider


_reads = ThreadPoolExecutor(max_workers=READ_THREADS, thread_name_prefix="archive-read")


def build_runtime(environ: Mapping[str, str], *, pem_dir: Path | None = None) -> Runtime:
    settings = load_env_settings(FanOutSettings, environ, SERVICE)
    s3 = boto3.client("s3", region_name=settings.ARCHIVE_REGION)
    return Runtime(
        settings=settings,
        source=S3Source(settings.archive_bucket, settings.archive_prefix, s3),
        clickhouse=EdgeClickHouse.from_settings(settings, pem_dir=pem_dir),
    )


_slot: RuntimeSlot[Runtime] = RuntimeSlot(build_runtime)


def runtime() -> Runtime:
    return _slot.get()


def set_runtime(value: Runtime | None) -> None:
    """Replace the module-scope runtime (tests, the benchmark; ``None`` rebuilds from the environment)."""
    _slot.set(value)


def _publish_writes(result: RangeResult) -> None:
    published.put(mc.FANOUT_LEDGERS_WRITTEN, len(result.written))
    published.put(mc.FANOUT_TRADES_WRITTEN, result.trades)


@tracer.capture_method
def record_handler(record: SQSRecord, lambda_context: LambdaContext) -> RangeResult:
    rt = runtime()
    started = time.monotonic()
    try:
        message = parse_range(record.body, rt.settings.MAX_LEDGERS_PER_MESSAGE)
        result = ingest_range(
            rt.clickhouse,
            rt.source,
            message,
            rt.settings.NETWORK_PASSPHRASE,
            ledgers_per_insert=rt.settings.LEDGERS_PER_INSERT,
            remaining_ms=lambda_context.get_remaining_time_in_millis,
            reads=_reads,
        )
    except PoisonLedgerError as exc:
        logger.error("poison range message", extra={"message_id": record.message_id, "error": str(exc)})
        raise
    except TransientError as exc:
        if exc.partial is not None:
            _publish_writes(exc.partial)
        logger.warning(
            "range interrupted, will be redelivered", extra={"message_id": record.message_id, "error": str(exc)}
        )
        raise
    outcome = {
        "task": message.task,
        "first": message.first,
        "last": message.last,
        "already": result.already,
        "written": len(result.written),
        "trades": result.trades,
        "parts": result.parts,
        "poison": result.poison,
        "absent": len(result.absent),
        "seconds": round(time.monotonic() - started, 3),
    }
    _publish_writes(result)
    published.put(mc.FANOUT_RANGES_COMPLETED if result.complete else mc.FANOUT_RANGES_INCOMPLETE, 1)
    if not result.complete:
        logger.error("range incomplete", extra=outcome)
        absent = (
            f", {len(result.absent)} absent from {rt.source.spec} (e.g. {result.absent[-1]})" if result.absent else ""
        )
        raise RangeIncompleteError(
            f"range {message.first}-{message.last}: {len(result.poison)} poison ledger(s) "
            f"{sorted(result.poison)}{absent}"
        )
    logger.info("range ingested", extra=outcome)
    return result


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    return dict(response)


# -- progress: the watermark from the data ----------------------------------------------------------------------

_HIGHEST_GAP_SQL = """
SELECT max(n.number) AS gap, count() AS missing
FROM numbers({start:UInt64}, {count:UInt64}) AS n
LEFT ANTI JOIN
(
    SELECT DISTINCT toUInt64(ledger) AS ledger
    FROM prices.ingested_ledgers
    WHERE ledger >= {start:UInt32} AND ledger <= {end:UInt32}
) AS i ON n.number = i.ledger
"""

_LAST_PUSH_SQL = """
SELECT max(inserted_at), count()
FROM prices.ingested_ledgers
WHERE ledger >= {first:UInt32} AND ledger <= {last:UInt32}
"""


def highest_gap(client: Any, first: int, last: int) -> int | None:
    """The highest ledger of [first, last] without an ingested record (None: the range is complete).

    Windows of at most MAX_RANGE ledgers from the top, stopping at the first with a gap: one aggregate row per
    query, however many ledgers are missing."""
    hi = last
    while hi >= first:
        lo = max(first, hi - MAX_RANGE + 1)
        gap, missing = client.query(
            _HIGHEST_GAP_SQL, parameters={"start": lo, "end": hi, "count": hi - lo + 1}
        ).result_rows[0]
        if int(missing):
            return int(gap)
        hi = lo - 1
    return None


def recompute_progress(client: Any, task: str, first: int, last: int, *, queue_busy: bool | None) -> ProgressRow:
    """Write `task`'s progress row computed from `ingested_ledgers` and return it.

    `current_ledger` = one above the highest gap of [first, last] (`first` when there is none), so every ledger
    of [current_ledger, last] is ingested: the CLI's watermark semantics, without a walk to derive it from.
    Status: completed without a gap; otherwise running, or paused when `queue_busy` is False (the queue has
    drained and the range is still incomplete: see the DLQ). `last_push_at` is when the newest record of the
    range was written, so a stalled fan-out shows as stale however often this runs.
    """
    if not 1 <= first <= last <= MAX_LEDGER:
        raise ValueError(f"invalid ledger range --from {first} --to {last} (want 1 <= FROM <= TO)")
    gap = highest_gap(client, first, last)
    mark = first if gap is None else gap + 1
    pushed_at, recorded = client.query(_LAST_PUSH_SQL, parameters={"first": first, "last": last}).result_rows[0]
    last_push = None
    if int(recorded):
        # Whole seconds: the progress table stores DateTime.
        last_push = (pushed_at.replace(tzinfo=UTC) if pushed_at.tzinfo is None else pushed_at).replace(microsecond=0)
    previous = read_progress(client, task)
    prev = previous[0] if previous else None
    now = now_utc()
    status: Status = "completed" if gap is None else "paused" if queue_busy is False else "running"
    completed_at = None
    if status == "completed":
        completed_at = prev.completed_at if prev is not None and prev.completed_at is not None else now
    row = ProgressRow(
        task_name=task,
        start_ledger=first,
        target_ledger=last,
        current_ledger=mark,
        status=status,
        last_push_at=last_push,
        earliest_data_available=close_time_of(client, mark) if mark <= last else None,
        newest_data_available=close_time_of(client, last),
        started_at=prev.started_at if prev is not None else now,
        completed_at=completed_at,
    )
    write_progress(client, row)
    return row
