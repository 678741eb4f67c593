// Per-uplink policy routing: each uplink has its own table, reached by its source address or its mark; the tunnel
// table follows the active uplink. Desired state is computed purely; apply() makes it so, idempotently.
import type { Ip, RouteSpec, RuleSpec } from '../../../shared/ip.js';
import type { Lease } from '../dhcp/udhcpc.js';

export const TUNNEL_TABLE = 100;
/** Rule priorities: by source address, then by mark; both before the main table (32766). */
const PRIO_FROM = 1000;
const PRIO_MARK = 1100;
const PRIO_TUNNEL = 1200;

export interface UplinkSlot {
  name: string;
  /** 1-based position among the uplinks: gives the table and the mark. */
  slot: number;
}

export function uplinkTable(u: UplinkSlot): number {
  return TUNNEL_TABLE + u.slot;
}

export function uplinkMark(wgMark: number, u: UplinkSlot): number {
  return wgMark + u.slot;
}

function networkOf(address: string, prefix: number): string {
  const n = address.split('.').reduce((acc, o) => (acc << 8) + Number(o), 0) >>> 0;
  const mask = prefix === 0 ? 0 : (0xffff_ffff << (32 - prefix)) >>> 0;
  const net = (n & mask) >>> 0;
  return `${[24, 16, 8, 0].map((s) => (net >>> s) & 255).join('.')}/${prefix}`;
}

export interface UplinkRouting {
  table: number;
  routes: RouteSpec[];
  rules: RuleSpec[];
}

/** What an addressed uplink needs: its connected network and default route in its table, and two rules. */
export function desiredUplinkRouting(u: UplinkSlot, wgMark: number, lease: Lease): UplinkRouting {
  const table = uplinkTable(u);
  return {
    table,
    routes: [
      { dst: networkOf(lease.address, lease.prefix), dev: u.name, src: lease.address, table },
      { dst: 'default', via: lease.router, dev: u.name, src: lease.address, table, onlink: true },
    ],
    rules: [
      { priority: PRIO_FROM + u.slot, from: `${lease.address}/32`, table },
      { priority: PRIO_MARK + u.slot, fwmark: uplinkMark(wgMark, u), table },
    ],
  };
}

/** WireGuard's own route lookup (before steering re-marks the packet) uses the tunnel table. */
export function tunnelRule(wgMark: number): RuleSpec {
  return { priority: PRIO_TUNNEL, fwmark: wgMark, table: TUNNEL_TABLE };
}

export interface RoutingDriver {
  apply(u: UplinkSlot, lease: Lease, previous?: Lease): Promise<void>;
  clear(u: UplinkSlot, lease?: Lease): Promise<void>;
  /** Points the tunnel table's default route at this uplink. */
  setTunnelDefault(u: UplinkSlot, lease: Lease): Promise<void>;
  init(): Promise<void>;
  /** Removes the tunnel's rule and table (a stop for good; the uplinks' own are clear()'s). */
  down(): Promise<void>;
}

export function createRoutingDriver(ip: Ip, wgMark: number): RoutingDriver {
  return {
    async init() {
      await ip.ruleEnsure(tunnelRule(wgMark));
    },
    async down() {
      await ip.ruleDel(tunnelRule(wgMark));
      await ip.routeFlushTable(TUNNEL_TABLE);
    },
    async apply(u, lease, previous) {
      // Another address or prefix: `addr replace` would add a second address (the kernel keys them by both) and leave
      // the old connected route in the table, so the old lease goes first.
      if (previous && (previous.address !== lease.address || previous.prefix !== lease.prefix)) await this.clear(u, previous);
      await ip.addrReplace(u.name, `${lease.address}/${lease.prefix}`);
      // The kernel adds a connected route to main; keep it (probes to the gateway), add ours to the uplink table.
      const want = desiredUplinkRouting(u, wgMark, lease);
      for (const r of want.routes) await ip.routeReplace(r);
      for (const r of want.rules) await ip.ruleEnsure(r);
    },
    async clear(u, lease) {
      const table = uplinkTable(u);
      if (lease) {
        for (const r of desiredUplinkRouting(u, wgMark, lease).rules) await ip.ruleDel(r);
      }
      await ip.routeFlushTable(table);
      await ip.addrFlush(u.name);
    },
    async setTunnelDefault(u, lease) {
      await ip.routeReplace({ dst: 'default', via: lease.router, dev: u.name, src: lease.address, table: TUNNEL_TABLE, onlink: true });
    },
  };
}
