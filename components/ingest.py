"""The live ingest path: the partner's ledger-events SNS topic → our SQS queue (+ DLQ) → the ledger processor.

The SQS message is a doorbell (reference-system.md §6): the processor reads its cursor, fetches the next
ledger files from the partner's bucket and writes to ClickHouse through the mTLS edge. A failed record is
reported back (`ReportBatchItemFailures`) and redelivered until `maxReceiveCount`, then parked in the DLQ.
The processor may also re-enqueue a doorbell (`sqs:SendMessage`) when it finds ledgers missing.

The function's role gets exactly what that needs, on exact ARNs; the two grants AWS only supports on
`Resource: "*"` (PutMetricData, narrowed to our namespace, and the X-Ray segment upload) use the documented
`AnyResource…` exception of docs/policies.md. The environment carries names and URLs, never secret values:
the handler fetches its mTLS bundle from Secrets Manager by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.function import FunctionAlarmSettings, MonitoredFunction, MonitoredFunctionArgs, ops_alarm
from components.packaging import BuiltPackage
from components.queues import dlq_alarm, queue_with_dlq
from components.settings import IngestSettings, PartnerSettings

HANDLER = "lambdas.ledger_processor.handler.handler"
METRICS_NAMESPACE = "Prices/Ingest"
SERVICE_NAME = "ledger-processor"
# AWS: for an SQS event source set the visibility timeout to at least 6x the function timeout (plus the
# batching window), so a message is not redelivered while a retried invocation still holds it.
VISIBILITY_TIMEOUT_FACTOR = 6
MIN_VISIBILITY_MARGIN_SECONDS = 60
MAX_VISIBILITY_TIMEOUT_SECONDS = 12 * 3600


@dataclass(frozen=True)
class IngestArgs:
    name_prefix: str
    settings: IngestSettings
    partner: PartnerSettings
    clickhouse_url: str
    code: BuiltPackage
    mtls_secret_name: str
    mtls_secret_arn: pulumi.Input[str]
    alarm_topic_arn: pulumi.Input[str]
    tags: dict[str, str]


def visibility_timeout_seconds(settings: IngestSettings) -> int:
    recommended = VISIBILITY_TIMEOUT_FACTOR * settings.timeout_seconds + settings.maximum_batching_window_seconds
    return min(
        max(recommended, settings.timeout_seconds + MIN_VISIBILITY_MARGIN_SECONDS), MAX_VISIBILITY_TIMEOUT_SECONDS
    )


def queue_policy(queue_arn: str, topic_arn: str) -> dict[str, object]:
    """Only the partner's ledger-events topic may send to the ingest queue."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PartnerLedgerEventsTopicSends",
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
            }
        ],
    }


