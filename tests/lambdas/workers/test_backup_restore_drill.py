"""Restore drill on the real engine: back up `prices` to S3, drop it, restore it, compare every table.

* ClickHouse: chDB (engine 26.9) behind the stand-in, the mainnet fixtures ingested through the writer path and
  rolled up to 1M, plus rows in every other table (oracle prices, backfill progress, current prices, ...).
* S3: moto's server in its own process on loopback, speaking the real S3 protocol, **with IAM enforced**: the
  engine signs its requests with an access key of an IAM user whose policy is exactly
  `components.backups.clickhouse_user_policy`, and the backup job lists and reads with a user holding exactly
  `components.backups.backup_job_statements`. So the tests show the policies suffice, and refuse what they must.
* The named collection is created by the production push script (`named_collection_script`), run with bash.
* The backup is started by the backup job's own code (`lambdas.workers.backup`) through the stand-in, as the
  writer identity; restores use `schema.restore.restore_sql` and the comparison `schema.restore.fingerprint_sql`.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from clickhouse_connect.driver.exceptions import DatabaseError

from components.backups import backup_job_statements, clickhouse_user_policy, named_collection_script
from lambdas.common.edge_clickhouse import FixedClickHouse
from lambdas.common.settings import load_env_settings
from lambdas.ledger_processor.writer import write_ledger
from lambdas.workers import backup
from local.caddy_process import free_port
from schema.migrations import apply_migrations
from schema.rbac import BACKUP_COLLECTION
from schema.restore import data_tables, fingerprint_sql, refreshable_views, replaced_by_refresh, restore_sql
from schema.rollups import rollup_range_from_parts
from tests.chfront_fixture import Front
from tests.lambdas.ledger_processor.test_candles_engine import fixture_paths, prepare
from tests.lambdas.workers.helpers import FakeContext, admin_client, emf_metrics, scheduled_event, writer_client

pytestmark = [pytest.mark.engine, pytest.mark.slow]

BUCKET = "prices-test-clickhouse-backups"
PREFIX = "clickhouse/prices"
REGION = "eu-central-1"
NO_LOCK_COLLECTION = "prices_backups_without_lock_delete"
SECRET_ARN = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:prices/test/clickhouse-mtls-ingestion-AbCdEf"


# ---- moto with IAM enforced ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Moto:
    endpoint: str
    admin_key: tuple[str, str]

    def client(self, service: str, key: tuple[str, str]) -> Any:
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=key[0],
            aws_secret_access_key=key[1],
        )

    def user_with_policy(self, name: str, policy: dict[str, Any]) -> tuple[str, str]:
        iam = self.client("iam", self.admin_key)
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName="only", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]


@contextlib.contextmanager
def moto_with_iam(workdir: Path) -> Iterator[Moto]:
    port = free_port()
    log = (workdir / "moto.log").open("wb")
    # Only the first three requests (creating the admin user) go unauthenticated; every later one is checked
    # against the caller's IAM policy, S3 included.
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "3"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            assert proc.poll() is None, (workdir / "moto.log").read_text()
            assert time.monotonic() < deadline, "moto server did not start"
            time.sleep(0.05)
        endpoint = f"http://127.0.0.1:{port}"
        bootstrap = boto3.client(
            "iam", endpoint_url=endpoint, region_name=REGION, aws_access_key_id="AKIABOOTSTRAP0000000",
            aws_secret_access_key="bootstrap",
        )  # fmt: skip
        bootstrap.create_user(UserName="admin")
        everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        bootstrap.put_user_policy(UserName="admin", PolicyName="all", PolicyDocument=json.dumps(everything))
        key = bootstrap.create_access_key(UserName="admin")["AccessKey"]
        yield Moto(endpoint, (key["AccessKeyId"], key["SecretAccessKey"]))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


# ---- engine helpers ------------------------------------------------------------------------------------------


def fingerprints(admin: Any, database: str) -> dict[str, tuple[int, int, int]]:
    rows = admin.query(fingerprint_sql(database)).result_rows
    return {str(table): (int(n), int(s), int(x)) for table, n, s, x in rows}


def restored(before: dict[str, tuple[int, int, int]]) -> dict[str, tuple[int, int, int]]:
    """What a restore gives back: everything, but empty tables where a refreshable view rewrites the whole table
    (the engine leaves their rows out of a database backup; the view recomputes them)."""
    return {**before, **dict.fromkeys(replaced_by_refresh(), (0, 0, 0))}


def backup_keys(drill: Drill) -> set[str]:
    pages = (
        drill.moto.client("s3", drill.moto.admin_key)
        .get_paginator("list_objects_v2")
        .paginate(Bucket=BUCKET, Prefix=f"{drill.path}/")
    )
    return {o["Key"] for page in pages for o in page.get("Contents", [])}


def objects_of(admin: Any, database: str) -> set[str]:
    """The database's tables and views. A refreshable view that replaces its target builds the new contents in a
    `.tmp.inner_id.<uuid>` table and swaps it in: that scratch table is listed only while a refresh runs (CI
    caught one mid-refresh), so it is not an object of the database."""
    rows = admin.query(
        "SELECT name FROM system.tables WHERE database = {db:String} AND NOT startsWith(name, '.tmp.')",
        parameters={"db": database},
    )
    return {str(r[0]) for r in rows.result_rows}


def views_refreshing_in(admin: Any, database: str) -> set[str]:
    rows = admin.query(
        "SELECT view FROM system.view_refreshes WHERE database = {db:String}", parameters={"db": database}
    ).result_rows
    return {str(r[0]) for r in rows}


def wait_for_backup(admin: Any, path: str, timeout: float = 60) -> tuple[str, str, int]:
    name = f"S3({BACKUP_COLLECTION}, '{path}')"
    deadline = time.monotonic() + timeout
    while True:
        rows = admin.query(
            "SELECT toString(status), error, total_size FROM system.backups WHERE name = {n:String}",
            parameters={"n": name},
        ).result_rows
        if rows and rows[0][0] != "CREATING_BACKUP":
            return str(rows[0][0]), str(rows[0][1]), int(rows[0][2])
        assert time.monotonic() < deadline, f"backup {path} still running after {timeout} s"
        time.sleep(0.1)


def push_named_collection(admin: Any, workdir: Path, collection: str, url: str, key: tuple[str, str]) -> str:
    """Run the production push script with bash; clickhouse-client is replaced by a file the test executes."""
    sql_file = workdir / f"{collection}.sql"
    script = named_collection_script(f"cat > {sql_file}", collection, url)
    done = subprocess.run(
        ["bash", "-c", script], input=f"{key[0]}\n{key[1]}\n", capture_output=True, text=True, check=True
    )
    sql = sql_file.read_text()
    for statement in filter(None, (s.strip() for s in sql.split(";\n"))):
        admin.command(statement.rstrip(";"))
    return done.stdout


def fill_tables(admin: Any, writer: Any) -> None:
    """Mainnet candles through the writer path and the rollup chain, named rows where the ledgers write none,
    and generated rows in any table still empty (so a table added later is covered too)."""
    for path in fixture_paths():
        write_ledger(writer, prepare(path))
    rollup_range_from_parts(
        lambda sql, params: admin.command(sql, parameters=dict(params)),
        datetime(2015, 1, 1, tzinfo=UTC),
        datetime.now(UTC) + timedelta(days=1),
    )
    admin.command(
        "INSERT INTO prices.oracle_prices (asset_id, oracle_name, timestamp, price_usd, raw_data) VALUES "
        "('native', 'reflector-dex', '2026-10-31 23:55:00', 0.3121, '{\"price\":\"3121\"}'), "
        "('native', 'reflector-dex', '2026-11-01 00:00:00', 0.3125, '{\"price\":\"3125\"}'), "
        "('USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN', 'reflector-cex', "
        "'2026-11-01 00:05:00', 1.0001, '{}')"
    )
    admin.command(
        "INSERT INTO prices.backfill_progress (task_name, start_ledger, target_ledger, current_ledger, status, "
        "last_push_at, started_at) VALUES "
        "('sdex_archive', 1, 63092996, 51000294, 'running', '2026-11-23 12:00:00', '2026-11-01 00:00:00'), "
        "('soroban_amm', 48500000, 63092996, 63092996, 'completed', '2026-11-20 08:00:00', '2026-11-02 00:00:00')"
    )
    admin.command(
        "INSERT INTO prices.current_prices (asset_id, price_usd, volume_24h_usd) VALUES "
        "('native', 0.3125, 1234567.5), ('USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN', 1.0, 99.5)"
    )
    # Recent rows: the table's one-day TTL would drop old (e.g. random) ones at any merge, mid-drill.
    admin.command(
        "INSERT INTO prices.probe_writes (probe_at, probe_id) VALUES "
        "(now64(3, 'UTC') - INTERVAL 10 MINUTE, 'drill-1'), (now64(3, 'UTC'), 'drill-2')"
    )
    for table in data_tables():
        if admin.query(f"SELECT count() FROM prices.{table}").result_rows[0][0]:
            continue
        columns = admin.query(
            "SELECT name, type FROM system.columns WHERE database = 'prices' AND table = {t:String} "
            "AND default_kind NOT IN ('MATERIALIZED', 'ALIAS') ORDER BY position",
            parameters={"t": table},
        ).result_rows
        structure = ", ".join(f"`{name}` {type_}" for name, type_ in columns)
        names = ", ".join(f"`{name}`" for name, _ in columns)
        admin.command(
            f"INSERT INTO prices.{table} ({names}) SELECT * FROM generateRandom({{s:String}}, 7, 16, 4) LIMIT 5",
            parameters={"s": structure},
        )


# ---- the drill -------------------------------------------------------------------------------------------------


@dataclass
class Drill:
    moto: Moto
    admin: Any
    before: dict[str, tuple[int, int, int]]
    objects_before: set[str]
    path: str
    started_at: datetime
    first_run: dict[str, Any]
    second_run_metrics: list[Any]
    backup_status: tuple[str, str, int]
    job_s3: Any
    push_output: str


@pytest.fixture(scope="module")
def drill(front: Front, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Drill]:
    workdir = Path(tmp_path_factory.mktemp("backup-drill"))
    admin, writer = admin_client(front), writer_client(front)
    with moto_with_iam(workdir) as moto:
        s3_admin = moto.client("s3", moto.admin_key)
        s3_admin.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3_admin.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        url = f"{moto.endpoint}/{BUCKET}/"
        server_key = moto.user_with_policy("clickhouse-server", clickhouse_user_policy(BUCKET, PREFIX))
        push_output = push_named_collection(admin, workdir, BACKUP_COLLECTION, url, server_key)
        policy = clickhouse_user_policy(BUCKET, PREFIX)
        policy["Statement"] = [s for s in policy["Statement"] if s["Sid"] != "RemoveBackupLockFiles"]
        push_named_collection(admin, workdir, NO_LOCK_COLLECTION, url, moto.user_with_policy("no-lock", policy))
        job_policy = {"Version": "2012-10-17", "Statement": backup_job_statements(BUCKET, PREFIX, SECRET_ARN)}
        job_s3 = moto.client("s3", moto.user_with_policy("backup-job", job_policy))

        fill_tables(admin, writer)
        before = fingerprints(admin, "prices")
        objects_before = objects_of(admin, "prices")

        now = datetime.now(UTC)
        env = {
            "CLICKHOUSE_URL": "https://clickhouse.example.org",
            "MTLS_SECRET_NAME": "prices/test/clickhouse-mtls-ingestion",
            "BACKUP_COLLECTION": BACKUP_COLLECTION,
            "BACKUP_PREFIX": PREFIX,
            "BACKUP_BUCKET": BUCKET,
            "BACKUP_HOUR_UTC": str(now.hour),
            "BACKUP_MAX_AGE_HOURS": "26",
        }
        runtime = backup.Runtime(
            settings=load_env_settings(backup.SETTINGS_MODEL, env, "backup"),
            clickhouse=FixedClickHouse(writer),
            s3=job_s3,
        )
        first_run = backup.run_backup_job(runtime, now)
        path = first_run["started"]["path"]
        status = wait_for_backup(admin, path)

        # The second run goes through the Lambda entry point: decorators, EMF metrics on stdout.
        backup.set_runtime(runtime)
        capture = workdir / "emf.out"
        with capture.open("w") as out, contextlib.redirect_stdout(out):
            second = backup.handler(scheduled_event(), FakeContext(function_name="prices-test-backup"))
        backup.set_runtime(None)
        assert second["started"] is None and second["fresh"] is True, second
        yield Drill(
            moto=moto,
            admin=admin,
            before=before,
            objects_before=objects_before,
            path=path,
            started_at=now,
            first_run=first_run,
            second_run_metrics=emf_metrics(capture.read_text()),
            backup_status=status,
            job_s3=job_s3,
            push_output=push_output,
        )


def test_every_table_has_rows_to_compare(drill: Drill) -> None:
    assert set(drill.before) == set(data_tables())
    empty = sorted(table for table, (rows, _, _) in drill.before.items() if rows == 0)
    assert empty == []
    # The schema-derived table list (what verify-sql prints) is every MergeTree table on the server.
    on_server = drill.admin.query(
        "SELECT name FROM system.tables WHERE database = 'prices' AND engine LIKE '%MergeTree' "
        "AND NOT startsWith(name, '.tmp.')"  # a refresh's scratch table (see objects_of)
    ).result_rows
    assert {str(r[0]) for r in on_server} == set(drill.before)
    assert drill.before["price_ohlcv_1M"][0] > 0 and drill.before["oracle_prices"][0] == 3


def test_the_job_started_an_async_backup_that_completed_in_the_bucket(drill: Drill) -> None:
    assert drill.first_run["started"]["id"]
    assert drill.first_run["reason"] == "no complete backup in the bucket"
    assert drill.path == backup.backup_path(PREFIX, drill.started_at)
    status, error, total_size = drill.backup_status
    assert (status, error) == ("BACKUP_CREATED", "")
    keys = backup_keys(drill)
    assert f"{drill.path}/.backup" in keys
    # The engine deleted its lock (allowed by RemoveBackupLockFiles only); every object sits under the prefix.
    assert f"{drill.path}/.lock" not in keys
    assert f"{drill.path}/metadata/prices/oracle_prices.sql" in keys
    assert total_size > 0
    assert "named collection prices_backups points at" in drill.push_output


def test_a_database_backup_holds_no_rows_of_tables_a_refreshable_view_rewrites(drill: Drill) -> None:
    """Characterises engine 26.9 (docs/backups.md): BACKUP DATABASE keeps the metadata of `current_prices`
    (rewritten whole by mv_current_prices every minute) but none of its rows; every other table has its parts."""
    keys = backup_keys(drill)
    assert replaced_by_refresh() == ("current_prices",)
    with_data = {key.split("/data/prices/", 1)[1].split("/", 1)[0] for key in keys if "/data/prices/" in key}
    assert with_data == set(data_tables()) - {"current_prices"}
    assert f"{drill.path}/metadata/prices/current_prices.sql" in keys


def test_the_next_run_reports_a_fresh_backup_and_its_size(drill: Drill) -> None:
    published = {(m.namespace, m.name): m for m in drill.second_run_metrics}
    succeeded = published[("Prices/Backup", "BackupSucceeded")]
    assert (succeeded.value, succeeded.unit, succeeded.dimensions) == (1.0, "Count", {"service": "backup"})
    size = published[("Prices/Backup", "BackupBytes")]
    assert (size.value, size.unit) == (float(drill.backup_status[2]), "Bytes")
    stored = backup.newest_stored_backup(drill.job_s3, BUCKET, PREFIX)
    assert stored is not None and stored.path == drill.path


def test_the_server_key_cannot_write_outside_the_prefix(drill: Drill) -> None:
    with pytest.raises(DatabaseError, match=r"ACCESS_DENIED|403|Access Denied"):
        drill.admin.command(
            "BACKUP DATABASE prices TO S3({c:Identifier}, {p:String})",
            parameters={"c": BACKUP_COLLECTION, "p": "elsewhere/20260101T000000Z"},
        )
    # And the backup job's own key may read manifests, nothing else.
    with pytest.raises(ClientError, match=r"AccessDenied|Forbidden|403"):
        drill.job_s3.get_object(Bucket=BUCKET, Key=f"{drill.path}/metadata/prices.sql")


def test_without_the_lock_delete_grant_a_backup_fails(drill: Drill) -> None:
    with pytest.raises(DatabaseError, match=r"\.lock"):
        drill.admin.command(
            "BACKUP DATABASE prices TO S3({c:Identifier}, {p:String})",
            parameters={"c": NO_LOCK_COLLECTION, "p": f"{PREFIX}/20260101T000000Z"},
        )


def test_restore_into_another_database_equals_every_table_and_leaves_production_alone(drill: Drill) -> None:
    admin = drill.admin
    admin.command(restore_sql(drill.path, collection=BACKUP_COLLECTION, into="prices_restore_drill"))
    try:
        assert fingerprints(admin, "prices_restore_drill") == restored(drill.before)
        assert fingerprints(admin, "prices") == drill.before
        # No refreshable view came back: none reads production or rewrites the copy.
        assert views_refreshing_in(admin, "prices_restore_drill") == set()
        assert objects_of(admin, "prices_restore_drill") == drill.objects_before - set(refreshable_views())
        view = admin.query(
            "SELECT create_table_query FROM system.tables WHERE database = 'prices_restore_drill' "
            "AND name = 'rollup_15m_from_1m'"
        ).result_rows[0][0]
        assert "prices_restore_drill.price_ohlcv_1m" in view and "prices.price_ohlcv_1m" not in view
    finally:
        admin.command("DROP DATABASE IF EXISTS prices_restore_drill SYNC")


def test_restored_refreshable_views_would_read_production_which_is_why_restore_sql_leaves_them_out(
    drill: Drill,
) -> None:
    """Characterises the engine (docs/backups.md): a plain RESTORE AS brings the refreshable views back
    refreshing at once, and renames their TO table but not the parameterized-view call they read."""
    admin = drill.admin
    admin.command(f"RESTORE DATABASE prices AS prices_views_probe FROM S3({BACKUP_COLLECTION}, '{drill.path}')")
    try:
        assert views_refreshing_in(admin, "prices_views_probe") == set(refreshable_views())
        ddl = admin.query(
            "SELECT create_table_query FROM system.tables WHERE database = 'prices_views_probe' "
            "AND name = 'mv_rollup_15m'"
        ).result_rows[0][0]
        assert "TO prices_views_probe.price_ohlcv_15m" in ddl
        assert "`prices.rollup_15m_from_1m`(" in ddl
    finally:
        admin.command("DROP DATABASE IF EXISTS prices_views_probe SYNC")


def test_drop_and_restore_in_place_gives_back_every_table_then_the_migrations_bring_back_the_views(
    drill: Drill,
) -> None:
    admin = drill.admin
    admin.command("DROP DATABASE prices SYNC")
    assert "prices" not in {str(r[0]) for r in admin.query("SHOW DATABASES").result_rows}
    admin.command(restore_sql(drill.path, collection=BACKUP_COLLECTION))
    assert fingerprints(admin, "prices") == restored(drill.before)
    assert views_refreshing_in(admin, "prices") == set()
    apply_migrations(admin.command)
    assert objects_of(admin, "prices") == drill.objects_before
    assert views_refreshing_in(admin, "prices") == set(refreshable_views())
    # The derived table comes back from its view on the restored tiers.
    admin.command("SYSTEM REFRESH VIEW prices.mv_current_prices")
    admin.command("SYSTEM WAIT VIEW prices.mv_current_prices")
    failed = admin.query(
        "SELECT view, exception FROM system.view_refreshes WHERE database = 'prices' AND exception != ''"
    ).result_rows
    assert failed == []
    last_success = admin.query(
        "SELECT last_success_time FROM system.view_refreshes WHERE database = 'prices' AND view = 'mv_current_prices'"
    ).result_rows[0][0]
    assert last_success is not None
