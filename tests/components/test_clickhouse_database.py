import hashlib

from schema.migrations import migrations_sha256, render_migration_script
from tests.components.program import children_of, one, planned

CMD = "command:remote:Command"


def test_schema_and_grants_are_applied_over_ssh_with_the_client_command() -> None:
    result = planned("prod")
    apply = one(result, CMD, "clickhouse-apply-schema-and-grants")
    assert "docker exec -i clickhouse clickhouse-client --multiquery" in apply.inputs["create"]
    script = apply.inputs["stdin"]
    assert script.startswith(render_migration_script())
    assert "CREATE DATABASE IF NOT EXISTS prices" in script
    assert "prices_writer" in script and "prices_reader" in script
    assert "GRANT" in script
    assert apply.input_is_secret("stdin")
    assert result.outputs["clickhouse_schema_sha256"] == migrations_sha256()


def test_plain_passwords_never_reach_the_sql_only_their_hashes() -> None:
    result = planned("dev")
    script = one(result, CMD, "clickhouse-apply-schema-and-grants").inputs["stdin"]
    passwords = result.of_type("random:index/randomPassword:RandomPassword")
    assert len(passwords) == 2
    for password in passwords:
        plain = password.outputs["result"]
        assert plain not in script
        assert hashlib.sha256(plain.encode()).hexdigest() in script


def test_script_digest_triggers_a_re_run() -> None:
    result = planned("dev")
    apply = one(result, CMD, "clickhouse-apply-schema-and-grants")
    assert apply.inputs["triggers"] == [hashlib.sha256(apply.inputs["stdin"].encode()).hexdigest()]
    database = one(result, "prices:clickhouse:ClickHouseDatabase", "clickhouse")
    assert {r.type for r in children_of(result, database)} == {
        CMD,
        "random:index/randomPassword:RandomPassword",
    }


def test_user_host_restriction_comes_from_settings() -> None:
    script = one(planned("dev"), CMD, "clickhouse-apply-schema-and-grants").inputs["stdin"]
    assert "172.30.0.0/16" in script
