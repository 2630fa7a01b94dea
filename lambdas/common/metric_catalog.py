"""Every custom CloudWatch metric the code publishes, in one place.

Publishers (`lambdas/…`) take namespace, name and dimensions from here; the alarms and the dashboard
(`components/…`) build their metric references from here too, and a test cross-checks both sides, so an
alarm can never watch a metric nobody emits (reference-system.md §13.8).

Powertools `Metrics(namespace=…, service=…)` adds a `service` dimension to every metric it flushes, so
`service` is part of each metric's dimension set; CloudWatch only matches an alarm to the exact set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Unit = Literal["Count", "Seconds", "Milliseconds", "Percent", "Bytes", "None"]


@dataclass(frozen=True)
class MetricDef:
    namespace: str
    name: str
    unit: Unit
    service: str  # the Powertools service (= the publishing function's short name)
    # Dimensions besides `service`, with the values the code publishes them with (None = open set).
    dimensions: tuple[tuple[str, tuple[str, ...] | None], ...] = ()
    description: str = ""

    @property
    def dimension_names(self) -> tuple[str, ...]:
        return ("service", *(name for name, _ in self.dimensions))


GRANULARITY_TABLES = ("1m", "15m", "1h", "4h", "1d", "1w", "1M")

# -- ledger processor (lambdas/ledger_processor/handler.py) -------------------------------------------------
INGEST = "Prices/Ingest"
LEDGERS_INGESTED = MetricDef(INGEST, "LedgersIngested", "Count", "ledger-processor", description="ledgers written")
TRADES_WRITTEN = MetricDef(INGEST, "TradesWritten", "Count", "ledger-processor")
CANDLE_PARTS_WRITTEN = MetricDef(INGEST, "CandlePartsWritten", "Count", "ledger-processor")
UNRESOLVED_SWAPS = MetricDef(INGEST, "UnresolvedSwaps", "Count", "ledger-processor")
INGEST_LAG_SECONDS = MetricDef(
    INGEST, "IngestLagSeconds", "Seconds", "ledger-processor", description="ledger close → candles written"
)
POISON_RECORDS = MetricDef(INGEST, "PoisonRecords", "Count", "ledger-processor")
TRANSIENT_FAILURES = MetricDef(INGEST, "TransientFailures", "Count", "ledger-processor")

# -- probes (lambdas/workers/probes.py) ---------------------------------------------------------------------
PROBES = "Prices/Probes"
DAYS_TO_NOT_AFTER = MetricDef(
    PROBES,
    "DaysToNotAfter",
    "None",
    "probes",
    dimensions=(("Role", ("ingestion", "api")),),
    description="days until each mTLS client certificate expires",
)
MIN_DAYS_TO_NOT_AFTER = MetricDef(
    PROBES, "MinDaysToNotAfter", "None", "probes", description="the soonest expiry over every mTLS bundle"
)
CANDLE_AGE_SECONDS = MetricDef(
    PROBES,
    "CandleAgeSeconds",
    "Seconds",
    "probes",
    dimensions=(("Granularity", GRANULARITY_TABLES),),
    # Not now − max(timestamp): a fresh coarse bucket starts up to a month back (docs/workers.md).
    description="now − close time of the newest ledger whose trades reached the table, per table",
)
CURRENT_PRICES_AGE_SECONDS = MetricDef(
    PROBES, "CurrentPricesAgeSeconds", "Seconds", "probes", description="now − newest current_prices.updated_at"
)
CLICKHOUSE_FREE_DISK_PCT = MetricDef(PROBES, "ClickHouseFreeDiskPct", "Percent", "probes")
CLICKHOUSE_WRITE_LATENCY_MS = MetricDef(
    PROBES, "ClickHouseWriteLatencyMs", "Milliseconds", "probes", description="a tiny timed insert through the edge"
)

# -- oracle worker (lambdas/workers/oracle.py) ----------------------------------------------------------------
ORACLE = "Prices/Oracle"
ORACLE_PRICES_WRITTEN = MetricDef(ORACLE, "OraclePricesWritten", "Count", "oracle")
ORACLE_ASSET_FAILURES = MetricDef(ORACLE, "OracleAssetFailures", "Count", "oracle")

# -- cleanup worker (lambdas/workers/cleanup.py) -------------------------------------------------------------
CLEANUP = "Prices/Cleanup"
PARTITIONS_DROPPED = MetricDef(CLEANUP, "PartitionsDropped", "Count", "cleanup")

# -- backup worker (lambdas/workers/backup.py) ----------------------------------------------------------------
BACKUP = "Prices/Backup"
BACKUP_SUCCEEDED = MetricDef(BACKUP, "BackupSucceeded", "Count", "backup")
BACKUP_BYTES = MetricDef(BACKUP, "BackupBytes", "Bytes", "backup")

# -- backfill progress, read from prices.backfill_progress by the probes ----------------------------------------
BACKFILL_PUSH_AGE_SECONDS = MetricDef(
    PROBES,
    "BackfillPushAgeSeconds",
    "Seconds",
    "probes",
    description="now − last_push_at of the stalest running (or errored) backfill task; only while one exists",
)
BACKFILL_PROGRESS_PCT = MetricDef(
    PROBES, "BackfillProgressPct", "Percent", "probes", description="ledgers done over every backfill task"
)

# -- backfill fan-out (lambdas/backfill/fanout_handler.py) -------------------------------------------------------
BACKFILL = "Prices/Backfill"
FANOUT_SERVICE = "backfill-fanout"
FANOUT_RANGES_COMPLETED = MetricDef(
    BACKFILL, "RangesCompleted", "Count", FANOUT_SERVICE, description="ranges whose every ledger is written"
)
FANOUT_RANGES_INCOMPLETE = MetricDef(
    BACKFILL,
    "RangesIncomplete",
    "Count",
    FANOUT_SERVICE,
    description="ranges left with poison or absent ledgers (redelivered, then in the DLQ)",
)
FANOUT_LEDGERS_WRITTEN = MetricDef(
    BACKFILL,
    "LedgersWritten",
    "Count",
    FANOUT_SERVICE,
    description="ledgers written by the fan-out (a redelivery does not count those already written)",
)
FANOUT_TRADES_WRITTEN = MetricDef(BACKFILL, "TradesWritten", "Count", FANOUT_SERVICE)

ALL_METRICS: tuple[MetricDef, ...] = tuple(v for v in list(globals().values()) if isinstance(v, MetricDef))
