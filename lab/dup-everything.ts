// The duplicate-everything baseline (what engarde does: every outer WireGuard packet on every uplink, always), run for
// real in the lab's vehicle namespace with nftables `dup`, for bench/handover to measure beside roamlink's redundancy.
// A baseline of the lab, not a feature of the agent: the agent runs as configured (its own copies off) and knows
// nothing of this table.
//
//   output hook, after the agent's steering (its `type route` chain at priority mangle):
//     a packet to HQ's WireGuard leaving through uplink D  ─▶  for every other uplink U with a lease:
//         source set to U's address, marked as a copy, `dup to <U's gateway> device U`
//     then the packet itself, its mark and source as they were (D's address), goes on through D.
//     A copy passes the output hook again (sent by `dup`, which never duplicates a duplicate): it is counted per
//     uplink and let go.
//
// The uplinks' addresses and gateways are read from the vehicle's routes (each uplink's default route, via its DHCP
// router, source its lease: agent/drivers/routing) and the rules re-rendered whenever `ip monitor route` reports a
// change, so the copies follow DHCP as the agent's own steering does.
import { Proc } from './procs.js';
import { run as defaultRun, type Runner } from '../shared/exec.js';
import { countersByPrefix, nftApply, nftCommandsScript, nftRemoveScript, nftTableName, nftTableScript, type NftTable } from '../shared/nft.js';

export const DUP_TABLE: NftTable = { family: 'ip', name: 'roamlink_dup' };
const T = nftTableName(DUP_TABLE);
/** The mark bit a copy carries in the vehicle's namespace (outside the agent's 0x52xx marks; cleared on the wire). */
export const COPY_BIT = 0x0010_0000;

export interface DupUplink {
  device: string;
  /** The uplink's own address (its lease): the copies' source through it. */
  address: string;
  /** Its DHCP router: where `dup` hands the copies. */
  gateway: string;
}

export interface DupSpec {
  /** HQ's WireGuard: the outer packets' destination. */
  endpoint: { address: string; port: number };
  /** Every uplink that can carry copies now (has a lease and a gateway), in a fixed order. */
  uplinks: readonly DupUplink[];
}

const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;
const q = (s: string) => `"${s}"`;
export const dupCounter = (device: string) => `dup_${device.replace(/[^A-Za-z0-9_]/g, '_')}`;

/** The table, created anew with a counter per uplink and no rules yet (pure). */
export function dupTableScript(devices: readonly string[]): string {
  return nftTableScript(DUP_TABLE, [
    ...devices.map((d) => `  counter ${dupCounter(d)} { }`),
    '  chain out {',
    '    type filter hook output priority mangle + 10; policy accept;',
    '  }',
  ]);
}

/** The chain's rules for `s` (pure): one rule counting each uplink's copies, one duplicating each uplink's packets. */
export function dupRules(s: DupSpec): string[] {
  const to = `ip daddr ${s.endpoint.address} udp dport ${s.endpoint.port}`;
  const isCopy = `meta mark & ${hex(COPY_BIT)} == ${hex(COPY_BIT)}`;
  const rules: string[] = [];
  for (const u of s.uplinks) rules.push(`${isCopy} oifname ${q(u.device)} ${to} counter name ${q(dupCounter(u.device))} accept`);
  rules.push(`${isCopy} accept`);
  for (const from of s.uplinks) {
    const others = s.uplinks.filter((u) => u.device !== from.device);
    if (!others.length) continue;
    const copies = others.map((u) => `ip saddr set ${u.address} dup to ${u.gateway} device ${q(u.device)}`).join(' ');
    rules.push(
      `oifname ${q(from.device)} ${to} meta mark set meta mark or ${hex(COPY_BIT)} ${copies} ` +
        `meta mark set meta mark and ${hex(~COPY_BIT >>> 0)} ip saddr set ${from.address}`,
    );
  }
  return rules;
}

/** The rules replaced in one transaction (pure): a packet sees the old set or the new one. */
export function dupUpdateScript(s: DupSpec): string {
  return nftCommandsScript([`flush chain ${T} out`, ...dupRules(s).map((r) => `add rule ${T} out ${r}`)]);
}

