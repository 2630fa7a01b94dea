"""Ledger processor Lambda: SQS (S3 ObjectCreated notifications, raw or SNS-wrapped) → candle parts.

Per SQS record, for each S3 object it names: ledger from the SEP-54 key, ``s3.get_object``, decode and
extract (``ledger_ingest.prepare_ledger``: fast path, network check), then write the parts and the
``ingested_ledgers`` record (``writer.write_ledger``). A failing record is reported in
``batchItemFailures`` and never fails its neighbours:

* poison (unparsable key or message, corrupt zstd/gzip, malformed XDR, wrong network, foreign bucket) —
  logged with its reason and counted in ``PoisonRecords``; SQS redelivers it until maxReceiveCount, then
  it lands in the DLQ;
* transient (S3, ClickHouse unreachable, insert failed after its retries) — counted in
  ``TransientFailures``; redelivery rewrites the same rows under the same keys and dedup tokens, so
  nothing is lost or doubled.

Module-scope state, reused while the container is warm: the settings (validated once), the boto3 clients,
the mTLS bundle (re-read after ``MTLS_MAX_AGE_SECONDS``) and the ClickHouse client built from it (rebuilt
when the bundle changes or after a connection failure).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.common import metric_catalog as mc
from lambdas.common.catalog_metrics import CatalogMetrics
from lambdas.common.edge_clickhouse import ClickHouseProvider, EdgeClickHouse
from lambdas.common.runtime_slot import RuntimeSlot
from lambdas.common.settings import IngestSettings, load_ingest_settings
from lambdas.ledger_processor.ledger_ingest import PoisonLedgerError, ledger_for_key, prepare_ledger
from lambdas.ledger_processor.writer import WriteResult, write_ledger

SERVICE = "ledger-processor"
NAMESPACE = mc.INGEST

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
# Names, units and dimensions from the metric catalog the alarms and dashboard are built from.
published = CatalogMetrics(metrics, NAMESPACE, SERVICE)
tracer = Tracer(service=SERVICE)
processor = BatchProcessor(event_type=EventType.SQS)


class TransientError(RuntimeError):
    """A dependency failed; the same record may well succeed on redelivery."""


@dataclass
class Runtime:
    settings: IngestSettings
    s3: Any
    clickhouse: ClickHouseProvider


def build_runtime(environ: Mapping[str, str], *, pem_dir: Path | None = None) -> Runtime:
    settings = load_ingest_settings(environ)
    return Runtime(
        settings=settings, s3=boto3.client("s3"), clickhouse=EdgeClickHouse.from_settings(settings, pem_dir=pem_dir)
    )


_slot: RuntimeSlot[Runtime] = RuntimeSlot(build_runtime)


def runtime() -> Runtime:
    return _slot.get()


def set_runtime(value: Runtime | None) -> None:
    """Replace the module-scope runtime (tests; ``None`` rebuilds from the environment on next use)."""
    _slot.set(value)


def s3_objects(body: str) -> Iterator[tuple[str, str]]:
    """(bucket, key) of every S3 record in an SQS body: raw S3 event or SNS-wrapped; s3:TestEvent → none."""
    try:
        message = json.loads(body)
        if isinstance(message, dict) and message.get("Type") == "Notification" and "Message" in message:
            message = json.loads(message["Message"])
    except (json.JSONDecodeError, TypeError) as exc:
        raise PoisonLedgerError("bad_message", f"SQS body is not an S3 event: {exc}") from exc
    if not isinstance(message, dict):
        raise PoisonLedgerError("bad_message", "SQS body is not a JSON object")
    if message.get("Event") == "s3:TestEvent":
        return
    records = message.get("Records")
    if not isinstance(records, list) or not records:
        raise PoisonLedgerError("bad_message", "S3 event without Records")
    for rec in records:
        try:
            bucket = rec["s3"]["bucket"]["name"]
            key = unquote_plus(rec["s3"]["object"]["key"])
        except (KeyError, TypeError) as exc:
            raise PoisonLedgerError("bad_message", f"S3 record without bucket/key: {exc!r}") from exc
        yield str(bucket), key


def ingest_object(rt: Runtime, bucket: str, key: str) -> WriteResult:
    if bucket != rt.settings.LEDGER_BUCKET:
        raise PoisonLedgerError("foreign_bucket", f"object s3://{bucket}/{key} is not in {rt.settings.LEDGER_BUCKET}")
    expected = ledger_for_key(key)
    try:
        data = rt.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception as exc:
        raise TransientError(f"cannot read s3://{bucket}/{key}: {exc}") from exc
    prepared = prepare_ledger(data, key, rt.settings.NETWORK_PASSPHRASE, expected)
    try:
        result = write_ledger(rt.clickhouse.client(), prepared)
    except Exception as exc:
        rt.clickhouse.invalidate()
        raise TransientError(f"ledger {expected}: ClickHouse write failed: {exc}") from exc
    published.put(mc.LEDGERS_INGESTED, 1)
    published.put(mc.TRADES_WRITTEN, prepared.trade_count)
    published.put(mc.CANDLE_PARTS_WRITTEN, result.parts_rows)
    if prepared.unresolved_count:
        published.put(mc.UNRESOLVED_SWAPS, prepared.unresolved_count)
    lag = max(0.0, time.time() - prepared.close_time)
    published.put(mc.INGEST_LAG_SECONDS, lag)
    logger.info(
        "ledger ingested",
        extra={
            "ledger": prepared.ledger,
            "key": key,
            "trades": prepared.trade_count,
            "parts": result.parts_rows,
            "unresolved": prepared.unresolved_count,
            "network_checked": prepared.network.checked,
        },
    )
    return result


@tracer.capture_method
def record_handler(record: SQSRecord) -> list[WriteResult]:
    rt = runtime()
    try:
        return [ingest_object(rt, bucket, key) for bucket, key in s3_objects(record.body)]
    except PoisonLedgerError as exc:
        published.put(mc.POISON_RECORDS, 1)
        logger.error("poison record", extra={"reason": exc.reason, "message_id": record.message_id, "error": str(exc)})
        raise
    except Exception as exc:
        published.put(mc.TRANSIENT_FAILURES, 1)
        logger.warning("record failed, will be retried", extra={"message_id": record.message_id, "error": str(exc)})
        raise


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    return dict(response)
