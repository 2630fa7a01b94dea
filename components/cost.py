"""Monthly cost model, reviewed through the `monthly_cost_usd` stack output.

Each line is computed from the stack's traffic assumptions (config `prices-api:traffic`) and the list
prices in `components/pricing.py`. Components add lines for what they provision; the summary groups
them into the categories a reviewer asks about and a total.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from components import pricing as p
from components.settings import StackSettings

CATEGORIES = (
    "lambda",
    "api_gateway_requests",
    "api_gateway_cache",
    "cloudwatch_xray",
    "secrets_manager",
    "sns_sqs",
    "s3",
    "data_transfer",
    "budgets",
    "hetzner_clickhouse_share",
)


@dataclass(frozen=True)
class CostLine:
    category: str
    item: str
    usd: float
    basis: str

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(f"unknown cost category {self.category!r}")
        if self.usd < 0:
            raise ValueError(f"negative cost for {self.item!r}")


def lambda_cost(invocations: int, avg_ms: float, memory_mb: int) -> float:
    gb_seconds = invocations * (avg_ms / 1000) * (memory_mb / 1024)
    return gb_seconds * p.LAMBDA_GB_SECOND_ARM + invocations * p.LAMBDA_REQUEST


def workload_lines(s: StackSettings) -> list[CostLine]:
    """The planned workload, priced from the traffic assumptions (API, workers, logs, metrics, egress).

    The ingest path (ledger processor, its queue, the ledger GETs) is priced by `ingest_cost_lines`."""
    t = s.traffic
    return [
        CostLine(
            "lambda",
            "api handler",
            lambda_cost(t.api_requests_per_month, t.api_lambda_avg_ms, t.api_lambda_memory_mb),
            f"{t.api_requests_per_month:,} invocations x {t.api_lambda_avg_ms} ms x {t.api_lambda_memory_mb} MB arm64",
        ),
        CostLine(
            "lambda",
            "scheduled workers",
            lambda_cost(t.worker_invocations_per_month, t.worker_lambda_avg_ms, t.worker_lambda_memory_mb),
            f"{t.worker_invocations_per_month:,} invocations x {t.worker_lambda_avg_ms} ms",
        ),
        CostLine(
            "api_gateway_requests",
            "REST API requests",
            t.api_requests_per_month * p.APIGW_REST_REQUEST,
            f"{t.api_requests_per_month:,} requests",
        ),
        CostLine(
            "api_gateway_cache",
            f"stage cache {t.api_cache_size_gb} GB",
            p.APIGW_CACHE_HOURLY_BY_GB[t.api_cache_size_gb] * p.HOURS_PER_MONTH,
            f"{p.HOURS_PER_MONTH} h",
        ),
        CostLine(
            "cloudwatch_xray",
            "log ingestion and storage",
            t.log_ingest_gb_per_month * (p.CW_LOG_INGEST_PER_GB + p.CW_LOG_STORAGE_PER_GB_MONTH),
            f"{t.log_ingest_gb_per_month} GB/month, 30-day retention",
        ),
        CostLine(
            "cloudwatch_xray",
            "custom metrics, alarms, dashboard",
            t.custom_metrics * p.CW_METRIC_PER_MONTH
            + t.alarms * p.CW_ALARM_STANDARD_PER_MONTH
            + p.CW_DASHBOARD_PER_MONTH,
            f"{t.custom_metrics} metrics, {t.alarms} alarms, 1 dashboard",
        ),
        CostLine(
            "cloudwatch_xray",
            "X-Ray traces",
            t.xray_traces_per_month * p.XRAY_TRACE_RECORDED,
            f"{t.xray_traces_per_month:,} traces",
        ),
        CostLine(
            "data_transfer",
            "Lambda → ClickHouse edge (internet egress)",
            t.clickhouse_http_egress_gb_per_month * p.DATA_TRANSFER_OUT_PER_GB,
            f"{t.clickhouse_http_egress_gb_per_month} GB",
        ),
    ]


def ingest_cost_lines(s: StackSettings) -> list[CostLine]:
    """What the Ingest component provisions and drives: the ledger-processor Lambda (priced at its
    configured memory), its SQS requests and the GETs on the partner's ledger bucket."""
    t, memory_mb = s.traffic, s.ingest.memory_mb
    return [
        CostLine(
            "lambda",
            "ledger processor",
            lambda_cost(t.ledgers_per_month, t.ingest_lambda_avg_ms, memory_mb),
            f"{t.ledgers_per_month:,} ledgers x {t.ingest_lambda_avg_ms} ms x {memory_mb} MB arm64",
        ),
        CostLine(
            "sns_sqs",
            "ingest queue requests",
            t.ledgers_per_month * p.SQS_REQUESTS_PER_MESSAGE * p.SQS_REQUEST,
            f"{t.ledgers_per_month:,} messages x {p.SQS_REQUESTS_PER_MESSAGE} requests",
        ),
        CostLine(
            "s3",
            "ledger file GETs",
            t.s3_get_requests_per_month * p.S3_GET_REQUEST,
            f"{t.s3_get_requests_per_month:,} GET requests",
        ),
    ]


def foundation_lines(s: StackSettings, *, secrets: int, alarm_email_subscriptions: int) -> list[CostLine]:
    """What the foundation components provision: mTLS secrets, the ops topic, the budget, the Hetzner share."""
    t, h = s.traffic, s.hetzner
    return [
        CostLine(
            "secrets_manager",
            "mTLS bundles",
            secrets * p.SECRET_PER_MONTH + t.secret_api_calls_per_month * p.SECRET_API_CALL,
            f"{secrets} secrets, {t.secret_api_calls_per_month:,} GetSecretValue calls",
        ),
        CostLine(
            "sns_sqs",
            "ops alarm e-mails",
            alarm_email_subscriptions * 100 * p.SNS_EMAIL_NOTIFICATION,
            f"{alarm_email_subscriptions} e-mail subscription(s), ~100 notifications",
        ),
        CostLine("budgets", "monthly budget", p.BUDGET_PER_MONTH, "first two budgets per account are free"),
        CostLine(
            "hetzner_clickhouse_share",
            "ClickHouse server share",
            h.clickhouse_server_monthly_eur * h.clickhouse_share * h.eur_to_usd,
            f"EUR {h.clickhouse_server_monthly_eur}/month x {h.clickhouse_share:.0%} at {h.eur_to_usd} USD/EUR",
        ),
    ]


def summarize(lines: Iterable[CostLine]) -> dict[str, float]:
    """Itemised by category (every category present, 0 when nothing is priced there) plus `total`."""
    totals = dict.fromkeys(CATEGORIES, 0.0)
    for line in lines:
        totals[line.category] += line.usd
    summary = {category: round(usd, 2) for category, usd in totals.items()}
    summary["total"] = round(sum(totals.values()), 2)
    return summary


def describe(lines: Iterable[CostLine]) -> list[dict[str, object]]:
    return [
        {"category": line.category, "item": line.item, "usd": round(line.usd, 2), "basis": line.basis} for line in lines
    ]
