"""A Lambda function that cannot be deployed without the three alarms every function needs.

Every function of the stack (ledger processor, API, workers) is a `MonitoredFunction`: its log group
(created first, with retention), its own role whose policy is exactly the statements the caller passes plus
its own logs, X-Ray and metrics in its namespace, the function, and three alarms to the ops topic with OK
actions (reference-system.md §13.8 — a worker failed every run for 4 days without an alert):

* ``<fn>-errors``: any error in a period;
* ``<fn>-duration-near-timeout``: the slowest run reached a share of the timeout, 2 periods of 2;
* ``<fn>-no-invocations``: ``FILL(invocations, 0) < 1`` over the function's cadence — a dead function emits no
  datapoint, and ``treat_missing_data=breaching`` alone did not fire in the reference system.

Alarm windows are checked here, at preview time, against the limits PutMetricAlarm only enforces at deploy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.packaging import BuiltPackage

ALARM_SUFFIXES = ("errors", "duration-near-timeout", "no-invocations")
MAX_PERIOD_SECONDS = 86_400
SHORT_PERIOD_MAX_WINDOW_SECONDS = 86_400  # periods under an hour
LONG_PERIOD_MAX_WINDOW_SECONDS = 7 * 86_400

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


class AlarmWindowError(ValueError):
    """An alarm period/evaluation window that CloudWatch would refuse at deploy time."""


def check_alarm_window(what: str, period_seconds: int, evaluation_periods: int) -> None:
    """Raise if CloudWatch's PutMetricAlarm would refuse this window (it only says so at deploy)."""
    if period_seconds < 60 or period_seconds % 60 or period_seconds > MAX_PERIOD_SECONDS:
        raise AlarmWindowError(f"{what}: period {period_seconds} s must be a multiple of 60 between 60 and 86400")
    window = period_seconds * evaluation_periods
    limit = SHORT_PERIOD_MAX_WINDOW_SECONDS if period_seconds < 3600 else LONG_PERIOD_MAX_WINDOW_SECONDS
    if evaluation_periods < 1 or window > limit:
        raise AlarmWindowError(
            f"{what}: {evaluation_periods} x {period_seconds} s = {window} s exceeds CloudWatch's {limit} s limit"
        )


def ops_alarm(
    resource_name: str,
    *,
    alarm_name: str,
    description: str,
    topic_arn: pulumi.Input[str],
    tags: Mapping[str, str],
    opts: pulumi.ResourceOptions,
    **metric: Any,
) -> aws.cloudwatch.MetricAlarm:
    """Every alarm of the stack: to the ops topic, and back to it with an OK when the condition clears."""
    return aws.cloudwatch.MetricAlarm(
        resource_name,
        name=alarm_name,
        alarm_description=description,
        alarm_actions=[topic_arn],
        ok_actions=[topic_arn],
        tags=dict(tags),
        opts=opts,
        **metric,
    )


def silence_alarm(
    resource_name: str,
    *,
    alarm_name: str,
    description: str,
    metric_id: str,
    metric: aws.cloudwatch.MetricAlarmMetricQueryMetricArgs,
    label: str,
    periods: int,
    topic_arn: pulumi.Input[str],
    tags: Mapping[str, str],
    opts: pulumi.ResourceOptions,
) -> aws.cloudwatch.MetricAlarm:
    """An alarm for something that must keep happening: `FILL(metric, 0) < 1` for `periods` periods in a row.

    A dead publisher emits no datapoint at all, and `treat_missing_data=breaching` alone did not fire in the
    reference system (reference-system.md §13.8); the FILL makes silence a 0, and both are kept.
    """
    return ops_alarm(
        resource_name,
        alarm_name=alarm_name,
        description=description,
        topic_arn=topic_arn,
        tags=tags,
        opts=opts,
        metric_queries=[
            aws.cloudwatch.MetricAlarmMetricQueryArgs(id=metric_id, metric=metric, return_data=False),
            aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id="filled", expression=f"FILL({metric_id}, 0)", label=label, return_data=True
            ),
        ],
        evaluation_periods=periods,
        datapoints_to_alarm=periods,
        comparison_operator="LessThanThreshold",
        threshold=1,
        treat_missing_data="breaching",
    )


@dataclass(frozen=True)
class FunctionAlarmSettings:
    """How the three standard alarms judge one function."""

    # The cadence: no invocation in `no_invocations_periods` consecutive windows of this length is an outage.
    no_invocations_period_seconds: int
    no_invocations_periods: int = 1
    errors_period_seconds: int = 300
    duration_pct_of_timeout: int = 80
    duration_period_seconds: int = 300

    def validate(self, function_name: str) -> None:
        check_alarm_window(f"{function_name}-errors", self.errors_period_seconds, 1)
        check_alarm_window(f"{function_name}-duration-near-timeout", self.duration_period_seconds, 2)
        check_alarm_window(
            f"{function_name}-no-invocations", self.no_invocations_period_seconds, self.no_invocations_periods
        )
        if not 10 <= self.duration_pct_of_timeout <= 100:
            raise AlarmWindowError(f"{function_name}: duration_pct_of_timeout must be between 10 and 100")


