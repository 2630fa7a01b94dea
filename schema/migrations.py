"""Schema migrations: ``schema/NNN_<what>.sql`` applied in numeric order.

Every file is idempotent (IF NOT EXISTS / ADD COLUMN IF NOT EXISTS), so the whole set is
simply re-applied on every deploy; ``migrations_sha256()`` lets the deployment re-run only
when the set changed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SCHEMA_DIR = Path(__file__).resolve().parent
_NAME_RE = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    text: str

    @property
    def statements(self) -> list[str]:
        return split_statements(self.text)


def migration_files(directory: Path = SCHEMA_DIR) -> list[Path]:
    found: dict[int, Path] = {}
    for path in directory.glob("*.sql"):
        m = _NAME_RE.match(path.name)
        if not m:
            raise ValueError(f"migration file name must look like NNN_what.sql: {path.name}")
        number = int(m.group(1))
        if number in found:
            # Two files with one number would make the order depend on the file system.
            raise ValueError(f"duplicate migration number {number:03d}: {found[number].name}, {path.name}")
        found[number] = path
    return [found[n] for n in sorted(found)]


def load_migrations(directory: Path = SCHEMA_DIR) -> list[Migration]:
    return [Migration(int(p.name[:3]), p.name, p.read_text(encoding="utf-8")) for p in migration_files(directory)]


def split_statements(sql: str) -> list[str]:
    """Split on ``;`` outside quotes and comments; comments are dropped.

    A hand-written scanner rather than a regex because string literals and comments may
    legitimately contain ``;`` and quote characters.
    """
    statements: list[str] = []
    buf: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        nxt = sql[i + 1] if i + 1 < n else ""
        if ch == "-" and nxt == "-":
            end = sql.find("\n", i)
            i = n if end == -1 else end
            continue
        if ch == "/" and nxt == "*":
            end = sql.find("*/", i + 2)
            if end == -1:
                raise ValueError("unterminated /* comment in migration SQL")
            buf.append(" ")
            i = end + 2
            continue
        if ch in "'\"`":
            j = i + 1
            while j < n:
                if sql[j] == "\\":
                    j += 2
                    continue
                if sql[j] == ch:
                    if j + 1 < n and sql[j + 1] == ch:
                        j += 2
                        continue
                    break
                j += 1
            if j >= n:
                raise ValueError(f"unterminated {ch} quote in migration SQL")
            buf.append(sql[i : j + 1])
            i = j + 1
            continue
        if ch == ";":
            _flush(buf, statements)
            buf = []
            i += 1
            continue
        buf.append(ch)
        i += 1
    _flush(buf, statements)
    return statements


def _flush(buf: list[str], statements: list[str]) -> None:
    lines = [line.rstrip() for line in "".join(buf).strip().splitlines()]
    text = "\n".join(line for line in lines if line.strip())
    if text:
        statements.append(text)


def migrations_sha256(directory: Path = SCHEMA_DIR) -> str:
    h = hashlib.sha256()
    for mig in load_migrations(directory):
        # Name and length framing so that moving text between files changes the digest.
        data = mig.text.encode("utf-8")
        h.update(f"{mig.name}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


def all_statements(directory: Path = SCHEMA_DIR) -> list[str]:
    return [stmt for mig in load_migrations(directory) for stmt in mig.statements]


def apply_migrations(execute: Callable[[str], object], directory: Path = SCHEMA_DIR) -> list[str]:
    """Run every statement in order; returns the statements executed."""
    done: list[str] = []
    for stmt in all_statements(directory):
        execute(stmt)
        done.append(stmt)
    return done


def render_migration_script(directory: Path = SCHEMA_DIR) -> str:
    """One SQL text for ``clickhouse-client --multiquery`` (production applies it over SSH)."""
    parts = [f"-- prices schema, migrations sha256 {migrations_sha256(directory)}"]
    for mig in load_migrations(directory):
        parts.append(f"-- {mig.name}")
        parts.extend(f"{stmt};" for stmt in mig.statements)
    return "\n".join(parts) + "\n"
