"""Probes: one scheduled Lambda that measures what the alarms watch and publishes it (namespace Prices/Probes).

Every number comes from a pure function below; the readers around them only fetch inputs.

* ``DaysToNotAfter`` {Role} per mTLS bundle (``MTLS_SECRET_NAMES``, read from Secrets Manager by name) and
  ``MinDaysToNotAfter`` over all of them: fractional days until the client certificate's NotAfter, negative
  once expired. ``MinDaysToNotAfter`` is only published when every bundle could be read, so an unreadable
  bundle can never hide behind a healthy one.
* ``CandleAgeSeconds`` {Granularity}: the age of the newest SOURCE DATA each tier has absorbed, not of its
  newest bucket. A coarse bucket starts in the past (a 1M candle up to 31 days ago) while it is perfectly
  fresh, so ``now − max(timestamp)`` would need thresholds above a month and would have let the reference
  system's 13-day rollup freeze (§13.5) pass unnoticed. Instead: every tier's ``version`` is the
  ``max(close_order)`` of the trades in it, whose upper 32 bits are the ledger (docs/candles.md); the close
  time of that ledger (``prices.ingested_ledgers``) is when the newest trade in the tier happened. A healthy
  tier, 1m or 1M, is as old as ingestion plus a refresh or two (about a minute or two); a tier whose rollup
  stopped ages from the moment it stopped, while 1m stays fresh — the freeze shows within the threshold.
  A late or backfilled ledger cannot make a tier look fresh: it carries an older ledger number.
* ``CurrentPricesAgeSeconds``: ``now − max(updated_at)`` of ``prices.current_prices``, which the refreshable
  view ``prices.mv_current_prices`` (schema/013) rewrites with the refresh time each minute.
* ``ClickHouseFreeDiskPct``: the lowest ``free_space / total_space`` over ``system.disks``.
* ``ClickHouseWriteLatencyMs``: a one-row INSERT into ``prices.probe_writes`` (schema/014) through the edge
  as the writer, timed with a monotonic clock.
* ``BackfillProgressPct`` and ``BackfillPushAgeSeconds`` from ``prices.backfill_progress``, only when it has
  rows (progress over all tasks; push age of the stalest task still expected to push: running or error).

An empty table (no candles in a tier yet, no current prices) publishes nothing for it and says so in the log:
the freshness alarms treat missing data as breaching. A probe that fails (unreadable secret, query error)
is logged, the other probes still publish, and the run then raises so the errors alarm fires — nothing is
skipped silently.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext
from cryptography import x509

from lambdas.backfill.progress_table import ProgressRow, read_progress
from lambdas.common import metric_catalog as catalog
from lambdas.common.edge_clickhouse import ClickHouseProvider, EdgeClickHouse
from lambdas.common.mtls import BundleError, parse_bundle
from lambdas.common.runtime_slot import RuntimeSlot
from lambdas.common.settings import load_env_settings
from lambdas.workers.scaffold import utc_now, worker_powertools
from lambdas.workers.settings import ProbesSettings

SETTINGS_MODEL = ProbesSettings
SECONDS_PER_DAY = 86_400
# Longest bucket of each tier; the newest candles are looked for within two buckets and a day first, so the
# usual query touches one or two monthly partitions instead of the whole history.
BUCKET_SECONDS = {"1m": 60, "15m": 900, "1h": 3600, "4h": 14_400, "1d": 86_400, "1w": 604_800, "1M": 31 * 86_400}
# Backfill tasks still expected to push; paused and completed ones are not.
PUSHING_STATUSES = frozenset({"running", "error"})

logger, metrics, tracer, publisher = worker_powertools(catalog.DAYS_TO_NOT_AFTER)


class ProbeError(RuntimeError):
    """A probe could not measure its value."""


@dataclass
class Runtime:
    settings: ProbesSettings
    secrets: Any
    clickhouse: ClickHouseProvider
    clock: Callable[[], datetime] = utc_now
    monotonic: Callable[[], float] = time.perf_counter


def build_runtime(environ: Mapping[str, str], *, pem_dir: Path | None = None) -> Runtime:
    settings = load_env_settings(ProbesSettings, environ, publisher.service)
    secrets = boto3.client("secretsmanager")
    return Runtime(
        settings=settings,
        secrets=secrets,
        clickhouse=EdgeClickHouse.from_settings(settings, secrets=secrets, pem_dir=pem_dir),
    )


_slot: RuntimeSlot[Runtime] = RuntimeSlot(build_runtime)


def runtime() -> Runtime:
    return _slot.get()


def set_runtime(value: Runtime | None) -> None:
    """Replace the module-scope runtime (tests; ``None`` rebuilds from the environment on next use)."""
    _slot.set(value)


# -- pure computations -------------------------------------------------------------------------------------------


def days_to_not_after(cert_pem: str, now: datetime) -> float:
    """Days from ``now`` to the certificate's NotAfter (fractional; negative once it has expired)."""
    try:
        cert = x509.load_pem_x509_certificate(cert_pem.encode())
    except ValueError as exc:
        raise ProbeError(f"the bundle's cert is not a PEM certificate: {exc}") from None
    return (cert.not_valid_after_utc - now).total_seconds() / SECONDS_PER_DAY


