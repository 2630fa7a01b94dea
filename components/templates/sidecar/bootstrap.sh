#!/usr/bin/env bash
# First boot of the prices-api sidecar ClickHouse server (cloud-init runcmd; components/sidecar.py).
#
# Installs ClickHouse from the official LTS apt repository, pinned to one release series, and Caddy from
# Caddy's apt repository; puts the staged configuration in place; starts both. Nothing secret is involved:
# the mTLS site (with the ClickHouse passwords the edge injects), the client CA, the users and grants and the
# schema are pushed over SSH afterwards by the stack's CaddyEdge and ClickHouseDatabase components.
set -euo pipefail

# Tests run this script against a scratch directory with stub commands; on the server ROOT is empty.
ROOT="${PRICES_SIDECAR_ROOT:-}"
staged="$ROOT/etc/prices-sidecar"
# CLICKHOUSE_SERIES, SITE_DIR, CLIENT_CA_DIR
# shellcheck source=/dev/null
. "$staged/bootstrap.env"

export DEBIAN_FRONTEND=noninteractive
keyrings="$ROOT/usr/share/keyrings"
install -d -m 0755 "$keyrings" "$ROOT/etc/apt/sources.list.d" "$ROOT/etc/apt/preferences.d"

curl -fsSL https://packages.clickhouse.com/rpm/lts/repodata/repomd.xml.key \
  | gpg --dearmor --yes -o "$keyrings/clickhouse-keyring.gpg"
echo "deb [signed-by=/usr/share/keyrings/clickhouse-keyring.gpg] https://packages.clickhouse.com/deb lts main" \
  > "$ROOT/etc/apt/sources.list.d/clickhouse.list"
# One release series (the partner's production server runs 26.3); upgrades inside it only, and deliberate.
cat > "$ROOT/etc/apt/preferences.d/clickhouse" <<PIN
Package: clickhouse-server clickhouse-client clickhouse-common-static
Pin: version ${CLICKHOUSE_SERIES}.*
Pin-Priority: 1001
PIN

curl -fsSL https://dl.cloudsmith.io/public/caddy/stable/gpg.key \
  | gpg --dearmor --yes -o "$keyrings/caddy-stable-archive-keyring.gpg"
echo "deb [signed-by=/usr/share/keyrings/caddy-stable-archive-keyring.gpg] https://dl.cloudsmith.io/public/caddy/stable/deb/debian any-version main" \
  > "$ROOT/etc/apt/sources.list.d/caddy-stable.list"

apt-get update
apt-get install -y clickhouse-server clickhouse-client caddy
apt-mark hold clickhouse-server clickhouse-client clickhouse-common-static

# Installed after the packages so that no package conffile prompt can meet them.
install -d -m 0755 "$ROOT/etc/clickhouse-server/config.d" "$ROOT/etc/clickhouse-server/users.d" "$ROOT/etc/caddy"
install -m 0644 "$staged/clickhouse-server.xml" "$ROOT/etc/clickhouse-server/config.d/prices-sidecar.xml"
install -m 0644 "$staged/clickhouse-admin.xml" "$ROOT/etc/clickhouse-server/users.d/prices-sidecar-admin.xml"
install -m 0644 "$staged/Caddyfile" "$ROOT/etc/caddy/Caddyfile"
# Group caddy + setgid: the files Pulumi installs here later (owner root, mode 0640) stay readable by Caddy,
# which runs as its own user.
for dir in "$SITE_DIR" "$CLIENT_CA_DIR"; do
  install -d "$ROOT$dir"
  chgrp caddy "$ROOT$dir"
  chmod 2750 "$ROOT$dir"
done

systemctl enable clickhouse-server caddy
systemctl restart clickhouse-server caddy

install -d -m 0755 "$ROOT/var/lib/prices-sidecar"
touch "$ROOT/var/lib/prices-sidecar/bootstrap-done"
echo "prices-sidecar bootstrap done"
