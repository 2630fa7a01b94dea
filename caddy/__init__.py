"""The ClickHouse mTLS edge: one Caddy site definition shared by production and the local data plane."""
