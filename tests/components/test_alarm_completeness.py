"""Every Lambda function of every stack has its three standard alarms, complete, reporting to the ops topic.

Generic over the plan: a function added later without them (or with a weakened one) fails here and in
`make plan` (policy `lambda-standard-alarms`), the way the reference system's silent worker would have.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from offline.mocks import RecordedResource
from offline.runner import PlanResult
from policies.rules import LAMBDA_STANDARD_ALARMS, lambda_standard_alarms, run_all
from tests.components.program import planned, run
from tests.components.test_settings import stack_file_config

FUNCTION = "aws:lambda/function:Function"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def function_alarms(result: PlanResult, function_name: str) -> dict[str, dict[str, Any]]:
    """The function's alarms by kind, found by what they watch (not by their names)."""
    found: dict[str, dict[str, Any]] = {}
    for alarm in result.of_type(ALARM):
        inputs = alarm.inputs
        watched = (inputs.get("dimensions") or {}).get("FunctionName") == function_name
        if watched and inputs.get("namespace") == "AWS/Lambda" and inputs.get("metricName") in ("Errors", "Duration"):
            assert inputs["metricName"] not in found, f"two {inputs['metricName']} alarms for {function_name}"
            found[inputs["metricName"]] = inputs
        for query in inputs.get("metricQueries") or []:
            metric = query.get("metric") or {}
            if metric.get("metricName") == "Invocations" and metric["dimensions"].get("FunctionName") == function_name:
                found["Invocations"] = inputs
    return found


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_function_has_errors_duration_and_fill_based_silence_alarms(stack: str) -> None:
    result = planned(stack)
    topic = [result.outputs["ops_alarm_topic_arn"]]
    functions = result.of_type(FUNCTION)
    # The ledger processor, the API and the three workers at least; any function added later is checked too.
    assert len(functions) >= 5
    for fn in functions:
        name, timeout = fn.inputs["name"], fn.inputs["timeout"]
        alarms = function_alarms(result, name)
        assert set(alarms) == {"Errors", "Duration", "Invocations"}, name
        for inputs in alarms.values():
            assert inputs["alarmActions"] == inputs["okActions"] == topic, f"{inputs['name']} reports elsewhere"
            assert inputs.get("actionsEnabled", True) is not False

        errors = alarms["Errors"]
        assert (errors["statistic"], errors["comparisonOperator"], errors["threshold"]) == (
            "Sum",
            "GreaterThanOrEqualToThreshold",
            1,
        )
        duration = alarms["Duration"]
        assert duration["statistic"] == "Maximum"
        assert duration["comparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert 0 < duration["threshold"] <= 0.8 * timeout * 1000, f"{name}: not within 80 % of its {timeout} s"

        silence = alarms["Invocations"]
        (invocations,) = [q for q in silence["metricQueries"] if q.get("metric")]
        (expression,) = [q for q in silence["metricQueries"] if q.get("expression")]
        assert expression["expression"] == f"FILL({invocations['id']}, 0)"
        assert expression["returnData"] is True and invocations["returnData"] is False
        assert (silence["comparisonOperator"], silence["threshold"]) == ("LessThanThreshold", 1)
        assert silence["treatMissingData"] == "breaching"
    assert lambda_standard_alarms(result.resources) == []


def bare_function() -> None:
    """A function like one a future change might add: no alarms at all."""
    role = aws.iam.Role("forgotten-role", assume_role_policy="{}")
    aws.lambda_.Function(
        "forgotten",
        name="prices-dev-forgotten",
        role=role.arn,
        runtime="python3.12",
        handler="x.handler",
        timeout=30,
        code=pulumi.AssetArchive({"x.py": pulumi.StringAsset("def handler(e, c):\n    return None\n")}),
    )


def weakly_watched_function() -> None:
    """A function with alarms of the three kinds that would not have caught the reference's outages."""
    role = aws.iam.Role("weak-role", assume_role_policy="{}")
    fn = aws.lambda_.Function(
        "weak",
        name="prices-dev-weak",
        role=role.arn,
        runtime="python3.12",
        handler="x.handler",
        timeout=60,
        code=pulumi.AssetArchive({"x.py": pulumi.StringAsset("def handler(e, c):\n    return None\n")}),
    )
    common: dict[str, Any] = {"alarm_actions": ["arn:aws:sns:eu-central-1:123456789012:prices-dev-ops-alarms"]}
    dims = {"FunctionName": fn.name}
    aws.cloudwatch.MetricAlarm(
        "weak-errors",
        namespace="AWS/Lambda",
        metric_name="Errors",
        dimensions=dims,
        statistic="Sum",
        period=300,
        evaluation_periods=1,
        comparison_operator="GreaterThanOrEqualToThreshold",
        threshold=1,
        **common,  # no OK action: nobody learns it recovered
    )
    aws.cloudwatch.MetricAlarm(
        "weak-duration",
        namespace="AWS/Lambda",
        metric_name="Duration",
        dimensions=dims,
        statistic="Maximum",
        period=300,
        evaluation_periods=2,
        comparison_operator="GreaterThanOrEqualToThreshold",
        threshold=57_000,  # 95 % of the timeout: too late
        ok_actions=common["alarm_actions"],
        **common,
    )
    aws.cloudwatch.MetricAlarm(
        "weak-silence",
        namespace="AWS/Lambda",
        metric_name="Invocations",
        dimensions=dims,
        statistic="Sum",
        period=900,
        evaluation_periods=1,
        comparison_operator="LessThanThreshold",
        threshold=1,
        treat_missing_data="breaching",  # without FILL this did not fire in the reference system
        ok_actions=common["alarm_actions"],
        **common,
    )


def violations_for(resources: list[RecordedResource], function_name: str) -> list[str]:
    (fn,) = [r for r in resources if r.type == FUNCTION and r.inputs.get("name") == function_name]
    return [v.message for v in lambda_standard_alarms(resources) if v.urn == fn.urn]


def test_a_function_added_without_alarms_fails_the_plan() -> None:
    result = run("dev", extra=bare_function)
    assert violations_for(result.resources, "prices-dev-forgotten") == [
        "no errors alarm for prices-dev-forgotten",
        "no duration-near-timeout alarm for prices-dev-forgotten",
        "no no-invocations alarm for prices-dev-forgotten",
    ]
    raw, _ = stack_file_config("dev")
    assert {v.policy for v in run_all(result, raw["network"]["adminCidrs"])} >= {LAMBDA_STANDARD_ALARMS}


def test_weakened_alarms_are_reported_with_what_is_missing() -> None:
    result = run("dev", extra=weakly_watched_function)
    messages = violations_for(result.resources, "prices-dev-weak")
    assert len(messages) == 3
    errors, duration, silence = messages
    assert "its OK actions are not its alarm actions" in errors
    assert "threshold 57000 ms is not within 80 % of the 60 s timeout (48000 ms)" in duration
    assert "does not alarm on FILL(<invocations>, 0)" in silence
