"""Cluster rendering of the schema (schema/cluster.py): every migration statement, both modes, on the real parser.

The statements are read from schema/ at test time, so a new migration is covered without touching this file.
"""

from __future__ import annotations

import hashlib
import re
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import cast

import pytest

from offline.runner import run_program
from schema.cluster import (
    MERGE_TREE_ENGINES,
    MODES,
    ON_CLUSTER,
    REPLICATED_DATABASE,
    TABLE_ZOOKEEPER_PATH,
    Cluster,
    ClusterMode,
    ClusterRenderError,
    Kind,
    parse_statement,
    render_rbac_for_cluster,
    render_schema_script,
    render_statements,
)
from schema.migrations import SCHEMA_DIR, all_statements, load_migrations, render_migration_script, split_statements
from schema.rbac import prices_access_model, render_rbac_sql
from tests.chfront_fixture import Front
from tests.components.program import planned
from tests.components.test_settings import stack_file_config

pytestmark = pytest.mark.unit

NAME = "prices_cluster"
CLAUSE = f" ON CLUSTER {NAME}"
HASHES = {"prices_writer": hashlib.sha256(b"w").hexdigest(), "prices_reader": hashlib.sha256(b"r").hexdigest()}
PATH_ARGS = f"'{TABLE_ZOOKEEPER_PATH}', '{{replica}}'"


def statements() -> list[str]:
    return all_statements()


def rendered(mode: str) -> list[tuple[str, str]]:
    originals = statements()
    return list(zip(originals, render_statements(originals, Cluster(NAME, cast(ClusterMode, mode))), strict=True))


def created(mode: str) -> dict[str, str]:
    """The rendered CREATE statement of each object, by name."""
    return {parse_statement(o).name: out for o, out in rendered(mode) if parse_statement(o).verb == "CREATE"}


def replacing_refresh_targets() -> set[str]:
    """Targets of non-APPEND refreshable views, found independently of the renderer's own planning."""
    targets = set()
    for sql in statements():
        m = re.match(r"CREATE MATERIALIZED VIEW .*?\bREFRESH\b(?P<head>.*?)\bAS\s+SELECT", sql, re.S)
        if m and not re.search(r"\bAPPEND\b", m["head"]):
            to = re.search(r"\bTO\s+([\w.]+)", m["head"])
            assert to is not None
            targets.add(to.group(1))
    return targets


def rbac_sql() -> str:
    return render_rbac_sql(prices_access_model(), HASHES, ["127.0.0.1/32"])


# ---------------------------------------------------------------------------------------------------------
# Single node: unchanged
# ---------------------------------------------------------------------------------------------------------


def test_single_node_render_is_todays_script_byte_for_byte() -> None:
    assert render_schema_script(None) == render_migration_script()
    assert render_statements(statements(), None) == statements()
    assert render_rbac_for_cluster(rbac_sql(), None) == rbac_sql()


# ---------------------------------------------------------------------------------------------------------
# on-cluster mode, statement by statement
# ---------------------------------------------------------------------------------------------------------


def test_every_ddl_statement_of_every_migration_gets_on_cluster_after_its_name() -> None:
    seen: set[Kind] = set()
    for original, out in rendered(ON_CLUSTER):
        stmt = parse_statement(original)
        seen.add(stmt.kind)
        if stmt.kind is Kind.INSERT:
            assert out == original
            continue
        assert out.startswith(original[: stmt.name_end] + CLAUSE), out.splitlines()[0]
        assert out.count(" ON CLUSTER ") == 1
        # IF NOT EXISTS markers stay exactly where they were.
        assert ("IF NOT EXISTS" in out.splitlines()[0]) == ("IF NOT EXISTS" in original.splitlines()[0])
    assert {Kind.DATABASE, Kind.TABLE, Kind.VIEW, Kind.MATERIALIZED_VIEW} <= seen


