"""Stellar Prices API: config → typed settings → components → stack outputs."""

from pathlib import Path

import pulumi

from components.alarms import ProbeAlarms, ProbeAlarmsArgs
from components.api import Api, ApiArgs
from components.backfill import BackfillFanOut, BackfillFanOutArgs
from components.backups import Backups, BackupsArgs
from components.clickhouse import ClickHouseDatabase, ClickHouseDatabaseArgs
from components.cost import (
    api_cost_lines,
    backfill_fanout_cost_lines,
    backfill_fanout_estimate,
    backup_cost_lines,
    describe,
    foundation_lines,
    ingest_cost_lines,
    monitoring_cost_lines,
    sidecar_cost_lines,
    summarize,
    worker_cost_lines,
    workload_lines,
)
from components.dashboard import ApiDashboardRefs, Dashboard, DashboardArgs, FanOutDashboardRefs
from components.edge import CaddyEdge, CaddyEdgeArgs, EdgeIdentityArgs
from components.ingest import Ingest, IngestArgs
from components.mtls_secrets import MtlsBundle, MtlsSecrets, MtlsSecretsArgs
from components.ops import Ops, OpsArgs
from components.packaging import build_lambda_zip
from components.pki import PINS_OUTPUT, Pki, PkiArgs
from components.settings import PROJECT, load_settings, read_raw_config, read_secrets
from components.sidecar import Sidecar, SidecarArgs, clickhouse_target
from components.workers import Workers, WorkersArgs

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
# The sidecar (off by default) replaces the partner's box as THE ClickHouse: every consumer below reads `target`.
sidecar = (
    Sidecar(
        "sidecar",
        SidecarArgs(
            env=settings.env,
            settings=settings.sidecar,
            edge=settings.edge,
            admin_cidrs=settings.network.admin_cidrs,
        ),
    )
    if settings.sidecar.enabled
    else None
)
target = clickhouse_target(settings, secrets.ssh_private_key, sidecar)
database = ClickHouseDatabase(
    "clickhouse",
    ClickHouseDatabaseArgs(
        settings=target.clickhouse,
        ssh_private_key=target.ssh_private_key,
        ssh_host=target.ssh_host,
        ssh_depends_on=target.depends_on,
    ),
)
edge = CaddyEdge(
    "edge",
    CaddyEdgeArgs(
        env=settings.env,
        edge=target.edge,
        clickhouse=target.clickhouse,
        admin_cidrs=settings.network.admin_cidrs,
        client_ca_cert_pem=pki.ca_cert_pem,
        identities=tuple(
            EdgeIdentityArgs(profile=cert.profile, clickhouse_password=database.passwords[cert.profile.clickhouse_user])
            for cert in pki.certs.values()
        ),
        pins=pki.pins,
        ssh_private_key=target.ssh_private_key,
        ssh_host=target.ssh_host,
        manage_firewall=target.manage_edge_firewall,
        ssh_depends_on=target.depends_on,
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
        clickhouse_url=target.endpoint,
        code=lambda_code,
        mtls_secret_name=mtls.secret_names["ingestion"],
        mtls_secret_arn=mtls.secret_arns["ingestion"],
        alarm_topic_arn=ops.alarm_topic_arn,
        tags=tags,
    ),
)
api = Api(
    "api",
    ApiArgs(
        name_prefix=settings.name_prefix,
        settings=settings.api,
        clickhouse_url=target.endpoint,
        code=lambda_code,
        mtls_secret_name=mtls.secret_names["api"],
        mtls_secret_arn=mtls.secret_arns["api"],
        alarm_topic_arn=ops.alarm_topic_arn,
        tags=tags,
    ),
)
workers = Workers(
    "workers",
    WorkersArgs(
        name_prefix=settings.name_prefix,
        settings=settings.workers,
        network_passphrase=settings.partner.network_passphrase,
        clickhouse_url=target.endpoint,
        code=lambda_code,
        mtls_secret_names=mtls.secret_names,
        mtls_secret_arns=mtls.secret_arns,
        alarm_topic_arn=ops.alarm_topic_arn,
        tags=tags,
    ),
)
probe_alarms = ProbeAlarms(
    "alarms",
    ProbeAlarmsArgs(
        name_prefix=settings.name_prefix, settings=settings.workers, alarm_topic_arn=ops.alarm_topic_arn, tags=tags
    ),
)
backups = Backups(
    "backups",
    BackupsArgs(
        name_prefix=settings.name_prefix,
        settings=settings.backups,
        aws_region=settings.aws_region,
        ssh=target.connection(),
        client_command=target.clickhouse.client_command,
        clickhouse_url=target.endpoint,
        code=lambda_code,
        # BACKUP runs as the writer identity (schema.rbac grants it BACKUP and the named collection).
        mtls_secret_name=mtls.secret_names["ingestion"],
        mtls_secret_arn=mtls.secret_arns["ingestion"],
        alarm_topic_arn=ops.alarm_topic_arn,
        tags=tags,
        server_depends_on=(database, *target.depends_on),
    ),
)
# Backfill fan-out (off by default): a queue of ledger ranges and a function ingesting them in parallel.
backfill = (
    BackfillFanOut(
        "backfill",
        BackfillFanOutArgs(
            name_prefix=settings.name_prefix,
            settings=settings.backfill.fan_out,
            network_passphrase=settings.partner.network_passphrase,
            clickhouse_url=target.endpoint,
            code=lambda_code,
            mtls_secret_name=mtls.secret_names["ingestion"],
            mtls_secret_arn=mtls.secret_arns["ingestion"],
            alarm_topic_arn=ops.alarm_topic_arn,
            tags=tags,
        ),
    )
    if settings.backfill.fan_out.enabled
    else None
)

