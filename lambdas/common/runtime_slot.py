"""The warm container's runtime (settings + clients), built from the environment on first use.

Every handler module keeps one `RuntimeSlot` at module scope: Lambda reuses the container, so the clients in
it are reused across invocations; tests and the local data plane put their own runtime in with `set`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Generic, TypeVar

T = TypeVar("T")


class RuntimeSlot(Generic[T]):
    def __init__(self, build: Callable[[Mapping[str, str]], T]) -> None:
        self._build = build
        self._value: T | None = None

    def get(self) -> T:
        if self._value is None:
            self._value = self._build(os.environ)
        return self._value

    def current(self) -> T | None:
        """The runtime if one was built or set, without building one."""
        return self._value

    def set(self, value: T | None) -> None:
        """Replace the runtime (tests, local data plane); ``None`` rebuilds from the environment on next use."""
        self._value = value
