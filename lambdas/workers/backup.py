"""Backup job: `BACKUP DATABASE prices TO S3(<named collection>, '<prefix>/<timestamp>') ASYNC`, then watch it.

A backup of the whole database can outlast any Lambda timeout (15 min), so the job never waits for one. It runs
on a schedule (hourly by default) and each run:

1. reads our backups from `system.backups` (running, created, failed) and the newest *complete* backup from the
   bucket itself — a directory whose `.backup` manifest exists; the engine writes the manifest last, and
   `system.backups` is in memory, so the bucket is the witness that survives a server restart;
2. publishes `BackupSucceeded` (1 while the newest complete backup is younger than `BACKUP_MAX_AGE_HOURS`,
   else 0: a level the alarm can watch) and `BackupBytes` of that backup when the engine still knows its size;
3. starts a backup when none is running and the daily one is due (the `BACKUP_HOUR_UTC` hour, none in the last
   20 h), or the newest complete backup is too old, or the last attempt failed (a retry every run);
4. fails the invocation (the function's errors alarm) when the last attempt failed or the engine reports a
   backup created that the bucket does not hold.

The SQL carries no secret: the S3 credentials live in the server's named collection (components/backups.py
pushes it over SSH). The collection and the path are bound query parameters. The function writes as the
ingestion identity (`prices_writer`, granted BACKUP on `prices.*`, the named collection and `system.backups`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError
from pydantic import Field, field_validator

from lambdas.common import metric_catalog as mc
from lambdas.common.edge_clickhouse import ClickHouseProvider, EdgeClickHouse
from lambdas.common.runtime_slot import RuntimeSlot
from lambdas.common.settings import EdgeSettings, load_env_settings
from lambdas.workers.scaffold import worker_powertools

DATABASE = "prices"
# Backup directories are named by their start time, so they sort by age.
NAME_FORMAT = "%Y%m%dT%H%M%SZ"
_NAME = re.compile(r"^\d{8}T\d{6}Z$")
_PREFIX = re.compile(r"^[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_-]*)*$")
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
MANIFEST = ".backup"
# How many of the newest backup directories are probed for a manifest (a failed or interrupted backup leaves a
# directory without one).
MANIFEST_PROBES = 5
# The daily backup counts as done when one started or completed this recently.
DAILY_GUARD = timedelta(hours=20)
RUNNING, CREATED = "CREATING_BACKUP", "BACKUP_CREATED"
FAILED = frozenset({"BACKUP_FAILED", "BACKUP_CANCELLED"})

logger, metrics, tracer, catalog = worker_powertools(mc.BACKUP_SUCCEEDED)


class BackupJobSettings(EdgeSettings):
    """The environment components/backups.py sets: where backups go, and when they are due."""

    BACKUP_COLLECTION: str
    BACKUP_PREFIX: str
    BACKUP_BUCKET: str
    BACKUP_HOUR_UTC: int = Field(ge=0, le=23)
    BACKUP_MAX_AGE_HOURS: int = Field(ge=1)

    @field_validator("BACKUP_COLLECTION")
    @classmethod
    def _collection(cls, value: str) -> str:
        if not _IDENTIFIER.match(value):
            raise ValueError(f"must be a ClickHouse identifier (named collection), got {value!r}")
        return value

    @field_validator("BACKUP_PREFIX")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not _PREFIX.match(value):
            raise ValueError(f"must be a key prefix like clickhouse/prices (no leading or trailing /), got {value!r}")
        return value

    @field_validator("BACKUP_BUCKET")
    @classmethod
    def _bucket(cls, value: str) -> str:
        if not _BUCKET.match(value):
            raise ValueError(f"must be an S3 bucket name, got {value!r}")
        return value


SETTINGS_MODEL = BackupJobSettings


class BackupFailedError(RuntimeError):
    """The newest backup attempt failed, or a reported backup is missing from the bucket."""


@dataclass(frozen=True)
class Attempt:
    """One of our backups as `system.backups` reports it."""

    backup_id: str
    path: str
    status: str
    error: str
    started_at: datetime
    total_size: int


@dataclass(frozen=True)
class StoredBackup:
    """A complete backup in the bucket: its directory holds the manifest."""

    path: str
    completed_at: datetime


@dataclass(frozen=True)
class Decision:
    start: bool
    reason: str
    fresh: bool
    failure: str | None
    newest_bytes: int | None


def backup_path(prefix: str, when: datetime) -> str:
    return f"{prefix}/{when.astimezone(UTC).strftime(NAME_FORMAT)}"


def destination_prefix(collection: str, prefix: str) -> str:
    """How `system.backups.name` starts for our backups: `S3(<collection>, '<prefix>/...')`."""
    return f"S3({collection}, '{prefix}/"


def list_attempts(client: Any, collection: str, prefix: str) -> list[Attempt]:
    """Our backups known to the engine, newest first (RESTOREs and other destinations excluded)."""
    destination = destination_prefix(collection, prefix)
    rows = client.query(
        "SELECT id, name, toString(status), error, toUnixTimestamp(start_time), total_size FROM system.backups "
        "WHERE startsWith(name, {destination:String}) "
        "AND status IN ('CREATING_BACKUP', 'BACKUP_CREATED', 'BACKUP_FAILED', 'BACKUP_CANCELLED') "
        "ORDER BY start_time DESC LIMIT 100",
        parameters={"destination": destination},
    ).result_rows
    path_starts = len(f"S3({collection}, '")
    attempts = []
    for backup_id, name, status, error, started, total_size in rows:
        path = str(name)[path_starts:].removesuffix("')")
        attempts.append(
            Attempt(
                backup_id=str(backup_id),
                path=path,
                status=str(status),
                error=str(error),
                started_at=datetime.fromtimestamp(int(started), UTC),
                total_size=int(total_size),
            )
        )
    return attempts


def _not_found(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey", "NotFound")


def newest_stored_backup(s3: Any, bucket: str, prefix: str) -> StoredBackup | None:
    """The newest backup directory under `prefix/` that holds a manifest, or None."""
    names: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}/", Delimiter="/"):
        for common in page.get("CommonPrefixes", []):
            name = str(common["Prefix"])[len(prefix) + 1 :].rstrip("/")
            if _NAME.match(name):
                names.append(name)
    for name in sorted(names, reverse=True)[:MANIFEST_PROBES]:
        path = f"{prefix}/{name}"
        try:
            head = s3.head_object(Bucket=bucket, Key=f"{path}/{MANIFEST}")
        except ClientError as exc:
            if _not_found(exc):
                continue
            raise
        return StoredBackup(path=path, completed_at=head["LastModified"].astimezone(UTC))
    return None


def decide(
    attempts: Sequence[Attempt],
    stored: StoredBackup | None,
    now: datetime,
    *,
    backup_hour_utc: int,
    max_age: timedelta,
) -> Decision:
    """What this run reports and whether it starts a backup; pure, so every branch is tested directly."""
    fresh = stored is not None and now - stored.completed_at <= max_age
    newest = attempts[0] if attempts else None
    failure = None
    if newest is not None and newest.status in FAILED:
        failure = f"backup {newest.path} ({newest.backup_id}) ended {newest.status}: {newest.error or 'no error text'}"
    missing = [a for a in attempts if a.status == CREATED and (stored is None or a.path > stored.path)]
    if failure is None and missing:
        failure = f"the engine reports backup {missing[0].path} created, but the bucket holds no {MANIFEST} for it"
    newest_bytes = next(
        (a.total_size for a in attempts if stored and a.path == stored.path and a.status == CREATED), None
    )

    running = next((a for a in attempts if a.status == RUNNING), None)
    if running is not None:
        reason = f"backup {running.path} running since {running.started_at:%Y-%m-%d %H:%M:%S}Z"
        return Decision(False, reason, fresh, failure, newest_bytes)
    if stored is None:
        return Decision(True, "no complete backup in the bucket", fresh, failure, newest_bytes)
    if not fresh:
        age_hours = (now - stored.completed_at).total_seconds() / 3600
        return Decision(True, f"newest complete backup is {age_hours:.1f} h old", fresh, failure, newest_bytes)
    if failure is not None:
        return Decision(True, "retrying after a failed attempt", fresh, failure, newest_bytes)
    recent = stored.completed_at > now - DAILY_GUARD or any(a.started_at > now - DAILY_GUARD for a in attempts)
    if now.hour == backup_hour_utc and not recent:
        return Decision(True, "daily backup due", fresh, failure, newest_bytes)
    return Decision(False, f"newest complete backup {stored.path} is fresh", fresh, failure, newest_bytes)


def start_backup(client: Any, collection: str, path: str) -> str:
    """Start the backup in the background on the server; returns its operation id."""
    rows = client.query(
        f"BACKUP DATABASE {DATABASE} TO S3({{collection:Identifier}}, {{path:String}}) ASYNC",
        parameters={"collection": collection, "path": path},
    ).result_rows
    return str(rows[0][0])


@dataclass
class Runtime:
    settings: BackupJobSettings
    clickhouse: ClickHouseProvider
    s3: Any


def build_runtime(environ: Mapping[str, str], *, pem_dir: Path | None = None) -> Runtime:
    settings = load_env_settings(SETTINGS_MODEL, environ, "backup")
    return Runtime(
        settings=settings, clickhouse=EdgeClickHouse.from_settings(settings, pem_dir=pem_dir), s3=boto3.client("s3")
    )


_slot: RuntimeSlot[Runtime] = RuntimeSlot(build_runtime)


def runtime() -> Runtime:
    return _slot.get()


def set_runtime(value: Runtime | None) -> None:
    """Replace the module-scope runtime (tests; ``None`` rebuilds from the environment on next use)."""
    _slot.set(value)


def run_backup_job(rt: Runtime, now: datetime) -> dict[str, Any]:
    s = rt.settings
    try:
        attempts = list_attempts(rt.clickhouse.client(), s.BACKUP_COLLECTION, s.BACKUP_PREFIX)
    except Exception:
        rt.clickhouse.invalidate()
        raise
    stored = newest_stored_backup(rt.s3, s.BACKUP_BUCKET, s.BACKUP_PREFIX)
    decision = decide(
        attempts, stored, now, backup_hour_utc=s.BACKUP_HOUR_UTC, max_age=timedelta(hours=s.BACKUP_MAX_AGE_HOURS)
    )
    catalog.put(mc.BACKUP_SUCCEEDED, 1 if decision.fresh else 0)
    if decision.newest_bytes is not None:
        catalog.put(mc.BACKUP_BYTES, decision.newest_bytes)
    summary: dict[str, Any] = {
        "newest_complete": stored.path if stored else None,
        "newest_complete_at": stored.completed_at.isoformat() if stored else None,
        "fresh": decision.fresh,
        "reason": decision.reason,
        "started": None,
    }
    if decision.start:
        path = backup_path(s.BACKUP_PREFIX, now)
        try:
            backup_id = start_backup(rt.clickhouse.client(), s.BACKUP_COLLECTION, path)
        except Exception:
            rt.clickhouse.invalidate()
            raise
        summary["started"] = {"path": path, "id": backup_id}
        logger.info("backup started", extra={"path": path, "id": backup_id, "why": decision.reason})
    else:
        logger.info("no backup started", extra={"why": decision.reason})
    if decision.failure is not None:
        logger.error("backup failed", extra={"failure": decision.failure, "summary": summary})
        raise BackupFailedError(decision.failure)
    return summary


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_backup_job(runtime(), datetime.now(UTC))
