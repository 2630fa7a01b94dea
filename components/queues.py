"""An SQS queue with its dead-letter queue, and the alarm on the DLQ: the shape every queue of the stack has.

Both queues keep messages the SQS maximum (14 days) and use SSE-SQS (not SSE-KMS with the AWS-managed key:
SNS can deliver to SSE-SQS without a KMS grant). A message received `max_receive_count` times moves to the DLQ.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from components.function import ops_alarm

RETENTION_SECONDS = 14 * 24 * 3600  # the SQS maximum, on the queue and the DLQ
DLQ_ALARM_PERIOD_SECONDS = 300


def queue_with_dlq(
    name: str,
    *,
    queue_name: str,
    visibility_timeout_seconds: int,
    max_receive_count: int,
    tags: Mapping[str, str],
    opts: pulumi.ResourceOptions,
) -> tuple[aws.sqs.Queue, aws.sqs.Queue]:
    """Resources `<name>-queue` / `<name>-dlq`, physically `<queue_name>` / `<queue_name>-dlq`."""
    dlq = aws.sqs.Queue(
        f"{name}-dlq",
        name=f"{queue_name}-dlq",
        message_retention_seconds=RETENTION_SECONDS,
        sqs_managed_sse_enabled=True,
        tags=dict(tags),
        opts=opts,
    )
    queue = aws.sqs.Queue(
        f"{name}-queue",
        name=queue_name,
        message_retention_seconds=RETENTION_SECONDS,
        visibility_timeout_seconds=visibility_timeout_seconds,
        sqs_managed_sse_enabled=True,
        redrive_policy=pulumi.Output.json_dumps({"deadLetterTargetArn": dlq.arn, "maxReceiveCount": max_receive_count}),
        tags=dict(tags),
        opts=opts,
    )
    return queue, dlq


def dlq_alarm(
    resource_name: str,
    *,
    alarm_name: str,
    description: str,
    dlq: aws.sqs.Queue,
    topic_arn: pulumi.Input[str],
    tags: Mapping[str, str],
    opts: pulumi.ResourceOptions,
) -> aws.cloudwatch.MetricAlarm:
    """Any message in the DLQ alarms: it failed every delivery and waits for a fix and a redrive."""
    return ops_alarm(
        resource_name,
        alarm_name=alarm_name,
        description=description,
        topic_arn=topic_arn,
        tags=tags,
        opts=opts,
        namespace="AWS/SQS",
        metric_name="ApproximateNumberOfMessagesVisible",
        dimensions={"QueueName": dlq.name},
        statistic="Maximum",
        period=DLQ_ALARM_PERIOD_SECONDS,
        evaluation_periods=1,
        comparison_operator="GreaterThanOrEqualToThreshold",
        threshold=1,
        treat_missing_data="notBreaching",
    )
