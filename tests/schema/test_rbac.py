"""Pure tests of the access model and its renderings."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace

import pytest

from schema.rbac import (
    AccessModelError,
    AccessRole,
    prices_access_model,
    render_rbac_sql,
    stand_in_users,
)

pytestmark = pytest.mark.unit

PLAIN = {"prices_writer": "plain-writer-pw", "prices_reader": "plain-reader-pw"}
HASHES = {u: hashlib.sha256(p.encode()).hexdigest() for u, p in PLAIN.items()}
CIDRS = ["127.0.0.1/32", "172.30.0.0/16"]


def grants_of(sql: str, role: str) -> list[tuple[str, str]]:
    out = []
    for line in sql.splitlines():
        mm = re.fullmatch(rf"GRANT (.+) ON (\S+) TO {role};", line)
        if mm:
            out.append((mm.group(1), mm.group(2)))
    return out


def test_reader_has_only_select_on_prices() -> None:
    sql = render_rbac_sql(prices_access_model(), HASHES, CIDRS)
    assert grants_of(sql, "prices_reader_role") == [("SELECT", "prices.*")]
    assert "readonly = 1" in sql.split("prices_reader_profile SETTINGS", 1)[1].splitlines()[0]


def test_writer_has_nothing_outside_prices_but_four_system_tables() -> None:
    sql = render_rbac_sql(prices_access_model(), HASHES, CIDRS)
    grants = grants_of(sql, "prices_writer_role")
    outside = sorted(obj for _, obj in grants if not obj.startswith("prices."))
    # system.disks: the probes' free-disk metric (lambdas/workers/probes.py); system.backups and the backup
    # named collection: the backup job (lambdas/workers/backup.py).
    assert outside == [
        "prices_backups",
        "system.backups",
        "system.disks",
        "system.mutations",
        "system.parts",
        "system.view_refreshes",
    ]
    assert all(privs == "SELECT" for privs, obj in grants if obj.startswith("system."))
    assert ("SELECT, INSERT, OPTIMIZE, ALTER DELETE", "prices.*") in grants
    assert not any("*.*" in obj for _, obj in grants)
    writer_profile = sql.split("ALTER SETTINGS PROFILE prices_writer_profile SETTINGS", 1)[1].splitlines()[0]
    assert "max_memory_usage = 8589934592" in writer_profile and "max_execution_time = 7200" in writer_profile
    assert "readonly" not in writer_profile


def test_writer_grants_cover_what_cleanup_and_probes_run() -> None:
    # Reference §13.4: the cleanup worker failed with Code 497 for want of system.parts and DROP PARTITION
    # (authorised by ALTER DELETE); the probes read system.disks and insert into prices.probe_writes.
    lines = render_rbac_sql(prices_access_model(), HASHES, CIDRS).splitlines()
    assert "GRANT SELECT ON system.parts TO prices_writer_role;" in lines
    assert "GRANT SELECT ON system.disks TO prices_writer_role;" in lines
    assert "GRANT SELECT, INSERT, OPTIMIZE, ALTER DELETE ON prices.* TO prices_writer_role;" in lines
    assert not any("system.disks" in line for line in lines if "prices_reader_role" in line)


def test_writer_may_back_up_prices_through_the_backup_collection_only() -> None:
    lines = render_rbac_sql(prices_access_model(), HASHES, CIDRS).splitlines()
    writer = [line for line in lines if line.endswith(" TO prices_writer_role;")]
    assert "GRANT BACKUP, SHOW TABLES ON prices.* TO prices_writer_role;" in writer
    assert "GRANT NAMED COLLECTION ON prices_backups TO prices_writer_role;" in writer
    assert "GRANT SELECT ON system.backups TO prices_writer_role;" in writer
    # BACKUP and the collection nowhere else: not on another database, not for the reader.
    assert [line for line in lines if "BACKUP," in line or "NAMED COLLECTION" in line] == [
        "GRANT BACKUP, SHOW TABLES ON prices.* TO prices_writer_role;",
        "GRANT NAMED COLLECTION ON prices_backups TO prices_writer_role;",
    ]
    assert stand_in_users(prices_access_model(), HASHES)["users"]["prices_writer"]["grants"][-3:] == [
        "BACKUP, SHOW TABLES ON prices.*",
        "NAMED COLLECTION ON prices_backups",
        "SELECT ON system.backups",
    ]


def test_sql_converges_on_rerun_and_never_contains_plain_passwords() -> None:
    sql = render_rbac_sql(prices_access_model(), HASHES, CIDRS)
    for pw in PLAIN.values():
        assert pw not in sql
    for user in ("prices_writer", "prices_reader"):
        lines = sql.splitlines()
        create = next(i for i, ln in enumerate(lines) if ln.startswith(f"CREATE USER IF NOT EXISTS {user} "))
        alter = next(i for i, ln in enumerate(lines) if ln.startswith(f"ALTER USER {user} IDENTIFIED"))
        assert create < alter
        assert f"IDENTIFIED WITH sha256_hash BY '{HASHES[user]}'" in lines[alter]
        assert "HOST IP '127.0.0.1/32', '172.30.0.0/16'" in lines[alter]
        assert f"ALTER USER {user} DEFAULT ROLE {user}_role;" in lines
        role = f"{user}_role"
        revoke = lines.index(f"REVOKE ALL ON *.* FROM {role};")
        first_grant = next(i for i, ln in enumerate(lines) if ln.startswith("GRANT ") and ln.endswith(f"TO {role};"))
        assert revoke < first_grant


def test_a_removed_grant_disappears_from_the_rendering() -> None:
    writer, reader = prices_access_model()
    trimmed = replace(writer, role=AccessRole(writer.role.name, writer.role.grants[:1]))
    sql = render_rbac_sql((trimmed, reader), HASHES, CIDRS)
    assert "system.parts" not in sql
    assert "REVOKE ALL ON *.* FROM prices_writer_role;" in sql


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda u: replace(u, name="Robert'); DROP"), "invalid user name"),
        (lambda u: replace(u, name="default"), "reserved"),
        (lambda u: replace(u, role=AccessRole("r1", ("SELECT ON prices.*;DROP",))), "grant object"),
        (lambda u: replace(u, role=AccessRole("r1", ("ALL ON prices.*",))), "privilege 'ALL'"),
        (lambda u: replace(u, role=AccessRole("r1", ("SELECT prices.*",))), "invalid grant"),
        (lambda u: replace(u, role=AccessRole("r1", ("NAMED COLLECTION ON *",))), "granted alone, on one"),
        (lambda u: replace(u, role=AccessRole("r1", ("NAMED COLLECTION, SELECT ON c1",))), "granted alone"),
        (lambda u: replace(u, role=AccessRole("r1", ("NAMED COLLECTION ON c1; DROP",))), "invalid grant"),
        (lambda u: replace(u, role=AccessRole("bad role", ("SELECT ON prices.*",))), "invalid role name"),
        (lambda u: replace(u, profile=replace(u.profile, settings={"max_memory_usage": -1})), "non-negative"),
        (lambda u: replace(u, profile=replace(u.profile, settings={"x = 1, readonly": 0})), "setting name"),
    ],
)
def test_bad_model_inputs_are_rejected(mutate, message) -> None:  # type: ignore[no-untyped-def]
    writer, reader = prices_access_model()
    bad = mutate(writer)
    with pytest.raises(AccessModelError, match=re.escape(message)):
        render_rbac_sql((bad, reader), {**HASHES, bad.name: HASHES["prices_writer"]}, CIDRS)


@pytest.mark.parametrize("cidr", ["10.0.0.1/8", "not-an-ip", "10.0.0.0/33", "1.2.3.4/32' OR '1"])
def test_bad_cidrs_are_rejected(cidr: str) -> None:
    with pytest.raises(AccessModelError, match="invalid host CIDR"):
        render_rbac_sql(prices_access_model(), HASHES, [cidr])


def test_empty_cidrs_bad_hashes_and_missing_hashes_are_rejected() -> None:
    users = prices_access_model()
    with pytest.raises(AccessModelError, match="at least one"):
        render_rbac_sql(users, HASHES, [])
    with pytest.raises(AccessModelError, match="64 lowercase hex"):
        render_rbac_sql(users, {**HASHES, "prices_reader": "plain-reader-pw"}, CIDRS)
    with pytest.raises(AccessModelError, match="64 lowercase hex"):
        render_rbac_sql(users, {**HASHES, "prices_reader": HASHES["prices_reader"].upper()}, CIDRS)
    with pytest.raises(AccessModelError, match="no password hash for users: prices_reader"):
        render_rbac_sql(users, {"prices_writer": HASHES["prices_writer"]}, CIDRS)


def test_stand_in_users_is_json_and_carries_hashes_and_profiles_only() -> None:
    doc = stand_in_users(prices_access_model(), HASHES)
    text = json.dumps(doc)
    assert json.loads(text) == doc
    for pw in PLAIN.values():
        assert pw not in text
    assert doc["allow_default_admin"] is True
    assert doc["users"]["prices_reader"]["settings"] == {
        "readonly": 1,
        "max_memory_usage": 4 * 1024**3,
        "max_execution_time": 30,
    }
    assert doc["users"]["prices_writer"]["password_sha256"] == HASHES["prices_writer"]
    assert stand_in_users(prices_access_model(), HASHES, allow_default_admin=False)["allow_default_admin"] is False
