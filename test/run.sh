#!/usr/bin/env bash
# The test suite: unit tests, then the lab scenarios (root: network namespaces, WireGuard).
#
# The package tests (the .deb and install.sh into a fresh debootstrap root, the arm64 .deb cross-built and run under
# qemu-user: minutes of apt, dpkg and compiling, no timing bound) run in a lane of their own beside the unit tests,
# their output held and printed at the end. When the unit tests end the lab scenarios start at once (they waited for
# that lane, done at ~300 s against the unit tests' ~178 s), and what is left of the lane goes on beside them at
# SCHED_IDLE (chrt --idle): a CPU only when no lab process wants one, taken back as soon as one wakes.
# The lab scenarios run one at a time: their bounds are in milliseconds, and on a 2-core machine a second lab run
# beside them made five of them miss (2026-12-03: concurrency 2 under load).
set -uo pipefail
cd "$(dirname "$0")/.."
# On the project's runtime (deploy/runtime.sh), first on PATH so that tests starting `node` get it too.
export PATH="$PWD/.runtime/node/bin:$PATH"
node --version >&2
# A process tree at idle priority (children it starts later inherit it): /proc/PID/task/*/children lists each one's.
idle_tree() {
  chrt --idle -a -p 0 "$1" >/dev/null 2>&1 || return 0
  local c
  for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do idle_tree "$c"; done
}
# Each test is bounded, and a file that leaves a handle open cannot hold the run.
# Globs, not directories: from Node 22 on, `node --test DIR` no longer runs a directory's tests.
tests() { node --test --test-concurrency=1 --test-force-exit --test-timeout=300000 --test-reporter=spec "$@"; }

root=0
[ "$(id -u)" = 0 ] && root=1
[ "$root" = 1 ] || echo "test: not root, skipping the lab tests" >&2

debroot_rc=0
if [ "$root" = 1 ]; then
  debroot_log=$(mktemp -t roamlink-debroot.XXXXXX)
  trap 'rm -f "$debroot_log"' EXIT
  # The arm64 cross-build first, at normal priority beside the unit tests: it is the lane's longest stretch of CPU
  # (116 s of building), and at idle priority on a busy box it took 473 s of its 540 s bound (2026-12-03).
  (
    tests 'dist/test/lab/package-arm64.test.js' 'dist/test/lab/package.test.js' 'dist/test/lab/install.test.js'
    rc=$?
    echo "== the Debian-root tests done at ${SECONDS} s"
    exit $rc
  ) >"$debroot_log" 2>&1 &
  debroot_pid=$!
fi

tests 'dist/test/unit/*.test.js'
unit_rc=$?
echo "== unit tests done at ${SECONDS} s"

lab_rc=0
if [ "$root" = 1 ]; then
  lab=()
  for f in dist/test/lab/*.test.js; do
    case "$f" in */package.test.js | */install.test.js | */package-arm64.test.js) ;; *) lab+=("$f") ;; esac
  done
  idle_tree "$debroot_pid"
  echo "== the lab scenarios (the package lane, if still running, now at idle priority)"
  tests "${lab[@]}"
  lab_rc=$?
  echo "== lab done at ${SECONDS} s"
  wait "$debroot_pid"
  debroot_rc=$?
  echo "== the Debian-root tests (ran beside; all done at ${SECONDS} s)"
  cat "$debroot_log"
fi

echo "== exit: unit $unit_rc, Debian roots $debroot_rc, lab $lab_rc (${SECONDS} s)"
[ "$unit_rc" = 0 ] && [ "$debroot_rc" = 0 ] && [ "$lab_rc" = 0 ]