dashboard = Dashboard(
    "dashboard",
    DashboardArgs(
        name_prefix=settings.name_prefix,
        region=settings.aws_region,
        ingest_queue_name=ingest.queue_name,
        ingest_dlq_name=ingest.dlq_name,
        ingest_function_name=ingest.function_name,
        ingest_lag_alarm_seconds=settings.ingest.alarm_oldest_message_age_seconds,
        worker_function_names={**workers.function_names, "backup": backups.function_name},
        probe_alarms=settings.workers.alarms,
        api=ApiDashboardRefs(api_name=api.api_name, function_name=api.function_name, stage_name=api.stage_name),
        fan_out=FanOutDashboardRefs(backfill.queue_name, backfill.dlq_name, backfill.function_name)
        if backfill
        else None,
    ),
)

cost_lines = (
    workload_lines(settings)
    + ingest_cost_lines(settings)
    + api_cost_lines(settings)
    + worker_cost_lines(settings)
    + backup_cost_lines(settings, alarms=len(backups.alarm_names))
    + monitoring_cost_lines(alarms=sum(len(c.alarm_names) for c in (ingest, api, workers, probe_alarms)), dashboards=1)
    + foundation_lines(
        settings, secrets=len(mtls.secret_arns), alarm_email_subscriptions=1 if settings.ops.alarm_email else 0
    )
    + sidecar_cost_lines(settings)
    + backfill_fanout_cost_lines(settings, alarms=len(backfill.alarm_names) if backfill else 0)
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
pulumi.export("clickhouse_endpoint", target.endpoint)
pulumi.export("clickhouse_schema_sha256", database.schema_sha256)
pulumi.export("clickhouse_schema_mode", database.schema_mode)
if sidecar is not None:
    pulumi.export("sidecar_server_id", sidecar.server.id)
    pulumi.export("sidecar_ipv4", sidecar.ipv4_address)
    pulumi.export("sidecar_user_data_sha256", sidecar.user_data_sha256)
pulumi.export("edge_config_sha256", edge.config_sha256)
pulumi.export("ops_alarm_topic_arn", ops.alarm_topic_arn)
pulumi.export("ingest_queue_url", ingest.queue_url)
pulumi.export("ingest_queue_arn", ingest.queue_arn)
pulumi.export("ingest_dlq_arn", ingest.dlq_arn)
pulumi.export("ledger_processor_function_name", ingest.function_name)
pulumi.export("ledger_processor_function_arn", ingest.function_arn)
pulumi.export("lambda_code_sha256", ingest.code_sha256)
pulumi.export("api_url", api.invoke_url)
pulumi.export("api_id", api.rest_api_id)
pulumi.export("api_function_name", api.function_name)
pulumi.export("api_usage_plan_ids", api.usage_plan_ids)
if api.custom_domain is not None:
    pulumi.export("api_custom_domain", api.custom_domain)
if api.smoke_key_value is not None:
    pulumi.export("api_smoke_key_id", api.smoke_key_id)
    pulumi.export("api_smoke_key", api.smoke_key_value)  # secret: `pulumi stack output --show-secrets`
pulumi.export("worker_function_names", workers.function_names)
pulumi.export("dashboard_name", dashboard.dashboard_name)
pulumi.export("backup_bucket_name", backups.bucket_name)
pulumi.export("backup_function_name", backups.function_name)
if backfill is not None:
    pulumi.export("backfill_queue_url", backfill.queue_url)
    pulumi.export("backfill_dlq_arn", backfill.dlq_arn)
    pulumi.export("backfill_function_name", backfill.function_name)
    pulumi.export("backfill_ledgers_per_message", settings.backfill.fan_out.ledgers_per_message)
    # One-off: what a fan-out run over `backfill.estimate`'s range takes and costs (not in monthly_cost_usd).
    pulumi.export("backfill_fanout_estimate", backfill_fanout_estimate(settings).output())
