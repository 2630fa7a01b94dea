"""Fixtures of the worker tests: the AWS test environment and one engine per test module."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from schema.migrations import apply_migrations
from tests.chfront_fixture import Front, running_front
from tests.lambdas.workers.helpers import admin_client


@pytest.fixture(autouse=True)
def _aws_test_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "AWS_DEFAULT_REGION": "eu-central-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }.items():
        monkeypatch.setenv(key, value)


@pytest.fixture(scope="module")
def front(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Front]:
    """One engine per test module (chDB: one path per process), schema applied, refreshable views stopped so
    no background refresh rewrites what a test inserted (the rollups and current prices are not under test)."""
    with running_front(Path(tmp_path_factory.mktemp("chfront-workers"))) as f:
        admin = admin_client(f)
        apply_migrations(admin.command)
        admin.command("SYSTEM STOP VIEWS")
        # A refresh already under way still finishes (and would replace current_prices): wait it out.
        deadline = time.monotonic() + 30
        while admin.query("SELECT count() FROM system.view_refreshes WHERE status = 'Running'").result_rows[0][0]:
            assert time.monotonic() < deadline, "a refreshable view kept running after SYSTEM STOP VIEWS"
            time.sleep(0.05)
        yield f
