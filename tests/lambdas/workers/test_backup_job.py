"""The backup job's decisions, queries and S3 witness, without an engine (the drill runs it on the real one)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lambdas.common.settings import SettingsError, load_env_settings
from lambdas.workers import backup
from lambdas.workers.backup import Attempt, StoredBackup, decide

pytestmark = pytest.mark.unit

PREFIX = "clickhouse/prices"
NOW = datetime(2026, 11, 24, 3, 20, tzinfo=UTC)
MAX_AGE = timedelta(hours=26)
ENV = {
    "CLICKHOUSE_URL": "https://ch.example.org",
    "MTLS_SECRET_NAME": "prices/dev/clickhouse-mtls-ingestion",
    "BACKUP_COLLECTION": "prices_backups",
    "BACKUP_PREFIX": PREFIX,
    "BACKUP_BUCKET": "prices-dev-clickhouse-backups-123456789012",
    "BACKUP_HOUR_UTC": "3",
    "BACKUP_MAX_AGE_HOURS": "26",
}


def attempt(name: str, status: str, *, started: datetime, size: int = 0, error: str = "") -> Attempt:
    return Attempt(f"id-{name}", f"{PREFIX}/{name}", status, error, started, size)


def stored(name: str, completed: datetime) -> StoredBackup:
    return StoredBackup(f"{PREFIX}/{name}", completed)


def run(attempts: list[Attempt], newest: StoredBackup | None, now: datetime = NOW) -> backup.Decision:
    return decide(attempts, newest, now, backup_hour_utc=3, max_age=MAX_AGE)


# ---- decisions -------------------------------------------------------------------------------------------------


def test_an_empty_bucket_starts_a_backup_at_any_hour() -> None:
    d = run([], None, NOW.replace(hour=14))
    assert (d.start, d.fresh, d.failure, d.newest_bytes) == (True, False, None, None)
    assert d.reason == "no complete backup in the bucket"


def test_the_daily_backup_starts_in_its_hour_only_once() -> None:
    yesterday = attempt("20261123T030012Z", "BACKUP_CREATED", started=NOW - timedelta(days=1), size=42)
    newest = stored("20261123T030012Z", NOW - timedelta(hours=23, minutes=50))
    due = run([yesterday], newest)
    assert (due.start, due.reason, due.fresh, due.newest_bytes) == (True, "daily backup due", True, 42)
    # Outside the hour: nothing to do while the newest backup is fresh.
    later = run([yesterday], newest, NOW + timedelta(hours=1))
    assert (later.start, later.fresh) == (False, True)
    # In the hour again but already done (started 40 minutes ago, completed since): no second backup.
    today = attempt("20261124T024000Z", "BACKUP_CREATED", started=NOW - timedelta(minutes=40), size=50)
    done = run([today, yesterday], stored("20261124T024000Z", NOW - timedelta(minutes=30)))
    assert (done.start, done.fresh, done.newest_bytes) == (False, True, 50)


def test_a_running_backup_is_never_doubled_even_when_overdue() -> None:
    running = attempt("20261124T030000Z", "CREATING_BACKUP", started=NOW - timedelta(minutes=20))
    old = stored("20261122T030000Z", NOW - timedelta(hours=48))
    d = run([running], old)
    assert (d.start, d.fresh, d.failure) == (False, False, None)
    assert d.reason == f"backup {PREFIX}/20261124T030000Z running since 2026-11-24 03:00:00Z"


def test_an_overdue_backup_starts_outside_its_hour() -> None:
    afternoon = NOW.replace(hour=16)
    d = run([], stored("20261123T130000Z", afternoon - timedelta(hours=27)), afternoon)
    assert (d.start, d.fresh) == (True, False)
    assert d.reason.startswith("newest complete backup is 27.0 h old")


def test_a_failed_attempt_is_reported_and_retried() -> None:
    failed = attempt(
        "20261124T030000Z", "BACKUP_FAILED", started=NOW - timedelta(minutes=30), error="Code: 499. S3_ERROR"
    )
    d = run([failed], stored("20261123T030000Z", NOW - timedelta(hours=24)))
    assert (d.start, d.fresh, d.reason) == (True, True, "retrying after a failed attempt")
    assert (
        d.failure == f"backup {PREFIX}/20261124T030000Z (id-20261124T030000Z) ended BACKUP_FAILED: Code: 499. S3_ERROR"
    )


def test_a_failure_followed_by_a_success_is_over() -> None:
    failed = attempt("20261124T030000Z", "BACKUP_CANCELLED", started=NOW - timedelta(hours=3))
    ok = attempt("20261124T040000Z", "BACKUP_CREATED", started=NOW - timedelta(hours=2), size=7)
    d = run([ok, failed], stored("20261124T040000Z", NOW - timedelta(hours=1)))
    assert (d.failure, d.start, d.newest_bytes) == (None, False, 7)


def test_a_backup_the_engine_calls_created_but_the_bucket_lacks_is_a_failure() -> None:
    ghost = attempt("20261124T030000Z", "BACKUP_CREATED", started=NOW - timedelta(minutes=30), size=9)
    d = run([ghost], stored("20261123T030000Z", NOW - timedelta(hours=24)))
    assert d.failure == (
        f"the engine reports backup {PREFIX}/20261124T030000Z created, but the bucket holds no .backup for it"
    )
    assert d.newest_bytes is None  # the size of a backup the bucket does not hold is not reported


# ---- queries -----------------------------------------------------------------------------------------------------


@dataclass
class FakeResult:
    result_rows: list[tuple[Any, ...]]


@dataclass
class FakeClient:
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    calls: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)
    fail: Exception | None = None

    def query(self, sql: str, parameters: Mapping[str, Any] | None = None) -> FakeResult:
        self.calls.append((sql, dict(parameters or {})))
        if self.fail is not None:
            raise self.fail
        return FakeResult(self.rows)


class FakeProvider:
    def __init__(self, client: FakeClient) -> None:
        self._client = client
        self.invalidations = 0

    def client(self) -> FakeClient:
        return self._client

    def invalidate(self) -> None:
        self.invalidations += 1


def test_attempts_are_read_with_bound_parameters_and_their_paths_parsed() -> None:
    started = int(NOW.timestamp())
    client = FakeClient(
        rows=[("uuid-1", f"S3(prices_backups, '{PREFIX}/20261124T030000Z')", "BACKUP_FAILED", "boom", started, 0)]
    )
    (found,) = backup.list_attempts(client, "prices_backups", PREFIX)
    assert found == Attempt("uuid-1", f"{PREFIX}/20261124T030000Z", "BACKUP_FAILED", "boom", NOW, 0)
    ((sql, params),) = client.calls
    assert params == {"destination": f"S3(prices_backups, '{PREFIX}/"}
    assert "{destination:String}" in sql and PREFIX not in sql and "prices_backups" not in sql


def test_a_backup_is_started_async_with_the_collection_and_path_bound() -> None:
    client = FakeClient(rows=[("op-7", "CREATING_BACKUP")])
    assert backup.start_backup(client, "prices_backups", f"{PREFIX}/20261124T032000Z") == "op-7"
    ((sql, params),) = client.calls
    assert sql == "BACKUP DATABASE prices TO S3({collection:Identifier}, {path:String}) ASYNC"
    assert params == {"collection": "prices_backups", "path": f"{PREFIX}/20261124T032000Z"}


def test_backup_paths_sort_by_time() -> None:
    assert backup.backup_path(PREFIX, NOW) == f"{PREFIX}/20261124T032000Z"
    assert backup.backup_path(PREFIX, NOW + timedelta(seconds=1)) > backup.backup_path(PREFIX, NOW)


# ---- the bucket as witness ---------------------------------------------------------------------------------------


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="eu-central-1")
        client.create_bucket(
            Bucket=ENV["BACKUP_BUCKET"], CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}
        )
        yield client


def put(s3: Any, key: str) -> None:
    s3.put_object(Bucket=ENV["BACKUP_BUCKET"], Key=key, Body=b"x")


def test_the_newest_directory_with_a_manifest_is_the_newest_complete_backup(s3: Any) -> None:
    bucket = ENV["BACKUP_BUCKET"]
    assert backup.newest_stored_backup(s3, bucket, PREFIX) is None
    put(s3, f"{PREFIX}/20261122T030000Z/.backup")
    put(s3, f"{PREFIX}/20261123T030000Z/.backup")
    put(s3, f"{PREFIX}/20261124T030000Z/data/prices/assets/all_1_1_0/data.bin")  # interrupted: no manifest
    put(s3, f"{PREFIX}/not-a-backup/.backup")
    put(s3, "clickhouse/other/20261125T000000Z/.backup")  # another prefix
    found = backup.newest_stored_backup(s3, bucket, PREFIX)
    assert found is not None and found.path == f"{PREFIX}/20261123T030000Z"
    assert found.completed_at.tzinfo is not None


def test_run_starts_reports_and_fails_after_publishing_when_the_last_attempt_failed(s3: Any) -> None:
    put(s3, f"{PREFIX}/20261123T030000Z/.backup")  # LastModified: now, so fresh
    started = int(NOW.timestamp()) - 600
    client = FakeClient(
        rows=[("op-1", f"S3(prices_backups, '{PREFIX}/20261124T031000Z')", "BACKUP_FAILED", "S3 down", started, 0)]
    )
    provider = FakeProvider(client)
    rt = backup.Runtime(settings=load_env_settings(backup.SETTINGS_MODEL, ENV, "backup"), clickhouse=provider, s3=s3)
    backup.metrics.clear_metrics()
    now = datetime.now(UTC).replace(hour=3)
    with pytest.raises(backup.BackupFailedError, match="ended BACKUP_FAILED: S3 down"):
        backup.run_backup_job(rt, now)
    # The retry was started before the failure was raised, and the freshness was published.
    assert client.calls[-1][0].startswith("BACKUP DATABASE prices TO S3(")
    assert client.calls[-1][1]["path"] == backup.backup_path(PREFIX, now)
    assert backup.metrics.metric_set["BackupSucceeded"]["Value"] == [1.0]
    assert "BackupBytes" not in backup.metrics.metric_set
    backup.metrics.clear_metrics()


def test_a_clickhouse_failure_drops_the_client_and_publishes_nothing(s3: Any) -> None:
    client = FakeClient(fail=ConnectionError("edge unreachable"))
    provider = FakeProvider(client)
    rt = backup.Runtime(settings=load_env_settings(backup.SETTINGS_MODEL, ENV, "backup"), clickhouse=provider, s3=s3)
    backup.metrics.clear_metrics()
    with pytest.raises(ConnectionError):
        backup.run_backup_job(rt, NOW)
    assert provider.invalidations == 1
    # Silence, not a false 0/1: the stale alarm treats missing data as breaching.
    assert backup.metrics.metric_set == {}


# ---- settings ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("BACKUP_PREFIX", "/clickhouse/", "BACKUP_PREFIX Value error, must be a key prefix"),
        ("BACKUP_COLLECTION", "prices-backups", "BACKUP_COLLECTION Value error, must be a ClickHouse identifier"),
        ("BACKUP_BUCKET", "Prices_Bucket", "BACKUP_BUCKET Value error, must be an S3 bucket name"),
        ("BACKUP_HOUR_UTC", "24", "BACKUP_HOUR_UTC"),
        ("CLICKHOUSE_URL", "http://ch.example.org", "CLICKHOUSE_URL"),
    ],
)
def test_a_bad_environment_names_the_variable(variable: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=rf"invalid backup environment: .*{message}"):
        load_env_settings(backup.SETTINGS_MODEL, {**ENV, variable: value}, "backup")


def test_a_missing_variable_is_named() -> None:
    env = {k: v for k, v in ENV.items() if k != "BACKUP_BUCKET"}
    with pytest.raises(SettingsError, match="BACKUP_BUCKET is not set"):
        load_env_settings(backup.SETTINGS_MODEL, env, "backup")
