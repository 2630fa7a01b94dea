"""Fail loudly (not skip) when the shared fixtures are missing."""

from __future__ import annotations

import pytest

from tests.lambdas.ledger_processor.helpers import FIXTURES


@pytest.fixture(scope="session", autouse=True)
def _fixtures_present() -> None:
    assert FIXTURES.is_dir(), f"fixtures not found at {FIXTURES}"
