"""Cluster rendering of the schema: every migration statement made safe to run on a ClickHouse cluster.

A pure function over the statements of `schema/NNN_*.sql` (and over the access-model SQL of
`schema.rbac`): each statement is tokenised and classified (CREATE DATABASE / TABLE / VIEW /
MATERIALIZED VIEW / DICTIONARY, ALTER, DROP, TRUNCATE, INSERT), then edited at known positions only —
an `ON CLUSTER` clause after the object name, the engine clause, one setting name, `SYNC` after a DROP
(on-cluster mode). Everything else, view bodies included, is copied byte for byte. A statement the renderer
does not understand is an error naming the migration, never a silent pass-through, so a new migration either
renders correctly or stops the deployment.

Two modes (docs/cluster.md explains the choice):

* ``on-cluster`` — the database stays Atomic; every DDL statement carries ``ON CLUSTER <name>``;
  MergeTree-family engines become ``Replicated*('/clickhouse/tables/{shard}/{database}/{table}',
  '{replica}', <original args>)``. Refreshable views are created on every replica and refresh
  independently (ClickHouse coordinates refreshes only inside a Replicated database). The target of a
  non-APPEND (replacing) refreshable view keeps its local engine: each replica rebuilds its own copy.
* ``replicated-database`` — ``CREATE DATABASE … ON CLUSTER <name> ENGINE = Replicated(…)``; every
  other statement runs once and the database replicates it (ClickHouse refuses ON CLUSTER inside a
  Replicated database, code 80, and explicit Keeper paths there, code 36), engines become
  ``Replicated*`` with their original arguments only. Refreshable views are coordinated through
  Keeper: one replica runs each scheduled refresh.

With no cluster the statements are returned unchanged (`render_schema_script(None)` is
`schema.migrations.render_migration_script()` itself).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from schema.migrations import SCHEMA_DIR, load_migrations, migrations_sha256, render_migration_script, split_statements

ClusterMode = Literal["on-cluster", "replicated-database"]
ON_CLUSTER: ClusterMode = "on-cluster"
REPLICATED_DATABASE: ClusterMode = "replicated-database"
MODES: tuple[ClusterMode, ...] = (ON_CLUSTER, REPLICATED_DATABASE)

# The Keeper layout ClickHouse's replication guide recommends; {shard} and {replica} are server macros,
# {database} and {table} are expanded by the server when the table is created.
TABLE_ZOOKEEPER_PATH = "/clickhouse/tables/{shard}/{database}/{table}"
REPLICA_NAME = "{replica}"
DATABASE_ZOOKEEPER_PREFIX = "/clickhouse/databases"

MERGE_TREE_ENGINES = frozenset(
    {
        "MergeTree",
        "ReplacingMergeTree",
        "SummingMergeTree",
        "AggregatingMergeTree",
        "CollapsingMergeTree",
        "VersionedCollapsingMergeTree",
        "GraphiteMergeTree",
        "CoalescingMergeTree",
    }
)
# Engines that hold no data of their own on the node, so a copy per replica is what a cluster wants.
STATELESS_ENGINES = frozenset({"Null", "Merge", "Distributed", "Dictionary"})

# A retried insert is recognised by its deduplication token within this many blocks; replicated
# tables read the window from the replicated_* setting, so the migration's intent is carried over.
_SETTING_RENAMES = {"non_replicated_deduplication_window": "replicated_deduplication_window"}

# \Z, not $: `$` also matches before a trailing newline, and the name reaches DDL and shell scripts unquoted.
CLUSTER_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}\Z")


class ClusterRenderError(ValueError):
    """A statement the cluster renderer cannot make cluster-safe; the message names it and why."""


_ALREADY_CLUSTERED = "it already names a cluster (ON CLUSTER); migrations must be cluster-neutral"


@dataclass(frozen=True)
class Cluster:
    name: str
    mode: ClusterMode = ON_CLUSTER

    def __post_init__(self) -> None:
        # The name is rendered into DDL unquoted (identifiers cannot be bound as parameters).
        if not isinstance(self.name, str) or not CLUSTER_NAME_RE.match(self.name):
            raise ClusterRenderError(
                f"cluster name {self.name!r} must be an identifier [A-Za-z_][A-Za-z0-9_]* of at most 64 characters"
            )
        if self.mode not in MODES:
            raise ClusterRenderError(f"cluster mode {self.mode!r} must be one of {', '.join(MODES)}")

    @property
    def clause(self) -> str:
        return f" ON CLUSTER {self.name}"


# ---------------------------------------------------------------------------------------------------------
# Tokens
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: Literal["word", "quoted", "string", "number", "param", "punct"]
    text: str
    start: int
    end: int
    depth: int  # parenthesis depth the token sits at (an opening paren sits at the outer depth)

    @property
    def word(self) -> str:
        return self.text.upper() if self.kind == "word" else ""

    @property
    def identifier(self) -> str | None:
        if self.kind == "word":
            return self.text
        if self.kind == "quoted":
            return self.text[1:-1]
        return None


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_NUMBER = re.compile(r"[0-9][0-9A-Za-z_.]*")


def _closing_quote(sql: str, start: int) -> int:
    quote, j = sql[start], start + 1
    while j < len(sql):
        if sql[j] == "\\":
            j += 2
            continue
        if sql[j] == quote:
            if j + 1 < len(sql) and sql[j + 1] == quote:
                j += 2
                continue
            return j
        j += 1
    raise ClusterRenderError(f"unterminated {quote} quote")


def _skip_blank(sql: str, i: int) -> int:
    """Past whitespace and comments."""
    n = len(sql)
    while i < n:
        if sql[i].isspace():
            i += 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end == -1 else end
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            if end == -1:
                raise ClusterRenderError("unterminated /* comment")
            i = end + 2
        else:
            break
    return i


def _lex_one(sql: str, i: int, depth: int) -> _Token:
    ch = sql[i]
    if ch in "`\"'":
        end = _closing_quote(sql, i) + 1
        return _Token("string" if ch == "'" else "quoted", sql[i:end], i, end, depth)
    if ch == "{":
        end = sql.find("}", i)
        if end == -1:
            raise ClusterRenderError("unterminated {query parameter}")
        return _Token("param", sql[i : end + 1], i, end + 1, depth)
    if (m := _WORD.match(sql, i)) is not None:
        return _Token("word", m.group(), i, m.end(), depth)
    if (m := _NUMBER.match(sql, i)) is not None:
        return _Token("number", m.group(), i, m.end(), depth)
    return _Token("punct", ch, i, i + 1, depth)


def tokenize(sql: str) -> list[_Token]:
    tokens: list[_Token] = []
    depth = 0
    i = _skip_blank(sql, 0)
    while i < len(sql):
        if sql[i] == ")":
            depth -= 1
            if depth < 0:
                raise ClusterRenderError("unbalanced ')'")
        token = _lex_one(sql, i, depth)
        tokens.append(token)
        if token.kind == "punct" and token.text == "(":
            depth += 1
        i = _skip_blank(sql, token.end)
    if depth != 0:
        raise ClusterRenderError("unbalanced '('")
    return tokens


# ---------------------------------------------------------------------------------------------------------
# Statements
# ---------------------------------------------------------------------------------------------------------


class Kind(enum.Enum):
    DATABASE = "database"
    TABLE = "table"
    VIEW = "view"
    MATERIALIZED_VIEW = "materialized view"
    DICTIONARY = "dictionary"
    ALTER = "alter"
    DROP = "drop"
    TRUNCATE = "truncate"
    INSERT = "insert"


@dataclass(frozen=True)
class Engine:
    name: str
    start: int  # offset of the engine name
    end: int  # offset after the name or after its closing parenthesis
    args: str | None  # the text between the parentheses, verbatim; None without parentheses


@dataclass(frozen=True)
class Statement:
    text: str
    kind: Kind
    verb: str  # CREATE, ALTER, DROP, TRUNCATE, INSERT
    name: str  # the object as written, unquoted parts joined by '.'
    database: str | None
    name_end: int  # where ON CLUSTER goes
    engine: Engine | None = None
    refresh: bool = False
    append: bool = False
    to_table: str | None = None
    sync: bool = False
    settings: tuple[_Token, ...] = ()  # setting-name tokens of the table's SETTINGS clause

    @property
    def is_database(self) -> bool:
        """CREATE DATABASE or DROP DATABASE: the statement is about the database itself."""
        return self.database is not None and self.database == self.name

    @property
    def first_line(self) -> str:
        return self.text.splitlines()[0] if self.text else ""


class _Cursor:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.i = 0

    def peek(self, ahead: int = 0) -> _Token | None:
        j = self.i + ahead
        return self.tokens[j] if j < len(self.tokens) else None

    def accept(self, *words: str) -> bool:
        """Consume the words if they come next (case-insensitively)."""
        for k, word in enumerate(words):
            token = self.peek(k)
            if token is None or token.word != word:
                return False
        self.i += len(words)
        return True

    def take_word(self) -> str:
        token = self.peek()
        if token is None or token.kind != "word":
            raise ClusterRenderError(f"expected a keyword, found {token.text if token else 'the end'}")
        self.i += 1
        return token.word

    def take_name(self) -> tuple[str, str | None, int]:
        """A possibly qualified object name: (name, database or None, end offset)."""
        parts: list[str] = []
        end = 0
        while True:
            token = self.peek()
            ident = token.identifier if token else None
            if token is None or ident is None:
                raise ClusterRenderError(f"expected an object name, found {token.text if token else 'the end'}")
            parts.append(ident)
            end = token.end
            self.i += 1
            dot = self.peek()
            if dot is None or dot.text != "." or dot.kind != "punct":
                break
            self.i += 1
        if len(parts) > 2:
            raise ClusterRenderError(f"object name {'.'.join(parts)!r} has more than two parts")
        return ".".join(parts), (parts[0] if len(parts) == 2 else None), end


def _matching_paren(tokens: list[_Token], open_index: int) -> int:
    depth = tokens[open_index].depth
    for j in range(open_index + 1, len(tokens)):
        if tokens[j].kind == "punct" and tokens[j].text == ")" and tokens[j].depth == depth:
            return j
    raise ClusterRenderError("unbalanced '('")  # tokenize() already refuses this; kept for safety


def _header_indices(tokens: list[_Token], start: int) -> list[int]:
    """Top-level tokens after the object name, up to the query of a view / CTAS (`AS SELECT|WITH|(`)."""
    out: list[int] = []
    for j in range(start, len(tokens)):
        token = tokens[j]
        if token.depth != 0:
            continue
        if token.word == "AS":
            nxt = tokens[j + 1] if j + 1 < len(tokens) else None
            if nxt is not None and (nxt.word in {"SELECT", "WITH"} or nxt.text == "("):
                break
        out.append(j)
    return out


@dataclass(frozen=True)
class _Tail:
    engine: Engine | None = None
    refresh: bool = False
    append: bool = False
    to_table: str | None = None
    settings: tuple[_Token, ...] = ()


def _parse_create_tail(sql: str, tokens: list[_Token], start: int) -> _Tail:
    header = _header_indices(tokens, start)
    engine: Engine | None = None
    refresh = append = False
    to_table: str | None = None
    for k, j in enumerate(header):
        token = tokens[j]
        if token.word == "ON" and k + 1 < len(header) and tokens[header[k + 1]].word == "CLUSTER":
            raise ClusterRenderError(_ALREADY_CLUSTERED)
        if token.word == "REFRESH":
            refresh = True
        elif token.word == "APPEND":
            append = True
        elif token.word == "TO" and to_table is None:
            cursor = _Cursor(tokens)
            cursor.i = j + 1
            to_table = cursor.take_name()[0]
        elif token.word == "ENGINE" and engine is None:
            engine = _parse_engine(sql, tokens, j)
    settings: list[_Token] = []
    if engine is not None:
        after = [tokens[j] for j in header if tokens[j].start >= engine.end]
        in_settings = False
        for k, token in enumerate(after):
            if token.word == "SETTINGS":
                in_settings = True
            elif in_settings and token.kind == "word" and k + 1 < len(after) and after[k + 1].text == "=":
                settings.append(token)
            elif in_settings and token.word in {"COMMENT", "TTL", "ORDER", "PRIMARY", "PARTITION"}:
                in_settings = False
    return _Tail(engine, refresh, append, to_table, tuple(settings))


def _parse_engine(sql: str, tokens: list[_Token], index: int) -> Engine:
    j = index + 1
    if j < len(tokens) and tokens[j].text == "=":
        j += 1
    if j >= len(tokens) or tokens[j].kind != "word":
        raise ClusterRenderError("ENGINE without an engine name")
    name_token = tokens[j]
    nxt = tokens[j + 1] if j + 1 < len(tokens) else None
    if nxt is not None and nxt.text == "(":
        close = _matching_paren(tokens, j + 1)
        return Engine(name_token.text, name_token.start, tokens[close].end, sql[nxt.end : tokens[close].start])
    return Engine(name_token.text, name_token.start, name_token.end, None)


_CREATE_KINDS = {
    "DATABASE": Kind.DATABASE,
    "TABLE": Kind.TABLE,
    "VIEW": Kind.VIEW,
    "DICTIONARY": Kind.DICTIONARY,
}
_DROP_KINDS = {"TABLE", "VIEW", "DICTIONARY", "DATABASE"}


def _parse_create(sql: str, tokens: list[_Token], cursor: _Cursor) -> Statement:
    cursor.accept("OR", "REPLACE")
    if cursor.accept("TEMPORARY"):
        raise ClusterRenderError("temporary tables live in one session and cannot be created on a cluster")
    if cursor.accept("MATERIALIZED", "VIEW"):
        kind = Kind.MATERIALIZED_VIEW
    else:
        word = cursor.take_word()
        if word not in _CREATE_KINDS:
            raise ClusterRenderError(f"CREATE {word} is not a statement the cluster renderer handles")
        kind = _CREATE_KINDS[word]
    cursor.accept("IF", "NOT", "EXISTS")
    name, database, name_end = cursor.take_name()
    if kind is Kind.DATABASE:
        database = name
    tail = _parse_create_tail(sql, tokens, cursor.i)
    return Statement(
        sql,
        kind,
        "CREATE",
        name,
        database,
        name_end,
        engine=tail.engine,
        refresh=tail.refresh,
        append=tail.append,
        to_table=tail.to_table,
        settings=tail.settings,
    )


def _parse_alter(sql: str, tokens: list[_Token], cursor: _Cursor) -> Statement:
    if not cursor.accept("TABLE"):
        raise ClusterRenderError("only ALTER TABLE is handled by the cluster renderer")
    name, database, name_end = cursor.take_name()
    if cursor.accept("ON", "CLUSTER"):
        raise ClusterRenderError(_ALREADY_CLUSTERED)
    return Statement(sql, Kind.ALTER, "ALTER", name, database, name_end)


def _parse_drop(sql: str, tokens: list[_Token], cursor: _Cursor) -> Statement:
    word = cursor.take_word()
    if word not in _DROP_KINDS:
        raise ClusterRenderError(f"DROP {word} is not a statement the cluster renderer handles")
    cursor.accept("IF", "EXISTS")
    name, database, name_end = cursor.take_name()
    if word == "DATABASE":
        database = name
    elif database is not None and database == name:
        raise ClusterRenderError(f"object name {name!r} is ambiguous")
    rest = [t.word for t in tokens[cursor.i :]]
    if "CLUSTER" in rest:
        raise ClusterRenderError(_ALREADY_CLUSTERED)
    return Statement(sql, Kind.DROP, "DROP", name, database, name_end, sync="SYNC" in rest)


def _parse_truncate(sql: str, tokens: list[_Token], cursor: _Cursor) -> Statement:
    cursor.accept("TABLE")
    cursor.accept("IF", "EXISTS")
    name, database, name_end = cursor.take_name()
    return Statement(sql, Kind.TRUNCATE, "TRUNCATE", name, database, name_end)


def _parse_insert(sql: str, tokens: list[_Token], cursor: _Cursor) -> Statement:
    if not cursor.accept("INTO"):
        raise ClusterRenderError("INSERT without INTO")
    cursor.accept("TABLE")
    name, database, name_end = cursor.take_name()
    return Statement(sql, Kind.INSERT, "INSERT", name, database, name_end)


_PARSERS = {
    "CREATE": _parse_create,
    "ALTER": _parse_alter,
    "DROP": _parse_drop,
    "TRUNCATE": _parse_truncate,
    "INSERT": _parse_insert,
}


def parse_statement(sql: str) -> Statement:
    """Classify one statement and locate the positions the cluster rendering edits."""
    tokens = tokenize(sql)
    cursor = _Cursor(tokens)
    verb = cursor.take_word()
    parser = _PARSERS.get(verb)
    if parser is None:
        raise ClusterRenderError(
            f"{verb} statements are not handled by the cluster renderer "
            "(CREATE, ALTER TABLE, DROP, TRUNCATE and INSERT are); extend schema/cluster.py"
        )
    return parser(sql, tokens, cursor)


# ---------------------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------------------


def _replicated_engine(engine: Engine, cluster: Cluster) -> str:
    name = engine.name
    if name.startswith("Replicated"):
        raise ClusterRenderError(f"engine {name} is already replicated; migrations must use the plain engine")
    if name not in MERGE_TREE_ENGINES:
        raise ClusterRenderError(f"engine {name} is not a MergeTree-family engine the renderer can replicate")
    args = (engine.args or "").strip()
    if cluster.mode == ON_CLUSTER:
        path = f"'{TABLE_ZOOKEEPER_PATH}', '{REPLICA_NAME}'"
        return f"Replicated{name}({path}{', ' + args if args else ''})"
    # Inside a Replicated database the server derives the Keeper path from the table's UUID and
    # refuses explicit ones; the engine keeps only its own arguments (e.g. the version column).
    return f"Replicated{name}" + ("" if engine.args is None else f"({engine.args})")


def _engine_edits(stmt: Statement, cluster: Cluster, local: bool) -> list[tuple[int, int, str]]:
    engine = stmt.engine
    if engine is None:
        if stmt.kind is Kind.TABLE and stmt.verb == "CREATE":
            # `CREATE TABLE t AS other` would copy other's engine, Keeper path included, or take the server's
            # default engine: neither is something the renderer can make replicated.
            raise ClusterRenderError("CREATE TABLE without an explicit ENGINE clause")
        return []
    if engine.name in STATELESS_ENGINES:
        return []
    if local:
        # A replacing refreshable view swaps its whole target per refresh on each replica (on-cluster
        # mode), so the target is a per-replica table; a Replicated engine there would share one Keeper
        # path between the replicas' independent rebuilds.
        if engine.name not in MERGE_TREE_ENGINES:
            raise ClusterRenderError(f"engine {engine.name} is not a MergeTree-family engine")
        return []
    edits = [(engine.start, engine.end, _replicated_engine(engine, cluster))]
    names = {t.text for t in stmt.settings}
    for token in stmt.settings:
        renamed = _SETTING_RENAMES.get(token.text)
        if renamed is None:
            continue
        if renamed in names:
            raise ClusterRenderError(f"both {token.text} and {renamed} are set")
        edits.append((token.start, token.end, renamed))
    return edits


def _apply(text: str, edits: list[tuple[int, int, str]]) -> str:
    for start, end, replacement in sorted(edits, key=lambda e: e[0], reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


@dataclass(frozen=True)
class _Plan:
    """What the renderer learns from the whole migration set before rendering any statement."""

    replicated_databases: frozenset[str]
    local_tables: frozenset[str]  # on-cluster mode: targets of replacing refreshable views


def _plan(statements: Sequence[Statement], cluster: Cluster) -> _Plan:
    databases = frozenset(s.name for s in statements if s.kind is Kind.DATABASE and s.verb == "CREATE")
    local: set[str] = set()
    if cluster.mode == ON_CLUSTER:
        for s in statements:
            if s.kind is Kind.MATERIALIZED_VIEW and s.refresh and not s.append:
                local.add(s.to_table if s.to_table is not None else s.name)
    return _Plan(databases, frozenset(local))


def _render(stmt: Statement, cluster: Cluster, plan: _Plan) -> str:
    if not stmt.is_database and stmt.database is None:
        # ON CLUSTER runs the statement in each host's current database; a Replicated database only
        # replicates statements about its own objects. Either way the name must say where it lives.
        raise ClusterRenderError(f"{stmt.name!r} is not qualified with its database")
    if stmt.kind is Kind.INSERT:
        if stmt.name in plan.local_tables:
            raise ClusterRenderError(f"{stmt.name} is a per-replica table; an INSERT would reach one replica only")
        return stmt.text  # data, not DDL: replicated tables carry it to the other replicas
    if cluster.mode == ON_CLUSTER:
        return _render_on_cluster(stmt, cluster, plan)
    return _render_replicated_database(stmt, cluster, plan)


def _render_on_cluster(stmt: Statement, cluster: Cluster, plan: _Plan) -> str:
    edits = [(stmt.name_end, stmt.name_end, cluster.clause)]
    if stmt.kind is Kind.DATABASE and stmt.verb == "CREATE" and stmt.engine is not None:
        raise ClusterRenderError("CREATE DATABASE names an engine; the cluster renderer decides it")
    edits += _engine_edits(stmt, cluster, local=stmt.name in plan.local_tables)
    text = _apply(stmt.text, edits)
    if stmt.kind is Kind.DROP and not stmt.sync and not stmt.is_database:
        # Without SYNC an Atomic database drops the table minutes later and its Keeper path lingers;
        # re-creating the table under the same {database}/{table} path would then fail.
        text += " SYNC"
    return text


def _render_replicated_database(stmt: Statement, cluster: Cluster, plan: _Plan) -> str:
    if stmt.kind is Kind.DATABASE:
        if stmt.engine is not None:
            raise ClusterRenderError("CREATE DATABASE names an engine; the cluster renderer decides it")
        if not CLUSTER_NAME_RE.match(stmt.name):  # it becomes part of a string literal (the Keeper path)
            raise ClusterRenderError(f"database name {stmt.name!r} must be a plain identifier")
        engine = f" ENGINE = Replicated('{DATABASE_ZOOKEEPER_PREFIX}/{stmt.name}', '{{shard}}', '{REPLICA_NAME}')"
        return _apply(stmt.text, [(stmt.name_end, stmt.name_end, cluster.clause + engine)])
    if stmt.is_database:  # DROP DATABASE: each replica holds its own copy of the database
        return _apply(stmt.text, [(stmt.name_end, stmt.name_end, cluster.clause)])
    if stmt.database not in plan.replicated_databases:
        raise ClusterRenderError(
            f"{stmt.name} is outside the databases the migrations create as Replicated "
            f"({', '.join(sorted(plan.replicated_databases)) or 'none'}); it would exist on one replica only"
        )
    # The Replicated database replays the statement on every replica itself; ON CLUSTER is refused there.
    return _apply(stmt.text, _engine_edits(stmt, cluster, local=False))


def render_statements(statements: Sequence[str], cluster: Cluster | None) -> list[str]:
    """The statements for `cluster` (unchanged when None). Raises ClusterRenderError naming the statement."""
    if cluster is None:
        return list(statements)
    parsed = [_parse_numbered(i, s) for i, s in enumerate(statements)]
    plan = _plan(parsed, cluster)
    return [_render_numbered(i, s, cluster, plan) for i, s in enumerate(parsed)]


def _parse_numbered(index: int, sql: str, where: str = "") -> Statement:
    try:
        return parse_statement(sql)
    except ClusterRenderError as exc:
        first = sql.splitlines()[0] if sql else ""
        raise ClusterRenderError(f"{where}statement {index + 1} ({first!r}): {exc}") from None


def _render_numbered(index: int, stmt: Statement, cluster: Cluster, plan: _Plan, where: str = "") -> str:
    try:
        return _render(stmt, cluster, plan)
    except ClusterRenderError as exc:
        raise ClusterRenderError(f"{where}statement {index + 1} ({stmt.first_line!r}): {exc}") from None


def render_schema_script(cluster: Cluster | None, directory: Path = SCHEMA_DIR) -> str:
    """The migration script for `clickhouse-client --multiquery`: the single-node script itself when
    `cluster` is None, otherwise every statement rendered for the cluster (same order, same framing)."""
    if cluster is None:
        return render_migration_script(directory)
    migrations = load_migrations(directory)
    parsed = [
        [_parse_numbered(i, stmt, f"{mig.name}: ") for i, stmt in enumerate(mig.statements)] for mig in migrations
    ]
    plan = _plan([s for statements in parsed for s in statements], cluster)
    parts = [
        f"-- prices schema, migrations sha256 {migrations_sha256(directory)}",
        f"-- rendered for cluster {cluster.name}, mode {cluster.mode} (schema/cluster.py)",
    ]
    for mig, statements in zip(migrations, parsed, strict=True):
        parts.append(f"-- {mig.name}")
        parts.extend(f"{_render_numbered(i, s, cluster, plan, f'{mig.name}: ')};" for i, s in enumerate(statements))
    return "\n".join(parts) + "\n"


# ---------------------------------------------------------------------------------------------------------
# Access model (users, roles, profiles, grants)
# ---------------------------------------------------------------------------------------------------------

# Access entities are not objects of a database, so they need ON CLUSTER in both modes (unless the
# servers keep them in replicated access storage, where ClickHouse ignores the clause).
_RBAC_NAMED = (
    ("CREATE", "SETTINGS", "PROFILE"),
    ("ALTER", "SETTINGS", "PROFILE"),
    ("CREATE", "ROLE"),
    ("CREATE", "USER"),
    ("ALTER", "USER"),
)


def _rbac_statement(sql: str, cluster: Cluster) -> str:
    cursor = _Cursor(tokenize(sql))
    for words in (("GRANT",), ("REVOKE",)):
        if cursor.accept(*words):
            if cursor.accept("ON", "CLUSTER"):
                raise ClusterRenderError("it already names a cluster")
            return _apply(sql, [(cursor.tokens[cursor.i - 1].end, cursor.tokens[cursor.i - 1].end, cluster.clause)])
    for named in _RBAC_NAMED:
        if cursor.accept(*named):
            if not cursor.accept("IF", "NOT", "EXISTS"):
                cursor.accept("IF", "EXISTS")
            _, _, name_end = cursor.take_name()
            if cursor.accept("ON", "CLUSTER"):
                raise ClusterRenderError("it already names a cluster")
            return _apply(sql, [(name_end, name_end, cluster.clause)])
    raise ClusterRenderError("not an access statement the cluster renderer handles")


def render_rbac_for_cluster(rbac_sql: str, cluster: Cluster | None) -> str:
    """The access-model SQL of `schema.rbac.render_rbac_sql` for `cluster` (unchanged when None)."""
    if cluster is None:
        return rbac_sql
    out = [f"-- prices access model, ON CLUSTER {cluster.name} (schema/cluster.py)"]
    for i, stmt in enumerate(split_statements(rbac_sql)):
        try:
            out.append(_rbac_statement(stmt, cluster) + ";")
        except ClusterRenderError as exc:
            raise ClusterRenderError(f"access statement {i + 1} ({stmt.splitlines()[0]!r}): {exc}") from None
    return "\n".join(out) + "\n"
