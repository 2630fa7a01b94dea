"""SIGTERM and SIGINT stop a long-running local process the way Ctrl-C does, and are never lost.

The first signal raises KeyboardInterrupt wherever the main thread is, so a blocking step ends at once.
That alone is not enough: if the signal lands while the main thread runs a finalizer (`__del__`, a
generator being closed by the garbage collector), CPython prints "Exception ignored in ..." and drops the
KeyboardInterrupt. The request is therefore also remembered, and `check()` at each step boundary raises it
again. Later signals do nothing, so they cannot interrupt the cleanup the first one started.
"""

from __future__ import annotations

import signal
from types import FrameType

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopSignals:
    def __init__(self) -> None:
        self.requested = False

    def install(self) -> None:
        for sig in STOP_SIGNALS:
            signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            return
        self.requested = True
        raise KeyboardInterrupt

    def check(self) -> None:
        """Raise the stop request at a step boundary if the first signal's exception was swallowed."""
        if self.requested:
            raise KeyboardInterrupt


def forget_unhandled_interrupt() -> None:
    """Call once a KeyboardInterrupt is handled, before exiting.

    CPython marks a KeyboardInterrupt that leaves a string ``exec``/``eval`` (dataclasses and namedtuple build
    their methods that way, e.g. during a lazy import) as unhandled even when a caller catches it; under
    ``python -m`` the interpreter then ends the process with SIGINT instead of the exit code (CI saw -2 for a
    clean stop). Every string exec clears that mark as it starts, so an empty one forgets it.
    """
    exec("pass", {})  # noqa: S102 - a constant string, run for its side effect on the interpreter's flag
