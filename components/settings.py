"""Typed stack settings: the only place that knows the shape of the stack configuration.

`__main__.py` reads every key once from `pulumi.Config` and hands the raw values to `load_settings`;
components receive these models and never touch `pulumi.Config`. A bad or missing key fails the whole
program with a message that names the stack, the key and what was expected.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from components.function import MAX_PERIOD_SECONDS, AlarmWindowError, check_alarm_window
from components.pricing import HCLOUD_SERVER_MONTHLY_EUR, HOURS_PER_MONTH
from schema.cluster import CLUSTER_NAME_RE

PROJECT = "prices-api"
STACKS = ("dev", "prod")

# Secrets never live in the stack files (they cannot be encrypted without the Pulumi CLI).
SECRET_KEYS = ("caCertPem", "caKeyPem", "sshPrivateKey")

_ARN_SNS = re.compile(r"^arn:aws:sns:[a-z]{2}(-[a-z]+)+-\d:\d{12}:[A-Za-z0-9_-]{1,256}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_LINUX_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_ABS_PATH = re.compile(r"^/[A-Za-z0-9._/-]+$")


class SettingsError(ValueError):
    """A stack configuration problem, phrased for the person who runs `pulumi up`."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)


def _bucket_name(value: str) -> str:
    if not _BUCKET.match(value):
        raise ValueError("an S3 bucket name (3-63 chars, lower-case letters, digits, dots, hyphens)")
    return value


def _email(value: str) -> str:
    if not _looks_like_email(value):
        raise ValueError("an e-mail address")
    return value


BucketName = Annotated[str, AfterValidator(_bucket_name)]
Email = Annotated[str, AfterValidator(_email)]


class PartnerSettings(_Model):
    """What the block-explorer partner owns and we consume."""

    ledger_events_topic_arn: str
    ledger_bucket_name: BucketName
    network_passphrase: str = "Public Global Stellar Network ; September 2015"  # noqa: S105 (not a secret)

    @field_validator("ledger_events_topic_arn")
    @classmethod
    def _topic_arn(cls, value: str) -> str:
        if not _ARN_SNS.match(value):
            raise ValueError("an SNS topic ARN like arn:aws:sns:eu-central-1:123456789012:topic-name")
        return value


class ClusterSettings(_Model):
    """ClickHouse cluster mode (docs/cluster.md): the schema is rendered for a cluster of the partner's servers."""

    # The cluster as named in the servers' remote_servers (rendered into DDL unquoted, hence the strict alphabet).
    name: str
    # on-cluster: every DDL statement ON CLUSTER, Replicated* engines with explicit Keeper paths, refreshable
    # views on every replica. replicated-database: a Replicated database that coordinates the refreshes.
    mode: Literal["on-cluster", "replicated-database"] = "on-cluster"

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not CLUSTER_NAME_RE.match(value):
            raise ValueError("a cluster name from remote_servers: letters, digits and _, not starting with a digit")
        return value


class ClickHouseSettings(_Model):
    """The Hetzner box that runs ClickHouse behind our Caddy site."""

    domain: str
    server_ipv4: str
    hcloud_server_id: int = Field(gt=0)
    ssh_user: str
    ssh_port: int = Field(default=22, ge=1, le=65535)
    # How the admin reaches clickhouse-client on the box (BE runs ClickHouse in Docker Compose).
    client_command: str = "docker exec -i clickhouse clickhouse-client --multiquery"
    # Where ClickHouse users may connect from: Caddy on loopback or on the Docker bridge.
    user_host_cidrs: tuple[str, ...] = ("127.0.0.1/32",)
    # Off (None): one server, the schema as written. On: see ClusterSettings.
    cluster: ClusterSettings | None = None

    @field_validator("domain")
    @classmethod
    def _domain(cls, value: str) -> str:
        if not _HOSTNAME.match(value):
            raise ValueError("a DNS name such as prices-ch.example.com (a hostname, not an IP: SNI)")
        return value

    @field_validator("server_ipv4")
    @classmethod
    def _ipv4(cls, value: str) -> str:
        try:
            ipaddress.IPv4Address(value)
        except ValueError as exc:
            raise ValueError("an IPv4 address such as 203.0.113.10") from exc
        return value

    @field_validator("ssh_user")
    @classmethod
    def _ssh_user(cls, value: str) -> str:
        if not _LINUX_USER.match(value):
            raise ValueError("a Linux user name")
        return value

    @field_validator("user_host_cidrs")
    @classmethod
    def _cidrs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _valid_cidrs(value)


