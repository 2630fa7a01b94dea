-- L2 cross-source current prices (docs/pricing.md): one row per asset in prices.current_prices,
-- recomputed whole every minute by prices.mv_current_prices from the 1m tier (and the 1m/1h/1d tiers
-- for the change columns). Constants (kept in sync with docs/pricing.md and lambdas/api/pricing.py):
--   window 24 h | stale-source cut 2 h | conditional minimum volume 100 USD
--   outlier cut 20 % from the inter-source median, only with >= 3 fresh sources
-- Column names: source columns are renamed b_* (rows), s_* (per source), f_*/g_*/h_* (flags) and
-- a_* (per asset); only the outermost layer uses the target's column names, so no alias can shadow
-- a column inside an aggregate (reference §13.6 / platform notes §8 trap 1).

-- The change columns are NULL when there is no reference price (0 % would be a claim).
ALTER TABLE prices.current_prices MODIFY COLUMN change_24h_pct Nullable(Float64) DEFAULT NULL;

ALTER TABLE prices.current_prices MODIFY COLUMN change_7d_pct Nullable(Float64) DEFAULT NULL;

-- vwap_24h | no_fresh_source | usd_peg (docs/pricing.md "method").
ALTER TABLE prices.current_prices ADD COLUMN IF NOT EXISTS method LowCardinality(String) DEFAULT '';

-- {source: {reason, price, vwap, volume_24h, last_trade_at}} for priced sources left out of vwap_24h.
ALTER TABLE prices.current_prices ADD COLUMN IF NOT EXISTS excluded_sources String DEFAULT '{}';

-- Minute of the candle whose close is price_usd: the age of the price, which updated_at is not.
ALTER TABLE prices.current_prices ADD COLUMN IF NOT EXISTS price_at DateTime('UTC') DEFAULT toDateTime(0, 'UTC');

-- The instant the 24 h window ends at: least(refresh time, close time of the newest ingested ledger).
ALTER TABLE prices.current_prices ADD COLUMN IF NOT EXISTS as_of DateTime64(3, 'UTC') DEFAULT toDateTime64(0, 3, 'UTC');

-- The whole L2 computation as of {as_of}, used by the refreshable view below (as_of = now) and on
-- demand (lambdas.api.pricing.l2_snapshot_statement, tests) with a pinned as_of.
-- usd_quotes: schema.rollups.USD_QUOTES (a test checks they agree).
CREATE VIEW IF NOT EXISTS prices.current_prices_l2 AS
WITH
    -- Anchoring on the newest ingested ledger keeps a lagging ingestion from turning every source
    -- "stale" at once; as_of exposes the anchor (updated_at stays the refresh time).
    ifNull(
        least(
            {as_of:DateTime64(3, 'UTC')},
            (SELECT toDateTime64(close_time, 3, 'UTC') FROM prices.ingested_ledgers ORDER BY ledger DESC LIMIT 1)
        ),
        {as_of:DateTime64(3, 'UTC')}
    ) AS anchor,
    ['USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN',
     'CCW67TSZV3SSS2HXMBQ5JFGCKJNXKZM7UQUWUZPUTHXSTZLEO7SJMI75'] AS usd_quotes
SELECT
    a_asset AS asset_id,
    a_price AS price_usd,
    multiIf(a_asset = 'native', 1., xlm_usd > 0, a_price / xlm_usd, 0.) AS price_xlm,
    a_vwap AS vwap_24h,
    a_volume AS volume_24h_usd,
    multiIf(a_peg, 0., r_has_24h = 1 AND r_ref_24h > 0, (a_price / r_ref_24h - 1) * 100, NULL) AS change_24h_pct,
    multiIf(a_peg, 0., r_has_7d = 1 AND r_ref_7d > 0, (a_price / r_ref_7d - 1) * 100, NULL) AS change_7d_pct,
    a_sources AS sources,
    a_method AS method,
    a_excluded AS excluded_sources,
    a_price_at AS price_at,
    anchor AS as_of,
    now64(3, 'UTC') AS updated_at