def test_views_and_refreshable_views_are_copied_byte_for_byte_apart_from_the_clause() -> None:
    views = 0
    for original, out in rendered(ON_CLUSTER):
        stmt = parse_statement(original)
        if stmt.kind in (Kind.VIEW, Kind.MATERIALIZED_VIEW, Kind.ALTER, Kind.DATABASE):
            views += stmt.kind in (Kind.VIEW, Kind.MATERIALIZED_VIEW)
            assert out == original[: stmt.name_end] + CLAUSE + original[stmt.name_end :]
    assert views >= 14  # 7 parameterized rollup views + 7 refreshable ones, at least


def test_every_merge_tree_engine_becomes_replicated_with_the_keeper_path_and_its_own_arguments() -> None:
    local = replacing_refresh_targets()
    replicated = 0
    for original, out in rendered(ON_CLUSTER):
        stmt = parse_statement(original)
        if stmt.engine is None:
            continue
        assert stmt.engine.name in MERGE_TREE_ENGINES
        old = original[stmt.engine.start : stmt.engine.end]
        if stmt.name in local:
            assert old in out and "Replicated" not in out
            continue
        args = (stmt.engine.args or "").strip()
        expected = f"Replicated{stmt.engine.name}({PATH_ARGS}{', ' + args if args else ''})"
        assert expected in out, (stmt.name, out)
        assert "Replicated" + old not in out or args == ""
        replicated += 1
    assert replicated >= 12


def test_known_tables_keep_their_version_column_and_dedup_window() -> None:
    outs = created(ON_CLUSTER)
    assert f"ENGINE = ReplicatedReplacingMergeTree({PATH_ARGS}, version)\n" in outs["prices.price_ohlcv_1m"]
    assert f"ENGINE = ReplicatedReplacingMergeTree({PATH_ARGS}, updated_at)\n" in outs["prices.assets"]
    assert f"ENGINE = ReplicatedReplacingMergeTree({PATH_ARGS})\n" in outs["prices.oracle_prices"]
    parts = outs["prices.candle_parts_1m"]
    # Retried inserts are recognised by their token within the window; replicated tables read the replicated_*
    # setting, so the migration's window is carried over under that name.
    assert parts.endswith("SETTINGS replicated_deduplication_window = 10000")
    assert "non_replicated" not in parts


def test_the_targets_of_replacing_refreshable_views_stay_per_replica() -> None:
    # A non-APPEND refresh rebuilds and swaps its whole target on each replica, so that target is local.
    targets = replacing_refresh_targets()
    assert "prices.current_prices" in targets  # migration 013's mv_current_prices
    outs = created(ON_CLUSTER)
    for table in targets:
        assert CLAUSE in outs[table]
        assert "ENGINE = ReplacingMergeTree(" in outs[table] and "Replicated" not in outs[table]


def test_the_database_stays_atomic_in_on_cluster_mode() -> None:
    first = rendered(ON_CLUSTER)[0][1]
    assert first == f"CREATE DATABASE IF NOT EXISTS prices{CLAUSE}"


# ---------------------------------------------------------------------------------------------------------
# replicated-database mode
# ---------------------------------------------------------------------------------------------------------


def test_replicated_database_mode_puts_on_cluster_only_on_the_database() -> None:
    pairs = rendered(REPLICATED_DATABASE)
    database = [out for o, out in pairs if parse_statement(o).kind is Kind.DATABASE]
    assert database == [
        f"CREATE DATABASE IF NOT EXISTS prices{CLAUSE} "
        "ENGINE = Replicated('/clickhouse/databases/prices', '{shard}', '{replica}')"
    ]
    for original, out in pairs:
        stmt = parse_statement(original)
        if stmt.kind is Kind.DATABASE:
            continue
        # ClickHouse refuses ON CLUSTER inside a Replicated database (code 80) and explicit Keeper paths (36).
        assert " ON CLUSTER " not in out and "/clickhouse/tables" not in out
        if stmt.engine is None:
            assert out == original
        else:
            assert stmt.engine.name in MERGE_TREE_ENGINES
            assert "Replicated" + original[stmt.engine.start : stmt.engine.end] in out


def test_replicated_database_mode_replicates_every_table_including_refresh_targets() -> None:
    # Coordinated refreshes run on one replica; the others see the result only through a replicated target.
    outs = created(REPLICATED_DATABASE)
    for table in replacing_refresh_targets():
        assert "ENGINE = ReplicatedReplacingMergeTree(updated_at)" in outs[table]
    assert "ENGINE = ReplicatedReplacingMergeTree(version)\n" in outs["prices.price_ohlcv_1M"]


