"""ClickHouse backups to S3: the bucket, the server's prefix-bound credentials, the named collection, the job.

The reference system's only backup froze the partner's `default` database and never covered `prices`
(reference-system.md §3, §13.18). Here:

* **the bucket** — versioned, SSE-S3 encrypted, public access blocked, owner-enforced ownership, reachable
  over TLS only, with a lifecycle: a cheaper storage class after N days, expiry after M days, noncurrent
  versions and incomplete multipart uploads cleaned up (docs/backups.md explains SSE-S3 over KMS);
* **the server's credentials** — ClickHouse runs on Hetzner, outside AWS, so it needs an IAM user's access
  key. Its policy allows only what the engine does while backing up and restoring, on `<bucket>/<prefix>/*`:
  PutObject, GetObject, AbortMultipartUpload, DeleteObject on the engine's `.lock` files only (a backup fails
  without it, tested), and ListBucket under the prefix;
* **the named collection** — the key reaches the server over SSH (pulumi-command) as stdin of a script that
  checks its shape and feeds `CREATE NAMED COLLECTION` / `ALTER NAMED COLLECTION` to clickhouse-client. The key
  exists only in secret outputs (the AccessKey's `secret`, the command's `stdin`); the Lambda's SQL names the
  collection, never a credential;
* **the job** (lambdas/workers/backup.py) — a `ScheduledFunction` that starts `BACKUP ... ASYNC` and watches it,
  with its own role (its mTLS bundle, listing the prefix, reading `.backup` manifests), plus an alarm when no
  fresh complete backup exists (`BackupSucceeded`, FILL: a silent job is a failing job).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_command as command

from components.alarms import catalog_dimensions
from components.function import silence_alarm
from components.packaging import BuiltPackage
from components.settings import BackupLifecycleSettings, BackupSettings
from components.workers import ScheduledFunction, ScheduledFunctionArgs, read_secrets_statement
from lambdas.common import metric_catalog as mc
from schema.rbac import BACKUP_COLLECTION, COLLECTION_NAME_RE

HANDLER = "lambdas.workers.backup.handler"
SERVICE = mc.BACKUP_SUCCEEDED.service
METRICS_NAMESPACE = mc.BACKUP
# The engine takes a lock file per backup and deletes it when done (checked on engine 26.9).
LOCK_FILE = ".lock"
MANIFEST = ".backup"
_COLLECTION_URL = re.compile(r"^https://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\.s3\.[a-z]{2}(-[a-z]+)+-\d\.amazonaws\.com/$")
# What may appear inside the script's SQL literal and shell double quotes (collection_url decides the endpoint).
# \Z, not $: `$` also matches before a trailing newline, which would break the script's line.
_LITERAL_SAFE_URL = re.compile(r"^https?://[A-Za-z0-9.:-]+/([A-Za-z0-9._-]+/)*\Z")
# What an AWS access key looks like; the script refuses anything else before it reaches SQL text.
ACCESS_KEY_ID_PATTERN = "^[A-Z0-9]{16,128}$"
SECRET_ACCESS_KEY_PATTERN = "^[A-Za-z0-9/+=]{40}$"  # noqa: S105 (a shape, not a secret)


def default_bucket_name(name_prefix: str, account_id: str) -> str:
    return f"{name_prefix}-clickhouse-backups-{account_id}"


def bucket_arn(bucket: str) -> str:
    return f"arn:aws:s3:::{bucket}"


def collection_url(bucket: str, region: str) -> str:
    """The bucket's virtual-hosted endpoint; the job appends `<prefix>/<timestamp>` to it."""
    url = f"https://{bucket}.s3.{region}.amazonaws.com/"
    if not _COLLECTION_URL.match(url):
        raise ValueError(f"bucket {bucket!r} in region {region!r} does not make an S3 endpoint URL")
    return url


def clickhouse_user_policy(bucket: str, prefix: str) -> dict[str, Any]:
    """What the ClickHouse server may do in the bucket: back up into and restore from `<prefix>/`, nothing else."""
    objects = f"{bucket_arn(bucket)}/{prefix}/*"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "WriteAndReadBackups",
                "Effect": "Allow",
                "Action": ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"],
                "Resource": objects,
            },
            {
                # BACKUP deletes its lock file at the end and fails if it cannot; nothing else may be deleted.
                "Sid": "RemoveBackupLockFiles",
                "Effect": "Allow",
                "Action": "s3:DeleteObject",
                "Resource": f"{bucket_arn(bucket)}/{prefix}/*/{LOCK_FILE}",
            },
            {
                "Sid": "ListBackupPrefix",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": bucket_arn(bucket),
                "Condition": {"StringLike": {"s3:prefix": [f"{prefix}/*"]}},
            },
        ],
    }


