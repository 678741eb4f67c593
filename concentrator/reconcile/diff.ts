// The pure core of peer and route programming: the desired state from the registry, and the changes from current to desired.
import { assertIfName, isWgKey } from '../../shared/wg.js';
import { parseCidr } from '../cidr.js';
import { ROUTE_PROTO } from '../routes.js';
import type { Vehicle } from '../store/vehicles/schema.js';

export interface PeerState {
  publicKey: string;
  allowedIps: string[];
  /**
   * Desired side only: where the peer was last heard ("ip:port", from the endpoint store). Given to a peer that is
   * added (after a reboot the interface is new), so HQ can send to it at once; a peer already there keeps the
   * endpoint WireGuard learned, which is newer.
   */
  endpoint?: string;
}

export interface NetState {
  peers: PeerState[];
  /** Route destinations (CIDRs) through the WireGuard interface; for `current`, only the routes we own. */
  routes: string[];
}

export type Change =
  | { kind: 'peer.remove'; publicKey: string }
  | { kind: 'peer.set'; publicKey: string; allowedIps: string[]; endpoint?: string }
  | { kind: 'route.remove'; dst: string }
  | { kind: 'route.replace'; dst: string };

/**
 * Each vehicle not revoked is a peer allowed its tunnel address and its LAN, and its LAN is routed to the interface.
 * `endpoints` (public key to "ip:port") are the last endpoints stored, given to peers that have to be added.
 */
export function desiredFromVehicles(vehicles: readonly Vehicle[], endpoints?: ReadonlyMap<string, string>): NetState {
  const active = vehicles.filter((v) => v.revoked_at === null);
  return {
    peers: active.map((v) => {
      const endpoint = endpoints?.get(v.public_key);
      return { publicKey: v.public_key, allowedIps: [`${v.tunnel_address}/32`, v.subnet], ...(endpoint !== undefined ? { endpoint } : {}) };
    }),
    routes: active.map((v) => v.subnet),
  };
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const sa = new Set(a);
  const sb = new Set(b);
  return sa.size === sb.size && [...sa].every((x) => sb.has(x));
}

/**
 * Peers to remove (present, not desired), then peers to set (absent, or allowed-ips differ). Sorted, so stable.
 * A peer that is there and right is left alone: removing and adding it again would drop its session and endpoint
 * (a concentrator restart adopts the interface it finds). Only an absent peer is given its stored endpoint.
 */
export function diffPeers(current: readonly PeerState[], desired: readonly PeerState[]): Change[] {
  const want = new Map(desired.map((p) => [p.publicKey, p]));
  const have = new Map(current.map((p) => [p.publicKey, p]));
  const removes: Change[] = [...have.keys()].filter((k) => !want.has(k)).sort().map((publicKey) => ({ kind: 'peer.remove', publicKey }));
  const sets: Change[] = [...want.values()]
    .filter((p) => !have.has(p.publicKey) || !sameSet(have.get(p.publicKey)!.allowedIps, p.allowedIps))
    .sort((a, b) => (a.publicKey < b.publicKey ? -1 : 1))
    .map((p) => ({
      kind: 'peer.set', publicKey: p.publicKey, allowedIps: [...p.allowedIps],
      ...(!have.has(p.publicKey) && p.endpoint !== undefined ? { endpoint: p.endpoint } : {}),
    }));
  return [...removes, ...sets];
}

/** What the interface itself should have: HQ's key (by its public half) and listen port. */
export interface InterfaceWant {
  publicKey: string;
  listenPort: number;
}

export type InterfaceChange = { kind: 'key.set' } | { kind: 'port.set'; port: number };

/**
 * The interface's own settings to apply on start, given what `wg show IF dump` reports (null: just created, nothing
 * set). Only what differs: setting the listen port again rebinds wireguard-go's socket (packets in flight are lost),
 * so an adopted interface that is already right gets nothing.
 */
