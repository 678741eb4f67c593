#!/usr/bin/env bash
# The test suite: unit tests, then the lab scenarios (root: network namespaces, WireGuard).
set -euo pipefail
cd "$(dirname "$0")/.."
dirs=(dist/test/unit)
if [ "$(id -u)" = 0 ]; then
  dirs+=(dist/test/lab)
else
  echo "test: not root, skipping the lab tests" >&2
fi
# Each test is bounded, and a file that leaves a handle open cannot hold the run.
exec node --test --test-concurrency=1 --test-force-exit --test-timeout=300000 --test-reporter=spec "${dirs[@]}"
