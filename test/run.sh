#!/usr/bin/env bash
# The test suite: unit tests, then the lab scenarios (root: network namespaces, WireGuard).
set -euo pipefail
cd "$(dirname "$0")/.."
# On the project's runtime (deploy/runtime.sh), first on PATH so that tests starting `node` get it too.
export PATH="$PWD/.runtime/node/bin:$PATH"
# Globs, not directories: from Node 22 on, `node --test DIR` no longer runs a directory's tests.
dirs=('dist/test/unit/*.test.js')
if [ "$(id -u)" = 0 ]; then
  dirs+=('dist/test/lab/*.test.js')
else
  echo "test: not root, skipping the lab tests" >&2
fi
# Each test is bounded, and a file that leaves a handle open cannot hold the run.
node --version >&2
exec node --test --test-concurrency=1 --test-force-exit --test-timeout=300000 --test-reporter=spec "${dirs[@]}"
