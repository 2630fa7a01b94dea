"""The scheduled workers as the real program plans them: schedules, sizes, roles, environments and alarms."""

import importlib
import json
import re
from typing import Any

import pytest

from components.function import baseline_statements, check_alarm_window
from components.settings import SettingsError, WorkersSettings, load_settings, schedule_interval_seconds
from lambdas.common.settings import load_env_settings
from offline.mocks import RecordedResource
from offline.runner import PlanResult, ProgramError
from tests.components.program import children_of, one, planned, run
from tests.components.test_settings import stack_file_config

FUNCTION = "aws:lambda/function:Function"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
RULE = "aws:cloudwatch/eventRule:EventRule"
WORKERS = ("oracle", "cleanup", "probes")
NAMESPACES = {"oracle": "Prices/Oracle", "cleanup": "Prices/Cleanup", "probes": "Prices/Probes"}


def workers_config(stack: str, **changes: Any) -> dict[str, Any]:
    """The stack file's `workers` stanza with some workers' settings changed (a shallow merge per worker)."""
    raw, _ = stack_file_config(stack)
    stanza = json.loads(json.dumps(raw["workers"]))
    for worker, fields in changes.items():
        stanza[worker] = {**stanza[worker], **fields}
    return dict(stanza)


def configured(stack: str) -> WorkersSettings:
    return load_settings(stack, *stack_file_config(stack)).workers


def alarm(result: PlanResult, worker: str, suffix: str) -> dict[str, Any]:
    return one(result, ALARM, f"workers-{worker}-{suffix}").inputs


def statements(result: PlanResult, worker: str) -> dict[str, dict[str, Any]]:
    document = json.loads(one(result, "aws:iam/rolePolicy:RolePolicy", f"workers-{worker}-policy").inputs["policy"])
    found = {s["Sid"]: s for s in document["Statement"]}
    assert len(found) == len(document["Statement"]), "Sids are unique"
    return found


def environment(result: PlanResult, worker: str) -> dict[str, str]:
    return dict(one(result, FUNCTION, f"workers-{worker}").inputs["environment"]["variables"])


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_each_worker_is_a_scheduled_monitored_function_under_the_component(stack: str) -> None:
    result = planned(stack)
    workers = one(result, "prices:workers:Workers", "workers")
    scheduled = [r for r in children_of(result, workers) if r.type == "prices:workers:ScheduledFunction"]
    assert sorted(r.name for r in scheduled) == [f"workers-{w}" for w in sorted(WORKERS)]
    for component in scheduled:
        monitored = one(result, "prices:function:MonitoredFunction", component.name)
        assert monitored.parent == component.urn
        assert {(r.type, r.name) for r in children_of(result, component)} == {
            ("prices:function:MonitoredFunction", component.name),
            (RULE, f"{component.name}-schedule"),
            ("aws:cloudwatch/eventTarget:EventTarget", f"{component.name}-target"),
            ("aws:lambda/permission:Permission", f"{component.name}-invoke"),
            ("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", f"{component.name}-retries"),
        }
        assert {(r.type, r.name) for r in children_of(result, monitored)} == {
            ("aws:cloudwatch/logGroup:LogGroup", f"{component.name}-logs"),
            ("aws:iam/role:Role", f"{component.name}-role"),
            ("aws:iam/rolePolicy:RolePolicy", f"{component.name}-policy"),
            (FUNCTION, component.name),
            *((ALARM, f"{component.name}-{s}") for s in ("errors", "duration-near-timeout", "no-invocations")),
        }
    assert result.outputs["worker_function_names"] == {w: f"prices-{stack}-{w}" for w in WORKERS}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_size_timeout_logs_and_handler_come_from_config(stack: str) -> None:
    result = planned(stack)
    settings = configured(stack)
    for worker in WORKERS:
        fn = one(result, FUNCTION, f"workers-{worker}").inputs
        wanted = getattr(settings, worker)
        assert fn["name"] == f"prices-{stack}-{worker}"
        assert fn["handler"] == f"lambdas.workers.{worker}.handler"
        assert (fn["memorySize"], fn["timeout"]) == (wanted.memory_mb, wanted.timeout_seconds)
        assert (fn["runtime"], fn["architectures"], fn["tracingConfig"]) == (
            "python3.12",
            ["arm64"],
            {"mode": "Active"},
        )
        logs = one(result, "aws:cloudwatch/logGroup:LogGroup", f"workers-{worker}-logs").inputs
        assert (logs["name"], logs["retentionInDays"]) == (f"/aws/lambda/prices-{stack}-{worker}", 30)


