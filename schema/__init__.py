"""ClickHouse schema for the `prices` database: migrations, rollup chain and access model."""
