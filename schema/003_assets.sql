-- Asset registry. asset_id is the identity used everywhere (`native`, `CODE:ISSUER`, `C...`);
-- the other identifiers are attributes, so the key is asset_id alone.
CREATE TABLE IF NOT EXISTS prices.assets
(
    asset_id String,
    asset_code String DEFAULT '',
    issuer String DEFAULT '',
    contract_id String DEFAULT '',
    asset_type Enum8('native' = 1, 'classic' = 2, 'soroban' = 3),
    decimals UInt8 DEFAULT 7,
    sac_contract_id String DEFAULT '',
    is_active Bool DEFAULT true,
    first_seen_ledger UInt32 DEFAULT 0,
    updated_at DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY asset_id;
