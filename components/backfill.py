"""Backfill fan-out (off by default): a queue of ledger ranges and a function that ingests them in parallel.

`python -m lambdas.backfill fanout` enqueues `{"task", "first", "last"}` messages; the function
(`lambdas.backfill.fanout_handler`) reads each range from the SEP-54 archive bucket, writes it through the mTLS
edge with the ingestion bundle and reports a failed range as a batch item failure, so SQS redelivers it (the
redelivery writes only what is still missing) and parks it in the DLQ after `maxReceiveCount` attempts. The
refreshable views roll what it writes (docs/rollups.md); `status --recompute` publishes its progress.

`maxConcurrency` caps the writers the shared ClickHouse box sees (reference-system.md §13.1) twice: as the
event source's `maximumConcurrency` and as the function's reserved concurrency, so not even a manual invoke
adds one. The role gets exactly: GetObject under the archive prefix, ListBucket on the archive bucket narrowed
to that prefix, the ingestion bundle, and consuming its own queue (plus the MonitoredFunction baseline).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.function import FunctionAlarmSettings, MonitoredFunction, MonitoredFunctionArgs
from components.ingest import MAX_VISIBILITY_TIMEOUT_SECONDS, VISIBILITY_TIMEOUT_FACTOR
from components.packaging import BuiltPackage
from components.queues import dlq_alarm, queue_with_dlq
from components.settings import BackfillFanOutSettings

HANDLER = "lambdas.backfill.fanout_handler.handler"
# The handler's Powertools service and metrics namespace (a test binds them to the handler module).
SERVICE = "backfill-fanout"
NAMESPACE = "Prices/Backfill"
# One range per invocation: a failed range retries alone, and the timeout budget is per range.
BATCH_SIZE = 1
HOUR_SECONDS = 3600


@dataclass(frozen=True)
class BackfillFanOutArgs:
    name_prefix: str
    settings: BackfillFanOutSettings
    network_passphrase: str
    clickhouse_url: pulumi.Input[str]
    code: BuiltPackage
    mtls_secret_name: pulumi.Input[str]
    mtls_secret_arn: pulumi.Input[str]
    alarm_topic_arn: pulumi.Input[str]
    tags: dict[str, str]


def visibility_timeout_seconds(settings: BackfillFanOutSettings) -> int:
    # AWS: at least 6x the function timeout for an SQS event source (no batching window here).
    return min(VISIBILITY_TIMEOUT_FACTOR * settings.timeout_seconds, MAX_VISIBILITY_TIMEOUT_SECONDS)


def fanout_statements(settings: BackfillFanOutSettings, *, secret_arn: str, queue_arn: str) -> list[dict[str, Any]]:
    """The function's own grants, each on the one resource it is for."""
    bucket, prefix = settings.archive_bucket, settings.archive_prefix
    listing: dict[str, Any] = {
        "Sid": "ListArchiveLedgers",
        "Effect": "Allow",
        "Action": "s3:ListBucket",
        "Resource": f"arn:aws:s3:::{bucket}",
    }
    if prefix:
        listing["Condition"] = {"StringLike": {"s3:prefix": f"{prefix}*"}}
    return [
        {
            "Sid": "ReadArchiveLedgers",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/{prefix}*",
        },
        listing,
        {
            "Sid": "ReadOwnMtlsBundle",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": secret_arn,
        },
        {
            "Sid": "ConsumeBackfillQueue",
            "Effect": "Allow",
            "Action": [
                "sqs:ChangeMessageVisibility",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:ReceiveMessage",
            ],
            "Resource": queue_arn,
        },
    ]