def processor_statements(*, bucket_name: str, secret_arn: str, queue_arn: str) -> list[dict[str, object]]:
    """The ledger processor's own grants, each on the one resource it is for (its logs, X-Ray and metrics
    are the MonitoredFunction baseline)."""
    return [
        {
            "Sid": "ReadLedgerFiles",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket_name}/*",
        },
        {
            "Sid": "ReadOwnMtlsBundle",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": secret_arn,
        },
        {
            "Sid": "ConsumeIngestQueue",
            "Effect": "Allow",
            "Action": [
                "sqs:ChangeMessageVisibility",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:ReceiveMessage",
            ],
            "Resource": queue_arn,
        },
        {
            # The reconcile path re-enqueues a doorbell when it finds ledgers missing.
            "Sid": "ReenqueueMissingLedgers",
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
        },
    ]


class Ingest(pulumi.ComponentResource):
    queue_url: pulumi.Output[str]
    queue_arn: pulumi.Output[str]
    queue_name: pulumi.Output[str]
    dlq_arn: pulumi.Output[str]
    dlq_name: pulumi.Output[str]
    alarm_names: tuple[str, ...]
    function_name: pulumi.Output[str]
    function_arn: pulumi.Output[str]
    code_sha256: str

    def __init__(self, name: str, args: IngestArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("prices:ingest:Ingest", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        s = args.settings
        tags = args.tags
        function_name = f"{args.name_prefix}-{SERVICE_NAME}"

        # -- queue, DLQ, partner subscription -------------------------------------------------------------
        queue, dlq = queue_with_dlq(
            name,
            queue_name=f"{args.name_prefix}-ingest",
            visibility_timeout_seconds=visibility_timeout_seconds(s),
            max_receive_count=s.max_receive_count,
            tags=tags,
            opts=child,
        )
        allow_topic = aws.sqs.QueuePolicy(
            f"{name}-queue-policy",
            queue_url=queue.url,
            policy=pulumi.Output.json_dumps(
                queue.arn.apply(lambda arn: queue_policy(arn, args.partner.ledger_events_topic_arn))
            ),
            opts=child,
        )
        aws.sns.TopicSubscription(
            f"{name}-ledger-events",
            topic=args.partner.ledger_events_topic_arn,
            protocol="sqs",
            endpoint=queue.arn,
            # The processor reads the S3 event, not an SNS envelope; no filter: every ledger rings.
            raw_message_delivery=True,
            # The queue must accept the topic before the first delivery.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[allow_topic]),
        )

        # -- the function, its role and its three standard alarms -------------------------------------------
        processor = MonitoredFunction(
            f"{name}-processor",
            MonitoredFunctionArgs(
                function_name=function_name,
                description="Decodes new Stellar ledgers and writes trades to ClickHouse (SQS doorbell)",
                handler=HANDLER,
                code=args.code,
                memory_mb=s.memory_mb,
                timeout_seconds=s.timeout_seconds,
                log_retention_days=s.log_retention_days,
                environment={
                    "MTLS_SECRET_NAME": args.mtls_secret_name,
                    "CLICKHOUSE_URL": args.clickhouse_url,
                    "LEDGER_BUCKET": args.partner.ledger_bucket_name,
                    "NETWORK_PASSPHRASE": args.partner.network_passphrase,
                    "INGEST_QUEUE_URL": queue.url,
                    "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
                    "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                },
                statements=pulumi.Output.all(args.mtls_secret_arn, queue.arn).apply(
                    lambda v: processor_statements(
                        bucket_name=args.partner.ledger_bucket_name, secret_arn=v[0], queue_arn=v[1]
                    )
                ),
                metrics_namespace=METRICS_NAMESPACE,
                alarm_topic_arn=args.alarm_topic_arn,
                alarms=FunctionAlarmSettings(
                    no_invocations_period_seconds=s.alarm_no_invocations_minutes * 60,
                    duration_pct_of_timeout=s.alarm_duration_pct_of_timeout,
                ),
                tags=tags,
                reserved_concurrency=s.reserved_concurrency,
            ),
            opts=child,
        )
        aws.lambda_.EventSourceMapping(
            f"{name}-processor-trigger",
            event_source_arn=queue.arn,
            function_name=processor.function_arn,
            batch_size=s.batch_size,
            maximum_batching_window_in_seconds=s.maximum_batching_window_seconds,
            function_response_types=["ReportBatchItemFailures"],
            # Never more pollers than reserved executions: the surplus would only be throttled.
            scaling_config=aws.lambda_.EventSourceMappingScalingConfigArgs(maximum_concurrency=s.reserved_concurrency),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[processor]),
        )

        # -- the queue's own alarms (the function's three are MonitoredFunction's) ------------------------
        queue_alarms: list[str] = []

        def alarm(suffix: str, description: str, **kwargs: Any) -> None:
            queue_alarms.append(f"{function_name}-{suffix}")
            ops_alarm(
                f"{name}-{suffix}",
                alarm_name=f"{function_name}-{suffix}",
                description=description,
                topic_arn=args.alarm_topic_arn,
                tags=tags,
                opts=child,
                **kwargs,
            )

        alarm(
            "lag",
            f"Oldest ingest message older than {s.alarm_oldest_message_age_seconds} s: the processor is behind "
            "or failing (check its errors and logs)",
            namespace="AWS/SQS",
            metric_name="ApproximateAgeOfOldestMessage",
            dimensions={"QueueName": queue.name},
            statistic="Maximum",
            period=60,
            evaluation_periods=s.alarm_oldest_message_minutes,
            datapoints_to_alarm=s.alarm_oldest_message_minutes,
            comparison_operator="GreaterThanThreshold",
            threshold=s.alarm_oldest_message_age_seconds,
            treat_missing_data="notBreaching",
        )
        queue_alarms.append(f"{function_name}-dlq-messages")
        dlq_alarm(
            f"{name}-dlq-messages",
            alarm_name=f"{function_name}-dlq-messages",
            description=f"Messages in the ingest DLQ: ledgers failed {s.max_receive_count} times; inspect, fix, then "
            "redrive (docs/runbooks/poison-ledger-dlq.md)",
            dlq=dlq,
            topic_arn=args.alarm_topic_arn,
            tags=tags,
            opts=child,
        )

        self.queue_url = queue.url
        self.queue_arn = queue.arn
        self.queue_name = queue.name
        self.dlq_arn = dlq.arn
        self.dlq_name = dlq.name
        self.function_name = processor.function_name
        self.function_arn = processor.function_arn
        self.alarm_names = (*processor.alarm_names, *queue_alarms)
        self.code_sha256 = args.code.sha256_b64
        self.register_outputs(
            {
                "queue_url": self.queue_url,
                "queue_arn": self.queue_arn,
                "dlq_arn": self.dlq_arn,
                "function_name": self.function_name,
                "function_arn": self.function_arn,
                "code_sha256": self.code_sha256,
            }
        )
