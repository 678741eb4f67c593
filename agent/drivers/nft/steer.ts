// Steering the tunnel's outer packets onto one uplink: an nftables table of our own, replaced in one transaction.
//
// Why a `type route` output chain (design.md §3): wireguard-go answers from the address and interface where the
// peer's last packet arrived (sticky sockets), so replacing a route does not move it. Re-marking the outer packets
// in a route chain forces the kernel to route them again (that re-route ignores the sticky interface), and a
// stateless source rewrite gives them the new uplink's address. The kernel module's outer packets pass the same
// hook, so one mechanism serves both implementations.
import { run as defaultRun, type Runner, type Started, type Starter } from '../../../shared/exec.js';
import { countersByPrefix, nftApply, nftCommandsScript, nftRemoveScript, nftTableName, nftTableScript, type NftTable } from '../../../shared/nft.js';

export const NFT_TABLE = 'roamlink';
const TABLE: NftTable = { family: 'ip', name: NFT_TABLE };
const T = nftTableName(TABLE);

export interface SteerTarget {
  /** Mark that selects the uplink's routing table. */
  mark: number;
  /** The uplink's own address: the outer packets' new source. */
  address: string;
}

/** Where copies of the outer packets go too (redundancy): a standby's address, gateway and interface. */
export interface CopyTarget {
  /** The standby's own mark: the copy, sent again through the output hook by `dup`, no longer matches the steering
   *  rule (which would turn it into a second packet on the active path) and routes by the standby's table. */
  mark: number;
  address: string;
  gateway: string;
  device: string;
}

export interface SteerSpec {
  /** The mark WireGuard gives its outer packets. */
  wgMark: number;
  /** The concentrator's outer address and port. */
  endpoint: { address: string; port: number };
  /** null: no uplink carries the tunnel (packets follow WireGuard's own routing). */
  target: SteerTarget | null;
  /** Copies of each outer packet, with this source, sent to this gateway through this interface (nft `dup`): the
   *  concentrator's WireGuard takes the first copy to arrive and drops the other by its replay window. */
  copy?: CopyTarget | null;
}

const hex = (n: number) => `0x${n.toString(16)}`;

function steerRule(s: SteerSpec): string | null {
  if (!s.target) return null;
  // The copy first: its source set, duplicated out of the standby's interface, then the packet itself steered.
  const copy = s.copy ? `meta mark set ${hex(s.copy.mark)} ip saddr set ${s.copy.address} counter name "${copyCounter(s.copy.device)}" dup to ${s.copy.gateway} device "${s.copy.device}" ` : '';
  return `meta mark ${hex(s.wgMark)} ip daddr ${s.endpoint.address} udp dport ${s.endpoint.port} ` +
    `${copy}meta mark set ${hex(s.target.mark)} ip saddr set ${s.target.address}`;
}

/** The whole table, created anew: used once at start (the delete makes it idempotent). */
export function steerTableScript(s: SteerSpec): string {
  const rule = steerRule(s);
  return nftTableScript(TABLE, [
    '  chain steer {',
    '    type route hook output priority mangle; policy accept;',
    ...(rule ? [`    ${rule}`] : []),
    '  }',
  ]);
}