def test_a_changed_size_reaches_the_function_and_its_duration_alarm() -> None:
    result = run(
        "dev", config_overrides={"workers": workers_config("dev", oracle={"memoryMb": 512, "timeoutSeconds": 200})}
    )
    fn = one(result, FUNCTION, "workers-oracle").inputs
    assert (fn["memorySize"], fn["timeout"]) == (512, 200)
    assert alarm(result, "oracle", "duration-near-timeout")["threshold"] == 160_000  # 80 % of 200 s


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_schedules_come_from_config_and_only_their_rule_may_invoke(stack: str) -> None:
    result = planned(stack)
    expected = {"oracle": "rate(5 minutes)", "cleanup": "cron(0 3 * * ? *)", "probes": "rate(5 minutes)"}
    for worker, schedule in expected.items():
        assert getattr(configured(stack), worker).schedule == schedule
        fn = one(result, FUNCTION, f"workers-{worker}")
        rule = one(result, RULE, f"workers-{worker}-schedule")
        assert (rule.inputs["scheduleExpression"], rule.inputs["state"]) == (schedule, "ENABLED")
        permission = one(result, "aws:lambda/permission:Permission", f"workers-{worker}-invoke")
        assert permission.inputs == {
            "action": "lambda:InvokeFunction",
            "function": fn.inputs["name"],
            "principal": "events.amazonaws.com",
            "sourceArn": rule.outputs["arn"],
            "statementId": "AllowScheduleInvoke",
        }
        target = one(result, "aws:cloudwatch/eventTarget:EventTarget", f"workers-{worker}-target")
        assert (target.inputs["rule"], target.inputs["arn"]) == (rule.inputs["name"], fn.outputs["arn"])
        assert permission.urn in target.dependencies  # never a firing the function would refuse
        retries = one(
            result, "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", f"workers-{worker}-retries"
        )
        # A failed run waits for the next scheduled one: Lambda's default two retries would double its metrics.
        assert retries.inputs == {"functionName": fn.inputs["name"], "maximumRetryAttempts": 0}


