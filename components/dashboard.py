"""The operations dashboard: one CloudWatch dashboard with a widget per question an operator asks.

The reference system's dashboard was a one-widget scaffold and it had no ClickHouse write-latency metric at all
(reference-system.md §10, §13.21). This one answers: is the API fast and healthy, is ingest keeping up (queue
age, ledger-to-candle lag, ledgers per minute, DLQ depth), how fast are writes, when does a certificate expire,
how fresh is every candle table and `current_prices`, how far is a backfill, and are the workers running and
doing their job. Threshold lines are the configured alarm thresholds.

Custom metrics come only from `lambdas.common.metric_catalog` (with the `service` dimension Powertools adds,
through `components.alarms.catalog_dimensions`); AWS metrics are from AWS/Lambda, AWS/SQS and AWS/ApiGateway.
A test cross-checks every reference in the body against the catalog.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.alarms import catalog_dimensions
from components.settings import ProbeAlarmSettings
from lambdas.common import metric_catalog as mc
from lambdas.common.metric_catalog import MetricDef

GRID_COLUMNS = 24
WIDGET_WIDTH, WIDGET_HEIGHT, TEXT_HEIGHT = 12, 6, 2


@dataclass(frozen=True)
class ApiDashboardRefs:
    """The public API, as CloudWatch names it: the REST API's name (`ApiName`), its stage and its function."""

    api_name: pulumi.Input[str]
    function_name: pulumi.Input[str]
    # With a stage, the widgets read the stage's metrics (the ones the API's own alarms watch).
    stage_name: pulumi.Input[str] | None = None


@dataclass(frozen=True)
class FanOutDashboardRefs:
    """The backfill fan-out (when enabled): its range queue, that queue's DLQ and its function."""

    queue_name: pulumi.Input[str]
    dlq_name: pulumi.Input[str]
    function_name: pulumi.Input[str]


@dataclass(frozen=True)
class DashboardArgs:
    name_prefix: str
    region: str
    ingest_queue_name: pulumi.Input[str]
    ingest_dlq_name: pulumi.Input[str]
    ingest_function_name: pulumi.Input[str]
    ingest_lag_alarm_seconds: int
    # Scheduled functions by their short name (oracle, cleanup, probes, backup, ...).
    worker_function_names: Mapping[str, pulumi.Input[str]]
    probe_alarms: ProbeAlarmSettings
    api: ApiDashboardRefs | None = None
    fan_out: FanOutDashboardRefs | None = None


def aws_metric(namespace: str, name: str, dimensions: Mapping[str, pulumi.Input[str]], **options: Any) -> list[Any]:
    """A widget metric row: namespace, name, the dimension pairs, then the row's options if any."""
    row: list[Any] = [namespace, name]
    for dimension, value in dimensions.items():
        row += [dimension, value]
    return [*row, options] if options else row


def catalog_metric(metric: MetricDef, values: Mapping[str, str] | None = None, **options: Any) -> list[Any]:
    """A widget metric row for a catalogued metric, with the exact dimension set it is published with."""
    return aws_metric(metric.namespace, metric.name, catalog_dimensions(metric, values), **options)


def threshold_line(label: str, value: float, *, right: bool = False) -> dict[str, Any]:
    line: dict[str, Any] = {"label": label, "value": value, "color": "#d62728"}
    return {**line, "yAxis": "right"} if right else line


def tables_by_threshold(thresholds: Mapping[str, int]) -> dict[int, list[str]]:
    """One threshold line per distinct value, naming every table it applies to (coinciding lines are noise)."""
    grouped: dict[int, list[str]] = {}
    for table, seconds in thresholds.items():
        grouped.setdefault(seconds, []).append(table)
    return grouped


def metric_widget(
    title: str,
    metrics: Sequence[list[Any]],
    *,
    region: str,
    stat: str = "Average",
    period: int = 300,
    thresholds: Sequence[dict[str, Any]] = (),
    left_label: str = "",
    right_label: str = "",
) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "title": title,
        "region": region,
        "view": "timeSeries",
        "stacked": False,
        "stat": stat,
        "period": period,
        "metrics": [list(m) for m in metrics],
        "yAxis": {"left": {"label": left_label, "showUnits": False}, "right": {"label": right_label}},
    }
    if thresholds:
        properties["annotations"] = {"horizontal": list(thresholds)}
    return {"type": "metric", "width": WIDGET_WIDTH, "height": WIDGET_HEIGHT, "properties": properties}


