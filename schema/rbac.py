"""Access model for the `prices` database, as data, rendered as SQL and for the stand-in.

The edge (Caddy) maps a client certificate to a ClickHouse user and injects
``X-ClickHouse-User`` / ``X-ClickHouse-Key`` (the plain password); the server only ever
stores ``sha256_hash`` of it. Everything rendered into SQL text is validated strictly here
because identifiers, hashes and CIDRs cannot be bound as query parameters in DDL.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

GIB = 1024**3

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_SETTING_RE = re.compile(r"^[a-z][a-z0-9_]{0,126}$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
# A grant is "PRIVS ON db.table" with privileges and objects from a closed vocabulary, so
# a typo or an injection attempt fails here instead of reaching the server.
_PRIVILEGES = frozenset(
    {"SELECT", "INSERT", "OPTIMIZE", "ALTER DELETE", "ALTER UPDATE", "SHOW TABLES", "BACKUP", "NAMED COLLECTION"}
)
_OBJECT_RE = re.compile(r"^(?:[a-z_][a-z0-9_]*)\.(?:\*|[a-z_][a-z0-9_]*)$")
# A named collection is granted by its bare name (`GRANT NAMED COLLECTION ON <name>`), never with a wildcard;
# components/backups.py and schema/restore.py hold collection names to the same shape before they reach SQL text.
COLLECTION_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}\Z")  # \Z: `$` would also accept a trailing newline

# The server's named collection holding the backup bucket's URL and key (components/backups.py creates it).
BACKUP_COLLECTION = "prices_backups"


class AccessModelError(ValueError):
    """An input that would end up in SQL text is not acceptable."""


@dataclass(frozen=True)
class SettingsProfile:
    name: str
    settings: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class AccessRole:
    name: str
    grants: tuple[str, ...]


@dataclass(frozen=True)
class AccessUser:
    name: str
    role: AccessRole
    profile: SettingsProfile


def prices_access_model() -> tuple[AccessUser, ...]:
    writer_role = AccessRole(
        "prices_writer_role",
        (
            # ClickHouse has no narrower privilege for ALTER TABLE ... DROP PARTITION (retention
            # by whole months): it is authorised by ALTER DELETE.
            "SELECT, INSERT, OPTIMIZE, ALTER DELETE ON prices.*",
            # The reference system's workers failed on these being missing (monitoring of
            # merges, mutations and rollup refreshes).
            "SELECT ON system.parts",
            "SELECT ON system.mutations",
            "SELECT ON system.view_refreshes",
            # The probes Lambda (writer identity) publishes ClickHouseFreeDiskPct from system.disks.
            "SELECT ON system.disks",
            # The backup job (lambdas/workers/backup.py) writes as this identity: BACKUP (with SHOW TABLES, which
            # newer engines check with it) on the database, use of the collection that holds the S3 key, and
            # the state of its asynchronous backups. RESTORE stays an admin action (docs/runbooks).
            "BACKUP, SHOW TABLES ON prices.*",
            f"NAMED COLLECTION ON {BACKUP_COLLECTION}",
            "SELECT ON system.backups",
        ),
    )
    reader_role = AccessRole("prices_reader_role", ("SELECT ON prices.*",))
    writer_profile = SettingsProfile("prices_writer_profile", {"max_memory_usage": 8 * GIB, "max_execution_time": 7200})
    reader_profile = SettingsProfile(
        "prices_reader_profile", {"readonly": 1, "max_memory_usage": 4 * GIB, "max_execution_time": 30}
    )
    return (
        AccessUser("prices_writer", writer_role, writer_profile),
        AccessUser("prices_reader", reader_role, reader_profile),
    )


def check_name(kind: str, name: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise AccessModelError(
            f"invalid {kind} name {name!r}: expected lowercase [a-z][a-z0-9_]*, at most 63 characters"
        )
    return name


def check_sha256(user: str, value: str) -> str:
    if not isinstance(value, str) or not _SHA256_RE.match(value):
        raise AccessModelError(
            f"password hash for {user!r} must be 64 lowercase hex characters (sha256 of the password)"
        )
    return value


def check_cidr(value: str) -> str:
    try:
        net = ipaddress.ip_network(value, strict=True)
    except (ValueError, TypeError) as exc:
        raise AccessModelError(f"invalid host CIDR {value!r}: {exc}") from exc
    return str(net)


def parse_grant(grant: str) -> tuple[tuple[str, ...], str]:
    """Split ``"SELECT, INSERT ON prices.*"`` into privileges and object, validating both."""
    m = re.fullmatch(r"\s*(.+?)\s+ON\s+(\S+)\s*", grant)
    if not m:
        raise AccessModelError(f"invalid grant {grant!r}: expected 'PRIV[, PRIV...] ON db.table'")
    privs = tuple(p.strip().upper() for p in m.group(1).split(","))
    for p in privs:
        if p not in _PRIVILEGES:
            raise AccessModelError(f"privilege {p!r} in grant {grant!r} is not in {sorted(_PRIVILEGES)}")
    obj = m.group(2)
    if "NAMED COLLECTION" in privs:
        if privs != ("NAMED COLLECTION",) or not COLLECTION_NAME_RE.match(obj):
            raise AccessModelError(f"grant {grant!r}: NAMED COLLECTION is granted alone, on one collection's name")
        return privs, obj
    if not _OBJECT_RE.match(obj):
        raise AccessModelError(f"invalid grant object {obj!r} in grant {grant!r}")
    return privs, obj


def _check_profile(profile: SettingsProfile) -> None:
    check_name("settings profile", profile.name)
    for key, value in profile.settings.items():
        if not _SETTING_RE.match(key):
            raise AccessModelError(f"invalid setting name {key!r} in profile {profile.name!r}")
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise AccessModelError(f"setting {key!r} in profile {profile.name!r} must be a non-negative int")


def _check_users(users: Sequence[AccessUser]) -> None:
    seen: set[str] = set()
    for user in users:
        check_name("user", user.name)
        check_name("role", user.role.name)
        _check_profile(user.profile)
        if user.name in {"default", "readonly"}:
            raise AccessModelError(f"user name {user.name!r} is reserved")
        if user.name in seen:
            raise AccessModelError(f"duplicate user {user.name!r}")
        seen.add(user.name)
        for grant in user.role.grants:
            parse_grant(grant)


def _settings_sql(settings: Mapping[str, int]) -> str:
    return ", ".join(f"{k} = {int(v)}" for k, v in sorted(settings.items()))


def render_rbac_sql(
    users: Sequence[AccessUser],
    password_sha256_by_user: Mapping[str, str],
    allowed_host_cidrs: Sequence[str],
) -> str:
    """Idempotent RBAC script: safe to re-run, and a re-run converges to this model.

    CREATE ... IF NOT EXISTS followed by ALTER makes changed settings, hosts and passwords
    apply on re-run; REVOKE ALL before GRANT makes a grant removed from the model disappear.
    """
    _check_users(users)
    cidrs = [check_cidr(c) for c in allowed_host_cidrs]
    if not cidrs:
        raise AccessModelError("at least one allowed host CIDR is required")
    missing = [u.name for u in users if u.name not in password_sha256_by_user]
    if missing:
        raise AccessModelError(f"no password hash for users: {', '.join(missing)}")
    host = "HOST IP " + ", ".join(f"'{c}'" for c in cidrs)
    out: list[str] = ["-- prices access model (generated by schema.rbac.render_rbac_sql)"]
    for user in users:
        pw = check_sha256(user.name, password_sha256_by_user[user.name])
        prof, role = user.profile, user.role
        settings = _settings_sql(prof.settings)
        settings_clause = f" SETTINGS {settings}" if settings else ""
        out += [
            f"CREATE SETTINGS PROFILE IF NOT EXISTS {prof.name}{settings_clause};",
            f"ALTER SETTINGS PROFILE {prof.name}{settings_clause};",
            f"CREATE ROLE IF NOT EXISTS {role.name};",
            f"REVOKE ALL ON *.* FROM {role.name};",
        ]
        for grant in role.grants:
            privs, obj = parse_grant(grant)
            out.append(f"GRANT {', '.join(privs)} ON {obj} TO {role.name};")
        ident = f"IDENTIFIED WITH sha256_hash BY '{pw}'"
        out += [
            f"CREATE USER IF NOT EXISTS {user.name} {ident} {host} SETTINGS PROFILE '{prof.name}';",
            f"ALTER USER {user.name} {ident} {host} SETTINGS PROFILE '{prof.name}';",
            f"GRANT {role.name} TO {user.name};",
            f"ALTER USER {user.name} DEFAULT ROLE {role.name};",
        ]
    return "\n".join(out) + "\n"


def stand_in_users(
    users: Sequence[AccessUser],
    password_sha256_by_user: Mapping[str, str],
    *,
    allow_default_admin: bool = True,
) -> dict[str, Any]:
    """JSON-able users file for ``local.chfront --users``.

    ``allow_default_admin`` lets the password-less ``default`` user in (the local data plane
    applies the schema as ``default`` over loopback, like the admin's clickhouse-client over
    SSH in production); the stand-in rejects ``default`` when it is false.
    """
    _check_users(users)
    out_users: dict[str, Any] = {}
    for user in users:
        if user.name not in password_sha256_by_user:
            raise AccessModelError(f"no password hash for user {user.name!r}")
        out_users[user.name] = {
            "password_sha256": check_sha256(user.name, password_sha256_by_user[user.name]),
            "profile": user.profile.name,
            "settings": dict(user.profile.settings),
            "role": user.role.name,
            "grants": [f"{', '.join(p)} ON {o}" for p, o in map(parse_grant, user.role.grants)],
        }
    return {"version": 1, "allow_default_admin": bool(allow_default_admin), "users": out_users}
