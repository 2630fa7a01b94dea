"""The backfill fan-out as the real program plans it: absent by default; when enabled its queue, DLQ, function,
trigger, exact role, environment bound to the handler, alarms and the one-off cost estimate."""

import ast
import importlib
import io
import json
import subprocess
import sys
from functools import cache
from typing import Any

import pytest

from components.cost import backfill_fanout_cost_lines, backfill_fanout_estimate
from components.function import baseline_statements
from components.settings import LAMBDA_MB_PER_VCPU, SettingsError, StackSettings, load_settings
from lambdas.backfill import fanout_handler
from lambdas.common.settings import load_env_settings
from offline import plan
from offline.runner import REPO_ROOT, PlanResult, ProgramError
from policies.rules import run_all
from tests.components.program import children_of, one, planned, run
from tests.components.test_settings import stack_file_config

QUEUE = "aws:sqs/queue:Queue"
FUNCTION = "aws:lambda/function:Function"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
COMPONENT = "prices:backfill:BackfillFanOut"
# A configuration that differs from every default, so each value seen in the plan is known to come from config.
CUSTOM = {
    "enabled": True,
    "archiveBucket": "partner-ledger-archive",
    "archivePrefix": "ledgers/pubnet/",
    "archiveRegion": "eu-central-1",
    "ledgersPerMessage": 200,
    "ledgersPerInsert": 20,
    "memoryMb": 1024,
    "timeoutSeconds": 600,
    "maxConcurrency": 3,
    "maxReceiveCount": 4,
    "logRetentionDays": 14,
    "alarmNoInvocationsHours": 12,
}


def backfill_config(stack: str, **fan_out: Any) -> dict[str, Any]:
    raw, _ = stack_file_config(stack)
    stanza = json.loads(json.dumps(raw["backfill"]))
    stanza["fanOut"] = {**stanza["fanOut"], **fan_out}
    return dict(stanza)


def settings_with(stack: str, **fan_out: Any) -> StackSettings:
    raw, region = stack_file_config(stack)
    return load_settings(stack, {**raw, "backfill": backfill_config(stack, **fan_out)}, region)


@cache
def enabled(stack: str, custom: bool = False) -> PlanResult:
    fan_out = CUSTOM if custom else {"enabled": True}
    return run(stack, config_overrides={"backfill": backfill_config(stack, **fan_out)})


def statements(result: PlanResult) -> dict[str, dict[str, Any]]:
    document = json.loads(one(result, "aws:iam/rolePolicy:RolePolicy", "backfill-function-policy").inputs["policy"])
    found = {s["Sid"]: s for s in document["Statement"]}
    assert len(found) == len(document["Statement"]), "Sids are unique"
    return found


def environment(result: PlanResult) -> dict[str, str]:
    return dict(one(result, FUNCTION, "backfill-function").inputs["environment"]["variables"])


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_disabled_by_default_nothing_is_created_or_exported(stack: str) -> None:
    result = planned(stack)
    assert not load_settings(stack, *stack_file_config(stack)).backfill.fan_out.enabled
    assert [r.name for r in result.resources if r.type == COMPONENT or r.name.startswith("backfill")] == []
    assert not any(fn.inputs["name"].endswith("-backfill-fanout") for fn in result.of_type(FUNCTION))
    assert [name for name in result.outputs if name.startswith("backfill")] == []
    assert not any("backfill" in line["item"] for line in result.outputs["monthly_cost_lines"])


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_enabled_every_resource_hangs_under_the_component(stack: str) -> None:
    result = enabled(stack)
    component = one(result, COMPONENT, "backfill")
    function = one(result, "prices:function:MonitoredFunction", "backfill-function")
    assert function.parent == component.urn
    children = {(r.type, r.name) for r in children_of(result, component) + children_of(result, function)}
    assert children == {
        ("prices:function:MonitoredFunction", "backfill-function"),
        (QUEUE, "backfill-queue"),
        (QUEUE, "backfill-dlq"),
        (MAPPING, "backfill-trigger"),
        (ALARM, "backfill-dlq-messages"),
        ("aws:cloudwatch/logGroup:LogGroup", "backfill-function-logs"),
        ("aws:iam/role:Role", "backfill-function-role"),
        ("aws:iam/rolePolicy:RolePolicy", "backfill-function-policy"),
        (FUNCTION, "backfill-function"),
        *((ALARM, f"backfill-function-{a}") for a in ("errors", "duration-near-timeout", "no-invocations")),
    }
    assert set(component.registered_outputs or {}) == {"queue_url", "queue_arn", "dlq_arn", "function_name"}
    queue = one(result, QUEUE, "backfill-queue")
    assert result.outputs["backfill_queue_url"] == queue.outputs["url"]
    assert result.outputs["backfill_function_name"] == f"prices-{stack}-backfill-fanout"
    assert result.outputs["backfill_ledgers_per_message"] == 500