/**
 * The uplinks that can carry copies, from `ip -j -4 route show table all` (pure): each named device's default route
 * with a gateway and a source (the agent's per-uplink table holds one once the uplink has a lease). In `devices`' order.
 */
export function parseUplinkRoutes(json: string, devices: readonly string[]): DupUplink[] {
  const routes = JSON.parse(json) as Array<{ dst?: string; dev?: string; gateway?: string; prefsrc?: string }>;
  if (!Array.isArray(routes)) throw new Error('ip -j route: not an array');
  const out: DupUplink[] = [];
  for (const device of devices) {
    const r = routes.find((x) => x.dst === 'default' && x.dev === device && x.gateway && x.prefsrc);
    if (r) out.push({ device, address: r.prefsrc!, gateway: r.gateway! });
  }
  return out;
}

/** The copies' counters (`nft -j list counters table ip roamlink_dup`): packets and bytes per uplink (pure). */
export function parseDupCounters(json: string): Record<string, { packets: number; bytes: number }> {
  return countersByPrefix(json, 'dup_');
}

export interface DupEverything {
  /** Resolves once the table holds the rules for the uplinks as they were at start. */
  ready: Promise<void>;
  /** The spec last applied (which uplinks carry copies) and how many times the rules were rendered. */
  current(): { spec: DupSpec | null; renders: number };
  /** Reads the routes now and re-renders if they changed (the monitor does this on every route change). */
  refresh(): Promise<void>;
  counters(): Promise<Record<string, { packets: number; bytes: number }>>;
  /** Stops following the routes and deletes the table. */
  stop(): Promise<void>;
}

/**
 * Starts the baseline in `netns`: the table created, the rules rendered from the routes now, and again on every
 * change `ip monitor route` reports (changes that arrive while rules are being applied are coalesced into one more pass).
 */
export function startDupEverything(o: { netns: string; endpoint: DupSpec['endpoint']; devices: readonly string[]; run?: Runner; onRender?: (s: DupSpec) => void; onError?: (err: unknown) => void }): DupEverything {
  const run = o.run ?? defaultRun;
  let spec: DupSpec | null = null;
  let renders = 0;
  let stopped = false;
  let busy: Promise<void> | null = null;
  let again = false;
  const key = (s: DupSpec) => JSON.stringify(s.uplinks);

  const pass = async (): Promise<void> => {
    const r = await run(['ip', '-j', '-4', 'route', 'show', 'table', 'all'], { netns: o.netns });
    const next: DupSpec = { endpoint: o.endpoint, uplinks: parseUplinkRoutes(r.stdout, o.devices) };
    if (stopped || (spec && key(spec) === key(next))) return;
    await nftApply(dupUpdateScript(next), { run, netns: o.netns });
    spec = next;
    renders++;
    o.onRender?.(next);
  };
  const refresh = (): Promise<void> => {
    if (busy) {
      again = true;
      return busy;
    }
    busy = (async () => {
      try {
        do {
          again = false;
          await pass();
        } while (again && !stopped);
      } finally {
        busy = null;
      }
    })();
    return busy;
  };

  const monitor = new Proc('dup-monitor', ['ip', 'monitor', 'route'], {
    netns: o.netns,
    onStdoutLine: () => void made.then(refresh).catch((err) => o.onError?.(err)),
  });
  const made = nftApply(dupTableScript(o.devices), { run, netns: o.netns });
  const ready = made.then(refresh);

  return {
    ready,
    current: () => ({ spec, renders }),
    refresh: () => made.then(refresh),
    async counters() {
      const r = await run(['nft', '-j', 'list', 'counters', 'table', DUP_TABLE.family, DUP_TABLE.name], { netns: o.netns, allowFail: true });
      return r.exitCode === 0 ? parseDupCounters(r.stdout) : {};
    },
    async stop() {
      stopped = true;
      await monitor.stop();
      await busy?.catch(() => {});
      await nftApply(nftRemoveScript(DUP_TABLE), { run, netns: o.netns, allowFail: true });
    },
  };
}