def laid_out(widgets: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Place widgets left to right, top to bottom on CloudWatch's 24-column grid."""
    placed: list[dict[str, Any]] = []
    x = y = row_height = 0
    for widget in widgets:
        width, height = widget["width"], widget["height"]
        if x + width > GRID_COLUMNS:
            x, y, row_height = 0, y + row_height, 0
        placed.append({**widget, "x": x, "y": y})
        x, row_height = x + width, max(row_height, height)
    return placed


def dashboard_body(args: DashboardArgs) -> dict[str, Any]:
    """The dashboard JSON (with Pulumi Outputs inside, resolved by `Output.json_dumps`)."""
    r = args.region
    t = args.probe_alarms
    functions = {"ledger-processor": args.ingest_function_name, **args.worker_function_names}
    if args.fan_out is not None:
        functions["backfill-fanout"] = args.fan_out.function_name
    certificate_roles = dict(mc.DAYS_TO_NOT_AFTER.dimensions)["Role"] or ()
    widgets: list[dict[str, Any]] = [
        {
            "type": "text",
            "width": GRID_COLUMNS,
            "height": TEXT_HEIGHT,
            "properties": {
                "markdown": f"## {args.name_prefix}: Stellar Prices API\n"
                "Red lines are alarm thresholds. What each alarm means and what to do: `docs/operations.md`."
            },
        }
    ]
    if args.api is not None:
        api: dict[str, pulumi.Input[str]] = {"ApiName": args.api.api_name}
        if args.api.stage_name is not None:
            api["Stage"] = args.api.stage_name
        api_fn = {"FunctionName": args.api.function_name}
        widgets += [
            metric_widget(
                "API latency (ms)",
                [
                    aws_metric("AWS/ApiGateway", "Latency", api, stat="p50", label="gateway p50"),
                    aws_metric("AWS/ApiGateway", "Latency", api, stat="p95", label="gateway p95"),
                    aws_metric("AWS/Lambda", "Duration", api_fn, stat="p50", label="handler p50"),
                    aws_metric("AWS/Lambda", "Duration", api_fn, stat="p95", label="handler p95"),
                ],
                region=r,
                left_label="ms",
            ),
            metric_widget(
                "API errors",
                [
                    aws_metric("AWS/ApiGateway", "4XXError", api, label="4xx"),
                    aws_metric("AWS/ApiGateway", "5XXError", api, label="5xx"),
                    aws_metric("AWS/Lambda", "Errors", api_fn, label="handler errors"),
                    aws_metric("AWS/Lambda", "Throttles", api_fn, label="handler throttles"),
                ],
                region=r,
                stat="Sum",
                left_label="count",
            ),
        ]
    widgets += [
        metric_widget(
            "Ingest lag (s)",
            [
                aws_metric(
                    "AWS/SQS",
                    "ApproximateAgeOfOldestMessage",
                    {"QueueName": args.ingest_queue_name},
                    label="oldest queued doorbell",
                ),
                catalog_metric(mc.INGEST_LAG_SECONDS, label="ledger close → candles written"),
            ],
            region=r,
            stat="Maximum",
            period=60,
            thresholds=[threshold_line("queue-age alarm", args.ingest_lag_alarm_seconds)],
            left_label="s",
        ),
        metric_widget(
            "Ledgers per minute",
            [
                catalog_metric(mc.LEDGERS_INGESTED, label="ledgers"),
                catalog_metric(mc.TRADES_WRITTEN, label="trades", yAxis="right"),
                catalog_metric(mc.CANDLE_PARTS_WRITTEN, label="candle parts", yAxis="right"),
            ],
            region=r,
            stat="Sum",
            period=60,
            left_label="ledgers",
            right_label="rows",
        ),
        metric_widget(
            "Ingest DLQ depth and failures",
            [
                aws_metric(
                    "AWS/SQS",
                    "ApproximateNumberOfMessagesVisible",
                    {"QueueName": args.ingest_dlq_name},
                    stat="Maximum",
                    label="DLQ messages",
                ),
                catalog_metric(mc.POISON_RECORDS, label="poison records"),
                catalog_metric(mc.TRANSIENT_FAILURES, label="transient failures"),
                catalog_metric(mc.UNRESOLVED_SWAPS, label="unresolved swaps", yAxis="right"),
            ],
            region=r,
            stat="Sum",
            thresholds=[threshold_line("DLQ alarm", 1)],
        ),
        metric_widget(
            "ClickHouse write latency (ms) and free disk (%)",
            [
                catalog_metric(mc.CLICKHOUSE_WRITE_LATENCY_MS, stat="Maximum", label="probe insert, max"),
                catalog_metric(mc.CLICKHOUSE_WRITE_LATENCY_MS, stat="Average", label="probe insert, avg"),
                catalog_metric(mc.CLICKHOUSE_FREE_DISK_PCT, stat="Minimum", label="free disk %", yAxis="right"),
            ],
            region=r,
            thresholds=[
                threshold_line("latency alarm", t.max_write_latency_ms),
                threshold_line("free-disk alarm", t.min_free_disk_pct, right=True),
            ],
            left_label="ms",
            right_label="%",
        ),
        metric_widget(
            "Days to mTLS certificate NotAfter",
            [
                catalog_metric(mc.MIN_DAYS_TO_NOT_AFTER, label="soonest"),
                *(catalog_metric(mc.DAYS_TO_NOT_AFTER, {"Role": role}, label=role) for role in certificate_roles),
            ],
            region=r,
            stat="Minimum",
            period=3600,
            thresholds=[threshold_line("NotAfter alarm", t.min_days_to_not_after)],
            left_label="days",
        ),
        metric_widget(
            "Candle age per table (s)",
            [catalog_metric(mc.CANDLE_AGE_SECONDS, {"Granularity": g}, label=g) for g in mc.GRANULARITY_TABLES],
            region=r,
            stat="Maximum",
            thresholds=[
                threshold_line(f"{', '.join(tables)} alarm", seconds)
                for seconds, tables in tables_by_threshold(t.candle_age_max_seconds).items()
            ],
            left_label="s",
        ),
        metric_widget(
            "current_prices age (s)",
            [catalog_metric(mc.CURRENT_PRICES_AGE_SECONDS, label="now − newest updated_at")],
            region=r,
            stat="Maximum",
            thresholds=[threshold_line("freshness alarm", t.current_prices_max_age_seconds)],
            left_label="s",
        ),
        metric_widget(
            "Backfill progress",
            [
                catalog_metric(mc.BACKFILL_PROGRESS_PCT, stat="Maximum", label="progress %"),
                catalog_metric(mc.BACKFILL_PUSH_AGE_SECONDS, stat="Maximum", label="last push age (s)", yAxis="right"),
            ],
            region=r,
            period=3600,
            thresholds=[threshold_line("push-age alarm", t.max_backfill_push_age_seconds, right=True)],
            left_label="%",
            right_label="s",
        ),
    ]
    if args.fan_out is not None:
        ranges = {"QueueName": args.fan_out.queue_name}
        widgets.append(
            metric_widget(
                "Backfill fan-out",
                [
                    aws_metric("AWS/SQS", "ApproximateNumberOfMessagesVisible", ranges, label="ranges queued"),
                    aws_metric("AWS/SQS", "ApproximateNumberOfMessagesNotVisible", ranges, label="ranges in flight"),
                    aws_metric(
                        "AWS/SQS",
                        "ApproximateNumberOfMessagesVisible",
                        {"QueueName": args.fan_out.dlq_name},
                        label="ranges in the DLQ",
                    ),
                    catalog_metric(mc.FANOUT_RANGES_COMPLETED, stat="Sum", label="ranges completed"),
                    catalog_metric(mc.FANOUT_RANGES_INCOMPLETE, stat="Sum", label="ranges incomplete"),
                    catalog_metric(mc.FANOUT_LEDGERS_WRITTEN, stat="Sum", label="ledgers written", yAxis="right"),
                    catalog_metric(mc.FANOUT_TRADES_WRITTEN, stat="Sum", label="trades written", yAxis="right"),
                ],
                region=r,
                stat="Maximum",
                period=300,
                thresholds=[threshold_line("DLQ alarm", 1)],
                left_label="ranges",
                right_label="rows",
            )
        )
    widgets += [
        metric_widget(
            "Function invocations",
            [
                aws_metric("AWS/Lambda", "Invocations", {"FunctionName": fn}, label=short)
                for short, fn in functions.items()
            ],
            region=r,
            stat="Sum",
            period=3600,
        ),
        metric_widget(
            "Function errors",
            [aws_metric("AWS/Lambda", "Errors", {"FunctionName": fn}, label=short) for short, fn in functions.items()],
            region=r,
            stat="Sum",
            period=3600,
        ),
        metric_widget(
            "Worker output",
            [
                catalog_metric(mc.ORACLE_PRICES_WRITTEN, label="oracle prices written"),
                catalog_metric(mc.ORACLE_ASSET_FAILURES, label="oracle asset failures"),
                catalog_metric(mc.PARTITIONS_DROPPED, label="partitions dropped"),
                catalog_metric(mc.BACKUP_SUCCEEDED, label="backups succeeded"),
                catalog_metric(mc.BACKUP_BYTES, stat="Maximum", label="backup bytes", yAxis="right"),
            ],
            region=r,
            stat="Sum",
            period=3600,
            right_label="bytes",
        ),
    ]
    return {"widgets": laid_out(widgets)}


class Dashboard(pulumi.ComponentResource):
    dashboard_name: pulumi.Output[str]

    def __init__(self, name: str, args: DashboardArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("prices:dashboard:Dashboard", name, None, opts)
        dashboard = aws.cloudwatch.Dashboard(
            f"{name}-overview",
            dashboard_name=f"{args.name_prefix}-overview",
            dashboard_body=pulumi.Output.json_dumps(dashboard_body(args)),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.dashboard_name = dashboard.dashboard_name
        self.register_outputs({"dashboard_name": self.dashboard_name})
