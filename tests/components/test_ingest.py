import importlib
import json
from pathlib import Path
from typing import Any

import pytest

from components.cost import ingest_cost_lines, workload_lines
from components.packaging import build_lambda_zip
from components.settings import SettingsError, load_settings
from lambdas.common.settings import load_ingest_settings
from offline.mocks import RecordedResource
from offline.runner import REPO_ROOT, PlanResult, ProgramError
from policies.rules import run_all
from tests.components.program import children_of, one, planned, run
from tests.components.test_settings import stack_file_config

QUEUE = "aws:sqs/queue:Queue"
FUNCTION = "aws:lambda/function:Function"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
FOURTEEN_DAYS = 14 * 24 * 3600


def ingest_config(stack: str, **changes: Any) -> dict[str, Any]:
    raw, _ = stack_file_config(stack)
    return {**raw["ingest"], **changes}


def partner(stack: str) -> dict[str, str]:
    raw, _ = stack_file_config(stack)
    return dict(raw["partner"])


def component(result: PlanResult) -> RecordedResource:
    return one(result, "prices:ingest:Ingest", "ingest")


def role_policy(result: PlanResult) -> dict[str, dict[str, Any]]:
    document = json.loads(one(result, "aws:iam/rolePolicy:RolePolicy", "ingest-processor-policy").inputs["policy"])
    assert document["Version"] == "2012-10-17"
    statements = {s["Sid"]: s for s in document["Statement"]}
    assert len(statements) == len(document["Statement"]), "Sids are unique"
    return statements


def alarms(result: PlanResult) -> dict[str, RecordedResource]:
    """The ingest alarms by suffix: the queue's own and the processor function's three standard ones."""
    processor = one(result, "prices:function:MonitoredFunction", "ingest-processor")
    owners = {component(result).urn, processor.urn}
    return {
        a.name.removeprefix("ingest-processor-").removeprefix("ingest-"): a
        for a in result.of_type(ALARM)
        if a.parent in owners
    }


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_ingest_resource_hangs_under_the_component(stack: str) -> None:
    result = planned(stack)
    processor = one(result, "prices:function:MonitoredFunction", "ingest-processor")
    assert processor.parent == component(result).urn
    children = {(r.type, r.name) for r in children_of(result, component(result)) + children_of(result, processor)}
    assert children == {
        ("prices:function:MonitoredFunction", "ingest-processor"),
        (QUEUE, "ingest-queue"),
        (QUEUE, "ingest-dlq"),
        ("aws:sqs/queuePolicy:QueuePolicy", "ingest-queue-policy"),
        ("aws:sns/topicSubscription:TopicSubscription", "ingest-ledger-events"),
        ("aws:cloudwatch/logGroup:LogGroup", "ingest-processor-logs"),
        ("aws:iam/role:Role", "ingest-processor-role"),
        ("aws:iam/rolePolicy:RolePolicy", "ingest-processor-policy"),
        (FUNCTION, "ingest-processor"),
        ("aws:lambda/eventSourceMapping:EventSourceMapping", "ingest-processor-trigger"),
        *((ALARM, f"ingest-{a}") for a in ("lag", "dlq-messages")),
        *((ALARM, f"ingest-processor-{a}") for a in ("errors", "no-invocations", "duration-near-timeout")),
    }
    registered = component(result).registered_outputs or {}
    assert set(registered) == {"queue_url", "queue_arn", "dlq_arn", "function_name", "function_arn", "code_sha256"}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_queue_and_dlq_retention_redrive_and_visibility(stack: str) -> None:
    result = planned(stack)
    queue, dlq = one(result, QUEUE, "ingest-queue"), one(result, QUEUE, "ingest-dlq")
    assert (queue.inputs["name"], dlq.inputs["name"]) == (f"prices-{stack}-ingest", f"prices-{stack}-ingest-dlq")
    assert queue.inputs["messageRetentionSeconds"] == dlq.inputs["messageRetentionSeconds"] == FOURTEEN_DAYS
    assert queue.inputs["sqsManagedSseEnabled"] and dlq.inputs["sqsManagedSseEnabled"]
    assert json.loads(queue.inputs["redrivePolicy"]) == {
        "deadLetterTargetArn": dlq.outputs["arn"],
        "maxReceiveCount": 5,
    }
    timeout = one(result, FUNCTION, "ingest-processor").inputs["timeout"]
    visibility = queue.inputs["visibilityTimeoutSeconds"]
    assert timeout == 60
    assert visibility == 6 * 60 + 1  # 6x the timeout plus the 1 s batching window
    assert visibility >= timeout + 60


