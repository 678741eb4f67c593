// One uplink's lifecycle: radio (scan, pick, associate), carrier, address (DHCP or static per connect-list entry), its
// own routing, probes of the concentrator through its own path, and its signal. It reports a status to its parent (the
// arbiter) on every change; it never decides which uplink is active — the arbiter tells it its role.
//
//   radio (Wi-Fi):  scanning ─▶ choosing ─▶ associating ─▶ idle ─(scan interval)─▶ scanning   (disconnecting when refused)
//   link:           down ─(carrier)─▶ up: addressing ─▶ configuring ─▶ probing ⟲ (sending ─▶ waiting)
//   signal:         idle ─(associated)─▶ watching (a signal poll every interval; the machine hears of changes)
//                   (Wi-Fi; LTE: the modem's events)
// Roles (from the arbiter): active (probed every activeProbeIntervalMs, signal read often, holds its AP), standby
// (probed every probeIntervalMs; LTE within its daily probe budget), hold-down (failed: probed like a standby).
import { assign, enqueueActions, fromCallback, fromPromise, not, raise, setup, type EventObject } from 'xstate';
import { boundedSignal, clockOf, every } from './every.js';
import type { DhcpDriver, DhcpEvent, Lease } from '../drivers/dhcp/udhcpc.js';
import type { RoutingDriver, UplinkSlot } from '../drivers/routing/uplink.routing.js';
import type { RadioDriver, RadioEvent, ScanEntry } from '../drivers/radio.js';
import { budgetStatus, mayProbeOutOfPace, recordProbe, recordSpend, DEFAULT_BUDGET, type BudgetUsage, type ProbeBudget } from '../policy/budget.js';
import type { ProbeStats } from '../policy/choose.js';
import { identityMatches } from '../policy/connect-list.js';
import type { Addressing, ConnectList } from '../../shared/config/connect-list.js';
import { EMPTY_HISTORY, probeStatsOf, recordProbeResult, type ProbeHistory } from './probe.stats.js';
import { radioMove, type RadioRole } from './radio.choice.js';
import { signalFloor } from '../../shared/policy.js';

export type UplinkPhase = 'down' | 'addressing' | 'configuring' | 'probing' | 'ready';
export type UplinkRole = RadioRole;
/** Where a Wi-Fi radio is: looking, joining, or on an AP (idle between scans: `ap` says whether associated). */
export type RadioPhase = 'scanning' | 'associating' | 'idle';

/**
 * An uplink as others see it (the control API, the fleet link): a plain, serializable snapshot. The fields after `ap`
 * came with the policy (issue 3); they are optional here so older readers and fixtures keep working, and always set
 * in what the machine reports (UplinkReport).
 */
export interface UplinkStatus {
  name: string;
  slot: number;
  kind: 'wifi' | 'lte' | 'ethernet';
  phase: UplinkPhase;
  carrier: boolean;
  lease: Lease | null;
  /** Addressed, routed, and the last probe through its own path answered (fewer than maxMisses missed since). */
  ready: boolean;
  /** Smoothed probe RTT (ms). */
  rttMs: number | null;
  lastOkAt: number | null;
  /** Consecutive probes without an answer. */
  misses: number;
  /** Wi-Fi: the AP the radio is associated with (or asked to be), and the connect-list entry that allows it. */
  ap: { ssid: string; bssid: string; signal: number; entry?: number | null } | null;
  /** The lease is on the interface and its routing in place (what steering to it needs). */
  addressed?: boolean;
  /** RTT, loss over the last ~20 probes, last reply: what the policy reads. */
  probe?: ProbeStats;
  /** dBm: the associated AP's signal (Wi-Fi) or RSRP (LTE, from the modem); null when unknown. */
  signal?: number | null;
  /** The role the arbiter gave it. */
  role?: UplinkRole;
  /** Wi-Fi: where the radio is; null for other kinds. */
  radio?: RadioPhase | null;
  addressing?: Addressing['mode'];
}

/** What the uplink machine reports: every field set. */
export type UplinkReport = Required<UplinkStatus> & {
  ap: { ssid: string; bssid: string; signal: number; entry: number | null } | null;
  /** LTE: bytes left of today's lte_budget (standby probes and redundant copies spend it); absent for other kinds. */
  budgetLeft?: number;
};