def ledger_of_version(version: int) -> int:
    """The ledger in a candle version: ``ledger << 32 | tx << 20 | op << 13 | fill`` (docs/candles.md)."""
    return version >> 32


def age_seconds(now: datetime, then: datetime) -> float:
    # A source clock slightly ahead of ours is not "negative staleness".
    return max(0.0, (now - then).total_seconds())


@dataclass(frozen=True)
class Disk:
    name: str
    free_bytes: int
    total_bytes: int


def free_disk_pct(disks: Iterable[Disk]) -> float:
    """The lowest free share over the disks that report a size (object-storage disks report 0)."""
    shares = [100.0 * d.free_bytes / d.total_bytes for d in disks if d.total_bytes > 0]
    if not shares:
        raise ProbeError("system.disks lists no disk with a size")
    return min(shares)


def backfill_progress_pct(tasks: Iterable[ProgressRow]) -> float:
    """Share of all tasks' ledgers done: each task's own ``progress_pct`` (the formula the backfill CLI and the
    API report, lambdas/backfill/progress_table.py), weighted by its ledger span."""
    weighted = span = 0.0
    for task in tasks:
        width = task.target_ledger - task.start_ledger + 1
        if width > 0:
            weighted += task.progress_pct * width
            span += width
    return 100.0 if span == 0 else weighted / span


def backfill_push_age_seconds(tasks: Iterable[ProgressRow], now: datetime) -> float | None:
    """Age of the stalest push among tasks still expected to push (a task that never pushed counts from its
    start); None when none is."""
    ages = [age_seconds(now, task.last_push_at or task.started_at) for task in tasks if task.status in PUSHING_STATUSES]
    return max(ages) if ages else None


def latency_ms(started: float, finished: float) -> float:
    return (finished - started) * 1000.0


# -- readers -----------------------------------------------------------------------------------------------------


def _utc(epoch_seconds: float) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, UTC)


def read_certificate_days(secrets: Any, secret_name: str, now: datetime) -> float:
    try:
        secret = secrets.get_secret_value(SecretId=secret_name)
    except Exception as exc:
        raise ProbeError(f"cannot read secret {secret_name!r}: {exc}") from exc
    try:
        bundle = parse_bundle(secret.get("SecretString") or "")
    except BundleError as exc:
        raise ProbeError(f"secret {secret_name!r}: {exc}") from None
    return days_to_not_after(bundle["cert"], now)


def newest_version(client: Any, granularity: str, now: datetime) -> int | None:
    if granularity not in BUCKET_SECONDS:  # the table name is built from it: known tiers only
        raise ProbeError(f"unknown granularity {granularity!r}")
    table = f"prices.price_ohlcv_{granularity}"
    since = _utc(now.timestamp() - 2 * BUCKET_SECONDS[granularity] - SECONDS_PER_DAY)
    for where, params in (("WHERE timestamp >= {since:DateTime('UTC')}", {"since": since}), ("", {})):
        ((count, version),) = client.query(
            f"SELECT count(), max(version) FROM {table} {where}", parameters=params
        ).result_rows
        if count:
            return int(version)
    return None


def ledger_close_time(client: Any, ledger: int) -> datetime | None:
    """Close time of ``ledger``, or of the nearest ingested ledger below it (its record may land a moment after
    its candles: parts are written first)."""
    rows = client.query(
        "SELECT toUnixTimestamp(close_time) FROM prices.ingested_ledgers "
        "WHERE ledger <= {ledger:UInt32} ORDER BY ledger DESC LIMIT 1",
        parameters={"ledger": ledger},
    ).result_rows
    return _utc(rows[0][0]) if rows else None


def read_candle_age(client: Any, granularity: str, now: datetime) -> float | None:
    version = newest_version(client, granularity, now)
    if version is None:
        return None
    ledger = ledger_of_version(version)
    closed = ledger_close_time(client, ledger)
    if closed is None:
        raise ProbeError(
            f"{granularity}: the newest candle's version {version} names ledger {ledger}, and no ingested ledger "
            "at or below it is recorded in prices.ingested_ledgers"
        )
    return age_seconds(now, closed)


def read_current_prices_age(client: Any, now: datetime) -> float | None:
    ((count, newest_ms),) = client.query(
        "SELECT count(), toUnixTimestamp64Milli(max(updated_at)) FROM prices.current_prices"
    ).result_rows
    return age_seconds(now, _utc(newest_ms / 1000)) if count else None


