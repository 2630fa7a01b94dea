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

from components.packaging import BuiltPackage
from components.settings import IngestSettings, PartnerSettings

HANDLER = "lambdas.ledger_processor.handler.handler"
METRICS_NAMESPACE = "Prices/Ingest"
SERVICE_NAME = "ledger-processor"
RETENTION_SECONDS = 14 * 24 * 3600  # the SQS maximum, on the queue and the DLQ
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


def processor_policy(
    *, bucket_name: str, secret_arn: str, queue_arn: str, log_group_arn: str, metrics_namespace: str
) -> dict[str, object]:
    """The ledger processor's permissions: each grant on the one resource it is for."""
    return {
        "Version": "2012-10-17",
        "Statement": [
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
            {
                # The log group exists before the function, so Lambda needs no logs:CreateLogGroup.
                "Sid": "WriteOwnLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": f"{log_group_arn}:*",
            },
            {
                # PutMetricData has no resource-level permissions; the namespace condition narrows it.
                "Sid": "AnyResourceMetrics",
                "Effect": "Allow",
                "Action": "cloudwatch:PutMetricData",
                "Resource": "*",
                "Condition": {"StringEquals": {"cloudwatch:namespace": metrics_namespace}},
            },
            {
                # X-Ray segment upload has no resource-level permissions (docs/policies.md rule b).
                "Sid": "AnyResourceXray",
                "Effect": "Allow",
                "Action": ["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
                "Resource": "*",
            },
        ],
    }


LAMBDA_TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


class Ingest(pulumi.ComponentResource):
    queue_url: pulumi.Output[str]
    queue_arn: pulumi.Output[str]
    dlq_arn: pulumi.Output[str]
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
        dlq = aws.sqs.Queue(
            f"{name}-dlq",
            name=f"{args.name_prefix}-ingest-dlq",
            message_retention_seconds=RETENTION_SECONDS,
            sqs_managed_sse_enabled=True,
            tags=tags,
            opts=child,
        )
        queue = aws.sqs.Queue(
            f"{name}-queue",
            name=f"{args.name_prefix}-ingest",
            message_retention_seconds=RETENTION_SECONDS,
            visibility_timeout_seconds=visibility_timeout_seconds(s),
            # SSE-SQS, not SSE-KMS with the AWS-managed key: SNS can deliver to it without a KMS grant.
            sqs_managed_sse_enabled=True,
            redrive_policy=pulumi.Output.json_dumps(
                {"deadLetterTargetArn": dlq.arn, "maxReceiveCount": s.max_receive_count}
            ),
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

        # -- the function ---------------------------------------------------------------------------------
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-processor-logs",
            name=f"/aws/lambda/{function_name}",
            retention_in_days=s.log_retention_days,
            tags=tags,
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-processor-role",
            name=f"{function_name}-role",
            assume_role_policy=pulumi.Output.json_dumps(LAMBDA_TRUST_POLICY),
            tags=tags,
            opts=child,
        )
        role_policy = aws.iam.RolePolicy(
            f"{name}-processor-policy",
            name=f"{function_name}-access",
            role=role.id,
            policy=pulumi.Output.json_dumps(
                pulumi.Output.all(args.mtls_secret_arn, queue.arn, log_group.arn).apply(
                    lambda v: processor_policy(
                        bucket_name=args.partner.ledger_bucket_name,
                        secret_arn=v[0],
                        queue_arn=v[1],
                        log_group_arn=v[2],
                        metrics_namespace=METRICS_NAMESPACE,
                    )
                )
            ),
            opts=child,
        )
        function = aws.lambda_.Function(
            f"{name}-processor",
            name=function_name,
            description="Decodes new Stellar ledgers and writes trades to ClickHouse (SQS doorbell)",
            runtime=args.code.lambda_runtime,
            architectures=[args.code.lambda_architecture],
            handler=HANDLER,
            code=pulumi.FileArchive(str(args.code.path)),
            source_code_hash=args.code.sha256_b64,
            role=role.arn,
            memory_size=s.memory_mb,
            timeout=s.timeout_seconds,
            reserved_concurrent_executions=s.reserved_concurrency,
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
            environment=aws.lambda_.FunctionEnvironmentArgs(
                variables={
                    "MTLS_SECRET_NAME": args.mtls_secret_name,
                    "CLICKHOUSE_URL": args.clickhouse_url,
                    "LEDGER_BUCKET": args.partner.ledger_bucket_name,
                    "NETWORK_PASSPHRASE": args.partner.network_passphrase,
                    "INGEST_QUEUE_URL": queue.url,
                    "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
                    "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                }
            ),
            tags=tags,
            # The log group first (else Lambda creates one without retention); the policy before the
            # first invocation can need it.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_group, role_policy]),
        )
        aws.lambda_.EventSourceMapping(
            f"{name}-processor-trigger",
            event_source_arn=queue.arn,
            function_name=function.arn,
            batch_size=s.batch_size,
            maximum_batching_window_in_seconds=s.maximum_batching_window_seconds,
            function_response_types=["ReportBatchItemFailures"],
            # Never more pollers than reserved executions: the surplus would only be throttled.
            scaling_config=aws.lambda_.EventSourceMappingScalingConfigArgs(maximum_concurrency=s.reserved_concurrency),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy]),
        )

        # -- alarms ---------------------------------------------------------------------------------------
        actions = [args.alarm_topic_arn]

        def alarm(suffix: str, description: str, **kwargs: Any) -> None:
            aws.cloudwatch.MetricAlarm(
                f"{name}-{suffix}",
                name=f"{function_name}-{suffix}",
                alarm_description=description,
                alarm_actions=actions,
                ok_actions=actions,
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
        alarm(
            "dlq-messages",
            f"Messages in the ingest DLQ: ledgers failed {s.max_receive_count} times; inspect, fix, then redrive",
            namespace="AWS/SQS",
            metric_name="ApproximateNumberOfMessagesVisible",
            dimensions={"QueueName": dlq.name},
            statistic="Maximum",
            period=300,
            evaluation_periods=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
            threshold=1,
            treat_missing_data="notBreaching",
        )
        alarm(
            "errors",
            "The ledger processor failed an invocation",
            namespace="AWS/Lambda",
            metric_name="Errors",
            dimensions={"FunctionName": function_name},
            statistic="Sum",
            period=300,
            evaluation_periods=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
            threshold=1,
            treat_missing_data="notBreaching",
        )
        # FILL(…, 0) because a dead function emits no datapoint at all, and `breaching` alone did not fire
        # in the reference system (reference-system.md §13.8); keep both.
        alarm(
            "no-invocations",
            f"No ledger-processor invocation for {s.alarm_no_invocations_minutes} min: the subscription, the "
            "queue trigger or the partner's ledger feed is down",
            metric_queries=[
                aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    id="invocations",
                    metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                        namespace="AWS/Lambda",
                        metric_name="Invocations",
                        dimensions={"FunctionName": function_name},
                        stat="Sum",
                        period=s.alarm_no_invocations_minutes * 60,
                    ),
                    return_data=False,
                ),
                aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    id="filled",
                    expression="FILL(invocations, 0)",
                    label="Invocations (0 when missing)",
                    return_data=True,
                ),
            ],
            evaluation_periods=1,
            comparison_operator="LessThanThreshold",
            threshold=1,
            treat_missing_data="breaching",
        )
        alarm(
            "duration-near-timeout",
            f"Ledger processor ran >= {s.alarm_duration_pct_of_timeout} % of its {s.timeout_seconds} s timeout",
            namespace="AWS/Lambda",
            metric_name="Duration",
            dimensions={"FunctionName": function_name},
            statistic="Maximum",
            period=300,
            evaluation_periods=2,
            datapoints_to_alarm=2,
            comparison_operator="GreaterThanOrEqualToThreshold",
            threshold=s.timeout_seconds * 1000 * s.alarm_duration_pct_of_timeout / 100,
            treat_missing_data="notBreaching",
        )

        self.queue_url = queue.url
        self.queue_arn = queue.arn
        self.dlq_arn = dlq.arn
        self.function_name = function.name
        self.function_arn = function.arn
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