@pytest.mark.parametrize("custom", [False, True])
def test_queue_dlq_function_and_trigger_come_from_config(custom: bool) -> None:
    result = enabled("dev", custom)
    fan_out = settings_with("dev", **(CUSTOM if custom else {"enabled": True})).backfill.fan_out
    queue, dlq = one(result, QUEUE, "backfill-queue"), one(result, QUEUE, "backfill-dlq")
    assert (queue.inputs["name"], dlq.inputs["name"]) == ("prices-dev-backfill", "prices-dev-backfill-dlq")
    assert queue.inputs["sqsManagedSseEnabled"] and dlq.inputs["sqsManagedSseEnabled"]
    assert queue.inputs["messageRetentionSeconds"] == dlq.inputs["messageRetentionSeconds"] == 14 * 86_400
    assert json.loads(queue.inputs["redrivePolicy"]) == {
        "deadLetterTargetArn": dlq.outputs["arn"],
        "maxReceiveCount": fan_out.max_receive_count,
    }
    assert queue.inputs["visibilityTimeoutSeconds"] == 6 * fan_out.timeout_seconds
    fn = one(result, FUNCTION, "backfill-function")
    assert fn.inputs["handler"] == "lambdas.backfill.fanout_handler.handler"
    assert (fn.inputs["memorySize"], fn.inputs["timeout"]) == (fan_out.memory_mb, fan_out.timeout_seconds)
    # The box sees at most maxConcurrency writers: the pollers' cap and a hard cap on the function itself.
    assert fn.inputs["reservedConcurrentExecutions"] == fan_out.max_concurrency
    mapping = one(result, MAPPING, "backfill-trigger")
    assert mapping.inputs["eventSourceArn"] == queue.outputs["arn"]
    assert mapping.inputs["functionName"] == fn.outputs["arn"]
    assert mapping.inputs["batchSize"] == 1
    assert mapping.inputs["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping.inputs["scalingConfig"] == {"maximumConcurrency": fan_out.max_concurrency}
    logs = one(result, "aws:cloudwatch/logGroup:LogGroup", "backfill-function-logs")
    assert logs.inputs["retentionInDays"] == fan_out.log_retention_days
    if custom:
        assert (fn.inputs["memorySize"], fan_out.max_concurrency, fan_out.max_receive_count) == (1024, 3, 4)


@pytest.mark.parametrize("custom", [False, True])
def test_role_is_exactly_archive_reads_the_ingestion_bundle_and_its_queue(custom: bool) -> None:
    result = enabled("dev", custom)
    bucket, prefix = (
        ("partner-ledger-archive", "ledgers/pubnet/")
        if custom
        else (
            "aws-public-blockchain",
            "v1.1/stellar/ledgers/pubnet/",
        )
    )
    queue_arn = one(result, QUEUE, "backfill-queue").outputs["arn"]
    log_group_arn = one(result, "aws:cloudwatch/logGroup:LogGroup", "backfill-function-logs").outputs["arn"]
    secret_arn = result.outputs["mtls_secret_arns"]["ingestion"]
    assert statements(result) == {
        "ReadArchiveLedgers": {
            "Sid": "ReadArchiveLedgers",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/{prefix}*",
        },
        "ListArchiveLedgers": {
            "Sid": "ListArchiveLedgers",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": f"arn:aws:s3:::{bucket}",
            "Condition": {"StringLike": {"s3:prefix": f"{prefix}*"}},
        },
        "ReadOwnMtlsBundle": {
            "Sid": "ReadOwnMtlsBundle",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": secret_arn,
        },
        "ConsumeBackfillQueue": {
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
        # MonitoredFunction's baseline (pinned literally by test_ingest), not repeated here.
        **{st["Sid"]: st for st in baseline_statements(log_group_arn, "Prices/Backfill")},
    }
    assert secret_arn != result.outputs["mtls_secret_arns"]["api"]
    assert run_all(result, ["198.51.100.0/28"]) == []


@pytest.mark.parametrize("custom", [False, True])
def test_deployed_environment_is_what_the_handler_reads(custom: bool) -> None:
    # Component and handler are written apart; this binds them: the handler's SETTINGS_MODEL must accept exactly
    # what the stack deploys, and what it reads must be what the stack configured.
    result = enabled("dev", custom)
    fn = one(result, FUNCTION, "backfill-function")
    module_name, _, attribute = fn.inputs["handler"].rpartition(".")
    module = importlib.import_module(module_name)
    assert callable(getattr(module, attribute))
    variables = environment(result)
    deployed = load_env_settings(module.SETTINGS_MODEL, variables, "backfill-fanout")
    fan_out = settings_with("dev", **(CUSTOM if custom else {"enabled": True})).backfill.fan_out
    assert (deployed.archive_bucket, deployed.archive_prefix, deployed.ARCHIVE_REGION) == (
        fan_out.archive_bucket,
        fan_out.archive_prefix,
        fan_out.archive_region,
    )
    assert (
        fan_out.ledgers_per_message,
        fan_out.ledgers_per_insert,
    ) == (deployed.MAX_LEDGERS_PER_MESSAGE, deployed.LEDGERS_PER_INSERT)
    assert (
        deployed.MTLS_SECRET_NAME
        == result.outputs["mtls_secret_names"]["ingestion"]
        == "prices/dev/clickhouse-mtls-ingestion"
    )
    assert result.outputs["clickhouse_endpoint"] == deployed.CLICKHOUSE_URL
    assert deployed.NETWORK_PASSPHRASE == "Public Global Stellar Network ; September 2015"
    assert (variables["POWERTOOLS_SERVICE_NAME"], variables["POWERTOOLS_METRICS_NAMESPACE"]) == (
        fanout_handler.SERVICE,
        fanout_handler.NAMESPACE,
    )
    secrets = {s for s in result.secret_values() if len(s) >= 8}
    assert secrets
    for key, value in variables.items():
        assert not fn.input_is_secret(f"environment.variables.{key}")
        assert "PRIVATE KEY" not in value and not any(secret in value for secret in secrets)


def test_the_handler_imports_nothing_outside_the_zipped_lambdas_package() -> None:
    # The zip holds only `lambdas` (+ pinned deps). The CLI's `run.py` imports schema.rollups, so the handler
    # must not import it (nor anything else outside `lambdas`): that would only fail at the cold start.
    probe = (
        "import sys, importlib; importlib.import_module('lambdas.backfill.fanout_handler'); print(sorted(sys.modules))"
    )
    loaded = set(
        ast.literal_eval(
            subprocess.run(
                [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True
            ).stdout
        )
    )
    repo_packages = {p.name for p in REPO_ROOT.iterdir() if (p / "__init__.py").exists()} - {"lambdas"}
    assert "schema" in repo_packages
    assert not repo_packages & {name.split(".")[0] for name in loaded}
    assert "lambdas.backfill.fanout_handler" in loaded and "lambdas.backfill.run" not in loaded


def test_alarms_report_to_ops_and_the_silence_window_follows_config() -> None:
    result = enabled("dev", custom=True)
    topic = [result.outputs["ops_alarm_topic_arn"]]
    dlq_alarm = one(result, ALARM, "backfill-dlq-messages").inputs
    assert dlq_alarm["dimensions"] == {"QueueName": one(result, QUEUE, "backfill-dlq").outputs["name"]}
    assert (dlq_alarm["metricName"], dlq_alarm["threshold"]) == ("ApproximateNumberOfMessagesVisible", 1)
    silence = one(result, ALARM, "backfill-function-no-invocations").inputs
    (invocations,) = [q for q in silence["metricQueries"] if q.get("metric")]
    assert (invocations["metric"]["period"], silence["evaluationPeriods"]) == (3600, 12)
    duration = one(result, ALARM, "backfill-function-duration-near-timeout").inputs
    assert duration["threshold"] == 600 * 1000 * 0.8
    for name in ("dlq-messages", "function-errors", "function-no-invocations", "function-duration-near-timeout"):
        inputs = one(result, ALARM, f"backfill-{name}").inputs
        assert inputs["alarmActions"] == inputs["okActions"] == topic


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_estimate_output_prices_the_configured_range(stack: str) -> None:
    result = enabled(stack)
    settings = settings_with(stack, enabled=True)
    estimate = result.outputs["backfill_fanout_estimate"]
    assert estimate == json.loads(json.dumps(backfill_fanout_estimate(settings).output()))
    e, f = settings.backfill.estimate, settings.backfill.fan_out
    assert estimate["ledgers"] == e.to_ledger - e.from_ledger + 1 == 57_000_000
    assert estimate["concurrency"] == f.max_concurrency
    per_ledger = 1 / e.ledgers_per_second_per_vcpu + e.write_round_trip_ms / 1000 * (3 / 50 + 2 / 500)
    assert estimate["seconds_per_ledger"] == pytest.approx(per_ledger, abs=1e-4)
    assert estimate["hours_at_concurrency"] == pytest.approx(
        57_000_000 * per_ledger / f.max_concurrency / 3600, abs=0.1
    )
    assert estimate["usd"] == pytest.approx(sum(line["usd"] for line in estimate["lines"]), abs=0.02)
    items = {line["item"]: line for line in estimate["lines"]}
    lambda_usd = 57_000_000 * per_ledger * 1769 / 1024 * 0.0000133334 + 114_000 * 0.2e-6
    assert items["backfill fan-out function"]["usd"] == pytest.approx(lambda_usd, abs=0.05)
    # The public archive is not requester-pays: its requests and transfer are priced, and billed to its owner.
    assert items["archive GET and LIST requests"]["usd"] == 0.0
    assert "billed to the archive's owner" in items["archive GET and LIST requests"]["basis"]
    assert items["writes to the ClickHouse box (internet egress)"]["usd"] > 0
    # Standing monthly lines while enabled (alarms, idle polling); the run itself is not monthly.
    monthly = {line["item"] for line in result.outputs["monthly_cost_lines"]}
    assert {"backfill fan-out alarms", "backfill queue polling while idle"} <= monthly


def test_the_estimate_model_follows_concurrency_memory_and_who_owns_the_archive() -> None:
    base = settings_with("prod", enabled=True)
    doubled = settings_with("prod", enabled=True, maxConcurrency=20)
    a, b = backfill_fanout_estimate(base), backfill_fanout_estimate(doubled)
    assert b.hours_at_concurrency == pytest.approx(a.hours_at_concurrency / 2)
    assert b.usd == pytest.approx(a.usd)  # the same work, twice as wide
    half = settings_with("prod", enabled=True, memoryMb=LAMBDA_MB_PER_VCPU // 2)
    assert half.backfill.fan_out.vcpu_share == pytest.approx(0.5, abs=0.001)
    work = 1 / base.backfill.estimate.ledgers_per_second_per_vcpu
    assert half.backfill.seconds_per_ledger - base.backfill.seconds_per_ledger == pytest.approx(work, rel=0.01)
    own_here = settings_with("prod", enabled=True, archiveBucket="our-ledgers", archiveRegion="eu-central-1")
    own_far = settings_with("prod", enabled=True, archiveBucket="our-ledgers", archiveRegion="us-east-2")
    here = {line.item: line.usd for line in backfill_fanout_estimate(own_here).lines}
    far = {line.item: line.usd for line in backfill_fanout_estimate(own_far).lines}
    gets = 57_000_000 * 0.00043 / 1000
    assert here["archive GET and LIST requests"] == pytest.approx(gets + 114_000 * 0.0054 / 1000)
    assert here["archive transfer to the function"] == 0.0
    assert far["archive transfer to the function"] == pytest.approx(57_000_000 * 134 / 1024**2 * 0.02)
    assert backfill_fanout_cost_lines(base, alarms=4)[0].usd == pytest.approx(0.4)
    assert backfill_fanout_cost_lines(settings_with("prod"), alarms=4) == []


@pytest.mark.parametrize(
    ("backfill", "message"),
    [
        ({"fanOut": {"ledgersPerMessage": 64_000}}, r"backfill': .*ledgersPerMessage 64000 takes ~\d+ s"),
        ({"fanOut": {"ledgersPerInsert": 600, "ledgersPerMessage": 500}}, r"ledgersPerInsert 600 exceeds"),
        ({"fanOut": {"archivePrefix": "v1.1/stellar"}}, r"backfill.fanOut.archivePrefix': a key prefix ending in /"),
        ({"fanOut": {"archiveBucket": "Not_A_Bucket"}}, r"backfill.fanOut.archiveBucket': an S3 bucket name"),
        ({"fanOut": {"maxConcurrency": 1}}, r"backfill.fanOut.maxConcurrency'"),
        ({"fanOut": {"timeoutSeconds": 901}}, r"backfill.fanOut.timeoutSeconds'"),
        ({"fanOut": {"enable": True}}, r"backfill.fanOut.enable': is not a known setting"),
        ({"estimate": {"fromLedger": 10, "toLedger": 5}}, r"backfill.estimate': .*toLedger 5 is below fromLedger 10"),
    ],
)
def test_bad_backfill_settings_name_the_key(backfill: dict[str, Any], message: str) -> None:
    raw, region = stack_file_config("dev")
    with pytest.raises(SettingsError, match=message):
        load_settings("dev", {**raw, "backfill": backfill}, region)


def test_a_bad_backfill_setting_stops_the_program() -> None:
    with pytest.raises(ProgramError, match=r"backfill.fanOut.maxConcurrency"):
        run("dev", config_overrides={"backfill": backfill_config("dev", enabled=True, maxConcurrency=0)})


def test_make_plan_shows_the_fan_out_when_enabled_by_path() -> None:
    out, err = io.StringIO(), io.StringIO()
    code = plan.main(["--stack", "dev", "--set", "backfill.fanOut.enabled=true"], out=out, err=err)
    assert code == plan.EXIT_OK, err.getvalue()
    text = out.getvalue()
    assert f"- {COMPONENT} backfill (component)" in text
    assert "backfill_fanout_estimate:" in text and "backfill_queue_url:" in text