class EdgeSettings(_Model):
    """The Caddy site we render and push to the ClickHouse box."""

    site_config_path: str = "/etc/caddy/sites/prices-api.caddy"
    client_ca_path: str = "/etc/caddy/prices-api/clients-ca.pem"
    upstream: str = "127.0.0.1:8123"
    validate_command: str = "docker exec caddy caddy validate --config /etc/caddy/Caddyfile"
    reload_command: str = "docker exec caddy caddy reload --config /etc/caddy/Caddyfile"
    previous_cert_grace_hours: int = Field(default=72, ge=0, le=24 * 30)

    @field_validator("site_config_path", "client_ca_path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not _ABS_PATH.match(value):
            raise ValueError("an absolute path on the server without spaces or shell characters")
        return value

    @field_validator("upstream")
    @classmethod
    def _upstream(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError("host:port of the ClickHouse HTTP interface, e.g. 127.0.0.1:8123")
        return value


class PkiSettings(_Model):
    # True only for a fresh setup: Pulumi then creates (and protects) the CA instead of importing it.
    bootstrap_ca: bool = False
    # Bump to rotate every client certificate now (emergency or on demand).
    rotation_generation: int = Field(default=1, ge=1)
    validity_hours: int = Field(default=8760, ge=24)
    early_renewal_hours: int = Field(default=720, ge=1)

    @model_validator(mode="after")
    def _renewal_inside_validity(self) -> PkiSettings:
        if self.early_renewal_hours >= self.validity_hours:
            raise ValueError("earlyRenewalHours must be smaller than validityHours")
        return self


class NetworkSettings(_Model):
    admin_cidrs: tuple[str, ...] = Field(min_length=1)

    @field_validator("admin_cidrs")
    @classmethod
    def _cidrs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        cidrs = _valid_cidrs(value)
        for cidr in cidrs:
            if ipaddress.ip_network(cidr).prefixlen == 0:
                raise ValueError(f"{cidr} opens SSH to the whole internet; list the admins' networks")
        return cidrs


class OpsSettings(_Model):
    alarm_email: Email | None = None
    budget_monthly_usd: float = Field(gt=0)
    budget_alert_thresholds_pct: tuple[int, ...] = (50, 80, 100)
    budget_alert_emails: tuple[str, ...] = Field(min_length=1)

    @field_validator("budget_alert_emails")
    @classmethod
    def _emails(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for email in value:
            if not _looks_like_email(email):
                raise ValueError(f"{email!r} is not an e-mail address")
        return value

    @field_validator("budget_alert_thresholds_pct")
    @classmethod
    def _thresholds(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or any(not 0 < pct <= 500 for pct in value):
            raise ValueError("a list of percentages between 1 and 500")
        return tuple(sorted(set(value)))


# Retention periods CloudWatch Logs accepts (PutRetentionPolicy).
# fmt: off
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)
# fmt: on


def _log_retention(value: int) -> int:
    if value not in LOG_RETENTION_DAYS:
        raise ValueError(f"one of the CloudWatch Logs retention periods {', '.join(map(str, LOG_RETENTION_DAYS))}")
    return value


LogRetentionDays = Annotated[int, AfterValidator(_log_retention)]


class IngestSettings(_Model):
    """The live ingest path: partner SNS topic → our SQS queue (+ DLQ) → the ledger-processor Lambda."""

    memory_mb: int = Field(ge=128, le=10240)
    timeout_seconds: int = Field(ge=1)
    reserved_concurrency: int
    batch_size: int = Field(ge=1, le=10000)
    maximum_batching_window_seconds: int = Field(default=0, ge=0, le=300)
    max_receive_count: int = Field(ge=1, le=1000)
    log_retention_days: LogRetentionDays
    alarm_oldest_message_age_seconds: int = Field(ge=60)
    # The age must stay above the threshold this many consecutive minutes before the alarm fires.
    alarm_oldest_message_minutes: int = Field(default=5, ge=1, le=60)
    # No invocation for this long is an outage: ledgers close every ~5-6 s.
    alarm_no_invocations_minutes: int = Field(default=15, ge=1, le=1440)
    alarm_duration_pct_of_timeout: int = Field(default=80, ge=10, le=100)

    @field_validator("timeout_seconds")
    @classmethod
    def _timeout(cls, value: int) -> int:
        if value > 900:
            raise ValueError("at most 900 seconds (the Lambda maximum)")
        return value

    @field_validator("reserved_concurrency")
    @classmethod
    def _concurrency(cls, value: int) -> int:
        if not 2 <= value <= 1000:
            raise ValueError(
                "between 2 and 1000: the SQS event source's maximumConcurrency (set to this value) must be at least 2"
            )
        return value

    @model_validator(mode="after")
    def _batching(self) -> IngestSettings:
        if self.batch_size > 10 and self.maximum_batching_window_seconds < 1:
            raise ValueError("batchSize above 10 needs maximumBatchingWindowSeconds of at least 1 (an SQS rule)")
        return self


class TrafficSettings(_Model):
    """Assumptions the cost model prices; change them to review cost before `pulumi up`."""

    api_requests_per_month: int = Field(ge=0)
    api_lambda_avg_ms: float = Field(default=25, gt=0)  # memory and cache size: `prices-api:api`
    ledgers_per_month: int = Field(default=453_600, ge=0)
    ingest_lambda_avg_ms: float = Field(default=400, gt=0)  # memory: `ingest.memoryMb`
    log_ingest_gb_per_month: float = Field(default=5, ge=0)
    custom_metrics: int = Field(default=20, ge=0)
    xray_traces_per_month: int = Field(default=1_000_000, ge=0)
    secret_api_calls_per_month: int = Field(default=100_000, ge=0)
    s3_get_requests_per_month: int = Field(default=453_600, ge=0)
    s3_transfer_out_gb_per_month: float = Field(default=1.0, ge=0)
    clickhouse_http_egress_gb_per_month: float = Field(default=5.0, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _moved_to_api(cls, data: Any) -> Any:
        # What the stack provisions is priced from the setting that provisions it, not from an assumption.
        if isinstance(data, Mapping):
            for old, new in (("apiCacheSizeGb", "cacheSizeGb"), ("apiLambdaMemoryMb", "memoryMb")):
                if old in data:
                    raise ValueError(f"{old} moved to prices-api:api.{new}")
        return data


# API Gateway stage cache sizes (GB), as the CreateStage API spells them; "0" = no cache cluster.
ApiCacheSizeGb = Literal["0", "0.5", "1.6", "6.1", "13.5", "28.4", "58.2", "118", "237"]
# API Gateway gives up on a REST integration after 29 s; the function must finish (and log) before that.
API_MAX_FUNCTION_TIMEOUT_SECONDS = 28
_PLAN_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$")
_ACM_ARN = re.compile(r"^arn:aws:acm:(?P<region>[a-z]{2}(-[a-z]+)+-\d):\d{12}:certificate/[0-9a-f-]{36}$")


class UsagePlanSettings(_Model):
    """What one API key of a plan may do: a steady rate, a burst, and a monthly quota (absent = none)."""

    rate_limit: float = Field(gt=0, le=10_000)
    burst_limit: int = Field(ge=1, le=5_000)
    quota_per_month: int | None = Field(default=None, ge=1)


class PaidPlanSettings(UsagePlanSettings):
    name: str

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _PLAN_NAME.match(value):
            raise ValueError("a plan name of 2-32 lower-case letters, digits and hyphens, such as basic or pro")
        if value == "free":
            raise ValueError("'free' is the built-in plan; configure it under freePlan")
        return value


class ApiDomainSettings(_Model):
    """A custom domain in front of the stage (REGIONAL endpoint, whole API at the root path)."""

    domain_name: str
    # A public ACM certificate for domain_name, in the stack's own region (a REGIONAL domain needs that).
    certificate_arn: str

    @field_validator("domain_name")
    @classmethod
    def _domain(cls, value: str) -> str:
        if not _HOSTNAME.match(value):
            raise ValueError("a DNS name such as prices-api.example.com")
        return value

    @field_validator("certificate_arn")
    @classmethod
    def _certificate(cls, value: str) -> str:
        if not _ACM_ARN.match(value):
            raise ValueError("an ACM certificate ARN like arn:aws:acm:eu-central-1:123456789012:certificate/<uuid>")
        return value

    @property
    def certificate_region(self) -> str:
        match = _ACM_ARN.match(self.certificate_arn)
        assert match is not None  # checked by the validator
        return match["region"]


class ApiSettings(_Model):
    """The public API: the API Lambda and the API Gateway REST API in front of it (components/api.py).

    Every field has a default, so a stack without `prices-api:api` gets a small, cache-less API."""

    # -- the function
    memory_mb: int = Field(default=512, ge=128, le=10240)
    timeout_seconds: int = Field(default=10, ge=1)
    # Caps what the API can put on the shared ClickHouse box (reference-system.md §13.1); None = unreserved.
    reserved_concurrency: int | None = Field(default=50, ge=1, le=1000)
    log_retention_days: LogRetentionDays = 30
    # -- the stage
    cache_size_gb: ApiCacheSizeGb = "0"
    # Stage-wide, applied to every method (API Gateway throttles each method separately at these values).
    throttle_rate_limit: float = Field(default=100, gt=0, le=10_000)
    throttle_burst_limit: int = Field(default=200, ge=1, le=5_000)
    logging_level: Literal["OFF", "ERROR", "INFO"] = "ERROR"
    # Per-method CloudWatch metrics are billed as custom metrics; the stage-wide ones are free.
    detailed_metrics: bool = False
    access_log_retention_days: LogRetentionDays = 30
    # API Gateway writes execution and access logs through ONE role per account and region: "create" makes
    # it here; "existing" when another stack (the other environment, the partner) already set it.
    account_cloudwatch_role: Literal["create", "existing"] = "create"
    # -- keys and plans
    free_plan: UsagePlanSettings = UsagePlanSettings(rate_limit=1, burst_limit=5, quota_per_month=100_000)
    paid_plans: tuple[PaidPlanSettings, ...] = ()
    # One key on the free plan whose value is only a secret stack output, for post-deploy smoke tests.
    smoke_key: bool = False
    custom_domain: ApiDomainSettings | None = None
    # -- alarms (API Gateway's; the function's three come with MonitoredFunction)
    alarm_server_errors: int = Field(default=5, ge=1)  # 5XX responses in 5 minutes
    alarm_latency_p95_ms: int = Field(default=1000, ge=10, le=29_000)
    alarm_latency_periods: int = Field(default=3, ge=1, le=288)  # consecutive 5-minute periods
    alarm_client_error_rate_pct: float | None = Field(default=None, gt=0, le=100)  # None: no 4XX-rate alarm
    alarm_client_error_min_requests: int = Field(default=100, ge=1)  # below this, the 4XX rate is not judged
    alarm_no_invocations_minutes: int = Field(default=60, ge=1, le=1440)
    alarm_duration_pct_of_timeout: int = Field(default=80, ge=10, le=100)

    @field_validator("timeout_seconds")
    @classmethod
    def _timeout(cls, value: int) -> int:
        if value > API_MAX_FUNCTION_TIMEOUT_SECONDS:
            raise ValueError(
                f"at most {API_MAX_FUNCTION_TIMEOUT_SECONDS} seconds: API Gateway gives up on a REST integration "
                "after 29 s, so a longer function would only run on after its caller got a 504"
            )
        return value

    @field_validator("paid_plans")
    @classmethod
    def _unique_plans(cls, value: tuple[PaidPlanSettings, ...]) -> tuple[PaidPlanSettings, ...]:
        names = [plan.name for plan in value]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"plan name(s) {', '.join(duplicates)} appear more than once")
        return value

    @model_validator(mode="after")
    def _plans_within_stage_throttle(self) -> ApiSettings:
        # The stage throttle applies first, so a plan above it would only promise what it cannot give.
        plans = [("freePlan", self.free_plan)] + [(f"paidPlans[{i}]", p) for i, p in enumerate(self.paid_plans)]
        for where, plan in plans:
            if plan.rate_limit > self.throttle_rate_limit:
                raise ValueError(
                    f"{where}.rateLimit {plan.rate_limit:g} exceeds throttleRateLimit {self.throttle_rate_limit:g}: "
                    "the stage throttle would cap it"
                )
            if plan.burst_limit > self.throttle_burst_limit:
                raise ValueError(
                    f"{where}.burstLimit {plan.burst_limit} exceeds throttleBurstLimit {self.throttle_burst_limit}: "
                    "the stage throttle would cap it"
                )
        return self


# -- scheduled workers (issue 5: components/workers.py, components/alarms.py) --------------------------------

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\(([^()]+)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86_400}
_STEP = re.compile(r"^(\*|\d+)/(\d+)$")
_WEEKDAY = re.compile(r"^([1-7]|SUN|MON|TUE|WED|THU|FRI|SAT)$")
# The probes measure a tier's age as now − the close time of the newest ledger the tier has absorbed (not its
# newest bucket's start; docs/workers.md), so a healthy tier of any granularity is ingest lag plus a few
# one-minute view refreshes old. A threshold at or under this floor would fire on healthy data.
MIN_CANDLE_AGE_THRESHOLD_SECONDS = 300
# reference-system.md §10 (rollup lag, seconds). Measured the probes' way these are loose for coarse tiers;
# the stack files set tighter values (see there and docs/operations.md#candle-age).
DEFAULT_CANDLE_AGE_MAX_SECONDS = {
    "1m": 900,
    "15m": 3600,
    "1h": 10_800,
    "4h": 43_200,
    "1d": 172_800,
    "1w": 864_000,
    "1M": 3_888_000,
}


def schedule_interval_seconds(expression: str) -> int:
    """Seconds between two runs of an EventBridge schedule expression, or ValueError.

    `rate(N unit)` and the regular crons: every N minutes or hours, daily, weekly. An irregular cron (lists,
    ranges, days of the month) has no single cadence to derive the no-invocation alarm from, so it is refused.
    """
    rate = _RATE.match(expression)
    if rate:
        value, unit = int(rate.group(1)), rate.group(2)
        if value < 1:
            raise ValueError(f"{expression!r}: the rate must be at least 1")
        if (value == 1) != (not unit.endswith("s")):
            raise ValueError(f"{expression!r}: EventBridge wants the singular unit for 1 and the plural otherwise")
        return value * _UNIT_SECONDS[unit.removesuffix("s")]
    cron = _CRON.match(expression)
    if not cron:
        raise ValueError(f"{expression!r} is not an EventBridge schedule: use rate(5 minutes) or cron(0 3 * * ? *)")
    fields = cron.group(1).split()
    if len(fields) != 6:
        raise ValueError(f"{expression!r}: an EventBridge cron has 6 fields (minutes hours day month weekday year)")
    interval = _regular_cron_interval(fields)
    if interval is None:
        raise ValueError(
            f"{expression!r}: cannot derive a single cadence for the no-invocation alarm; use rate(...) or a cron "
            "that runs every N minutes, every N hours, daily or weekly"
        )
    return interval


def _step(field: str, cycle: int) -> int:
    """The N of `*/N` or `0/N` when N divides the cycle evenly (a regular cadence), else 0."""
    match = _STEP.match(field)
    if not match:
        return 0
    start, step = match.group(1), int(match.group(2))
    # `50/15` runs once an hour (at :50), not every 15 minutes: the start must fall inside the first step.
    regular = step >= 1 and cycle % step == 0 and (start == "*" or int(start) < step)
    return step if regular else 0


def _regular_cron_interval(fields: list[str]) -> int | None:
    minutes, hours, day, month, weekday, year = fields
    at_minute = minutes.isdigit() and int(minutes) <= 59
    at_hour = hours.isdigit() and int(hours) <= 23
    every_day = month == "*" and year == "*" and "?" in (day, weekday) and day in ("*", "?")
    if weekday not in ("*", "?"):
        regular, interval = at_minute and at_hour and bool(_WEEKDAY.match(weekday.upper())), 7 * 86_400
    elif hours == "*" and _step(minutes, 60):
        regular, interval = True, _step(minutes, 60) * 60
    elif hours == "*":
        regular, interval = at_minute, 3600
    elif _step(hours, 24):
        regular, interval = at_minute, _step(hours, 24) * 3600
    else:
        regular, interval = at_minute and at_hour, 86_400
    return interval if every_day and regular else None


class ScheduledWorkerSettings(_Model):
    """One scheduled Lambda: when it runs, its size, its logs, and how its three standard alarms judge it.

    The no-invocation alarm is derived from the schedule (`missedRunsToAlarm` consecutive runs missing), so a
    new schedule never leaves a stale alarm window behind. Reused by every scheduled function (backups too).
    """

    schedule: str
    memory_mb: int = Field(default=256, ge=128, le=10240)
    timeout_seconds: int = Field(default=120, ge=1, le=900)
    log_retention_days: LogRetentionDays = 30
    errors_alarm_period_seconds: int = 3600
    missed_runs_to_alarm: int = Field(default=3, ge=1, le=100)
    duration_alarm_pct_of_timeout: int = Field(default=80, ge=10, le=100)
    # Lambda's own retries of a failed scheduled run (AWS's default for async invocations is 2). 0: the next
    # scheduled run is the retry; a retry would publish the run's metrics twice and hide a failing run.
    retry_attempts: int = Field(default=0, ge=0, le=2)
    # Cost-model assumption only (components/cost.py): the average run time.
    assumed_avg_duration_ms: float = Field(default=2_000, gt=0)

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        schedule_interval_seconds(value)
        return value

    @model_validator(mode="after")
    def _fits_schedule_and_cloudwatch(self) -> ScheduledWorkerSettings:
        if self.timeout_seconds >= self.interval_seconds:
            raise ValueError(
                f"timeoutSeconds {self.timeout_seconds} must be shorter than the {self.interval_seconds} s between "
                "two runs of the schedule (runs would overlap)"
            )
        checks = (
            ("errorsAlarmPeriodSeconds", self.errors_alarm_period_seconds, 1),
            ("missedRunsToAlarm", self.cadence_period_seconds, self.no_invocations_periods),
        )
        for key, period, periods in checks:
            try:
                check_alarm_window(key, period, periods)
            except AlarmWindowError as exc:
                raise ValueError(str(exc)) from None
        return self

    @property
    def interval_seconds(self) -> int:
        return schedule_interval_seconds(self.schedule)

    @property
    def cadence_period_seconds(self) -> int:
        """The alarm period that follows the schedule: one run per period, capped at CloudWatch's one day."""
        return min(self.interval_seconds, MAX_PERIOD_SECONDS)

    @property
    def no_invocations_periods(self) -> int:
        return self.missed_runs_to_alarm * -(-self.interval_seconds // self.cadence_period_seconds)

    @property
    def invocations_per_month(self) -> float:
        """Runs in the month the cost model prices (`pricing.HOURS_PER_MONTH`)."""
        return HOURS_PER_MONTH * 3600 / self.interval_seconds


class OracleContract(_Model):
    name: str = Field(pattern=r"^[a-z][a-z0-9-]{1,39}$")
    contract_id: str = Field(pattern=r"^C[A-Z2-7]{55}$")


# Reflector's three mainnet SEP-40 oracles (see the stack files for where the ids come from).
REFLECTOR_MAINNET_CONTRACTS = (
    OracleContract(name="reflector-dex", contract_id="CALI2BYU2JE6WVRUFYTS6MSBNEHGJ35P4AVCZYF3B6QOE3QKOB2PLE6M"),
    OracleContract(name="reflector-cex", contract_id="CAFJZQWSED6YAWZU3GWRTOCNPPCGBN32L7QV43XX5LZLFTK6JLN34DLN"),
    OracleContract(name="reflector-fx", contract_id="CBKGPWGKSKZF52CFHMTRR23TBWTPMRDIYZ4O2P5VS65BMHYH4DXMCJZC"),
)


class OracleWorkerSettings(ScheduledWorkerSettings):
    """Reflector prices through Soroban RPC `simulateTransaction` into `oracle_prices` (reference only)."""

    schedule: str = "rate(5 minutes)"
    assumed_avg_duration_ms: float = Field(default=3_000, gt=0)
    soroban_rpc_url: str = "https://mainnet.sorobanrpc.com"
    contracts: tuple[OracleContract, ...] = Field(default=REFLECTOR_MAINNET_CONTRACTS, min_length=1)

    @field_validator("soroban_rpc_url")
    @classmethod
    def _rpc_url(cls, value: str) -> str:
        if not re.match(r"^https://[a-z0-9.-]+(:\d+)?(/[A-Za-z0-9._/-]*)?$", value):
            raise ValueError("an https:// URL of a Soroban RPC server")
        return value

    @field_validator("contracts")
    @classmethod
    def _unique(cls, value: tuple[OracleContract, ...]) -> tuple[OracleContract, ...]:
        for attribute in ("name", "contract_id"):
            seen = [getattr(c, attribute) for c in value]
            if len(set(seen)) != len(seen):
                raise ValueError(f"two contracts share a {to_camel(attribute)}")
        return value


# reference-system.md §2: 1m 7 days, 15m 30 days, coarser tiers kept, oracle observations 13 months.
DEFAULT_RETENTION_DAYS = {"price_ohlcv_1m": 7, "price_ohlcv_15m": 30, "oracle_prices": 396}


class CleanupWorkerSettings(ScheduledWorkerSettings):
    """Retention by `DROP PARTITION` per table; `dryRun` only logs what it would drop."""

    schedule: str = "cron(0 3 * * ? *)"
    errors_alarm_period_seconds: int = 86_400
    assumed_avg_duration_ms: float = Field(default=10_000, gt=0)
    # Table → days kept. Validated by hand so an error names the table rather than a camel-cased dict key.
    retention_days: dict[str, Any] = Field(default_factory=lambda: dict(DEFAULT_RETENTION_DAYS))
    dry_run: bool = False

    @field_validator("retention_days")
    @classmethod
    def _retention_days(cls, value: dict[str, Any]) -> dict[str, Any]:
        if not value:
            raise ValueError("at least one table")
        for table, days in value.items():
            if not re.match(r"^[a-z][A-Za-z0-9_]{0,62}$", table):
                raise ValueError(f"{table!r} is not a table name of the prices database")
            if isinstance(days, bool) or not isinstance(days, int) or days < 1:
                raise ValueError(f"{table}: {days!r} is not a whole number of days >= 1")
        return value


class ProbesWorkerSettings(ScheduledWorkerSettings):
    """Probes: mTLS NotAfter, candle freshness, current-prices age, disk, write latency, backfill progress."""

    schedule: str = "rate(5 minutes)"
    timeout_seconds: int = Field(default=60, ge=1, le=900)


class ProbeAlarmSettings(_Model):
    """Thresholds of the alarms on the probes' metrics (defaults: reference-system.md §10)."""

    # Consecutive probe periods a condition must hold; missing probe data counts as breaching except where noted.
    evaluation_periods: int = Field(default=3, ge=1, le=100)
    min_days_to_not_after: int = Field(default=30, ge=1, le=365)
    candle_age_max_seconds: dict[str, Any] = Field(default_factory=lambda: dict(DEFAULT_CANDLE_AGE_MAX_SECONDS))
    current_prices_max_age_seconds: int = Field(default=900, ge=60)
    min_free_disk_pct: float = Field(default=20, gt=0, lt=100)
    max_write_latency_ms: int = Field(default=2_000, ge=1)
    # Only published while a backfill runs; silence means none runs (missing data is not breaching here).
    max_backfill_push_age_seconds: int = Field(default=7 * 86_400, ge=3600)

    @field_validator("candle_age_max_seconds", mode="before")
    @classmethod
    def _candle_ages(cls, value: Any) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise ValueError("a mapping of granularity to seconds, e.g. {1m: 900, 1M: 3888000}")
        known = DEFAULT_CANDLE_AGE_MAX_SECONDS
        unknown = sorted(set(value) - set(known))
        if unknown:
            raise ValueError(f"unknown granularity {unknown[0]!r}; expected some of {', '.join(known)}")
        merged = {**known, **value}
        for granularity, seconds in merged.items():
            if isinstance(seconds, bool) or not isinstance(seconds, int):
                raise ValueError(f"{granularity}: {seconds!r} is not a whole number of seconds")
            if seconds <= MIN_CANDLE_AGE_THRESHOLD_SECONDS:
                raise ValueError(
                    f"{granularity}: {seconds} s is not above the {MIN_CANDLE_AGE_THRESHOLD_SECONDS} s a healthy tier "
                    "can be old (ingest lag plus a few view refreshes); it would fire on healthy data"
                )
        return merged


class WorkersSettings(_Model):
    """Scheduled workers and probes (issue 5: components/workers.py) and the probes' alarms (components/alarms.py)."""

    oracle: OracleWorkerSettings = OracleWorkerSettings()
    cleanup: CleanupWorkerSettings = CleanupWorkerSettings()
    probes: ProbesWorkerSettings = ProbesWorkerSettings()
    alarms: ProbeAlarmSettings = ProbeAlarmSettings()

    @model_validator(mode="after")
    def _probe_alarm_window(self) -> WorkersSettings:
        try:
            check_alarm_window(
                "alarms.evaluationPeriods", self.probes.cadence_period_seconds, self.alarms.evaluation_periods
            )
        except AlarmWindowError as exc:
            raise ValueError(str(exc)) from None
        return self


_BACKUP_PREFIX = re.compile(r"^[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_-]*)*$")
# Storage classes a restore can read at once (Glacier Flexible/Deep Archive would need a restore request first),
# with the minimum storage duration S3 bills for each (an earlier expiry is charged as if kept that long).
BACKUP_STORAGE_CLASS_MIN_DAYS = {"STANDARD_IA": 30, "GLACIER_IR": 90}


class BackupLifecycleSettings(_Model):
    """How long backups are kept in the bucket, and when they move to a cheaper storage class."""

    # None: backups stay in S3 Standard until they expire.
    transition_after_days: int | None = Field(default=30, ge=1)
    transition_storage_class: Literal["STANDARD_IA", "GLACIER_IR"] = "STANDARD_IA"
    expire_after_days: int = Field(default=90, ge=1)
    # Overwritten or deleted objects (the engine deletes its `.lock` files) stay recoverable this long.
    noncurrent_expire_after_days: int = Field(default=7, ge=1)
    abort_incomplete_multipart_after_days: int = Field(default=2, ge=1)

    @model_validator(mode="after")
    def _transition_fits(self) -> BackupLifecycleSettings:
        days = self.transition_after_days
        if days is None:
            return self
        cls_name, minimum = self.transition_storage_class, BACKUP_STORAGE_CLASS_MIN_DAYS[self.transition_storage_class]
        if cls_name == "STANDARD_IA" and days < 30:
            raise ValueError("transitionAfterDays must be at least 30 for STANDARD_IA (an S3 lifecycle rule)")
        if self.expire_after_days - days < minimum:
            raise ValueError(
                f"expireAfterDays {self.expire_after_days} leaves backups only {self.expire_after_days - days} days "
                f"in {cls_name}, which S3 bills for at least {minimum} days; expire later, transition earlier or "
                "set transitionAfterDays to null"
            )
        return self


class BackupSettings(ScheduledWorkerSettings):
    """ClickHouse backups to S3 (components/backups.py, lambdas/workers/backup.py, docs/backups.md).

    The job runs on `schedule` (at least hourly): it checks the running and newest backups, publishes their
    state, and starts `BACKUP DATABASE prices ... ASYNC` in the `backupHourUtc` hour, or at once when the
    newest good backup is older than `maxBackupAgeHours` or the last attempt failed.
    """

    schedule: str = "rate(1 hour)"
    timeout_seconds: int = Field(default=60, ge=1, le=900)
    assumed_avg_duration_ms: float = Field(default=1_500, gt=0)
    backup_hour_utc: int = Field(default=3, ge=0, le=23)
    max_backup_age_hours: int = Field(default=26, ge=25, le=24 * 30)
    # None: prices-<env>-clickhouse-backups-<account id>.
    bucket_name: BucketName | None = None
    prefix: str = "clickhouse/prices"
    # Bump to give the ClickHouse server a new access key (the old one is deleted after the new one is pushed).
    access_key_generation: int = Field(default=1, ge=1)
    lifecycle: BackupLifecycleSettings = BackupLifecycleSettings()
    # Cost-model assumptions only: the stored size of one full backup and its object count.
    assumed_backup_size_gb: float = Field(default=5, ge=0)
    assumed_objects_per_backup: int = Field(default=2_000, ge=1)

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not _BACKUP_PREFIX.match(value):
            raise ValueError("a key prefix like clickhouse/prices: lower-case segments, no leading or trailing /")
        return value

    @model_validator(mode="after")
    def _runs_every_hour(self) -> BackupSettings:
        if 3600 % self.interval_seconds:
            raise ValueError(
                f"schedule {self.schedule!r} must run at least once in every hour (an interval dividing 60 minutes): "
                "the job starts the daily backup in the backupHourUtc hour"
            )
        return self

    @property
    def backups_retained(self) -> int:
        """Full daily backups in the bucket at any time."""
        return self.lifecycle.expire_after_days


# -- history backfill: Lambda fan-out (issue 6: components/backfill.py, docs/backfill.md#lambda-fan-out) ----

# The public SEP-54 ledger archive (AWS Open Data, populated by Goldsky): developers.stellar.org lists
# s3://aws-public-blockchain/v1.1/stellar/ledgers/ with one ledger per `.xdr.zst` file and 64,000 files per
# partition; the bucket is in us-east-2 (docs/backfill.md#the-public-archive says what is verified).
PUBLIC_ARCHIVE_BUCKET = "aws-public-blockchain"
_S3_PREFIX = re.compile(r"^([A-Za-z0-9._=-]+/)*$")
# Lambda gives a function one full vCPU at 1,769 MB and a proportional share below (docs: "Lambda memory").
LAMBDA_MB_PER_VCPU = 1769
# Round trips to ClickHouse per insert group (candle parts, unresolved swaps, records) and per range message
# (the gap query, and the archive listing: S3 in another region is about as far away).
BACKFILL_INSERTS_PER_GROUP = 3
BACKFILL_ROUND_TRIPS_PER_MESSAGE = 2


class BackfillFanOutSettings(_Model):
    """A backfill queue and a function that ingest ledger ranges in parallel in AWS. Off: nothing is created."""

    enabled: bool = False
    archive_bucket: BucketName = PUBLIC_ARCHIVE_BUCKET
    archive_prefix: str = "v1.1/stellar/ledgers/pubnet/"
    archive_region: str = "us-east-2"
    # One SQS message = one range of this many ledgers (the unit of retry); `fanout --per-message` must fit.
    ledgers_per_message: int = Field(default=500, ge=1, le=64_000)
    # Ledgers written per insert: three inserts per group instead of three per ledger over the ~85 ms path.
    ledgers_per_insert: int = Field(default=50, ge=1, le=1_000)
    memory_mb: int = Field(default=LAMBDA_MB_PER_VCPU, ge=512, le=10240)
    timeout_seconds: int = Field(default=900, ge=60, le=900)
    # The event source's maximumConcurrency and the function's reserved concurrency: the writers the shared
    # ClickHouse box sees at once (reference-system.md §13.1). Raise it only with the box owner's agreement.
    max_concurrency: int = Field(default=10, ge=2, le=1000)
    max_receive_count: int = Field(default=5, ge=1, le=1000)
    log_retention_days: LogRetentionDays = 30
    # While fan-out is enabled, this many hours without an invocation means the queue ran dry (disable it) or
    # the trigger is broken; both deserve a look.
    alarm_no_invocations_hours: int = Field(default=6, ge=1, le=24)
    alarm_duration_pct_of_timeout: int = Field(default=80, ge=10, le=100)

    @field_validator("archive_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not _S3_PREFIX.match(value):
            raise ValueError("a key prefix ending in / (e.g. v1.1/stellar/ledgers/pubnet/), or empty")
        return value

    @field_validator("archive_region")
    @classmethod
    def _region(cls, value: str) -> str:
        if not _REGION.match(value):
            raise ValueError("an AWS region such as us-east-2")
        return value

    @property
    def vcpu_share(self) -> float:
        """The share of a vCPU the single-threaded decoder gets (more memory adds vCPUs it cannot use)."""
        return min(1.0, self.memory_mb / LAMBDA_MB_PER_VCPU)


class BackfillEstimateSettings(_Model):
    """The range the stack output `backfill_fanout_estimate` prices, and the measured rates it assumes."""

    # ~57 M ledgers: the reference system's full history (reference-system.md, issue 6). Set the real range.
    from_ledger: int = Field(default=2, ge=1)
    to_ledger: int = Field(default=57_000_001, le=0xFFFFFFFF)
    # The fan-out function's own work per ledger (reads, decode, rows; its waits on ClickHouse excluded, they
    # are the round trips below) on one core, measured by `make bench-backfill` on the mainnet fixtures
    # (2024-2026 ledgers: early history is smaller and goes faster).
    ledgers_per_second_per_vcpu: float = Field(default=75.0, gt=0)
    # One ClickHouse round trip from AWS to the box: reference-system.md §11 measured a write at ~85 ms.
    write_round_trip_ms: float = Field(default=85.0, ge=0)
    # Compressed archive object (what S3 serves) and request bytes sent to the edge, per ledger, measured on
    # the fixtures by `make bench-backfill`.
    archive_kb_per_ledger: float = Field(default=134.0, ge=0)
    egress_kb_per_ledger: float = Field(default=6.4, ge=0)

    @model_validator(mode="after")
    def _range(self) -> BackfillEstimateSettings:
        if self.to_ledger < self.from_ledger:
            raise ValueError(f"toLedger {self.to_ledger} is below fromLedger {self.from_ledger}")
        return self

    @property
    def ledgers(self) -> int:
        return self.to_ledger - self.from_ledger + 1


class BackfillSettings(_Model):
    fan_out: BackfillFanOutSettings = BackfillFanOutSettings()
    estimate: BackfillEstimateSettings = BackfillEstimateSettings()

    @property
    def seconds_per_ledger(self) -> float:
        """Function time per ledger: its own work at the measured rate on its vCPU share, plus the round trips
        to the box spread over the ledgers that share them (archive reads are prefetched in parallel)."""
        f, e = self.fan_out, self.estimate
        work = 1 / (e.ledgers_per_second_per_vcpu * f.vcpu_share)
        round_trip = e.write_round_trip_ms / 1000
        per_group = BACKFILL_INSERTS_PER_GROUP / f.ledgers_per_insert
        shared = per_group + BACKFILL_ROUND_TRIPS_PER_MESSAGE / f.ledgers_per_message
        return work + round_trip * shared

    @model_validator(mode="after")
    def _a_message_fits_the_timeout(self) -> BackfillSettings:
        # Half the timeout at the estimated pace: room for heavier ledgers before a range has to be redelivered.
        f = self.fan_out
        seconds = f.ledgers_per_message * self.seconds_per_ledger
        if seconds > f.timeout_seconds / 2:
            raise ValueError(
                f"fanOut.ledgersPerMessage {f.ledgers_per_message} takes ~{seconds:.0f} s at the estimate's pace "
                f"on {f.memory_mb} MB, over half of fanOut.timeoutSeconds {f.timeout_seconds}; send smaller ranges"
            )
        if f.ledgers_per_insert > f.ledgers_per_message:
            raise ValueError(
                f"fanOut.ledgersPerInsert {f.ledgers_per_insert} exceeds fanOut.ledgersPerMessage "
                f"{f.ledgers_per_message}"
            )
        return self


class HetznerSettings(_Model):
    clickhouse_server_monthly_eur: float = Field(gt=0)
    # Our share of the partner's box (CPU and disk we use); 1.0 for a dedicated server.
    clickhouse_share: float = Field(gt=0, le=1)
    eur_to_usd: float = Field(default=1.08, gt=0)


_HCLOUD_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
_CLICKHOUSE_SERIES = re.compile(r"^\d{2}\.\d{1,2}$")


class SidecarSettings(_Model):
    """ADR 0007 alternative 3: our own ClickHouse + Caddy on a dedicated Hetzner Cloud server (docs/sidecar.md).

    Off by default. When on, every consumer (the Lambdas' CLICKHOUSE_URL, the schema and the edge pushed over
    SSH) targets the sidecar instead of the partner's box; the client certificates stay the same."""

    enabled: bool = False
    # The edge's DNS name on the sidecar (its A record must point at the server: route53ZoneId does that).
    domain: str | None = None
    server_type: str = "ccx23"
    location: Literal["fsn1", "nbg1", "hel1", "ash", "hil", "sin"] = "fsn1"
    image: str = "ubuntu-24.04"
    # apt pin for clickhouse-server/-client from the official LTS repository: "<major>.<minor>", e.g. 26.3.
    clickhouse_version: str = "26.3"
    # Hetzner delete/rebuild protection: the server holds the only live copy of the data.
    protect: bool = True
    # Existing Hetzner SSH keys (by name) for the admins, next to the deploy key the stack generates.
    admin_ssh_key_names: tuple[str, ...] = ()
    # ACME account e-mail for the edge's Let's Encrypt certificate (expiry notices); optional.
    acme_email: Email | None = None
    # A Route 53 hosted zone holding `domain`: the stack then writes its A record; else point it by hand.
    route53_zone_id: str | None = None

    @field_validator("domain")
    @classmethod
    def _domain(cls, value: str | None) -> str | None:
        if value is not None and not _HOSTNAME.match(value):
            raise ValueError("a DNS name such as ch-sidecar.prices.example.com (a hostname, not an IP: SNI)")
        return value

    @field_validator("server_type")
    @classmethod
    def _server_type(cls, value: str) -> str:
        # Only types the cost model prices: an unpriced server would show as a $0 line.
        if value not in HCLOUD_SERVER_MONTHLY_EUR:
            priced = ", ".join(HCLOUD_SERVER_MONTHLY_EUR)
            raise ValueError(f"a dedicated-vCPU Hetzner Cloud type priced in components/pricing.py: {priced}")
        return value

    @field_validator("image")
    @classmethod
    def _image(cls, value: str) -> str:
        if not _HCLOUD_NAME.match(value) or not value.startswith(("ubuntu-", "debian-")):
            raise ValueError("a Hetzner Debian or Ubuntu image name such as ubuntu-24.04 (the bootstrap uses apt)")
        return value

    @field_validator("clickhouse_version")
    @classmethod
    def _clickhouse_version(cls, value: str) -> str:
        if not _CLICKHOUSE_SERIES.match(value):
            raise ValueError("a ClickHouse release series such as 26.3")
        return value

    @field_validator("admin_ssh_key_names")
    @classmethod
    def _key_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if not _HCLOUD_NAME.match(name):
                raise ValueError(f"{name!r} is not a Hetzner SSH key name")
        return value

    @field_validator("route53_zone_id")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"Z[A-Z0-9]{1,31}", value):
            raise ValueError("a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ")
        return value

    @model_validator(mode="after")
    def _domain_when_enabled(self) -> SidecarSettings:
        if self.enabled and self.domain is None:
            raise ValueError("domain is required when the sidecar is enabled (the edge's DNS name)")
        return self


class StackSettings(_Model):
    env: Literal["dev", "prod"]
    aws_region: str
    partner: PartnerSettings
    clickhouse: ClickHouseSettings
    edge: EdgeSettings = EdgeSettings()
    pki: PkiSettings = PkiSettings()
    network: NetworkSettings
    ops: OpsSettings
    ingest: IngestSettings
    traffic: TrafficSettings
    hetzner: HetznerSettings
    api: ApiSettings = ApiSettings()
    workers: WorkersSettings = WorkersSettings()
    backups: BackupSettings = BackupSettings()
    sidecar: SidecarSettings = SidecarSettings()
    backfill: BackfillSettings = BackfillSettings()
    tags: dict[str, str] = Field(default_factory=dict)

    @field_validator("aws_region")
    @classmethod
    def _region(cls, value: str) -> str:
        if not _REGION.match(value):
            raise ValueError("an AWS region such as eu-central-1")
        return value

    @field_validator("api")
    @classmethod
    def _api_certificate_in_region(cls, value: ApiSettings, info: ValidationInfo) -> ApiSettings:
        region = info.data.get("aws_region")
        domain = value.custom_domain
        if domain is not None and region is not None and domain.certificate_region != region:
            raise ValueError(
                f"customDomain.certificateArn is in {domain.certificate_region}; a REGIONAL custom domain needs "
                f"an ACM certificate in the stack's region {region}"
            )
        return value

    @field_validator("sidecar")
    @classmethod
    def _sidecar_is_one_server(cls, value: SidecarSettings, info: ValidationInfo) -> SidecarSettings:
        clickhouse = info.data.get("clickhouse")
        if value.enabled and clickhouse is not None and clickhouse.cluster is not None:
            raise ValueError(
                "the sidecar is a single ClickHouse server; clickhouse.cluster renders the schema for the partner's "
                "cluster. Enable one of them"
            )
        return value

    @property
    def name_prefix(self) -> str:
        return f"prices-{self.env}"

    @property
    def default_tags(self) -> dict[str, str]:
        return {"project": PROJECT, "environment": self.env, "managed-by": "pulumi", **self.tags}


# Top-level `prices-api:<key>` names the program reads, with the model field each one fills.
CONFIG_KEYS: dict[str, str] = {
    "partner": "partner",
    "clickhouse": "clickhouse",
    "edge": "edge",
    "pki": "pki",
    "network": "network",
    "ops": "ops",
    "ingest": "ingest",
    "traffic": "traffic",
    "hetzner": "hetzner",
    "api": "api",
    "workers": "workers",
    "backups": "backups",
    "sidecar": "sidecar",
    "backfill": "backfill",
    "tags": "tags",
}


def load_settings(stack: str, raw: Mapping[str, Any], aws_region: str | None) -> StackSettings:
    """Validate the raw `prices-api:*` values of `stack` into settings, or raise SettingsError."""
    if stack not in STACKS:
        raise SettingsError(f"stack {stack!r}: unknown stack; expected one of {', '.join(STACKS)}")
    unknown = sorted(set(raw) - set(CONFIG_KEYS) - set(SECRET_KEYS))
    if unknown:
        raise SettingsError(
            f"stack {stack!r}: config key '{PROJECT}:{unknown[0]}' is not read by this program "
            f"(known keys: {', '.join(sorted(CONFIG_KEYS))})"
        )
    data: dict[str, Any] = {"env": stack, "aws_region": aws_region}
    for key, field in CONFIG_KEYS.items():
        if key in raw and raw[key] is not None:
            data[field] = raw[key]
    try:
        return StackSettings.model_validate(data)
    except ValidationError as exc:
        raise SettingsError(_describe(stack, exc)) from None


def read_raw_config(get: Callable[[str], str | None]) -> dict[str, Any]:
    """Collect the program's keys through `get` (e.g. `pulumi.Config(PROJECT).get`), JSON-decoding objects."""
    raw: dict[str, Any] = {}
    for key in CONFIG_KEYS:
        text = get(key)
        if text is None:
            continue
        try:
            raw[key] = json.loads(text)
        except json.JSONDecodeError:
            raw[key] = text
    return raw


def _describe(stack: str, exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        loc = [str(part) for part in error["loc"]]
        if loc and loc[0] == "aws_region":
            key = "aws:region"
        elif loc and loc[0] == "env":
            key = "stack name"
        else:
            key = f"{PROJECT}:" + ".".join(to_camel(p) if not p.isdigit() else f"[{p}]" for p in loc)
            key = key.replace(".[", "[")
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "missing":
            message = "is required but missing"
        elif error["type"] == "extra_forbidden":
            message = "is not a known setting (typo?)"
        got = error.get("input")
        shown = "" if error["type"] in ("missing", "extra_forbidden") or isinstance(got, dict) else f" (got {got!r})"
        problems.append(f"config key '{key}': {message}{shown}")
    return f"stack {stack!r}: " + "; ".join(problems)


def _valid_cidrs(values: tuple[str, ...]) -> tuple[str, ...]:
    for value in values:
        try:
            ipaddress.ip_network(value, strict=True)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a CIDR block such as 198.51.100.0/24") from exc
    return values


def _looks_like_email(value: str) -> bool:
    local, _, domain = value.partition("@")
    return bool(local) and "." in domain and " " not in value


class StackSecrets(BaseModel):
    """Secret config values, kept as Pulumi Outputs so they stay encrypted end to end."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    ca_cert_pem: Any | None
    ca_key_pem: Any | None
    ssh_private_key: Any


def read_secrets(stack: str, settings: StackSettings, get_secret: Callable[[str], Any | None]) -> StackSecrets:
    """Fetch the secret keys through `get_secret` (e.g. `pulumi.Config(PROJECT).get_secret`), checking presence."""
    values = {key: get_secret(key) for key in SECRET_KEYS}
    needed = ["sshPrivateKey"] + ([] if settings.pki.bootstrap_ca else ["caCertPem", "caKeyPem"])
    for key in needed:
        if values[key] is None:
            why = "the shared CA (or set pki.bootstrapCa for a fresh setup)" if key.startswith("ca") else "SSH"
            raise SettingsError(
                f"stack {stack!r}: secret config key '{PROJECT}:{key}' is missing ({why}); "
                f"set it with: pulumi config set --secret {key} -s {stack} < file"
            )
    return StackSecrets(
        ca_cert_pem=values["caCertPem"],
        ca_key_pem=values["caKeyPem"],
        ssh_private_key=values["sshPrivateKey"],
    )