/** The named counter of the copies sent through an uplink (packets and bytes; kept across rule replacements). */
export function copyCounter(device: string): string {
  return `copies_${device.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

/** A switch: the chain's one rule replaced atomically (flush and add in one transaction). */
export function steerSwitchScript(s: SteerSpec): string {
  const rule = steerRule(s);
  const counter = s.copy && rule ? [`add counter ${T} ${copyCounter(s.copy.device)}`] : [];
  return nftCommandsScript([...counter, `flush chain ${T} steer`, ...(rule ? [`add rule ${T} steer ${rule}`] : [])]);
}

/** The copies' counters as `nft -j list counters table ip roamlink` prints them: bytes per uplink (pure). */
export function parseCopyCounters(json: string): Record<string, { packets: number; bytes: number }> {
  return countersByPrefix(json, 'copies_');
}

/** The steering table as found (`nft -j list table ip roamlink`): null when there is none. */
export interface FoundSteer {
  /** The chain hooks route output (ours, as steerTableScript makes it). */
  hooked: boolean;
  /** The one steering rule's match and target; null when the chain has no rule (or one this agent did not write). */
  rule: { wgMark: number; endpoint: { address: string; port: number }; target: SteerTarget } | null;
}

type NftObj = Record<string, Record<string, unknown>>;
/** What a match compares or a mangle sets: a meta key or a payload field. */
type NftSel = { meta?: { key?: string }; payload?: { protocol?: string; field?: string } };
type NftExpr = { match?: { left?: NftSel; right?: unknown }; mangle?: { key?: NftSel; value?: unknown } };
const str = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : null);
const num = (v: unknown) => (typeof v === 'number' ? v : typeof v === 'string' && /^(0x[0-9a-f]+|\d+)$/i.test(v) ? Number(v) : null);

/** Parses `nft -j list table ip roamlink` (pure). Throws on text that is not nft's JSON. */
export function parseSteerTable(json: string): FoundSteer {
  const doc = JSON.parse(json) as { nftables?: NftObj[] };
  if (!Array.isArray(doc.nftables)) throw new Error('nft -j: no "nftables" array');
  const chain = doc.nftables.find((o) => o.chain?.name === 'steer')?.chain;
  const hooked = !!chain && chain.type === 'route' && chain.hook === 'output';
  const rules = doc.nftables.filter((o) => o.rule?.chain === 'steer').map((o) => o.rule!);
  if (rules.length !== 1) return { hooked, rule: null };
  let wgMark: number | null = null, address: string | null = null, port: number | null = null, mark: number | null = null, saddr: string | null = null;
  for (const e of (rules[0]!.expr ?? []) as NftExpr[]) {
    if (e.match) {
      const l = e.match.left;
      if (l?.meta?.key === 'mark') wgMark = num(e.match.right);
      else if (l?.payload?.protocol === 'ip' && l.payload.field === 'daddr') address = str(e.match.right);
      else if (l?.payload?.protocol === 'udp' && l.payload.field === 'dport') port = num(e.match.right);
    } else if (e.mangle) {
      const k = e.mangle.key;
      if (k?.meta?.key === 'mark') mark = num(e.mangle.value);
      else if (k?.payload?.protocol === 'ip' && k.payload.field === 'saddr') saddr = str(e.mangle.value);
    }
  }
  if (wgMark === null || address === null || port === null || mark === null || saddr === null) return { hooked, rule: null };
  return { hooked, rule: { wgMark, endpoint: { address, port }, target: { mark, address: saddr } } };
}

export interface SteerDriver {
  /** The table as it is (null: none), for a new agent process to adopt. */
  read(signal?: AbortSignal): Promise<FoundSteer | null>;
  /** Creates (or re-creates) the table with this steering. */
  init(s: SteerSpec, signal?: AbortSignal): Promise<void>;
  /** Moves the outer packets; may be called repeatedly with the same spec. */
  steer(s: SteerSpec, signal?: AbortSignal): Promise<void>;
  /** Removes the table (a spare nft ends with it). */
  remove(signal?: AbortSignal): Promise<void>;
  /** Ends the spare nft, if one waits (the agent stopping); the table stays. */
  close(): void;
  /** The copies' counters (packets and bytes per uplink, by copyCounter's name); {} when there is no table. */
  copyCounters(signal?: AbortSignal): Promise<Record<string, { packets: number; bytes: number }>>;
}

/**
 * The driver. With `start`, a switch's nft is started before it is needed: once the table exists, one `nft -f -` waits
 * for its script (a spare, started again after each use), so a switch costs nft's parse and commit, not a process's
 * start (2026-12-04, lab at load 3.5: decision to the steering in place 43-63 ms with an nft started then; in a quiet
 * namespace 18.5 ms started then, 5.7 ms given to one waiting). A spare that died is not used: nft is started then, as
 * without `start`. An unused spare changes nothing (nft acts at the end of its input; it is killed, or its input ends
 * empty when the agent dies).
 */
export function createSteerDriver(netns?: string, run: Runner = defaultRun, start?: Starter): SteerDriver {
  const nft = (script: string, signal?: AbortSignal, allowFail = false) => nftApply(script, { run, ...(netns ? { netns } : {}), ...(signal ? { signal } : {}), allowFail });
  let spare: Started | null = null;
  const warm = () => {
    if (start && !spare) spare = start(['nft', '-f', '-'], netns ? { netns } : {});
  };
  const close = () => {
    spare?.cancel();
    spare = null;
  };
  return {
    async read(signal) {
      const r = await run(['nft', '-j', 'list', 'table', TABLE.family, TABLE.name], { netns, signal, allowFail: true });
      if (r.exitCode !== 0) return null;
      return parseSteerTable(r.stdout);
    },
    async init(s, signal) {
      await nft(steerTableScript(s), signal);
      warm();
    },
    async steer(s, signal) {
      const script = steerSwitchScript(s);
      const ready = spare?.ready() ? spare : null;
      if (!ready) close();
      spare = null;
      try {
        if (ready) await ready.give(script, signal ? { signal } : {});
        else await nft(script, signal);
      } finally {
        if (!signal?.aborted) warm();
      }
    },
    async remove(signal) {
      close();
      await nft(nftRemoveScript(TABLE), signal, true);
    },
    close,
    async copyCounters(signal) {
      const r = await run(['nft', '-j', 'list', 'counters', 'table', 'ip', NFT_TABLE], { netns, signal, allowFail: true });
      return r.exitCode === 0 ? parseCopyCounters(r.stdout) : {};
    },
  };
}
