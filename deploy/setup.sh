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
  # The arm64 package, cross-built and run under qemu-user (test/lab/package-arm64.test.ts; its arm64 libraries below).
  if [ "$(dpkg --print-architecture)" = amd64 ]; then
    have aarch64-linux-gnu-g++ || need+=(g++-aarch64-linux-gnu)
    have qemu-aarch64-static   || need+=(qemu-user-static)
  fi
  # The lab's two-HQ scenarios (test/lab/hq-power-off.test.ts): VRRP for HQ's LAN gateway. A production dependency of an
  # HQ with two concentrators too (docs/operator-guide.md, "Two concentrators"); its unit starts only with a config.
  have keepalived      || need+=(keepalived)
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
# arm64's own libc6, libstdc++6 and libgcc-s1 (Debian multiarch), for the arm64 package test: dpkg-shlibdeps reads the
# arm64 .deb's Depends from them, qemu-user runs its Node on them. Where the archive has no arm64 (a mirror of one
# architecture), the architecture is removed again and that test says why it skips.
if [ "${ROAMLINK_SETUP_TESTS:-}" = 1 ] && [ "$(id -u)" = 0 ] && [ "$(dpkg --print-architecture)" = amd64 ] &&
  ! dpkg-query -W libc6:arm64 libstdc++6:arm64 libgcc-s1:arm64 >/dev/null 2>&1; then
  echo "setup: adding arm64 libraries (dpkg --add-architecture arm64)"
  export DEBIAN_FRONTEND=noninteractive
  dpkg --add-architecture arm64
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends libc6:arm64 libstdc++6:arm64 libgcc-s1:arm64 >/dev/null; }; then
    echo "setup: no arm64 packages from this machine's archive: the arm64 package test will skip" >&2
    dpkg --remove-architecture arm64 2>/dev/null || true
    apt-get update -qq || true
  fi
fi

# The lab's machine is also its HQ: HQ's receive buffers (deploy/sysctl/60-roamlink-hq.conf's net.core lines) on the
# running kernel, raised and never lowered. They hold for every namespace (a namespace cannot set its own: EINVAL).
if [ "$(id -u)" = 0 ]; then
  while IFS='= ' read -r key want; do
    have=$(sysctl -n "$key" 2>/dev/null) || continue
    [ "$have" -ge "$want" ] || sysctl -q -w "$key=$want"
  done < <(grep -E '^net\.core\.' deploy/sysctl/60-roamlink-hq.conf)
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
# A fresh clone on a machine that installed the same lockfile for the same runtime before (CI: a clean clone each run)
# unpacks that install from the machine's cache instead: npm ci was ~60 s of the CI's set-up, most of it compiling
# better-sqlite3's SQLite; unpacking takes seconds. The cache is keyed by the lockfile, the runtime's version and the
# architecture, written whole or not at all, and the newest 3 kept. ROAMLINK_DEPS_CACHE=off never uses it.
deps_cache="${ROAMLINK_DEPS_CACHE:-}"
if [ -z "$deps_cache" ]; then
  if [ "$(id -u)" = 0 ]; then deps_cache=/var/cache/roamlink/node_modules; else deps_cache="${XDG_CACHE_HOME:-$HOME/.cache}/roamlink/node_modules"; fi
fi
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp" || [ "$(cat "$abi" 2>/dev/null)" != "$(node -p process.versions.modules)" ]; then
  key=$( { cat package-lock.json; node --version; uname -m; } | sha256sum | cut -c1-32)
  tarball="$deps_cache/$key.tar"
  if [ "$deps_cache" != off ] && [ -f "$tarball" ] && rm -rf node_modules && tar -xf "$tarball" &&
    node -e "new (require('better-sqlite3'))(':memory:')" 2>/dev/null; then
    echo "setup: node_modules from $tarball (the same lockfile and Node, installed before on this machine)"
  else
    echo "setup: npm ci (Node $(node --version))"
    npm ci --no-audit --no-fund --loglevel=error
    # Kept only when its native module loads: a tarball is only ever a whole, working install.
    if [ "$deps_cache" != off ] && node -e "new (require('better-sqlite3'))(':memory:')" 2>/dev/null && mkdir -p "$deps_cache" 2>/dev/null; then
      if tar -cf "$tarball.$$" node_modules 2>/dev/null && mv "$tarball.$$" "$tarball"; then
        ls -1t "$deps_cache"/*.tar 2>/dev/null | tail -n +4 | xargs -r rm -f
      else
        rm -f "$tarball.$$"
      fi
    fi
  fi
  cp package-lock.json "$stamp"
  node -p process.versions.modules > "$abi"
fi
# Native modules must load (a blocked install script leaves them unbuilt).
node -e "new (require('better-sqlite3'))(':memory:')" 2>/dev/null || npm rebuild better-sqlite3 --loglevel=error

# Build.
npx tsc -p tsconfig.json
