// The duplicate-everything baseline's HQ side (engarde's server: each reply sent to every address the client was seen
// from), run for real in the lab's HQ namespace with nftables, beside lab/dup-everything.ts (the vehicle's side).
// A baseline of the lab, not a feature of the concentrator: HQ's WireGuard and daemon run as always.
//
//   input, after HQ's firewall:   a packet to HQ's WireGuard port from its WAN device
//       ─▶ its source (the vehicle's uplink as a NAT made it: address . port) refreshed in the set `seen` (3 s timeout)
//   output:                       a packet from HQ's WireGuard port leaving through the WAN device, to endpoint E
//       ─▶ for every other endpoint S in `seen`: marked with S's slot, `dup to <S's next hop> device <WAN>`; the mark
//          cleared, the packet itself goes on to E.
//       A copy passes the output hook again (sent by `dup`, which never duplicates a duplicate): its destination set
//       to S (address and port, checksums updated by nft), counted per endpoint, and let go; the NAT in front of that
//       uplink takes it back to the vehicle as the answer to the vehicle's own packets through it.
//
// Why nftables rather than a userspace relay (engarde's server is one): no process on the packets' path (no added
// delay, no socket buffer, no CPU per packet beside the lab's), HQ's WireGuard keeps its own socket and sees the
// vehicle's real endpoints, and the copies are counted by the kernel like the vehicle side's. What nft cannot do is
// loop over a set, so the endpoints are learned by the kernel (a dynamic set) and read by a poll here (nft sends no
// event for an element the packet path adds), which renders one rule per endpoint when the set changes.
// One vehicle: the lab's HQ serves one, and the set holds every source of its WireGuard port (nft cannot see which
// peer a packet authenticates as).
import { run as defaultRun, type Runner } from '../shared/exec.js';
import { countersByPrefix, nftApply, nftCommandsScript, nftRemoveScript, nftTableName, nftTableScript, type NftTable } from '../shared/nft.js';

export const DOWN_TABLE: NftTable = { family: 'ip', name: 'roamlink_dupdown' };
const T = nftTableName(DOWN_TABLE);
/** The mark bits a copy's slot (which endpoint it is for) takes in HQ's namespace; the marks end at the namespace. */
export const SLOT_SHIFT = 20;
export const SLOT_MASK = 0x0ff0_0000;
/** At most this many endpoints get copies (slots 1..MAX): more would be a fleet, not one vehicle. */
export const MAX_ENDPOINTS = 16;
/** An endpoint not heard from for this long gets no more copies (engarde forgets a client's address after a timeout). */
export const SEEN_TIMEOUT_S = 3;

export interface DownEndpoint {
  address: string;
  port: number;
  /** Where `dup` hands the copy: HQ's route to the endpoint (its gateway, or the endpoint itself on the link). */
  nextHop: string;
}

export interface DownSpec {
  /** HQ's WireGuard listen port: the outer packets' source port (and the port the vehicle sends to). */
  port: number;
  /** HQ's WAN device. */
  device: string;
  /** The endpoints seen recently, in a fixed order (address, then port). */
  endpoints: readonly DownEndpoint[];
}

const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;
const q = (s: string) => `"${s}"`;
const slot = (i: number) => (i + 1) << SLOT_SHIFT;
export const downCounter = (e: { address: string; port: number }) => `down_${e.address.replace(/\./g, '_')}_${e.port}`;

/** The table, created anew: the learning rule, and an output chain with no rules yet (pure). */
export function dupDownTableScript(o: { port: number; device: string }): string {
  return nftTableScript(DOWN_TABLE, [
    `  set seen { type ipv4_addr . inet_service; flags dynamic, timeout; timeout ${SEEN_TIMEOUT_S}s; }`,
    '  chain in {',
    '    type filter hook input priority filter + 10; policy accept;',
    `    iifname ${q(o.device)} udp dport ${o.port} update @seen { ip saddr . udp sport }`,
    '  }',
    '  chain out {',
    '    type filter hook output priority mangle + 10; policy accept;',
    '  }',
  ]);
}

/** The output chain's rules for `s` (pure): each endpoint's copy addressed and counted, then each endpoint's dup. */
export function dupDownRules(s: DownSpec): string[] {
  const eps = s.endpoints.slice(0, MAX_ENDPOINTS);
  const rules: string[] = [];
  eps.forEach((e, i) => rules.push(
    `meta mark & ${hex(SLOT_MASK)} == ${hex(slot(i))} ip daddr set ${e.address} udp dport set ${e.port} counter name ${q(downCounter(e))} accept`,
  ));
  // A copy whose slot the rules no longer hold (rendered anew between its dup and its pass): not sent anywhere else.
  rules.push(`meta mark & ${hex(SLOT_MASK)} != 0 drop`);
  const outer = `oifname ${q(s.device)} udp sport ${s.port}`;
  eps.forEach((e, i) => rules.push(
    `${outer} ip daddr . udp dport != { ${e.address} . ${e.port} } meta mark set meta mark or ${hex(slot(i))} ` +
      `dup to ${e.nextHop} device ${q(s.device)} meta mark set meta mark and ${hex(~SLOT_MASK >>> 0)}`,
  ));
  return rules;
}

