from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import clickhouse_connect
import pytest

from schema.migrations import apply_migrations
from tests.chfront_fixture import Front, running_front


@pytest.fixture(scope="session")
def schema_front(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Front]:
    with running_front(Path(tmp_path_factory.mktemp("chfront-schema"))) as f:
        yield f


@pytest.fixture(scope="session")
def admin(schema_front: Front) -> Any:
    client = clickhouse_connect.get_client(
        host=schema_front.host, port=schema_front.port, username="default", autogenerate_session_id=False
    )
    # Twice on purpose: every migration must be idempotent.
    apply_migrations(client.command)
    apply_migrations(client.command)
    return client