# ---------------------------------------------------------------------------------------------------------
# Statement kinds the migrations will need, and what is refused
# ---------------------------------------------------------------------------------------------------------

CLUSTER = Cluster(NAME)
DB = "CREATE DATABASE IF NOT EXISTS prices"


def one(sql: str, cluster: Cluster = CLUSTER) -> str:
    return render_statements([DB, sql], cluster)[1]


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "ALTER TABLE prices.t ADD COLUMN IF NOT EXISTS c UInt8",
            f"ALTER TABLE prices.t{CLAUSE} ADD COLUMN IF NOT EXISTS c UInt8",
        ),
        ("DROP TABLE IF EXISTS prices.t", f"DROP TABLE IF EXISTS prices.t{CLAUSE} SYNC"),
        ("DROP VIEW prices.v SYNC", f"DROP VIEW prices.v{CLAUSE} SYNC"),
        ("DROP DATABASE IF EXISTS prices", f"DROP DATABASE IF EXISTS prices{CLAUSE}"),
        ("TRUNCATE TABLE IF EXISTS prices.t", f"TRUNCATE TABLE IF EXISTS prices.t{CLAUSE}"),
        ("INSERT INTO prices.t (a) VALUES (1)", "INSERT INTO prices.t (a) VALUES (1)"),
        (
            "CREATE OR REPLACE VIEW `prices`.`v` AS SELECT 'ENGINE = MergeTree' AS engine",
            f"CREATE OR REPLACE VIEW `prices`.`v`{CLAUSE} AS SELECT 'ENGINE = MergeTree' AS engine",
        ),
        (
            "CREATE TABLE prices.s (k UInt8, n UInt64) ENGINE = SummingMergeTree((n)) ORDER BY k",
            f"CREATE TABLE prices.s{CLAUSE} (k UInt8, n UInt64) ENGINE = ReplicatedSummingMergeTree({PATH_ARGS}, (n)) "
            "ORDER BY k",
        ),
        (
            "CREATE MATERIALIZED VIEW prices.mv ENGINE = AggregatingMergeTree() ORDER BY k AS SELECT 1 AS k",
            f"CREATE MATERIALIZED VIEW prices.mv{CLAUSE} ENGINE = ReplicatedAggregatingMergeTree({PATH_ARGS}) "
            "ORDER BY k AS SELECT 1 AS k",
        ),
        (
            "CREATE TABLE prices.d (a UInt8) ENGINE = Distributed(c, prices, t)",
            f"CREATE TABLE prices.d{CLAUSE} (a UInt8) ENGINE = Distributed(c, prices, t)",
        ),
    ],
)
def test_other_statement_kinds_render_as_designed(sql: str, expected: str) -> None:
    assert one(sql) == expected


@pytest.mark.parametrize(
    ("sql", "why"),
    [
        ("SYSTEM STOP MERGES prices.t", "SYSTEM statements are not handled"),
        ("OPTIMIZE TABLE prices.t FINAL", "OPTIMIZE statements are not handled"),
        ("CREATE TABLE prices.t ON CLUSTER c (a UInt8) ENGINE = MergeTree ORDER BY a", "already names a cluster"),
        ("ALTER TABLE prices.t ON CLUSTER c DROP COLUMN a", "already names a cluster"),
        ("CREATE TABLE prices.t (a UInt8) ENGINE = ReplicatedMergeTree ORDER BY a", "already replicated"),
        ("CREATE TABLE prices.t (a UInt8) ENGINE = Memory", "not a MergeTree-family engine"),
        ("CREATE TABLE t (a UInt8) ENGINE = MergeTree ORDER BY a", "not qualified with its database"),
        ("CREATE TEMPORARY TABLE prices.t (a UInt8)", "temporary tables"),
        ("CREATE TABLE IF NOT EXISTS prices.t2 AS prices.t", "without an explicit ENGINE clause"),
        (
            "CREATE TABLE prices.t (a UInt8) ENGINE = MergeTree ORDER BY a "
            "SETTINGS non_replicated_deduplication_window = 1, replicated_deduplication_window = 2",
            "both non_replicated_deduplication_window and replicated_deduplication_window",
        ),
    ],
)
def test_statements_the_renderer_cannot_make_cluster_safe_are_refused_naming_them(sql: str, why: str) -> None:
    with pytest.raises(ClusterRenderError, match=re.escape(why)) as err:
        one(sql)
    assert "statement 2 (" in str(err.value)


