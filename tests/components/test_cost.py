import re
from pathlib import Path

import pytest

from components import pricing
from components.cost import (
    CATEGORIES,
    CostLine,
    api_cost_lines,
    foundation_lines,
    lambda_cost,
    monitoring_cost_lines,
    summarize,
    worker_cost_lines,
    workload_lines,
)
from components.settings import load_settings
from tests.components.program import planned
from tests.components.test_settings import stack_file_config


def test_lambda_cost_is_gb_seconds_plus_requests() -> None:
    # 1M invocations x 100 ms x 1 GB = 100,000 GB-s
    expected = 100_000 * pricing.LAMBDA_GB_SECOND_ARM + 1_000_000 * pricing.LAMBDA_REQUEST
    assert lambda_cost(1_000_000, 100, 1024) == pytest.approx(expected)


def test_summary_has_every_category_and_a_total_that_adds_up() -> None:
    settings = load_settings("prod", *stack_file_config("prod"))
    lines = (
        workload_lines(settings)
        + api_cost_lines(settings)
        + foundation_lines(settings, secrets=2, alarm_email_subscriptions=1)
    )
    summary = summarize(lines)
    assert set(summary) == {*CATEGORIES, "total"}
    assert summary["total"] == pytest.approx(sum(line.usd for line in lines), abs=0.01)
    assert summary["secrets_manager"] == pytest.approx(2 * 0.40 + 200_000 * pricing.SECRET_API_CALL, abs=0.01)
    # 10M REST requests at the recorded price
    assert summary["api_gateway_requests"] == pytest.approx(10_000_000 * pricing.APIGW_REST_REQUEST, abs=0.01)
    assert summary["hetzner_clickhouse_share"] == pytest.approx(110.0 * 0.02 * 1.08, abs=0.01)


def test_prod_costs_more_than_dev_and_stays_under_its_budget() -> None:
    dev = load_settings("dev", *stack_file_config("dev"))
    prod = load_settings("prod", *stack_file_config("prod"))
    dev_total = summarize(
        workload_lines(dev) + api_cost_lines(dev) + foundation_lines(dev, secrets=2, alarm_email_subscriptions=1)
    )["total"]
    prod_total = summarize(
        workload_lines(prod) + api_cost_lines(prod) + foundation_lines(prod, secrets=2, alarm_email_subscriptions=1)
    )["total"]
    assert 0 < dev_total < prod_total
    assert prod_total < prod.ops.budget_monthly_usd
    assert dev_total < dev.ops.budget_monthly_usd


def test_traffic_assumptions_move_the_estimate() -> None:
    raw, region = stack_file_config("prod")
    base = summarize(api_cost_lines(load_settings("prod", raw, region)))
    raw["traffic"] = {**raw["traffic"], "apiRequestsPerMonth": 20_000_000}
    raw["api"] = {**raw["api"], "cacheSizeGb": "1.6"}  # provisioned, so an api setting (not an assumption)
    doubled = summarize(api_cost_lines(load_settings("prod", raw, region)))
    assert doubled["api_gateway_requests"] == pytest.approx(2 * base["api_gateway_requests"], abs=0.01)
    assert doubled["api_gateway_cache"] > base["api_gateway_cache"]


def test_cost_lines_reject_unknown_categories_and_negative_amounts() -> None:
    with pytest.raises(ValueError, match="unknown cost category"):
        CostLine("coffee", "x", 1.0, "")
    with pytest.raises(ValueError, match="negative cost"):
        CostLine("lambda", "x", -1.0, "")


def test_worker_lines_follow_each_schedule_memory_and_assumed_run_time() -> None:
    raw, region = stack_file_config("prod")
    lines = {line.item: line for line in worker_cost_lines(load_settings("prod", raw, region))}
    assert set(lines) == {"oracle worker", "cleanup worker", "probes worker"}
    assert {line.category for line in lines.values()} == {"lambda"}
    # rate(5 minutes) over the 730-hour month is 8,760 runs; the daily cleanup runs 30 times.
    assert lines["oracle worker"].usd == pytest.approx(lambda_cost(8_760, 3_000, 256))
    assert lines["cleanup worker"].usd == pytest.approx(lambda_cost(30, 10_000, 256))
    assert lines["probes worker"].usd == pytest.approx(lambda_cost(8_760, 2_000, 256))
    assert lines["oracle worker"].basis == "rate(5 minutes): 8,760 runs x 3000 ms x 256 MB"
    probes = {**raw["workers"]["probes"], "schedule": "rate(1 minute)", "timeoutSeconds": 50, "memoryMb": 512}
    raw["workers"] = {**raw["workers"], "probes": probes}
    faster = {line.item: line.usd for line in worker_cost_lines(load_settings("prod", raw, region))}
    assert faster["probes worker"] == pytest.approx(lambda_cost(43_800, 2_000, 512))
    assert faster["oracle worker"] == pytest.approx(lines["oracle worker"].usd)


def test_alarms_and_dashboard_are_priced_per_unit() -> None:
    alarms, dashboard = monitoring_cost_lines(alarms=22, dashboards=1)
    assert (alarms.category, alarms.usd) == ("cloudwatch_xray", pytest.approx(22 * pricing.CW_ALARM_STANDARD_PER_MONTH))
    assert dashboard.usd == pytest.approx(pricing.CW_DASHBOARD_PER_MONTH)
    # The free tier's three dashboards are not deducted (the shared account's partner uses them).
    assert pricing.CW_FREE_DASHBOARDS_PER_ACCOUNT == 3 and "3 free per account" in dashboard.basis


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_plan_prices_every_alarm_it_creates_once(stack: str) -> None:
    result = planned(stack)
    created = result.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    lines = {line["item"]: line for line in result.outputs["monthly_cost_lines"]}
    counted = [
        int(lines[item]["basis"].split(" ", 1)[0]) for item in ("ingest, API, worker and probe alarms", "backup alarms")
    ]
    # Every MetricAlarm in the stack is priced on exactly one line, counted from the components, not assumed.
    assert sum(counted) == len(created)
    assert counted[1] == len([a for a in created if a.name.startswith("backups-")])
    assert lines["operations dashboard"]["usd"] == pricing.CW_DASHBOARD_PER_MONTH
    assert {"oracle worker", "cleanup worker", "probes worker"} <= set(lines)
    assert "scheduled workers" not in lines  # the traffic-assumption line is gone


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_readme_quotes_the_monthly_total_the_plan_computes(stack: str) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    quoted = re.search(rf"\b{stack} \$(\d+\.\d\d)/month", readme)
    assert quoted is not None, f"README.md no longer quotes the {stack} monthly figure"
    assert planned(stack).outputs["monthly_cost_usd"]["total"] == pytest.approx(float(quoted.group(1)), abs=0.005)
