#!/usr/bin/env bash
# The test suite: unit tests, then the lab scenarios (root: network namespaces, WireGuard).
#
# Two lanes while the unit tests run: the package tests (the .deb and install.sh into a fresh debootstrap root, the
# arm64 .deb cross-built and run under qemu-user: minutes of apt, dpkg and compiling, no timing bound) run beside
# them, their output held and printed after the unit tests'.
# The lab scenarios run last and alone: their bounds are in milliseconds, and on a 2-core machine a second lab run
# beside them made five of them miss (2026-12-03: concurrency 2 under load).
set -uo pipefail
cd "$(dirname "$0")/.."
# On the project's runtime (deploy/runtime.sh), first on PATH so that tests starting `node` get it too.
export PATH="$PWD/.runtime/node/bin:$PATH"
node --version >&2
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
  tests 'dist/test/lab/package.test.js' 'dist/test/lab/install.test.js' 'dist/test/lab/package-arm64.test.js' >"$debroot_log" 2>&1 &
  debroot_pid=$!
fi

tests 'dist/test/unit/*.test.js'
unit_rc=$?
echo "== unit tests done at ${SECONDS} s"

lab_rc=0
if [ "$root" = 1 ]; then
  wait "$debroot_pid"
  debroot_rc=$?
  echo "== the Debian-root tests (ran beside the unit tests; both lanes done at ${SECONDS} s)"
  cat "$debroot_log"
  lab=()
  for f in dist/test/lab/*.test.js; do
    case "$f" in */package.test.js | */install.test.js | */package-arm64.test.js) ;; *) lab+=("$f") ;; esac
  done
  echo "== the lab scenarios"
  tests "${lab[@]}"
  lab_rc=$?
fi

echo "== exit: unit $unit_rc, Debian roots $debroot_rc, lab $lab_rc (${SECONDS} s)"
[ "$unit_rc" = 0 ] && [ "$debroot_rc" = 0 ] && [ "$lab_rc" = 0 ]
