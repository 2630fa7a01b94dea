"""Cleanup worker: retention by dropping whole monthly partitions, never by deleting rows.

For each table in ``RETENTION_DAYS`` (tables from the fixed list ``settings.RETAINABLE_TABLES`` only — every
one is ``PARTITION BY toYYYYMM(timestamp)``), the active parts in ``system.parts`` give, per ``partition_id``,
the newest ``timestamp`` it holds (``max(max_time)``: the partition key's min/max index). A partition is
dropped with ``ALTER TABLE prices.<table> DROP PARTITION ID {id}`` only when ALL of it is older than the
retention: ``newest < now − days``. The month that still holds a recent row stays whole, so a table keeps
between ``days`` and ``days`` + one month of history.

``DRY_RUN=true`` computes and logs the same plan and drops nothing. Before dropping, each partition is
checked to be a ``YYYYMM`` id whose newest row falls in that month; a table whose parts do not look like
``toYYYYMM(timestamp)`` partitions is refused as a whole rather than guessed at.

The writer identity needs ``SELECT`` on ``system.parts`` and ``ALTER DELETE`` on ``prices.*`` (ClickHouse
authorises DROP PARTITION by ALTER DELETE): both are in schema/rbac.py — the reference system's cleanup
failed in production with Code 497 for want of them (§13.4).

A table that fails is logged and the others still run; the run then raises, so the errors alarm fires.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.common import metric_catalog as catalog
from lambdas.common.edge_clickhouse import ClickHouseProvider, EdgeClickHouse
from lambdas.common.runtime_slot import RuntimeSlot
from lambdas.common.settings import load_env_settings
from lambdas.workers.scaffold import utc_now, worker_powertools
from lambdas.workers.settings import RETAINABLE_TABLES, CleanupSettings

SETTINGS_MODEL = CleanupSettings
DATABASE = "prices"
_MONTH_ID = re.compile(r"^(\d{4})(0[1-9]|1[0-2])$")

logger, metrics, tracer, publisher = worker_powertools(catalog.PARTITIONS_DROPPED)


class CleanupError(RuntimeError):
    """At least one table could not be cleaned; the message lists them."""


@dataclass
class Runtime:
    settings: CleanupSettings
    clickhouse: ClickHouseProvider
    clock: Callable[[], datetime] = utc_now


def build_runtime(environ: Mapping[str, str], *, pem_dir: Path | None = None) -> Runtime:
    settings = load_env_settings(CleanupSettings, environ, publisher.service)
    return Runtime(settings=settings, clickhouse=EdgeClickHouse.from_settings(settings, pem_dir=pem_dir))


_slot: RuntimeSlot[Runtime] = RuntimeSlot(build_runtime)


def runtime() -> Runtime:
    return _slot.get()


def set_runtime(value: Runtime | None) -> None:
    """Replace the module-scope runtime (tests; ``None`` rebuilds from the environment on next use)."""
    _slot.set(value)


@dataclass(frozen=True)
class Partition:
    partition_id: str
    newest: datetime  # the newest timestamp any active part of the partition holds
    rows: int
    parts: int


@dataclass(frozen=True)
class TablePlan:
    table: str
    retention_days: int
    cutoff: datetime
    drop: tuple[Partition, ...]
    keep: tuple[Partition, ...]

    def summary(self, dropped: bool) -> dict[str, Any]:
        return {
            "retention_days": self.retention_days,
            "cutoff": self.cutoff.isoformat(),
            ("dropped" if dropped else "would_drop"): [p.partition_id for p in self.drop],
            "rows_dropped" if dropped else "rows_would_drop": sum(p.rows for p in self.drop),
            "kept": [p.partition_id for p in self.keep],
        }


@dataclass
class CleanupRun:
    dry_run: bool
    now: datetime
    plans: list[TablePlan] = field(default_factory=list)
    dropped: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "now": self.now.isoformat(),
            "partitions_dropped": self.dropped,
            "tables": {p.table: p.summary(dropped=not self.dry_run) for p in self.plans},
            "errors": self.errors,
        }


def allowed_table(name: str) -> str:
    """The table name from the fixed list (the SQL never carries a name that came from outside)."""
    for table in RETAINABLE_TABLES:
        if table == name:
            return table
    raise CleanupError(f"table {name!r} is not one retention may drop from ({', '.join(RETAINABLE_TABLES)})")


def check_monthly(table: str, partition: Partition) -> None:
    match = _MONTH_ID.match(partition.partition_id)
    if not match or (partition.newest.year, partition.newest.month) != (int(match[1]), int(match[2])):
        raise CleanupError(
            f"{table}: partition {partition.partition_id!r} (newest row {partition.newest.isoformat()}) is not a "
            "toYYYYMM(timestamp) month; refusing to drop anything from this table"
        )


def plan_table(table: str, retention_days: int, partitions: list[Partition], now: datetime) -> TablePlan:
    """Pure: which partitions lie entirely before ``now − retention_days``."""
    if retention_days < 1:
        raise CleanupError(f"{table}: retention of {retention_days} days would drop current data")
    for partition in partitions:
        check_monthly(table, partition)
    cutoff = now - timedelta(days=retention_days)
    ordered = sorted(partitions, key=lambda p: p.partition_id)
    return TablePlan(
        table=table,
        retention_days=retention_days,
        cutoff=cutoff,
        drop=tuple(p for p in ordered if p.newest < cutoff),
        keep=tuple(p for p in ordered if p.newest >= cutoff),
    )


def read_partitions(client: Any, table: str) -> list[Partition]:
    rows = client.query(
        "SELECT partition_id, toUnixTimestamp(max(max_time)) AS newest, sum(rows), count() "
        "FROM system.parts "
        "WHERE database = {database:String} AND table = {table:String} AND active "
        "GROUP BY partition_id ORDER BY partition_id",
        parameters={"database": DATABASE, "table": table},
    ).result_rows
    return [
        Partition(str(pid), datetime.fromtimestamp(int(newest), UTC), int(n), int(parts))
        for pid, newest, n, parts in rows
    ]


def drop_partition(client: Any, table: str, partition_id: str) -> None:
    client.command(
        f"ALTER TABLE {DATABASE}.{allowed_table(table)} DROP PARTITION ID {{partition_id:String}}",
        parameters={"partition_id": partition_id},
    )


def run_cleanup(client: Any, retention_days: Mapping[str, int], now: datetime, *, dry_run: bool) -> CleanupRun:
    run = CleanupRun(dry_run=dry_run, now=now)
    for name in sorted(retention_days):
        try:
            table = allowed_table(name)
            plan = plan_table(table, retention_days[name], read_partitions(client, table), now)
            run.plans.append(plan)
            if dry_run:
                logger.info("dry run: would drop", extra={"table": table, **plan.summary(dropped=False)})
                continue
            for partition in plan.drop:
                drop_partition(client, table, partition.partition_id)
                run.dropped += 1
                logger.info(
                    "partition dropped",
                    extra={"table": table, "partition_id": partition.partition_id, "rows": partition.rows},
                )
        except Exception as exc:
            run.errors.append(f"{name}: {exc}")
            logger.error("cleanup of a table failed", extra={"table": name, "error": str(exc)})
    return run


def run_once(rt: Runtime) -> CleanupRun:
    try:
        client = rt.clickhouse.client()
        run = run_cleanup(client, rt.settings.RETENTION_DAYS, rt.clock(), dry_run=rt.settings.DRY_RUN)
    except Exception:
        publisher.put(catalog.PARTITIONS_DROPPED, 0)
        rt.clickhouse.invalidate()
        raise
    publisher.put(catalog.PARTITIONS_DROPPED, run.dropped)
    logger.info("cleanup finished", extra=run.summary())
    if run.errors:
        rt.clickhouse.invalidate()
        raise CleanupError(f"cleanup failed for {len(run.errors)} table(s): {'; '.join(run.errors)}")
    return run


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The clock, never the event's "time": a crafted event must not be able to move the retention cutoff.
    return run_once(runtime()).summary()
