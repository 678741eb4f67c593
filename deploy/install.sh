#!/usr/bin/env bash
# Installs one side of roamlink (the vehicle's agent or HQ's concentrator) from this built checkout: packages, app, units.
#
#   deploy/install.sh --role agent|hq [--prefix DIR] [--root DIR] [--upgrade] [--enable] [--no-deps]
#   deploy/install.sh --uninstall [--role agent|hq] [--root DIR] [--purge]
#
# Run as root in a checkout where deploy/setup.sh (or `npm ci && npm run build`) has run, on a machine of the target's
# architecture (the app carries native modules: build on the Pi for the Pi). Debian 12/13, Ubuntu 22.04+, Raspberry Pi OS.
#
#   what                      where
#   the app (dist, bin, production node_modules, docs, deploy)    PREFIX (default /opt/roamlink), replaced whole
#   Node, when the system has none of the major the app was built with    PREFIX/node/bin/node (the project's runtime)
#   the command               /usr/local/bin/roamlink (runs PREFIX/bin/roamlink with that Node)
#   the unit                  /usr/local/lib/systemd/system/roamlink-ROLE.service (change it with drop-ins)
#   sysctls                   /etc/sysctl.d/60-roamlink-ROLE.conf
#   config                    /etc/roamlink (0750, group roamlink): ROLE.yaml from deploy/examples only when absent; never overwritten
#   state                     /var/lib/roamlink (0700, user roamlink)
#   the daemons' user         roamlink (a system user; the units run as it with only network capabilities)
#
# Idempotent: running it again changes nothing but the app's files. --upgrade also restarts the running daemon.
# --uninstall keeps /etc/roamlink and /var/lib/roamlink unless --purge. --root DIR installs into a Debian tree (a chroot,
# an image being built): packages through `chroot DIR apt-get`, nothing started.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
SRC="$(cd "$(dirname "$0")/.." && pwd)"
ROLE="" PREFIX=/opt/roamlink ROOT=/ MODE=install PURGE=0 ENABLE=0 DEPS=1

usage() { sed -n '4,5p' "$0" | sed 's/^# *//'; }
die() { echo "install: $*" >&2; exit 2; }
say() { echo "install: $*"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --role) ROLE="${2:-}"; shift 2 ;;
    --role=*) ROLE="${1#*=}"; shift ;;
    --prefix) PREFIX="${2:-}"; shift 2 ;;
    --prefix=*) PREFIX="${1#*=}"; shift ;;
    --root) ROOT="${2:-}"; shift 2 ;;
    --root=*) ROOT="${1#*=}"; shift ;;
    --upgrade) MODE=upgrade; shift ;;
    --uninstall) MODE=uninstall; shift ;;
    --purge) PURGE=1; shift ;;
    --enable) ENABLE=1; shift ;;
    --no-deps) DEPS=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

case "$ROLE" in
  agent|hq) ;;
  "") [ "$MODE" = uninstall ] || die "--role: give agent (the vehicle) or hq (the concentrator)" ;;
  *) die "--role: \"$ROLE\" is not agent or hq" ;;