def test_a_changed_schedule_moves_the_rule_and_the_no_invocation_window() -> None:
    changes = {
        "probes": {"schedule": "rate(15 minutes)"},
        "cleanup": {"schedule": "cron(0 3 ? * MON *)", "missedRunsToAlarm": 1},
    }
    result = run("dev", config_overrides={"workers": workers_config("dev", **changes)})
    assert one(result, RULE, "workers-probes-schedule").inputs["scheduleExpression"] == "rate(15 minutes)"
    probes = alarm(result, "probes", "no-invocations")
    assert probes["metricQueries"][0]["metric"]["period"] == 900
    assert probes["evaluationPeriods"] == probes["datapointsToAlarm"] == 3
    # Weekly: CloudWatch periods stop at one day, so one missed run is 7 daily periods (7 days, the window limit).
    weekly = alarm(result, "cleanup", "no-invocations")
    assert weekly["metricQueries"][0]["metric"]["period"] == 86_400
    assert weekly["evaluationPeriods"] == 7


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_no_invocation_alarms_follow_each_schedule_within_cloudwatch_limits(stack: str) -> None:
    result = planned(stack)
    topic = [result.outputs["ops_alarm_topic_arn"]]
    for worker, (period, periods) in {"oracle": (300, 3), "cleanup": (86_400, 3), "probes": (300, 3)}.items():
        silence = alarm(result, worker, "no-invocations")
        queries = {q["id"]: q for q in silence["metricQueries"]}
        assert queries["invocations"]["metric"] == {
            "namespace": "AWS/Lambda",
            "metricName": "Invocations",
            "dimensions": {"FunctionName": f"prices-{stack}-{worker}"},
            "stat": "Sum",
            "period": period,
        }
        assert queries["filled"]["expression"] == "FILL(invocations, 0)"
        assert (silence["evaluationPeriods"], silence["datapointsToAlarm"]) == (periods, periods)
        assert (silence["comparisonOperator"], silence["threshold"], silence["treatMissingData"]) == (
            "LessThanThreshold",
            1,
            "breaching",
        )
        # The window is exactly the configured number of missed runs, and CloudWatch accepts it.
        interval = schedule_interval_seconds(getattr(configured(stack), worker).schedule)
        assert period * periods == 3 * interval
        check_alarm_window(worker, int(period), int(periods))
        assert silence["alarmActions"] == silence["okActions"] == topic


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_errors_and_duration_alarms_per_worker(stack: str) -> None:
    result = planned(stack)
    for worker, errors_period in {"oracle": 3600, "cleanup": 86_400, "probes": 3600}.items():
        errors = alarm(result, worker, "errors")
        assert (errors["metricName"], errors["statistic"], errors["period"]) == ("Errors", "Sum", errors_period)
        assert (errors["comparisonOperator"], errors["threshold"]) == ("GreaterThanOrEqualToThreshold", 1)
        duration = alarm(result, worker, "duration-near-timeout")
        timeout = one(result, FUNCTION, f"workers-{worker}").inputs["timeout"]
        assert duration["threshold"] == timeout * 1000 * 0.8
        # Two consecutive runs near the timeout: one run per period.
        assert duration["period"] == alarm(result, worker, "no-invocations")["metricQueries"][0]["metric"]["period"]
        assert duration["evaluationPeriods"] == duration["datapointsToAlarm"] == 2


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_oracle_must_write_prices_not_just_run(stack: str) -> None:
    result = planned(stack)
    no_prices = one(result, ALARM, "workers-oracle-no-prices").inputs
    queries = {q["id"]: q for q in no_prices["metricQueries"]}
    assert queries["written"]["metric"] == {
        "namespace": "Prices/Oracle",
        "metricName": "OraclePricesWritten",
        "dimensions": {"service": "oracle"},
        "stat": "Sum",
        "period": 300,
    }
    assert (queries["filled"]["expression"], queries["filled"]["returnData"]) == ("FILL(written, 0)", True)
    assert (no_prices["evaluationPeriods"], no_prices["treatMissingData"]) == (3, "breaching")
    assert no_prices["alarmActions"] == no_prices["okActions"] == [result.outputs["ops_alarm_topic_arn"]]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_each_role_reads_exactly_the_bundles_its_worker_uses(stack: str) -> None:
    result = planned(stack)
    arns = result.outputs["mtls_secret_arns"]
    own_bundle = {
        "Sid": "ReadIngestionMtlsBundle",
        "Effect": "Allow",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": arns["ingestion"],
    }
    expected_grants = {
        "oracle": {"ReadIngestionMtlsBundle": own_bundle},
        "cleanup": {"ReadIngestionMtlsBundle": own_bundle},
        "probes": {
            "ReadMtlsBundlesForNotAfter": {
                "Sid": "ReadMtlsBundlesForNotAfter",
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": [arns["ingestion"], arns["api"]],
            }
        },
    }
    for worker, grants in expected_grants.items():
        log_group_arn = one(result, "aws:cloudwatch/logGroup:LogGroup", f"workers-{worker}-logs").outputs["arn"]
        assert statements(result, worker) == {
            **grants,
            # MonitoredFunction's baseline (pinned literally by test_ingest), not repeated here.
            **{st["Sid"]: st for st in baseline_statements(log_group_arn, NAMESPACES[worker])},
        }
        role = one(result, "aws:iam/role:Role", f"workers-{worker}-role")
        assert not role.inputs.get("managedPolicyArns") and not role.inputs.get("inlinePolicies")


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_environments_carry_names_urls_and_settings_never_secrets(stack: str) -> None:
    result = planned(stack)
    names = result.outputs["mtls_secret_names"]
    common = {
        "CLICKHOUSE_URL": result.outputs["clickhouse_endpoint"],
        "MTLS_SECRET_NAME": names["ingestion"],
    }
    assert environment(result, "oracle") == {
        **common,
        "POWERTOOLS_SERVICE_NAME": "oracle",
        "POWERTOOLS_METRICS_NAMESPACE": "Prices/Oracle",
        "SOROBAN_RPC_URL": "https://mainnet.sorobanrpc.com",
        "NETWORK_PASSPHRASE": "Public Global Stellar Network ; September 2015",
        "ORACLE_CONTRACTS": json.dumps(
            [
                {"name": "reflector-dex", "contract_id": "CALI2BYU2JE6WVRUFYTS6MSBNEHGJ35P4AVCZYF3B6QOE3QKOB2PLE6M"},
                {"name": "reflector-cex", "contract_id": "CAFJZQWSED6YAWZU3GWRTOCNPPCGBN32L7QV43XX5LZLFTK6JLN34DLN"},
                {"name": "reflector-fx", "contract_id": "CBKGPWGKSKZF52CFHMTRR23TBWTPMRDIYZ4O2P5VS65BMHYH4DXMCJZC"},
            ],
            separators=(",", ":"),
        ),
    }
    cleanup = environment(result, "cleanup")
    assert json.loads(cleanup.pop("RETENTION_DAYS")) == {
        "price_ohlcv_1m": 7,
        "price_ohlcv_15m": 30,
        "oracle_prices": 396,
    }
    assert cleanup == {
        **common,
        "POWERTOOLS_SERVICE_NAME": "cleanup",
        "POWERTOOLS_METRICS_NAMESPACE": "Prices/Cleanup",
        "DRY_RUN": "false",
    }
    probes = environment(result, "probes")
    assert json.loads(probes.pop("MTLS_SECRET_NAMES")) == {"ingestion": names["ingestion"], "api": names["api"]}
    assert probes == {**common, "POWERTOOLS_SERVICE_NAME": "probes", "POWERTOOLS_METRICS_NAMESPACE": "Prices/Probes"}
    secrets = {s for s in result.secret_values() if len(s) >= 8}
    for worker in WORKERS:
        fn = one(result, FUNCTION, f"workers-{worker}")
        for key, value in environment(result, worker).items():
            assert not fn.input_is_secret(f"environment.variables.{key}")
            assert "PRIVATE KEY" not in value and not any(secret in value for secret in secrets)


