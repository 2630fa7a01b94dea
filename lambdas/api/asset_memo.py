"""Asset facts remembered for as long as a ClickHouse client lives (a warm container), so a request spends
its round trips on prices rather than on facts that do not change.

* A contract's classic asset (the asset whose Stellar Asset Contract it is) is derived from the asset and
  never changes: kept.
* "This contract is no SAC the registry knows" ends when the registry learns the asset: kept
  ``NOT_SAC_TTL_S`` (60 s, the API Gateway cache TTL of the asset and candle routes).
* "This asset is known" never ends (assets are not deleted): kept. "Unknown" is asked every time, so an
  asset is served from its first candle on.

The same signatures as ``queries.classic_of_contracts`` / ``queries.known_assets``; one memo per client
object, so a rebuilt client (after a connection failure, or another database in tests) starts empty.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from lambdas.api import queries

NOT_SAC_TTL_S = 60.0
# A few thousand assets trade on Stellar; past this the memo starts over rather than grow without bound.
MAX_ENTRIES = 50_000


class AssetMemo:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._classic: dict[str, str] = {}
        self._not_sac_until: dict[str, float] = {}
        self._known: set[str] = set()

    def __len__(self) -> int:
        return len(self._classic) + len(self._not_sac_until) + len(self._known)

    def classic_of_contracts(self, client: Any, contract_ids: Sequence[str]) -> dict[str, str]:
        now = self._clock()
        ask = [c for c in contract_ids if c not in self._classic and self._not_sac_until.get(c, 0.0) <= now]
        if ask:
            found = queries.classic_of_contracts(client, ask)
            self._make_room(len(ask))
            for contract in ask:
                if contract in found:
                    self._classic[contract] = found[contract]
                    self._not_sac_until.pop(contract, None)
                else:
                    self._not_sac_until[contract] = now + NOT_SAC_TTL_S
        # .get: the local stand-in serves requests on threads, and another may empty the memo meanwhile.
        return {c: classic for c in contract_ids if (classic := self._classic.get(c)) is not None}

    def known_assets(self, client: Any, asset_ids: Sequence[str]) -> set[str]:
        ask = [a for a in asset_ids if a not in self._known]
        if ask:
            found = queries.known_assets(client, ask)
            self._make_room(len(found))
            self._known |= found
        return {a for a in asset_ids if a in self._known}

    def _make_room(self, adding: int) -> None:
        if len(self) + adding > MAX_ENTRIES:
            self._classic.clear()
            self._not_sac_until.clear()
            self._known.clear()


_memos: weakref.WeakKeyDictionary[Any, AssetMemo] = weakref.WeakKeyDictionary()


def memo_for(client: Any) -> AssetMemo:
    memo = _memos.get(client)
    if memo is None:
        memo = _memos[client] = AssetMemo()
    return memo


def classic_of_contracts(client: Any, contract_ids: Sequence[str]) -> dict[str, str]:
    return memo_for(client).classic_of_contracts(client, contract_ids)


def known_assets(client: Any, asset_ids: Sequence[str]) -> set[str]:
    return memo_for(client).known_assets(client, asset_ids)