export function planInterface(current: { publicKey: string | null; listenPort: number } | null, want: InterfaceWant): InterfaceChange[] {
  const out: InterfaceChange[] = [];
  if (current?.publicKey !== want.publicKey) out.push({ kind: 'key.set' });
  if (current?.listenPort !== want.listenPort) out.push({ kind: 'port.set', port: want.listenPort });
  return out;
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
      return `set peer ${c.publicKey} allowed-ips ${c.allowedIps.join(',')}${c.endpoint !== undefined ? ` endpoint ${c.endpoint}` : ''}`;
    case 'route.remove':
      return `remove route ${c.dst}`;
    case 'route.replace':
      return `add route ${c.dst}`;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Batches: a large pass (a cold start of 10,000 vehicles) applied by a few processes instead of one per change.

/** A pass with more peer sets and route adds than this is applied in batches; the first pass always is. */
export const BATCH_THRESHOLD = 50;

/** Lines per `ip -batch` process: bounds each process's input and the error output it prints. */
export const ROUTE_BATCH_LINES = 2000;

export interface Batch {
  /** What goes away: always applied one at a time and exactly (`wg set … peer K remove`, `ip route del`), first. */
  removals: Change[];
  /** The peer sets and route adds the batch carries, in plan order. */
  batched: Change[];
  /** Sets and adds whose text would not parse (a key, a CIDR): left out, so they are tried one at a time and fail alone. */
  unbatchable: Change[];
  /** The `wg addconf` file: one [Peer] section (PublicKey, AllowedIPs) per set, no [Interface], no private key; '' if none. */
  peersConf: string;
  /** `ip -force -batch -` scripts, ROUTE_BATCH_LINES lines at most each, one `route replace … proto 82` a line. */
  routeScripts: string[];
}

/** Whether a pass applies `changes` in batches: the first pass always, later ones when they set or add more than `threshold`. */
export function shouldBatch(changes: readonly Change[], first: boolean, threshold = BATCH_THRESHOLD): boolean {
  return first || changes.filter((c) => c.kind === 'peer.set' || c.kind === 'route.replace').length > threshold;
}

/**
 * Renders a plan as batch text (pure). Both texts are parsed by their tool before anything is applied: one bad
 * key makes `wg addconf` refuse the whole file, and `ip -force` goes on after a line the kernel refuses but exits
 * at one it cannot parse. So only entries that parse are rendered; the others are returned as `unbatchable`.
 * Nothing from the registry reaches the text unchecked: a newline in a key or CIDR would be a line of its own.
 */
export function renderBatch(changes: readonly Change[], ifname: string, linesPerScript = ROUTE_BATCH_LINES): Batch {
  assertIfName(ifname, 'interface');
  if (!Number.isInteger(linesPerScript) || linesPerScript < 1) throw new Error(`linesPerScript must be a positive integer, not ${linesPerScript}`);
  const b: Batch = { removals: [], batched: [], unbatchable: [], peersConf: '', routeScripts: [] };
  const sections: string[] = [];
  const lines: string[] = [];
  for (const c of changes) {
    switch (c.kind) {
      case 'peer.remove':
      case 'route.remove':
        b.removals.push(c);
        break;
      case 'peer.set':
        // A peer with no allowed-ips (never desired today) is left to `wg set … allowed-ips ''`, plain in its meaning.
        if (!isWgKey(c.publicKey) || c.allowedIps.length === 0 || !c.allowedIps.every((a) => parseCidr(a) !== null) || (c.endpoint !== undefined && !isEndpoint(c.endpoint))) b.unbatchable.push(c);
        else {
          b.batched.push(c);
          sections.push(`[Peer]\nPublicKey = ${c.publicKey}\nAllowedIPs = ${c.allowedIps.join(', ')}\n${c.endpoint !== undefined ? `Endpoint = ${c.endpoint}\n` : ''}`);
        }
        break;
      case 'route.replace':
        if (parseCidr(c.dst) === null) b.unbatchable.push(c);
        else {
          b.batched.push(c);
          lines.push(`route replace ${c.dst} dev ${ifname} proto ${ROUTE_PROTO}\n`);
        }
        break;
    }
  }
  b.peersConf = sections.join('\n');
  for (let i = 0; i < lines.length; i += linesPerScript) b.routeScripts.push(lines.slice(i, i + linesPerScript).join(''));
  return b;
}

/** An endpoint as `wg show … dump` prints one and `wg set … endpoint` takes it: IPv4:port or [IPv6]:port. */
export function isEndpoint(s: string): boolean {
  const m = /^(?:(\d{1,3}(?:\.\d{1,3}){3})|\[([0-9a-fA-F:.]+)\]):(\d{1,5})$/.exec(s);
  if (!m) return false;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return false;
  return m[1] === undefined || m[1].split('.').every((o) => Number(o) <= 255);
}

/** The same change (kind and key; a set's allowed-ips may differ): how a batched change is found in the plan that follows it. */
export function changeKey(c: Change): string {
  return c.kind === 'peer.remove' || c.kind === 'peer.set' ? `${c.kind} ${c.publicKey}` : `${c.kind} ${c.dst}`;
}
