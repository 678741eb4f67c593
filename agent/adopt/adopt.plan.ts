// Adoption (pure): what a new agent process keeps of the data plane it finds (a restart, a crash, an upgrade), and
// what it must change to reach the desired state, without tearing anything down.
//
// The data plane (WireGuard interface and peer, the steering table, per-uplink addresses, routes and rules, radio
// associations) lives in the kernel and the radios; the agent is its control plane. A new process reads it
// (found.ts), computes here what to adopt and the few idempotent actions that reconcile it, and hands them on.
// Level-triggered: the plan depends only on the facts found and the config, never on what the old process meant.
import type { Lease } from '../drivers/dhcp/udhcpc.js';
import type { FoundSteer, SteerTarget } from '../drivers/nft/steer.js';
import { uplinkMark, uplinkTable } from '../drivers/routing/uplink.routing.js';

export interface FoundPeer {
  publicKey: string;
  endpoint: string | null;
  allowedIps: string[];
}

export interface FoundUplink {
  /** IPv4 addresses on the interface. */
  addrs: Array<{ local: string; prefixlen: number }>;
  /** The default route of the uplink's own table: its gateway, device and source (null: none). */
  tableDefault: { gateway?: string; dev?: string; prefsrc?: string } | null;
  /** Wi-Fi: what wpa_supplicant says of the association (null: no radio, or it did not answer). */
  radio: { state: string; ssid?: string; bssid?: string } | null;
}

/** Everything a new agent process finds (found.ts reads it). */
export interface FoundDataPlane {
  /** The WireGuard interface (null: none), its fwmark and its peers. */
  wg: { fwmark: number | null; peers: FoundPeer[] } | null;
  /** The steering table (null: none). */
  steer: FoundSteer | null;
  uplinks: Record<string, FoundUplink>;
}

/** What the config wants (the parts adoption compares). */
export interface DesiredDataPlane {
  wgMark: number;
  endpoint: { address: string; port: number };
  peer: { publicKey: string; allowedIps: string[]; endpoint: string };
  uplinks: Array<{ name: string; slot: number; kind: string }>;
}

export type AdoptAction =
  /** The steering table is missing or not ours as written: write it whole, with this target (null: no steering). */
  | { do: 'steer.init'; target: SteerTarget | null }
  /** The table is ours but matches another mark or endpoint (a changed config): rewrite its rule, same target. */
  | { do: 'steer.set'; target: SteerTarget }
  /** The peer is missing or differs: set it (same public key: WireGuard keeps its session). */
  | { do: 'peer.set' }
  /** A peer the config no longer names (another concentrator key): remove it. */
  | { do: 'peer.remove'; publicKey: string };

export interface AdoptPlan {
  /** The uplink that carries the tunnel as found: the arbiter starts with it active, without a switch. */
  active: string | null;
  /** The uplink the found steering rule sends the tunnel to, adoptable or not (a switch's intent is settled by it). */
  steered: string | null;
  /** The peer is in place as the config wants it (once `actions` ran): the first steering need not set it. */
  peerConfigured: boolean;
  /** Per uplink: the lease found on it (address, prefix, gateway) and the AP its radio is on. */
  uplinks: Record<string, { lease: Lease | null; ap: { ssid: string; bssid: string } | null }>;
  actions: AdoptAction[];
  /** One line each on what was adopted or set aside, for the log. */
  notes: string[];
}

const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && [...a].sort().join() === [...b].sort().join();

/** The lease an uplink holds as found: its address, with the gateway of its own table's default route from it. */
export function foundLease(u: FoundUplink | undefined, name: string): Lease | null {
  const d = u?.tableDefault;
  if (!u || !d?.gateway || (d.dev !== undefined && d.dev !== name)) return null;
  const a = (d.prefsrc ? u.addrs.find((x) => x.local === d.prefsrc) : undefined) ?? (u.addrs.length === 1 ? u.addrs[0] : undefined);
  return a ? { address: a.local, prefix: a.prefixlen, router: d.gateway, leaseSeconds: 0 } : null;
}