def test_a_replacing_refresh_target_cannot_take_an_insert_that_would_reach_one_replica() -> None:
    sqls = [
        DB,
        "CREATE TABLE prices.cur (a UInt8) ENGINE = ReplacingMergeTree ORDER BY a",
        "CREATE MATERIALIZED VIEW prices.mv REFRESH EVERY 1 MINUTE TO prices.cur (a) AS SELECT 1 AS a",
        "INSERT INTO prices.cur VALUES (1)",
    ]
    with pytest.raises(ClusterRenderError, match="per-replica table"):
        render_statements(sqls, CLUSTER)
    # A Replicated database replicates the target, so the same INSERT is fine there.
    assert render_statements(sqls, Cluster(NAME, REPLICATED_DATABASE))[3] == sqls[3]


def test_replicated_database_mode_refuses_objects_outside_the_replicated_databases() -> None:
    with pytest.raises(ClusterRenderError, match="outside the databases the migrations create as Replicated"):
        one("CREATE TABLE other.t (a UInt8) ENGINE = MergeTree ORDER BY a", Cluster(NAME, REPLICATED_DATABASE))
    with pytest.raises(ClusterRenderError, match="names an engine"):
        render_statements(["CREATE DATABASE prices ENGINE = Atomic"], Cluster(NAME, REPLICATED_DATABASE))
    with pytest.raises(ClusterRenderError, match="must be a plain identifier"):
        render_statements(["CREATE DATABASE `pri'ces`"], Cluster(NAME, REPLICATED_DATABASE))


@pytest.mark.parametrize("name", ["", "1abc", "a-b", "x; DROP DATABASE prices", "a" * 65, "prices\n"])
def test_cluster_names_that_could_not_be_rendered_safely_are_refused(name: str) -> None:
    with pytest.raises(ClusterRenderError, match="cluster name"):
        Cluster(name)
    with pytest.raises(ClusterRenderError, match="cluster mode"):
        Cluster("ok", cast(ClusterMode, "sharded"))


def test_errors_name_the_migration_file(tmp_path: Path) -> None:
    (tmp_path / "001_database.sql").write_text("CREATE DATABASE IF NOT EXISTS prices;\n")
    (tmp_path / "002_bad.sql").write_text("-- a comment\nCREATE TABLE prices.t (a UInt8) ENGINE = Log;\n")
    with pytest.raises(ClusterRenderError, match=r"002_bad\.sql: statement 1 .*engine Log"):
        render_schema_script(CLUSTER, tmp_path)
    assert render_schema_script(None, tmp_path) == render_migration_script(tmp_path)


def test_the_cluster_script_frames_the_same_migrations_in_the_same_order() -> None:
    script = render_schema_script(CLUSTER)
    names = re.findall(r"^-- (\d{3}_[a-z0-9_]+\.sql)$", script, re.M)
    assert names == [m.name for m in load_migrations(SCHEMA_DIR)]
    assert f"rendered for cluster {NAME}, mode on-cluster" in script
    assert split_statements(script) == render_statements(statements(), CLUSTER)


# ---------------------------------------------------------------------------------------------------------
# Access model
# ---------------------------------------------------------------------------------------------------------


def test_every_access_statement_gets_on_cluster_in_both_modes() -> None:
    plain = split_statements(rbac_sql())
    for mode in MODES:
        out = split_statements(render_rbac_for_cluster(rbac_sql(), Cluster(NAME, mode)))
        assert len(out) == len(plain)
        for before, after in zip(plain, out, strict=True):
            assert after.replace(CLAUSE, "", 1) == before
            if before.startswith(("GRANT", "REVOKE")):
                assert after.startswith(before.split(" ", 1)[0] + CLAUSE + " ")
            else:
                name = re.match(r"(?:CREATE|ALTER) (?:SETTINGS PROFILE|ROLE|USER) (?:IF NOT EXISTS )?(\w+)", before)
                assert name is not None, before
                assert after.startswith(name.group(0) + CLAUSE)