def test_dry_run_and_retention_come_from_config() -> None:
    changes = {"cleanup": {"dryRun": True, "retentionDays": {"price_ohlcv_1m": 3, "oracle_prices": 30}}}
    result = run("dev", config_overrides={"workers": workers_config("dev", **changes)})
    cleanup = environment(result, "cleanup")
    assert cleanup["DRY_RUN"] == "true"
    assert json.loads(cleanup["RETENTION_DAYS"]) == {"price_ohlcv_1m": 3, "oracle_prices": 30}


def deployed_settings(result: PlanResult, worker: str) -> Any:
    """The worker's own env model validating what the stack deploys (the module is written separately)."""
    fn: RecordedResource = one(result, FUNCTION, f"workers-{worker}")
    module_name, _, attribute = fn.inputs["handler"].rpartition(".")
    module = importlib.import_module(module_name)
    assert callable(getattr(module, attribute)), f"{fn.inputs['handler']} is not a callable"
    return load_env_settings(module.SETTINGS_MODEL, environment(result, worker), worker)


@pytest.mark.parametrize("stack", ["dev", "prod"])
@pytest.mark.parametrize("worker", WORKERS)
def test_deployed_environment_is_what_the_handler_reads(stack: str, worker: str) -> None:
    # The component and the handlers are written apart; this binds them: each worker's SETTINGS_MODEL must
    # accept exactly what the stack deploys, and the handler string must name a real callable.
    result = planned(stack)
    settings = deployed_settings(result, worker)
    assert f"prices/{stack}/clickhouse-mtls-ingestion" == settings.MTLS_SECRET_NAME
    assert result.outputs["clickhouse_endpoint"] == settings.CLICKHOUSE_URL
    # And what each handler reads is what the stack file configured, not just something that validates.
    configured_worker = getattr(configured(stack), worker)
    if worker == "oracle":
        assert [(c.name, c.contract_id) for c in settings.ORACLE_CONTRACTS] == [
            (c.name, c.contract_id) for c in configured_worker.contracts
        ]
        assert configured_worker.soroban_rpc_url == settings.SOROBAN_RPC_URL
    elif worker == "cleanup":
        assert (configured_worker.retention_days, False) == (settings.RETENTION_DAYS, settings.DRY_RUN)
    else:
        assert settings.MTLS_SECRET_NAMES.by_role() == result.outputs["mtls_secret_names"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"oracle": {"schedule": "every 5 minutes"}}, r"workers.oracle.schedule': 'every 5 minutes' is not an Event"),
        ({"oracle": {"schedule": "rate(1 minutes)"}}, r"workers.oracle.schedule': .*singular unit for 1"),
        (
            {"cleanup": {"schedule": "cron(0 3 1,15 * ? *)"}},
            r"workers.cleanup.schedule': .*cannot derive a single cadence",
        ),
        ({"oracle": {"timeoutSeconds": 300}}, r"workers.oracle': .*timeoutSeconds 300 must be shorter than the 300 s"),
        ({"probes": {"timeoutSeconds": 901}}, r"workers.probes.timeoutSeconds'"),
        ({"oracle": {"memoryMb": 64}}, r"workers.oracle.memoryMb'"),
        ({"cleanup": {"logRetentionDays": 10}}, r"workers.cleanup.logRetentionDays': one of the CloudWatch Logs"),
        (
            {"cleanup": {"errorsAlarmPeriodSeconds": 172_800}},
            r"workers.cleanup': errorsAlarmPeriodSeconds: period 172800",
        ),
        (
            {"cleanup": {"schedule": "cron(0 3 ? * MON *)", "missedRunsToAlarm": 2}},
            r"workers.cleanup': missedRunsToAlarm: 14 x 86400 s = 1209600 s exceeds CloudWatch's 604800 s limit",
        ),
        (
            {"probes": {"schedule": "rate(30 minutes)", "missedRunsToAlarm": 60}},
            r"workers.probes': missedRunsToAlarm: 60 x 1800 s = 108000 s exceeds CloudWatch's 86400 s limit",
        ),
        ({"probes": {"missedRunsToAlarm": 0}}, r"workers.probes.missedRunsToAlarm'"),
        ({"oracle": {"sorobanRpcUrl": "http://rpc.example"}}, r"workers.oracle.sorobanRpcUrl': an https:// URL"),
        ({"oracle": {"contracts": []}}, r"workers.oracle.contracts'"),
        (
            {"oracle": {"contracts": [{"name": "reflector-dex", "contractId": "GABC"}]}},
            r"workers.oracle.contracts\[0\].contractId'",
        ),
        (
            {"cleanup": {"retentionDays": {"price_ohlcv_1m": 0}}},
            r"workers.cleanup.retentionDays': price_ohlcv_1m: 0 is",
        ),
        (
            {"cleanup": {"retentionDays": {"drop table": 3}}},
            r"workers.cleanup.retentionDays': 'drop table' is not a table",
        ),
        ({"probes": {"typo": 1}}, r"workers.probes.typo': is not a known setting"),
        ({"cleanup": {"retryAttempts": 3}}, r"workers.cleanup.retryAttempts'"),
    ],
)
def test_bad_worker_settings_name_the_key(changes: dict[str, Any], message: str) -> None:
    raw, region = stack_file_config("prod")
    raw["workers"] = workers_config("prod", **changes)
    with pytest.raises(SettingsError, match=message):
        load_settings("prod", raw, region)


