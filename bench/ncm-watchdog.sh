#!/usr/bin/env bash
# bench/ncm-watchdog: runs a peer's NCM watchdog shell script, unchanged, against blackholes or carrier losses and
# prints how long after each fault it ran its reconnect (issue 13, item 5: a real peer run instead of a model).
#
# usage (root, under the lab lock): flock /tmp/roamlink-lab.lock bash bench/ncm-watchdog.sh SCRIPT blackhole|carrier-loss N
#
# SCRIPT is the watchdog as published (the field notes' kind: it pings www.google.com, then runs
# `/etc/init.d/ncm-network start` and appends to /root/reboot.log). It is not in this repository (not ours to
# commit); give its path. It is pointed at a lab of its own without a byte changed:
#
#   rl<pid>w-a: the router, runs SCRIPT ─ a0 10.99.0.1 ── veth ── b0 10.99.0.2 ─ rl<pid>w-b: "www.google.com"
#
#   - its host resolves to the far namespace (/etc/netns/rl<pid>w-a/hosts, which `ip netns exec` mounts on /etc/hosts);
#   - its reconnect is a stub that logs the time (/etc/netns/rl<pid>w-a/init.d/ncm-network, mounted on /etc/init.d);
#   - /root is a private tmpfs, so its reboot.log stays inside.
# Each fault starts the script afresh, waits a uniform phase of its 60 s loop (1-61 s), then cuts the path:
#   blackhole:    the far side drops everything it receives (nftables), the link stays up, nothing comes back;
#   carrier-loss: the far end of the veth goes down, so a0 loses its carrier.
# The fault lasts until the reconnect runs (at most 180 s), then the path comes back and the script is stopped.
# Namespaces are named like the lab's (rl<pid><letter>-…), so a crashed run's are swept by the next lab run.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "ncm-watchdog: needs root (network namespaces)" >&2; exit 2; }
[ $# = 3 ] || { echo "usage: $0 SCRIPT blackhole|carrier-loss N" >&2; exit 2; }
SCRIPT=$(readlink -f "$1"); KIND=$2; N=$3
[ -r "$SCRIPT" ] || { echo "ncm-watchdog: SCRIPT: cannot read $1" >&2; exit 2; }
case "$KIND" in blackhole|carrier-loss) ;; *) echo "ncm-watchdog: KIND: expected blackhole or carrier-loss, got '$KIND'" >&2; exit 2 ;; esac
[[ "$N" =~ ^[1-9][0-9]?$ ]] || { echo "ncm-watchdog: N: expected a number of faults from 1 to 99, got '$N'" >&2; exit 2; }

A=rl$$w-a; B=rl$$w-b
WORK=$(mktemp -d /tmp/ncm-watchdog.XXXXXX)
LOG=$WORK/reconnect.log
WD=
cleanup() {
  if [ -n "$WD" ]; then kill -- -"$WD" 2>/dev/null || true; fi
  for ns in $A $B; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
  rm -rf "/etc/netns/$A" "$WORK"
}
trap cleanup EXIT

ip netns add "$A"; ip netns add "$B"
ip link add a0 netns "$A" type veth peer name b0 netns "$B"
ip -n "$A" addr add 10.99.0.1/24 dev a0; ip -n "$B" addr add 10.99.0.2/24 dev b0
for ns in $A $B; do ip -n "$ns" link set lo up; done
ip -n "$A" link set a0 up; ip -n "$B" link set b0 up
mkdir -p "/etc/netns/$A/init.d"
printf '127.0.0.1 localhost\n10.99.0.2 www.google.com\n' >"/etc/netns/$A/hosts"
printf '#!/bin/sh\necho "$(date +%%s.%%N) $*" >>%s\n' "$LOG" >"/etc/netns/$A/init.d/ncm-network"
chmod +x "/etc/netns/$A/init.d/ncm-network"
: >"$LOG"
ip netns exec "$A" ping -c 1 -W 1 www.google.com >/dev/null || { echo "ncm-watchdog: no path before the faults" >&2; exit 1; }

fault_on() {
  if [ "$KIND" = blackhole ]; then ip netns exec "$B" nft -f - <<<'table ip bh { chain c { type filter hook input priority 0; policy drop; }; }'
  else ip -n "$B" link set b0 down; fi
}
fault_off() {
  if [ "$KIND" = blackhole ]; then ip netns exec "$B" nft delete table ip bh; else ip -n "$B" link set b0 up; fi
}

echo "ncm-watchdog: $(basename "$SCRIPT") (sha256 $(sha256sum "$SCRIPT" | cut -c1-12)), $N ${KIND}s"
results=()
for i in $(seq 1 "$N"); do
  setsid ip netns exec "$A" unshare -m sh -c "mount -t tmpfs none /root && exec sh '$SCRIPT'" &
  WD=$!
  sleep "$(awk -v s="$RANDOM$i" 'BEGIN { srand(s); printf "%.3f", 1 + rand() * 60 }')"
  before=$(wc -l <"$LOG")
  t0=$(date +%s.%N)
  fault_on
  t1=
  for _ in $(seq 1 1800); do
    if [ "$(wc -l <"$LOG")" -gt "$before" ]; then t1=$(tail -1 "$LOG" | cut -d' ' -f1); break; fi
    sleep 0.1
  done
  fault_off
  kill -- -"$WD" 2>/dev/null || true; wait "$WD" 2>/dev/null || true; WD=
  if [ -n "$t1" ]; then
    ms=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
    results+=("$ms"); echo "fault $i: reconnect ${ms} ms after the $KIND"
  else
    echo "fault $i: no reconnect within 180 s"
  fi
  sleep 1
done
if [ ${#results[@]} -gt 0 ]; then
  printf '%s\n' "${results[@]}" | sort -n | awk -v k="$KIND" '{ x[NR] = $1 } END {
    m = (NR % 2) ? x[(NR + 1) / 2] : (x[NR / 2] + x[NR / 2 + 1]) / 2
    printf "%s: %d faults, reconnect after median %.1f s, min %.1f s, max %.1f s\n", k, NR, m / 1000, x[1] / 1000, x[NR] / 1000 }'
fi