# ---------------------------------------------------------------------------------------------------------
# The real parser (chDB 26.9): every rendered statement parses, and only the intended parts changed
# ---------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def parser(schema_front: Front) -> str:
    return schema_front.url


def formatted(url: str, sql: str) -> str:
    """The engine's own canonical text of `sql` (formatQuery parses without executing: no cluster needed).

    The statement is bound as a query parameter, not formatted into the query. Sent with urllib rather than
    clickhouse-connect, whose client-side handling of multi-kilobyte parameter values broke two of the views.
    Parameter values travel in ClickHouse's escaped text format, hence the escaping."""
    value = sql.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    query = urllib.parse.urlencode({"param_q": value, "default_format": "TSVRaw"})
    # The URL is the local stand-in's http://127.0.0.1 address (tests.chfront_fixture).
    request = urllib.request.Request(f"{url}/?{query}", data=b"SELECT formatQuery({q:String})", method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return str(response.read().decode()).rstrip("\n")
    except urllib.error.HTTPError as exc:
        raise AssertionError(f"the engine could not parse:\n{sql}\n{exc.read().decode(errors='replace')}") from None


def _without_engine_and_settings(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.startswith(("ENGINE = ", "SETTINGS ")))


@pytest.mark.engine
@pytest.mark.parametrize("mode", MODES)
def test_every_rendered_statement_parses_and_differs_only_where_intended(parser: str, mode: ClusterMode) -> None:
    for original, out in rendered(mode):
        before, after = formatted(parser, original), formatted(parser, out)
        if CLAUSE in out:
            first = after.splitlines()[0]
            assert first.endswith(CLAUSE) or CLAUSE + " " in first, first  # the parser saw the clause
        stmt = parse_statement(original)
        if stmt.engine is not None and "Replicated" in out:
            engines = [line for line in after.splitlines() if line.startswith("ENGINE = ")]
            assert len(engines) == 1 and engines[0].startswith(f"ENGINE = Replicated{stmt.engine.name}"), engines
            if mode == ON_CLUSTER:
                assert engines[0].startswith(f"ENGINE = Replicated{stmt.engine.name}({PATH_ARGS}")
        if not stmt.is_database:
            assert _without_engine_and_settings(after.replace(CLAUSE, "", 1)) == _without_engine_and_settings(before)


@pytest.mark.engine
@pytest.mark.parametrize("mode", MODES)
def test_every_rendered_access_statement_parses(parser: str, mode: ClusterMode) -> None:
    for sql in split_statements(render_rbac_for_cluster(rbac_sql(), Cluster(NAME, mode))):
        assert f"ON CLUSTER {NAME}" in formatted(parser, sql)


# ---------------------------------------------------------------------------------------------------------
# ClickHouseDatabase applies the cluster rendering when the switch is on (mock runtime, real program)
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_the_database_component_pushes_the_cluster_script_when_the_switch_is_on(mode: ClusterMode) -> None:
    raw, _ = stack_file_config("prod")
    clickhouse = {**raw["clickhouse"], "cluster": {"name": NAME, "mode": mode}}
    result = run_program("prod", config_overrides={"clickhouse": clickhouse})
    script = next(
        r
        for r in result.resources
        if r.type == "command:remote:Command" and r.name == "clickhouse-apply-schema-and-grants"
    ).inputs["stdin"]
    assert script.startswith(render_schema_script(Cluster(NAME, mode)))
    assert f"GRANT{CLAUSE} SELECT ON prices.* TO prices_reader_role;" in script
    assert f"CREATE USER IF NOT EXISTS prices_writer{CLAUSE} IDENTIFIED WITH sha256_hash BY " in script
    assert result.outputs["clickhouse_schema_mode"] == f"{mode} cluster {NAME}"
    # The switch off (the stack files) keeps the single-node script.
    assert planned("prod").outputs["clickhouse_schema_mode"] == "single-node"