export interface UplinkInput extends UplinkSlot {
  kind: UplinkStatus['kind'];
  /** Standby probe interval (LTE: the budget's pace when slower). */
  probeIntervalMs: number;
  probeTimeoutMs: number;
  /** Misses after which a ready uplink is no longer ready. */
  maxMisses: number;
  /** Wi-Fi: the connect-list, and how often a standby radio rescans. */
  connectList: ConnectList;
  scanIntervalMs: number;
  /** dBm: the policy's Wi-Fi floor under every connect-list entry's min_signal (shared/policy.ts); none when absent. */
  minSignal?: number;
  /** How often the active radio scans (it only moves for the reasons in radio.choice.ts). Default 10 × scanIntervalMs. */
  activeScanIntervalMs?: number;
  /** How often a standby radio's signal is polled (default 1000) and the active's (default 200). */
  signalIntervalMs?: number;
  activeSignalIntervalMs?: number;
  /** LTE standby probes: the daily byte budget (default 5 MB). */
  budget?: ProbeBudget;
  /** LTE: what the budget's day has spent so far (the agent keeps it on disk across restarts); default nothing. */
  budgetUsage?: BudgetUsage | null;
  /**
   * LTE whose data bearer a modem machine dials: re-addressing it is a redial of the bearer (deps.redial), whose drop
   * and return take the link's carrier down and up (NCM), and with it the lease. Without it, re-addressing is DHCP.
   */
  redial?: boolean;
  /**
   * What a new agent process found of this uplink (agent/adopt): the AP its radio is on and the lease on its interface.
   * The radio stays on that AP (no scan, no association first) and the lease is taken at once (then renewed by DHCP,
   * asking for the same address): an uplink that carried the tunnel before a restart is ready again within a probe.
   */
  adopted?: { lease: Lease | null; ap: { ssid: string; bssid: string } | null } | null;
}

export interface UplinkDeps {
  dhcp: DhcpDriver;
  routing: RoutingDriver;
  /** One probe from `address` through the uplink's own path; resolves with the RTT (ms). */
  probe: (ifname: string, address: string, signal: AbortSignal) => Promise<number>;
  /** Monotonic ms: probe times (the arbiter compares them with its own `now`). */
  now: () => number;
  /** Wall-clock ms, for the LTE budget's days (default: now). */
  wallNow?: () => number;
  /** The radio of a Wi-Fi uplink, by interface name (none for LTE and Ethernet). */
  radio: (ifname: string) => RadioDriver | null;
  /** LTE on standby: the budget's usage after each probe it paid for (the agent writes it to disk). */
  onBudget?: (uplink: string, usage: BudgetUsage) => void;
  /** Asks the modem to redial the data bearer of an uplink input with `redial` (the watchdog's cure for LTE). */
  redial?: (uplink: string, why: string) => void;
}

export type UplinkEvent =
  | { type: 'link.carrier'; up: boolean }
  /** BSSIDs this radio must leave to others (the active radio's AP, APs in hold-down). */
  | { type: 'radio.exclude'; bssids: string[] }
  /** The arbiter's role for this uplink, and (active) how often to probe it. */
  | { type: 'uplink.role'; role: UplinkRole; probeIntervalMs?: number }
  /** The signal from outside (the modem machine, for LTE): RSRP dBm. */
  | { type: 'uplink.signal'; dBm: number | null }
  /** Drop the address and get a new one (the watchdog's cure for bogus DNS); also when the AP's addressing changes.
   *  LTE with `redial`: the modem redials the bearer instead. */
  | { type: 'uplink.readdress'; why: string }
  /** The policy's part for uplinks (a site's profile, via the arbiter): probe and scan timing, the Wi-Fi floor. */
  | { type: 'uplink.policy'; probeIntervalMs: number; probeTimeoutMs: number; scanIntervalMs: number; minSignal: number }
  /** Probe now, out of the pace (the arbiter asks every standby at once when the active goes quiet); LTE on standby
   *  only when its budget allows (mayProbeOutOfPace: bytes left, and no other such ask within min_interval_ms). A probe already out is followed by another at once. */
  | { type: 'uplink.probe-now' }
  /** LTE: bytes it carried as redundant copies, spent from its lte_budget like its standby probes. */
  | { type: 'uplink.spent'; bytes: number }
  /** Internal: the role changed, so the waits timed for the old one start over. */
  | { type: 'uplink.retime' }
  /** A new connect-list (a config reload): the AP in use is matched against it again; radios choose by it from now on. */
  | { type: 'uplink.connect-list'; list: ConnectList }
  /** Internal: the associated radio's signal reading (signalWatch), when it changed. */
  | { type: 'radio.signal'; dBm: number | null }
  /** Internal: the answer to probe number `seq` (sendProbe): its RTT, or null when it failed. */
  | { type: 'probe.done'; seq: number; rtt: number | null }
  | RadioEvent
  | DhcpEvent;

