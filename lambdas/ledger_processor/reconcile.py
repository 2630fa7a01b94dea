"""Gaps in ``prices.ingested_ledgers`` and re-enqueueing them as S3-notification-shaped SQS messages.

The live path is event-driven (one S3 notification per ledger file); a lost notification, a DLQ'd record
that was later fixed or an outage leaves a gap. ``find_missing`` finds it with an anti-join of the
``numbers()`` range against the record table; ``enqueue_missing`` sends the same message the bucket
would have sent, so the handler needs no second code path.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote_plus

from lambdas.ledger_processor.ledger_files import ledger_key_for

MAX_RANGE = 1_000_000  # ledgers per query (~58 days); callers chunk longer ranges
SQS_BATCH = 10  # SendMessageBatch maximum

_FIND_MISSING_SQL = """
SELECT n.number AS ledger
FROM numbers({start:UInt64}, {count:UInt64}) AS n
LEFT ANTI JOIN
(
    SELECT DISTINCT toUInt64(ledger) AS ledger
    FROM prices.ingested_ledgers
    WHERE ledger >= {start:UInt32} AND ledger <= {end:UInt32}
) AS i ON n.number = i.ledger
ORDER BY ledger
"""


def find_missing(client: Any, start: int, end: int) -> list[int]:
    """Ledgers in ``[start, end]`` (inclusive) without an ingested record, ascending."""
    if not 0 <= start <= end <= 0xFFFFFFFF:
        raise ValueError(f"invalid ledger range [{start}, {end}]")
    count = end - start + 1
    if count > MAX_RANGE:
        raise ValueError(f"range of {count} ledgers exceeds {MAX_RANGE}; split it")
    rows = client.query(_FIND_MISSING_SQL, parameters={"start": start, "end": end, "count": count}).result_rows
    return [int(r[0]) for r in rows]


def s3_notification(bucket: str, key: str) -> dict[str, Any]:
    """The body S3 sends for ObjectCreated (keys are URL-encoded in notifications)."""
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {"key": quote_plus(key, safe="/")},
                },
            }
        ]
    }


def _batches(items: Sequence[int], size: int) -> Iterable[Sequence[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def enqueue_missing(sqs: Any, queue_url: str, bucket: str, ledgers: Iterable[int]) -> int:
    """One message per ledger (SEP-54 key), sent in batches of 10; returns the number sent."""
    unique = sorted(set(ledgers))
    sent = 0
    for batch in _batches(unique, SQS_BATCH):
        entries = [
            {"Id": str(seq), "MessageBody": json.dumps(s3_notification(bucket, ledger_key_for(seq)))} for seq in batch
        ]
        response = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        failed = response.get("Failed") or []
        if failed:
            ids = ", ".join(f"{f.get('Id')} ({f.get('Code')})" for f in failed)
            raise RuntimeError(f"SQS refused {len(failed)} of {len(entries)} messages: {ids}")
        sent += len(entries)
    return sent
