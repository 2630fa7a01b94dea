"""Monthly cost model, reviewed through the `monthly_cost_usd` stack output.

Each line is computed from the stack's traffic assumptions (config `prices-api:traffic`) and the list
prices in `components/pricing.py`. Components add lines for what they provision; the summary groups
them into the categories a reviewer asks about and a total.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from components import pricing as p
from components.settings import PUBLIC_ARCHIVE_BUCKET, StackSettings
from lambdas.api.routes import ROUTES

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
    "hetzner_sidecar",
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
    """The planned workload, priced from the traffic assumptions (logs, metrics, egress).

    The ingest path (ledger processor, its queue, the ledger GETs) is priced by `ingest_cost_lines`, the API
    (requests, stage cache, its function) by `api_cost_lines`, the scheduled workers by `worker_cost_lines`."""
    t = s.traffic
    return [
        CostLine(
            "cloudwatch_xray",
            "log ingestion and storage",
            t.log_ingest_gb_per_month * (p.CW_LOG_INGEST_PER_GB + p.CW_LOG_STORAGE_PER_GB_MONTH),
            f"{t.log_ingest_gb_per_month} GB/month, 30-day retention",
        ),
        CostLine(
            "cloudwatch_xray",
            "custom metrics",
            t.custom_metrics * p.CW_METRIC_PER_MONTH,
            # Alarms are counted from the components that create them (`monitoring_cost_lines` and the backup and
            # fan-out lines), not assumed.
            f"{t.custom_metrics} metrics",
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


# API Gateway's per-method ("detailed") metrics: Count, 4XXError, 5XXError, Latency, IntegrationLatency,
# CacheHitCount, CacheMissCount; each is billed as a custom metric.
APIGW_DETAILED_METRICS_PER_METHOD = 7


def api_cost_lines(s: StackSettings) -> list[CostLine]:
    """What the Api component provisions and drives: REST requests, the stage cache at its configured size, the
    API function at its configured memory, and per-method metrics when they are on (`prices-api:api`)."""
    t, api = s.traffic, s.api
    requests = t.api_requests_per_month
    lines = [
        CostLine(
            "api_gateway_requests",
            "REST API requests",
            requests * p.APIGW_REST_REQUEST,
            f"{requests:,} requests",
        ),
        CostLine(
            "api_gateway_cache",
            f"stage cache {api.cache_size_gb} GB",
            p.APIGW_CACHE_HOURLY_BY_GB[api.cache_size_gb] * p.HOURS_PER_MONTH,
            f"{p.HOURS_PER_MONTH} h" if api.cache_size_gb != "0" else "no cache cluster",
        ),
        CostLine(
            "lambda",
            "api handler",
            lambda_cost(requests, t.api_lambda_avg_ms, api.memory_mb),
            # Cache hits never reach the function; pricing every request as a miss is the upper bound.
            f"{requests:,} invocations (every request a cache miss) x {t.api_lambda_avg_ms} ms x {api.memory_mb} MB"
            " arm64",
        ),
    ]
    if api.detailed_metrics:
        methods = len(ROUTES)
        lines.append(
            CostLine(
                "cloudwatch_xray",
                "API per-method metrics",
                methods * APIGW_DETAILED_METRICS_PER_METHOD * p.CW_METRIC_PER_MONTH,
                f"{methods} methods x {APIGW_DETAILED_METRICS_PER_METHOD} metrics",
            )
        )
    return lines


def worker_cost_lines(s: StackSettings) -> list[CostLine]:
    """The scheduled workers, each priced from its own schedule (runs per month), configured memory and
    assumed average run time (`prices-api:workers.<worker>.assumedAvgDurationMs`). Scheduled-rule events
    themselves are free (`pricing.EVENTBRIDGE_SCHEDULED_EVENT`)."""
    lines = []
    for short, worker in (("oracle", s.workers.oracle), ("cleanup", s.workers.cleanup), ("probes", s.workers.probes)):
        runs = round(worker.invocations_per_month)
        lines.append(
            CostLine(
                "lambda",
                f"{short} worker",
                lambda_cost(runs, worker.assumed_avg_duration_ms, worker.memory_mb)
                + runs * p.EVENTBRIDGE_SCHEDULED_EVENT,
                f"{worker.schedule}: {runs:,} runs x {worker.assumed_avg_duration_ms:g} ms x {worker.memory_mb} MB",
            )
        )
    return lines


def monitoring_cost_lines(*, alarms: int, dashboards: int) -> list[CostLine]:
    """The alarms of ingest, API, workers and probes, counted from the components that create them (one metric
    each, standard resolution; backup and fan-out alarms are on their own lines), and the dashboards. The free
    tier's dashboards are not deducted: like every free tier here (components/pricing.py) they are assumed used
    by the partner in the shared account."""
    return [
        CostLine(
            "cloudwatch_xray",
            "ingest, API, worker and probe alarms",
            alarms * p.CW_ALARM_STANDARD_PER_MONTH,
            f"{alarms} standard alarms x ${p.CW_ALARM_STANDARD_PER_MONTH:.2f}",
        ),
        CostLine(
            "cloudwatch_xray",
            "operations dashboard",
            dashboards * p.CW_DASHBOARD_PER_MONTH,
            f"{dashboards} dashboard(s) x ${p.CW_DASHBOARD_PER_MONTH:.2f} "
            f"(the {p.CW_FREE_DASHBOARDS_PER_ACCOUNT} free per account assumed used by the partner)",
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
            # The sidecar replaces the partner's box (sidecar_cost_lines prices it).
            0.0 if s.sidecar.enabled else h.clickhouse_server_monthly_eur * h.clickhouse_share * h.eur_to_usd,
            "none: the sidecar server replaces the partner's box"
            if s.sidecar.enabled
            else f"EUR {h.clickhouse_server_monthly_eur}/month x {h.clickhouse_share:.0%} at {h.eur_to_usd} USD/EUR",
        ),
    ]


def sidecar_cost_lines(s: StackSettings) -> list[CostLine]:
    """The sidecar ClickHouse server (components/sidecar.py) when enabled: the server by type and its IPv4."""
    sidecar, rate = s.sidecar, s.hetzner.eur_to_usd
    if not sidecar.enabled:
        return []
    server_eur = p.HCLOUD_SERVER_MONTHLY_EUR[sidecar.server_type]
    return [
        CostLine(
            "hetzner_sidecar",
            f"sidecar ClickHouse server {sidecar.server_type}",
            server_eur * rate,
            f"EUR {server_eur}/month ({sidecar.server_type}, Hetzner list entered {p.HCLOUD_PRICES_ENTERED_ON}, "
            f"re-check: components/pricing.py) at {rate} USD/EUR",
        ),
        CostLine(
            "hetzner_sidecar",
            "sidecar primary IPv4",
            p.HCLOUD_PRIMARY_IPV4_MONTHLY_EUR * rate,
            f"EUR {p.HCLOUD_PRIMARY_IPV4_MONTHLY_EUR}/month at {rate} USD/EUR",
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


DAYS_PER_MONTH = p.HOURS_PER_MONTH / 24


def backup_cost_lines(s: StackSettings, *, alarms: int) -> list[CostLine]:
    """What the Backups component stores and drives (`prices-api:backups`): one full backup a day of the
    assumed size, kept `lifecycle.expireAfterDays` (in Standard until `transitionAfterDays`, then the cheaper
    class), its PUTs and lifecycle transitions, the backup job's runs (each run lists the prefix and reads
    at most a few manifests) and its `alarms`."""
    b, life = s.backups, s.backups.lifecycle
    backups_per_month = DAYS_PER_MONTH
    in_standard = min(life.transition_after_days or life.expire_after_days, life.expire_after_days)
    in_cheaper = life.expire_after_days - in_standard
    cheaper = life.transition_storage_class
    storage = b.assumed_backup_size_gb * (
        in_standard * p.S3_STORAGE_PER_GB_MONTH["STANDARD"] + in_cheaper * p.S3_STORAGE_PER_GB_MONTH[cheaper]
    )
    objects = backups_per_month * b.assumed_objects_per_backup
    transitions = objects * p.S3_TRANSITION_REQUEST[cheaper] if in_cheaper else 0.0
    runs = round(p.HOURS_PER_MONTH * 3600 / b.interval_seconds)
    return [
        CostLine(
            "s3",
            "backup storage",
            storage,
            f"{b.assumed_backup_size_gb:g} GB per backup x {in_standard} in STANDARD"
            + (f" + {in_cheaper} in {cheaper}" if in_cheaper else ""),
        ),
        CostLine(
            "s3",
            "backup uploads and transitions",
            objects * p.S3_PUT_LIST_REQUEST + transitions,
            f"{objects:,.0f} objects/month PUT" + (f", then moved to {cheaper}" if in_cheaper else ""),
        ),
        CostLine(
            "lambda",
            "backup job",
            lambda_cost(runs, b.assumed_avg_duration_ms, b.memory_mb)
            + runs * (p.S3_PUT_LIST_REQUEST + 2 * p.S3_GET_REQUEST + p.EVENTBRIDGE_SCHEDULED_EVENT),
            f"{b.schedule}: {runs:,} runs x {b.assumed_avg_duration_ms:g} ms x {b.memory_mb} MB, 1 LIST + ~2 HEAD each",
        ),
        CostLine(
            "cloudwatch_xray",
            "backup alarms",
            alarms * p.CW_ALARM_STANDARD_PER_MONTH,
            f"{alarms} standard alarms (the job's three and backup-stale)",
        ),
    ]


# -- history backfill fan-out (components/backfill.py) -------------------------------------------------------

S3_LIST_PAGE_KEYS = 1_000
KB_PER_GB = 1024 * 1024


@dataclass(frozen=True)
class BackfillEstimate:
    """What one fan-out run over `estimate.fromLedger..toLedger` costs and how long it takes (one-off, not
    monthly): the stack output `backfill_fanout_estimate`."""

    from_ledger: int
    to_ledger: int
    messages: int
    concurrency: int
    seconds_per_ledger: float
    lines: tuple[CostLine, ...]

    @property
    def ledgers(self) -> int:
        return self.to_ledger - self.from_ledger + 1

    @property
    def hours_at_concurrency(self) -> float:
        return self.ledgers * self.seconds_per_ledger / self.concurrency / 3600

    @property
    def usd(self) -> float:
        return sum(line.usd for line in self.lines)

    def output(self) -> dict[str, object]:
        return {
            "ledgers": self.ledgers,
            "from_ledger": self.from_ledger,
            "to_ledger": self.to_ledger,
            "concurrency": self.concurrency,
            "seconds_per_ledger": round(self.seconds_per_ledger, 4),
            "hours_at_concurrency": round(self.hours_at_concurrency, 1),
            "usd": round(self.usd, 2),
            "lines": describe(self.lines),
            "prices_recorded_on": p.PRICES_RECORDED_ON,
        }


def backfill_fanout_estimate(s: StackSettings) -> BackfillEstimate:
    """Lambda GB-s and requests, SQS requests, archive GETs and LISTs, archive transfer and the egress to the
    ClickHouse box for `prices-api:backfill.estimate`'s range at the configured fan-out."""
    f, e = s.backfill.fan_out, s.backfill.estimate
    ledgers = e.ledgers
    messages = -(-ledgers // f.ledgers_per_message)
    per_ledger = s.backfill.seconds_per_ledger
    gb_seconds = ledgers * per_ledger * f.memory_mb / 1024
    # Enqueued 10 per SendMessageBatch; then receive, delete and visibility bookkeeping per message.
    sqs_requests = messages / 10 + messages * p.SQS_REQUESTS_PER_MESSAGE
    lists = messages * -(-f.ledgers_per_message // S3_LIST_PAGE_KEYS)
    archive_gb = ledgers * e.archive_kb_per_ledger / KB_PER_GB
    egress_gb = ledgers * e.egress_kb_per_ledger / KB_PER_GB
    public = f.archive_bucket == PUBLIC_ARCHIVE_BUCKET
    s3_usd = ledgers * p.S3_GET_REQUEST + lists * p.S3_PUT_LIST_REQUEST
    cross_region = f.archive_region != s.aws_region
    transfer_usd = archive_gb * p.S3_INTER_REGION_TRANSFER_PER_GB if cross_region else 0.0
    owner_pays = "billed to the archive's owner (public, not requester-pays): ${:,.2f} not ours"
    lines = (
        CostLine(
            "lambda",
            "backfill fan-out function",
            gb_seconds * p.LAMBDA_GB_SECOND_ARM + messages * p.LAMBDA_REQUEST,
            f"{ledgers:,} ledgers x {per_ledger:.3f} s x {f.memory_mb} MB arm64 = {gb_seconds:,.0f} GB-s, "
            f"{messages:,} invocations",
        ),
        CostLine(
            "sns_sqs",
            "backfill queue requests",
            sqs_requests * p.SQS_REQUEST,
            f"{messages:,} range messages of {f.ledgers_per_message} ledgers, {sqs_requests:,.0f} requests",
        ),
        CostLine(
            "s3",
            "archive GET and LIST requests",
            0.0 if public else s3_usd,
            f"{ledgers:,} GET + {lists:,} LIST; " + (owner_pays.format(s3_usd) if public else "in-account bucket"),
        ),
        CostLine(
            "data_transfer",
            "archive transfer to the function",
            0.0 if public else transfer_usd,
            f"{archive_gb:,.1f} GB from {f.archive_region} to {s.aws_region}; "
            + (owner_pays.format(transfer_usd) if public else "inter-region" if cross_region else "same region: free"),
        ),
        CostLine(
            "data_transfer",
            "writes to the ClickHouse box (internet egress)",
            egress_gb * p.DATA_TRANSFER_OUT_PER_GB,
            f"{egress_gb:,.1f} GB ({e.egress_kb_per_ledger:g} KB per ledger)",
        ),
    )
    return BackfillEstimate(e.from_ledger, e.to_ledger, messages, f.max_concurrency, per_ledger, lines)


def backfill_fanout_cost_lines(s: StackSettings, *, alarms: int) -> list[CostLine]:
    """What the fan-out costs every month while it is enabled, idle or not (runs: `backfill_fanout_estimate`)."""
    if not s.backfill.fan_out.enabled:
        return []
    polls = p.SQS_EVENT_SOURCE_IDLE_POLLERS * p.HOURS_PER_MONTH * 3600 / p.SQS_LONG_POLL_SECONDS
    return [
        CostLine(
            "cloudwatch_xray",
            "backfill fan-out alarms",
            alarms * p.CW_ALARM_STANDARD_PER_MONTH,
            f"{alarms} standard alarms (the function's three and its DLQ)",
        ),
        CostLine(
            "sns_sqs",
            "backfill queue polling while idle",
            polls * p.SQS_REQUEST,
            f"{p.SQS_EVENT_SOURCE_IDLE_POLLERS} pollers x {p.SQS_LONG_POLL_SECONDS} s long polls (assumed)",
        ),
    ]
