"""Skip functions for Stellar XDR, generated from stellar-sdk 16.1.1 by xdr_skip_gen.py.

DO NOT EDIT: regenerate with `python -m lambdas.ledger_processor.xdr_skip_gen`.
Each ``skip_T(b, o)`` returns the offset just past the XDR value of type T starting at ``o``.
"""

# ruff: noqa: PLR0912, SIM114
import struct

_U32 = struct.Struct(">I").unpack_from
_I32 = struct.Struct(">i").unpack_from

# Byte sizes of the types whose encoding never varies (no skip function is needed for them).
FIXED_SIZES: dict[str, int] = {
    "AccountEntryExtensionV3": 16,
    "AccountID": 36,
    "AllowTrustResult": 4,
    "AlphaNum12": 48,
    "AlphaNum4": 40,
    "AssetCode12": 12,
    "AssetCode4": 4,
    "BeginSponsoringFutureReservesOp": 36,
    "BeginSponsoringFutureReservesResult": 4,
    "BumpSequenceOp": 8,
    "BumpSequenceResult": 4,
    "ChangeTrustResult": 4,
    "ClaimClaimableBalanceOp": 36,
    "ClaimClaimableBalanceResult": 4,
    "ClaimableBalanceEntryExtensionV1": 8,
    "ClaimableBalanceEntryExtensionV1Ext": 4,
    "ClaimableBalanceID": 36,
    "ClawbackClaimableBalanceOp": 36,
    "ClawbackClaimableBalanceResult": 4,
    "ClawbackResult": 4,
    "ConfigSettingContractBandwidthV0": 16,
    "ConfigSettingContractComputeV0": 28,
    "ConfigSettingContractEventsV0": 12,
    "ConfigSettingContractExecutionLanesV0": 4,
    "ConfigSettingContractHistoricalDataV0": 8,
    "ConfigSettingContractLedgerCostExtV0": 12,
    "ConfigSettingContractLedgerCostV0": 84,
    "ConfigSettingContractParallelComputeV0": 4,
    "ConfigSettingID": 4,
    "ConfigSettingSCPTiming": 20,
    "ConfigUpgradeSetKey": 64,
    "ContractCodeCostInputs": 44,
    "ContractCodeEntryV1": 48,
    "ContractCostParamEntry": 20,
    "ContractDataDurability": 4,
    "ContractEventType": 4,
    "ContractID": 32,
    "CreateAccountOp": 44,
    "CreateAccountResult": 4,
    "DataEntryExt": 4,
    "Duration": 8,
    "EndSponsoringFutureReservesResult": 4,
    "EvictionIterator": 16,
    "ExtendFootprintTTLOp": 8,
    "ExtendFootprintTTLResult": 4,
    "ExtensionPoint": 4,
    "FeeBumpTransactionExt": 4,
    "Hash": 32,
    "InflationPayout": 44,
    "InnerTransactionResultExt": 4,
    "Int128Parts": 16,
    "Int256Parts": 32,
    "Int32": 4,
    "Int64": 8,
    "LedgerBounds": 8,
    "LedgerCloseMetaExtV1": 12,
    "LedgerEntryExtensionV1Ext": 4,
    "LedgerHeaderExtensionV1": 8,
    "LedgerHeaderExtensionV1Ext": 4,
    "LedgerHeaderHistoryEntryExt": 4,
    "LedgerKeyAccount": 36,
    "LedgerKeyClaimableBalance": 36,
    "LedgerKeyConfigSetting": 4,
    "LedgerKeyContractCode": 32,
    "LedgerKeyLiquidityPool": 32,
    "LedgerKeyOffer": 44,
    "LedgerKeyTtl": 32,
    "Liabilities": 16,
    "LiquidityPoolDepositOp": 64,
    "LiquidityPoolDepositResult": 4,
    "LiquidityPoolWithdrawOp": 56,
    "LiquidityPoolWithdrawResult": 4,
    "ManageDataResult": 4,
    "MuxedAccountMed25519": 40,
    "MuxedEd25519Account": 40,
    "NodeID": 36,
    "OfferEntryExt": 4,
    "PaymentResult": 4,
    "PoolID": 32,
    "Price": 8,
    "PublicKey": 36,
    "RestoreFootprintOp": 4,
    "RestoreFootprintResult": 4,
    "RevokeSponsorshipResult": 4,
    "SCError": 8,
    "SCErrorCode": 4,
    "SCNonceKey": 8,
    "SequenceNumber": 8,
    "SetOptionsResult": 4,
    "SetTrustLineFlagsResult": 4,
    "SignatureHint": 4,
    "SorobanTransactionMetaExtV1": 28,
    "StateArchivalSettings": 48,
    "TTLEntry": 36,
    "Thresholds": 4,
    "TimeBounds": 16,
    "TimePoint": 8,
    "TransactionEventStage": 4,
    "TransactionResultExt": 4,
    "TransactionV0Ext": 4,
    "TrustLineEntryExtensionV2": 8,
    "TrustLineEntryExtensionV2Ext": 4,
    "UInt128Parts": 16,
    "UInt256Parts": 32,
    "Uint256": 32,
    "Uint32": 4,
    "Uint64": 8,
}


def skip_AccountEntry(b: bytes, o: int) -> int:
    n1 = _U32(b, o + 56)[0]
    o += 60
    if n1:
        o += 36
    n2 = _U32(b, o + 4)[0]
    o += 8 + ((n2 + 3) & -4)
    n3 = _U32(b, o + 4)[0]
    o += 8
    for _ in range(n3):
        o = skip_Signer(b, o)
    o = skip_AccountEntryExt(b, o)
    return o


