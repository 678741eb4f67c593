// The pure core of peer and route programming: the desired state from the registry, and the changes from current to desired.
import type { Vehicle } from '../store/vehicles/schema.js';

export interface PeerState {
  publicKey: string;
  allowedIps: string[];
}

export interface NetState {
  peers: PeerState[];
  /** Route destinations (CIDRs) through the WireGuard interface; for `current`, only the routes we own. */
  routes: string[];
}

export type Change =
  | { kind: 'peer.remove'; publicKey: string }
  | { kind: 'peer.set'; publicKey: string; allowedIps: string[] }
  | { kind: 'route.remove'; dst: string }
  | { kind: 'route.replace'; dst: string };

/** Each vehicle not revoked is a peer allowed its tunnel address and its LAN, and its LAN is routed to the interface. */
export function desiredFromVehicles(vehicles: readonly Vehicle[]): NetState {
  const active = vehicles.filter((v) => v.revoked_at === null);
  return {
    peers: active.map((v) => ({ publicKey: v.public_key, allowedIps: [`${v.tunnel_address}/32`, v.subnet] })),
    routes: active.map((v) => v.subnet),
  };
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const sa = new Set(a);
  const sb = new Set(b);
  return sa.size === sb.size && [...sa].every((x) => sb.has(x));
}

/** Peers to remove (present, not desired), then peers to set (absent, or allowed-ips differ). Sorted, so stable. */
export function diffPeers(current: readonly PeerState[], desired: readonly PeerState[]): Change[] {
  const want = new Map(desired.map((p) => [p.publicKey, p]));
  const have = new Map(current.map((p) => [p.publicKey, p]));
  const removes: Change[] = [...have.keys()].filter((k) => !want.has(k)).sort().map((publicKey) => ({ kind: 'peer.remove', publicKey }));
  const sets: Change[] = [...want.values()]
    .filter((p) => !have.has(p.publicKey) || !sameSet(have.get(p.publicKey)!.allowedIps, p.allowedIps))
    .sort((a, b) => (a.publicKey < b.publicKey ? -1 : 1))
    .map((p) => ({ kind: 'peer.set', publicKey: p.publicKey, allowedIps: [...p.allowedIps] }));
  return [...removes, ...sets];
}

/** Routes to remove (ours, not desired), then routes to add. */
export function diffRoutes(current: readonly string[], desired: readonly string[]): Change[] {
  const want = new Set(desired);
  const have = new Set(current);
  return [
    ...[...have].filter((d) => !want.has(d)).sort().map((dst): Change => ({ kind: 'route.remove', dst })),
    ...[...want].filter((d) => !have.has(d)).sort().map((dst): Change => ({ kind: 'route.replace', dst })),
  ];
}

/**
 * All changes, in the order they are applied: first what goes away (peers, then their routes: a revoked vehicle
 * loses both in one pass), then what comes (peers, then routes to them). Empty when current is desired.
 */
export function plan(current: NetState, desired: NetState): Change[] {
  const peers = diffPeers(current.peers, desired.peers);
  const routes = diffRoutes(current.routes, desired.routes);
  const gone = (c: Change) => c.kind === 'peer.remove' || c.kind === 'route.remove';
  return [...peers.filter(gone), ...routes.filter(gone), ...peers.filter((c) => !gone(c)), ...routes.filter((c) => !gone(c))];
}

export function describe(c: Change): string {
  switch (c.kind) {
    case 'peer.remove':
      return `remove peer ${c.publicKey}`;
    case 'peer.set':
      return `set peer ${c.publicKey} allowed-ips ${c.allowedIps.join(',')}`;
    case 'route.remove':
      return `remove route ${c.dst}`;
    case 'route.replace':
      return `add route ${c.dst}`;
  }
}