export function planAdoption(found: FoundDataPlane, want: DesiredDataPlane): AdoptPlan {
  const notes: string[] = [];
  const actions: AdoptAction[] = [];
  const uplinks: AdoptPlan['uplinks'] = {};
  for (const u of want.uplinks) {
    const f = found.uplinks[u.name];
    const lease = foundLease(f, u.name);
    const r = f?.radio;
    const ap = r && r.state === 'COMPLETED' && r.bssid && r.ssid !== undefined ? { ssid: r.ssid, bssid: r.bssid.toLowerCase() } : null;
    uplinks[u.name] = { lease, ap };
    if (lease || ap) notes.push(`${u.name}: adopted${lease ? ` ${lease.address}/${lease.prefix} via ${lease.router} (table ${uplinkTable(u)})` : ''}${ap ? ` on ${ap.ssid} ${ap.bssid}` : ''}`);
  }

  // The peer: kept when it is the config's, with its allowed IPs; set (in place) when it differs; others removed.
  const peers = found.wg?.peers ?? [];
  const mine = peers.find((p) => p.publicKey === want.peer.publicKey);
  for (const p of peers) {
    if (p.publicKey !== want.peer.publicKey) {
      actions.push({ do: 'peer.remove', publicKey: p.publicKey });
      notes.push(`peer ${p.publicKey.slice(0, 8)}… is not the config's concentrator: removed`);
    }
  }
  const peerOk = !!mine && mine.endpoint !== null && sameSet(mine.allowedIps, want.peer.allowedIps);
  if (mine && !peerOk) {
    actions.push({ do: 'peer.set' });
    notes.push('peer: allowed IPs or endpoint differ from the config: set in place (the session is kept)');
  }
  const wgOk = found.wg !== null && found.wg.fwmark === want.wgMark;

  // The steering target: the uplink whose mark it sets, if that uplink still holds the address it rewrites to.
  const rule = found.steer?.rule ?? null;
  let active: string | null = null;
  let steered: string | null = null;
  if (rule) {
    const u = want.uplinks.find((x) => uplinkMark(want.wgMark, x) === rule.target.mark);
    steered = u?.name ?? null;
    const lease = u ? uplinks[u.name]!.lease : null;
    if (!u) notes.push(`steering mark 0x${rule.target.mark.toString(16)} is no configured uplink's: not adopted`);
    else if (!lease || lease.address !== rule.target.address) notes.push(`steering to ${u.name} (${rule.target.address}), which no longer holds that address: not adopted`);
    else if (!wgOk) notes.push(`steering to ${u.name}, but the tunnel interface is ${found.wg ? 'on another fwmark' : 'gone'}: not adopted`);
    else if (!mine) notes.push(`steering to ${u.name}, but the concentrator's peer is gone: not adopted`);
    else active = u.name;
  }

  if (!found.steer || !found.steer.hooked) {
    // No table, or a chain that is not ours as written: write it whole. An adopted target is kept (never null first).
    actions.unshift({ do: 'steer.init', target: active && rule ? rule.target : null });
    if (found.steer) notes.push('steering table not as this agent writes it: rewritten');
  } else if (active && rule && (rule.wgMark !== want.wgMark || rule.endpoint.address !== want.endpoint.address || rule.endpoint.port !== want.endpoint.port)) {
    actions.unshift({ do: 'steer.set', target: rule.target });
    notes.push('steering rule matches another mark or endpoint than the config: rewritten to the same uplink');
  }
  // A table whose rule is not adoptable is left as it is: packets keep their path until the arbiter steers.
  if (active) notes.push(`${active} carries the tunnel: adopted as active`);
  return { active, steered, peerConfigured: peerOk || (!!mine && actions.some((a) => a.do === 'peer.set')), uplinks, actions, notes };
}