@dataclass(frozen=True)
class MonitoredFunctionArgs:
    function_name: str
    description: str
    handler: str
    code: BuiltPackage
    memory_mb: int
    timeout_seconds: int
    log_retention_days: int
    # Names and URLs only: never a secret value (policies.rules checks every function's environment).
    environment: Mapping[str, pulumi.Input[str]]
    # IAM statements beyond the function's own logs, X-Ray and metrics; each on the exact resource it is for.
    statements: pulumi.Input[Sequence[Mapping[str, Any]]]
    metrics_namespace: str
    alarm_topic_arn: pulumi.Input[str]
    alarms: FunctionAlarmSettings
    tags: Mapping[str, str]
    reserved_concurrency: int | None = None
    extra_depends_on: Sequence[pulumi.Resource] = field(default_factory=tuple)


def baseline_statements(log_group_arn: str, metrics_namespace: str) -> list[dict[str, Any]]:
    """What every function may do: write its own logs, its traces, and metrics in its own namespace."""
    return [
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
    ]


def function_policy(statements: Sequence[Mapping[str, Any]], log_group_arn: str, namespace: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [dict(s) for s in statements] + baseline_statements(log_group_arn, namespace),
    }


class MonitoredFunction(pulumi.ComponentResource):
    function_name: pulumi.Output[str]
    function_arn: pulumi.Output[str]
    invoke_arn: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    alarm_names: tuple[str, ...]

    def __init__(self, name: str, args: MonitoredFunctionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("prices:function:MonitoredFunction", name, None, opts)
        args.alarms.validate(args.function_name)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        fn = args.function_name

        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/lambda/{fn}",
            retention_in_days=args.log_retention_days,
            tags=tags,
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-role",
            name=f"{fn}-role",
            assume_role_policy=pulumi.Output.json_dumps(LAMBDA_TRUST_POLICY),
            tags=tags,
            opts=child,
        )
        role_policy = aws.iam.RolePolicy(
            f"{name}-policy",
            name=f"{fn}-access",
            role=role.id,
            policy=pulumi.Output.json_dumps(
                pulumi.Output.all(log_group.arn, args.statements).apply(
                    lambda v: function_policy(v[1], v[0], args.metrics_namespace)
                )
            ),
            opts=child,
        )
        function = aws.lambda_.Function(
            name,
            name=fn,
            description=args.description,
            runtime=args.code.lambda_runtime,
            architectures=[args.code.lambda_architecture],
            handler=args.handler,
            code=pulumi.FileArchive(str(args.code.path)),
            source_code_hash=args.code.sha256_b64,
            role=role.arn,
            memory_size=args.memory_mb,
            timeout=args.timeout_seconds,
            reserved_concurrent_executions=args.reserved_concurrency,
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=dict(args.environment)),
            tags=tags,
            # The log group first (else Lambda creates one without retention); the policy before the first
            # invocation can need it.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_group, role_policy, *args.extra_depends_on]),
        )

        a = args.alarms

        def alarm(suffix: str, description: str, **kwargs: Any) -> None:
            ops_alarm(
                f"{name}-{suffix}",
                alarm_name=f"{fn}-{suffix}",
                description=description,
                topic_arn=args.alarm_topic_arn,
                tags=tags,
                opts=child,
                **kwargs,
            )

        alarm(
            "errors",
            f"{fn} failed an invocation (see its log group /aws/lambda/{fn})",
            namespace="AWS/Lambda",
            metric_name="Errors",
            dimensions={"FunctionName": fn},
            statistic="Sum",
            period=a.errors_period_seconds,
            evaluation_periods=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
            threshold=1,
            treat_missing_data="notBreaching",
        )
        alarm(
            "duration-near-timeout",
            f"{fn} ran >= {a.duration_pct_of_timeout} % of its {args.timeout_seconds} s timeout twice in a row",
            namespace="AWS/Lambda",
            metric_name="Duration",
            dimensions={"FunctionName": fn},
            statistic="Maximum",
            period=a.duration_period_seconds,
            evaluation_periods=2,
            datapoints_to_alarm=2,
            comparison_operator="GreaterThanOrEqualToThreshold",
            threshold=args.timeout_seconds * 1000 * a.duration_pct_of_timeout / 100,
            treat_missing_data="notBreaching",
        )
        silence_alarm(
            f"{name}-no-invocations",
            alarm_name=f"{fn}-no-invocations",
            description=f"No {fn} invocation in {a.no_invocations_periods} x {a.no_invocations_period_seconds} s: "
            "its trigger (schedule, queue or API) or the function itself is down",
            metric_id="invocations",
            metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                namespace="AWS/Lambda",
                metric_name="Invocations",
                dimensions={"FunctionName": fn},
                stat="Sum",
                period=a.no_invocations_period_seconds,
            ),
            label="Invocations (0 when missing)",
            periods=a.no_invocations_periods,
            topic_arn=args.alarm_topic_arn,
            tags=tags,
            opts=child,
        )

        self.function_name = function.name
        self.function_arn = function.arn
        self.invoke_arn = function.invoke_arn
        self.role_arn = role.arn
        self.alarm_names = tuple(f"{fn}-{suffix}" for suffix in ALARM_SUFFIXES)
        self.register_outputs(
            {"function_name": self.function_name, "function_arn": self.function_arn, "role_arn": self.role_arn}
        )