def test_the_worker_settings_default_to_the_reference_system() -> None:
    defaults = WorkersSettings()
    assert (defaults.oracle.schedule, defaults.cleanup.schedule, defaults.probes.schedule) == (
        "rate(5 minutes)",
        "cron(0 3 * * ? *)",
        "rate(5 minutes)",
    )
    assert (defaults.oracle.errors_alarm_period_seconds, defaults.cleanup.errors_alarm_period_seconds) == (3600, 86_400)
    assert defaults.cleanup.retention_days == {"price_ohlcv_1m": 7, "price_ohlcv_15m": 30, "oracle_prices": 396}
    # The stack files spell every worker setting out; they differ from the defaults only where they tighten
    # the reference's candle-age thresholds (tests/components/test_alarms.py says why).
    for stack in ("dev", "prod"):
        stack_settings = configured(stack)
        assert stack_settings.model_copy(update={"alarms": defaults.alarms}) == defaults
        assert stack_settings.alarms.model_copy(update={"candle_age_max_seconds": {}}) == defaults.alarms.model_copy(
            update={"candle_age_max_seconds": {}}
        )


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        ("rate(1 minute)", 60),
        ("rate(5 minutes)", 300),
        ("rate(2 hours)", 7200),
        ("rate(1 day)", 86_400),
        ("cron(0/15 * * * ? *)", 900),
        ("cron(*/10 * * * ? *)", 600),
        ("cron(5/15 * * * ? *)", 900),
        ("cron(30 * * * ? *)", 3600),
        ("cron(0 */6 * * ? *)", 21_600),
        ("cron(0 3 * * ? *)", 86_400),
        ("cron(0 3 ? * MON *)", 604_800),
    ],
)
def test_schedule_cadence_is_derived_from_rates_and_regular_crons(expression: str, seconds: int) -> None:
    assert schedule_interval_seconds(expression) == seconds


@pytest.mark.parametrize(
    "expression",
    ["cron(50/15 * * * ? *)", "cron(0/7 * * * ? *)", "cron(0 3 1 * ? *)", "cron(0 3 * * ? 2027)", "cron(0 3 * *)"],
)
def test_irregular_schedules_are_refused(expression: str) -> None:
    with pytest.raises(ValueError, match=re.escape(expression)):
        schedule_interval_seconds(expression)


def test_a_bad_worker_setting_stops_the_program() -> None:
    with pytest.raises(ProgramError, match=r"stack 'dev': config key 'prices-api:workers.probes.schedule'"):
        run("dev", config_overrides={"workers": workers_config("dev", probes={"schedule": "hourly"})})
