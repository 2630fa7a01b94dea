"""The Backups component under the mock runtime: bucket, prefix-bound credentials, named-collection push, job."""

from __future__ import annotations

import hashlib
import importlib
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from components.backups import clickhouse_user_policy, collection_url, named_collection_script
from components.cost import backup_cost_lines
from components.settings import SettingsError, load_settings
from lambdas.common.settings import load_env_settings
from lambdas.workers import backup
from offline.mocks import RecordedResource
from offline.runner import PlanResult, ProgramError
from policies.rules import run_all
from tests.components.program import children_of, one, planned, run
from tests.components.test_settings import stack_file_config

pytestmark = pytest.mark.unit

# FAKE: shaped like an AWS key (refused by the push script otherwise); never a real credential.
FAKE_KEY_ID = "AKIAFAKEBACKUPKEY0001"
FAKE_SECRET = "FAKE/backup+secret/0000000000000000000000"[:40]
ACCOUNT = "123456789012"
ACCESS_KEY = "aws:iam/accessKey:AccessKey"
COMMAND = "command:remote:Command"


def bucket_of(stack: str) -> str:
    return f"prices-{stack}-clickhouse-backups-{ACCOUNT}"


def resource(result: PlanResult, type_: str, name: str) -> RecordedResource:
    return one(result, type_, name)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_backup_resource_hangs_under_the_component(stack: str) -> None:
    result = planned(stack)
    component = resource(result, "prices:backups:Backups", "backups")
    children = {(r.type, r.name) for r in children_of(result, component)}
    assert children == {
        ("prices:workers:ScheduledFunction", "backups-job"),
        ("aws:s3/bucket:Bucket", "backups-bucket"),
        ("aws:s3/bucketOwnershipControls:BucketOwnershipControls", "backups-ownership"),
        ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "backups-public-access"),
        ("aws:s3/bucketVersioning:BucketVersioning", "backups-versioning"),
        (
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            "backups-encryption",
        ),
        ("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "backups-lifecycle"),
        ("aws:s3/bucketPolicy:BucketPolicy", "backups-policy"),
        ("aws:iam/user:User", "backups-clickhouse-user"),
        ("aws:iam/userPolicy:UserPolicy", "backups-clickhouse-user-policy"),
        (ACCESS_KEY, "backups-clickhouse-key-1"),
        (COMMAND, "backups-named-collection"),
        ("aws:cloudwatch/metricAlarm:MetricAlarm", "backups-stale"),
    }
    assert set(component.registered_outputs or {}) == {"bucket_name", "bucket_arn", "function_name", "collection_name"}
    assert result.outputs["backup_bucket_name"] == bucket_of(stack)
    assert "backup_bucket_name" not in result.secret_outputs


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_bucket_is_private_versioned_encrypted_and_protected(stack: str) -> None:
    result = planned(stack)
    bucket = resource(result, "aws:s3/bucket:Bucket", "backups-bucket")
    name = bucket_of(stack)
    assert bucket.inputs["bucket"] == name and bucket.protect and bucket.inputs["forceDestroy"] is False
    assert bucket.inputs["tags"]["environment"] == stack

    def config(type_: str, short: str) -> dict[str, Any]:
        found = resource(result, type_, f"backups-{short}").inputs
        assert found["bucket"] == name
        return found

    assert config("aws:s3/bucketVersioning:BucketVersioning", "versioning")["versioningConfiguration"] == {
        "status": "Enabled"
    }
    encryption = config(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "encryption"
    )
    assert encryption["rules"] == [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]
    block = config("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "public-access")
    assert {
        k: block[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    } == (dict.fromkeys(("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"), True))
    ownership = config("aws:s3/bucketOwnershipControls:BucketOwnershipControls", "ownership")
    assert ownership["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    policy = json.loads(config("aws:s3/bucketPolicy:BucketPolicy", "policy")["policy"])
    resources = [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"]
    assert policy["Statement"] == [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": resources,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
        {
            "Sid": "DenyOutdatedTls",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": resources,
            "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}},
        },
    ]
    versioning = resource(result, "aws:s3/bucketVersioning:BucketVersioning", "backups-versioning")
    assert (
        versioning.urn
        in resource(
            result, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "backups-lifecycle"
        ).dependencies
    )


def lifecycle(result: PlanResult) -> dict[str, dict[str, Any]]:
    rules = resource(result, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "backups-lifecycle")
    return {rule["id"]: rule for rule in rules.inputs["rules"]}


def test_lifecycle_follows_each_stack_file() -> None:
    prod = lifecycle(planned("prod"))
    assert prod["expire-old-backups"] == {
        "id": "expire-old-backups",
        "status": "Enabled",
        "filter": {"prefix": "clickhouse/prices/"},
        "transitions": [{"days": 30, "storageClass": "STANDARD_IA"}],
        "expiration": {"days": 60},
        "noncurrentVersionExpiration": {"noncurrentDays": 7},
        "abortIncompleteMultipartUpload": {"daysAfterInitiation": 2},
    }
    assert prod["remove-expired-delete-markers"] == {
        "id": "remove-expired-delete-markers",
        "status": "Enabled",
        "filter": {"prefix": "clickhouse/prices/"},
        "expiration": {"expiredObjectDeleteMarker": True},
    }
    dev = lifecycle(planned("dev"))["expire-old-backups"]
    assert "transitions" not in dev
    assert (dev["expiration"], dev["noncurrentVersionExpiration"]) == ({"days": 14}, {"noncurrentDays": 3})


def test_lifecycle_and_prefix_changes_reach_the_plan() -> None:
    raw, _ = stack_file_config("dev")
    changed = {
        **raw["backups"],
        "prefix": "ch/prices-dev",
        "lifecycle": {"transitionAfterDays": 0, "transitionStorageClass": "GLACIER_IR", "expireAfterDays": 120},
    }
    with pytest.raises(ProgramError, match=r"backups\.lifecycle\.transitionAfterDays'"):
        run("dev", config_overrides={"backups": changed})
    changed["lifecycle"] = {"transitionAfterDays": 10, "transitionStorageClass": "GLACIER_IR", "expireAfterDays": 120}
    result = run("dev", config_overrides={"backups": changed})
    rule = lifecycle(result)["expire-old-backups"]
    assert rule["transitions"] == [{"days": 10, "storageClass": "GLACIER_IR"}]
    assert rule["filter"] == {"prefix": "ch/prices-dev/"}
    policy = json.loads(
        resource(result, "aws:iam/userPolicy:UserPolicy", "backups-clickhouse-user-policy").inputs["policy"]
    )
    assert policy == clickhouse_user_policy(bucket_of("dev"), "ch/prices-dev")


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_server_key_may_touch_only_the_backup_prefix(stack: str) -> None:
    result = planned(stack)
    name = bucket_of(stack)
    user = resource(result, "aws:iam/user:User", "backups-clickhouse-user")
    assert (user.inputs["name"], user.inputs["path"]) == (f"prices-{stack}-clickhouse-backup", "/prices/")
    policy_resource = resource(result, "aws:iam/userPolicy:UserPolicy", "backups-clickhouse-user-policy")
    assert policy_resource.inputs["user"] == user.outputs["name"]
    assert json.loads(policy_resource.inputs["policy"]) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "WriteAndReadBackups",
                "Effect": "Allow",
                "Action": ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"],
                "Resource": f"arn:aws:s3:::{name}/clickhouse/prices/*",
            },
            {
                "Sid": "RemoveBackupLockFiles",
                "Effect": "Allow",
                "Action": "s3:DeleteObject",
                "Resource": f"arn:aws:s3:::{name}/clickhouse/prices/*/.lock",
            },
            {
                "Sid": "ListBackupPrefix",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": f"arn:aws:s3:::{name}",
                "Condition": {"StringLike": {"s3:prefix": ["clickhouse/prices/*"]}},
            },
        ],
    }
    # No other identity for the server: no groups, managed policies or second key.
    assert len(result.of_type(ACCESS_KEY)) == 1
    assert not result.of_type("aws:iam/userPolicyAttachment:UserPolicyAttachment")


def test_bumping_the_key_generation_replaces_the_key() -> None:
    raw, _ = stack_file_config("prod")
    result = run("prod", config_overrides={"backups": {**raw["backups"], "accessKeyGeneration": 2}})
    assert [k.name for k in result.of_type(ACCESS_KEY)] == ["backups-clickhouse-key-2"]


def server_key(result: PlanResult) -> tuple[str, str]:
    """The access key id and secret the provider returns (offline/mocks.py gives key-shaped fakes)."""
    key = resource(result, ACCESS_KEY, "backups-clickhouse-key-1")
    assert key.id is not None and key.id.startswith("AKIA")
    return key.id, str(key.outputs["secret"])


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_key_lives_only_in_secret_outputs(stack: str) -> None:
    result = planned(stack)
    key_id, secret = server_key(result)
    assert len(secret) == 40
    assert "secret" in resource(result, ACCESS_KEY, "backups-clickhouse-key-1").additional_secret_outputs
    push = resource(result, COMMAND, "backups-named-collection")
    assert push.inputs["stdin"] == f"{key_id}\n{secret}\n"
    assert push.input_is_secret("stdin") and "stdin" in push.additional_secret_outputs
    assert secret in result.secret_values()
    # A new key pushes again: the first trigger is the key id's hash, never the id or the secret.
    assert push.inputs["triggers"][0] == hashlib.sha256(key_id.encode()).hexdigest()
    # Nowhere in plain sight: stack outputs, any resource's plain inputs, the script, any Lambda environment.
    assert secret not in json.dumps({k: v for k, v in result.outputs.items() if k not in result.secret_outputs})
    assert secret not in push.inputs["create"]
    for r in result.resources:
        plain = {k: v for k, v in r.inputs.items() if not r.input_is_secret(k)}
        assert secret not in json.dumps(plain, default=str), r.urn
    for fn in result.of_type("aws:lambda/function:Function"):
        assert secret not in json.dumps(fn.inputs.get("environment"))
        assert key_id not in json.dumps(fn.inputs.get("environment"))
    raw, _ = stack_file_config(stack)
    assert [str(v) for v in run_all(result, raw["network"]["adminCidrs"])] == []


def test_the_push_script_writes_the_named_collection_from_stdin(tmp_path: Path) -> None:
    result = planned("prod")
    key_id, secret = server_key(result)
    push = resource(result, COMMAND, "backups-named-collection")
    url = f"https://{bucket_of('prod')}.s3.eu-central-1.amazonaws.com/"
    assert url == collection_url(bucket_of("prod"), "eu-central-1")
    raw, _ = stack_file_config("prod")
    client = raw["clickhouse"]["clientCommand"]
    assert push.inputs["create"] == named_collection_script(client, "prices_backups", url)
    assert push.inputs["connection"]["host"] == raw["clickhouse"]["serverIpv4"]
    assert push.inputs["connection"]["user"] == raw["clickhouse"]["sshUser"]
    assert len(push.inputs["triggers"]) == 2 and key_id not in json.dumps(push.inputs["triggers"])
    database = resource(result, COMMAND, "clickhouse-apply-schema-and-grants")
    user_policy = resource(result, "aws:iam/userPolicy:UserPolicy", "backups-clickhouse-user-policy")
    assert {database.urn, user_policy.urn} <= set(push.dependencies)

    # The deployed script, run for real with clickhouse-client replaced by a file.
    sql_file = tmp_path / "pushed.sql"
    script = push.inputs["create"].replace(client, f"cat > {sql_file}")
    done = subprocess.run(
        ["bash", "-c", script], input=push.inputs["stdin"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    fields = f"url = '{url}', access_key_id = '{key_id}', secret_access_key = '{secret}'"
    assert sql_file.read_text() == (
        f"CREATE NAMED COLLECTION IF NOT EXISTS prices_backups AS {fields};\n"
        f"ALTER NAMED COLLECTION prices_backups SET {fields};\n"
    )
    assert secret not in done.stdout + done.stderr


def test_on_a_cluster_the_key_never_enters_the_distributed_ddl_queue(tmp_path: Path) -> None:
    # ON CLUSTER would keep the statement, key included, in Keeper and in the unmasked
    # system.distributed_ddl_queue: the collection is pushed to the edge's replica only (docs/backups.md).
    raw, _ = stack_file_config("prod")
    result = run("prod", config_overrides={"clickhouse": {**raw["clickhouse"], "cluster": {"name": "prices"}}})
    assert result.outputs["clickhouse_schema_mode"] == "on-cluster cluster prices"
    push = resource(result, COMMAND, "backups-named-collection")
    sql_file = tmp_path / "pushed.sql"
    script = push.inputs["create"].replace(raw["clickhouse"]["clientCommand"], f"cat > {sql_file}")
    done = subprocess.run(
        ["bash", "-c", script], input=push.inputs["stdin"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    create, alter = sql_file.read_text().splitlines()
    assert create.startswith("CREATE NAMED COLLECTION IF NOT EXISTS prices_backups AS url = ")
    assert alter.startswith("ALTER NAMED COLLECTION prices_backups SET url = ")
    assert "CLUSTER" not in push.inputs["create"]


@pytest.mark.parametrize(
    ("stdin", "line"),
    [
        ("k-8133bc8\nNone\n", "line 1"),  # what a provider without the key would hand over
        (f"{FAKE_KEY_ID}\nshort\n", "line 2"),
        (f"{FAKE_KEY_ID}\n{FAKE_SECRET[:39]}'\n", "line 2"),
        (f"{FAKE_KEY_ID}\n", "line 2"),
    ],
)
def test_the_push_script_refuses_anything_but_a_key(stdin: str, line: str, tmp_path: Path) -> None:
    sql_file = tmp_path / "pushed.sql"
    script = named_collection_script(f"cat > {sql_file}", "prices_backups", "https://b.s3.eu-central-1.amazonaws.com/")
    done = subprocess.run(["bash", "-c", script], input=stdin, capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert f"named collection prices_backups: stdin {line} is not an AWS" in done.stderr
    assert not sql_file.exists()


@pytest.mark.parametrize(
    ("collection", "url"),
    [
        ("prices-backups", "https://b.s3.eu-central-1.amazonaws.com/"),
        ("prices_backups\n", "https://b.s3.eu-central-1.amazonaws.com/"),
        ("prices_backups", "https://b/'; DROP x; '/"),
        ("prices_backups", "https://b.s3.eu-central-1.amazonaws.com/\n"),
    ],
)
def test_the_push_script_refuses_names_and_urls_that_would_break_out(collection: str, url: str) -> None:
    with pytest.raises(ValueError, match="named collection"):
        named_collection_script("clickhouse-client", collection, url)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_job_runs_hourly_with_its_own_least_privilege_role(stack: str) -> None:
    result = planned(stack)
    fn = resource(result, "aws:lambda/function:Function", "backups-job")
    assert fn.inputs["name"] == f"prices-{stack}-backup"
    assert fn.inputs["handler"] == "lambdas.workers.backup.handler"
    assert (fn.inputs["timeout"], fn.inputs["memorySize"]) == (60, 256)
    rule = resource(result, "aws:cloudwatch/eventRule:EventRule", "backups-job-schedule")
    assert rule.inputs["scheduleExpression"] == "rate(1 hour)"
    target = resource(result, "aws:cloudwatch/eventTarget:EventTarget", "backups-job-target")
    assert target.inputs["arn"] == fn.outputs["arn"]
    permission = resource(result, "aws:lambda/permission:Permission", "backups-job-invoke")
    assert (permission.inputs["principal"], permission.inputs["sourceArn"]) == (
        "events.amazonaws.com",
        rule.outputs["arn"],
    )
    statements = {
        s["Sid"]: s
        for s in json.loads(resource(result, "aws:iam/rolePolicy:RolePolicy", "backups-job-policy").inputs["policy"])[
            "Statement"
        ]
    }
    name = bucket_of(stack)
    assert statements["ReadIngestionMtlsBundle"]["Resource"] == result.outputs["mtls_secret_arns"]["ingestion"]
    assert statements["ListBackupDirectories"] == {
        "Sid": "ListBackupDirectories",
        "Effect": "Allow",
        "Action": "s3:ListBucket",
        "Resource": f"arn:aws:s3:::{name}",
        "Condition": {"StringLike": {"s3:prefix": ["clickhouse/prices/*"]}},
    }
    assert statements["ReadBackupManifests"] == {
        "Sid": "ReadBackupManifests",
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{name}/clickhouse/prices/*/.backup",
    }
    # Nothing else: the job never writes to the bucket, and only the MonitoredFunction baseline besides.
    assert set(statements) == {
        "ReadIngestionMtlsBundle",
        "ListBackupDirectories",
        "ReadBackupManifests",
        "WriteOwnLogs",
        "AnyResourceMetrics",
        "AnyResourceXray",
    }
    assert statements["AnyResourceMetrics"]["Condition"] == {"StringEquals": {"cloudwatch:namespace": "Prices/Backup"}}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_deployed_environment_is_what_the_handler_reads(stack: str) -> None:
    result = planned(stack)
    fn = resource(result, "aws:lambda/function:Function", "backups-job")
    variables = fn.inputs["environment"]["variables"]
    settings = load_env_settings(backup.SETTINGS_MODEL, variables, "backup")
    assert settings.BACKUP_BUCKET == bucket_of(stack) == result.outputs["backup_bucket_name"]
    assert (settings.BACKUP_COLLECTION, settings.BACKUP_PREFIX) == ("prices_backups", "clickhouse/prices")
    assert (settings.BACKUP_HOUR_UTC, settings.BACKUP_MAX_AGE_HOURS) == (3, 26)
    assert result.outputs["mtls_secret_names"]["ingestion"] == settings.MTLS_SECRET_NAME
    assert result.outputs["clickhouse_endpoint"] == settings.CLICKHOUSE_URL
    assert (variables["POWERTOOLS_SERVICE_NAME"], variables["POWERTOOLS_METRICS_NAMESPACE"]) == (
        "backup",
        "Prices/Backup",
    )
    # Every variable the function gets is one the handler's model reads (no stale or unread setting).
    read = set(backup.SETTINGS_MODEL.model_fields) | {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE"}
    assert set(variables) <= read
    module_name, _, attribute = fn.inputs["handler"].rpartition(".")
    assert callable(getattr(importlib.import_module(module_name), attribute))


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_alarms_watch_the_job_and_the_freshness_of_the_newest_backup(stack: str) -> None:
    result = planned(stack)
    topic = [result.outputs["ops_alarm_topic_arn"]]
    alarms = {
        a.name: a for a in result.of_type("aws:cloudwatch/metricAlarm:MetricAlarm") if a.name.startswith("backups-")
    }
    assert set(alarms) == {
        "backups-stale",
        "backups-job-errors",
        "backups-job-duration-near-timeout",
        "backups-job-no-invocations",
    }
    for alarm in alarms.values():
        assert alarm.inputs["alarmActions"] == topic and alarm.inputs["okActions"] == topic
    stale = alarms["backups-stale"].inputs
    assert stale["name"] == f"prices-{stack}-backup-stale"
    queries = {q["id"]: q for q in stale["metricQueries"]}
    assert queries["fresh"]["metric"] == {
        "namespace": "Prices/Backup",
        "metricName": "BackupSucceeded",
        "dimensions": {"service": "backup"},
        "stat": "Maximum",
        "period": 3600,
    }
    assert queries["filled"]["expression"] == "FILL(fresh, 0)" and queries["filled"]["returnData"] is True
    assert (stale["comparisonOperator"], stale["threshold"], stale["treatMissingData"]) == (
        "LessThanThreshold",
        1,
        "breaching",
    )
    assert stale["evaluationPeriods"] == stale["datapointsToAlarm"] == 2
    silence = {q["id"]: q for q in alarms["backups-job-no-invocations"].inputs["metricQueries"]}
    assert silence["invocations"]["metric"]["period"] == 3600


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_backup_costs_are_in_the_plan(stack: str) -> None:
    result = planned(stack)
    lines = {line["item"]: line for line in result.outputs["monthly_cost_lines"]}
    settings = load_settings(stack, *stack_file_config(stack))
    expected = {line.item: line for line in backup_cost_lines(settings, alarms=4)}
    assert set(expected) == {"backup storage", "backup uploads and transitions", "backup job", "backup alarms"}
    for item, line in expected.items():
        assert lines[item]["usd"] == round(line.usd, 2) and lines[item]["category"] == line.category
    assert lines["backup alarms"]["usd"] == 0.4


def test_backup_cost_follows_size_retention_and_storage_class() -> None:
    raw, region = stack_file_config("prod")
    base = load_settings("prod", raw, region)

    def storage(**lifecycle: Any) -> float:
        backups = {**raw["backups"], "lifecycle": {**raw["backups"]["lifecycle"], **lifecycle}}
        settings = load_settings("prod", {**raw, "backups": backups}, region)
        return next(line.usd for line in backup_cost_lines(settings, alarms=4) if line.item == "backup storage")

    size = base.backups.assumed_backup_size_gb
    # 30 days in Standard + 30 in Standard-IA (prod) at the dated list prices.
    assert storage() == pytest.approx(size * (30 * 0.0245 + 30 * 0.0135))
    assert storage(transitionAfterDays=None) == pytest.approx(size * 60 * 0.0245)
    assert storage(transitionStorageClass="GLACIER_IR", expireAfterDays=120) == pytest.approx(
        size * (30 * 0.0245 + 90 * 0.005)
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"schedule": "rate(2 hours)"}, r"prices-api:backups': schedule 'rate\(2 hours\)' must run at least once"),
        ({"prefix": "clickhouse/prices/"}, r"prices-api:backups.prefix': a key prefix"),
        ({"maxBackupAgeHours": 12}, r"prices-api:backups.maxBackupAgeHours'"),
        ({"bucketName": "Backups_Bucket"}, r"prices-api:backups.bucketName': an S3 bucket name"),
        ({"lifecycle": {"transitionAfterDays": 10}}, r"transitionAfterDays must be at least 30 for STANDARD_IA"),
        (
            {"lifecycle": {"transitionAfterDays": 30, "expireAfterDays": 45}},
            r"expireAfterDays 45 leaves backups only 15 days in STANDARD_IA",
        ),
    ],
)
def test_bad_backup_settings_fail_with_a_clear_message(change: dict[str, Any], message: str) -> None:
    raw, region = stack_file_config("prod")
    raw["backups"] = {**raw["backups"], **change}
    with pytest.raises(SettingsError, match=message):
        load_settings("prod", raw, region)


def test_a_configured_bucket_name_is_used_as_is() -> None:
    raw, _ = stack_file_config("dev")
    result = run("dev", config_overrides={"backups": {**raw["backups"], "bucketName": "acme-prices-dev-backups"}})
    assert result.outputs["backup_bucket_name"] == "acme-prices-dev-backups"
    fn = resource(result, "aws:lambda/function:Function", "backups-job")
    assert fn.inputs["environment"]["variables"]["BACKUP_BUCKET"] == "acme-prices-dev-backups"
    assert (
        "acme-prices-dev-backups.s3.eu-central-1.amazonaws.com/"
        in resource(result, COMMAND, "backups-named-collection").inputs["create"]
    )