def test_visibility_and_duration_alarm_follow_the_configured_timeout() -> None:
    result = run("dev", config_overrides={"ingest": ingest_config("dev", timeoutSeconds=120)})
    assert one(result, QUEUE, "ingest-queue").inputs["visibilityTimeoutSeconds"] == 721
    assert one(result, FUNCTION, "ingest-processor").inputs["timeout"] == 120
    assert alarms(result)["duration-near-timeout"].inputs["threshold"] == 96_000


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_only_the_partner_topic_may_send_and_the_subscription_is_raw(stack: str) -> None:
    result = planned(stack)
    queue = one(result, QUEUE, "ingest-queue")
    queue_policy = one(result, "aws:sqs/queuePolicy:QueuePolicy", "ingest-queue-policy")
    assert queue_policy.inputs["queueUrl"] == queue.outputs["url"]
    assert json.loads(queue_policy.inputs["policy"]) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PartnerLedgerEventsTopicSends",
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue.outputs["arn"],
                "Condition": {"ArnEquals": {"aws:SourceArn": partner(stack)["ledgerEventsTopicArn"]}},
            }
        ],
    }
    subscription = one(result, "aws:sns/topicSubscription:TopicSubscription", "ingest-ledger-events")
    assert subscription.inputs["topic"] == partner(stack)["ledgerEventsTopicArn"]
    assert (subscription.inputs["protocol"], subscription.inputs["endpoint"]) == ("sqs", queue.outputs["arn"])
    assert subscription.inputs["rawMessageDelivery"] is True
    assert "filterPolicy" not in subscription.inputs
    assert queue_policy.urn in subscription.dependencies


