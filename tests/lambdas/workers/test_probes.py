"""Probes: every number against a hand-computed value, on the real engine with rows of known timestamps and a
fixed clock; certificates issued for real (pki.issuer) and read from Secrets Manager (moto)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lambdas.backfill.progress_table import ProgressRow, Status
from lambdas.common import metric_catalog as catalog
from lambdas.common.edge_clickhouse import FixedClickHouse
from lambdas.common.settings import SettingsError, load_env_settings
from lambdas.workers import probes
from lambdas.workers.probes import (
    Disk,
    ProbeError,
    backfill_progress_pct,
    backfill_push_age_seconds,
    days_to_not_after,
    free_disk_pct,
    ledger_of_version,
)
from pki.issuer import IssuedCert, issue_client_cert, make_ca
from pki.profile import ClientCertProfile
from tests.chfront_fixture import Front
from tests.lambdas.workers.helpers import (
    FakeContext,
    admin_client,
    assert_catalog_metrics,
    emf_metrics,
    scheduled_event,
    writer_client,
)

pytestmark = pytest.mark.engine

NOW = datetime(2026, 3, 10, 12, 0, 0, tzinfo=UTC)
SECRETS = {
    "ingestion": "prices/test/clickhouse-mtls-prices-ingestion-test",
    "api": "prices/test/clickhouse-mtls-prices-api-test",
}
PROBE_METRICS = tuple(m for m in catalog.ALL_METRICS if m.namespace == catalog.PROBES)


def version(ledger: int, tx: int = 3, op: int = 1, fill: int = 0) -> int:
    return ledger << 32 | tx << 20 | op << 13 | fill


def env(**overrides: str) -> dict[str, str]:
    return {
        "CLICKHOUSE_URL": "https://clickhouse.example.org",
        "MTLS_SECRET_NAME": SECRETS["ingestion"],
        "MTLS_SECRET_NAMES": json.dumps(SECRETS),
        **overrides,
    }


# ---- certificates ------------------------------------------------------------------------------------------------

ISSUED_AT = datetime(2026, 1, 1, 0, 0, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def certificates() -> dict[str, IssuedCert]:
    ca = make_ca()
    return {
        # ingestion: 8760 h from 2026-01-01 → NotAfter 2027-01-01 00:00; api: 90 days → 2026-04-01 00:00.
        "ingestion": issue_client_cert(ClientCertProfile(env="test", role="ingestion"), ca, not_before=ISSUED_AT),
        "api": issue_client_cert(
            ClientCertProfile(env="test", role="api", validity_hours=90 * 24, early_renewal_hours=24),
            ca,
            not_before=ISSUED_AT,
        ),
    }


def bundle(cert: IssuedCert) -> str:
    return json.dumps({"cert": cert.cert_pem, "key": cert.key_pem, "ca": cert.cert_pem})


def test_days_to_not_after_is_exact_for_real_certificates(certificates: dict[str, IssuedCert]) -> None:
    # NOW = 2026-03-10 12:00: 296.5 days before 2027-01-01, 21.5 days before 2026-04-01.
    assert days_to_not_after(certificates["ingestion"].cert_pem, NOW) == 296.5
    assert days_to_not_after(certificates["api"].cert_pem, NOW) == 21.5
    assert days_to_not_after(certificates["api"].cert_pem, datetime(2026, 4, 3, 0, 0, tzinfo=UTC)) == -2.0
    with pytest.raises(ProbeError, match="not a PEM certificate"):
        days_to_not_after("-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n", NOW)


# ---- pure numbers ------------------------------------------------------------------------------------------------


def test_free_disk_is_the_lowest_share_of_the_disks_that_have_a_size() -> None:
    assert free_disk_pct([Disk("default", 30, 100), Disk("hot", 5, 40), Disk("s3", 0, 0)]) == 12.5
    with pytest.raises(ProbeError, match="no disk with a size"):
        free_disk_pct([Disk("s3", 0, 0)])


def test_ledger_of_a_candle_version_is_its_upper_32_bits() -> None:
    assert ledger_of_version(version(63_092_990, tx=4095, op=127, fill=8191)) == 63_092_990
    assert ledger_of_version(version(1, tx=0, op=0, fill=0)) == 1


def task(name: str, span: tuple[int, int, int], status: Status, pushed: datetime | None) -> ProgressRow:
    start, target, current = span
    return ProgressRow(name, start, target, current, status, pushed, None, None, NOW - timedelta(days=30), None)


def test_backfill_progress_and_push_age_follow_the_downward_walk() -> None:
    sdex = task("sdex_archive", (1, 100, 91), "running", NOW - timedelta(hours=1))  # [91, 100] done: 10 %
    amm = task("soroban_amm", (1, 300, 1), "error", NOW - timedelta(hours=2))  # all 300 done
    old = task("old", (1, 100, 1), "completed", NOW - timedelta(days=40))
    assert backfill_progress_pct([sdex]) == 10.0
    assert backfill_progress_pct([sdex, amm]) == 77.5  # 310 of 400 ledgers: weighted by span, not 55 % (mean)
    # Not started (current above target) counts 0 of its span; an empty span counts nothing.
    fresh = task("fresh", (1, 200, 201), "running", None)
    assert backfill_progress_pct([sdex, fresh]) == 1000 / 300
    assert backfill_progress_pct([sdex, task("empty", (5, 4, 5), "running", None)]) == 10.0
    # The stalest task still expected to push; a completed or paused task is not.
    assert backfill_push_age_seconds([sdex, amm, old], NOW) == 7200.0
    assert backfill_push_age_seconds([old, task("p", (1, 9, 5), "paused", None)], NOW) is None
    never = task("new", (1, 9, 9), "running", None)  # never pushed: counts from its start (30 days)
    assert backfill_push_age_seconds([sdex, never], NOW) == 30 * 86_400.0


def test_settings_name_the_bundles_and_insist_on_writing_as_ingestion() -> None:
    settings = load_env_settings(probes.SETTINGS_MODEL, env(), "probes")
    assert settings.MTLS_SECRET_NAMES.by_role() == SECRETS
    with pytest.raises(SettingsError, match="must be the ingestion bundle"):
        load_env_settings(probes.SETTINGS_MODEL, env(MTLS_SECRET_NAME=SECRETS["api"]), "probes")
    with pytest.raises(SettingsError, match=r"MTLS_SECRET_NAMES\.api"):
        load_env_settings(probes.SETTINGS_MODEL, env(MTLS_SECRET_NAMES=json.dumps({"ingestion": "x"})), "probes")
    with pytest.raises(SettingsError, match=r"MTLS_SECRET_NAMES.*is not valid JSON"):
        load_env_settings(probes.SETTINGS_MODEL, env(MTLS_SECRET_NAMES="{ingestion"), "probes")


# ---- on the engine --------------------------------------------------------------------------------------------

# Ledger close times (all before NOW). Tiers point at ledgers through their newest version.
LEDGERS = {1000: NOW - timedelta(days=3), 1100: NOW - timedelta(hours=2), 1200: NOW - timedelta(seconds=600)}
LEDGERS |= {1300: NOW - timedelta(seconds=95), 1301: NOW - timedelta(seconds=90)}
# tier → (newest bucket timestamp, version of its newest source trade), plus older rows below.
TIER_ROWS: dict[str, list[tuple[datetime, int]]] = {
    "1m": [(NOW - timedelta(minutes=2), version(1301)), (NOW - timedelta(minutes=9), version(1200))],
    "15m": [(datetime(2026, 3, 10, 11, 45, tzinfo=UTC), version(1301, fill=9))],
    "1h": [(datetime(2026, 3, 10, 11, 0, tzinfo=UTC), version(1200))],
    # 4h names ledger 1302: its ingested_ledgers record has not landed yet, the nearest below (1301) dates it.
    "4h": [(datetime(2026, 3, 10, 8, 0, tzinfo=UTC), version(1302))],
    # 1d froze two hours ago while 1m kept coming: its age is the freeze's, not the bucket's (12 h).
    "1d": [
        (datetime(2026, 3, 10, 0, 0, tzinfo=UTC), version(1100)),
        (datetime(2026, 3, 9, 0, 0, tzinfo=UTC), version(1000)),
    ],
    # 1w has nothing recent in its window: the probe falls back to the whole table.
    "1w": [(datetime(2026, 1, 5, 0, 0, tzinfo=UTC), version(1000))],
    # 1M's bucket started 9.5 days ago — "fresh" by bucket age under the reference's 45-day threshold — yet
    # nothing newer than 3 days ago reached it.
    "1M": [(datetime(2026, 3, 1, 0, 0, tzinfo=UTC), version(1000))],
}
EXPECTED_AGES = {"1m": 90.0, "15m": 90.0, "1h": 600.0, "4h": 90.0, "1d": 7200.0, "1w": 259_200.0, "1M": 259_200.0}
OHLCV = ["asset_id", "quote_asset_id", "source", "timestamp", "close", "version"]


@pytest.fixture
def known_rows(front: Front) -> Front:
    admin = admin_client(front)
    tables = [f"price_ohlcv_{g}" for g in catalog.GRANULARITY_TABLES]
    for table in [*tables, "ingested_ledgers", "current_prices", "backfill_progress", "probe_writes"]:
        admin.command(f"TRUNCATE TABLE prices.{table}")
    admin.insert(
        "prices.ingested_ledgers",
        [[ledger, when, f"key-{ledger}", "00", 1, 0] for ledger, when in LEDGERS.items()],
        column_names=["ledger", "close_time", "file_key", "sha256", "trade_count", "unresolved_count"],
    )
    for granularity, rows in TIER_ROWS.items():
        admin.insert(
            f"prices.price_ohlcv_{granularity}",
            [["native", "USDC", "sdex", ts, 0.1, v] for ts, v in rows],
            column_names=OHLCV,
        )
    admin.insert(
        "prices.current_prices",
        [["native", 0.1, NOW - timedelta(seconds=60)], ["AQUA", 0.001, NOW - timedelta(seconds=42.5)]],
        column_names=["asset_id", "price_usd", "updated_at"],
    )
    started = NOW - timedelta(days=30)
    admin.insert(
        "prices.backfill_progress",
        [
            ["sdex_archive", 1, 100, 91, "running", NOW - timedelta(hours=1), started],
            ["soroban_amm", 1, 300, 1, "completed", NOW - timedelta(days=9), started],
        ],
        column_names=[
            "task_name",
            "start_ledger",
            "target_ledger",
            "current_ledger",
            "status",
            "last_push_at",
            "started_at",
        ],
    )
    return front


@dataclass
class SteppingClock:
    """A monotonic clock that advances 1/64 s per reading: the timed insert measures exactly 15.625 ms."""

    now: float = 1000.0

    def __call__(self) -> float:
        value = self.now
        self.now += 1 / 64
        return value


@pytest.fixture
def secrets(certificates: dict[str, IssuedCert]) -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("secretsmanager")
        for role, name in SECRETS.items():
            client.create_secret(Name=name, SecretString=bundle(certificates[role]))
        yield client


@pytest.fixture(autouse=True)
def _reset_runtime() -> Iterator[None]:
    yield
    probes.set_runtime(None)


def install_runtime(front: Front, secrets: Any, clickhouse: Any = None) -> None:
    settings = load_env_settings(probes.SETTINGS_MODEL, env(), "probes")
    probes.set_runtime(
        probes.Runtime(
            settings=settings,
            secrets=secrets,
            clickhouse=clickhouse or FixedClickHouse(writer_client(front)),
            clock=lambda: NOW,
            monotonic=SteppingClock(),
        )
    )


def by_label(published: list[Any]) -> dict[str, float]:
    return {
        m.name + "".join(f"{{{k}={v}}}" for k, v in m.dimensions.items() if k != "service"): m.value for m in published
    }


def test_every_probe_number_matches_the_hand_computed_value(
    known_rows: Front, secrets: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # The fixed clock lies months back, so the one-day TTL would drop the probe's row at once: keep it to look at.
    admin_client(known_rows).command("SYSTEM STOP TTL MERGES prices.probe_writes")
    install_runtime(known_rows, secrets)
    summary = probes.handler(scheduled_event(), FakeContext(aws_request_id="probe-run-7"))
    values = by_label(emf_metrics(capsys.readouterr().out))
    assert values == summary["values"]
    assert {g: values[f"CandleAgeSeconds{{Granularity={g}}}"] for g in catalog.GRANULARITY_TABLES} == EXPECTED_AGES
    assert values["DaysToNotAfter{Role=ingestion}"] == 296.5
    assert values["DaysToNotAfter{Role=api}"] == 21.5
    assert values["MinDaysToNotAfter"] == 21.5
    assert values["CurrentPricesAgeSeconds"] == 42.5
    assert values["ClickHouseWriteLatencyMs"] == 15.625
    assert values["BackfillProgressPct"] == 77.5  # (10 + 300) of (100 + 300) ledgers
    assert values["BackfillPushAgeSeconds"] == 3600.0  # only the running task; the completed one is not pushing
    # The free share is the engine's own view of its disk (same file system as the chDB data directory).
    admin = admin_client(known_rows)
    ((free, total),) = admin.query(
        "SELECT free_space, total_space FROM system.disks WHERE name = 'default'"
    ).result_rows
    assert values["ClickHouseFreeDiskPct"] == pytest.approx(100 * free / total, rel=1e-3)
    usage = shutil.disk_usage(known_rows.path)
    assert values["ClickHouseFreeDiskPct"] == pytest.approx(100 * usage.free / usage.total, abs=0.5)
    # The timed write landed, with the run's request id.
    assert admin.query("SELECT toUnixTimestamp64Milli(probe_at), probe_id FROM prices.probe_writes").result_rows == [
        (int(NOW.timestamp() * 1000), "probe-run-7")
    ]
    assert summary["errors"] == [] and summary["empty"] == []


def test_published_metrics_are_exactly_the_catalog_entries(
    known_rows: Front, secrets: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    install_runtime(known_rows, secrets)
    probes.handler(scheduled_event(), FakeContext())
    published = emf_metrics(capsys.readouterr().out)
    assert_catalog_metrics(published, PROBE_METRICS)
    # Every probe metric of the catalog, each dimension value once: nothing missing, nothing extra.
    expected = []
    for metric in PROBE_METRICS:
        (dims,) = metric.dimensions or ((None, (None,)),)
        expected += [(metric.name, value) for value in dims[1] or (None,)]
    got = [(m.name, next((v for k, v in m.dimensions.items() if k != "service"), None)) for m in published]
    assert sorted(got, key=str) == sorted(expected, key=str)


def test_empty_tables_publish_nothing_for_themselves_and_are_reported(
    known_rows: Front, secrets: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    admin = admin_client(known_rows)
    for table in ["price_ohlcv_1w", "price_ohlcv_1M", "current_prices", "backfill_progress"]:
        admin.command(f"TRUNCATE TABLE prices.{table}")
    install_runtime(known_rows, secrets)
    summary = probes.handler(scheduled_event(), FakeContext())
    assert summary["empty"] == ["price_ohlcv_1w", "price_ohlcv_1M", "current_prices", "backfill_progress"]
    names = {m.name + str(m.dimensions.get("Granularity", "")) for m in emf_metrics(capsys.readouterr().out)}
    assert {
        "CandleAgeSeconds1w",
        "CandleAgeSeconds1M",
        "CurrentPricesAgeSeconds",
        "BackfillProgressPct",
    } & names == set()
    assert "CandleAgeSeconds1m" in names


def test_a_candle_naming_an_unrecorded_ledger_is_a_probe_error_not_a_guess(
    known_rows: Front, secrets: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    admin = admin_client(known_rows)
    admin.command("TRUNCATE TABLE prices.price_ohlcv_1h")
    # Ledger 999 is below every recorded ledger (the lowest is 1000): nothing can date it.
    admin.insert(
        "prices.price_ohlcv_1h",
        [["native", "USDC", "sdex", NOW - timedelta(hours=1), 0.1, version(999)]],
        column_names=OHLCV,
    )
    install_runtime(known_rows, secrets)
    with pytest.raises(ProbeError, match=r"^1 probe\(s\) failed: CandleAgeSeconds\[1h\]: ") as info:
        probes.handler(scheduled_event(), FakeContext())
    assert f"version {version(999)} names ledger 999, and no ingested ledger at or below it" in str(info.value)
    values = by_label(emf_metrics(capsys.readouterr().out))
    assert "CandleAgeSeconds{Granularity=1h}" not in values
    assert values["CandleAgeSeconds{Granularity=1d}"] == 7200.0 and values["MinDaysToNotAfter"] == 21.5


def test_an_unreadable_bundle_and_an_unreachable_clickhouse_still_publish_the_rest_then_fail(
    known_rows: Front, secrets: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    secrets.delete_secret(SecretId=SECRETS["api"], ForceDeleteWithoutRecovery=True)
    install_runtime(known_rows, secrets)
    with pytest.raises(ProbeError, match="cannot read secret 'prices/test/clickhouse-mtls-prices-api-test'"):
        probes.handler(scheduled_event(), FakeContext())
    values = by_label(emf_metrics(capsys.readouterr().out))
    # The readable bundle is published; the minimum is not, so an unreadable bundle cannot hide behind it.
    assert values["DaysToNotAfter{Role=ingestion}"] == 296.5
    assert "DaysToNotAfter{Role=api}" not in values and "MinDaysToNotAfter" not in values
    assert values["CandleAgeSeconds{Granularity=1m}"] == 90.0 and values["ClickHouseWriteLatencyMs"] == 15.625

    class Unreachable:
        invalidations = 0

        def client(self) -> Any:
            raise ConnectionError("edge refused the connection")

        def invalidate(self) -> None:
            self.invalidations += 1

    unreachable = Unreachable()
    secrets.create_secret(
        Name=SECRETS["api"], SecretString=secrets.get_secret_value(SecretId=SECRETS["ingestion"])["SecretString"]
    )
    install_runtime(known_rows, secrets, clickhouse=unreachable)
    with pytest.raises(ProbeError, match="ClickHouse client: edge refused the connection"):
        probes.handler(scheduled_event(), FakeContext())
    values = by_label(emf_metrics(capsys.readouterr().out))
    assert set(values) == {"DaysToNotAfter{Role=ingestion}", "DaysToNotAfter{Role=api}", "MinDaysToNotAfter"}
    assert unreachable.invalidations == 1
    # A bundle that is not a bundle is named, without echoing its content.
    secrets.put_secret_value(SecretId=SECRETS["api"], SecretString='{"cert": "not-a-pem-SECRETVALUE"}')
    install_runtime(known_rows, secrets)
    with pytest.raises(
        ProbeError, match=r"secret 'prices/test/clickhouse-mtls-prices-api-test': mTLS secret field 'cert'"
    ) as info:
        probes.handler(scheduled_event(), FakeContext())
    assert "SECRETVALUE" not in str(info.value)


def test_probe_writes_never_grows(front: Front) -> None:
    ((ddl,),) = admin_client(front).query("SHOW CREATE TABLE prices.probe_writes").result_rows
    assert "TTL toDateTime(probe_at) + toIntervalDay(1)" in ddl and "ttl_only_drop_parts = 1" in ddl
    assert "PARTITION BY toYYYYMMDD(probe_at)" in ddl
    admin = admin_client(front)
    admin.command("TRUNCATE TABLE prices.probe_writes")
    admin.command("SYSTEM START TTL MERGES prices.probe_writes")
    fresh = datetime.now(UTC)
    admin.insert(
        "prices.probe_writes",
        [[fresh - timedelta(days=2), "old"], [fresh, "new"]],
        column_names=["probe_at", "probe_id"],
    )
    admin.command("OPTIMIZE TABLE prices.probe_writes FINAL")
    assert admin.query("SELECT probe_id FROM prices.probe_writes").result_rows == [("new",)]
