"""Pure tests of migration loading, splitting, checksum and script rendering."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from schema import migrations as m
from schema.rollups import GENERATED_FILES

pytestmark = pytest.mark.unit


def test_files_load_in_numeric_order_and_every_file_is_idempotent() -> None:
    names = [p.name for p in m.migration_files()]
    numbers = [int(n[:3]) for n in names]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    assert names[0] == "001_database.sql"
    for stmt in m.all_statements():
        head = " ".join(stmt.split()[:6]).upper()
        # ALTERs (013): ADD COLUMN IF NOT EXISTS, or MODIFY COLUMN, which is a no-op when re-applied with
        # the same type (the engine tests apply every migration twice).
        alter = " ".join(stmt.split()[:8]).upper()
        idempotent_alter = alter.startswith("ALTER TABLE ") and (
            " ADD COLUMN IF NOT EXISTS " in f"{alter} " or " MODIFY COLUMN " in alter
        )
        assert "IF NOT EXISTS" in head or idempotent_alter, stmt[:80]


def test_generated_rollup_files_match_the_generator() -> None:
    for name, render in GENERATED_FILES.items():
        assert (m.SCHEMA_DIR / name).read_text(encoding="utf-8") == render(), (
            f"{name} is stale: run python -m schema.rollups --write"
        )


def test_order_is_numeric_not_lexicographic_of_whole_name(tmp_path: Path) -> None:
    (tmp_path / "010_b.sql").write_text("CREATE TABLE IF NOT EXISTS x.b (a UInt8) ENGINE = Memory;")
    (tmp_path / "002_zzz.sql").write_text("CREATE DATABASE IF NOT EXISTS x;")
    (tmp_path / "003_a.sql").write_text("CREATE TABLE IF NOT EXISTS x.a (a UInt8) ENGINE = Memory;")
    assert [p.name for p in m.migration_files(tmp_path)] == ["002_zzz.sql", "003_a.sql", "010_b.sql"]
    executed: list[str] = []
    assert m.apply_migrations(executed.append, tmp_path) == executed
    assert executed[0] == "CREATE DATABASE IF NOT EXISTS x"
    assert executed[1].startswith("CREATE TABLE IF NOT EXISTS x.a")


def test_bad_and_duplicate_names_are_rejected(tmp_path: Path) -> None:
    (tmp_path / "1_short.sql").write_text("SELECT 1;")
    with pytest.raises(ValueError, match=r"NNN_what\.sql"):
        m.migration_files(tmp_path)
    (tmp_path / "1_short.sql").unlink()
    (tmp_path / "004_a.sql").write_text("SELECT 1;")
    (tmp_path / "004_b.sql").write_text("SELECT 2;")
    with pytest.raises(ValueError, match="duplicate migration number 004"):
        m.migration_files(tmp_path)


def test_split_handles_comments_and_quoted_semicolons() -> None:
    sql = """
    -- leading comment; with a semicolon
    CREATE TABLE t (s String DEFAULT 'a;b', c String COMMENT 'it''s; fine') ENGINE = Memory; /* x; y */
    SELECT "we;ird", `id;x` FROM t -- trailing; comment
    ;
    -- only a comment at the end;
    """
    out = m.split_statements(sql)
    assert out == [
        "CREATE TABLE t (s String DEFAULT 'a;b', c String COMMENT 'it''s; fine') ENGINE = Memory",
        'SELECT "we;ird", `id;x` FROM t',
    ]
    with pytest.raises(ValueError, match="unterminated"):
        m.split_statements("SELECT 'oops;")


def test_checksum_changes_when_any_file_changes(tmp_path: Path) -> None:
    for p in m.migration_files():
        shutil.copy(p, tmp_path / p.name)
    base = m.migrations_sha256(tmp_path)
    assert base == m.migrations_sha256()
    assert len(base) == 64 and int(base, 16) >= 0
    victim = tmp_path / "004_current_prices.sql"
    victim.write_text(victim.read_text() + "\n-- touched\n")
    assert m.migrations_sha256(tmp_path) != base
    victim.write_text((m.SCHEMA_DIR / victim.name).read_text())
    assert m.migrations_sha256(tmp_path) == base
    (tmp_path / "099_extra.sql").write_text("SELECT 1;")
    assert m.migrations_sha256(tmp_path) != base


def test_script_holds_every_statement_in_order_with_the_checksum() -> None:
    script = m.render_migration_script()
    assert m.migrations_sha256() in script.splitlines()[0]
    # Round trip: the script splits back into exactly the statements apply_migrations runs.
    assert m.split_statements(script) == m.all_statements()
    positions = [script.index(f"-- {p.name}") for p in m.migration_files()]
    assert positions == sorted(positions)
    assert "price_ohlcv_1M" in script and "DEPENDS ON prices.mv_rollup_1d" in script