interface Ctx extends UplinkInput {
  phase: UplinkPhase;
  carrier: boolean;
  lease: Lease | null;
  applied: Lease | null;
  ready: boolean;
  history: ProbeHistory;
  signal: number | null;
  role: UplinkRole;
  activeProbeIntervalMs: number;
  radioPhase: RadioPhase | null;
  ap: UplinkReport['ap'];
  scan: ScanEntry[];
  exclude: string[];
  /** The addressing the link region runs with (fixed on entering `up`). */
  addressing: Addressing;
  budgetUsage: BudgetUsage | null;
  /** The signal in the last report. */
  reported: number | null;
  /** The number of the probe in flight (probe.done answers carry it). */
  probeSeq: number;
  /** A lease found on the interface at start (adoption), taken by the first addressing; then null. */
  adoptLease: Lease | null;
  /** When the probe now out was sent (null: none out). */
  inFlightSince: number | null;
  /** A probe out of the pace was asked for and has not gone yet. */
  probeNow: boolean;
  /** LTE on standby: when (wall ms) the last probe out of the pace was granted (mayProbeOutOfPace); null: none yet. */
  askedAt: number | null;
}

/** The same address, prefix and gateway (the lease time aside). */
function sameLease(a: Lease | null, b: Lease | null): boolean {
  return !!a && !!b && a.address === b.address && a.prefix === b.prefix && a.router === b.router;
}

/** A probe's promise outlives its timeout by this much at most (its socket is then closed). */
const PROBE_GRACE_MS = 100;

/** The signal watcher tells the machine of an unchanged reading once in this many readings. */
const REPEAT_SIGNAL_EVERY = 25;

/** How often the radio's signal is read: the active's often (it decides switches), a standby's once a second. */
function signalIntervalOf(c: Ctx): number {
  return c.role === 'active' ? (c.activeSignalIntervalMs ?? 200) : (c.signalIntervalMs ?? 1000);
}

/** LTE signal changes smaller than this (dB) do not make a report of their own. */
export const LTE_SIGNAL_STEP_DB = 3;

export function statusOf(ctx: Ctx): UplinkReport {
  return {
    name: ctx.name, slot: ctx.slot, kind: ctx.kind, phase: ctx.phase, carrier: ctx.carrier, lease: ctx.lease,
    addressed: ctx.applied !== null && ctx.lease !== null && ctx.applied.address === ctx.lease.address && ctx.applied.prefix === ctx.lease.prefix && ctx.applied.router === ctx.lease.router,
    ready: ctx.ready, rttMs: ctx.history.srttMs, lastOkAt: ctx.history.lastOkAt, misses: ctx.history.misses,
    probe: { ...probeStatsOf(ctx.history), ...(ctx.inFlightSince !== null ? { in_flight_since: ctx.inFlightSince } : {}) }, signal: ctx.signal, role: ctx.role, radio: ctx.radioPhase, ap: ctx.ap,
    addressing: ctx.addressing.mode,
  };
}

/** The addressing for an AP: its connect-list entry's (DHCP when it has none, or for LTE). */
export function addressingFor(list: ConnectList, ap: UplinkStatus['ap']): Addressing {
  if (!ap || ap.entry === null || ap.entry === undefined) return { mode: 'dhcp' };
  return list[ap.entry]?.addressing ?? { mode: 'dhcp' };
}

/** A static address as a lease: `10.7.0.20/24` and its gateway. */
export function staticLease(a: Extract<Addressing, { mode: 'static' }>): Lease {
  const [address, prefix] = a.address.split('/') as [string, string];
  return { address, prefix: Number(prefix), router: a.gateway, leaseSeconds: 0 };
}

/** The connect-list as the radio applies it: each entry's min_signal raised to the policy's floor. */
export function flooredList(list: ConnectList, minSignal: number | undefined): ConnectList {
  if (minSignal === undefined || list.every((e) => e.min_signal >= minSignal)) return list;
  return list.map((e) => ({ ...e, min_signal: signalFloor(e.min_signal, { min_signal: minSignal }) }));
}

const moveOf = (c: Ctx) => radioMove({ scan: c.scan, list: flooredList(c.connectList, c.minSignal), exclude: c.exclude, current: c.ap?.bssid ?? null, role: c.role });

/** The connect-list entry of an AP found associated at start (no scan yet: its security is the entry's own). */
export function entryOfAdopted(list: ConnectList, ap: { ssid: string; bssid: string }): number | null {
  const i = list.findIndex((e) => identityMatches(e, { ssid: ap.ssid, bssid: ap.bssid, signal: -100, freq: 0, flags: e.security === 'psk' ? '[WPA2-PSK-CCMP]' : '[ESS]' }));
  return i < 0 ? null : i;
}

/** The entry of the AP in use in a (new) connect-list: by its last scan, else as found at start (no scan of it yet). */
export function entryNow(list: ConnectList, scan: readonly ScanEntry[], ap: { ssid: string; bssid: string }): number | null {
  const seen = scan.some((s) => s.bssid.toLowerCase() === ap.bssid.toLowerCase());
  return seen ? entryOf(list, scan, ap.bssid) : entryOfAdopted(list, ap);
}

