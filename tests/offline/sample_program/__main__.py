"""A small stand-in for the real program: same resource kinds, same config shape, all compliant.

Used by the offline tests (runner, plan CLI, policies) so they do not depend on the real program.
`prices-api:extraPort` opens another inbound port (a policy violation on purpose).
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pulumi_hcloud as hcloud
import pulumi_random as random
import pulumi_tls as tls
import pulumiverse_time as time

config = pulumi.Config("prices-api")
region = pulumi.Config("aws").require("region")
env = config.require("env")
admin_cidrs: list[str] = config.require_object("adminCidrs")
if not admin_cidrs:
    raise ValueError("prices-api:adminCidrs must list at least one CIDR")
budget_usd = config.require_float("budgetUsd")
extra_port = config.get("extraPort")
ca_cert_pem = config.require_secret("caCertPem")
ca_key_pem = config.require_secret("caKeyPem")


class Sample(pulumi.ComponentResource):
    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("prices:sample:Sample", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        key = tls.PrivateKey("api-key", algorithm="ECDSA", ecdsa_curve="P256", opts=child)
        csr = tls.CertRequest(
            "api-csr", private_key_pem=key.private_key_pem, subject={"common_name": f"prices-api-{env}"}, opts=child
        )
        rotation = time.Rotating("api-rotation", rotation_days=335, opts=child)
        self.cert = tls.LocallySignedCert(
            "api-cert",
            cert_request_pem=csr.cert_request_pem,
            ca_private_key_pem=ca_key_pem,
            ca_cert_pem=ca_cert_pem,
            validity_period_hours=8760,
            early_renewal_hours=720,
            allowed_uses=["digital_signature", "client_auth"],
            opts=pulumi.ResourceOptions(parent=self, replacement_trigger=rotation.rotation_rfc3339),
        )
        secret = aws.secretsmanager.Secret("api-mtls", name=f"prices/{env}/clickhouse-mtls-api", opts=child)
        aws.secretsmanager.SecretVersion(
            "api-mtls-v",
            secret_id=secret.id,
            secret_string=pulumi.Output.json_dumps({"cert": self.cert.cert_pem, "key": key.private_key_pem}),
            opts=child,
        )
        password = random.RandomPassword("ch-password", length=32, special=False, opts=child)
        self.password = password.result
        self.topic = aws.sns.Topic("alerts", opts=child)
        assume = aws.iam.get_policy_document_output(
            statements=[
                aws.iam.GetPolicyDocumentStatementArgs(
                    actions=["sts:AssumeRole"],
                    principals=[
                        aws.iam.GetPolicyDocumentStatementPrincipalArgs(
                            type="Service", identifiers=["lambda.amazonaws.com"]
                        )
                    ],
                )
            ]
        )
        role = aws.iam.Role("api-role", assume_role_policy=assume.json, opts=child)
        policy = aws.iam.get_policy_document_output(
            statements=secret.arn.apply(
                lambda arn: [
                    aws.iam.GetPolicyDocumentStatementArgs(
                        sid="ReadMtls", actions=["secretsmanager:GetSecretValue"], resources=[arn]
                    ),
                    aws.iam.GetPolicyDocumentStatementArgs(
                        sid="AnyResourceXray",
                        actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                        resources=["*"],
                    ),
                ]
            )
        )
        aws.iam.RolePolicy("api-policy", role=role.id, policy=policy.json, opts=child)
        fn = aws.lambda_.Function(
            "api",
            role=role.arn,
            runtime="python3.12",
            handler="handler.handler",
            code=pulumi.AssetArchive({"handler.py": pulumi.StringAsset("def handler(e, c):\n    return {}\n")}),
            environment={"variables": {"MTLS_SECRET_ARN": secret.arn, "ENV": env}},
            opts=child,
        )
        aws.cloudwatch.LogGroup(
            "api-logs", name=fn.name.apply(lambda n: f"/aws/lambda/{n}"), retention_in_days=30, opts=child
        )
        dimensions = {"FunctionName": fn.name}
        actions = [self.topic.arn]
        for metric, statistic, threshold in (("Errors", "Sum", 1), ("Duration", "Maximum", 2400)):  # 80 % of 3 s
            aws.cloudwatch.MetricAlarm(
                f"api-{metric.lower()}",
                metric_name=metric,
                statistic=statistic,
                period=300,
                evaluation_periods=1,
                threshold=threshold,
                comparison_operator="GreaterThanOrEqualToThreshold",
                namespace="AWS/Lambda",
                dimensions=dimensions,
                alarm_actions=actions,
                ok_actions=actions,
                opts=child,
            )
        aws.cloudwatch.MetricAlarm(
            "api-invocations",
            metric_queries=[
                aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    id="invocations",
                    metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                        metric_name="Invocations", stat="Sum", period=300, namespace="AWS/Lambda", dimensions=dimensions
                    ),
                ),
                aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    id="filled", expression="FILL(invocations, 0)", return_data=True
                ),
            ],
            evaluation_periods=1,
            threshold=1,
            comparison_operator="LessThanThreshold",
            treat_missing_data="breaching",  # silence is an outage
            alarm_actions=actions,
            ok_actions=actions,
            opts=child,
        )
        rules = [
            hcloud.FirewallRuleArgs(direction="in", protocol="tcp", port="443", source_ips=["0.0.0.0/0", "::/0"]),
            hcloud.FirewallRuleArgs(direction="in", protocol="tcp", port="22", source_ips=admin_cidrs),
        ]
        if extra_port:
            rules.append(
                hcloud.FirewallRuleArgs(direction="in", protocol="tcp", port=str(extra_port), source_ips=["0.0.0.0/0"])
            )
        hcloud.Firewall("edge", rules=rules, opts=child)
        self.register_outputs({"cert_pem": self.cert.cert_pem})


previous = pulumi.StackReference("self", stack_name=f"organization/prices-api/{pulumi.get_stack()}")
sample = Sample("prices")
pulumi.export("client_cert_pins", previous.get_output("client_cert_pins").apply(lambda p: p or []))
pulumi.export("cert_not_after", sample.cert.validity_end_time)
pulumi.export("clickhouse_password", sample.password)
pulumi.export("alerts_topic_arn", sample.topic.arn)
pulumi.export("region", region)
pulumi.export(
    "monthly_cost_usd",
    {"lambda": 1.5, "secrets_manager": 0.4, "hetzner_cx22": 4.51, "total": round(1.5 + 0.4 + 4.51, 2)},
)
pulumi.export("budget_usd", budget_usd)
pulumi.export("stack_config_echo", json.dumps({"env": env}))