def skip_AccountEntryExt(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    if n1 == 0:
        pass
    elif n1 == 1:
        o = skip_AccountEntryExtensionV1(b, o)
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_AccountEntryExtensionV1(b: bytes, o: int) -> int:
    o = skip_AccountEntryExtensionV1Ext(b, o + 16)
    return o


def skip_AccountEntryExtensionV1Ext(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    if n1 == 0:
        pass
    elif n1 == 2:
        o = skip_AccountEntryExtensionV2(b, o)
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_AccountEntryExtensionV2(b: bytes, o: int) -> int:
    n1 = _U32(b, o + 8)[0]
    o += 12
    for _ in range(n1):
        o = skip_SponsorshipDescriptor(b, o)
    o = skip_AccountEntryExtensionV2Ext(b, o)
    return o


def skip_AccountEntryExtensionV2Ext(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    if n1 == 0:
        pass
    elif n1 == 3:
        o += 16
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_AccountMergeResult(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    n2 = _ARMS_0.get(n1)
    if n2 is not None:
        o += n2
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_AllowTrustOp(b: bytes, o: int) -> int:
    o = skip_AssetCode(b, o + 36)
    return o + 4


def skip_Asset(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    n2 = _ARMS_1.get(n1)
    if n2 is not None:
        o += n2
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_AssetCode(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    if n1 == 1:
        o += 4
    elif n1 == 2:
        o += 12
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_ChangeTrustAsset(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    n2 = _ARMS_2.get(n1)
    if n2 is not None:
        o += n2
    elif n1 == 3:
        o = skip_LiquidityPoolParameters(b, o)
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_ChangeTrustOp(b: bytes, o: int) -> int:
    o = skip_ChangeTrustAsset(b, o)
    return o + 8


def skip_ClaimAtom(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    if n1 == 0:
        o = skip_ClaimOfferAtomV0(b, o)
    elif n1 == 1:
        o = skip_ClaimOfferAtom(b, o)
    elif n1 == 2:
        o = skip_ClaimLiquidityAtom(b, o)
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_ClaimLiquidityAtom(b: bytes, o: int) -> int:
    o = skip_Asset(b, o + 32)
    o = skip_Asset(b, o + 8)
    return o + 8


def skip_ClaimOfferAtom(b: bytes, o: int) -> int:
    o = skip_Asset(b, o + 44)
    o = skip_Asset(b, o + 8)
    return o + 8


def skip_ClaimOfferAtomV0(b: bytes, o: int) -> int:
    o = skip_Asset(b, o + 40)
    o = skip_Asset(b, o + 8)
    return o + 8


def skip_ClaimPredicate(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    n2 = _ARMS_3.get(n1)
    if n2 is not None:
        o += n2
    elif n1 == 1:
        n3 = _U32(b, o)[0]
        o += 4
        for _ in range(n3):
            o = skip_ClaimPredicate(b, o)
    elif n1 == 2:
        n4 = _U32(b, o)[0]
        o += 4
        for _ in range(n4):
            o = skip_ClaimPredicate(b, o)
    elif n1 == 3:
        n5 = _U32(b, o)[0]
        o += 4
        if n5:
            o = skip_ClaimPredicate(b, o)
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_ClaimableBalanceEntry(b: bytes, o: int) -> int:
    n1 = _U32(b, o + 36)[0]
    o += 40
    for _ in range(n1):
        o = skip_Claimant(b, o)
    o = skip_Asset(b, o)
    o = skip_ClaimableBalanceEntryExt(b, o + 8)
    return o


def skip_ClaimableBalanceEntryExt(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    if n1 == 0:
        pass
    elif n1 == 1:
        o += 8
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_Claimant(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    if n1 == 0:
        o = skip_ClaimantV0(b, o)
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_ClaimantV0(b: bytes, o: int) -> int:
    o = skip_ClaimPredicate(b, o + 36)
    return o


def skip_ClawbackOp(b: bytes, o: int) -> int:
    o = skip_Asset(b, o)
    o = skip_MuxedAccount(b, o)
    return o + 8


def skip_ConfigSettingEntry(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    n2 = _ARMS_4.get(n1)
    if n2 is not None:
        o += n2
    elif n1 == 6:
        n3 = _U32(b, o)[0]
        o += 4 + n3 * 20
    elif n1 == 7:
        n4 = _U32(b, o)[0]
        o += 4 + n4 * 20
    elif n1 == 12:
        n5 = _U32(b, o)[0]
        o += 4 + n5 * 8
    elif n1 == 17:
        n6 = _U32(b, o)[0]
        o += 4
        for _ in range(n6):
            n7 = _U32(b, o)[0]
            o += 4 + ((n7 + 3) & -4)
    elif n1 == 18:
        o = skip_FrozenLedgerKeysDelta(b, o)
    elif n1 == 19:
        n8 = _U32(b, o)[0]
        o += 4 + n8 * 32
    elif n1 == 20:
        o = skip_FreezeBypassTxsDelta(b, o)
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_ContractCodeEntry(b: bytes, o: int) -> int:
    o = skip_ContractCodeEntryExt(b, o)
    n1 = _U32(b, o + 32)[0]
    o += 36 + ((n1 + 3) & -4)
    return o


def skip_ContractCodeEntryExt(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    if n1 == 0:
        pass
    elif n1 == 1:
        o += 48
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_ContractCostParams(b: bytes, o: int) -> int:
    n1 = _U32(b, o)[0]
    o += 4 + n1 * 20
    return o


def skip_ContractDataEntry(b: bytes, o: int) -> int:
    o = skip_SCAddress(b, o + 4)
    o = skip_SCVal(b, o)
    o = skip_SCVal(b, o + 4)
    return o


def skip_ContractEvent(b: bytes, o: int) -> int:
    n1 = _U32(b, o + 4)[0]
    o += 8
    if n1:
        o += 32
    o = skip_ContractEventBody(b, o + 4)
    return o


def skip_ContractEventBody(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    if n1 == 0:
        o = skip_ContractEventV0(b, o)
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_ContractEventV0(b: bytes, o: int) -> int:
    n1 = _U32(b, o)[0]
    o += 4
    for _ in range(n1):
        o = skip_SCVal(b, o)
    o = skip_SCVal(b, o)
    return o


def skip_ContractExecutable(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    if n1 == 0:
        o += 32
    elif n1 == 1:
        pass
    elif n1 == 2:
        o = skip_ContractExecutableExternalRef(b, o)
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_ContractExecutableExternalRef(b: bytes, o: int) -> int:
    o = skip_SCAddress(b, o)
    n1 = _U32(b, o)[0]
    o += 4 + ((n1 + 3) & -4)
    return o


def skip_ContractIDPreimage(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    if n1 == 0:
        o = skip_ContractIDPreimageFromAddress(b, o)
    elif n1 == 1:
        o = skip_Asset(b, o)
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_ContractIDPreimageFromAddress(b: bytes, o: int) -> int:
    o = skip_SCAddress(b, o)
    return o + 32


def skip_CreateClaimableBalanceOp(b: bytes, o: int) -> int:
    o = skip_Asset(b, o)
    n1 = _U32(b, o + 8)[0]
    o += 12
    for _ in range(n1):
        o = skip_Claimant(b, o)
    return o


def skip_CreateClaimableBalanceResult(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    n2 = _ARMS_5.get(n1)
    if n2 is not None:
        o += n2
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_CreateContractArgs(b: bytes, o: int) -> int:
    o = skip_ContractIDPreimage(b, o)
    o = skip_ContractExecutable(b, o)
    return o


def skip_CreateContractArgsV2(b: bytes, o: int) -> int:
    o = skip_ContractIDPreimage(b, o)
    o = skip_ContractExecutable(b, o)
    n1 = _U32(b, o)[0]
    o += 4
    for _ in range(n1):
        o = skip_SCVal(b, o)
    return o


def skip_CreatePassiveSellOfferOp(b: bytes, o: int) -> int:
    o = skip_Asset(b, o)
    o = skip_Asset(b, o)
    return o + 16


def skip_DataEntry(b: bytes, o: int) -> int:
    n1 = _U32(b, o + 36)[0]
    o += 40 + ((n1 + 3) & -4)
    n2 = _U32(b, o)[0]
    o += 4 + ((n2 + 3) & -4)
    return o + 4


def skip_DataValue(b: bytes, o: int) -> int:
    n1 = _U32(b, o)[0]
    o += 4 + ((n1 + 3) & -4)
    return o


def skip_DecoratedSignature(b: bytes, o: int) -> int:
    n1 = _U32(b, o + 4)[0]
    o += 8 + ((n1 + 3) & -4)
    return o


def skip_DependentTxCluster(b: bytes, o: int) -> int:
    n1 = _U32(b, o)[0]
    o += 4
    for _ in range(n1):
        o = skip_TransactionEnvelope(b, o)
    return o


def skip_DiagnosticEvent(b: bytes, o: int) -> int:
    o = skip_ContractEvent(b, o + 4)
    return o


def skip_EncodedLedgerKey(b: bytes, o: int) -> int:
    n1 = _U32(b, o)[0]
    o += 4 + ((n1 + 3) & -4)
    return o


def skip_FeeBumpTransaction(b: bytes, o: int) -> int:
    o = skip_MuxedAccount(b, o)
    o = skip_FeeBumpTransactionInnerTx(b, o + 8)
    return o + 4


def skip_FeeBumpTransactionEnvelope(b: bytes, o: int) -> int:
    o = skip_FeeBumpTransaction(b, o)
    n1 = _U32(b, o)[0]
    o += 4
    for _ in range(n1):
        o = skip_DecoratedSignature(b, o)
    return o


def skip_FeeBumpTransactionInnerTx(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    if n1 == 2:
        o = skip_TransactionV1Envelope(b, o)
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_FreezeBypassTxs(b: bytes, o: int) -> int:
    n1 = _U32(b, o)[0]
    o += 4 + n1 * 32
    return o


def skip_FreezeBypassTxsDelta(b: bytes, o: int) -> int:
    n1 = _U32(b, o)[0]
    o += 4 + n1 * 32
    n2 = _U32(b, o)[0]
    o += 4 + n2 * 32
    return o


def skip_FrozenLedgerKeys(b: bytes, o: int) -> int:
    n1 = _U32(b, o)[0]
    o += 4
    for _ in range(n1):
        n2 = _U32(b, o)[0]
        o += 4 + ((n2 + 3) & -4)
    return o


def skip_FrozenLedgerKeysDelta(b: bytes, o: int) -> int:
    n1 = _U32(b, o)[0]
    o += 4
    for _ in range(n1):
        n2 = _U32(b, o)[0]
        o += 4 + ((n2 + 3) & -4)
    n3 = _U32(b, o)[0]
    o += 4
    for _ in range(n3):
        n4 = _U32(b, o)[0]
        o += 4 + ((n4 + 3) & -4)
    return o


def skip_GeneralizedTransactionSet(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    if n1 == 1:
        o = skip_TransactionSetV1(b, o)
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_HostFunction(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    if n1 == 0:
        o = skip_InvokeContractArgs(b, o)
    elif n1 == 1:
        o = skip_CreateContractArgs(b, o)
    elif n1 == 2:
        n2 = _U32(b, o)[0]
        o += 4 + ((n2 + 3) & -4)
    elif n1 == 3:
        o = skip_CreateContractArgsV2(b, o)
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_InflationResult(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    if n1 == 0:
        n2 = _U32(b, o)[0]
        o += 4 + n2 * 44
    elif n1 == -1:
        pass
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_InnerTransactionResult(b: bytes, o: int) -> int:
    o = skip_InnerTransactionResultResult(b, o + 8)
    return o + 4


def skip_InnerTransactionResultPair(b: bytes, o: int) -> int:
    o = skip_InnerTransactionResult(b, o + 32)
    return o


def skip_InnerTransactionResultResult(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    n2 = _ARMS_6.get(n1)
    if n2 is not None:
        o += n2
    elif n1 == 0:
        n3 = _U32(b, o)[0]
        o += 4
        for _ in range(n3):
            o = skip_OperationResult(b, o)
    elif n1 == -1:
        n4 = _U32(b, o)[0]
        o += 4
        for _ in range(n4):
            o = skip_OperationResult(b, o)
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_InvokeContractArgs(b: bytes, o: int) -> int:
    o = skip_SCAddress(b, o)
    n1 = _U32(b, o)[0]
    o += 4 + ((n1 + 3) & -4)
    n2 = _U32(b, o)[0]
    o += 4
    for _ in range(n2):
        o = skip_SCVal(b, o)
    return o


def skip_InvokeHostFunctionOp(b: bytes, o: int) -> int:
    o = skip_HostFunction(b, o)
    n1 = _U32(b, o)[0]
    o += 4
    for _ in range(n1):
        o = skip_SorobanAuthorizationEntry(b, o)
    return o


def skip_InvokeHostFunctionResult(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    n2 = _ARMS_7.get(n1)
    if n2 is not None:
        o += n2
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_LedgerCloseMeta(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    if n1 == 0:
        o = skip_LedgerCloseMetaV0(b, o)
    elif n1 == 1:
        o = skip_LedgerCloseMetaV1(b, o)
    elif n1 == 2:
        o = skip_LedgerCloseMetaV2(b, o)
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_LedgerCloseMetaBatch(b: bytes, o: int) -> int:
    n1 = _U32(b, o + 8)[0]
    o += 12
    for _ in range(n1):
        o = skip_LedgerCloseMeta(b, o)
    return o


def skip_LedgerCloseMetaExt(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    if n1 == 0:
        pass
    elif n1 == 1:
        o += 12
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_LedgerCloseMetaV0(b: bytes, o: int) -> int:
    o = skip_LedgerHeaderHistoryEntry(b, o)
    o = skip_TransactionSet(b, o)
    n1 = _U32(b, o)[0]
    o += 4
    for _ in range(n1):
        o = skip_TransactionResultMeta(b, o)
    n2 = _U32(b, o)[0]
    o += 4
    for _ in range(n2):
        o = skip_UpgradeEntryMeta(b, o)
    n3 = _U32(b, o)[0]
    o += 4
    for _ in range(n3):
        o = skip_SCPHistoryEntry(b, o)
    return o


def skip_LedgerCloseMetaV1(b: bytes, o: int) -> int:
    o = skip_LedgerCloseMetaExt(b, o)
    o = skip_LedgerHeaderHistoryEntry(b, o)
    o = skip_GeneralizedTransactionSet(b, o)
    n1 = _U32(b, o)[0]
    o += 4
    for _ in range(n1):
        o = skip_TransactionResultMeta(b, o)
    n2 = _U32(b, o)[0]
    o += 4
    for _ in range(n2):
        o = skip_UpgradeEntryMeta(b, o)
    n3 = _U32(b, o)[0]
    o += 4
    for _ in range(n3):
        o = skip_SCPHistoryEntry(b, o)
    n4 = _U32(b, o + 8)[0]
    o += 12
    for _ in range(n4):
        o = skip_LedgerKey(b, o)
    n5 = _U32(b, o)[0]
    o += 4
    for _ in range(n5):
        o = skip_LedgerEntry(b, o)
    return o


def skip_LedgerCloseMetaV2(b: bytes, o: int) -> int:
    o = skip_LedgerCloseMetaExt(b, o)
    o = skip_LedgerHeaderHistoryEntry(b, o)
    o = skip_GeneralizedTransactionSet(b, o)
    n1 = _U32(b, o)[0]
    o += 4
    for _ in range(n1):
        o = skip_TransactionResultMetaV1(b, o)
    n2 = _U32(b, o)[0]
    o += 4
    for _ in range(n2):
        o = skip_UpgradeEntryMeta(b, o)
    n3 = _U32(b, o)[0]
    o += 4
    for _ in range(n3):
        o = skip_SCPHistoryEntry(b, o)
    n4 = _U32(b, o + 8)[0]
    o += 12
    for _ in range(n4):
        o = skip_LedgerKey(b, o)
    return o


def skip_LedgerCloseValueSignature(b: bytes, o: int) -> int:
    n1 = _U32(b, o + 36)[0]
    o += 40 + ((n1 + 3) & -4)
    return o


def skip_LedgerEntry(b: bytes, o: int) -> int:
    o = skip_LedgerEntryData(b, o + 4)
    o = skip_LedgerEntryExt(b, o)
    return o


def skip_LedgerEntryChange(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    if n1 == 0:
        o = skip_LedgerEntry(b, o)
    elif n1 == 1:
        o = skip_LedgerEntry(b, o)
    elif n1 == 2:
        o = skip_LedgerKey(b, o)
    elif n1 == 3:
        o = skip_LedgerEntry(b, o)
    elif n1 == 4:
        o = skip_LedgerEntry(b, o)
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_LedgerEntryChanges(b: bytes, o: int) -> int:
    n1 = _U32(b, o)[0]
    o += 4
    for _ in range(n1):
        o = skip_LedgerEntryChange(b, o)
    return o


def skip_LedgerEntryData(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    if n1 == 0:
        o = skip_AccountEntry(b, o)
    elif n1 == 1:
        o = skip_TrustLineEntry(b, o)
    elif n1 == 2:
        o = skip_OfferEntry(b, o)
    elif n1 == 3:
        o = skip_DataEntry(b, o)
    elif n1 == 4:
        o = skip_ClaimableBalanceEntry(b, o)
    elif n1 == 5:
        o = skip_LiquidityPoolEntry(b, o)
    elif n1 == 6:
        o = skip_ContractDataEntry(b, o)
    elif n1 == 7:
        o = skip_ContractCodeEntry(b, o)
    elif n1 == 8:
        o = skip_ConfigSettingEntry(b, o)
    elif n1 == 9:
        o += 36
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_LedgerEntryExt(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    if n1 == 0:
        pass
    elif n1 == 1:
        o = skip_LedgerEntryExtensionV1(b, o)
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_LedgerEntryExtensionV1(b: bytes, o: int) -> int:
    o = skip_SponsorshipDescriptor(b, o)
    return o + 4


def skip_LedgerFootprint(b: bytes, o: int) -> int:
    n1 = _U32(b, o)[0]
    o += 4
    for _ in range(n1):
        o = skip_LedgerKey(b, o)
    n2 = _U32(b, o)[0]
    o += 4
    for _ in range(n2):
        o = skip_LedgerKey(b, o)
    return o


def skip_LedgerHeader(b: bytes, o: int) -> int:
    o = skip_StellarValue(b, o + 36)
    o = skip_LedgerHeaderExt(b, o + 236)
    return o


def skip_LedgerHeaderExt(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    if n1 == 0:
        pass
    elif n1 == 1:
        o += 8
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_LedgerHeaderHistoryEntry(b: bytes, o: int) -> int:
    o = skip_LedgerHeader(b, o + 32)
    return o + 4


def skip_LedgerKey(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    n2 = _ARMS_8.get(n1)
    if n2 is not None:
        o += n2
    elif n1 == 1:
        o = skip_LedgerKeyTrustLine(b, o)
    elif n1 == 3:
        o = skip_LedgerKeyData(b, o)
    elif n1 == 6:
        o = skip_LedgerKeyContractData(b, o)
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_LedgerKeyContractData(b: bytes, o: int) -> int:
    o = skip_SCAddress(b, o)
    o = skip_SCVal(b, o)
    return o + 4


def skip_LedgerKeyData(b: bytes, o: int) -> int:
    n1 = _U32(b, o + 36)[0]
    o += 40 + ((n1 + 3) & -4)
    return o


def skip_LedgerKeyTrustLine(b: bytes, o: int) -> int:
    o = skip_TrustLineAsset(b, o + 36)
    return o


def skip_LedgerSCPMessages(b: bytes, o: int) -> int:
    n1 = _U32(b, o + 4)[0]
    o += 8
    for _ in range(n1):
        o = skip_SCPEnvelope(b, o)
    return o


def skip_LedgerUpgrade(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    n2 = _ARMS_9.get(n1)
    if n2 is not None:
        o += n2
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_LiquidityPoolConstantProductParameters(b: bytes, o: int) -> int:
    o = skip_Asset(b, o)
    o = skip_Asset(b, o)
    return o + 4


def skip_LiquidityPoolEntry(b: bytes, o: int) -> int:
    o = skip_LiquidityPoolEntryBody(b, o + 32)
    return o


def skip_LiquidityPoolEntryBody(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    if n1 == 0:
        o = skip_LiquidityPoolEntryConstantProduct(b, o)
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_LiquidityPoolEntryConstantProduct(b: bytes, o: int) -> int:
    o = skip_LiquidityPoolConstantProductParameters(b, o)
    return o + 32


def skip_LiquidityPoolParameters(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    if n1 == 0:
        o = skip_LiquidityPoolConstantProductParameters(b, o)
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_ManageBuyOfferOp(b: bytes, o: int) -> int:
    o = skip_Asset(b, o)
    o = skip_Asset(b, o)
    return o + 24


def skip_ManageBuyOfferResult(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    n2 = _ARMS_10.get(n1)
    if n2 is not None:
        o += n2
    elif n1 == 0:
        o = skip_ManageOfferSuccessResult(b, o)
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_ManageDataOp(b: bytes, o: int) -> int:
    n1 = _U32(b, o)[0]
    o += 4 + ((n1 + 3) & -4)
    n2 = _U32(b, o)[0]
    o += 4
    if n2:
        n3 = _U32(b, o)[0]
        o += 4 + ((n3 + 3) & -4)
    return o


def skip_ManageOfferSuccessResult(b: bytes, o: int) -> int:
    n1 = _U32(b, o)[0]
    o += 4
    for _ in range(n1):
        o = skip_ClaimAtom(b, o)
    o = skip_ManageOfferSuccessResultOffer(b, o)
    return o


def skip_ManageOfferSuccessResultOffer(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    if n1 == 0:
        o = skip_OfferEntry(b, o)
    elif n1 == 1:
        o = skip_OfferEntry(b, o)
    elif n1 == 2:
        pass
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_ManageSellOfferOp(b: bytes, o: int) -> int:
    o = skip_Asset(b, o)
    o = skip_Asset(b, o)
    return o + 24


def skip_ManageSellOfferResult(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    n2 = _ARMS_11.get(n1)
    if n2 is not None:
        o += n2
    elif n1 == 0:
        o = skip_ManageOfferSuccessResult(b, o)
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_Memo(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    n2 = _ARMS_12.get(n1)
    if n2 is not None:
        o += n2
    elif n1 == 1:
        n3 = _U32(b, o)[0]
        o += 4 + ((n3 + 3) & -4)
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_MuxedAccount(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    if n1 == 0:
        o += 32
    elif n1 == 256:
        o += 40
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_OfferEntry(b: bytes, o: int) -> int:
    o = skip_Asset(b, o + 44)
    o = skip_Asset(b, o)
    return o + 24


def skip_Operation(b: bytes, o: int) -> int:
    n1 = _U32(b, o)[0]
    o += 4
    if n1:
        o = skip_MuxedAccount(b, o)
    o = skip_OperationBody(b, o)
    return o


def skip_OperationBody(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    n2 = _ARMS_13.get(n1)
    if n2 is not None:
        o += n2
    elif n1 == 1:
        o = skip_PaymentOp(b, o)
    elif n1 == 2:
        o = skip_PathPaymentStrictReceiveOp(b, o)
    elif n1 == 3:
        o = skip_ManageSellOfferOp(b, o)
    elif n1 == 4:
        o = skip_CreatePassiveSellOfferOp(b, o)
    elif n1 == 5:
        o = skip_SetOptionsOp(b, o)
    elif n1 == 6:
        o = skip_ChangeTrustOp(b, o)
    elif n1 == 7:
        o = skip_AllowTrustOp(b, o)
    elif n1 == 8:
        o = skip_MuxedAccount(b, o)
    elif n1 == 10:
        o = skip_ManageDataOp(b, o)
    elif n1 == 12:
        o = skip_ManageBuyOfferOp(b, o)
    elif n1 == 13:
        o = skip_PathPaymentStrictSendOp(b, o)
    elif n1 == 14:
        o = skip_CreateClaimableBalanceOp(b, o)
    elif n1 == 18:
        o = skip_RevokeSponsorshipOp(b, o)
    elif n1 == 19:
        o = skip_ClawbackOp(b, o)
    elif n1 == 21:
        o = skip_SetTrustLineFlagsOp(b, o)
    elif n1 == 24:
        o = skip_InvokeHostFunctionOp(b, o)
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_OperationMeta(b: bytes, o: int) -> int:
    n1 = _U32(b, o)[0]
    o += 4
    for _ in range(n1):
        o = skip_LedgerEntryChange(b, o)
    return o


def skip_OperationMetaV2(b: bytes, o: int) -> int:
    n1 = _U32(b, o + 4)[0]
    o += 8
    for _ in range(n1):
        o = skip_LedgerEntryChange(b, o)
    n2 = _U32(b, o)[0]
    o += 4
    for _ in range(n2):
        o = skip_ContractEvent(b, o)
    return o


def skip_OperationResult(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    n2 = _ARMS_14.get(n1)
    if n2 is not None:
        o += n2
    elif n1 == 0:
        o = skip_OperationResultTr(b, o)
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_OperationResultTr(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    n2 = _ARMS_15.get(n1)
    if n2 is not None:
        o += n2
    elif n1 == 2:
        o = skip_PathPaymentStrictReceiveResult(b, o)
    elif n1 == 3:
        o = skip_ManageSellOfferResult(b, o)
    elif n1 == 4:
        o = skip_ManageSellOfferResult(b, o)
    elif n1 == 8:
        o = skip_AccountMergeResult(b, o)
    elif n1 == 9:
        o = skip_InflationResult(b, o)
    elif n1 == 12:
        o = skip_ManageBuyOfferResult(b, o)
    elif n1 == 13:
        o = skip_PathPaymentStrictSendResult(b, o)
    elif n1 == 14:
        o = skip_CreateClaimableBalanceResult(b, o)
    elif n1 == 24:
        o = skip_InvokeHostFunctionResult(b, o)
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_ParallelTxExecutionStage(b: bytes, o: int) -> int:
    n1 = _U32(b, o)[0]
    o += 4
    for _ in range(n1):
        n2 = _U32(b, o)[0]
        o += 4
        for _ in range(n2):
            o = skip_TransactionEnvelope(b, o)
    return o


def skip_ParallelTxsComponent(b: bytes, o: int) -> int:
    n1 = _U32(b, o)[0]
    o += 4
    if n1:
        o += 8
    n2 = _U32(b, o)[0]
    o += 4
    for _ in range(n2):
        n3 = _U32(b, o)[0]
        o += 4
        for _ in range(n3):
            n4 = _U32(b, o)[0]
            o += 4
            for _ in range(n4):
                o = skip_TransactionEnvelope(b, o)
    return o


def skip_PathPaymentStrictReceiveOp(b: bytes, o: int) -> int:
    o = skip_Asset(b, o)
    o = skip_MuxedAccount(b, o + 8)
    o = skip_Asset(b, o)
    n1 = _U32(b, o + 8)[0]
    o += 12
    for _ in range(n1):
        o = skip_Asset(b, o)
    return o


def skip_PathPaymentStrictReceiveResult(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    n2 = _ARMS_16.get(n1)
    if n2 is not None:
        o += n2
    elif n1 == 0:
        o = skip_PathPaymentStrictReceiveResultSuccess(b, o)
    elif n1 == -9:
        o = skip_Asset(b, o)
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_PathPaymentStrictReceiveResultSuccess(b: bytes, o: int) -> int:
    n1 = _U32(b, o)[0]
    o += 4
    for _ in range(n1):
        o = skip_ClaimAtom(b, o)
    o = skip_SimplePaymentResult(b, o)
    return o


def skip_PathPaymentStrictSendOp(b: bytes, o: int) -> int:
    o = skip_Asset(b, o)
    o = skip_MuxedAccount(b, o + 8)
    o = skip_Asset(b, o)
    n1 = _U32(b, o + 8)[0]
    o += 12
    for _ in range(n1):
        o = skip_Asset(b, o)
    return o


def skip_PathPaymentStrictSendResult(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    n2 = _ARMS_17.get(n1)
    if n2 is not None:
        o += n2
    elif n1 == 0:
        o = skip_PathPaymentStrictSendResultSuccess(b, o)
    elif n1 == -9:
        o = skip_Asset(b, o)
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_PathPaymentStrictSendResultSuccess(b: bytes, o: int) -> int:
    n1 = _U32(b, o)[0]
    o += 4
    for _ in range(n1):
        o = skip_ClaimAtom(b, o)
    o = skip_SimplePaymentResult(b, o)
    return o


def skip_PaymentOp(b: bytes, o: int) -> int:
    o = skip_MuxedAccount(b, o)
    o = skip_Asset(b, o)
    return o + 8


def skip_Preconditions(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    if n1 == 0:
        pass
    elif n1 == 1:
        o += 16
    elif n1 == 2:
        o = skip_PreconditionsV2(b, o)
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_PreconditionsV2(b: bytes, o: int) -> int:
    n1 = _U32(b, o)[0]
    o += 4
    if n1:
        o += 16
    n2 = _U32(b, o)[0]
    o += 4
    if n2:
        o += 8
    n3 = _U32(b, o)[0]
    o += 4
    if n3:
        o += 8
    n4 = _U32(b, o + 12)[0]
    o += 16
    for _ in range(n4):
        o = skip_SignerKey(b, o)
    return o


def skip_RevokeSponsorshipOp(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    if n1 == 0:
        o = skip_LedgerKey(b, o)
    elif n1 == 1:
        o = skip_RevokeSponsorshipOpSigner(b, o)
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_RevokeSponsorshipOpSigner(b: bytes, o: int) -> int:
    o = skip_SignerKey(b, o + 36)
    return o


def skip_SCAddress(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    n2 = _ARMS_18.get(n1)
    if n2 is not None:
        o += n2
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_SCBytes(b: bytes, o: int) -> int:
    n1 = _U32(b, o)[0]
    o += 4 + ((n1 + 3) & -4)
    return o


def skip_SCContractInstance(b: bytes, o: int) -> int:
    o = skip_ContractExecutable(b, o)
    n1 = _U32(b, o)[0]
    o += 4
    if n1:
        n2 = _U32(b, o)[0]
        o += 4
        for _ in range(n2):
            o = skip_SCMapEntry(b, o)
    return o


def skip_SCMap(b: bytes, o: int) -> int:
    n1 = _U32(b, o)[0]
    o += 4
    for _ in range(n1):
        o = skip_SCMapEntry(b, o)
    return o


def skip_SCMapEntry(b: bytes, o: int) -> int:
    o = skip_SCVal(b, o)
    o = skip_SCVal(b, o)
    return o


def skip_SCPBallot(b: bytes, o: int) -> int:
    n1 = _U32(b, o + 4)[0]
    o += 8 + ((n1 + 3) & -4)
    return o


def skip_SCPEnvelope(b: bytes, o: int) -> int:
    o = skip_SCPStatement(b, o)
    n1 = _U32(b, o)[0]
    o += 4 + ((n1 + 3) & -4)
    return o


def skip_SCPHistoryEntry(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    if n1 == 0:
        o = skip_SCPHistoryEntryV0(b, o)
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_SCPHistoryEntryV0(b: bytes, o: int) -> int:
    n1 = _U32(b, o)[0]
    o += 4
    for _ in range(n1):
        o = skip_SCPQuorumSet(b, o)
    o = skip_LedgerSCPMessages(b, o)
    return o


def skip_SCPNomination(b: bytes, o: int) -> int:
    n1 = _U32(b, o + 32)[0]
    o += 36
    for _ in range(n1):
        n2 = _U32(b, o)[0]
        o += 4 + ((n2 + 3) & -4)
    n3 = _U32(b, o)[0]
    o += 4
    for _ in range(n3):
        n4 = _U32(b, o)[0]
        o += 4 + ((n4 + 3) & -4)
    return o


def skip_SCPQuorumSet(b: bytes, o: int) -> int:
    n1 = _U32(b, o + 4)[0]
    o += 8 + n1 * 36
    n2 = _U32(b, o)[0]
    o += 4
    for _ in range(n2):
        o = skip_SCPQuorumSet(b, o)
    return o


def skip_SCPStatement(b: bytes, o: int) -> int:
    o = skip_SCPStatementPledges(b, o + 44)
    return o


def skip_SCPStatementConfirm(b: bytes, o: int) -> int:
    o = skip_SCPBallot(b, o)
    return o + 44


def skip_SCPStatementExternalize(b: bytes, o: int) -> int:
    o = skip_SCPBallot(b, o)
    return o + 36


def skip_SCPStatementPledges(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    if n1 == 0:
        o = skip_SCPStatementPrepare(b, o)
    elif n1 == 1:
        o = skip_SCPStatementConfirm(b, o)
    elif n1 == 2:
        o = skip_SCPStatementExternalize(b, o)
    elif n1 == 3:
        o = skip_SCPNomination(b, o)
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_SCPStatementPrepare(b: bytes, o: int) -> int:
    o = skip_SCPBallot(b, o + 32)
    n1 = _U32(b, o)[0]
    o += 4
    if n1:
        o = skip_SCPBallot(b, o)
    n2 = _U32(b, o)[0]
    o += 4
    if n2:
        o = skip_SCPBallot(b, o)
    return o + 8


def skip_SCString(b: bytes, o: int) -> int:
    n1 = _U32(b, o)[0]
    o += 4 + ((n1 + 3) & -4)
    return o


def skip_SCSymbol(b: bytes, o: int) -> int:
    n1 = _U32(b, o)[0]
    o += 4 + ((n1 + 3) & -4)
    return o


def skip_SCVal(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    n2 = _ARMS_19.get(n1)
    if n2 is not None:
        o += n2
    elif n1 == 13:
        n3 = _U32(b, o)[0]
        o += 4 + ((n3 + 3) & -4)
    elif n1 == 14:
        n4 = _U32(b, o)[0]
        o += 4 + ((n4 + 3) & -4)
    elif n1 == 15:
        n5 = _U32(b, o)[0]
        o += 4 + ((n5 + 3) & -4)
    elif n1 == 16:
        n6 = _U32(b, o)[0]
        o += 4
        if n6:
            n7 = _U32(b, o)[0]
            o += 4
            for _ in range(n7):
                o = skip_SCVal(b, o)
    elif n1 == 17:
        n8 = _U32(b, o)[0]
        o += 4
        if n8:
            n9 = _U32(b, o)[0]
            o += 4
            for _ in range(n9):
                o = skip_SCMapEntry(b, o)
    elif n1 == 18:
        o = skip_SCAddress(b, o)
    elif n1 == 19:
        o = skip_SCContractInstance(b, o)
    elif n1 == 22:
        n10 = _U32(b, o)[0]
        o += 4 + ((n10 + 3) & -4)
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_SCVec(b: bytes, o: int) -> int:
    n1 = _U32(b, o)[0]
    o += 4
    for _ in range(n1):
        o = skip_SCVal(b, o)
    return o


def skip_SetOptionsOp(b: bytes, o: int) -> int:
    n1 = _U32(b, o)[0]
    o += 4
    if n1:
        o += 36
    n2 = _U32(b, o)[0]
    o += 4
    if n2:
        o += 4
    n3 = _U32(b, o)[0]
    o += 4
    if n3:
        o += 4
    n4 = _U32(b, o)[0]
    o += 4
    if n4:
        o += 4
    n5 = _U32(b, o)[0]
    o += 4
    if n5:
        o += 4
    n6 = _U32(b, o)[0]
    o += 4
    if n6:
        o += 4
    n7 = _U32(b, o)[0]
    o += 4
    if n7:
        o += 4
    n8 = _U32(b, o)[0]
    o += 4
    if n8:
        n9 = _U32(b, o)[0]
        o += 4 + ((n9 + 3) & -4)
    n10 = _U32(b, o)[0]
    o += 4
    if n10:
        o = skip_Signer(b, o)
    return o


def skip_SetTrustLineFlagsOp(b: bytes, o: int) -> int:
    o = skip_Asset(b, o + 36)
    return o + 8


def skip_Signature(b: bytes, o: int) -> int:
    n1 = _U32(b, o)[0]
    o += 4 + ((n1 + 3) & -4)
    return o


def skip_Signer(b: bytes, o: int) -> int:
    o = skip_SignerKey(b, o)
    return o + 4


def skip_SignerKey(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    n2 = _ARMS_20.get(n1)
    if n2 is not None:
        o += n2
    elif n1 == 3:
        o = skip_SignerKeyEd25519SignedPayload(b, o)
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_SignerKeyEd25519SignedPayload(b: bytes, o: int) -> int:
    n1 = _U32(b, o + 32)[0]
    o += 36 + ((n1 + 3) & -4)
    return o


def skip_SimplePaymentResult(b: bytes, o: int) -> int:
    o = skip_Asset(b, o + 36)
    return o + 8


def skip_SorobanAddressCredentials(b: bytes, o: int) -> int:
    o = skip_SCAddress(b, o)
    o = skip_SCVal(b, o + 12)
    return o


def skip_SorobanAddressCredentialsWithDelegates(b: bytes, o: int) -> int:
    o = skip_SorobanAddressCredentials(b, o)
    n1 = _U32(b, o)[0]
    o += 4
    for _ in range(n1):
        o = skip_SorobanDelegateSignature(b, o)
    return o


def skip_SorobanAuthorizationEntry(b: bytes, o: int) -> int:
    o = skip_SorobanCredentials(b, o)
    o = skip_SorobanAuthorizedInvocation(b, o)
    return o


def skip_SorobanAuthorizedFunction(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    if n1 == 0:
        o = skip_InvokeContractArgs(b, o)
    elif n1 == 1:
        o = skip_CreateContractArgs(b, o)
    elif n1 == 2:
        o = skip_CreateContractArgsV2(b, o)
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_SorobanAuthorizedInvocation(b: bytes, o: int) -> int:
    o = skip_SorobanAuthorizedFunction(b, o)
    n1 = _U32(b, o)[0]
    o += 4
    for _ in range(n1):
        o = skip_SorobanAuthorizedInvocation(b, o)
    return o


def skip_SorobanCredentials(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    if n1 == 0:
        pass
    elif n1 == 1:
        o = skip_SorobanAddressCredentials(b, o)
    elif n1 == 2:
        o = skip_SorobanAddressCredentials(b, o)
    elif n1 == 3:
        o = skip_SorobanAddressCredentialsWithDelegates(b, o)
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_SorobanDelegateSignature(b: bytes, o: int) -> int:
    o = skip_SCAddress(b, o)
    o = skip_SCVal(b, o)
    n1 = _U32(b, o)[0]
    o += 4
    for _ in range(n1):
        o = skip_SorobanDelegateSignature(b, o)
    return o


def skip_SorobanResources(b: bytes, o: int) -> int:
    o = skip_LedgerFootprint(b, o)
    return o + 12


def skip_SorobanResourcesExtV0(b: bytes, o: int) -> int:
    n1 = _U32(b, o)[0]
    o += 4 + n1 * 4
    return o


def skip_SorobanTransactionData(b: bytes, o: int) -> int:
    o = skip_SorobanTransactionDataExt(b, o)
    o = skip_SorobanResources(b, o)
    return o + 8


def skip_SorobanTransactionDataExt(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    if n1 == 0:
        pass
    elif n1 == 1:
        n2 = _U32(b, o)[0]
        o += 4 + n2 * 4
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_SorobanTransactionMeta(b: bytes, o: int) -> int:
    o = skip_SorobanTransactionMetaExt(b, o)
    n1 = _U32(b, o)[0]
    o += 4
    for _ in range(n1):
        o = skip_ContractEvent(b, o)
    o = skip_SCVal(b, o)
    n2 = _U32(b, o)[0]
    o += 4
    for _ in range(n2):
        o = skip_DiagnosticEvent(b, o)
    return o


def skip_SorobanTransactionMetaExt(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    if n1 == 0:
        pass
    elif n1 == 1:
        o += 28
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_SorobanTransactionMetaV2(b: bytes, o: int) -> int:
    o = skip_SorobanTransactionMetaExt(b, o)
    n1 = _U32(b, o)[0]
    o += 4
    if n1:
        o = skip_SCVal(b, o)
    return o


def skip_SponsorshipDescriptor(b: bytes, o: int) -> int:
    n1 = _U32(b, o)[0]
    o += 4
    if n1:
        o += 36
    return o


def skip_StellarValue(b: bytes, o: int) -> int:
    n1 = _U32(b, o + 40)[0]
    o += 44
    for _ in range(n1):
        n2 = _U32(b, o)[0]
        o += 4 + ((n2 + 3) & -4)
    o = skip_StellarValueExt(b, o)
    return o


def skip_StellarValueExt(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    if n1 == 0:
        pass
    elif n1 == 1:
        o = skip_LedgerCloseValueSignature(b, o)
    elif n1 == 2:
        o = skip_StellarValueProposedValue(b, o)
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_StellarValueProposedValue(b: bytes, o: int) -> int:
    o = skip_LedgerCloseValueSignature(b, o + 68)
    return o


def skip_String32(b: bytes, o: int) -> int:
    n1 = _U32(b, o)[0]
    o += 4 + ((n1 + 3) & -4)
    return o


def skip_String64(b: bytes, o: int) -> int:
    n1 = _U32(b, o)[0]
    o += 4 + ((n1 + 3) & -4)
    return o


def skip_Transaction(b: bytes, o: int) -> int:
    o = skip_MuxedAccount(b, o)
    o = skip_Preconditions(b, o + 12)
    o = skip_Memo(b, o)
    n1 = _U32(b, o)[0]
    o += 4
    for _ in range(n1):
        o = skip_Operation(b, o)
    o = skip_TransactionExt(b, o)
    return o


def skip_TransactionEnvelope(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    if n1 == 0:
        o = skip_TransactionV0Envelope(b, o)
    elif n1 == 2:
        o = skip_TransactionV1Envelope(b, o)
    elif n1 == 5:
        o = skip_FeeBumpTransactionEnvelope(b, o)
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_TransactionEvent(b: bytes, o: int) -> int:
    o = skip_ContractEvent(b, o + 4)
    return o


def skip_TransactionExt(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    if n1 == 0:
        pass
    elif n1 == 1:
        o = skip_SorobanTransactionData(b, o)
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_TransactionMeta(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    if n1 == 0:
        n2 = _U32(b, o)[0]
        o += 4
        for _ in range(n2):
            o = skip_OperationMeta(b, o)
    elif n1 == 1:
        o = skip_TransactionMetaV1(b, o)
    elif n1 == 2:
        o = skip_TransactionMetaV2(b, o)
    elif n1 == 3:
        o = skip_TransactionMetaV3(b, o)
    elif n1 == 4:
        o = skip_TransactionMetaV4(b, o)
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_TransactionMetaV1(b: bytes, o: int) -> int:
    n1 = _U32(b, o)[0]
    o += 4
    for _ in range(n1):
        o = skip_LedgerEntryChange(b, o)
    n2 = _U32(b, o)[0]
    o += 4
    for _ in range(n2):
        o = skip_OperationMeta(b, o)
    return o


def skip_TransactionMetaV2(b: bytes, o: int) -> int:
    n1 = _U32(b, o)[0]
    o += 4
    for _ in range(n1):
        o = skip_LedgerEntryChange(b, o)
    n2 = _U32(b, o)[0]
    o += 4
    for _ in range(n2):
        o = skip_OperationMeta(b, o)
    n3 = _U32(b, o)[0]
    o += 4
    for _ in range(n3):
        o = skip_LedgerEntryChange(b, o)
    return o


def skip_TransactionMetaV3(b: bytes, o: int) -> int:
    n1 = _U32(b, o + 4)[0]
    o += 8
    for _ in range(n1):
        o = skip_LedgerEntryChange(b, o)
    n2 = _U32(b, o)[0]
    o += 4
    for _ in range(n2):
        o = skip_OperationMeta(b, o)
    n3 = _U32(b, o)[0]
    o += 4
    for _ in range(n3):
        o = skip_LedgerEntryChange(b, o)
    n4 = _U32(b, o)[0]
    o += 4
    if n4:
        o = skip_SorobanTransactionMeta(b, o)
    return o


def skip_TransactionMetaV4(b: bytes, o: int) -> int:
    n1 = _U32(b, o + 4)[0]
    o += 8
    for _ in range(n1):
        o = skip_LedgerEntryChange(b, o)
    n2 = _U32(b, o)[0]
    o += 4
    for _ in range(n2):
        o = skip_OperationMetaV2(b, o)
    n3 = _U32(b, o)[0]
    o += 4
    for _ in range(n3):
        o = skip_LedgerEntryChange(b, o)
    n4 = _U32(b, o)[0]
    o += 4
    if n4:
        o = skip_SorobanTransactionMetaV2(b, o)
    n5 = _U32(b, o)[0]
    o += 4
    for _ in range(n5):
        o = skip_TransactionEvent(b, o)
    n6 = _U32(b, o)[0]
    o += 4
    for _ in range(n6):
        o = skip_DiagnosticEvent(b, o)
    return o


def skip_TransactionPhase(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    if n1 == 0:
        n2 = _U32(b, o)[0]
        o += 4
        for _ in range(n2):
            o = skip_TxSetComponent(b, o)
    elif n1 == 1:
        o = skip_ParallelTxsComponent(b, o)
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_TransactionResult(b: bytes, o: int) -> int:
    o = skip_TransactionResultResult(b, o + 8)
    return o + 4


def skip_TransactionResultMeta(b: bytes, o: int) -> int:
    o = skip_TransactionResultPair(b, o)
    n1 = _U32(b, o)[0]
    o += 4
    for _ in range(n1):
        o = skip_LedgerEntryChange(b, o)
    o = skip_TransactionMeta(b, o)
    return o


def skip_TransactionResultMetaV1(b: bytes, o: int) -> int:
    o = skip_TransactionResultPair(b, o + 4)
    n1 = _U32(b, o)[0]
    o += 4
    for _ in range(n1):
        o = skip_LedgerEntryChange(b, o)
    o = skip_TransactionMeta(b, o)
    n2 = _U32(b, o)[0]
    o += 4
    for _ in range(n2):
        o = skip_LedgerEntryChange(b, o)
    return o


def skip_TransactionResultPair(b: bytes, o: int) -> int:
    o = skip_TransactionResult(b, o + 32)
    return o


def skip_TransactionResultResult(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    n2 = _ARMS_21.get(n1)
    if n2 is not None:
        o += n2
    elif n1 == 1:
        o = skip_InnerTransactionResultPair(b, o)
    elif n1 == -13:
        o = skip_InnerTransactionResultPair(b, o)
    elif n1 == 0:
        n3 = _U32(b, o)[0]
        o += 4
        for _ in range(n3):
            o = skip_OperationResult(b, o)
    elif n1 == -1:
        n4 = _U32(b, o)[0]
        o += 4
        for _ in range(n4):
            o = skip_OperationResult(b, o)
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_TransactionSet(b: bytes, o: int) -> int:
    n1 = _U32(b, o + 32)[0]
    o += 36
    for _ in range(n1):
        o = skip_TransactionEnvelope(b, o)
    return o


def skip_TransactionSetV1(b: bytes, o: int) -> int:
    n1 = _U32(b, o + 32)[0]
    o += 36
    for _ in range(n1):
        o = skip_TransactionPhase(b, o)
    return o


def skip_TransactionV0(b: bytes, o: int) -> int:
    n1 = _U32(b, o + 44)[0]
    o += 48
    if n1:
        o += 16
    o = skip_Memo(b, o)
    n2 = _U32(b, o)[0]
    o += 4
    for _ in range(n2):
        o = skip_Operation(b, o)
    return o + 4


def skip_TransactionV0Envelope(b: bytes, o: int) -> int:
    o = skip_TransactionV0(b, o)
    n1 = _U32(b, o)[0]
    o += 4
    for _ in range(n1):
        o = skip_DecoratedSignature(b, o)
    return o


def skip_TransactionV1Envelope(b: bytes, o: int) -> int:
    o = skip_Transaction(b, o)
    n1 = _U32(b, o)[0]
    o += 4
    for _ in range(n1):
        o = skip_DecoratedSignature(b, o)
    return o


def skip_TrustLineAsset(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    n2 = _ARMS_22.get(n1)
    if n2 is not None:
        o += n2
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_TrustLineEntry(b: bytes, o: int) -> int:
    o = skip_TrustLineAsset(b, o + 36)
    o = skip_TrustLineEntryExt(b, o + 20)
    return o


def skip_TrustLineEntryExt(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    if n1 == 0:
        pass
    elif n1 == 1:
        o = skip_TrustLineEntryV1(b, o)
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_TrustLineEntryV1(b: bytes, o: int) -> int:
    o = skip_TrustLineEntryV1Ext(b, o + 16)
    return o


def skip_TrustLineEntryV1Ext(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    if n1 == 0:
        pass
    elif n1 == 2:
        o += 8
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_TxSetComponent(b: bytes, o: int) -> int:
    n1 = _I32(b, o)[0]
    o += 4
    if n1 == 0:
        o = skip_TxSetComponentTxsMaybeDiscountedFee(b, o)
    else:
        raise ValueError(f"invalid union discriminant {n1} at {o - 4}")
    return o


def skip_TxSetComponentTxsMaybeDiscountedFee(b: bytes, o: int) -> int:
    n1 = _U32(b, o)[0]
    o += 4
    if n1:
        o += 8
    n2 = _U32(b, o)[0]
    o += 4
    for _ in range(n2):
        o = skip_TransactionEnvelope(b, o)
    return o


def skip_UpgradeEntryMeta(b: bytes, o: int) -> int:
    o = skip_LedgerUpgrade(b, o)
    n1 = _U32(b, o)[0]
    o += 4
    for _ in range(n1):
        o = skip_LedgerEntryChange(b, o)
    return o


def skip_UpgradeType(b: bytes, o: int) -> int:
    n1 = _U32(b, o)[0]
    o += 4 + ((n1 + 3) & -4)
    return o


def skip_Value(b: bytes, o: int) -> int:
    n1 = _U32(b, o)[0]
    o += 4 + ((n1 + 3) & -4)
    return o


# Unions with many fixed-size arms: discriminant -> arm size.
_ARMS_0: dict[int, int] = {0: 8, -1: 0, -2: 0, -3: 0, -4: 0, -5: 0, -6: 0, -7: 0}
_ARMS_1: dict[int, int] = {0: 0, 1: 40, 2: 48}
_ARMS_2: dict[int, int] = {0: 0, 1: 40, 2: 48}
_ARMS_3: dict[int, int] = {0: 0, 4: 8, 5: 8}
_ARMS_4: dict[int, int] = {
    0: 4,
    1: 28,
    2: 84,
    3: 8,
    4: 12,
    5: 16,
    8: 4,
    9: 4,
    10: 48,
    11: 4,
    13: 16,
    14: 4,
    15: 12,
    16: 20,
}
_ARMS_5: dict[int, int] = {0: 36, -1: 0, -2: 0, -3: 0, -4: 0, -5: 0}
_ARMS_6: dict[int, int] = {
    -2: 0,
    -3: 0,
    -4: 0,
    -5: 0,
    -6: 0,
    -7: 0,
    -8: 0,
    -9: 0,
    -10: 0,
    -11: 0,
    -12: 0,
    -14: 0,
    -15: 0,
    -16: 0,
    -17: 0,
    -18: 0,
}
_ARMS_7: dict[int, int] = {0: 32, -1: 0, -2: 0, -3: 0, -4: 0, -5: 0}
_ARMS_8: dict[int, int] = {0: 36, 2: 44, 4: 36, 5: 32, 7: 32, 8: 4, 9: 32}
_ARMS_9: dict[int, int] = {1: 4, 2: 4, 3: 4, 4: 4, 5: 4, 6: 64, 7: 4}
_ARMS_10: dict[int, int] = {
    -1: 0,
    -2: 0,
    -3: 0,
    -4: 0,
    -5: 0,
    -6: 0,
    -7: 0,
    -8: 0,
    -9: 0,
    -10: 0,
    -11: 0,
    -12: 0,
}
_ARMS_11: dict[int, int] = {
    -1: 0,
    -2: 0,
    -3: 0,
    -4: 0,
    -5: 0,
    -6: 0,
    -7: 0,
    -8: 0,
    -9: 0,
    -10: 0,
    -11: 0,
    -12: 0,
}
_ARMS_12: dict[int, int] = {0: 0, 2: 8, 3: 32, 4: 32}
_ARMS_13: dict[int, int] = {0: 44, 9: 0, 11: 8, 15: 36, 16: 36, 17: 0, 20: 36, 22: 64, 23: 56, 25: 8, 26: 4}
_ARMS_14: dict[int, int] = {-1: 0, -2: 0, -3: 0, -4: 0, -5: 0, -6: 0}
_ARMS_15: dict[int, int] = {
    0: 4,
    1: 4,
    5: 4,
    6: 4,
    7: 4,
    10: 4,
    11: 4,
    15: 4,
    16: 4,
    17: 4,
    18: 4,
    19: 4,
    20: 4,
    21: 4,
    22: 4,
    23: 4,
    25: 4,
    26: 4,
}
_ARMS_16: dict[int, int] = {-1: 0, -2: 0, -3: 0, -4: 0, -5: 0, -6: 0, -7: 0, -8: 0, -10: 0, -11: 0, -12: 0}
_ARMS_17: dict[int, int] = {-1: 0, -2: 0, -3: 0, -4: 0, -5: 0, -6: 0, -7: 0, -8: 0, -10: 0, -11: 0, -12: 0}
_ARMS_18: dict[int, int] = {0: 36, 1: 32, 2: 40, 3: 36, 4: 32}
_ARMS_19: dict[int, int] = {
    0: 4,
    1: 0,
    2: 8,
    3: 4,
    4: 4,
    5: 8,
    6: 8,
    7: 8,
    8: 8,
    9: 16,
    10: 16,
    11: 32,
    12: 32,
    20: 0,
    21: 8,
}
_ARMS_20: dict[int, int] = {0: 32, 1: 32, 2: 32}
_ARMS_21: dict[int, int] = {
    -2: 0,
    -3: 0,
    -4: 0,
    -5: 0,
    -6: 0,
    -7: 0,
    -8: 0,
    -9: 0,
    -10: 0,
    -11: 0,
    -12: 0,
    -14: 0,
    -15: 0,
    -16: 0,
    -17: 0,
    -18: 0,
}
_ARMS_22: dict[int, int] = {0: 0, 1: 40, 2: 48, 3: 32}
