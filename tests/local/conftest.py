from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chfront_fixture import Front, running_front


@pytest.fixture(scope="session")
def front(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Front]:
    with running_front(Path(tmp_path_factory.mktemp("chfront-local"))) as f:
        yield f