@pytest.mark.parametrize(("stack", "concurrency"), [("dev", 2), ("prod", 4)])
def test_function_settings_come_from_config(stack: str, concurrency: int) -> None:
    result = planned(stack)
    fn = one(result, FUNCTION, "ingest-processor")
    role = one(result, "aws:iam/role:Role", "ingest-processor-role")
    assert fn.inputs["name"] == f"prices-{stack}-ledger-processor"
    assert fn.inputs["runtime"] == "python3.12"
    assert fn.inputs["architectures"] == ["arm64"]
    assert fn.inputs["handler"] == "lambdas.ledger_processor.handler.handler"
    assert (fn.inputs["memorySize"], fn.inputs["timeout"]) == (1024, 60)
    assert fn.inputs["reservedConcurrentExecutions"] == concurrency
    assert fn.inputs["tracingConfig"] == {"mode": "Active"}
    assert fn.inputs["role"] == role.outputs["arn"]
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
    mapping = one(result, "aws:lambda/eventSourceMapping:EventSourceMapping", "ingest-processor-trigger")
    assert mapping.inputs["eventSourceArn"] == one(result, QUEUE, "ingest-queue").outputs["arn"]
    assert mapping.inputs["functionName"] == fn.outputs["arn"]
    assert (mapping.inputs["batchSize"], mapping.inputs["maximumBatchingWindowInSeconds"]) == (5, 1)
    assert mapping.inputs["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping.inputs["scalingConfig"] == {"maximumConcurrency": concurrency}
    assert concurrency >= 2


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_log_group_with_retention_exists_before_the_function(stack: str) -> None:
    result = planned(stack)
    fn = one(result, FUNCTION, "ingest-processor")
    logs = one(result, "aws:cloudwatch/logGroup:LogGroup", "ingest-processor-logs")
    assert logs.inputs["name"] == f"/aws/lambda/{fn.inputs['name']}"
    assert logs.inputs["retentionInDays"] == 30
    assert logs.urn in fn.dependencies


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_environment_holds_names_only_never_secret_values(stack: str) -> None:
    result = planned(stack)
    fn = one(result, FUNCTION, "ingest-processor")
    variables = fn.inputs["environment"]["variables"]
    assert variables == {
        "MTLS_SECRET_NAME": f"prices/{stack}/clickhouse-mtls-ingestion",
        "CLICKHOUSE_URL": result.outputs["clickhouse_endpoint"],
        "LEDGER_BUCKET": partner(stack)["ledgerBucketName"],
        "NETWORK_PASSPHRASE": "Public Global Stellar Network ; September 2015",
        "INGEST_QUEUE_URL": one(result, QUEUE, "ingest-queue").outputs["url"],
        "POWERTOOLS_SERVICE_NAME": "ledger-processor",
        "POWERTOOLS_METRICS_NAMESPACE": "Prices/Ingest",
    }
    assert variables["MTLS_SECRET_NAME"] == result.outputs["mtls_secret_names"]["ingestion"]
    secrets = {s for s in result.secret_values() if len(s) >= 8}
    assert secrets, "the plan has secrets to compare against"
    for value in variables.values():
        assert not any(secret in value or value in secret for secret in secrets if len(value) >= 8)
        assert "PRIVATE KEY" not in value
    assert not any(fn.input_is_secret(f"environment.variables.{key}") for key in variables)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_role_policy_is_least_privilege_on_exact_arns(stack: str) -> None:
    result = planned(stack)
    queue_arn = one(result, QUEUE, "ingest-queue").outputs["arn"]
    log_group_arn = one(result, "aws:cloudwatch/logGroup:LogGroup", "ingest-processor-logs").outputs["arn"]
    secret_arn = result.outputs["mtls_secret_arns"]["ingestion"]
    assert secret_arn != result.outputs["mtls_secret_arns"]["api"]
    assert role_policy(result) == {
        "ReadLedgerFiles": {
            "Sid": "ReadLedgerFiles",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{partner(stack)['ledgerBucketName']}/*",
        },
        "ReadOwnMtlsBundle": {
            "Sid": "ReadOwnMtlsBundle",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": secret_arn,
        },
        "ConsumeIngestQueue": {
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
        "ReenqueueMissingLedgers": {
            "Sid": "ReenqueueMissingLedgers",
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
        },
        "WriteOwnLogs": {
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"{log_group_arn}:*",
        },
        "AnyResourceMetrics": {
            "Sid": "AnyResourceMetrics",
            "Effect": "Allow",
            "Action": "cloudwatch:PutMetricData",
            "Resource": "*",
            "Condition": {"StringEquals": {"cloudwatch:namespace": "Prices/Ingest"}},
        },
        "AnyResourceXray": {
            "Sid": "AnyResourceXray",
            "Effect": "Allow",
            "Action": ["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
            "Resource": "*",
        },
    }
    assert log_group_arn.endswith(f":log-group:/aws/lambda/prices-{stack}-ledger-processor")
    # The role carries nothing else: no managed-policy attachments, no inline policies on the role itself.
    role = one(result, "aws:iam/role:Role", "ingest-processor-role")
    assert not role.inputs.get("managedPolicyArns") and not role.inputs.get("inlinePolicies")
    attachments = result.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert not [a for a in attachments if a.inputs.get("role") == role.outputs.get("name")]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_alarms_report_to_the_ops_topic_with_ok_actions(stack: str) -> None:
    result = planned(stack)
    topic = [result.outputs["ops_alarm_topic_arn"]]
    found = alarms(result)
    assert set(found) == {"lag", "dlq-messages", "errors", "no-invocations", "duration-near-timeout"}
    for alarm in found.values():
        assert alarm.inputs["alarmActions"] == topic
        assert alarm.inputs["okActions"] == topic
        assert alarm.inputs["name"].startswith(f"prices-{stack}-ledger-processor-")
    function_name = f"prices-{stack}-ledger-processor"

    lag = found["lag"].inputs
    assert (lag["namespace"], lag["metricName"], lag["statistic"]) == (
        "AWS/SQS",
        "ApproximateAgeOfOldestMessage",
        "Maximum",
    )
    assert lag["dimensions"] == {"QueueName": f"prices-{stack}-ingest"}
    assert (lag["threshold"], lag["comparisonOperator"], lag["period"]) == (300, "GreaterThanThreshold", 60)
    assert lag["evaluationPeriods"] == lag["datapointsToAlarm"] == 5

    dlq = found["dlq-messages"].inputs
    assert (dlq["metricName"], dlq["dimensions"]) == (
        "ApproximateNumberOfMessagesVisible",
        {"QueueName": f"prices-{stack}-ingest-dlq"},
    )
    assert (dlq["threshold"], dlq["comparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")

    errors = found["errors"].inputs
    assert (errors["namespace"], errors["metricName"], errors["statistic"]) == ("AWS/Lambda", "Errors", "Sum")
    assert errors["dimensions"] == {"FunctionName": function_name}
    assert (errors["threshold"], errors["comparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")

    silence = found["no-invocations"].inputs
    queries = {q["id"]: q for q in silence["metricQueries"]}
    assert queries["invocations"]["metric"] == {
        "namespace": "AWS/Lambda",
        "metricName": "Invocations",
        "dimensions": {"FunctionName": function_name},
        "stat": "Sum",
        "period": 900,
    }
    assert queries["invocations"]["returnData"] is False
    assert (queries["filled"]["expression"], queries["filled"]["returnData"]) == ("FILL(invocations, 0)", True)
    assert (silence["threshold"], silence["comparisonOperator"]) == (1, "LessThanThreshold")
    assert silence["treatMissingData"] == "breaching"

    duration = found["duration-near-timeout"].inputs
    assert (duration["metricName"], duration["statistic"]) == ("Duration", "Maximum")
    assert duration["dimensions"] == {"FunctionName": function_name}
    assert (duration["threshold"], duration["comparisonOperator"]) == (48_000, "GreaterThanOrEqualToThreshold")


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_plan_passes_every_policy(stack: str) -> None:
    result = planned(stack)
    raw, _ = stack_file_config(stack)
    assert [str(v) for v in run_all(result, raw["network"]["adminCidrs"])] == []


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_function_ships_the_built_package_and_exports_its_hash(stack: str) -> None:
    result = planned(stack)
    fn = one(result, FUNCTION, "ingest-processor")
    # The same call as __main__ (memoised in-process, or a cache hit on disk): no rebuild, same hash.
    package = build_lambda_zip(
        ["lambdas"], REPO_ROOT / "lambdas" / "requirements-runtime.txt", REPO_ROOT / "build" / "lambda"
    )
    assert fn.inputs["sourceCodeHash"] == package.sha256_b64
    assert fn.inputs["code"].path == str(Path("build/lambda") / package.path.name)  # relative: same on every machine
    assert (fn.inputs["runtime"], fn.inputs["architectures"]) == (package.lambda_runtime, [package.lambda_architecture])
    assert result.outputs["lambda_code_sha256"] == package.sha256_b64
    queue = one(result, QUEUE, "ingest-queue")
    assert result.outputs["ingest_queue_url"] == queue.outputs["url"]
    assert result.outputs["ingest_queue_arn"] == queue.outputs["arn"]
    assert result.outputs["ingest_dlq_arn"] == one(result, QUEUE, "ingest-dlq").outputs["arn"]
    assert result.outputs["ledger_processor_function_name"] == f"prices-{stack}-ledger-processor"
    assert result.outputs["ledger_processor_function_arn"] == fn.outputs["arn"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"reservedConcurrency": 1},
            r"prices-api:ingest.reservedConcurrency': between 2 and 1000: .*maximumConcurrency",
        ),
        ({"timeoutSeconds": 901}, r"prices-api:ingest.timeoutSeconds': at most 900 seconds"),
        ({"logRetentionDays": 10}, r"prices-api:ingest.logRetentionDays': one of the CloudWatch Logs retention"),
        ({"batchSize": 20, "maximumBatchingWindowSeconds": 0}, r"batchSize above 10 needs maximumBatchingWindow"),
        ({"memoryMb": 64}, r"prices-api:ingest.memoryMb'"),
        ({"maxReceiveCount": 0}, r"prices-api:ingest.maxReceiveCount'"),
    ],
)
def test_bad_ingest_settings_fail_with_a_clear_message(change: dict[str, Any], message: str) -> None:
    raw, region = stack_file_config("prod")
    raw["ingest"] = ingest_config("prod", **change)
    with pytest.raises(SettingsError, match=message):
        load_settings("prod", raw, region)


def test_a_bad_ingest_setting_stops_the_program() -> None:
    with pytest.raises(ProgramError, match=r"stack 'dev': config key 'prices-api:ingest.reservedConcurrency'"):
        run("dev", config_overrides={"ingest": ingest_config("dev", reservedConcurrency=1)})
    with pytest.raises(ProgramError, match=r"config key 'prices-api:ingest': is required"):
        run("dev", config_overrides={"ingest": None})


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_ingest_cost_lines_moved_out_of_the_workload_and_into_the_total(stack: str) -> None:
    settings = load_settings(stack, *stack_file_config(stack))
    ingest_items = {line.item for line in ingest_cost_lines(settings)}
    assert ingest_items == {"ledger processor", "ingest queue requests", "ledger file GETs"}
    assert not ingest_items & {line.item for line in workload_lines(settings)}
    result = planned(stack)
    lines = result.outputs["monthly_cost_lines"]
    assert sorted(line["item"] for line in lines if line["item"] in ingest_items) == sorted(ingest_items)
    assert {line["category"] for line in lines if line["item"] in ingest_items} == {"lambda", "sns_sqs", "s3"}


def test_the_processor_cost_follows_its_configured_memory() -> None:
    raw, region = stack_file_config("prod")
    base = {line.item: line.usd for line in ingest_cost_lines(load_settings("prod", raw, region))}
    raw["ingest"] = ingest_config("prod", memoryMb=2048)
    doubled = {line.item: line.usd for line in ingest_cost_lines(load_settings("prod", raw, region))}
    assert doubled["ledger processor"] > base["ledger processor"]
    assert doubled["ingest queue requests"] == base["ingest queue requests"]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_deployed_environment_is_what_the_handler_reads(stack: str) -> None:
    # The component and the handler are written apart; this binds them: the variables the stack deploys
    # must satisfy the handler's own settings loader, and the handler string must name a real callable.
    result = planned(stack)
    fn = one(result, FUNCTION, "ingest-processor")
    settings = load_ingest_settings(fn.inputs["environment"]["variables"])
    assert partner(stack)["ledgerBucketName"] == settings.LEDGER_BUCKET
    assert f"prices/{stack}/clickhouse-mtls-ingestion" == settings.MTLS_SECRET_NAME
    module_name, _, attribute = fn.inputs["handler"].rpartition(".")
    assert callable(getattr(importlib.import_module(module_name), attribute))
