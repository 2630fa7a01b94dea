from collections.abc import Sequence
from typing import Any

import pytest

from lambdas.api import asset_memo, queries
from lambdas.api.asset_memo import NOT_SAC_TTL_S, AssetMemo

SAC = "CSAC"
TOKEN = "CTOKEN"
CLASSIC = "USDC:GISSUER"


class Registry:
    """What the database knows, and every question the memo asked it."""

    def __init__(self) -> None:
        self.sac = {SAC: CLASSIC}
        self.known = {CLASSIC, TOKEN}
        self.asked: list[tuple[str, tuple[str, ...]]] = []

    def classic_of_contracts(self, client: Any, ids: Sequence[str]) -> dict[str, str]:
        self.asked.append(("sac", tuple(ids)))
        return {c: self.sac[c] for c in ids if c in self.sac}

    def known_assets(self, client: Any, ids: Sequence[str]) -> set[str]:
        self.asked.append(("known", tuple(ids)))
        return {a for a in ids if a in self.known}


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Registry:
    registry = Registry()
    monkeypatch.setattr(queries, "classic_of_contracts", registry.classic_of_contracts)
    monkeypatch.setattr(queries, "known_assets", registry.known_assets)
    return registry


def test_a_sac_is_resolved_once_and_kept(registry: Registry) -> None:
    memo = AssetMemo(Clock())
    assert memo.classic_of_contracts(None, [SAC]) == {SAC: CLASSIC}
    assert memo.classic_of_contracts(None, [SAC]) == {SAC: CLASSIC}
    assert registry.asked == [("sac", (SAC,))]


def test_a_contract_that_is_no_sac_is_asked_again_once_its_answer_is_stale(registry: Registry) -> None:
    clock = Clock()
    memo = AssetMemo(clock)
    assert memo.classic_of_contracts(None, [TOKEN]) == {}
    clock.now += NOT_SAC_TTL_S - 1
    assert memo.classic_of_contracts(None, [TOKEN]) == {}
    assert registry.asked == [("sac", (TOKEN,))]
    # The registry learns that the contract is a SAC after all: served once the negative answer expires.
    registry.sac[TOKEN] = "TKN:GISSUER"
    clock.now += 1
    assert memo.classic_of_contracts(None, [TOKEN, SAC]) == {TOKEN: "TKN:GISSUER", SAC: CLASSIC}
    assert registry.asked[-1] == ("sac", (TOKEN, SAC))


def test_known_assets_are_kept_and_unknown_ones_asked_every_time(registry: Registry) -> None:
    memo = AssetMemo(Clock())
    assert memo.known_assets(None, [CLASSIC, "NEW:GISSUER"]) == {CLASSIC}
    assert memo.known_assets(None, [CLASSIC, "NEW:GISSUER"]) == {CLASSIC}
    assert registry.asked == [("known", (CLASSIC, "NEW:GISSUER")), ("known", ("NEW:GISSUER",))]
    registry.known.add("NEW:GISSUER")  # its first candle lands
    assert memo.known_assets(None, ["NEW:GISSUER"]) == {"NEW:GISSUER"}
    assert memo.known_assets(None, [CLASSIC, "NEW:GISSUER"]) == {CLASSIC, "NEW:GISSUER"}
    assert len(registry.asked) == 3


def test_the_memo_starts_over_instead_of_growing_past_its_bound(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(asset_memo, "MAX_ENTRIES", 3)
    registry.known |= {"A:G", "B:G", "C:G"}
    memo = AssetMemo(Clock())
    memo.known_assets(None, ["A:G", "B:G", "C:G"])
    assert len(memo) == 3
    memo.classic_of_contracts(None, [SAC])
    assert len(memo) == 1


def test_each_client_has_its_own_memo(registry: Registry) -> None:
    class Client:
        pass

    first, second = Client(), Client()
    assert asset_memo.memo_for(first) is asset_memo.memo_for(first)
    assert asset_memo.memo_for(first) is not asset_memo.memo_for(second)
    asset_memo.known_assets(first, [CLASSIC])
    asset_memo.known_assets(second, [CLASSIC])
    assert registry.asked == [("known", (CLASSIC,)), ("known", (CLASSIC,))]
