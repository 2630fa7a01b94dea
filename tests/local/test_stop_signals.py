import os
import signal
import sys
from collections.abc import Iterator

import pytest

from local.stop_signals import STOP_SIGNALS, StopSignals


@pytest.fixture
def stops() -> Iterator[StopSignals]:
    saved = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    stops = StopSignals()
    stops.install()
    try:
        yield stops
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


class SignalsInItsFinalizer:
    def __del__(self) -> None:
        os.kill(os.getpid(), signal.SIGTERM)


def test_a_signal_raises_keyboard_interrupt_where_the_main_thread_is(stops: StopSignals) -> None:
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGTERM)
    assert stops.requested


def test_a_stop_swallowed_by_a_finalizer_is_raised_at_the_next_check(
    stops: StopSignals, monkeypatch: pytest.MonkeyPatch
) -> None:
    # CPython drops an exception raised inside __del__ ("Exception ignored in ..."); CI lost a SIGTERM so.
    dropped: list[type[BaseException] | None] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda unraisable: dropped.append(unraisable.exc_type))
    SignalsInItsFinalizer()
    assert dropped == [KeyboardInterrupt]
    assert stops.requested
    with pytest.raises(KeyboardInterrupt):
        stops.check()


def test_later_signals_do_not_interrupt_the_cleanup_the_first_started(stops: StopSignals) -> None:
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGINT)
    os.kill(os.getpid(), signal.SIGTERM)
    os.kill(os.getpid(), signal.SIGINT)


def test_check_is_silent_until_a_signal_arrives(stops: StopSignals) -> None:
    stops.check()
    assert not stops.requested
