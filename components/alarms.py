"""Alarms on what the probes measure: the data itself, not the machinery that should produce it.

The reference system's rollups froze for 13 days while every materialized view reported success
(reference-system.md §13.5), and its mTLS certificates were rotated by hand (§13.19). These alarms watch the
outcome — the age of the newest candle per table, the age of `current_prices`, days to the soonest
certificate NotAfter, ClickHouse free disk, the latency of a real insert, the age of the newest backfill push —
with the reference's thresholds as defaults (§10), each from config.

Every alarm goes to the ops topic with OK actions. The probes publish every few minutes, so each alarm's period
is the probe's schedule interval and it fires after `evaluationPeriods` consecutive probe periods. Missing data
is breaching — a dead or failing probe must alarm, not hide a stale table — except for the backfill push age,
which the probe publishes only while a backfill runs (silence then means no backfill, not a stuck one).

Metric references are built only from `lambdas.common.metric_catalog` (with the `service` dimension
Powertools adds), so an alarm cannot watch a metric nobody publishes; tests cross-check this.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi

from components.function import ops_alarm
from components.settings import WorkersSettings
from lambdas.common import metric_catalog as mc
from lambdas.common.metric_catalog import MetricDef

# Alarm names are physical names: spell the month table so it never reads like the minute table.
GRANULARITY_SLUGS = {"1m": "1m", "15m": "15m", "1h": "1h", "4h": "4h", "1d": "1d", "1w": "1w", "1M": "1mo"}


def catalog_dimensions(metric: MetricDef, values: Mapping[str, str] | None = None) -> dict[str, str]:
    """The exact dimension set `metric` is published with: `service` plus its own dimensions, each given a
    value it is published with. CloudWatch matches an alarm only to the exact set, so any mismatch raises."""
    values = dict(values or {})
    declared = dict(metric.dimensions)
    if set(values) != set(declared):
        raise ValueError(
            f"{metric.namespace} {metric.name} is published with dimensions {sorted(metric.dimension_names)}; "
            f"got values for {sorted(values)} besides service"
        )
    for dimension, value in values.items():
        allowed = declared[dimension]
        if allowed is not None and value not in allowed:
            raise ValueError(f"{metric.name}: {dimension}={value!r} is never published (known: {', '.join(allowed)})")
    return {"service": metric.service, **values}


@dataclass(frozen=True)
class ProbeAlarmsArgs:
    name_prefix: str
    settings: WorkersSettings
    alarm_topic_arn: pulumi.Input[str]
    tags: dict[str, str]


class ProbeAlarms(pulumi.ComponentResource):
    alarm_names: tuple[str, ...]

    def __init__(self, name: str, args: ProbeAlarmsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("prices:alarms:ProbeAlarms", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        thresholds = args.settings.alarms
        period = args.settings.probes.cadence_period_seconds
        periods = thresholds.evaluation_periods
        window = f"{periods} probe periods of {period} s"
        names: list[str] = []

        def alarm(
            suffix: str,
            metric: MetricDef,
            description: str,
            *,
            statistic: str,
            comparison: str,
            threshold: float,
            dimensions: Mapping[str, str] | None = None,
            missing: str = "breaching",
            anchor: str | None = None,
        ) -> None:
            alarm_name = f"{args.name_prefix}-{suffix}"
            ops_alarm(
                f"{name}-{suffix}",
                alarm_name=alarm_name,
                # What to do lives in docs/operations.md (which links the runbooks), one anchor per alarm.
                description=f"{description} What to do: docs/operations.md#{anchor or suffix}",
                topic_arn=args.alarm_topic_arn,
                tags=args.tags,
                opts=child,
                namespace=metric.namespace,
                metric_name=metric.name,
                dimensions=catalog_dimensions(metric, dimensions),
                statistic=statistic,
                period=period,
                evaluation_periods=periods,
                datapoints_to_alarm=periods,
                comparison_operator=comparison,
                threshold=threshold,
                treat_missing_data=missing,
            )
            names.append(alarm_name)

        alarm(
            "mtls-not-after",
            mc.MIN_DAYS_TO_NOT_AFTER,
            f"An mTLS client certificate expires in under {thresholds.min_days_to_not_after} days (or the probe "
            f"stopped reporting for {window}): rotate with `pulumi up`.",
            statistic="Minimum",
            comparison="LessThanThreshold",
            threshold=thresholds.min_days_to_not_after,
        )
        for granularity, max_age in thresholds.candle_age_max_seconds.items():
            alarm(
                f"candle-age-{GRANULARITY_SLUGS[granularity]}",
                mc.CANDLE_AGE_SECONDS,
                f"The newest {granularity} candle is older than {max_age} s for {window} (or the probe stopped "
                "reporting it): rollups or ingest are stuck.",
                statistic="Maximum",
                comparison="GreaterThanThreshold",
                threshold=max_age,
                dimensions={"Granularity": granularity},
                anchor="candle-age",
            )
        alarm(
            "current-prices-age",
            mc.CURRENT_PRICES_AGE_SECONDS,
            f"current_prices was last refreshed more than {thresholds.current_prices_max_age_seconds} s ago "
            f"for {window} (or the probe stopped reporting it).",
            statistic="Maximum",
            comparison="GreaterThanThreshold",
            threshold=thresholds.current_prices_max_age_seconds,
        )
        alarm(
            "clickhouse-free-disk",
            mc.CLICKHOUSE_FREE_DISK_PCT,
            f"ClickHouse free disk under {thresholds.min_free_disk_pct} % for {window} (or the probe stopped "
            "reporting it): the box is shared with the partner, tell them before it fills.",
            statistic="Minimum",
            comparison="LessThanThreshold",
            threshold=thresholds.min_free_disk_pct,
        )
        alarm(
            "clickhouse-write-latency",
            mc.CLICKHOUSE_WRITE_LATENCY_MS,
            f"A tiny insert through the edge took over {thresholds.max_write_latency_ms} ms for {window} (or "
            "failed, so no latency was published): ClickHouse, Caddy or the network is degraded.",
            statistic="Maximum",
            comparison="GreaterThanThreshold",
            threshold=thresholds.max_write_latency_ms,
        )
        alarm(
            "backfill-push-age",
            mc.BACKFILL_PUSH_AGE_SECONDS,
            f"A running backfill has not pushed for over {thresholds.max_backfill_push_age_seconds} s. "
            "No data means no backfill is running, so missing data does not alarm.",
            statistic="Maximum",
            comparison="GreaterThanThreshold",
            threshold=thresholds.max_backfill_push_age_seconds,
            missing="notBreaching",
        )

        self.alarm_names = tuple(names)
        self.register_outputs({"alarm_names": list(self.alarm_names)})
