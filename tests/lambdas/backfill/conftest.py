"""The data plane (chDB stand-in + the Caddy mTLS edge) each backfill test module writes through, and its admin."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import clickhouse_connect
import pytest

from local.dataplane import DataPlane, start_dataplane


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DataPlane]:
    with start_dataplane(tmp_path_factory.mktemp("backfill-plane"), progress=lambda _: None) as running:
        yield running


@pytest.fixture(scope="module")
def admin(plane: DataPlane) -> Any:
    """The engine's `default` user, straight to the stand-in (schema resets and checks, never the edge)."""
    host, port = plane.clickhouse_http.removeprefix("http://").split(":")
    return clickhouse_connect.get_client(host=host, port=int(port), username="default", autogenerate_session_id=False)
