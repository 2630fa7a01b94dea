"""Gap detection against the real engine and re-enqueueing through moto SQS."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lambdas.ledger_processor import handler as h
from lambdas.ledger_processor.ledger_files import ledger_from_key, ledger_key_for
from lambdas.ledger_processor.reconcile import enqueue_missing, find_missing
from tests.chfront_fixture import Front, running_front
from tests.lambdas.ledger_processor.test_candles_engine import admin_client, fresh_prices

pytestmark = [pytest.mark.engine]


@pytest.fixture(scope="module")
def admin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    front: Front
    with running_front(Path(tmp_path_factory.mktemp("chfront-reconcile"))) as front:
        client = admin_client(front)
        fresh_prices(client)
        yield client


def record(ledger: int) -> list[Any]:
    return [ledger, datetime(2026, 1, 1, tzinfo=UTC), ledger_key_for(ledger), "0" * 64, 0, 0]


def test_find_missing_returns_exactly_the_gaps_inclusive_of_both_ends(admin: Any) -> None:
    present = [100, 101, 103, 104, 107, 110, 104]  # 104 twice: duplicates must not matter
    admin.insert(
        "prices.ingested_ledgers",
        [record(n) for n in present],
        column_names=["ledger", "close_time", "file_key", "sha256", "trade_count", "unresolved_count"],
    )
    assert find_missing(admin, 100, 110) == [102, 105, 106, 108, 109]
    assert find_missing(admin, 98, 101) == [98, 99]
    assert find_missing(admin, 103, 104) == []
    assert find_missing(admin, 111, 111) == [111]
    for bad in ((5, 4), (-1, 3), (0, 2**32)):
        with pytest.raises(ValueError):
            find_missing(admin, *bad)
    with pytest.raises(ValueError, match="split"):
        find_missing(admin, 0, 1_000_000)


def test_enqueue_missing_sends_s3_notifications_in_batches_of_ten_the_handler_accepts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    ledgers = list(range(62527995, 62528018))  # 23 ledgers across a partition boundary (62528000)
    with mock_aws():
        sqs = boto3.client("sqs")
        url = sqs.create_queue(QueueName="ingest")["QueueUrl"]
        calls: list[int] = []
        real = sqs.send_message_batch

        def counting(**kw: Any) -> Any:
            calls.append(len(kw["Entries"]))
            return real(**kw)

        monkeypatch.setattr(sqs, "send_message_batch", counting)
        assert enqueue_missing(sqs, url, "ledger-bucket", ledgers + ledgers[:3]) == 23
        assert calls == [10, 10, 3]
        bodies = []
        while True:
            msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not msgs:
                break
            bodies += [m["Body"] for m in msgs]
    assert len(bodies) == 23
    seen = []
    for body in bodies:
        ((bucket, key),) = list(h.s3_objects(body))
        assert bucket == "ledger-bucket"
        assert key == ledger_key_for(ledger_from_key(key))
        assert json.loads(body)["Records"][0]["eventName"].startswith("ObjectCreated")
        seen.append(ledger_from_key(key))
    assert sorted(seen) == ledgers
    assert ledger_key_for(62528000).startswith("FC45E5FF--62528000-62591999/")
