#!/usr/bin/env bash
# Enrolls a vehicle the way an operator does: the key is made on the vehicle, HQ registers its public key, the vehicle
# applies what HQ printed. The private key never leaves the vehicle and is never printed.
#
#   on the vehicle:  enroll-vehicle.sh key [--key FILE]
#                      makes the WireGuard key (default /etc/roamlink/agent.key, mode 0600) unless it exists; prints the public key
#   at HQ:           enroll-vehicle.sh register NAME --subnet CIDR --pubkey KEY --endpoint HOST:PORT [--site SITE] [--config FILE]
#                      `roamlink vehicle add` (or finds the same vehicle with the same key); prints the enrollment (one JSON line)
#   on the vehicle:  enroll-vehicle.sh apply FILE|- [--config FILE]
#                      writes the enrollment into /etc/roamlink/agent.yaml (comments kept), then `roamlink agent --check`
#
# Exit 2 on bad input, naming what was wrong.
set -euo pipefail
APP="$(cd "$(dirname "$0")/.." && pwd)"

usage() { sed -n '5,12p' "$0" | sed 's/^# \{0,1\}//'; }

# The Node the app was installed with (install.sh records it); in a checkout, the one on PATH.
node_bin() {
  local n=""
  [ -f "$APP/.install" ] && n="$(sed -n 's/^node=//p' "$APP/.install")"
  echo "${n:-node}"
}

cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in
  key)
    key=/etc/roamlink/agent.key
    while [ $# -gt 0 ]; do
      case "$1" in
        --key) key="${2:?--key needs a FILE}"; shift 2 ;;
        --key=*) key="${1#*=}"; shift ;;
        *) echo "enroll: unknown argument: $1" >&2; exit 2 ;;
      esac
    done
    command -v wg >/dev/null || { echo "enroll: wg not found: install wireguard-tools (deploy/install.sh does)" >&2; exit 1; }
    umask 077
    mkdir -p "$(dirname "$key")"
    if [ -s "$key" ]; then
      echo "enroll: $key exists; keeping it" >&2
    else
      wg genkey > "$key.tmp"
      mv "$key.tmp" "$key"
      echo "enroll: made $key" >&2
    fi
    chmod 600 "$key"
    pub="$(wg pubkey < "$key")" || { echo "enroll: $key does not hold a WireGuard private key" >&2; exit 2; }
    echo "$pub"
    echo "enroll: at HQ: $APP/deploy/enroll-vehicle.sh register NAME --subnet CIDR --pubkey $pub --endpoint HOST:PORT > NAME.enroll.json" >&2
    ;;
  register|apply)
    exec "$(node_bin)" "$APP/deploy/enroll.mjs" "$cmd" "$@"
    ;;
  -h|--help|help) usage ;;
  *) usage >&2; exit 2 ;;
esac