def backup_job_statements(bucket: str, prefix: str, mtls_secret_arn: str) -> list[dict[str, Any]]:
    """The backup job's own grants: its mTLS bundle, and seeing which backups in the bucket are complete."""
    return [
        read_secrets_statement("ReadIngestionMtlsBundle", [mtls_secret_arn]),
        {
            "Sid": "ListBackupDirectories",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": bucket_arn(bucket),
            "Condition": {"StringLike": {"s3:prefix": [f"{prefix}/*"]}},
        },
        {
            # HeadObject of a manifest: the engine writes it last, so it marks a complete backup.
            "Sid": "ReadBackupManifests",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": f"{bucket_arn(bucket)}/{prefix}/*/{MANIFEST}",
        },
    ]


def bucket_policy(bucket: str) -> dict[str, Any]:
    """TLS only (1.2 or later), for every principal, the account's own included."""
    resources = [bucket_arn(bucket), f"{bucket_arn(bucket)}/*"]
    return {
        "Version": "2012-10-17",
        "Statement": [
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
        ],
    }


def lifecycle_rules(life: BackupLifecycleSettings, prefix: str) -> list[dict[str, Any]]:
    """The bucket's lifecycle rules (the provider's rule dicts)."""
    scoped = {"prefix": f"{prefix}/"}
    backups: dict[str, Any] = {
        "id": "expire-old-backups",
        "status": "Enabled",
        "filter": scoped,
        "expiration": {"days": life.expire_after_days},
        "noncurrent_version_expiration": {"noncurrent_days": life.noncurrent_expire_after_days},
        "abort_incomplete_multipart_upload": {"days_after_initiation": life.abort_incomplete_multipart_after_days},
    }
    if life.transition_after_days is not None:
        backups["transitions"] = [{"days": life.transition_after_days, "storage_class": life.transition_storage_class}]
    return [
        backups,
        {
            # Expiry leaves a delete marker over the noncurrent versions; once those expire, drop the marker too
            # (S3 allows ExpiredObjectDeleteMarker only in a rule without Days).
            "id": "remove-expired-delete-markers",
            "status": "Enabled",
            "filter": scoped,
            "expiration": {"expired_object_delete_marker": True},
        },
    ]


def named_collection_script(client_command: str, collection: str, url: str) -> str:
    """Read an access key id and secret (two lines of stdin), check their shape, and create or update the
    named collection through clickhouse-client. The key never appears in the script or a command line:
    `printf` is a shell builtin, and the SQL reaches clickhouse-client on its stdin. Never ON CLUSTER, even in
    cluster mode: a distributed DDL statement is kept as written in Keeper's queue and in the unmasked
    `system.distributed_ddl_queue`, which would store the key in plain text (docs/backups.md)."""
    if not COLLECTION_NAME_RE.match(collection):
        raise ValueError(f"named collection {collection!r}: expected a lower-case ClickHouse identifier")
    if not _LITERAL_SAFE_URL.match(url):
        raise ValueError(f"named collection url {url!r}: expected http(s)://host[:port]/[path/] without quotes")
    fields = "url = '%s', access_key_id = '%s', secret_access_key = '%s'"
    return (
        "\n".join(
            [
                "set -euo pipefail",
                "IFS= read -r key_id || true",
                "IFS= read -r secret || true",
                f"if ! [[ $key_id =~ {ACCESS_KEY_ID_PATTERN} ]]; then",
                f'  echo "named collection {collection}: stdin line 1 is not an AWS access key id" >&2',
                "  exit 1",
                "fi",
                f"if ! [[ $secret =~ {SECRET_ACCESS_KEY_PATTERN} ]]; then",
                f'  echo "named collection {collection}: stdin line 2 is not an AWS secret access key" >&2',
                "  exit 1",
                "fi",
                "{",
                f'  printf "CREATE NAMED COLLECTION IF NOT EXISTS {collection} AS {fields};\\n" '
                f'"{url}" "$key_id" "$secret"',
                f'  printf "ALTER NAMED COLLECTION {collection} SET {fields};\\n" "{url}" "$key_id" "$secret"',
                f"}} | {client_command}",
                f'echo "named collection {collection} points at {url}"',
            ]
        )
        + "\n"
    )


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class BackupsArgs:
    name_prefix: str
    settings: BackupSettings
    aws_region: str
    # SSH to the ClickHouse host (components.sidecar.ClickHouseTarget.connection()) and its admin client there.
    ssh: command.remote.ConnectionArgs
    client_command: str
    clickhouse_url: str
    code: BuiltPackage
    mtls_secret_name: str
    mtls_secret_arn: pulumi.Input[str]
    alarm_topic_arn: pulumi.Input[str]
    tags: dict[str, str]
    # What must exist on the server before the collection is pushed (the database and its grants, the host).
    server_depends_on: Sequence[pulumi.Resource] = field(default_factory=tuple)


class Backups(pulumi.ComponentResource):
    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    function_name: pulumi.Output[str]
    collection_name: str
    alarm_names: tuple[str, ...]

    def __init__(self, name: str, args: BackupsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("prices:backups:Backups", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        s, tags, prefix = args.settings, dict(args.tags), args.settings.prefix

        bucket_name: pulumi.Output[str] = (
            pulumi.Output.from_input(s.bucket_name)
            if s.bucket_name
            else aws.get_caller_identity_output().account_id.apply(
                lambda account: default_bucket_name(args.name_prefix, account)
            )
        )

        # -- the bucket ---------------------------------------------------------------------------------------
        bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket=bucket_name,
            # Versioned backups are what a restore needs; never destroyed with the stack by accident.
            force_destroy=False,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket.bucket,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child,
        )
        public_access = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=bucket.bucket,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket.bucket,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.bucket,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="AES256"
                    ),
                )
            ],
            opts=child,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket.bucket,
            rules=lifecycle_rules(s.lifecycle, prefix),  # type: ignore[arg-type]
            # Noncurrent-version rules need versioning in place first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]),
        )
        aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=bucket.bucket,
            policy=pulumi.Output.json_dumps(bucket.bucket.apply(bucket_policy)),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access]),
        )

        # -- the ClickHouse server's credentials and named collection -------------------------------------------
        user = aws.iam.User(
            f"{name}-clickhouse-user",
            name=f"{args.name_prefix}-clickhouse-backup",
            path="/prices/",
            tags=tags,
            opts=child,
        )
        user_policy = aws.iam.UserPolicy(
            f"{name}-clickhouse-user-policy",
            name="backups-prefix-only",
            user=user.name,
            policy=pulumi.Output.json_dumps(bucket.bucket.apply(lambda b: clickhouse_user_policy(b, prefix))),
            opts=child,
        )
        # A new generation is created before the old key is deleted, and pushed in between.
        key = aws.iam.AccessKey(
            f"{name}-clickhouse-key-{s.access_key_generation}",
            user=user.name,
            opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["secret"]),
        )
        script = bucket.bucket.apply(
            lambda b: named_collection_script(
                args.client_command, BACKUP_COLLECTION, collection_url(b, args.aws_region)
            )
        )
        credentials: pulumi.Output[str] = pulumi.Output.secret(
            pulumi.Output.all(key.id, key.secret).apply(lambda v: f"{v[0]}\n{v[1]}\n")
        )
        command.remote.Command(
            f"{name}-named-collection",
            connection=args.ssh,
            create=script,
            stdin=credentials,
            # A new key (its id changes) or a new script pushes again; neither hash reveals the secret.
            triggers=[key.id.apply(_sha256), script.apply(_sha256)],
            opts=pulumi.ResourceOptions(
                parent=self,
                additional_secret_outputs=["stdin"],
                depends_on=[user_policy, *args.server_depends_on],
            ),
        )

        # -- the job ------------------------------------------------------------------------------------------
        job = ScheduledFunction(
            f"{name}-job",
            ScheduledFunctionArgs(
                function_name=f"{args.name_prefix}-backup",
                description="Starts BACKUP DATABASE prices TO S3 (async) daily and watches the backups",
                handler=HANDLER,
                code=args.code,
                settings=s,
                environment={
                    "CLICKHOUSE_URL": args.clickhouse_url,
                    # BACKUP runs as the writer (prices_writer), the identity granted BACKUP on prices.*.
                    "MTLS_SECRET_NAME": args.mtls_secret_name,
                    "BACKUP_COLLECTION": BACKUP_COLLECTION,
                    "BACKUP_PREFIX": prefix,
                    "BACKUP_BUCKET": bucket.bucket,
                    "BACKUP_HOUR_UTC": str(s.backup_hour_utc),
                    "BACKUP_MAX_AGE_HOURS": str(s.max_backup_age_hours),
                    "POWERTOOLS_SERVICE_NAME": SERVICE,
                    "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                },
                statements=pulumi.Output.all(bucket.bucket, args.mtls_secret_arn).apply(
                    lambda v: backup_job_statements(v[0], prefix, v[1])
                ),
                metrics_namespace=METRICS_NAMESPACE,
                alarm_topic_arn=args.alarm_topic_arn,
                tags=tags,
            ),
            opts=child,
        )

        # The outcome, not the machinery: no fresh complete backup in the bucket, whatever the job reports.
        stale = f"{args.name_prefix}-backup-stale"
        runs = 2
        silence_alarm(
            f"{name}-stale",
            alarm_name=stale,
            description=(
                f"No complete backup younger than {s.max_backup_age_hours} h in the bucket for {runs} runs of "
                f"{args.name_prefix}-backup (or the job stopped publishing). See docs/backups.md and "
                "docs/runbooks/restore-from-backup.md"
            ),
            metric_id="fresh",
            metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                namespace=mc.BACKUP_SUCCEEDED.namespace,
                metric_name=mc.BACKUP_SUCCEEDED.name,
                dimensions=catalog_dimensions(mc.BACKUP_SUCCEEDED),
                stat="Maximum",
                period=s.cadence_period_seconds,
            ),
            label="Fresh complete backup",
            periods=runs,
            topic_arn=args.alarm_topic_arn,
            tags=tags,
            opts=child,
        )

        self.bucket_name = bucket.bucket
        self.bucket_arn = bucket.bucket.apply(bucket_arn)
        self.function_name = job.function_name
        self.collection_name = BACKUP_COLLECTION
        self.alarm_names = (*job.alarm_names, stale)
        self.register_outputs(
            {
                "bucket_name": self.bucket_name,
                "bucket_arn": self.bucket_arn,
                "function_name": self.function_name,
                "collection_name": self.collection_name,
            }
        )
