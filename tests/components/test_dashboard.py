"""The operations dashboard, and the cross-check that every alarm and widget watches a metric someone publishes."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from components.dashboard import GRID_COLUMNS
from components.settings import load_settings
from lambdas.common.metric_catalog import ALL_METRICS, FANOUT_SERVICE, MetricDef
from offline.runner import PlanResult
from tests.components.program import children_of, one, planned
from tests.components.test_backfill import enabled as planned_with_fan_out
from tests.components.test_settings import stack_file_config

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
FUNCTION = "aws:lambda/function:Function"

# The AWS metrics alarms and widgets may use: names and dimension sets as the services document them
# (Lambda, SQS and API Gateway REST "Monitoring with CloudWatch" pages).
AWS_METRICS: dict[str, tuple[frozenset[str], tuple[frozenset[str], ...]]] = {
    "AWS/Lambda": (
        frozenset({"Invocations", "Errors", "Duration", "Throttles", "ConcurrentExecutions"}),
        (frozenset({"FunctionName"}),),
    ),
    "AWS/SQS": (
        frozenset(
            {
                "ApproximateAgeOfOldestMessage",
                "ApproximateNumberOfMessagesVisible",
                "ApproximateNumberOfMessagesNotVisible",
                "NumberOfMessagesSent",
                "NumberOfMessagesReceived",
                "NumberOfMessagesDeleted",
            }
        ),
        (frozenset({"QueueName"}),),
    ),
    "AWS/ApiGateway": (
        frozenset(
            {"Latency", "IntegrationLatency", "4XXError", "5XXError", "Count", "CacheHitCount", "CacheMissCount"}
        ),
        (
            frozenset({"ApiName"}),
            frozenset({"ApiName", "Stage"}),
            frozenset({"ApiName", "Stage", "Resource", "Method"}),
        ),
    ),
}

# Catalog entries no alarm or widget uses, each with the reason. Empty today: every published metric is watched.
UNWATCHED: dict[MetricDef, str] = {}
# Published only by an optional component: watched in the plans that enable it (checked below).
FAN_OUT_METRICS = frozenset(m for m in ALL_METRICS if m.service == FANOUT_SERVICE)

# (stack, backfill fan-out on): the stack files as they are, and with the optional fan-out enabled.
VARIANTS = [("dev", False), ("prod", False), ("prod", True)]


def plan_of(stack: str, fan_out: bool) -> PlanResult:
    return planned_with_fan_out(stack) if fan_out else planned(stack)


@dataclass(frozen=True)
class MetricRef:
    where: str
    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]


def alarm_refs(result: PlanResult) -> Iterator[MetricRef]:
    for alarm in result.of_type(ALARM):
        inputs = alarm.inputs
        if inputs.get("metricName"):
            yield MetricRef(
                f"alarm {alarm.name}",
                inputs["namespace"],
                inputs["metricName"],
                tuple(sorted((inputs.get("dimensions") or {}).items())),
            )
        for query in inputs.get("metricQueries") or []:
            metric = query.get("metric")
            if metric:
                yield MetricRef(
                    f"alarm {alarm.name} query {query['id']}",
                    metric["namespace"],
                    metric["metricName"],
                    tuple(sorted((metric.get("dimensions") or {}).items())),
                )


def widget_rows(body: Mapping[str, Any]) -> Iterator[tuple[str, list[Any]]]:
    for widget in body["widgets"]:
        if widget["type"] != "metric":
            continue
        for row in widget["properties"]["metrics"]:
            yield widget["properties"]["title"], row


def widget_refs(result: PlanResult) -> Iterator[MetricRef]:
    for dashboard in result.of_type(DASHBOARD):
        for title, row in widget_rows(json.loads(dashboard.inputs["dashboardBody"])):
            if isinstance(row[0], dict):
                continue  # a metric-math expression: it only combines rows that are checked themselves
            parts = row[:-1] if isinstance(row[-1], dict) else row
            assert all(isinstance(p, str) for p in parts), f"widget {title!r}: {row} (shorthand rows are not used)"
            assert len(parts) % 2 == 0, f"widget {title!r}: dimension without a value in {row}"
            pairs = tuple(sorted(zip(parts[2::2], parts[3::2], strict=True)))
            yield MetricRef(f"widget {title!r} of {dashboard.name}", parts[0], parts[1], pairs)


def catalog_entry(ref: MetricRef) -> MetricDef | None:
    matches = [m for m in ALL_METRICS if (m.namespace, m.name) == (ref.namespace, ref.name)]
    assert len(matches) <= 1, f"the catalog defines {ref.namespace} {ref.name} twice"
    return matches[0] if matches else None


def problems_with(ref: MetricRef) -> list[str]:
    dimensions = dict(ref.dimensions)
    if any(not isinstance(v, str) or not v for v in dimensions.values()):
        return [f"{ref.where}: {ref.namespace} {ref.name} has an empty dimension value {dimensions}"]
    if ref.namespace in AWS_METRICS:
        names, dimension_sets = AWS_METRICS[ref.namespace]
        problems = []
        if ref.name not in names:
            problems.append(f"{ref.where}: {ref.namespace} has no metric {ref.name}")
        if frozenset(dimensions) not in dimension_sets:
            problems.append(f"{ref.where}: {ref.namespace} {ref.name} is not published by {sorted(dimensions)}")
        return problems
    entry = catalog_entry(ref)
    if entry is None:
        return [f"{ref.where}: {ref.namespace} {ref.name} is neither an AWS metric nor in metric_catalog"]
    if set(dimensions) != set(entry.dimension_names):
        return [f"{ref.where}: {ref.name} is published with {sorted(entry.dimension_names)}, not {sorted(dimensions)}"]
    problems = []
    if dimensions["service"] != entry.service:
        problems.append(f"{ref.where}: {ref.name} comes from service {entry.service}, not {dimensions['service']}")
    for name, allowed in entry.dimensions:
        if allowed is not None and dimensions[name] not in allowed:
            problems.append(f"{ref.where}: {ref.name} is never published with {name}={dimensions[name]}")
    return problems


@pytest.mark.parametrize(("stack", "fan_out"), VARIANTS)
def test_every_metric_an_alarm_or_widget_watches_is_published(stack: str, fan_out: bool) -> None:
    result = plan_of(stack, fan_out)
    refs = [*alarm_refs(result), *widget_refs(result)]
    assert len(refs) > 50, "the plan's alarms and dashboard were read"
    assert [p for ref in refs for p in problems_with(ref)] == []


@pytest.mark.parametrize(("stack", "fan_out"), VARIANTS)
def test_every_catalogued_metric_is_watched_or_explained(stack: str, fan_out: bool) -> None:
    result = plan_of(stack, fan_out)
    watched = {catalog_entry(ref) for ref in [*alarm_refs(result), *widget_refs(result)]}
    excused = UNWATCHED.keys() | (set() if fan_out else FAN_OUT_METRICS)
    unwatched = [f"{m.namespace} {m.name}" for m in ALL_METRICS if m not in watched and m not in excused]
    assert unwatched == [], "add an alarm or a widget, or list the metric in UNWATCHED with a reason"
    assert [m.name for m in UNWATCHED if m in watched] == [], "UNWATCHED lists a metric that is watched"
    assert fan_out == bool(FAN_OUT_METRICS & watched)


def test_the_cross_check_catches_what_it_is_for() -> None:
    def ref(namespace: str, name: str, **dimensions: str) -> MetricRef:
        return MetricRef("test", namespace, name, tuple(sorted(dimensions.items())))

    assert problems_with(ref("Prices/Probes", "CandleAgeSeconds", service="probes", Granularity="1h")) == []
    assert problems_with(ref("AWS/Lambda", "Errors", FunctionName="f")) == []
    # Powertools adds `service`: a reference without it never matches a published metric.
    assert problems_with(ref("Prices/Probes", "CandleAgeSeconds", Granularity="1h"))
    assert problems_with(ref("Prices/Probes", "CandleAgeSeconds", service="oracle", Granularity="1h"))
    assert problems_with(ref("Prices/Probes", "CandleAgeSeconds", service="probes", Granularity="2h"))
    assert problems_with(ref("Prices/Probes", "CandleAgeSecs", service="probes", Granularity="1h"))
    assert problems_with(ref("AWS/Lambda", "Errors", QueueName="q"))
    assert problems_with(ref("AWS/S3", "BucketSizeBytes", BucketName="b"))


def dashboard_body(result: PlanResult) -> dict[str, Any]:
    component = one(result, "prices:dashboard:Dashboard", "dashboard")
    (dashboard,) = children_of(result, component)
    assert dashboard.type == DASHBOARD
    assert dashboard.inputs["dashboardName"] == f"prices-{result.stack}-overview"
    body: dict[str, Any] = json.loads(dashboard.inputs["dashboardBody"])
    return body


def widgets_by_title(result: PlanResult) -> dict[str, dict[str, Any]]:
    return {w["properties"]["title"]: w for w in dashboard_body(result)["widgets"] if w["type"] == "metric"}


def metric_rows(widget: Mapping[str, Any]) -> list[list[Any]]:
    return [row[:-1] if isinstance(row[-1], dict) else row for row in widget["properties"]["metrics"]]


def thresholds(widget: Mapping[str, Any]) -> dict[str, float]:
    return {line["label"]: line["value"] for line in widget["properties"].get("annotations", {}).get("horizontal", [])}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_dashboard_has_a_widget_per_operator_question(stack: str) -> None:
    widgets = widgets_by_title(planned(stack))
    assert set(widgets) == {
        "API latency (ms)",
        "API errors",
        "Ingest lag (s)",
        "Ledgers per minute",
        "Ingest DLQ depth and failures",
        "ClickHouse write latency (ms) and free disk (%)",
        "Days to mTLS certificate NotAfter",
        "Candle age per table (s)",
        "current_prices age (s)",
        "Backfill progress",
        "Function invocations",
        "Function errors",
        "Worker output",
    }
    for widget in widgets.values():
        assert widget["properties"]["region"] == "eu-central-1"
        assert widget["properties"]["metrics"], widget["properties"]["title"]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_widgets_point_at_the_stacks_own_api_queues_and_functions(stack: str) -> None:
    result = planned(stack)
    widgets = widgets_by_title(result)
    (rest_api,) = result.of_type("aws:apigateway/restApi:RestApi")
    (stage,) = result.of_type("aws:apigateway/stage:Stage")
    api_function = result.outputs["api_function_name"]
    latency = metric_rows(widgets["API latency (ms)"])
    assert ["AWS/ApiGateway", "Latency", "ApiName", rest_api.inputs["name"], "Stage", stage.inputs["stageName"]] in (
        latency
    )
    assert ["AWS/Lambda", "Duration", "FunctionName", api_function] in latency
    errors = metric_rows(widgets["API errors"])
    assert {row[1] for row in errors if row[0] == "AWS/ApiGateway"} == {"4XXError", "5XXError"}

    queue = one(result, "aws:sqs/queue:Queue", "ingest-queue").inputs["name"]
    dlq = one(result, "aws:sqs/queue:Queue", "ingest-dlq").inputs["name"]
    assert ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", queue] in metric_rows(widgets["Ingest lag (s)"])
    assert ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", dlq] in metric_rows(
        widgets["Ingest DLQ depth and failures"]
    )
    # Every function of the stack is on the dashboard: the API on its own widgets, the others in both of these.
    functions = {fn.inputs["name"] for fn in result.of_type(FUNCTION)} - {api_function}
    for title in ("Function invocations", "Function errors"):
        assert {row[3] for row in metric_rows(widgets[title])} == functions


def test_with_the_fan_out_on_its_queue_dlq_and_function_are_on_the_dashboard() -> None:
    result = planned_with_fan_out("prod")
    widgets = widgets_by_title(result)
    queue = one(result, "aws:sqs/queue:Queue", "backfill-queue").inputs["name"]
    dlq = one(result, "aws:sqs/queue:Queue", "backfill-dlq").inputs["name"]
    rows = metric_rows(widgets["Backfill fan-out"])
    assert ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queue] in rows
    assert ["AWS/SQS", "ApproximateNumberOfMessagesNotVisible", "QueueName", queue] in rows
    assert ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", dlq] in rows
    assert {row[1] for row in rows if row[0] == "Prices/Backfill"} == {m.name for m in FAN_OUT_METRICS}
    assert thresholds(widgets["Backfill fan-out"]) == {
        "DLQ alarm": one(result, ALARM, "backfill-dlq-messages").inputs["threshold"]
    }
    fan_out_function = one(result, FUNCTION, "backfill-function").inputs["name"]
    for title in ("Function invocations", "Function errors"):
        assert fan_out_function in {row[3] for row in metric_rows(widgets[title])}
    assert "Backfill fan-out" not in widgets_by_title(planned("prod"))


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_threshold_lines_are_the_configured_alarm_thresholds(stack: str) -> None:
    settings = load_settings(stack, *stack_file_config(stack))
    t = settings.workers.alarms
    widgets = widgets_by_title(planned(stack))
    assert thresholds(widgets["Ingest lag (s)"]) == {
        "queue-age alarm": settings.ingest.alarm_oldest_message_age_seconds
    }
    # One line per distinct threshold, naming the tables it applies to.
    assert thresholds(widgets["Candle age per table (s)"]) == {"1m alarm": 900, "15m, 1h, 4h, 1d, 1w, 1M alarm": 3600}
    assert {row[5] for row in metric_rows(widgets["Candle age per table (s)"])} == set(t.candle_age_max_seconds)
    assert thresholds(widgets["Days to mTLS certificate NotAfter"]) == {"NotAfter alarm": t.min_days_to_not_after}
    assert thresholds(widgets["current_prices age (s)"]) == {"freshness alarm": t.current_prices_max_age_seconds}
    assert thresholds(widgets["ClickHouse write latency (ms) and free disk (%)"]) == {
        "latency alarm": t.max_write_latency_ms,
        "free-disk alarm": t.min_free_disk_pct,
    }
    assert thresholds(widgets["Backfill progress"]) == {"push-age alarm": t.max_backfill_push_age_seconds}
    dlq_alarm = one(planned(stack), ALARM, "ingest-dlq-messages").inputs["threshold"]
    assert thresholds(widgets["Ingest DLQ depth and failures"]) == {"DLQ alarm": dlq_alarm}


@pytest.mark.parametrize(("stack", "fan_out"), VARIANTS)
def test_widgets_tile_the_grid_without_overlapping(stack: str, fan_out: bool) -> None:
    widgets = dashboard_body(plan_of(stack, fan_out))["widgets"]
    cells: set[tuple[int, int]] = set()
    for widget in widgets:
        assert widget["x"] >= 0 and widget["x"] + widget["width"] <= GRID_COLUMNS
        covered = {
            (x, y)
            for x in range(widget["x"], widget["x"] + widget["width"])
            for y in range(widget["y"], widget["y"] + widget["height"])
        }
        assert not covered & cells, f"{widget} overlaps another widget"
        cells |= covered
    assert widgets[0]["type"] == "text" and (widgets[0]["x"], widgets[0]["y"]) == (0, 0)
