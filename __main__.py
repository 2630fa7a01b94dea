"""Stellar Prices API: config → typed settings → components → stack outputs."""

from pathlib import Path

import pulumi

from components.clickhouse import ClickHouseDatabase, ClickHouseDatabaseArgs
from components.cost import describe, foundation_lines, ingest_cost_lines, summarize, workload_lines
from components.edge import CaddyEdge, CaddyEdgeArgs, EdgeIdentityArgs
from components.ingest import Ingest, IngestArgs
from components.mtls_secrets import MtlsBundle, MtlsSecrets, MtlsSecretsArgs
from components.ops import Ops, OpsArgs
from components.packaging import build_lambda_zip
from components.pki import PINS_OUTPUT, Pki, PkiArgs
from components.settings import PROJECT, load_settings, read_raw_config, read_secrets

stack = pulumi.get_stack()
config = pulumi.Config(PROJECT)
settings = load_settings(stack, read_raw_config(config.get), pulumi.Config("aws").get("region"))
secrets = read_secrets(stack, settings, config.get_secret)
tags = settings.default_tags

pki = Pki(
    "pki",
    PkiArgs(
        env=settings.env,
        settings=settings.pki,
        ca_cert_pem=secrets.ca_cert_pem,
        ca_key_pem=secrets.ca_key_pem,
        previous_deployment=f"{pulumi.get_organization()}/{pulumi.get_project()}/{stack}",
        previous_cert_grace_hours=settings.edge.previous_cert_grace_hours,
    ),
)
mtls = MtlsSecrets(
    "mtls",
    MtlsSecretsArgs(
        ca_cert_pem=pki.ca_cert_pem,
        bundles={
            role: MtlsBundle(secret_name=cert.profile.secret_name, cert_pem=cert.cert_pem, key_pem=cert.key_pem)
            for role, cert in pki.certs.items()
        },
        tags=tags,
    ),
)
database = ClickHouseDatabase(
    "clickhouse",
    ClickHouseDatabaseArgs(settings=settings.clickhouse, ssh_private_key=secrets.ssh_private_key),
)
edge = CaddyEdge(
    "edge",
    CaddyEdgeArgs(
        env=settings.env,
        edge=settings.edge,
        clickhouse=settings.clickhouse,
        admin_cidrs=settings.network.admin_cidrs,
        client_ca_cert_pem=pki.ca_cert_pem,
        identities=tuple(
            EdgeIdentityArgs(profile=cert.profile, clickhouse_password=database.passwords[cert.profile.clickhouse_user])
            for cert in pki.certs.values()
        ),
        pins=pki.pins,
        ssh_private_key=secrets.ssh_private_key,
    ),
    opts=pulumi.ResourceOptions(depends_on=[database]),
)
ops = Ops("ops", OpsArgs(name_prefix=settings.name_prefix, settings=settings.ops, tags=tags))
# One zip (the whole `lambdas` package + pinned deps) for every function; built once, cached by its inputs.
lambda_code = build_lambda_zip(["lambdas"], Path("lambdas/requirements-runtime.txt"), Path("build/lambda"))
ingest = Ingest(
    "ingest",
    IngestArgs(
        name_prefix=settings.name_prefix,
        settings=settings.ingest,
        partner=settings.partner,
        clickhouse_url=f"https://{settings.clickhouse.domain}",
        code=lambda_code,
        mtls_secret_name=mtls.secret_names["ingestion"],
        mtls_secret_arn=mtls.secret_arns["ingestion"],
        alarm_topic_arn=ops.alarm_topic_arn,
        tags=tags,
    ),
)

cost_lines = (
    workload_lines(settings)
    + ingest_cost_lines(settings)
    + foundation_lines(
        settings, secrets=len(mtls.secret_arns), alarm_email_subscriptions=1 if settings.ops.alarm_email else 0
    )
)

pulumi.export("monthly_cost_usd", summarize(cost_lines))
pulumi.export("monthly_cost_lines", describe(cost_lines))
pulumi.export("client_cert_not_after", {role: cert.not_after for role, cert in pki.certs.items()})
pulumi.export("client_cert_sha256", {role: cert.sha256 for role, cert in pki.certs.items()})
pulumi.export(PINS_OUTPUT, pki.pins)
pulumi.export(
    "client_cert_pems",
    pulumi.Output.secret({"ca": pki.ca_cert_pem, **{role: cert.cert_pem for role, cert in pki.certs.items()}}),
)
pulumi.export("mtls_secret_names", mtls.secret_names)
pulumi.export("mtls_secret_arns", mtls.secret_arns)
pulumi.export("clickhouse_endpoint", f"https://{settings.clickhouse.domain}")
pulumi.export("clickhouse_schema_sha256", database.schema_sha256)
pulumi.export("edge_config_sha256", edge.config_sha256)
pulumi.export("ops_alarm_topic_arn", ops.alarm_topic_arn)
pulumi.export("ingest_queue_url", ingest.queue_url)
pulumi.export("ingest_queue_arn", ingest.queue_arn)
pulumi.export("ingest_dlq_arn", ingest.dlq_arn)
pulumi.export("ledger_processor_function_name", ingest.function_name)
pulumi.export("ledger_processor_function_arn", ingest.function_arn)
pulumi.export("lambda_code_sha256", ingest.code_sha256)