def read_disks(client: Any) -> list[Disk]:
    rows = client.query("SELECT name, free_space, total_space FROM system.disks").result_rows
    return [Disk(str(name), int(free), int(total)) for name, free, total in rows]


def timed_probe_write(client: Any, now: datetime, probe_id: str, monotonic: Callable[[], float]) -> float:
    started = monotonic()
    client.insert("prices.probe_writes", [[now, probe_id]], column_names=["probe_at", "probe_id"])
    return latency_ms(started, monotonic())


# -- the run -----------------------------------------------------------------------------------------------------


@dataclass
class ProbeReport:
    values: dict[str, float] = field(default_factory=dict)  # "Metric" or "Metric{dim=value}" → value
    empty: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def publish(self, metric: catalog.MetricDef, value: float, **dimensions: str) -> None:
        publisher.put(metric, value, **dimensions)
        label = metric.name + "".join(f"{{{k}={v}}}" for k, v in dimensions.items())
        self.values[label] = value

    def summary(self) -> dict[str, Any]:
        return {"values": self.values, "empty": self.empty, "errors": self.errors}


def _attempt(report: ProbeReport, probe: str, measure: Callable[[], None]) -> bool:
    try:
        measure()
        return True
    except Exception as exc:
        report.errors.append(f"{probe}: {exc}")
        logger.error("probe failed", extra={"probe": probe, "error": str(exc)})
        return False


def probe_certificates(rt: Runtime, report: ProbeReport, now: datetime) -> None:
    days: dict[str, float] = {}
    for role, secret_name in rt.settings.MTLS_SECRET_NAMES.by_role().items():

        def measure(role: str = role, secret_name: str = secret_name) -> None:
            days[role] = read_certificate_days(rt.secrets, secret_name, now)
            report.publish(catalog.DAYS_TO_NOT_AFTER, days[role], Role=role)

        _attempt(report, f"DaysToNotAfter[{role}]", measure)
    if len(days) == len(rt.settings.MTLS_SECRET_NAMES.by_role()):
        report.publish(catalog.MIN_DAYS_TO_NOT_AFTER, min(days.values()))


def probe_clickhouse(rt: Runtime, report: ProbeReport, now: datetime, probe_id: str) -> None:
    try:
        client = rt.clickhouse.client()
    except Exception as exc:
        report.errors.append(f"ClickHouse client: {exc}")
        logger.error("probe failed", extra={"probe": "ClickHouse client", "error": str(exc)})
        return
    for granularity in catalog.GRANULARITY_TABLES:

        def candle(granularity: str = granularity) -> None:
            age = read_candle_age(client, granularity, now)
            if age is None:
                report.empty.append(f"price_ohlcv_{granularity}")
            else:
                report.publish(catalog.CANDLE_AGE_SECONDS, age, Granularity=granularity)

        _attempt(report, f"CandleAgeSeconds[{granularity}]", candle)

    def current_prices() -> None:
        age = read_current_prices_age(client, now)
        if age is None:
            report.empty.append("current_prices")
        else:
            report.publish(catalog.CURRENT_PRICES_AGE_SECONDS, age)

    def disk() -> None:
        report.publish(catalog.CLICKHOUSE_FREE_DISK_PCT, free_disk_pct(read_disks(client)))

    def write() -> None:
        report.publish(catalog.CLICKHOUSE_WRITE_LATENCY_MS, timed_probe_write(client, now, probe_id, rt.monotonic))

    def backfill() -> None:
        tasks = read_progress(client)
        if not tasks:
            report.empty.append("backfill_progress")
            return
        report.publish(catalog.BACKFILL_PROGRESS_PCT, backfill_progress_pct(tasks))
        push_age = backfill_push_age_seconds(tasks, now)
        if push_age is not None:
            report.publish(catalog.BACKFILL_PUSH_AGE_SECONDS, push_age)

    _attempt(report, "CurrentPricesAgeSeconds", current_prices)
    _attempt(report, "ClickHouseFreeDiskPct", disk)
    _attempt(report, "ClickHouseWriteLatencyMs", write)
    _attempt(report, "Backfill", backfill)


def run_probes(rt: Runtime, probe_id: str) -> ProbeReport:
    now = rt.clock()
    report = ProbeReport()
    probe_certificates(rt, report, now)
    probe_clickhouse(rt, report, now, probe_id)
    if report.empty:
        logger.warning("tables without data: nothing published for them", extra={"tables": report.empty})
    logger.info("probes finished", extra=report.summary())
    if report.errors:
        rt.clickhouse.invalidate()  # a connection or certificate problem: rebuild on the next run
        raise ProbeError(f"{len(report.errors)} probe(s) failed: {'; '.join(report.errors)}")
    return report


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_probes(runtime(), str(getattr(context, "aws_request_id", "") or "")).summary()