def fanout_environment(args: BackfillFanOutArgs) -> dict[str, pulumi.Input[str]]:
    s = args.settings
    return {
        "CLICKHOUSE_URL": args.clickhouse_url,
        "MTLS_SECRET_NAME": args.mtls_secret_name,
        # A URL, not bucket and prefix apart: the same spelling as the CLI's --source.
        "ARCHIVE_URL": f"s3://{s.archive_bucket}/{s.archive_prefix}",
        "ARCHIVE_REGION": s.archive_region,
        "NETWORK_PASSPHRASE": args.network_passphrase,
        "MAX_LEDGERS_PER_MESSAGE": str(s.ledgers_per_message),
        "LEDGERS_PER_INSERT": str(s.ledgers_per_insert),
        "POWERTOOLS_SERVICE_NAME": SERVICE,
        "POWERTOOLS_METRICS_NAMESPACE": NAMESPACE,
    }


class BackfillFanOut(pulumi.ComponentResource):
    queue_url: pulumi.Output[str]
    queue_arn: pulumi.Output[str]
    queue_name: pulumi.Output[str]
    dlq_name: pulumi.Output[str]
    dlq_arn: pulumi.Output[str]
    function_name: pulumi.Output[str]
    alarm_names: tuple[str, ...]

    def __init__(self, name: str, args: BackfillFanOutArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("prices:backfill:BackfillFanOut", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        s = args.settings
        tags = args.tags
        function_name = f"{args.name_prefix}-{SERVICE}"

        queue, dlq = queue_with_dlq(
            name,
            queue_name=f"{args.name_prefix}-backfill",
            visibility_timeout_seconds=visibility_timeout_seconds(s),
            max_receive_count=s.max_receive_count,
            tags=tags,
            opts=child,
        )
        function = MonitoredFunction(
            f"{name}-function",
            MonitoredFunctionArgs(
                function_name=function_name,
                description="Backfill fan-out: ingests ledger ranges from the SEP-54 archive (SQS, one range each)",
                handler=HANDLER,
                code=args.code,
                memory_mb=s.memory_mb,
                timeout_seconds=s.timeout_seconds,
                log_retention_days=s.log_retention_days,
                environment=fanout_environment(args),
                statements=pulumi.Output.all(args.mtls_secret_arn, queue.arn).apply(
                    lambda v: fanout_statements(s, secret_arn=v[0], queue_arn=v[1])
                ),
                metrics_namespace=NAMESPACE,
                alarm_topic_arn=args.alarm_topic_arn,
                alarms=FunctionAlarmSettings(
                    no_invocations_period_seconds=HOUR_SECONDS,
                    no_invocations_periods=s.alarm_no_invocations_hours,
                    duration_pct_of_timeout=s.alarm_duration_pct_of_timeout,
                ),
                tags=tags,
                reserved_concurrency=s.max_concurrency,
            ),
            opts=child,
        )
        aws.lambda_.EventSourceMapping(
            f"{name}-trigger",
            event_source_arn=queue.arn,
            function_name=function.function_arn,
            batch_size=BATCH_SIZE,
            function_response_types=["ReportBatchItemFailures"],
            scaling_config=aws.lambda_.EventSourceMappingScalingConfigArgs(maximum_concurrency=s.max_concurrency),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[function]),
        )
        dlq_alarm(
            f"{name}-dlq-messages",
            alarm_name=f"{function_name}-dlq-messages",
            description=(
                f"Backfill ranges in the DLQ: they failed {s.max_receive_count} times (poison or missing ledgers, "
                f"see /aws/lambda/{function_name}); fix, then redrive. The progress watermark stays below them"
            ),
            dlq=dlq,
            topic_arn=args.alarm_topic_arn,
            tags=tags,
            opts=child,
        )

        self.queue_url = queue.url
        self.queue_arn = queue.arn
        self.queue_name = queue.name
        self.dlq_name = dlq.name
        self.dlq_arn = dlq.arn
        self.function_name = function.function_name
        self.alarm_names = (*function.alarm_names, f"{function_name}-dlq-messages")
        self.register_outputs(
            {
                "queue_url": self.queue_url,
                "queue_arn": self.queue_arn,
                "dlq_arn": self.dlq_arn,
                "function_name": self.function_name,
            }
        )