esac
case "$PREFIX" in /*) ;; *) die "--prefix: \"$PREFIX\" is not an absolute path" ;; esac
[ "$PURGE" = 0 ] || [ "$MODE" = uninstall ] || die "--purge goes with --uninstall"
[ "$(id -u)" = 0 ] || die "run as root"
ROOT="$(cd "$ROOT" 2>/dev/null && pwd)" || die "--root: no such directory"
[ -d "$ROOT/var/lib/dpkg" ] || die "--root: $ROOT is not a Debian system (no var/lib/dpkg)"
R="${ROOT%/}"                                   # prefix for paths in the target ("" for /)
LIVE=0                                          # a running systemd we may talk to
if [ "$ROOT" = / ] && [ -d /run/systemd/system ]; then LIVE=1; fi

# Runs a command in the target system.
in_root() { if [ "$ROOT" = / ]; then "$@"; else chroot "$ROOT" env LC_ALL=C "$@"; fi; }

# chroot: /proc for package scripts, and no service starts (policy-rc.d), both undone on exit.
cleanup=()
on_exit() { local i; for ((i=${#cleanup[@]}-1; i>=0; i--)); do eval "${cleanup[i]}" || true; done; }
trap on_exit EXIT
trap 'exit 143' TERM INT HUP
if [ "$ROOT" != / ]; then
  if ! mountpoint -q "$R/proc"; then mount -t proc proc "$R/proc"; cleanup+=("umount '$R/proc'"); fi
  if [ ! -e "$R/usr/sbin/policy-rc.d" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$R/usr/sbin/policy-rc.d"; chmod 755 "$R/usr/sbin/policy-rc.d"
    cleanup+=("rm -f '$R/usr/sbin/policy-rc.d'")
  fi
fi

UNIT_DIR=/usr/local/lib/systemd/system
roles_file="$R$PREFIX/.roles"
installed_roles() { [ -f "$roles_file" ] && cat "$roles_file" || true; }

systemctl_live() { if [ "$LIVE" = 1 ]; then systemctl "$@"; fi; }

# ---------------------------------------------------------------------------------------------------------- uninstall
if [ "$MODE" = uninstall ]; then
  roles="${ROLE:-$(installed_roles | tr '\n' ' ')}"
  [ -n "${roles// /}" ] || roles="agent hq"
  for r in $roles; do
    systemctl_live disable --now "roamlink-$r.service" 2>/dev/null || true
    rm -f "$R$UNIT_DIR/roamlink-$r.service" "$R/etc/sysctl.d/60-roamlink-$r.conf"
    [ -f "$roles_file" ] && { grep -vx "$r" "$roles_file" > "$roles_file.tmp" || true; mv "$roles_file.tmp" "$roles_file"; }
    say "removed the $r unit"
  done
  if [ ! -s "$roles_file" ]; then
    rm -rf "$R$PREFIX" "$R/usr/local/bin/roamlink" "$R/etc/modules-load.d/roamlink.conf"
    say "removed $PREFIX and /usr/local/bin/roamlink"
    if [ "$PURGE" = 1 ]; then
      rm -rf "$R/etc/roamlink" "$R/var/lib/roamlink"
      in_root userdel roamlink 2>/dev/null || true
      say "purged /etc/roamlink and /var/lib/roamlink, and the user roamlink"
    else
      say "kept /etc/roamlink and /var/lib/roamlink (keys, registry, switch log); --purge removes them"
    fi
  else
    say "still installed for: $(tr '\n' ' ' < "$roles_file")"
  fi
  systemctl_live daemon-reload
  exit 0
fi

# ------------------------------------------------------------------------------------------------------------- checks
[ -f "$SRC/dist/cli/main.js" ] || die "$SRC is not built: run deploy/setup.sh (or npm ci && npm run build) first"
[ -d "$SRC/node_modules" ] || die "$SRC has no node_modules: run deploy/setup.sh first"
if [ -f "$SRC/node_modules/.roamlink-lock" ] && ! cmp -s "$SRC/package-lock.json" "$SRC/node_modules/.roamlink-lock"; then
  die "$SRC/node_modules is older than package-lock.json: run deploy/setup.sh first"
fi
# The app runs on the Node it was built with: the project's pinned runtime (deploy/runtime.sh), which setup.sh installs.
HOST_NODE="$SRC/.runtime/node/bin/node"
[ -x "$HOST_NODE" ] || die "$SRC has no runtime in .runtime/node: run deploy/setup.sh first"
command -v npm >/dev/null || die "no npm on this machine (needed to prune dev dependencies)"
node() { "$HOST_NODE" "$@"; }
NODE_MAJOR="$(node -p 'process.versions.node.split(".")[0]')"
[ "$NODE_MAJOR" -ge 24 ] || die "the runtime is Node $(node --version); roamlink needs a maintained LTS (24 or later)"
host_arch="$(dpkg --print-architecture)"
target_arch="$(in_root dpkg --print-architecture)"
[ "$host_arch" = "$target_arch" ] || die "--root: the target is $target_arch, this machine $host_arch; build and install on a $target_arch machine (native modules)"
if [ "$MODE" = upgrade ] && ! grep -qx "$ROLE" <(installed_roles); then
  die "--upgrade: the $ROLE role is not installed under $PREFIX (install it first)"
fi

# ----------------------------------------------------------------------------------------------------------- packages
# Node: the system's when it has the major the native modules were built for (or the distribution offers it),
# else this machine's node binary copied into PREFIX/node.
node_major_in_root() { in_root sh -c 'command -v node >/dev/null && node -p "process.versions.node.split(\".\")[0]"' 2>/dev/null || true; }
is_installed() { in_root dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
kernel_has_wireguard() { [ -d /sys/module/wireguard ] || modprobe -n wireguard >/dev/null 2>&1; }

pkgs=(iproute2 wireguard-tools procps)          # procps: kill, for ExecReload; ps, for the operator
if [ "$ROLE" = agent ]; then pkgs+=(nftables udhcpc wpasupplicant iw); fi
if [ "$ROLE" = hq ]; then pkgs+=(nftables openssl); fi   # HQ's own table (concentrator/firewall); the admin certificate
kernel_has_wireguard || pkgs+=(wireguard-go)
NODE_PATH_IN_ROOT=""
apt_updated=0
apt_update() { [ "$apt_updated" = 1 ] || { in_root apt-get update -qq; apt_updated=1; }; }

if [ "$DEPS" = 1 ]; then
  have_major="$(node_major_in_root)"
  if [ "$have_major" != "$NODE_MAJOR" ] && ! is_installed nodejs; then
    apt_update
    cand="$(in_root apt-cache policy nodejs | awk '/Candidate:/ {print $2}')"
    cand_major="$(printf '%s' "$cand" | sed -E 's/^[0-9]+://; s/[^0-9].*//')"
    if [ "$cand_major" = "$NODE_MAJOR" ]; then pkgs+=(nodejs); fi
  fi
  missing=()
  for p in "${pkgs[@]}"; do is_installed "$p" || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    apt_update
    in_root apt-get install -y -qq -o Dpkg::Use-Pty=0 --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi
