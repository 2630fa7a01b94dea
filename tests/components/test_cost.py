import pytest

from components import pricing
from components.cost import CATEGORIES, CostLine, foundation_lines, lambda_cost, summarize, workload_lines
from components.settings import load_settings
from tests.components.test_settings import stack_file_config


def test_lambda_cost_is_gb_seconds_plus_requests() -> None:
    # 1M invocations x 100 ms x 1 GB = 100,000 GB-s
    expected = 100_000 * pricing.LAMBDA_GB_SECOND_ARM + 1_000_000 * pricing.LAMBDA_REQUEST
    assert lambda_cost(1_000_000, 100, 1024) == pytest.approx(expected)


def test_summary_has_every_category_and_a_total_that_adds_up() -> None:
    settings = load_settings("prod", *stack_file_config("prod"))
    lines = workload_lines(settings) + foundation_lines(settings, secrets=2, alarm_email_subscriptions=1)
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
    dev_total = summarize(workload_lines(dev) + foundation_lines(dev, secrets=2, alarm_email_subscriptions=1))["total"]
    prod_total = summarize(workload_lines(prod) + foundation_lines(prod, secrets=2, alarm_email_subscriptions=1))[
        "total"
    ]
    assert 0 < dev_total < prod_total
    assert prod_total < prod.ops.budget_monthly_usd
    assert dev_total < dev.ops.budget_monthly_usd


def test_traffic_assumptions_move_the_estimate() -> None:
    raw, region = stack_file_config("prod")
    base = summarize(workload_lines(load_settings("prod", raw, region)))
    raw["traffic"] = {**raw["traffic"], "apiRequestsPerMonth": 20_000_000, "apiCacheSizeGb": "1.6"}
    doubled = summarize(workload_lines(load_settings("prod", raw, region)))
    assert doubled["api_gateway_requests"] == pytest.approx(2 * base["api_gateway_requests"], abs=0.01)
    assert doubled["api_gateway_cache"] > base["api_gateway_cache"]


def test_cost_lines_reject_unknown_categories_and_negative_amounts() -> None:
    with pytest.raises(ValueError, match="unknown cost category"):
        CostLine("coffee", "x", 1.0, "")
    with pytest.raises(ValueError, match="negative cost"):
        CostLine("lambda", "x", -1.0, "")
