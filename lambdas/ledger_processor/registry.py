"""What the processor learns from ledger data about contracts: SAC ↔ classic asset, Soroswap pair tokens."""

from __future__ import annotations

from lambdas.ledger_processor.facts import EventFact, InstanceFact
from lambdas.ledger_processor.values import (
    PUBNET_PASSPHRASE,
    Address,
    ScMap,
    is_classic_identity,
    sac_contract_id,
)


class AssetRegistry:
    """Maps Stellar Asset Contract ids back to their classic identity (``native`` / ``CODE:ISSUER``).

    A contract id is a hash, so it cannot be inverted; a mapping is only ever recorded after
    re-deriving the SAC id from the candidate classic asset and the network passphrase, so a custom
    token that merely *claims* an asset name in its events is never collapsed onto the classic asset.
    Candidates come from CAP-67 SAC events (last topic = SEP-11 asset string) and from the classic
    assets of ClaimAtoms in the same ledger.
    """

    def __init__(self, passphrase: str = PUBNET_PASSPHRASE) -> None:
        self.passphrase = passphrase
        self.sac: dict[str, str] = {}

    def learn_classic(self, identity: str) -> None:
        if identity not in self.sac.values():
            self.sac[sac_contract_id(identity, self.passphrase)] = identity

    def learn_hint(self, contract: str, asset: str) -> None:
        if contract in self.sac or not is_classic_identity(asset):
            return
        if sac_contract_id(asset, self.passphrase) == contract:
            self.sac[contract] = str(asset)

    def identity(self, token: str) -> str:
        """Classic identity for a SAC, else the contract strkey itself."""
        return self.sac.get(token, str(token))


class PoolRegistry:
    """Soroswap pair contract → (token_0, token_1), learned from pair instance storage (u32 keys 0/1)
    and from factory ``new_pair`` events. Unknown pairs are reported by the caller, never guessed."""

    def __init__(self) -> None:
        self.pairs: dict[str, tuple[str, str]] = {}

    def learn_instance(self, fact: InstanceFact) -> None:
        self.pairs[fact.contract] = (fact.token_0, fact.token_1)

    def learn_event(self, ev: EventFact) -> None:
        # ["SoroswapFactory", "new_pair"] data map {token_0, token_1, pair, new_pairs_length}
        if len(ev.topics) >= 2 and ev.topics[0] == "SoroswapFactory" and ev.topics[1] == "new_pair":
            data = ev.data
            if isinstance(data, ScMap):
                pair, t0, t1 = data.get("pair"), data.get("token_0"), data.get("token_1")
                if isinstance(pair, Address) and isinstance(t0, Address) and isinstance(t1, Address):
                    self.pairs[str(pair)] = (str(t0), str(t1))

    def tokens(self, pair: str) -> tuple[str, str] | None:
        return self.pairs.get(pair)
