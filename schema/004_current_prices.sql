-- Latest price per asset; readers must use FINAL (or argMax) because merges are eventual.
CREATE TABLE IF NOT EXISTS prices.current_prices
(
    asset_id String,
    price_usd Float64,
    price_xlm Float64 DEFAULT 0,
    vwap_24h Float64 DEFAULT 0,
    volume_24h_usd Float64 DEFAULT 0,
    change_24h_pct Float64 DEFAULT 0,
    change_7d_pct Float64 DEFAULT 0,
    -- JSON object per source, kept as text so the shape can evolve without DDL.
    sources String DEFAULT '{}',
    updated_at DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY asset_id;
