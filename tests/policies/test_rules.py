"""Each policy reports a violating example and stays quiet on a compliant one."""

from __future__ import annotations

import json
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