if [ "$(node_major_in_root)" = "$NODE_MAJOR" ]; then
  NODE_PATH_IN_ROOT="$(in_root sh -c 'command -v node')"
fi

# ---------------------------------------------------------------------------------------------------------------- app
# Assembled beside PREFIX, then swapped in: a failure leaves the old install as it was.
stage="$R$PREFIX.new"
rm -rf "$stage"
cleanup+=("rm -rf '$stage'")
mkdir -p "$stage"
cp -a "$SRC/package.json" "$SRC/package-lock.json" "$SRC/bin" "$stage/"
mkdir -p "$stage/dist"
for d in "$SRC"/dist/*; do [ "$(basename "$d")" = test ] || cp -a "$d" "$stage/dist/"; done
mkdir -p "$stage/lab" "$stage/deploy"
cp -a "$SRC/lab/scenarios" "$stage/lab/"                              # `roamlink demo` reads lab/scenarios/demo.yaml
[ -d "$SRC/docs" ] && cp -a "$SRC/docs" "$stage/"
for f in "$SRC"/deploy/*; do [ "$(basename "$f")" = setup.sh ] || cp -a "$f" "$stage/deploy/"; done
# Production dependencies: this checkout's node_modules (native modules already built for this Node) less dev ones.
cp -a "$SRC/node_modules" "$stage/"
(cd "$stage" && npm prune --omit=dev --no-audit --no-fund --loglevel=error >/dev/null)
if [ -z "$NODE_PATH_IN_ROOT" ]; then
  say "no Node $NODE_MAJOR in the target system: copying the project's runtime ($(node --version)) to $PREFIX/node"
  mkdir -p "$stage/node/bin"
  cp "$HOST_NODE" "$stage/node/bin/node"
  NODE_PATH_IN_ROOT="$PREFIX/node/bin/node"
fi
{ installed_roles; echo "$ROLE"; } | sort -u > "$stage/.roles"
commit="$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)"
printf 'version=%s\ncommit=%s\nnode=%s\ninstalled=%s\n' "$(node -p "require('$SRC/package.json').version")" "$commit" \
  "$NODE_PATH_IN_ROOT" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$stage/.install"
chmod -R go-w "$stage"
if [ -d "$R$PREFIX" ]; then
  rm -rf "$R$PREFIX.old"
  mv "$R$PREFIX" "$R$PREFIX.old"
  cleanup+=("rm -rf '$R$PREFIX.old'")
fi
mkdir -p "$(dirname "$R$PREFIX")"
mv "$stage" "$R$PREFIX"

# The command: a wrapper, so the daemons run on the Node the native modules were built for.
mkdir -p "$R/usr/local/bin"
cat > "$R/usr/local/bin/roamlink.tmp" <<EOF
#!/bin/sh
# roamlink (installed by deploy/install.sh): the app in $PREFIX on the Node it was built for.
# ROAMLINK_NODE_FLAGS: flags for Node itself, which NODE_OPTIONS does not all take (the agent's unit sets them).
exec $NODE_PATH_IN_ROOT \$ROAMLINK_NODE_FLAGS $PREFIX/bin/roamlink "\$@"
EOF
chmod 755 "$R/usr/local/bin/roamlink.tmp"
mv "$R/usr/local/bin/roamlink.tmp" "$R/usr/local/bin/roamlink"

# ------------------------------------------------------------------------------------------------ units and system
mkdir -p "$R$UNIT_DIR"
sed "s#/opt/roamlink#$PREFIX#g" "$SRC/deploy/systemd/roamlink-$ROLE.service" > "$R$UNIT_DIR/roamlink-$ROLE.service"
chmod 644 "$R$UNIT_DIR/roamlink-$ROLE.service"
mkdir -p "$R/etc/sysctl.d"
install -m 644 "$SRC/deploy/sysctl/60-roamlink-$ROLE.conf" "$R/etc/sysctl.d/60-roamlink-$ROLE.conf"
if kernel_has_wireguard; then
  mkdir -p "$R/etc/modules-load.d" && echo wireguard > "$R/etc/modules-load.d/roamlink.conf"
fi

# The daemons' user (the units' User=roamlink): a system user with no login. The agent's is in netdev when there is
# one, for wpa_supplicant's control sockets (ctrl_interface GROUP=netdev); dialout comes from the unit.
if ! in_root getent passwd roamlink >/dev/null; then
  in_root useradd --system --user-group --home-dir /var/lib/roamlink --no-create-home --shell /usr/sbin/nologin --comment "roamlink daemons" roamlink
  say "made the system user roamlink (the daemons run as it)"
fi
if [ "$ROLE" = agent ] && in_root getent group netdev >/dev/null; then in_root usermod -a -G netdev roamlink; fi

install -d -m 0750 "$R/etc/roamlink"
install -d -m 0700 "$R/var/lib/roamlink"
if [ ! -e "$R/etc/roamlink/$ROLE.yaml" ]; then
  install -m 0640 "$SRC/deploy/examples/$ROLE.yaml" "$R/etc/roamlink/$ROLE.yaml"
  say "wrote the example config /etc/roamlink/$ROLE.yaml: edit it (enrollment fills the marked fields)"
else
  say "kept /etc/roamlink/$ROLE.yaml"
fi

# HQ's admin listener speaks HTTPS: a self-signed certificate when none is there (replace both files with your own CA's
# any time; `roamlink hq --check` checks the pair). Made in the target (its openssl), valid 825 days.
if [ "$ROLE" = hq ] && [ ! -e "$R/etc/roamlink/admin.crt" ] && [ ! -e "$R/etc/roamlink/admin.key" ]; then
  host="$(in_root hostname 2>/dev/null || cat "$R/etc/hostname" 2>/dev/null || echo roamlink-hq)"
  host="${host%%.*}"; [ -n "$host" ] || host=roamlink-hq
  in_root sh -c 'umask 077 && exec openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 \
      -subj "/CN=$1 roamlink admin" -addext "subjectAltName=DNS:$1,DNS:localhost,IP:127.0.0.1" \
      -keyout /etc/roamlink/admin.key -out /etc/roamlink/admin.crt' sh "$host" 2>/dev/null \
    || die "openssl could not make the admin certificate in /etc/roamlink"
  chmod 600 "$R/etc/roamlink/admin.key"; chmod 644 "$R/etc/roamlink/admin.crt"
  say "made a self-signed admin certificate /etc/roamlink/admin.crt ($(in_root openssl x509 -in /etc/roamlink/admin.crt -noout -fingerprint -sha256 | sed 's/.*=//'))"
fi

# Ownership: config readable by the daemons' group, secrets (mode 0600) and state theirs. The units' ExecStartPre=+
# does the same at each start, for files made as root since (keys, enrollment, `roamlink vehicle add`).
in_root chgrp roamlink /etc/roamlink "/etc/roamlink/$ROLE.yaml"
in_root find /etc/roamlink -maxdepth 1 -type f -user root -perm 0600 -exec chown roamlink:roamlink {} +
in_root chown -R roamlink:roamlink /var/lib/roamlink

if [ "$LIVE" = 1 ]; then
  systemctl daemon-reload
  if [ -x /usr/lib/systemd/systemd-sysctl ]; then /usr/lib/systemd/systemd-sysctl "/etc/sysctl.d/60-roamlink-$ROLE.conf" || true
  elif [ -x /lib/systemd/systemd-sysctl ]; then /lib/systemd/systemd-sysctl "/etc/sysctl.d/60-roamlink-$ROLE.conf" || true
  fi
  [ "$ENABLE" = 0 ] || systemctl enable "roamlink-$ROLE.service"
  [ "$MODE" != upgrade ] || systemctl try-restart "roamlink-$ROLE.service"
fi

# Things that fight the agent for its interfaces.
if [ "$ROLE" = agent ]; then
  is_installed modemmanager && echo "install: warning: ModemManager is installed; it takes the modem's AT ports: systemctl disable --now ModemManager (docs/operator-guide.md)" >&2
  is_installed network-manager && echo "install: warning: NetworkManager is installed; mark the uplinks unmanaged (docs/operator-guide.md)" >&2
fi

say "roamlink $(sed -n 's/^version=//p' "$R$PREFIX/.install") ($commit) installed in $PREFIX for: $(tr '\n' ' ' < "$R$PREFIX/.roles")"
case "$MODE-$ROLE" in
  install-agent) say "next: $PREFIX/deploy/enroll-vehicle.sh key; register the vehicle at HQ; enroll-vehicle.sh apply; systemctl enable --now roamlink-agent" ;;
  install-hq) say "next: umask 077; wg genkey > /etc/roamlink/hq.key; roamlink hq --check; systemctl enable --now roamlink-hq" ;;
esac
