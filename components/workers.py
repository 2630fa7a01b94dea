"""Scheduled workers: the oracle, the retention cleanup and the probes, each a Lambda on an EventBridge schedule.

`ScheduledFunction` is the reusable piece (the backup worker uses it too): a `MonitoredFunction` whose three
standard alarms follow its schedule, an EventBridge rule with the schedule from config, the rule's target and
the permission that lets exactly that rule invoke the function. The no-invocation alarm watches
`missedRunsToAlarm` consecutive runs (period = the schedule's interval, capped at CloudWatch's one day), so a
worker that stops running — the reference system's enrichment worker failed 72 of 72 runs a day for 4 days
unnoticed (reference-system.md §13.8) — is reported within that many runs.

Each worker gets its own role: `secretsmanager:GetSecretValue` on exactly the mTLS bundles it reads (oracle and
cleanup write with the ingestion bundle; the probes also read the api bundle for its NotAfter) plus the
MonitoredFunction baseline (its logs, X-Ray, metrics in its own namespace). The environment carries names,
URLs and JSON settings only; each handler validates it with its own `SETTINGS_MODEL`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.alarms import catalog_dimensions
from components.function import FunctionAlarmSettings, MonitoredFunction, MonitoredFunctionArgs, silence_alarm
from components.packaging import BuiltPackage
from components.settings import ScheduledWorkerSettings, WorkersSettings
from lambdas.common import metric_catalog as mc
from pki.profile import Role

ORACLE_HANDLER = "lambdas.workers.oracle.handler"
CLEANUP_HANDLER = "lambdas.workers.cleanup.handler"
PROBES_HANDLER = "lambdas.workers.probes.handler"

# The namespace and Powertools service of each worker: the ones its metrics are catalogued under.
ORACLE_SERVICE, ORACLE_NAMESPACE = mc.ORACLE_PRICES_WRITTEN.service, mc.ORACLE
CLEANUP_SERVICE, CLEANUP_NAMESPACE = mc.PARTITIONS_DROPPED.service, mc.CLEANUP
PROBES_SERVICE, PROBES_NAMESPACE = mc.CANDLE_AGE_SECONDS.service, mc.PROBES


def function_alarm_settings(settings: ScheduledWorkerSettings) -> FunctionAlarmSettings:
    """The three standard alarms of a scheduled function, judged per run of its schedule."""
    return FunctionAlarmSettings(
        no_invocations_period_seconds=settings.cadence_period_seconds,
        no_invocations_periods=settings.no_invocations_periods,
        errors_period_seconds=settings.errors_alarm_period_seconds,
        duration_pct_of_timeout=settings.duration_alarm_pct_of_timeout,
        # Two consecutive runs near the timeout (a 2-of-2 window of one run each).
        duration_period_seconds=settings.cadence_period_seconds,
    )


@dataclass(frozen=True)
class ScheduledFunctionArgs:
    function_name: str
    description: str
    handler: str
    code: BuiltPackage
    settings: ScheduledWorkerSettings
    # Names, URLs and JSON settings only: never a secret value (policies.rules checks every function).
    environment: Mapping[str, pulumi.Input[str]]
    # IAM statements beyond the MonitoredFunction baseline, each on the exact resource it is for.
    statements: pulumi.Input[Sequence[Mapping[str, Any]]]
    metrics_namespace: str
    alarm_topic_arn: pulumi.Input[str]
    tags: Mapping[str, str]


class ScheduledFunction(pulumi.ComponentResource):
    """A MonitoredFunction on an EventBridge schedule: rule → target → function, invocable by that rule only,
    retried by Lambda only as configured (`retryAttempts`, default 0: the next run is the retry)."""

    function_name: pulumi.Output[str]
    function_arn: pulumi.Output[str]
    rule_arn: pulumi.Output[str]
    alarm_names: tuple[str, ...]

    def __init__(self, name: str, args: ScheduledFunctionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("prices:workers:ScheduledFunction", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        s = args.settings
        tags = dict(args.tags)

        function = MonitoredFunction(
            name,
            MonitoredFunctionArgs(
                function_name=args.function_name,
                description=args.description,
                handler=args.handler,
                code=args.code,
                memory_mb=s.memory_mb,
                timeout_seconds=s.timeout_seconds,
                log_retention_days=s.log_retention_days,
                environment=args.environment,
                statements=args.statements,
                metrics_namespace=args.metrics_namespace,
                alarm_topic_arn=args.alarm_topic_arn,
                alarms=function_alarm_settings(s),
                tags=tags,
            ),
            opts=child,
        )
        rule = aws.cloudwatch.EventRule(
            f"{name}-schedule",
            name=f"{args.function_name}-schedule",
            description=f"Runs {args.function_name} on {s.schedule}",
            schedule_expression=s.schedule,
            state="ENABLED",
            tags=tags,
            opts=child,
        )
        permission = aws.lambda_.Permission(
            f"{name}-invoke",
            statement_id="AllowScheduleInvoke",
            action="lambda:InvokeFunction",
            function=function.function_name,
            principal="events.amazonaws.com",
            # Only this rule may invoke the function, not any rule of the account.
            source_arn=rule.arn,
            opts=child,
        )
        aws.lambda_.FunctionEventInvokeConfig(
            f"{name}-retries",
            function_name=function.function_name,
            maximum_retry_attempts=s.retry_attempts,
            opts=child,
        )
        aws.cloudwatch.EventTarget(
            f"{name}-target",
            rule=rule.name,
            target_id="function",
            arn=function.function_arn,
            # The permission first, or the rule's first firings are refused.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[permission]),
        )

        self.function_name = function.function_name
        self.function_arn = function.function_arn
        self.rule_arn = rule.arn
        self.alarm_names = function.alarm_names
        self.register_outputs(
            {"function_name": self.function_name, "function_arn": self.function_arn, "rule_arn": self.rule_arn}
        )


@dataclass(frozen=True)
class WorkersArgs:
    name_prefix: str
    settings: WorkersSettings
    network_passphrase: str
    clickhouse_url: str
    code: BuiltPackage
    mtls_secret_names: Mapping[Role, str]
    mtls_secret_arns: Mapping[Role, pulumi.Input[str]]
    alarm_topic_arn: pulumi.Input[str]
    tags: dict[str, str]


def read_secrets_statement(sid: str, secret_arns: Sequence[str]) -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": secret_arns[0] if len(secret_arns) == 1 else list(secret_arns),
    }


def compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def oracle_environment(settings: WorkersSettings, network_passphrase: str) -> dict[str, str]:
    oracle = settings.oracle
    return {
        "SOROBAN_RPC_URL": oracle.soroban_rpc_url,
        "NETWORK_PASSPHRASE": network_passphrase,
        "ORACLE_CONTRACTS": json.dumps(
            [{"name": c.name, "contract_id": c.contract_id} for c in oracle.contracts], separators=(",", ":")
        ),
    }


def cleanup_environment(settings: WorkersSettings) -> dict[str, str]:
    cleanup = settings.cleanup
    return {"RETENTION_DAYS": compact_json(cleanup.retention_days), "DRY_RUN": "true" if cleanup.dry_run else "false"}


class Workers(pulumi.ComponentResource):
    function_names: dict[str, pulumi.Output[str]]
    function_arns: dict[str, pulumi.Output[str]]
    alarm_names: tuple[str, ...]

    def __init__(self, name: str, args: WorkersArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("prices:workers:Workers", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        s = args.settings
        prefix = args.name_prefix
        ingestion_arn = args.mtls_secret_arns["ingestion"]

        def base_environment(service: str, namespace: str) -> dict[str, pulumi.Input[str]]:
            return {
                "CLICKHOUSE_URL": args.clickhouse_url,
                # oracle, cleanup and probes all write, so they use the ingestion identity.
                "MTLS_SECRET_NAME": args.mtls_secret_names["ingestion"],
                "POWERTOOLS_SERVICE_NAME": service,
                "POWERTOOLS_METRICS_NAMESPACE": namespace,
            }

        def worker(
            short: str,
            *,
            description: str,
            handler: str,
            settings: ScheduledWorkerSettings,
            service: str,
            namespace: str,
            environment: Mapping[str, pulumi.Input[str]],
            statements: pulumi.Input[Sequence[Mapping[str, Any]]],
        ) -> ScheduledFunction:
            return ScheduledFunction(
                f"{name}-{short}",
                ScheduledFunctionArgs(
                    function_name=f"{prefix}-{short}",
                    description=description,
                    handler=handler,
                    code=args.code,
                    settings=settings,
                    environment={**base_environment(service, namespace), **environment},
                    statements=statements,
                    metrics_namespace=namespace,
                    alarm_topic_arn=args.alarm_topic_arn,
                    tags=args.tags,
                ),
                opts=child,
            )

        own_bundle = pulumi.Output.from_input(ingestion_arn).apply(
            lambda arn: [read_secrets_statement("ReadIngestionMtlsBundle", [arn])]
        )
        oracle = worker(
            "oracle",
            description="Reflector (SEP-40) prices through Soroban RPC into oracle_prices (reference only)",
            handler=ORACLE_HANDLER,
            settings=s.oracle,
            service=ORACLE_SERVICE,
            namespace=ORACLE_NAMESPACE,
            environment=oracle_environment(s, args.network_passphrase),
            statements=own_bundle,
        )
        cleanup = worker(
            "cleanup",
            description="Retention: drops whole expired partitions per table (never a row DELETE)",
            handler=CLEANUP_HANDLER,
            settings=s.cleanup,
            service=CLEANUP_SERVICE,
            namespace=CLEANUP_NAMESPACE,
            environment=cleanup_environment(s),
            statements=own_bundle,
        )
        bundle_roles: tuple[Role, ...] = ("ingestion", "api")
        probes = worker(
            "probes",
            description="Probes: mTLS NotAfter, candle freshness, current-prices age, disk, write latency, backfill",
            handler=PROBES_HANDLER,
            settings=s.probes,
            service=PROBES_SERVICE,
            namespace=PROBES_NAMESPACE,
            environment={"MTLS_SECRET_NAMES": compact_json({r: args.mtls_secret_names[r] for r in bundle_roles})},
            statements=pulumi.Output.all(*(args.mtls_secret_arns[r] for r in bundle_roles)).apply(
                lambda arns: [read_secrets_statement("ReadMtlsBundlesForNotAfter", list(arns))]
            ),
        )

        # A worker that runs but does nothing is as dead as one that does not run (reference-system.md §13.8):
        # the oracle must write prices, not just return. FILL because silence is exactly the failure.
        oracle_cadence = s.oracle.cadence_period_seconds
        no_prices = f"{prefix}-oracle-no-prices"
        silence_alarm(
            f"{name}-oracle-no-prices",
            alarm_name=no_prices,
            description=(
                f"{prefix}-oracle wrote no oracle price in {s.oracle.missed_runs_to_alarm} runs: Soroban RPC down, "
                "contracts changed, or every asset failing (see OracleAssetFailures). "
                "What to do: docs/operations.md#oracle-no-prices"
            ),
            metric_id="written",
            metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                namespace=mc.ORACLE_PRICES_WRITTEN.namespace,
                metric_name=mc.ORACLE_PRICES_WRITTEN.name,
                dimensions=catalog_dimensions(mc.ORACLE_PRICES_WRITTEN),
                stat="Sum",
                period=oracle_cadence,
            ),
            label="Oracle prices written",
            periods=s.oracle.no_invocations_periods,
            topic_arn=args.alarm_topic_arn,
            tags=args.tags,
            opts=child,
        )

        functions = {"oracle": oracle, "cleanup": cleanup, "probes": probes}
        self.function_names = {k: f.function_name for k, f in functions.items()}
        self.function_arns = {k: f.function_arn for k, f in functions.items()}
        self.alarm_names = (*(a for f in functions.values() for a in f.alarm_names), no_prices)
        self.register_outputs({"function_names": self.function_names, "function_arns": self.function_arns})