/** The rules replaced in one transaction, each endpoint's counter made if new (pure). */
export function dupDownUpdateScript(s: DownSpec): string {
  return nftCommandsScript([
    ...s.endpoints.slice(0, MAX_ENDPOINTS).map((e) => `add counter ${T} ${downCounter(e)}`),
    `flush chain ${T} out`,
    ...dupDownRules(s).map((r) => `add rule ${T} out ${r}`),
  ]);
}

/** The endpoints in the set `seen` (`nft -j list set ip roamlink_dupdown seen`), sorted (pure). */
export function parseSeen(json: string): Array<{ address: string; port: number }> {
  const doc = JSON.parse(json) as { nftables?: Array<{ set?: { name?: string; elem?: unknown[] } }> };
  if (!Array.isArray(doc.nftables)) throw new Error('nft -j: no "nftables" array');
  const set = doc.nftables.find((o) => o.set?.name === 'seen')?.set;
  const out: Array<{ address: string; port: number }> = [];
  for (const el of set?.elem ?? []) {
    // With a timeout each element is { elem: { val: { concat: [...] }, expires } }; without, { concat: [...] }.
    const v = (el as { elem?: { val?: unknown } }).elem?.val ?? el;
    const c = (v as { concat?: unknown[] }).concat;
    if (!Array.isArray(c) || typeof c[0] !== 'string' || typeof c[1] !== 'number') continue;
    out.push({ address: c[0], port: c[1] });
  }
  const key = (e: { address: string; port: number }) => `${e.address.split('.').map((x) => x.padStart(3, '0')).join('.')}:${String(e.port).padStart(5, '0')}`;
  return out.sort((a, b) => key(a).localeCompare(key(b)));
}

/** The copies' counters (`nft -j list counters table ip roamlink_dupdown`): packets and bytes per endpoint name (pure). */
export function parseDownCounters(json: string): Record<string, { packets: number; bytes: number }> {
  return countersByPrefix(json, 'down_');
}

export interface DupDown {
  /** Resolves once the table is in place (the endpoints are learned from the vehicle's next packets). */
  ready: Promise<void>;
  /** The spec last applied and how many times the rules were rendered. */
  current(): { spec: DownSpec | null; renders: number };
  /** Reads the set now and re-renders if the endpoints changed (the poll does this every pollMs). */
  refresh(): Promise<void>;
  counters(): Promise<Record<string, { packets: number; bytes: number }>>;
  /** Stops the poll and deletes the table. */
  stop(): Promise<void>;
}

/**
 * Starts HQ's side in `netns`: the table created, then the set read every `pollMs` (default 200: a new path's first
 * packets at HQ get copies within that) and the rules rendered whenever its endpoints change.
 */
export function startDupDown(o: { netns: string; port: number; device: string; pollMs?: number; run?: Runner; onRender?: (s: DownSpec) => void; onError?: (err: unknown) => void }): DupDown {
  const run = o.run ?? defaultRun;
  const pollMs = o.pollMs ?? 200;
  let spec: DownSpec | null = null;
  let renders = 0;
  let stopped = false;
  let busy: Promise<void> | null = null;
  const hops = new Map<string, string>();
  const key = (s: DownSpec) => JSON.stringify(s.endpoints);

  const nextHop = async (address: string): Promise<string> => {
    const known = hops.get(address);
    if (known) return known;
    const r = await run(['ip', '-j', 'route', 'get', address], { netns: o.netns });
    const route = (JSON.parse(r.stdout) as Array<{ gateway?: string }>)[0];
    const hop = route?.gateway ?? address;
    hops.set(address, hop);
    return hop;
  };
  const pass = async (): Promise<void> => {
    const r = await run(['nft', '-j', 'list', 'set', DOWN_TABLE.family, DOWN_TABLE.name, 'seen'], { netns: o.netns });
    const seen = parseSeen(r.stdout);
    const endpoints: DownEndpoint[] = [];
    for (const e of seen) endpoints.push({ ...e, nextHop: await nextHop(e.address) });
    const next: DownSpec = { port: o.port, device: o.device, endpoints };
    if (stopped || (spec && key(spec) === key(next))) return;
    await nftApply(dupDownUpdateScript(next), { run, netns: o.netns });
    spec = next;
    renders++;
    o.onRender?.(next);
  };
  const refresh = (): Promise<void> => {
    busy ??= pass().finally(() => {
      busy = null;
    });
    return busy;
  };

  const made = nftApply(dupDownTableScript(o), { run, netns: o.netns });
  const ready = made.then(refresh);
  // The poll: one `nft -j list set` per tick, a tick skipped while a pass is under way; ends with stop().
  const timer = setInterval(() => {
    if (!stopped && !busy) void made.then(refresh).catch((err) => o.onError?.(err));
  }, pollMs);
  timer.unref();

  return {
    ready,
    current: () => ({ spec, renders }),
    refresh: () => made.then(refresh),
    async counters() {
      const r = await run(['nft', '-j', 'list', 'counters', 'table', DOWN_TABLE.family, DOWN_TABLE.name], { netns: o.netns, allowFail: true });
      return r.exitCode === 0 ? parseDownCounters(r.stdout) : {};
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await busy?.catch(() => {});
      await made.catch(() => {});
      await nftApply(nftRemoveScript(DOWN_TABLE), { run, netns: o.netns, allowFail: true });
    },
  };
}
