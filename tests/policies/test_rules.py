"""Each policy reports a violating example and stays quiet on a compliant one."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
from pulumi_policy import PolicyCustomTimeouts, PolicyResource, PolicyResourceOptions, Secret

from offline.mocks import RecordedResource
from policies import rules
from policies.rules import Violation
from tests.conftest import MockRuntime

pytestmark = pytest.mark.unit

ADMIN = ["198.51.100.0/28"]
PEM_KEY = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIFAKEFAKEFAKE\n-----END EC PRIVATE KEY-----\n"


def res(type_: str, name: str, **kwargs: Any) -> RecordedResource:
    return RecordedResource(urn=f"urn:pulumi:dev::prices-api::{type_}::{name}", type=type_, name=name, **kwargs)


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def role_policy(name: str, *statements: dict[str, Any]) -> RecordedResource:
    return res("aws:iam/rolePolicy:RolePolicy", name, inputs={"role": "r", "policy": doc(*statements)})


def policies_of(violations: list[Violation]) -> list[str]:
    return [v.policy for v in violations]


# --- (a) action wildcards ----------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["*", "s3:*", "secretsmanager:Get*", "sqs:?eleteMessage"])
def test_wildcard_actions_are_reported(action: str) -> None:
    policy = role_policy("p", {"Effect": "Allow", "Action": ["sqs:SendMessage", action], "Resource": "arn:aws:sqs:x"})
    violations = rules.no_iam_action_wildcards([policy])
    assert len(violations) == 1
    assert action in violations[0].message and violations[0].urn == policy.urn


def test_wildcards_are_found_in_managed_and_inline_role_policies_and_allow_notaction() -> None:
    managed = res(
        "aws:iam/policy:Policy", "m", inputs={"policy": doc({"Effect": "Allow", "Action": "logs:*", "Resource": "a"})}
    )
    inline = res(
        "aws:iam/role:Role",
        "r",
        inputs={
            "assumeRolePolicy": doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "x"}}),
            "inlinePolicies": [
                {"name": "i", "policy": doc({"Effect": "Allow", "Action": "dynamodb:*", "Resource": "a"})}
            ],
        },
    )
    not_action = role_policy("n", {"Effect": "Allow", "NotAction": "iam:*", "Resource": "a"})
    attach_admin = res(
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "admin",
        inputs={"role": "r", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
    )
    violations = rules.no_iam_action_wildcards([managed, inline, not_action, attach_admin])
    assert sorted(v.urn for v in violations) == sorted([managed.urn, inline.urn, not_action.urn, attach_admin.urn])


def test_exact_actions_deny_wildcards_and_attached_custom_policies_pass() -> None:
    exact = role_policy(
        "p",
        {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue", "sqs:ReceiveMessage"], "Resource": "arn:a"},
        {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    )
    custom = res(
        "aws:iam/policy:Policy",
        "c",
        inputs={"policy": doc({"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "arn:b"})},
        outputs={"arn": "arn:aws:iam::123456789012:policy/c"},
    )
    attach = res(
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "attach",
        inputs={"role": "r", "policyArn": "arn:aws:iam::123456789012:policy/c"},
    )
    basic = res(
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "basic",
        inputs={"role": "r", "policyArn": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"},
    )
    assert rules.no_iam_action_wildcards([exact, custom, attach, basic]) == []


# --- (b) Resource "*" ----------------------------------------------------------------------------------------


def test_resource_star_without_a_reason_is_reported() -> None:
    no_sid = role_policy("a", {"Effect": "Allow", "Action": "xray:PutTraceSegments", "Resource": "*"})
    wrong_action = role_policy(
        "b", {"Sid": "AnyResourceRead", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}
    )
    unconditioned_metrics = role_policy(
        "c", {"Sid": "AnyResourceMetrics", "Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": ["*"]}
    )
    violations = rules.resource_star_needs_reason([no_sid, wrong_action, unconditioned_metrics])
    assert [v.urn for v in violations] == [no_sid.urn, wrong_action.urn, unconditioned_metrics.urn]
    assert "Sid does not start with 'AnyResource'" in violations[0].message
    assert "secretsmanager:GetSecretValue is not an action AWS supports only on Resource *" in violations[1].message
    assert "needs a cloudwatch:namespace condition" in violations[2].message


def test_documented_any_resource_statements_pass() -> None:
    ok = role_policy(
        "ok",
        {
            "Sid": "AnyResourceXray",
            "Effect": "Allow",
            "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            "Resource": "*",
        },
        {
            "Sid": "AnyResourceMetrics",
            "Effect": "Allow",
            "Action": "cloudwatch:PutMetricData",
            "Resource": "*",
            "Condition": {"StringEquals": {"cloudwatch:namespace": "Prices/Api"}},
        },
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "arn:aws:sqs:eu-central-1:1:q"},
    )
    assert rules.resource_star_needs_reason([ok]) == []


def test_policy_rendered_by_the_mocks_is_checked_end_to_end(mock_runtime: MockRuntime) -> None:
    class LooseRole(pulumi.ComponentResource):
        def __init__(self, name: str) -> None:
            super().__init__("prices:test:LooseRole", name, None, None)
            role = aws.iam.Role("role", assume_role_policy="{}", opts=pulumi.ResourceOptions(parent=self))
            document = aws.iam.get_policy_document_output(
                statements=[{"sid": "ReadAll", "actions": ["s3:Get*"], "resources": ["*"]}]
            )
            aws.iam.RolePolicy("policy", role=role.id, policy=document.json, opts=pulumi.ResourceOptions(parent=self))

    resources = mock_runtime.collect(lambda: LooseRole("loose"))
    found = rules.check_resources(resources, ADMIN)
    assert sorted(policies_of(found)) == [rules.NO_ACTION_WILDCARDS, rules.RESOURCE_STAR_NEEDS_REASON]
    assert all("$aws:iam/rolePolicy:RolePolicy::policy" in v.urn for v in found)


# --- (c) secrets in Lambda env and plain outputs -----------------------------------------------------------


def lambda_fn(variables: dict[str, str], secret_paths: set[str] | None = None) -> RecordedResource:
    return res(
        "aws:lambda/function:Function",
        "fn",
        inputs={"environment": {"variables": variables}},
        outputs={"name": "fn-1234567"},
        secret_input_paths=secret_paths or set(),
    )


@pytest.mark.parametrize(
    ("variables", "secret_paths", "fragment"),
    [
        ({"DB_PASSWORD": "correct-horse"}, None, "DB_PASSWORD: the name says it holds a credential"),
        ({"CLIENT_CERT": PEM_KEY}, None, "CLIENT_CERT: its value is a PEM block"),
        ({"UPSTREAM": "Zk9vQmFyQmF6UXV4MTIzNDU2Nzg5MGFiY2RlZg"}, None, "high-entropy token"),
        ({"CH_AUTH": "whatever-looks-harmless"}, {"environment.variables.CH_AUTH"}, "is a Pulumi secret"),
    ],
)
def test_secret_values_in_lambda_environment_are_reported(
    variables: dict[str, str], secret_paths: set[str] | None, fragment: str
) -> None:
    violations = rules.no_secrets_in_lambda_env([lambda_fn(variables, secret_paths)])
    assert len(violations) == 1 and fragment in violations[0].message


def test_value_that_is_secret_elsewhere_is_reported_in_lambda_env() -> None:
    password = res(
        "random:index/randomPassword:RandomPassword",
        "pw",
        outputs={"result": "plainlookingvalue"},
        additional_secret_outputs=["result"],
    )
    violations = rules.no_secrets_in_lambda_env([password, lambda_fn({"MODE": "plainlookingvalue"})])
    assert [v.message for v in violations] == [
        "environment variable MODE: its value is a secret elsewhere in the stack"
    ]


def test_names_and_arns_in_lambda_environment_pass() -> None:
    fn = lambda_fn(
        {
            "MTLS_SECRET_ARN": "arn:aws:secretsmanager:eu-central-1:123456789012:secret:prices/dev/x-AbC123",
            "API_KEY_SECRET_NAME": "prices-dev-api-key",
            "CLICKHOUSE_SECRET": "prices/dev/clickhouse-mtls-api",
            "POWERTOOLS_SERVICE_NAME": "prices-api",
            "CERT_SHA256": "ab" * 32,
        }
    )
    assert rules.no_secrets_in_lambda_env([fn]) == []


def test_secret_values_in_plain_outputs_are_reported_and_secret_outputs_are_not() -> None:
    known = {"s3cr3t-password-value", PEM_KEY}
    outputs = {
        "ch_password": "s3cr3t-password-value",
        "nested": {"key": PEM_KEY},
        "url": "https://u:s3cr3t-password-value@host",
        "same_but_secret": "s3cr3t-password-value",
        "endpoint": "https://ch.example",
        "ca_cert": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    }
    violations = rules.no_secrets_in_plain_outputs(outputs, {"same_but_secret"}, known)
    assert sorted(v.message.split(" ")[1] for v in violations) == ["ch_password", "nested.key", "url"]


def test_certificates_and_digests_do_not_count_as_known_secrets() -> None:
    bundle = res(
        "aws:secretsmanager/secretVersion:SecretVersion",
        "v",
        inputs={"secretString": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "x": "ab" * 32},
        secret_input_paths={"secretString", "x"},
    )
    short = res(
        "random:index/randomPassword:RandomPassword",
        "p",
        outputs={"result": "abc"},
        additional_secret_outputs=["result"],
    )
    assert rules.known_secret_values([bundle, short]) == set()


# --- (d) hcloud firewall -------------------------------------------------------------------------------------


def firewall(*extra_rules: dict[str, Any]) -> RecordedResource:
    base = [
        {"direction": "in", "protocol": "tcp", "port": "443", "sourceIps": ["0.0.0.0/0", "::/0"]},
        {"direction": "in", "protocol": "tcp", "port": "22", "sourceIps": ["198.51.100.0/28"]},
        {"direction": "out", "protocol": "tcp", "port": "any", "destinationIps": ["0.0.0.0/0"]},
    ]
    return res("hcloud:index/firewall:Firewall", "fw", inputs={"rules": base + list(extra_rules)})


def test_compliant_firewall_passes() -> None:
    assert rules.firewall_inbound_rules([firewall()], ADMIN) == []
    narrower_ssh = firewall()
    narrower_ssh.inputs["rules"][1]["sourceIps"] = ["198.51.100.4/32"]  # inside the admin /28
    assert rules.firewall_inbound_rules([narrower_ssh], ADMIN) == []


@pytest.mark.parametrize(
    ("rule", "fragment"),
    [
        ({"direction": "in", "protocol": "tcp", "port": "8123", "sourceIps": ["0.0.0.0/0"]}, "from anywhere"),
        ({"direction": "in", "protocol": "tcp", "port": "22", "sourceIps": ["0.0.0.0/0"]}, "ssh open to 0.0.0.0/0"),
        ({"direction": "in", "protocol": "tcp", "port": "22", "sourceIps": ["198.51.100.0/24"]}, "outside the admin"),
        ({"direction": "in", "protocol": "udp", "port": "443", "sourceIps": ["0.0.0.0/0"]}, "not tcp 443"),
        ({"direction": "in", "protocol": "icmp", "sourceIps": ["10.0.0.0/8"]}, "not tcp 443"),
        ({"direction": "in", "protocol": "tcp", "port": "22-443", "sourceIps": ["198.51.100.0/28"]}, "not tcp 443"),
    ],
)
def test_any_other_inbound_rule_is_reported(rule: dict[str, Any], fragment: str) -> None:
    violations = rules.firewall_inbound_rules([firewall(rule)], ADMIN)
    assert len(violations) == 1 and fragment in violations[0].message


def test_ssh_without_configured_admin_cidrs_is_reported() -> None:
    assert policies_of(rules.firewall_inbound_rules([firewall()], [])) == [rules.FIREWALL_INBOUND]


# --- (e) CA key protect --------------------------------------------------------------------------------------


def ca_setup(*, protect: bool, via: str) -> list[RecordedResource]:
    key = res("tls:index/privateKey:PrivateKey", "ca-key", protect=protect, outputs={"privateKeyPem": PEM_KEY})
    leaf_key = res("tls:index/privateKey:PrivateKey", "leaf-key", outputs={"privateKeyPem": "other"})
    if via == "self-signed":
        user = res(
            "tls:index/selfSignedCert:SelfSignedCert", "ca", inputs={"privateKeyPem": PEM_KEY, "isCaCertificate": True}
        )
    else:
        user = res(
            "tls:index/locallySignedCert:LocallySignedCert",
            "leaf",
            inputs={"caPrivateKeyPem": "unknown-during-preview"},
            property_dependencies={"caPrivateKeyPem": [key.urn]},
        )
    return [key, leaf_key, user]


@pytest.mark.parametrize("via", ["self-signed", "locally-signed"])
def test_unprotected_ca_key_is_reported(via: str) -> None:
    resources = ca_setup(protect=False, via=via)
    violations = rules.ca_private_key_protected(resources)
    assert [v.urn for v in violations] == [resources[0].urn]


@pytest.mark.parametrize("via", ["self-signed", "locally-signed"])
def test_protected_ca_key_passes_and_leaf_keys_need_no_protect(via: str) -> None:
    assert rules.ca_private_key_protected(ca_setup(protect=True, via=via)) == []


# --- (f) Lambda logs and alarms ------------------------------------------------------------------------------

FN = "prices-api-1234567"


def observed_lambda(
    *,
    retention: int | None = 30,
    metrics: tuple[str, ...] = ("Errors", "Duration", "Invocations"),
    silence: str = "breaching",
) -> list[RecordedResource]:
    fn = res("aws:lambda/function:Function", "api", outputs={"name": FN})
    group_inputs: dict[str, Any] = {"name": f"/aws/lambda/{FN}"}
    if retention is not None:
        group_inputs["retentionInDays"] = retention
    resources = [fn, res("aws:cloudwatch/logGroup:LogGroup", "logs", inputs=group_inputs)]
    for metric in metrics:
        inputs: dict[str, Any] = {"namespace": "AWS/Lambda", "metricName": metric, "dimensions": {"FunctionName": FN}}
        if metric == "Invocations":
            inputs["treatMissingData"] = silence
        resources.append(res("aws:cloudwatch/metricAlarm:MetricAlarm", f"a-{metric}", inputs=inputs))
    return resources


def test_fully_observed_lambda_passes() -> None:
    assert rules.lambda_observability(observed_lambda()) == []


def test_metric_math_fill_counts_as_a_no_invocation_alarm() -> None:
    resources = observed_lambda(metrics=("Errors", "Duration"))
    resources.append(
        res(
            "aws:cloudwatch/metricAlarm:MetricAlarm",
            "silence",
            inputs={
                "treatMissingData": "notBreaching",
                "metricQueries": [
                    {
                        "id": "inv",
                        "metric": {
                            "namespace": "AWS/Lambda",
                            "metricName": "Invocations",
                            "dimensions": {"FunctionName": FN},
                        },
                    },
                    {"id": "filled", "expression": "FILL(inv, 0)", "returnData": True},
                ],
            },
        )
    )
    assert rules.lambda_observability(resources) == []


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"retention": None}, "has no retentionInDays"),
        ({"metrics": ("Duration", "Invocations")}, "no alarm on Errors"),
        ({"metrics": ("Errors", "Invocations")}, "no alarm on Duration"),
        ({"metrics": ("Errors", "Duration")}, "no alarm on Invocations"),
        ({"silence": "notBreaching"}, "does not fire on silence"),
    ],
)
def test_missing_logs_or_alarms_are_reported(kwargs: dict[str, Any], fragment: str) -> None:
    violations = rules.lambda_observability(observed_lambda(**kwargs))
    assert len(violations) == 1 and fragment in violations[0].message


def test_alarms_on_another_function_or_wrong_log_group_name_do_not_count() -> None:
    resources = observed_lambda()
    resources[1].inputs["name"] = "/aws/lambda/other"
    for alarm in resources[2:]:
        alarm.inputs["dimensions"] = {"FunctionName": "other"}
    messages = [v.message for v in rules.lambda_observability(resources)]
    assert messages[0] == f"no LogGroup named /aws/lambda/{FN}"
    assert len(messages) == 4


# --- (g, h) API Gateway methods and cache keys ----------------------------------------------------------------


def api_method(name: str, http_method: str = "GET", **parameters: bool) -> RecordedResource:
    inputs: dict[str, Any] = {"restApi": "api1", "resourceId": f"res-{name}", "httpMethod": http_method}
    if parameters:
        inputs["requestParameters"] = {k.replace("__", "."): v for k, v in parameters.items()}
    return res("aws:apigateway/method:Method", name, inputs=inputs)


def api_integration(name: str, keys: list[str], http_method: str = "GET") -> RecordedResource:
    inputs = {"restApi": "api1", "resourceId": f"res-{name}", "httpMethod": http_method, "cacheKeyParameters": keys}
    return res("aws:apigateway/integration:Integration", f"{name}-{http_method.lower()}-integration", inputs=inputs)


PATH_ASSET = "method.request.path.asset"
QUERY_MIN = "method.request.querystring.min_volume_usd"


def test_an_any_method_is_reported_and_named_verbs_pass() -> None:
    violations = rules.apigateway_no_any_method([api_method("catch", "ANY"), api_method("price", "GET")])
    assert [(v.policy, v.urn) for v in violations] == [(rules.APIGW_NO_ANY_METHOD, api_method("catch", "ANY").urn)]
    assert rules.apigateway_no_any_method([api_method("price", "GET"), api_method("batch", "POST")]) == []


def test_a_declared_parameter_missing_from_the_cache_key_is_reported() -> None:
    method = api_method(
        "price",
        method__request__path__asset=True,
        method__request__querystring__min_volume_usd=False,
        method__request__header__x_trace=False,  # headers may stay out of the key
    )
    poisonable = rules.apigateway_cache_keys_complete([method, api_integration("price", [PATH_ASSET])])
    assert len(poisonable) == 1
    assert poisonable[0].policy == rules.APIGW_CACHE_KEYS_COMPLETE
    assert QUERY_MIN in poisonable[0].message and "shared across requests" in poisonable[0].message
    assert rules.apigateway_cache_keys_complete([method, api_integration("price", [PATH_ASSET, QUERY_MIN])]) == []


def test_a_cache_key_the_method_does_not_declare_is_reported() -> None:
    method = api_method("asset", method__request__path__asset=True)
    found = rules.apigateway_cache_keys_complete([method, api_integration("asset", [PATH_ASSET, QUERY_MIN])])
    assert len(found) == 1 and "does not declare" in found[0].message and QUERY_MIN in found[0].message


def test_integrations_are_matched_to_their_own_method() -> None:
    # Same resource, two verbs: the POST's empty key is right for the POST and says nothing about the GET.
    get = api_method("thing", "GET", method__request__querystring__q=False)
    post = api_method("thing", "POST")
    resources = [get, post, api_integration("thing", ["method.request.querystring.q"])]
    resources.append(api_integration("thing", [], "POST"))
    assert rules.apigateway_cache_keys_complete(resources) == []
    resources[2] = api_integration("thing", [])
    assert [v.urn for v in rules.apigateway_cache_keys_complete(resources)] == [resources[2].urn]


def test_the_api_gateway_rules_run_with_the_others() -> None:
    resources = [api_method("catch", "ANY", method__request__path__proxy=True), api_integration("catch", [], "ANY")]
    found = {v.policy for v in rules.check_resources(resources, ADMIN)}
    assert {rules.APIGW_NO_ANY_METHOD, rules.APIGW_CACHE_KEYS_COMPLETE} <= found
    assert {rules.APIGW_NO_ANY_METHOD, rules.APIGW_CACHE_KEYS_COMPLETE} <= set(rules.ALL_POLICIES)


# --- (c) references in JSON under X_NAMES / X_ARNS -----------------------------------------------------------


def test_json_collections_of_names_under_a_names_key_pass() -> None:
    fn = lambda_fn(
        {
            "MTLS_SECRET_NAMES": json.dumps(
                {"api": "prices/dev/clickhouse-mtls-api", "ingestion": "prices/dev/clickhouse-mtls-ingestion"}
            ),
            "BUNDLE_SECRET_ARNS": '["arn:aws:secretsmanager:eu-central-1:123456789012:secret:prices/dev/x-AbC123"]',
        }
    )
    assert rules.no_secrets_in_lambda_env([fn]) == []


@pytest.mark.parametrize(
    "value",
    [
        '{"api":"prices/dev/clickhouse-mtls-api","ingestion":"Zk9vQmFyQmF6UXV4MTIzNDU2Nzg5MGFiY2RlZg"}',
        '{"api":{"cert":"x"}}',
        "{}",
        "not json at all",
    ],
)
def test_a_names_key_holding_anything_but_references_is_reported(value: str) -> None:
    violations = rules.no_secrets_in_lambda_env([lambda_fn({"MTLS_SECRET_NAMES": value})])
    assert len(violations) == 1 and "MTLS_SECRET_NAMES: the name says it holds a credential" in violations[0].message


# --- (i) Lambda standard alarms, complete ---------------------------------------------------------------------

TOPIC = ["arn:aws:sns:eu-central-1:123456789012:prices-dev-ops-alarms"]


def standard_alarms(
    timeout: int | None = 60, changes: dict[str, dict[str, Any]] | None = None
) -> list[RecordedResource]:
    """A function with the three standard alarms as MonitoredFunction makes them; `changes` edit one alarm."""
    fn_inputs: dict[str, Any] = {"name": FN} if timeout is None else {"name": FN, "timeout": timeout}
    heard = {"alarmActions": TOPIC, "okActions": TOPIC}
    alarms = {
        "errors": {
            "namespace": "AWS/Lambda",
            "metricName": "Errors",
            "dimensions": {"FunctionName": FN},
            "statistic": "Sum",
            "comparisonOperator": "GreaterThanOrEqualToThreshold",
            "threshold": 1,
            **heard,
        },
        "duration": {
            "namespace": "AWS/Lambda",
            "metricName": "Duration",
            "dimensions": {"FunctionName": FN},
            "statistic": "Maximum",
            "comparisonOperator": "GreaterThanOrEqualToThreshold",
            "threshold": (timeout or 3) * 800,
            **heard,
        },
        "silence": {
            "metricQueries": [
                {
                    "id": "invocations",
                    "metric": {
                        "namespace": "AWS/Lambda",
                        "metricName": "Invocations",
                        "dimensions": {"FunctionName": FN},
                        "stat": "Sum",
                        "period": 300,
                    },
                    "returnData": False,
                },
                {"id": "filled", "expression": "FILL(invocations, 0)", "returnData": True},
            ],
            "comparisonOperator": "LessThanThreshold",
            "threshold": 1,
            "treatMissingData": "breaching",
            **heard,
        },
    }
    for kind, change in (changes or {}).items():
        alarms[kind] = {k: v for k, v in {**alarms[kind], **change}.items() if v is not None}
    return [
        res("aws:lambda/function:Function", "fn", inputs=fn_inputs, outputs={"name": FN}),
        *(res("aws:cloudwatch/metricAlarm:MetricAlarm", f"{FN}-{kind}", inputs=a) for kind, a in alarms.items()),
    ]


def test_complete_standard_alarms_pass() -> None:
    assert rules.lambda_standard_alarms(standard_alarms()) == []
    # AWS's default timeout (3 s) applies when a function sets none.
    assert rules.lambda_standard_alarms(standard_alarms(timeout=None)) == []


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"errors": {"threshold": 5}}, "GreaterThanOrEqualToThreshold 5 does not fire on the first error"),
        ({"errors": {"statistic": "Average"}}, "its statistic is not Sum"),
        ({"duration": {"threshold": 50_000}}, "threshold 50000 ms is not within 80 % of the 60 s timeout (48000 ms)"),
        ({"duration": {"statistic": "Average"}}, "its statistic is not Maximum"),
        ({"duration": {"comparisonOperator": "LessThanThreshold"}}, "comparison LessThanThreshold does not fire"),
        ({"silence": {"treatMissingData": "notBreaching"}}, "treatMissingData is not breaching"),
        ({"silence": {"threshold": 0}}, "LessThanThreshold 0 does not fire on zero invocations"),
        (
            {
                "silence": {
                    "metricQueries": [
                        {
                            "id": "inv",
                            "metric": {
                                "namespace": "AWS/Lambda",
                                "metricName": "Invocations",
                                "dimensions": {"FunctionName": FN},
                            },
                        },
                        {"id": "e", "expression": "inv * 2"},
                    ]
                }
            },
            "does not alarm on FILL(<invocations>, 0)",
        ),
        ({"errors": {"okActions": None}}, "its OK actions are not its alarm actions"),
        ({"duration": {"okActions": ["arn:aws:sns:eu-central-1:123456789012:other"]}}, "OK actions are not its alarm"),
        ({"silence": {"alarmActions": None, "okActions": None}}, "it has no alarm action"),
        ({"errors": {"actionsEnabled": False}}, "its actions are disabled"),
    ],
)
def test_weakened_standard_alarms_are_reported(changes: dict[str, dict[str, Any]], fragment: str) -> None:
    violations = rules.lambda_standard_alarms(standard_alarms(changes=changes))
    assert len(violations) == 1, violations
    assert violations[0].policy == rules.LAMBDA_STANDARD_ALARMS and fragment in violations[0].message


def test_missing_standard_alarms_and_alarms_on_other_functions_are_reported() -> None:
    resources = standard_alarms()
    for alarm in resources[1:]:
        for metric in [alarm.inputs, *(q.get("metric") or {} for q in alarm.inputs.get("metricQueries", []))]:
            if "dimensions" in metric:
                metric["dimensions"] = {"FunctionName": "other"}
    assert [v.message for v in rules.lambda_standard_alarms(resources)] == [
        f"no errors alarm for {FN}",
        f"no duration-near-timeout alarm for {FN}",
        f"no no-invocations alarm for {FN}",
    ]


def test_one_complete_alarm_of_a_kind_is_enough() -> None:
    resources = standard_alarms()
    weak = res(
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "extra-errors",
        inputs={**resources[1].inputs, "threshold": 10, "name": "noisy-errors"},
    )
    assert rules.lambda_standard_alarms([*resources, weak]) == []


# --- CrossGuard adapter (the PolicyPack itself is never built in tests: it starts a gRPC server) -----------


def policy_resource(type_: str, name: str, props: dict[str, Any], *, protect: bool = False) -> PolicyResource:
    opts = PolicyResourceOptions(
        protect=protect,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
    )
    return PolicyResource(type_, props, f"urn:pulumi:prod::prices-api::{type_}::{name}", name, opts, None, None, [], {})


def test_crossguard_adapter_runs_the_same_rules_on_policy_resources() -> None:
    open_fw = policy_resource(
        "hcloud:index/firewall:Firewall",
        "fw",
        {"rules": [{"direction": "in", "protocol": "tcp", "port": "5432", "sourceIps": ["0.0.0.0/0"]}]},
    )
    leaky = policy_resource(
        "aws:lambda/function:Function",
        "fn",
        {"name": "fn", "environment": {"variables": {"ANYTHING": Secret("wrapped-by-the-engine")}}},
    )
    found = rules.crossguard_violations([open_fw, leaky], ADMIN)
    assert (rules.FIREWALL_INBOUND, open_fw.urn) in {(v.policy, v.urn) for v in found}
    assert any(v.policy == rules.NO_SECRETS_IN_LAMBDA_ENV and "Pulumi secret" in v.message for v in found)
    ok_fw = policy_resource(
        "hcloud:index/firewall:Firewall",
        "ok",
        {"rules": [{"direction": "in", "protocol": "tcp", "port": "443", "sourceIps": ["0.0.0.0/0", "::/0"]}]},
    )
    assert rules.crossguard_violations([ok_fw], ADMIN) == []


def test_the_crossguard_pack_registers_every_rule_except_the_outputs_one() -> None:
    # policies/__main__.py must never be imported in tests (it starts a gRPC server): read its source.
    source = Path(__file__).resolve().parents[2] / "policies" / "__main__.py"
    tree = ast.parse(source.read_text(encoding="utf-8"))
    registered = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "_DESCRIPTIONS" for t in node.targets):
            assert isinstance(node.value, ast.Dict)
            registered = {getattr(rules, k.attr) for k in node.value.keys if isinstance(k, ast.Attribute)}
    # CrossGuard exposes no stack outputs, so that one rule runs in `make plan` only.
    assert registered == set(rules.ALL_POLICIES) - {rules.NO_SECRETS_IN_PLAIN_OUTPUTS}


def test_known_secret_values_leave_out_ip_addresses_but_keep_passwords() -> None:
    values = rules.known_secret_values([], extra=["203.0.113.77", "2001:db8::1f", "s3cr3t-passw0rd"])
    assert values == {"s3cr3t-passw0rd"}
