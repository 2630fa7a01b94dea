"""Restore from a backup, and prove the restore complete: SQL derived from the schema migrations.

``python -m schema.restore restore-sql --path clickhouse/prices/20261124T030000Z [--into prices_restore_drill]``
prints the RESTORE statement; ``python -m schema.restore verify-sql --database prices_restore_drill`` prints one
query giving, per data table, the row count and two order-independent content checksums. docs/runbooks/
restore-from-backup.md pipes both into clickhouse-client on the box.

Why the refreshable views are left out of a RESTORE (checked on chDB / engine 26.9, see docs/backups.md):

* a restored refreshable view refreshes at once, before anyone can stop it (``SYSTEM STOP VIEWS`` does not
  cover views created later): ``mv_current_prices`` replaces ``current_prices`` and the rollups re-append, so
  the restored tables no longer equal the backup;
* restored under another database name, the views still read ``prices.<parameterized view>(...)`` — RESTORE
  renames the ``TO`` table but not a table-function call — so a drill copy would read production and refresh
  on its own.

So data and plain views are restored first and verified; the refreshable views come back afterwards from the
migrations (``CREATE MATERIALIZED VIEW IF NOT EXISTS``), as on any deploy. This module is operator tooling and
tests; the Lambda package does not ship ``schema/``.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping, Sequence

from schema.migrations import all_statements
from schema.rbac import BACKUP_COLLECTION, COLLECTION_NAME_RE

DATABASE = "prices"
_CREATE_TABLE = re.compile(rf"^CREATE TABLE IF NOT EXISTS {DATABASE}\.(\w+)\b", re.IGNORECASE)
_ENGINE = re.compile(r"\bENGINE\s*=\s*(\w+)", re.IGNORECASE)
_REFRESHABLE_VIEW = re.compile(
    rf"^CREATE MATERIALIZED VIEW IF NOT EXISTS {DATABASE}\.(\w+)\s+REFRESH\b(.*?)\bTO\s+{DATABASE}\.(\w+)",
    re.IGNORECASE | re.DOTALL,
)
_DATABASE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_OBJECT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")  # tables and views (price_ohlcv_1M)
BACKUP_PATH = re.compile(r"^[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_-]*)*/\d{8}T\d{6}Z$")
# Engines that take FINAL: every MergeTree variant that merges rows (plain MergeTree refuses FINAL).
_MERGING = re.compile(r"^(Replacing|Collapsing|VersionedCollapsing|Summing|Aggregating|Coalescing)MergeTree$")


class RestoreInputError(ValueError):
    """An operator input that would end up in SQL text is not acceptable."""


def data_tables(statements: Sequence[str] | None = None) -> dict[str, str]:
    """Every table the migrations create in `prices`, with its engine."""
    tables: dict[str, str] = {}
    for stmt in all_statements() if statements is None else statements:
        table = _CREATE_TABLE.match(stmt)
        if not table:
            continue
        engine = _ENGINE.search(stmt)
        if engine is None:
            raise ValueError(f"cannot tell the engine of {DATABASE}.{table.group(1)} from its CREATE statement")
        tables[table.group(1)] = engine.group(1)
    return tables


def refreshable_views(statements: Sequence[str] | None = None) -> tuple[str, ...]:
    """Every refreshable materialized view the migrations create in `prices`, in creation order."""
    found = (_REFRESHABLE_VIEW.match(stmt) for stmt in (all_statements() if statements is None else statements))
    return tuple(m.group(1) for m in found if m)


def replaced_by_refresh(statements: Sequence[str] | None = None) -> tuple[str, ...]:
    """Tables a refreshable view rewrites whole on every refresh (no APPEND): derived, and — on engine 26.9 —
    left out of `BACKUP DATABASE` (their metadata is in the backup, their rows are not; docs/backups.md)."""
    found = (_REFRESHABLE_VIEW.match(stmt) for stmt in (all_statements() if statements is None else statements))
    return tuple(m.group(3) for m in found if m and "APPEND" not in m.group(2).upper().split())


def check_database_name(name: str) -> str:
    if not _DATABASE_NAME.match(name):
        raise RestoreInputError(f"database name {name!r}: expected lowercase [a-z][a-z0-9_]*, at most 63 characters")
    return name


def check_object_name(name: str) -> str:
    if not _OBJECT_NAME.match(name):
        raise RestoreInputError(f"table or view name {name!r}: expected [A-Za-z_][A-Za-z0-9_]*")
    return name


def check_collection_name(name: str) -> str:
    if not COLLECTION_NAME_RE.match(name):
        raise RestoreInputError(f"named collection {name!r}: expected lowercase [a-z][a-z0-9_]*, at most 63 characters")
    return name


def check_backup_path(path: str) -> str:
    if not BACKUP_PATH.match(path):
        raise RestoreInputError(
            f"backup path {path!r}: expected <prefix>/<YYYYMMDDTHHMMSSZ>, e.g. clickhouse/prices/20261124T030000Z"
        )
    return path


def restore_sql(path: str, *, collection: str, into: str = DATABASE, views: Sequence[str] | None = None) -> str:
    """The RESTORE of `prices` from `S3(<collection>, '<path>')` into `into`, refreshable views left out.

    The path and names are validated, not bound: this text is piped into clickhouse-client by an operator.
    """
    check_backup_path(path)
    check_collection_name(collection)
    check_database_name(into)
    excluded = refreshable_views() if views is None else tuple(views)
    for view in excluded:
        check_object_name(view)
    target = "" if into == DATABASE else f" AS {into}"
    except_clause = f" EXCEPT TABLES {', '.join(f'{DATABASE}.{v}' for v in excluded)}" if excluded else ""
    return f"RESTORE DATABASE {DATABASE}{target}{except_clause} FROM S3({collection}, '{path}')"


def fingerprint_sql(database: str, tables: Mapping[str, str] | None = None) -> str:
    """Per table: rows and two checksums of every column of every row (sum and xor of the row's cityHash64),
    merged rows only (FINAL) where the engine merges, so equal output means equal content whatever the part
    layout. Two checksums: xor alone cancels a duplicated row, sum alone is blind to nothing but collisions."""
    check_database_name(database)
    selected = data_tables() if tables is None else tables
    if not selected:
        raise RestoreInputError("no tables to fingerprint")
    parts = []
    for table, engine in sorted(selected.items()):
        check_object_name(table)
        final = " FINAL" if _MERGING.match(engine) else ""
        # tuple(*): cityHash64 of the columns themselves is NULL as soon as one is NULL; of the tuple it is not,
        # and NULL still hashes differently from 0.
        parts.append(
            f"    SELECT '{table}' AS table, count() AS row_count, sum(cityHash64(tuple(*))) AS sum_hash, "
            f"groupBitXor(cityHash64(tuple(*))) AS xor_hash FROM {database}.{table}{final}"
        )
    return "SELECT * FROM (\n" + "\n    UNION ALL\n".join(parts) + "\n) ORDER BY table"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m schema.restore", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    restore = sub.add_parser("restore-sql", help="print the RESTORE statement (refreshable views left out)")
    restore.add_argument("--path", required=True, help="the backup directory, e.g. clickhouse/prices/20261124T030000Z")
    restore.add_argument("--collection", default=BACKUP_COLLECTION, help="the server's named collection")
    restore.add_argument("--into", default=DATABASE, help="target database (default prices; a drill uses another)")
    verify = sub.add_parser("verify-sql", help="print the per-table row count and checksum query")
    verify.add_argument("--database", default=DATABASE)
    sub.add_parser("views", help="list the refreshable views a restore leaves out")
    args = parser.parse_args(argv)
    try:
        if args.command == "restore-sql":
            print(restore_sql(args.path, collection=args.collection, into=args.into) + ";")
        elif args.command == "verify-sql":
            print(fingerprint_sql(args.database) + ";")
        else:
            print("\n".join(f"{DATABASE}.{v}" for v in refreshable_views()))
    except RestoreInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
