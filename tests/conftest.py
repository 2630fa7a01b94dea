"""Session-wide Pulumi mock runtime.

`set_mocks` is process-global (docs/platform-notes.md §2): the mocks are installed once, through
`offline.runner.install`, and shared by every test that touches Pulumi — component unit tests, the
runner and plan tests, the policy tests. Request `mock_runtime` (not autouse) and use `collect(fn)` to run
a function under `pulumi.runtime.test` and get back the resources it registered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pulumi
import pytest

from offline.mocks import PricesMocks, RecordedResource, RecordingMonitor
from offline.runner import install


@dataclass
class MockRuntime:
    mocks: PricesMocks
    monitor: RecordingMonitor

    def collect(self, fn: Callable[[], Any], *, stack_outputs: dict[str, Any] | None = None) -> list[RecordedResource]:
        """Run `fn` under `pulumi.runtime.test` (its returned Output is awaited, so asserts inside
        `.apply` run) and return every resource registered meanwhile."""
        self.monitor.reset()
        self.mocks.stack_outputs = dict(stack_outputs or {})
        pulumi.runtime.test(fn)()
        return self.monitor.snapshot()


@pytest.fixture(scope="session")
def mock_runtime() -> Iterator[MockRuntime]:
    mocks, monitor = install()
    yield MockRuntime(mocks=mocks, monitor=monitor)
