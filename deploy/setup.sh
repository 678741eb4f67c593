#!/usr/bin/env bash
# One-shot set-up of a fresh machine (as root): system packages the lab and daemons need, npm packages, build.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
have() { command -v "$1" >/dev/null 2>&1; }
have wg       || need+=(wireguard-tools)
have ip       || need+=(iproute2)
have nft      || need+=(nftables)
have dnsmasq  || need+=(dnsmasq-base)
have ping     || need+=(iputils-ping)
have udhcpc   || need+=(udhcpc)
have socat    || need+=(socat)
have ethtool  || need+=(ethtool)
have wpa_cli  || need+=(wpasupplicant)
have openssl  || need+=(openssl)        # HQ's admin certificate (install.sh), the TLS tests
# The test suite also needs: systemd-analyze (unit checks), debootstrap (install test), dpkg-dev (the package), Chromium
# (dashboard tests).
if [ "${ROAMLINK_SETUP_TESTS:-}" = 1 ]; then
  have systemd-analyze || need+=(systemd)
  have debootstrap     || need+=(debootstrap)
  have systemd-nspawn  || need+=(systemd-container)
  have dpkg-shlibdeps  || need+=(dpkg-dev)        # deploy/package.sh (the package test)
  have chromium        || need+=(chromium)
  have promtool        || need+=(prometheus)   # promtool checks deploy/prometheus (Debian ships it in /usr/bin)
  # The store tests run on PostgreSQL too: test/unit/postgres.fixture.ts starts a private server from Debian's binaries
  # (/usr/lib/postgresql/N/bin) in a temp directory and stops it. The package is told to make no cluster of its own.
  if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
    need+=(postgresql)
    if [ "$(id -u)" = 0 ]; then
      mkdir -p /etc/postgresql-common/createcluster.d
      echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.d/roamlink-tests.conf
    fi
  fi
fi
# No WireGuard module in the kernel: the userspace implementation stands in.
if ! modprobe -n wireguard >/dev/null 2>&1 && [ ! -d /sys/module/wireguard ]; then
  have wireguard-go || need+=(wireguard-go)
fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing system packages (${need[*]}); run as root to install them" >&2
    exit 1
  fi
  echo "setup: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# The runtime: the pinned Node LTS in .runtime/node (deploy/runtime.sh). Everything below runs on it: npm builds the
# native modules against its headers (no download: they ship in the package), and the tests and the demo run on it.
. deploy/runtime.sh
roamlink_runtime "$PWD"
export PATH="$PWD/.runtime/node/bin:$PATH"
export npm_config_nodedir="$PWD/.runtime/node"

# npm packages: install when missing, when the lockfile changed since the last install, or when the runtime's ABI did
# (native modules are built for one).
stamp=node_modules/.roamlink-lock
abi="node_modules/.roamlink-abi"
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp" || [ "$(cat "$abi" 2>/dev/null)" != "$(node -p process.versions.modules)" ]; then
  echo "setup: npm ci (Node $(node --version))"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
  node -p process.versions.modules > "$abi"
fi
# Native modules must load (a blocked install script leaves them unbuilt).
node -e "new (require('better-sqlite3'))(':memory:')" 2>/dev/null || npm rebuild better-sqlite3 --loglevel=error

# Build.
npx tsc -p tsconfig.json