/** The first connect-list entry whose identity matches an AP seen in a scan (null when unknown or unmatched). */
function entryOf(list: ConnectList, scan: readonly ScanEntry[], bssid: string): number | null {
  const seen = scan.find((s) => s.bssid.toLowerCase() === bssid.toLowerCase());
  if (!seen) return null;
  const i = list.findIndex((e) => identityMatches(e, seen));
  return i < 0 ? null : i;
}

export function createUplinkMachine(deps: UplinkDeps) {
  const wallNow = deps.wallNow ?? deps.now;
  const isLteStandby = (c: Ctx) => c.kind === 'lte' && c.role !== 'active';
  const budgetOf = (c: Ctx) => c.budget ?? DEFAULT_BUDGET;

  return setup({
    types: {
      context: {} as Ctx,
      events: {} as UplinkEvent,
      input: {} as UplinkInput,
    },
    actors: {
      // DHCP, or the connect-list entry's static address handed over as a lease at once.
      // An adopted lease is the machine's from the start; DHCP asks for the same address, and its start-up `deconfig`
      // (which says nothing of the lease the interface holds) is not a loss.
      address: fromCallback<DhcpEvent, { ifname: string; addressing: Addressing; adopt: Lease | null }>(({ sendBack, input }) => {
        if (input.addressing.mode === 'static') {
          sendBack({ type: 'dhcp.bound', lease: staticLease(input.addressing) });
          return undefined;
        }
        // The machine holds the adopted lease already (it starts in up.probing with it): nothing to announce.
        let adopting = input.adopt !== null;
        const ac = new AbortController();
        const onEvent = (ev: DhcpEvent) => {
          if (adopting && ev.type === 'dhcp.lost' && ev.why === 'deconfig') return;
          adopting = false;
          sendBack(ev);
        };
        deps.dhcp.run(input.ifname, onEvent, ac.signal, input.adopt ? { requestAddress: input.adopt.address } : undefined)
          .catch(() => sendBack({ type: 'dhcp.lost', why: 'client failed' }));
        return () => ac.abort();
      }),
      configure: fromPromise<void, { slot: UplinkSlot; lease: Lease; previous: Lease | null }>(async ({ input }) => {
        await deps.routing.apply(input.slot, input.lease, input.previous ?? undefined);
      }),
      radioEvents: fromCallback<RadioEvent, { ifname: string }>(({ sendBack, input }) => {
        const radio = deps.radio(input.ifname);
        return radio ? radio.onEvent((ev) => sendBack(ev)) : undefined;
      }),
      scan: fromPromise<ScanEntry[], { ifname: string }>(({ input, signal }) => deps.radio(input.ifname)!.scan(signal)),
      connect: fromPromise<void, { ifname: string; ssid: string; bssid: string; psk?: string }>(({ input, signal }) =>
        deps.radio(input.ifname)!.connect({ ssid: input.ssid, bssid: input.bssid, psk: input.psk }, signal)),
      disconnect: fromPromise<void, { ifname: string }>(({ input, signal }) => deps.radio(input.ifname)!.disconnect(signal)),
      // The associated radio's signal, read every intervalMs on the actor's clock; the machine hears of a reading when
      // it changed (and every REPEAT_SIGNAL_EVERY readings regardless, so a reading the machine dropped is not lost).
      signalWatch: fromCallback<EventObject, { ifname: string; intervalMs: number; timeoutMs: number }>(({ sendBack, input, self }) => {
        const radio = deps.radio(input.ifname);
        if (!radio) return undefined;
        const ac = new AbortController();
        let last: number | null | undefined;
        let unchanged = 0;
        const clock = clockOf(self);
        const stop = every(clock, input.intervalMs, async () => {
          const bounded = boundedSignal(input.timeoutMs, ac.signal, clock);
          const dBm = await radio.signalPoll(bounded.signal).finally(bounded.release);
          if (ac.signal.aborted || (dBm === last && ++unchanged < REPEAT_SIGNAL_EVERY)) return;
          last = dBm;
          unchanged = 0;
          sendBack({ type: 'radio.signal', dBm });
        });
        return () => {
          ac.abort();
          stop();
        };
      }),
    },
    delays: {
      probeInterval: ({ context }) => {
        if (context.role === 'active') return context.activeProbeIntervalMs;
        if (!isLteStandby(context)) return context.probeIntervalMs;
        // LTE on standby: the budget's pace (never faster than the standby interval).
        const wall = wallNow();
        const b = budgetStatus(context.budgetUsage, wall, budgetOf(context));
        return Math.max(context.probeIntervalMs, b.next_at - wall);
      },
      probeTimeout: ({ context }) => context.probeTimeoutMs,
      retry: 1000,
      scanInterval: ({ context }) => (context.role === 'active' ? (context.activeScanIntervalMs ?? 10 * context.scanIntervalMs) : context.scanIntervalMs),
      associateTimeout: 5000,
    },
    actions: {
      report: enqueueActions(({ context, enqueue }) => {
        const status = statusOf(context);
        if (context.kind === 'lte') status.budgetLeft = budgetStatus(context.budgetUsage, wallNow(), budgetOf(context)).remaining_bytes;
        enqueue.sendParent({ type: 'uplink.status', status });
        if (context.reported !== context.signal) enqueue.assign({ reported: context.signal });
      }),
      setRole: assign(({ context, event }) => {
        if (event.type !== 'uplink.role') return {};
        return { role: event.role, activeProbeIntervalMs: event.probeIntervalMs ?? context.activeProbeIntervalMs };
      }),
      spendBudget: assign({
        budgetUsage: ({ context }) => (isLteStandby(context) ? recordProbe(context.budgetUsage, budgetOf(context).probe_bytes, wallNow(), budgetOf(context)) : context.budgetUsage),
      }),
      tellCopies: ({ context }) => {
        if (context.budgetUsage) deps.onBudget?.(context.name, context.budgetUsage);
      },
      tellBudget: ({ context }) => {
        if (isLteStandby(context) && context.budgetUsage) deps.onBudget?.(context.name, context.budgetUsage);
      },
      redial: ({ context, event }) => {
        if (event.type === 'uplink.readdress') deps.redial?.(context.name, event.why);
      },
      // One probe through the uplink's own path, its answer sent back as probe.done with this probe's number (a late
      // answer to an earlier probe is told apart and dropped). A promise and an event, not an actor per probe.
      sendProbe: ({ context, self }) => {
        const seq = context.probeSeq;
        const { name, lease, probeTimeoutMs } = context;
        const bounded = boundedSignal(probeTimeoutMs + PROBE_GRACE_MS, undefined, clockOf(self));
        Promise.resolve().then(() => deps.probe(name, lease!.address, bounded.signal)).finally(bounded.release).then(
          (rtt) => self.send({ type: 'probe.done', seq, rtt }),
          () => self.send({ type: 'probe.done', seq, rtt: null }),
        );
      },
      probeOk: assign(({ context, event }) => {
        const rtt = (event as Extract<UplinkEvent, { type: 'probe.done' }>).rtt!;
        return { ready: true, history: recordProbeResult(context.history, rtt, deps.now()), phase: 'ready' as const, inFlightSince: null };
      }),
      probeMissed: assign(({ context }) => {
        const history = recordProbeResult(context.history, null, deps.now());
        const ready = context.ready && history.misses < context.maxMisses;
        return { history, ready, phase: ready ? ('ready' as const) : ('probing' as const), inFlightSince: null };
      }),
      // Asked for a probe out of the pace (the active too: the arbiter's fast check); LTE on standby within its budget.
      askProbe: assign(({ context }) => {
        if (!isLteStandby(context)) return { probeNow: true };
        const wall = wallNow();
        return mayProbeOutOfPace(context.budgetUsage, wall, budgetOf(context), context.askedAt) ? { probeNow: true, askedAt: wall } : {};
      }),
    },
    guards: {
      carrierUp: ({ event }) => event.type === 'link.carrier' && event.up,
      /** Adoption: the lease found on the interface (with its table's routes), held from the start. */
      holdsAdopted: ({ context }) => context.adoptLease !== null && sameLease(context.lease, context.adoptLease),
      /** The DHCP client's first lease after an adoption is the one found: nothing to re-apply (adopt.plan checked it). */
      adoptedAgain: ({ context, event }) => event.type === 'dhcp.bound' && context.adoptLease !== null && sameLease(event.lease, context.applied),
      carrierDown: ({ event }) => event.type === 'link.carrier' && !event.up,
      isWifi: ({ context }) => context.kind === 'wifi' && deps.radio(context.name) !== null,
      hasSignalPoll: ({ context }) => context.kind === 'wifi' && deps.radio(context.name) !== null,
      associated: ({ context }) => context.ap !== null,
      isActive: ({ context }) => context.role === 'active',
      redialsBearer: ({ context }) => context.kind === 'lte' && !!context.redial && !!deps.redial,
      moveAssociate: ({ context }) => moveOf(context).action === 'associate',
      moveDisconnect: ({ context }) => moveOf(context).action === 'disconnect',
      addressingChanged: ({ context }) => {
        const want = addressingFor(context.connectList, context.ap);
        return JSON.stringify(want) !== JSON.stringify(context.addressing);
      },
    },
  }).createMachine({
    id: 'uplink',
    context: ({ input }) => ({
      ...input, phase: 'down', carrier: false, lease: null, applied: null, ready: false, history: { ...EMPTY_HISTORY },
      signal: null, role: 'standby', activeProbeIntervalMs: 50, radioPhase: input.kind === 'wifi' ? 'scanning' : null, ap: null, scan: [], exclude: [],
      addressing: { mode: 'dhcp' }, budgetUsage: input.budgetUsage ?? null, reported: null, probeSeq: 0, inFlightSince: null, probeNow: false, askedAt: null,
      adoptLease: input.adopted?.lease ?? null,
      // An adopted lease is held as applied: the uplink starts probing on it, never down, addressing or configuring.
      ...(input.adopted?.lease ? { lease: input.adopted.lease, applied: input.adopted.lease, carrier: true, phase: 'probing' as const } : {}),
      ...(input.kind === 'wifi' && input.adopted?.ap ? { ap: { ...input.adopted.ap, signal: -100, entry: entryOfAdopted(input.connectList, input.adopted.ap) } } : {}),
      // The adopted AP's addressing from the start: the radio's first look must not find it changed (a readdress).
      ...(input.kind === 'wifi' && input.adopted?.ap ? { addressing: addressingFor(input.connectList, { ...input.adopted.ap, signal: -100, entry: entryOfAdopted(input.connectList, input.adopted.ap) }) } : {}),
    }),
    type: 'parallel',
    on: {
      'uplink.role': { actions: ['setRole', 'report', raise({ type: 'uplink.retime' })] },
      // LTE's redundant copies, spent from its budget (written to disk like its probes' spend) and reported; a standby's
      // probe wait is timed again by what is left (past the budget: none until the next day).
      'uplink.spent': {
        guard: ({ context, event }) => context.kind === 'lte' && event.bytes > 0,
        actions: [
          assign({ budgetUsage: ({ context, event }) => recordSpend(context.budgetUsage, event.bytes, wallNow(), budgetOf(context)) }), 'tellCopies', 'report',
          enqueueActions(({ context, enqueue }) => {
            if (context.role !== 'active') enqueue.raise({ type: 'uplink.retime' });
          }),
        ],
      },
      // New timing or floor: the waits start over with it (a radio on an AP now under the floor leaves it at its next scan).
      'uplink.policy': {
        guard: ({ context, event }) => context.probeIntervalMs !== event.probeIntervalMs || context.probeTimeoutMs !== event.probeTimeoutMs
          || context.scanIntervalMs !== event.scanIntervalMs || context.minSignal !== event.minSignal,
        actions: [
          assign(({ event }) => ({ probeIntervalMs: event.probeIntervalMs, probeTimeoutMs: event.probeTimeoutMs, scanIntervalMs: event.scanIntervalMs, minSignal: event.minSignal })),
          raise({ type: 'uplink.retime' }),
        ],
      },
      // A new connect-list: the AP in use gets its entry in it (its addressing is checked when the radio next idles,
      // and an AP no longer allowed is left at the next scan, as the radio's rules say); the waits start over.
      'uplink.connect-list': {
        actions: [
          assign(({ context, event }) => ({
            connectList: event.list,
            ap: context.ap ? { ...context.ap, entry: entryNow(event.list, context.scan, context.ap) } : null,
          })),
          'report',
          raise({ type: 'uplink.retime' }),
        ],
      },
      // The modem's reading (LTE). The policy never compares LTE's signal (it is for the why), and modems report it
      // often with a dB of jitter: a change of less than LTE_SIGNAL_STEP_DB is kept and goes with the next report.
      'uplink.signal': [
        {
          guard: ({ context, event }) => event.dBm !== context.signal && (context.kind !== 'lte' || event.dBm === null || context.reported === null || Math.abs(event.dBm - context.reported) >= LTE_SIGNAL_STEP_DB),
          actions: [assign({ signal: ({ event }) => event.dBm }), 'report'],
        },
        { actions: assign({ signal: ({ event }) => event.dBm }) },
      ],
    },
    states: {
      // Wi-Fi: keep the radio on the best allowed AP for its role (scan, pick, associate, rescan). Others: nothing to do.
      radio: {
        initial: 'start',
        states: {
          start: { always: [{ guard: 'isWifi', target: 'active' }, { target: 'none' }] },
          none: { type: 'final' },
          active: {
            invoke: { src: 'radioEvents', input: ({ context }) => ({ ifname: context.name }) },
            on: {
              // A disconnection from another AP than ours (the one being left for the AP we asked for) changes nothing.
              'radio.disconnected': {
                guard: ({ context, event }) => !event.bssid || !context.ap || event.bssid.toLowerCase() === context.ap.bssid.toLowerCase(),
                target: '.scanning',
                actions: [assign({ ap: null, signal: null }), 'report'],
              },
              // Told to leave its AP to another radio: look for another one now, not at the next scan.
              'radio.exclude': [
                {
                  guard: ({ context, event }) => context.role !== 'active' && !!context.ap && event.bssids.some((b) => b.toLowerCase() === context.ap!.bssid.toLowerCase())
                    && !context.exclude.includes(context.ap.bssid.toLowerCase()),
                  target: '.scanning',
                  actions: assign({ exclude: ({ event }) => event.bssids.map((b) => b.toLowerCase()) }),
                },
                { actions: assign({ exclude: ({ event }) => event.bssids.map((b) => b.toLowerCase()) }) },
              ],
              // wpa_supplicant (re)connected on its own, or where asked: adopt the AP it names.
              'radio.connected': {
                actions: enqueueActions(({ context, event, enqueue }) => {
                  const bssid = event.bssid.toLowerCase();
                  if (context.ap?.bssid.toLowerCase() === bssid) return;
                  const seen = context.scan.find((s) => s.bssid.toLowerCase() === bssid);
                  enqueue.assign({
                    ap: { ssid: event.ssid ?? seen?.ssid ?? '', bssid, signal: seen?.signal ?? -100, entry: entryOf(context.connectList, context.scan, bssid) },
                    signal: seen?.signal ?? null,
                  });
                  enqueue('report');
                }),
              },
            },
            initial: 'entering',
            states: {
              // On an AP found at start (adoption): stay on it, and scan at the next interval as ever.
              entering: { always: [{ guard: 'associated', target: 'idle' }, { target: 'scanning' }] },
              scanning: {
                entry: assign({ radioPhase: 'scanning' }),
                invoke: {
                  src: 'scan',
                  input: ({ context }) => ({ ifname: context.name }),
                  onDone: {
                    target: 'choosing',
                    actions: assign(({ context, event }) => {
                      const scan = event.output;
                      // The scan's reading of the current AP is a signal sample too.
                      const mine = context.ap ? scan.find((s) => s.bssid.toLowerCase() === context.ap!.bssid.toLowerCase()) : undefined;
                      return { scan, ...(mine && context.ap ? { ap: { ...context.ap, signal: mine.signal }, signal: mine.signal } : {}) };
                    }),
                  },
                  onError: { target: 'idle' },
                },
              },
              choosing: {
                always: [
                  {
                    guard: 'moveAssociate',
                    target: 'associating',
                    actions: [
                      assign({
                        ap: ({ context }) => {
                          const m = moveOf(context);
                          if (m.action !== 'associate') return context.ap;
                          return { ssid: m.pick.ap.ssid, bssid: m.pick.ap.bssid.toLowerCase(), signal: m.pick.ap.signal, entry: m.pick.index };
                        },
                      }),
                      // The scan's reading stands for the signal until the first poll (a null would rank the radio
                      // below LTE at the initial choice).
                      assign({ signal: ({ context }) => context.ap?.signal ?? null }),
                      'report',
                    ],
                  },
                  { guard: 'moveDisconnect', target: 'disconnecting' },
                  { target: 'idle' },
                ],
              },
              associating: {
                entry: assign({ radioPhase: 'associating' }),
                invoke: {
                  src: 'connect',
                  input: ({ context }) => {
                    const entry = context.ap!.entry !== null ? context.connectList[context.ap!.entry] : undefined;
                    return { ifname: context.name, ssid: context.ap!.ssid, bssid: context.ap!.bssid, psk: entry?.psk };
                  },
                  onError: { target: 'idle', actions: [assign({ ap: null }), 'report'] },
                },
                on: { 'radio.connected': { target: 'idle' } },
                after: { associateTimeout: { target: 'idle', actions: [assign({ ap: null }), 'report'] } },
              },
              disconnecting: {
                invoke: {
                  src: 'disconnect',
                  input: ({ context }) => ({ ifname: context.name }),
                  onDone: { target: 'idle', actions: [assign({ ap: null, signal: null }), 'report'] },
                  onError: { target: 'idle' },
                },
              },
              idle: {
                entry: [
                  assign({ radioPhase: 'idle' }),
                  'report',
                  // A new AP may come with another addressing (a static entry): the link region starts over.
                  enqueueActions(({ check, enqueue }) => {
                    if (check('addressingChanged')) enqueue.raise({ type: 'uplink.readdress', why: 'the AP in use has other addressing' });
                  }),
                ],
                after: { scanInterval: 'scanning' },
                on: { 'uplink.retime': { target: 'idle', reenter: true } },
              },
            },
          },
        },
      },
      link: {
        initial: 'entering',
        states: {
          // A restart (adoption): an uplink whose lease was found starts on it, probing; the link monitor's first
          // reading takes it down if its carrier is gone after all.
          entering: { always: [{ guard: 'holdsAdopted', target: 'up.probing', actions: 'report' }, { target: 'down' }] },
          down: {
            entry: [assign({ ready: false, carrier: false, phase: 'down' }), 'report'],
            on: { 'link.carrier': { guard: 'carrierUp', target: 'up', actions: assign({ carrier: true }) } },
          },
          up: {
            entry: assign({ addressing: ({ context }) => addressingFor(context.connectList, context.ap) }),
            invoke: { src: 'address', input: ({ context }) => ({ ifname: context.name, addressing: context.addressing, adopt: context.adoptLease }) },
            on: {
              'link.carrier': { guard: 'carrierDown', target: 'down', actions: assign({ adoptLease: null }) },
              'dhcp.bound': [
                { guard: 'adoptedAgain', actions: assign({ lease: ({ event }) => event.lease, adoptLease: null }) },
                { target: '.configuring', actions: assign({ lease: ({ event }) => event.lease, adoptLease: null }) },
              ],
              'dhcp.lost': { target: '.addressing', actions: assign({ lease: null, ready: false }) },
              'uplink.readdress': [
                // LTE with a modem: a new bearer brings the new address (the lease follows the carrier's drop and return).
                { guard: 'redialsBearer', actions: 'redial' },
                { target: 'up', reenter: true, actions: assign({ lease: null, ready: false }) },
              ],
            },
            initial: 'addressing',
            states: {
              addressing: { entry: [assign({ phase: 'addressing' }), 'report'] },
              configuring: {
                entry: [assign({ phase: 'configuring' }), 'report'],
                invoke: {
                  src: 'configure',
                  input: ({ context }) => ({ slot: context, lease: context.lease!, previous: context.applied }),
                  onDone: { target: 'probing', actions: [assign({ applied: ({ context }) => context.lease, phase: ({ context }) => (context.ready ? 'ready' : 'probing') }), 'report'] },
                  onError: { target: 'configureFailed' },
                },
              },
              configureFailed: { after: { retry: 'configuring' } },
              probing: {
                initial: 'sending',
                states: {
                  sending: {
                    entry: [
                      'spendBudget', 'tellBudget',
                      // A probe asked for out of the pace is told at once: the arbiter waits for its outcome (far end).
                      enqueueActions(({ context, enqueue }) => {
                        enqueue.assign({ probeSeq: context.probeSeq + 1, inFlightSince: deps.now(), probeNow: false });
                        if (context.probeNow) enqueue('report');
                      }),
                      'sendProbe',
                    ],
                    // Left with the probe out (the link went down, the address changed): it is no longer evidence to come.
                    exit: assign({ inFlightSince: null }),
                    on: {
                      // A probe is out already: the arbiter is told (its outcome is evidence to wait for), another follows.
                      'uplink.probe-now': { actions: ['askProbe', 'report'] },
                      // An answer to an earlier probe (given up at its timeout) is dropped.
                      'probe.done': {
                        guard: ({ context, event }) => event.seq === context.probeSeq,
                        target: 'waiting',
                        actions: [enqueueActions(({ event, enqueue }) => enqueue(event.rtt !== null ? 'probeOk' : 'probeMissed')), 'report'],
                      },
                    },
                    after: { probeTimeout: { target: 'waiting', actions: ['probeMissed', 'report'] } },
                  },
                  waiting: {
                    always: { guard: ({ context }) => context.probeNow, target: 'sending' },
                    on: {
                      // The active is probed at once, at its faster pace; other role changes re-time the wait.
                      'uplink.retime': [{ guard: 'isActive', target: 'sending' }, { target: 'waiting', reenter: true }],
                      'uplink.probe-now': { actions: 'askProbe' },
                    },
                    after: { probeInterval: 'sending' },
                  },
                },
              },
            },
          },
        },
      },
      signal: {
        initial: 'start',
        states: {
          start: { always: [{ guard: 'hasSignalPoll', target: 'idle' }, { target: 'external' }] },
          // LTE: the modem machine sends uplink.signal (handled at the root).
          external: {},
          idle: { always: { guard: 'associated', target: 'watching' } },
          watching: {
            always: { guard: not('associated'), target: 'idle' },
            invoke: {
              src: 'signalWatch',
              input: ({ context }) => ({ ifname: context.name, intervalMs: signalIntervalOf(context), timeoutMs: 1000 }),
            },
            on: {
              'uplink.retime': { target: 'watching', reenter: true },
              'radio.signal': {
                actions: enqueueActions(({ context, event, enqueue }) => {
                  const dBm = event.dBm;
                  // SIGNAL_POLL fails (null) while the radio joins the AP: the scan's reading stands until a real one
                  // (a null here ranked the stronger radio below LTE and the weaker one at the initial choice). A lost
                  // AP is the disconnection event's to report, which clears the signal.
                  if (dBm === null && context.ap !== null) return;
                  if (dBm === context.signal) return;
                  enqueue.assign({ signal: dBm, ...(dBm !== null && context.ap ? { ap: { ...context.ap, signal: dBm } } : {}) });
                  enqueue('report');
                }),
              },
            },
          },
        },
      },
    },
  });
}