FROM
(
    SELECT
        *,
        -- Window over the whole snapshot: XLM's own price_usd, so price_xlm agrees with it exactly.
        anyIf(a_price, a_asset = 'native') OVER () AS xlm_usd
    FROM
    (
        SELECT
            s_asset AS a_asset,
            has(usd_quotes, s_asset) AS a_peg,
            countIf(h_in_vwap) AS a_n_vwap,
            -- Latest priced close among fresh, non-outlier sources (min volume never filters it);
            -- only when every source is stale, the latest priced close of any source.
            if(countIf(g_kept) > 0,
               argMaxIf(s_price, (s_last_key, s_source), g_kept),
               argMaxIf(s_price, (s_last_key, s_source), s_priced)) AS a_price,
            tupleElement(if(countIf(g_kept) > 0, maxIf(s_last_key, g_kept), maxIf(s_last_key, s_priced)), 1)
                AS a_price_at,
            if(sumIf(s_volume, h_in_vwap) > 0,
               sumIf(s_vwap * s_volume, h_in_vwap) / sumIf(s_volume, h_in_vwap),
               avgIf(s_vwap, h_in_vwap)) AS a_vwap_raw,
            if(a_n_vwap > 0, a_vwap_raw, 0.) AS a_vwap,
            -- Every source, fresh or not, both roles (base and quote side): never filtered.
            sum(s_volume_all) AS a_volume,
            multiIf(a_peg, 'usd_peg', a_n_vwap > 0, 'vwap_24h', 'no_fresh_source') AS a_method,
            arraySort(groupArrayIf((s_source, s_price, s_vwap, s_volume, s_last_iso), h_in_vwap)) AS a_kept_arr,
            arraySort(groupArrayIf((s_source, h_reason, s_price, s_vwap, s_volume, s_last_iso), s_priced AND NOT h_in_vwap))
                AS a_excl_arr,
            toJSONString(mapFromArrays(
                arrayMap(x -> x.1, a_kept_arr),
                arrayMap(x -> CAST((x.2, x.3, x.4, x.5),
                                   'Tuple(price Float64, vwap Float64, volume_24h Float64, last_trade_at String)'),
                         a_kept_arr))) AS a_sources,
            toJSONString(mapFromArrays(
                arrayMap(x -> x.1, a_excl_arr),
                arrayMap(x -> CAST((x.2, x.3, x.4, x.5, x.6),
                                   'Tuple(reason String, price Float64, vwap Float64, volume_24h Float64, last_trade_at String)'),
                         a_excl_arr))) AS a_excluded
        FROM
        (
            SELECT
                *,
                -- Conditional minimum volume: only when some kept source reaches 100 USD.
                max(g_kept AND s_volume >= 100) OVER (PARTITION BY s_asset) AS h_has_big,
                g_kept AND (NOT h_has_big OR s_volume >= 100) AS h_in_vwap,
                multiIf(NOT f_fresh, 'stale', g_outlier, 'outlier', NOT h_in_vwap, 'min_volume', '') AS h_reason
            FROM
            (
                SELECT
                    *,
                    -- Never drop every source: with no consensus (e.g. 1, 1, 10, 10) none is an outlier.
                    f_outlier_raw AND countIf(f_fresh AND NOT f_outlier_raw) OVER (PARTITION BY s_asset) > 0
                        AS g_outlier,
                    f_fresh AND NOT g_outlier AS g_kept
                FROM
                (
                    SELECT
                        *,
                        f_n_fresh >= 3 AND f_fresh AND abs(s_vwap - f_median) > 0.2 * f_median AS f_outlier_raw
                    FROM
                    (
                        SELECT
                            *,
                            length(f_fresh_vwaps) AS f_n_fresh,
                            if(f_n_fresh % 2 = 1,
                               f_fresh_vwaps[intDiv(f_n_fresh, 2) + 1],
                               (f_fresh_vwaps[intDiv(f_n_fresh, 2)] + f_fresh_vwaps[intDiv(f_n_fresh, 2) + 1]) / 2)
                                AS f_median
                        FROM
                        (
                            SELECT
                                *,
                                -- Stale-source cut: last priced close older than 2 h.
                                s_priced AND s_last_key.1 >= anchor - INTERVAL 2 HOUR AS f_fresh,
                                arraySort(groupArrayIf(s_vwap, f_fresh) OVER (PARTITION BY s_asset)) AS f_fresh_vwaps
                            FROM
                            (
                                -- Per (asset, source). Price-forming rows: the asset as base with a USD
                                -- close, or (USD reference assets) as quote, priced 1 by definition.
                                SELECT
                                    b_asset AS s_asset,
                                    b_source AS s_source,
                                    sumIf(b_vusd, b_pf) AS s_volume,
                                    sum(b_vusd) AS s_volume_all,
                                    if(sumIf(b_vbase, b_pf) > 0, sumIf(b_vusd, b_pf) / sumIf(b_vbase, b_pf), 0.)
                                        AS s_vwap_base,
                                    if(has(usd_quotes, b_asset), 1., s_vwap_base) AS s_vwap,
                                    if(has(usd_quotes, b_asset), 1., argMaxIf(b_cusd, (b_ts, b_ver), b_pf)) AS s_price,
                                    maxIf((b_ts, b_ver), b_pf) AS s_last_key,
                                    formatDateTime(s_last_key.1, '%Y-%m-%dT%H:%i:%SZ', 'UTC') AS s_last_iso,
                                    countIf(b_pf) > 0 AS s_priced
                                FROM
                                (
                                    SELECT
                                        role.1 AS b_asset,
                                        source AS b_source,
                                        timestamp AS b_ts,
                                        version AS b_ver,
                                        close_usd AS b_cusd,
                                        volume_quote_usd AS b_vusd,
                                        -- Float64 before summing: a Decimal(38, 18) sum can overflow
                                        -- and fail the whole refresh (reference §13.6).
                                        toFloat64(volume_base) AS b_vbase,
                                        if(has(usd_quotes, role.1),
                                           role.2 = 0 AND volume_quote_usd > 0,
                                           role.2 = 1 AND close_usd > 0) AS b_pf
                                    FROM prices.price_ohlcv_1m FINAL
                                    -- Each candle counts for its base (role 1) and its quote (role 0).
                                    ARRAY JOIN [(asset_id, toUInt8(1)), (quote_asset_id, toUInt8(0))] AS role
                                    WHERE timestamp >= anchor - INTERVAL 24 HOUR AND timestamp <= anchor
                                )
                                GROUP BY b_asset, b_source
                                HAVING s_priced OR s_volume_all > 0
                            )
                        )
                    )
                )
            )
        )
        GROUP BY s_asset
        HAVING countIf(s_priced) > 0
    )
) AS cur
LEFT JOIN
(
    -- Reference prices for the change columns: the latest priced close (any source) in a candle
    -- that ENDED at or before anchor - 24 h (resp. 7 d), searched in 1m (last 2 h), 1h (last 2 d)
    -- and 1d (last 31 d) before that instant; 1m gives minute precision where it is retained.
    SELECT
        r_asset,
        argMaxIf(r_cusd, (r_end, r_ver), r_which = 24) AS r_ref_24h,
        toUInt8(countIf(r_which = 24) > 0) AS r_has_24h,
        argMaxIf(r_cusd, (r_end, r_ver), r_which = 168) AS r_ref_7d,
        toUInt8(countIf(r_which = 168) > 0) AS r_has_7d
    FROM
    (
        -- Constant bounds per reference instant (no arrayJoin in the WHERE) so partition pruning and
        -- the primary index apply; a bucket's end is timestamp + its length.
        SELECT asset_id AS r_asset, close_usd AS r_cusd, version AS r_ver,
               timestamp + INTERVAL 1 MINUTE AS r_end, 24 AS r_which
        FROM prices.price_ohlcv_1m FINAL
        WHERE close_usd > 0 AND timestamp <= anchor - INTERVAL 24 HOUR - INTERVAL 1 MINUTE
          AND timestamp >= anchor - INTERVAL 24 HOUR - INTERVAL 2 HOUR
        UNION ALL
        SELECT asset_id, close_usd, version, timestamp + INTERVAL 1 HOUR, 24
        FROM prices.price_ohlcv_1h FINAL
        WHERE close_usd > 0 AND timestamp <= anchor - INTERVAL 24 HOUR - INTERVAL 1 HOUR
          AND timestamp >= anchor - INTERVAL 24 HOUR - INTERVAL 2 DAY
        UNION ALL
        SELECT asset_id, close_usd, version, timestamp + INTERVAL 1 DAY, 24
        FROM prices.price_ohlcv_1d FINAL
        WHERE close_usd > 0 AND timestamp <= anchor - INTERVAL 24 HOUR - INTERVAL 1 DAY
          AND timestamp >= anchor - INTERVAL 24 HOUR - INTERVAL 31 DAY
        UNION ALL
        SELECT asset_id, close_usd, version, timestamp + INTERVAL 1 MINUTE, 168
        FROM prices.price_ohlcv_1m FINAL
        WHERE close_usd > 0 AND timestamp <= anchor - INTERVAL 7 DAY - INTERVAL 1 MINUTE
          AND timestamp >= anchor - INTERVAL 7 DAY - INTERVAL 2 HOUR
        UNION ALL
        SELECT asset_id, close_usd, version, timestamp + INTERVAL 1 HOUR, 168
        FROM prices.price_ohlcv_1h FINAL
        WHERE close_usd > 0 AND timestamp <= anchor - INTERVAL 7 DAY - INTERVAL 1 HOUR
          AND timestamp >= anchor - INTERVAL 7 DAY - INTERVAL 2 DAY
        UNION ALL
        SELECT asset_id, close_usd, version, timestamp + INTERVAL 1 DAY, 168
        FROM prices.price_ohlcv_1d FINAL
        WHERE close_usd > 0 AND timestamp <= anchor - INTERVAL 7 DAY - INTERVAL 1 DAY
          AND timestamp >= anchor - INTERVAL 7 DAY - INTERVAL 31 DAY
    )
    GROUP BY r_asset
) AS ref ON cur.a_asset = ref.r_asset;

-- Without APPEND: each refresh atomically replaces the whole table, so an asset that stopped
-- trading leaves it instead of keeping a frozen 24 h volume (platform notes §3). Sole writer.
-- No DEPENDS ON the 1m step: a failing rollup must not stop prices; the 1m tier lags <= 1 minute.
CREATE MATERIALIZED VIEW IF NOT EXISTS prices.mv_current_prices
REFRESH EVERY 1 MINUTE
TO prices.current_prices (asset_id, price_usd, price_xlm, vwap_24h, volume_24h_usd, change_24h_pct, change_7d_pct, sources, method, excluded_sources, price_at, as_of, updated_at)
AS SELECT asset_id, price_usd, price_xlm, vwap_24h, volume_24h_usd, change_24h_pct, change_7d_pct, sources, method, excluded_sources, price_at, as_of, updated_at
FROM prices.current_prices_l2(as_of = now64(3, 'UTC'));
