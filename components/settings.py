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
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

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


class PartnerSettings(_Model):
    """What the block-explorer partner owns and we consume."""

    ledger_events_topic_arn: str
    ledger_bucket_name: str
    network_passphrase: str = "Public Global Stellar Network ; September 2015"  # noqa: S105 (not a secret)

    @field_validator("ledger_events_topic_arn")
    @classmethod
    def _topic_arn(cls, value: str) -> str:
        if not _ARN_SNS.match(value):
            raise ValueError("an SNS topic ARN like arn:aws:sns:eu-central-1:123456789012:topic-name")
        return value

    @field_validator("ledger_bucket_name")
    @classmethod
    def _bucket(cls, value: str) -> str:
        if not _BUCKET.match(value):
            raise ValueError("an S3 bucket name (3-63 chars, lower-case letters, digits, dots, hyphens)")
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
    alarm_email: str | None = None
    budget_monthly_usd: float = Field(gt=0)
    budget_alert_thresholds_pct: tuple[int, ...] = (50, 80, 100)
    budget_alert_emails: tuple[str, ...] = Field(min_length=1)

    @field_validator("alarm_email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not _looks_like_email(value):
            raise ValueError("an e-mail address")
        return value

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


class IngestSettings(_Model):
    """The live ingest path: partner SNS topic → our SQS queue (+ DLQ) → the ledger-processor Lambda."""

    memory_mb: int = Field(ge=128, le=10240)
    timeout_seconds: int = Field(ge=1)
    reserved_concurrency: int
    batch_size: int = Field(ge=1, le=10000)
    maximum_batching_window_seconds: int = Field(default=0, ge=0, le=300)
    max_receive_count: int = Field(ge=1, le=1000)
    log_retention_days: int
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

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(f"one of the CloudWatch Logs retention periods {', '.join(map(str, LOG_RETENTION_DAYS))}")
        return value

    @model_validator(mode="after")
    def _batching(self) -> IngestSettings:
        if self.batch_size > 10 and self.maximum_batching_window_seconds < 1:
            raise ValueError("batchSize above 10 needs maximumBatchingWindowSeconds of at least 1 (an SQS rule)")
        return self


class TrafficSettings(_Model):
    """Assumptions the cost model prices; change them to review cost before `pulumi up`."""

    api_requests_per_month: int = Field(ge=0)
    api_cache_size_gb: Literal["0", "0.5", "1.6", "6.1", "13.5", "28.4", "58.2", "118", "237"] = "0.5"
    api_lambda_avg_ms: float = Field(default=25, gt=0)
    api_lambda_memory_mb: int = Field(default=512, ge=128, le=10240)
    ledgers_per_month: int = Field(default=453_600, ge=0)
    ingest_lambda_avg_ms: float = Field(default=400, gt=0)  # memory: `ingest.memoryMb`
    worker_invocations_per_month: int = Field(default=50_000, ge=0)
    worker_lambda_avg_ms: float = Field(default=2_000, gt=0)
    worker_lambda_memory_mb: int = Field(default=256, ge=128, le=10240)
    log_ingest_gb_per_month: float = Field(default=5, ge=0)
    custom_metrics: int = Field(default=20, ge=0)
    alarms: int = Field(default=20, ge=0)
    xray_traces_per_month: int = Field(default=1_000_000, ge=0)
    secret_api_calls_per_month: int = Field(default=100_000, ge=0)
    s3_get_requests_per_month: int = Field(default=453_600, ge=0)
    s3_transfer_out_gb_per_month: float = Field(default=1.0, ge=0)
    clickhouse_http_egress_gb_per_month: float = Field(default=5.0, ge=0)


class ApiSettings(_Model):
    """The public API: the API Lambda and the API Gateway REST API in front of it (issue 4: components/api.py)."""

    # Fields are added by the API component; every one has a default so older stack files stay valid.


class WorkersSettings(_Model):
    """Scheduled workers and probes (issue 5: components/workers.py)."""


class BackupSettings(_Model):
    """ClickHouse backups to S3 (issue 5: components/backups.py)."""


class HetznerSettings(_Model):
    clickhouse_server_monthly_eur: float = Field(gt=0)
    # Our share of the partner's box (CPU and disk we use); 1.0 for a dedicated server.
    clickhouse_share: float = Field(gt=0, le=1)
    eur_to_usd: float = Field(default=1.08, gt=0)


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
    tags: dict[str, str] = Field(default_factory=dict)

    @field_validator("aws_region")
    @classmethod
    def _region(cls, value: str) -> str:
        if not _REGION.match(value):
            raise ValueError("an AWS region such as eu-central-1")
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
