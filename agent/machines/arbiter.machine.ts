// The arbiter: owns which uplink carries the tunnel, decides with the policy, and runs the make-before-break switch.
//
// starting ─▶ settling ─▶ switching ─▶ steady ⇄ switching            switching: steering ─▶ confirming ─▶ draining
// Decisions are chooseUplink(snapshot, policy, now) (agent/policy/choose.ts), taken on every uplink status, every
// carrier event (a lost carrier goes straight from the netlink event to the decision and the steering), and every
// reading of the tunnel's counters that brings news (read every counterIntervalMs; a silence at every reading, a steady
// tunnel once a heartbeat: watchCounters). The switch: steering moves WireGuard's outer
// packets to the new uplink (already addressed and probed through its own path); confirming waits for the first reply
// through the tunnel on the new path; draining leaves the old uplink untouched while packets in flight arrive. The
// arbiter tells each uplink its role (active, standby, hold-down), the active's probe pace, and each radio which APs
// to leave to the others. It re-steers, without a switch, when the active uplink's address changes.
import { assign, emit, enqueueActions, fromCallback, fromPromise, setup, type AnyStateMachine, type EventObject } from 'xstate';
import { chooseUplink, EMPTY_MEMORY, rxBefore, type ArbiterMemory, type Copying, type Decision, type OtherHqAsk, type Why } from '../policy/choose.js';
import { DEFAULT_POLICY, type Policy } from '../policy/policy.js';
import type { ConnectList } from '../../shared/config/connect-list.js';
import { chooseRedundancy, NO_REDUNDANCY, type RedundancyMemory } from '../policy/redundancy.js';
import type { UplinkInput, UplinkReport, UplinkStatus } from './uplink.machine.js';
import type { WatchdogConfig, WatchdogRoundEvent } from './watchdog.machine.js';
import { COUNTER_INTERVAL_MS, decisionClock, isBusy, isRxFlowing, NO_TUNNEL, NO_WATCH, rolesFor, rxLapseAt, snapshotOf, standbysToAsk, tunnelAsOf, watchCounters, type CounterWatch, type SwitchReason, type TunnelSeen } from './arbiter.decide.js';
import { boundedSignal, clockOf, every } from './every.js';

export type { SwitchReason };

export interface SwitchCandidate {
  name: string;
  kind?: UplinkReport['kind'];
  phase: string;
  ready: boolean;
  rttMs: number | null;
  misses: number;
  carrier: boolean;
  /** dBm (Wi-Fi RSSI, LTE RSRP), probe loss (0..1) and the issue's state name, as the decision saw them. */
  signal?: number | null;
  loss?: number;
  state?: string;
  /** Wi-Fi: the AP it was on. */
  ap?: { ssid: string; bssid: string } | null;
}

export interface SwitchRecord {
  id: string;
  from: string | null;
  to: string;
  /** The rule that fired (choose.ts's Rule, or `watchdog`). */
  reason: SwitchReason;
  /** Wall-clock ms (deps.wallNow: the system clock, as the lab's meters read it; it steps with NTP). */
  decided_at: number;
  /** The same moment on the monotonic clock (deps.now): what HQ corrects a stepped wall clock by. */
  decided_mono?: number;
  steered_at: number;
  confirmed_at: number | null;
  /** Decision to first reply on the new path. */
  ms_to_first_packet: number | null;
  /** Every uplink as the decision saw it (taken when the switch was decided, not when it was confirmed). */
  candidates: SwitchCandidate[];
  /** The thresholds that applied to the decision. */
  policy?: Policy;
  /** The decision's why: the rule, a line for people, every candidate's signal, RTT, loss. */
  why?: Why;
  /** The site the vehicle was at (null until sites are matched). */
  site?: string | null;
  /** An operator asked for it (`roamlink switch`). */
  operator?: boolean;
}

export interface ArbiterDeps {
  /**
   * Steers the tunnel's outer packets onto this uplink. For a switch, `intent` is its record as decided (confirmed_at
   * null): journaled before the steering, so that a process killed before the confirmation leaves it for the next one
   * (absent for a re-steering, which is no switch).
   */
  steer: (to: UplinkStatus, signal: AbortSignal, intent?: SwitchRecord) => Promise<void>;
  /** Housekeeping once the new path carries the tunnel (off the critical path). */
  afterSwitch: (to: UplinkStatus, signal: AbortSignal) => Promise<void>;
  /** One probe through the tunnel; resolves with the RTT. */
  tunnelProbe: (signal: AbortSignal) => Promise<number>;
  /** Carrier changes of every link, until the signal aborts. */
  watchLinks: (onChange: (ifname: string, up: boolean) => void, signal: AbortSignal) => Promise<void>;
  /** The tunnel interface's packet counters, read synchronously (sysfs: microseconds); throws when unreadable. */
  readCounters: () => { rx: number; tx: number };
  /** Monotonic ms: decisions (the same clock as the uplinks' probe times). */
  now: () => number;
  /** Wall ms, for the records' stamps only (never a duration: it steps with NTP). */
  wallNow: () => number;
  newId: () => string;
  /**
   * Two HQs: one witness ask of the other HQ's probe echo from `bindAddress` (the active's own address, so through its
   * path); resolves with the RTT, rejects on abort (the probe timeout). Absent with one HQ: nothing is asked.
   */
  askOtherHq?: (bindAddress: string, signal: AbortSignal) => Promise<number>;
}

export interface ArbiterInput {
  uplinks: string[];
  initial?: string;
  /** After the first uplink is ready, how long to wait for the others before choosing where to start. */
  settleMs: number;
  drainMs: number;
  confirmTimeoutMs: number;
  confirmRetryMs: number;
  /** After a failed steering, how long before the arbiter decides on its own again (default 1000). */
  steerRetryMs?: number;
  /** The thresholds (default: DEFAULT_POLICY); a site's profile replaces them with policy.set. */
  policy?: Policy;
  site?: string | null;
  /** The active's probe interval while tunnel packets come back (default: the policy's probe_interval_ms, the standby pace). */
  restProbeMs?: number;
  /** How often the tunnel's counters are read (default COUNTER_INTERVAL_MS, 10). */
  counterIntervalMs?: number;
  /** The longest the arbiter goes without hearing of the counters while they move steadily (default 250): the
   *  decision tick of a steady tunnel. Silences are reported at every reading. */
  counterHeartbeatMs?: number;
  /** The slower checker beyond the concentrator; none when absent. */
  watchdog?: WatchdogConfig | null;
  /**
   * The uplink found carrying the tunnel at start (agent/adopt: a restart, a crash, an upgrade) and the source address
   * the steering gives it. The arbiter starts with it active, without a switch, and decides as ever once it is ready
   * (or after adoptMs, default settleMs + confirmTimeoutMs, if it is not).
   */
  adopted?: { uplink: string; address: string } | null;
  adoptMs?: number;
}

export type ArbiterEvent =
  | { type: 'uplink.status'; status: UplinkReport }
  | { type: 'link.changed'; ifname: string; up: boolean }
  | { type: 'operator.switch'; to: string }
  | { type: 'tunnel.counters'; seen: TunnelSeen }
  /** A signal reading from outside (the modem machine), forwarded to that uplink. */
  | { type: 'uplink.signal'; uplink: string; dBm: number | null }
  /** LTE's redundant copies since the last such event (the copies' nft counter), forwarded to that uplink's budget. */
  | { type: 'uplink.spent'; uplink: string; bytes: number }
  /** New thresholds (a site's profile) and the site they come from. */
  | { type: 'policy.set'; policy: Policy; site: string | null }
  /** A new connect-list (a config reload), forwarded to every uplink. */
  | { type: 'connect-list.set'; list: ConnectList }
  /** Decide again with no new fact: the fast check's active probe has been out its deadline (standbysToAsk), or a
   *  silence reaches its dead limit (a decision's wakeAt). */
  | { type: 'arbiter.recheck' }
  /** The other HQ's answer to the witness ask sent at `sent_at` through the active (true), or its timeout (false). */
  | { type: 'hq.witness'; sent_at: number; answered: boolean }
  | WatchdogRoundEvent;

export type ArbiterEmitted =
  | { type: 'switch.done'; record: SwitchRecord }
  | { type: 'switch.refused'; to: string; why: string }
  /** The active uplink's address changed: the tunnel's outer packets now leave from the new one (no switch). */
  | { type: 'tunnel.resteered'; uplink: string; from: string | null; to: string }
  | { type: 'watchdog.round'; round: WatchdogRoundEvent }
  | { type: 'watchdog.acted'; uplink: string; action: 'switch' | 'readdress'; why: string }
  /** Copies of the outer packets now go through `via` (null: no more copies); the composition root steers them. */
  | {
      type: 'redundancy.changed'; via: UplinkStatus | null; why: string;
      /** The copies end because the tunnel is being steered onto their path: the steering's own rule ends them, in the
       *  same nft transaction. Ended apart first, the packets would go, for as long as that nft call takes, only through
       *  the failing active (2026-12-03, lab at load 14: 72 lost in a 530 ms gap). */
      bySwitch?: string;
    };

interface Pending {
  /** The switch's id, from the decision on: its intent and its completion are one record. */
  id: string;
  from: string | null;
  to: string;
  reason: SwitchReason;
  decidedAt: number;
  decidedMono: number;
  steeredAt: number | null;
  why: Why;
  operator: boolean;
  /** The uplink to re-address once the switch has drained (the watchdog's cure). */
  readdress: string | null;
  /** What the decision saw: every uplink, the site and the thresholds, as they were when it was decided. */
  candidates: SwitchCandidate[];
  site: string | null;
  policy: Policy;
}

type SwitchDecision = Extract<Decision, { action: 'switch' }> & { operator?: boolean; reason?: SwitchReason; readdress?: string | null };

interface Ctx extends ArbiterInput {
  status: Record<string, UplinkReport>;
  active: string | null;
  /** When the active took the tunnel (monotonic). */
  activeSince: number | null;
  pending: Pending | null;
  /** A steering just failed: no decision of the arbiter's own until steerRetry has passed (operators may still switch). */
  coolingDown: boolean;
  policy: Policy;
  site: string | null;
  memory: ArbiterMemory;
  /** Uplinks not to be taken before these times (monotonic), and their APs (radios avoid them meanwhile). */
  holdDown: Record<string, number>;
  heldAps: Record<string, number>;
  forced: { to: string; at: number } | null;
  tunnel: TunnelSeen;
  /** Where the outer packets were last steered: the uplink and the source address. */
  steered: { uplink: string; address: string } | null;
  /** A switch decided and not yet begun. */
  decision: SwitchDecision | null;
  /** The last role message sent to each uplink (only changes are sent). */
  told: Record<string, string>;
  /** The active's last sign of life about which the others were last asked to probe at once (standbysToAsk). */
  askedFor: number | null;
  /** The same, for the active's own probe of the fast check. */
  askedActiveFor: number | null;
  /** The redundancy decision's memory (agent/policy/redundancy.ts), and the copies as asked for: through which
   *  standby, since when. */
  redundancy: RedundancyMemory;
  copying: Copying | null;
  /** When the arbiter is to decide again with no new fact (a decision's wakeAt: the active's silence past its dead
   *  limit; or the tunnel's replies no longer proving the active, rxLapseAt), as scheduled (the delayed 'arbiter.recheck' with id DEAD_LIMIT); null when none is. */
  wakeAt: number | null;
  /** The other HQ asked through the active during its latest silence (two HQs), and its answer so far. */
  otherHq: OtherHqAsk | null;
}

/** The id of the delayed recheck at the dead limit (one at a time: a new wakeAt replaces it). */
const DEAD_LIMIT = 'dead-limit';

function candidatesOf(status: Record<string, UplinkReport>, why: Why | null): SwitchCandidate[] {
  const byName = new Map((why?.candidates ?? []).map((c) => [c.name, c]));
  return Object.values(status).map(({ name, kind, phase, ready, rttMs, misses, carrier, signal, probe, ap }) => {
    const c = byName.get(name);
    return {
      name, kind, phase, ready: c?.ready ?? ready, rttMs: c ? c.rtt_ms : rttMs, misses, carrier: c?.carrier ?? carrier, signal: c ? c.signal : signal,
      loss: c?.loss ?? probe.loss, state: c?.state ?? phase, ap: ap ? { ssid: ap.ssid, bssid: ap.bssid } : null,
    };
  });
}

/**
 * The tunnel's counters, read every intervalMs on the actor's clock (the simulated one in tests); the arbiter hears of
 * a reading when watchCounters says it must. A reading is a sysfs read and a comparison: at 20-40 readings a second, a
 * transition per reading, or an arbiter decision per reading, would be most of the agent's CPU.
 */
function counterReader(read: ArbiterDeps['readCounters'], now: () => number) {
  return fromCallback<EventObject, { intervalMs: number; heartbeatMs: number }>(({ sendBack, input, self }) => {
    let watch: CounterWatch = NO_WATCH;
    return every(clockOf(self), input.intervalMs, () => {
      let c: { rx: number; tx: number } | null;
      try {
        c = read();
      } catch {
        c = null;
      }
      const r = watchCounters(watch, c, now(), input.intervalMs, input.heartbeatMs);
      watch = r.watch;
      if (r.tell) sendBack({ type: 'tunnel.counters', seen: watch.seen });
    });
  });
}

/**
 * What the rest of the agent may read of the arbiter (the control socket, the modem, the fleet link, the tunnel keeper,
 * the logs): one view, computed from a snapshot, instead of casts of its context.
 */
export interface ArbiterView {
  /** The machine's state (e.g. 'steady', { switching: 'confirming' }). */
  state: unknown;
  active: string | null;
  /** Every uplink as last reported (by name). */
  status: Record<string, UplinkReport>;
  /** The switch under way, if any. */
  pending: { id: string; from: string | null; to: string; operator: boolean } | null;
  holdDown: Record<string, number>;
  policy: Policy;
  site: string | null;
  /** The standby the outer packets are copied through (redundancy), null when none. */
  copying?: string | null;
  /** Packets from the concentrator through the tunnel: when they last came, and whether they still come (the arbiter
   *  is told of counter readings when that changes; tunnelAsOf). The HQ failover (agent/start/hq.start.ts) reads it. */
  tunnelRx?: { at: number | null; moving: boolean };
}

/** The arbiter's view from any actor of its machine (typed loosely so that callers holding an Actor<AnyStateMachine> need no cast). */
export function arbiterView(arbiter: { getSnapshot(): { value: unknown; context: unknown } }): ArbiterView {
  const snap = arbiter.getSnapshot();
  const c = snap.context as Ctx;
  const p = c.pending;
  return {
    state: snap.value, active: c.active, status: c.status, pending: p ? { id: p.id, from: p.from, to: p.to, operator: p.operator } : null,
    holdDown: c.holdDown, policy: c.policy, site: c.site, copying: c.copying?.via ?? null,
    tunnelRx: { at: c.tunnel.last_rx_at, moving: c.tunnel.rx_moving },
  };
}

/** The tunnel the arbiter runs on: its active uplink and that uplink's address (null: none active, or it has no lease). */
export function runningTunnelOf(v: Pick<ArbiterView, 'active' | 'status'>): { uplink: string; address: string } | null {
  const lease = v.active ? v.status[v.active]?.lease : null;
  return v.active && lease ? { uplink: v.active, address: lease.address } : null;
}

/** A switch's record: as decided (confirmed null: its intent), or as it ended (confirmed, or timed out unconfirmed). */
function recordOf(p: Pending, confirmed: { wall: number; mono: number } | null): SwitchRecord {
  return {
    id: p.id, from: p.from, to: p.to, reason: p.reason,
    decided_at: p.decidedAt, decided_mono: p.decidedMono, steered_at: p.steeredAt ?? p.decidedAt, confirmed_at: confirmed?.wall ?? null,
    ms_to_first_packet: confirmed === null ? null : Math.round((confirmed.mono - p.decidedMono) * 100) / 100,
    candidates: p.candidates, why: p.why, site: p.site, policy: p.policy, operator: p.operator,
  };
}

/** Stands in for the watchdog actor when none is configured (never invoked then). */
const NO_WATCHDOG = setup({}).createMachine({ id: 'no-watchdog' });

export function createArbiterMachine(deps: ArbiterDeps, uplinkMachine: AnyStateMachine, uplinkInputs: UplinkInput[], watchdogMachine?: AnyStateMachine) {
  const interval = (c: Ctx) => c.counterIntervalMs ?? COUNTER_INTERVAL_MS;
  const heartbeat = (c: Ctx) => c.counterHeartbeatMs ?? 250;
  const clock = (c: Ctx) => decisionClock(deps.now(), c.tunnel, interval(c), heartbeat(c));
  const snapshot = (c: Ctx, now: number, over: Partial<{ active: string | null; status: Record<string, UplinkReport> }> = {}) =>
    snapshotOf({
      uplinks: Object.values(over.status ?? c.status), active: over.active !== undefined ? over.active : c.active, activeSince: c.activeSince,
      tunnel: tunnelAsOf(c.tunnel, now, interval(c)), forced: c.forced, memory: c.memory, holdDown: c.holdDown, policy: c.policy, now,
      copying: c.copying, otherHq: c.otherHq,
    });
  /** The tunnel as the roles and the asking see it: while copies go through a standby, the concentrator may answer
   *  through either path, so its packets prove nothing of the active's (it is probed as if none came back). */
  const seenBy = (c: Ctx, now: number) => {
    const t = tunnelAsOf(c.tunnel, now, interval(c));
    return c.copying ? { ...t, last_rx_at: rxBefore(t.last_rx_at, c.copying), rx_moving: false } : t;
  };
  /** The initial choice: the configured initial uplink when it is ready, else the policy's. */
  const initialPick = (c: Ctx): SwitchDecision | null => {
    const now = clock(c);
    const d = chooseUplink(snapshot(c, now, { active: null }), c.policy, now);
    const preferred = c.initial && c.status[c.initial]?.ready && c.status[c.initial]?.addressed ? c.initial : null;
    if (preferred && (d.action !== 'switch' || d.to !== preferred)) {
      return { action: 'switch', from: null, to: preferred, rule: 'initial', memory: d.memory, why: { ...d.why, rule: 'initial', text: `initial_uplink ${preferred} is ready (configured)` } };
    }
    return d.action === 'switch' ? d : null;
  };
  const begin = (c: Ctx, d: SwitchDecision): Pending => ({
    id: deps.newId(), from: c.active, to: d.to, reason: d.reason ?? d.rule, decidedAt: deps.wallNow(), decidedMono: deps.now(), steeredAt: null, why: d.why,
    operator: d.operator ?? false, readdress: d.readdress ?? null,
    candidates: candidatesOf(c.status, d.why), site: c.site, policy: c.policy,
  });

  return setup({
    types: {
      context: {} as Ctx,
      events: {} as ArbiterEvent,
      input: {} as ArbiterInput,
      emitted: {} as ArbiterEmitted,
    },
    actors: {
      uplink: uplinkMachine,
      watchdog: watchdogMachine ?? NO_WATCHDOG,
      counters: counterReader(deps.readCounters, deps.now),
      links: fromCallback(({ sendBack }) => {
        const ac = new AbortController();
        deps.watchLinks((ifname, up) => sendBack({ type: 'link.changed', ifname, up }), ac.signal).catch(() => {});
        return () => ac.abort();
      }),
      steer: fromPromise<void, { to: UplinkStatus; intent: SwitchRecord }>(({ input, signal }) => deps.steer(input.to, signal, input.intent)),
      resteer: fromPromise<void, { to: UplinkStatus }>(async ({ input, signal }) => {
        await deps.steer(input.to, signal);
        await deps.afterSwitch(input.to, signal);
      }),
      settle: fromPromise<void, { to: UplinkStatus }>(({ input, signal }) => deps.afterSwitch(input.to, signal)),
      tunnelProbe: fromPromise<number, void>(({ signal }) => deps.tunnelProbe(signal)),
    },
    guards: {
      anyReady: ({ context }) => Object.values(context.status).some((u) => u.ready),
      // Every uplink ready, and every radio's signal known (a Wi-Fi of unknown signal ranks below LTE): the best of
      // them is known, no need to wait out the settle time.
      allReadyAndPick: ({ context }) =>
        context.uplinks.every((n) => context.status[n]?.ready && (context.status[n]!.kind !== 'wifi' || context.status[n]!.signal !== null)) &&
        initialPick(context) !== null,
      canStart: ({ context }) => initialPick(context) !== null,
      hasDecision: ({ context }) => context.decision !== null,
      activeLostCarrier: ({ context, event }) => event.type === 'link.changed' && !event.up && event.ifname === context.active,
      activeMoved: ({ context }) => {
        const a = context.active ? context.status[context.active] : undefined;
        return !!(a && a.addressed && a.lease && context.steered?.uplink === a.name && context.steered.address !== a.lease.address);
      },
    },
    delays: {
      settle: ({ context }) => context.settleMs,
      adopt: ({ context }) => context.adoptMs ?? context.settleMs + context.confirmTimeoutMs,
      drain: ({ context }) => context.drainMs,
      confirmTimeout: ({ context }) => context.confirmTimeoutMs,
      confirmRetry: ({ context }) => context.confirmRetryMs,
      steerRetry: ({ context }) => context.steerRetryMs ?? 1000,
    },
    actions: {
      record: assign({
        status: ({ context, event }) => (event.type === 'uplink.status' ? { ...context.status, [event.status.name]: event.status } : context.status),
      }),
      // The netlink event is the freshest fact: the decision does not wait for the uplink machine's report.
      recordCarrier: assign({
        status: ({ context, event }) => {
          if (event.type !== 'link.changed') return context.status;
          const s = context.status[event.ifname];
          if (!s || s.carrier === event.up) return context.status;
          return { ...context.status, [event.ifname]: { ...s, carrier: event.up, ...(event.up ? {} : { ready: false }) } };
        },
      }),
      forwardLink: enqueueActions(({ event, context, enqueue }) => {
        if (event.type === 'link.changed' && context.uplinks.includes(event.ifname)) enqueue.sendTo(event.ifname, { type: 'link.carrier', up: event.up });
      }),
      recordCounters: assign({ tunnel: ({ context, event }) => (event.type === 'tunnel.counters' ? event.seen : context.tunnel) }),
      // Roles, the active's probe pace and the radios' exclusions: sent when they change.
      tell: enqueueActions(({ context, enqueue }) => {
        const now = clock(context);
        const tunnel = seenBy(context, now);
        const msgs = rolesFor({
          uplinks: Object.values(context.status), active: context.active, holdDown: context.holdDown, heldAps: context.heldAps, now,
          busy: isBusy(tunnel, context.policy, now), rxFlowing: !context.copying && isRxFlowing(tunnel, context.policy, now), policy: context.policy,
          restProbeMs: context.restProbeMs ?? context.policy.probe_interval_ms,
        });
        const told = { ...context.told };
        let changed = false;
        for (const [name, m] of Object.entries(msgs)) {
          const key = JSON.stringify(m);
          if (told[name] === key) continue;
          const before = told[name] ? (JSON.parse(told[name]!) as typeof m) : null;
          told[name] = key;
          changed = true;
          if (!before || before.role !== m.role || before.probeIntervalMs !== m.probeIntervalMs) {
            enqueue.sendTo(name, { type: 'uplink.role', role: m.role, ...(m.probeIntervalMs !== undefined ? { probeIntervalMs: m.probeIntervalMs } : {}) });
          }
          if (m.exclude && JSON.stringify(before?.exclude) !== JSON.stringify(m.exclude)) enqueue.sendTo(name, { type: 'radio.exclude', bssids: m.exclude });
        }
        if (changed) enqueue.assign({ told });
      }),
      // The active went quiet: every other uplink probed at once, so the decision at the dead limit knows whether the
      // concentrator answers on any path (far end) or not.
      askStandbys: enqueueActions(({ context, enqueue }) => {
        const now = clock(context);
        const r = standbysToAsk({
          uplinks: Object.values(context.status), active: context.active, tunnel: seenBy(context, now),
          policy: context.policy, now, askedFor: context.askedFor, askedActiveFor: context.askedActiveFor, copying: context.copying !== null,
        });
        if (!r) return;
        for (const name of r.ask) enqueue.sendTo(name, { type: 'uplink.probe-now' });
        enqueue.assign({ askedFor: r.askedFor, askedActiveFor: r.askedActiveFor });
        // Two HQs: the other HQ through the active's own path, once per silence (its answer: the far end's silence).
        const lease = context.active ? context.status[context.active]?.lease : null;
        const askOther = deps.askOtherHq;
        if (r.otherHq && askOther && lease) {
          const sent_at = deps.now();
          enqueue.assign({ otherHq: { via: context.active!, sent_at, answered_at: null, given_up_at: null } });
          enqueue(({ self }) => {
            const bounded = boundedSignal(context.policy.probe_timeout_ms, undefined, clockOf(self));
            Promise.resolve().then(() => askOther(lease.address, bounded.signal)).finally(bounded.release).then(
              () => self.send({ type: 'hq.witness', sent_at, answered: true }),
              () => self.send({ type: 'hq.witness', sent_at, answered: false }),
            );
          });
        }
        if (r.recheckInMs !== undefined) enqueue.raise({ type: 'arbiter.recheck' }, { delay: r.recheckInMs });
      }),
      // Copies through a standby while the active is at risk (or always): decided after each decision of a steady
      // tunnel, not while a switch is decided or under way; the composition root steers them (redundancy.changed).
      // Each `redund` is followed by `tell`: while copies flow the active lives by its own probes, at the busy pace
      // from the moment they begin (2026-12-03: told only at the next event, it sat at its 1 s rest pace, unprobed,
      // and was left on 'blackhole').
      redund: enqueueActions(({ context, enqueue }) => {
        if (context.decision || context.pending) return;
        const now = clock(context);
        const r = chooseRedundancy(snapshot(context, now), context.policy, now, context.redundancy);
        enqueue.assign({ redundancy: r.memory });
        if (r.via === (context.copying?.via ?? null)) return;
        // Moved to another standby, they keep their start: the tunnel's packets since then are still no proof.
        const rx_at = tunnelAsOf(context.tunnel, now, interval(context)).last_rx_at;
        enqueue.assign({ copying: r.via ? { via: r.via, since: context.copying?.since ?? now, rx_at: context.copying ? context.copying.rx_at : rx_at } : null });
        enqueue.emit({ type: 'redundancy.changed', via: r.via ? context.status[r.via]! : null, why: r.why });
      }),
      // Each decision says when to decide again if nothing happens (wakeAt: the dead limit of a silence): idle, no
      // event may come by then (2026-12-04: decided at the next probe given up or counter heartbeat, 250 ms late).
      decide: enqueueActions(({ context, enqueue }) => {
        const now = clock(context);
        const d = chooseUplink(snapshot(context, now), context.policy, now);
        enqueue.assign({ memory: d.memory, decision: d.action === 'switch' && !context.coolingDown ? d : null });
        // Also when the tunnel's replies stop proving the active: its pace changes then (rxLapseAt).
        const lapse = context.copying ? null : rxLapseAt(context.tunnel, context.policy, now);
        const at = d.action === 'stay' ? [d.wakeAt ?? null, lapse].filter((x): x is number => x !== null) : [];
        const wakeAt = at.length > 0 ? Math.min(...at) : null;
        if (wakeAt === context.wakeAt) return;
        if (context.wakeAt !== null) enqueue.cancel(DEAD_LIMIT);
        if (wakeAt !== null) enqueue.raise({ type: 'arbiter.recheck' }, { id: DEAD_LIMIT, delay: Math.max(1, wakeAt - deps.now()) });
        enqueue.assign({ wakeAt });
      }),
      begin: assign(({ context }) => {
        const d = context.decision!;
        const holdDown = { ...context.holdDown };
        const heldAps = { ...context.heldAps };
        if (d.holdDown) {
          holdDown[d.holdDown.uplink] = d.holdDown.until;
          const ap = context.status[d.holdDown.uplink]?.ap;
          if (ap) heldAps[ap.bssid.toLowerCase()] = d.holdDown.until;
        }
        for (const [k, until] of Object.entries(heldAps)) if (until <= clock(context)) delete heldAps[k];
        return { pending: begin(context, d), decision: null, holdDown, heldAps, memory: d.memory, wakeAt: null };
      }),
      // The switch goes to the standby the copies go through: the copies end as it is steered (the steering's rule
      // replaces both); to another one, they go on through the switch.
      endCopiesTo: enqueueActions(({ context, enqueue }) => {
        if (!context.copying || context.copying.via !== context.pending?.to) return;
        enqueue.assign({ copying: null, redundancy: { ...NO_REDUNDANCY } });
        enqueue.emit({ type: 'redundancy.changed', via: null, why: `switching to ${context.pending.to}`, bySwitch: context.pending.to });
      }),
      beginInitial: assign(({ context }) => ({ pending: begin(context, initialPick(context)!), decision: null })),
      finish: enqueueActions(({ context, event, enqueue }) => {
        const done = event.type.startsWith('xstate.done.actor');
        // The duration on the monotonic clock: a wall clock stepped mid-switch must not make it negative or years long.
        const record = recordOf(context.pending!, done ? { wall: deps.wallNow(), mono: deps.now() } : null);
        enqueue.assign({ activeSince: deps.now() });
        enqueue.emit({ type: 'switch.done', record });
      }),
      tellWatchdog: enqueueActions(({ context, enqueue }) => {
        if (!context.watchdog) return;
        enqueue.sendTo('watchdog', { type: 'watchdog.path', uplink: context.steered?.uplink ?? null, address: context.steered?.address ?? null });
      }),
      afterDrain: enqueueActions(({ context, enqueue }) => {
        const r = context.pending?.readdress;
        if (r) enqueue.sendTo(r, { type: 'uplink.readdress', why: 'watchdog' });
        enqueue.assign({ pending: null });
      }),
      // The watchdog's alarms: the active path fails beyond the concentrator. Move to the best other uplink (as if
      // the active had lost carrier), hold it down and re-address it; with nowhere to go, re-address it in place.
      onWatchdog: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'watchdog.round') return;
        enqueue.emit({ type: 'watchdog.round', round: event });
        const alarm = event.alarms[0];
        if (!alarm || !context.active || event.uplink !== context.active || context.decision) return;
        const now = clock(context);
        const a = context.status[context.active]!;
        const d = chooseUplink(snapshot(context, now, { status: { ...context.status, [a.name]: { ...a, carrier: false } } }), context.policy, now);
        const why = `${alarm.check === 'dns' ? 'DNS' : 'hosts beyond the concentrator'}: ${alarm.why}`;
        if (d.action === 'switch') {
          const text = `${context.active} fails the watchdog (${why}) → ${d.to}`;
          enqueue.assign({ decision: { ...d, reason: 'watchdog', why: { ...d.why, text }, readdress: context.active } });
          enqueue.emit({ type: 'watchdog.acted', uplink: context.active, action: 'switch', why });
        } else {
          enqueue.sendTo(context.active, { type: 'uplink.readdress', why: 'watchdog' });
          enqueue.emit({ type: 'watchdog.acted', uplink: context.active, action: 'readdress', why });
        }
      }),
      // The witness ask's outcome, if it is still the latest ask.
      recordWitness: assign({
        otherHq: ({ context, event }) => {
          if (event.type !== 'hq.witness' || context.otherHq?.sent_at !== event.sent_at) return context.otherHq;
          return { ...context.otherHq, ...(event.answered ? { answered_at: deps.now() } : { given_up_at: deps.now() }) };
        },
      }),
      refuse: emit(({ event }, params: { why: string }) => ({ type: 'switch.refused' as const, to: (event as { to: string }).to, why: params.why })),
    },
  }).createMachine({
    id: 'arbiter',
    context: ({ input }) => ({
      ...input, status: {}, active: input.adopted?.uplink ?? null, activeSince: input.adopted ? deps.now() : null, pending: null, coolingDown: false,
      policy: input.policy ?? { ...DEFAULT_POLICY }, site: input.site ?? null, memory: EMPTY_MEMORY, holdDown: {}, heldAps: {},
      forced: null, tunnel: { ...NO_TUNNEL }, steered: input.adopted ? { ...input.adopted } : null, decision: null, told: {}, askedFor: null,
      redundancy: { ...NO_REDUNDANCY }, copying: null, askedActiveFor: null, wakeAt: null, otherHq: null,
    }),
    invoke: [
      { src: 'links' },
      { id: 'counters', src: 'counters', input: ({ context }) => ({ intervalMs: interval(context), heartbeatMs: heartbeat(context) }) },
      ...uplinkInputs.map((u) => ({ id: u.name, src: 'uplink' as const, input: u })),
      ...(watchdogMachine ? [{ id: 'watchdog', src: 'watchdog' as const, input: ({ context }: { context: Ctx }) => context.watchdog }] : []),
    ],
    on: {
      // Recorded in every state; steady also decides on each (its handlers below shadow these).
      'uplink.status': { actions: ['record', 'tell'] },
      'link.changed': { actions: ['forwardLink', 'recordCarrier'] },
      'tunnel.counters': { actions: ['recordCounters', 'tell'] },
      'hq.witness': { actions: 'recordWitness' },
      'uplink.signal': {
        actions: enqueueActions(({ event, context, enqueue }) => {
          if (context.uplinks.includes(event.uplink)) enqueue.sendTo(event.uplink, { type: 'uplink.signal', dBm: event.dBm });
        }),
      },
      'uplink.spent': {
        actions: enqueueActions(({ event, context, enqueue }) => {
          if (context.uplinks.includes(event.uplink)) enqueue.sendTo(event.uplink, { type: 'uplink.spent', bytes: event.bytes });
        }),
      },
      // The arbiter takes the thresholds; each uplink its part (probe and scan timing, the Wi-Fi floor).
      'policy.set': {
        actions: enqueueActions(({ context, event, enqueue }) => {
          enqueue.assign({ policy: event.policy, site: event.site });
          const p = event.policy;
          const part = { type: 'uplink.policy' as const, probeIntervalMs: p.probe_interval_ms, probeTimeoutMs: p.probe_timeout_ms, scanIntervalMs: p.scan_interval_ms, minSignal: p.min_signal };
          for (const name of context.uplinks) enqueue.sendTo(name, part);
          enqueue('tell');
        }),
      },
      'connect-list.set': {
        actions: enqueueActions(({ context, event, enqueue }) => {
          for (const name of context.uplinks) enqueue.sendTo(name, { type: 'uplink.connect-list', list: event.list });
        }),
      },
      'watchdog.round': { actions: emit(({ event }) => ({ type: 'watchdog.round' as const, round: event })) },
    },
    initial: 'entering',
    states: {
      entering: { always: [{ guard: ({ context }) => context.active !== null, target: 'adopting' }, { target: 'starting' }] },
      // The tunnel found on `active` (adoption): no initial choice and no switch; the policy takes over once the
      // active is ready again (a probe through its path), or at adoptMs, or at once if it loses its carrier.
      adopting: {
        entry: ['tell', 'tellWatchdog'],
        on: {
          'operator.switch': { actions: { type: 'refuse', params: ({ context }) => ({ why: `the agent is adopting the running tunnel on ${context.active} (try again in a moment)` }) } },
          'link.changed': [
            { guard: 'activeLostCarrier', target: 'steady', actions: ['forwardLink', 'recordCarrier'] },
            { actions: ['forwardLink', 'recordCarrier'] },
          ],
        },
        always: { guard: ({ context }) => !!(context.active && context.status[context.active]?.ready && context.status[context.active]?.addressed), target: 'steady' },
        after: { adopt: 'steady' },
      },
      starting: {
        on: { 'operator.switch': { actions: { type: 'refuse', params: { why: 'no uplink is ready yet' } } } },
        always: { guard: 'anyReady', target: 'settling' },
      },
      // The first ready uplink starts a short wait (settleMs), so that the start goes to the best by the policy of those
      // ready within it, not to the first: a slower Wi-Fi is not beaten by LTE, a stronger AP not by a weaker one.
      settling: {
        on: { 'operator.switch': { actions: { type: 'refuse', params: { why: 'no uplink is ready yet' } } } },
        always: { guard: 'allReadyAndPick', target: 'switching', actions: 'beginInitial' },
        // The uplink that started the wait may be gone by now: with nothing usable, wait for the next one.
        after: { settle: [{ guard: 'canStart', target: 'switching', actions: 'beginInitial' }, { target: 'starting' }] },
      },
      steady: {
        entry: ['tell', 'decide', 'redund', 'tell'],
        // A steering that keeps failing is retried once per steerRetry, not in a loop (each try runs nft).
        after: { steerRetry: { guard: ({ context }) => context.coolingDown, actions: [assign({ coolingDown: false }), 'decide'] } },
        always: { guard: 'hasDecision', target: 'switching', actions: ['begin', 'endCopiesTo'] },
        on: {
          'uplink.status': { actions: ['record', 'tell', 'askStandbys', 'decide', 'redund', 'tell'] },
          'link.changed': { actions: ['forwardLink', 'recordCarrier', 'decide', 'redund', 'tell'] },
          'tunnel.counters': { actions: ['recordCounters', 'tell', 'askStandbys', 'decide', 'redund', 'tell'] },
          'arbiter.recheck': { actions: ['askStandbys', 'decide', 'redund', 'tell'] },
          'hq.witness': { actions: ['recordWitness', 'decide', 'redund', 'tell'] },
          'watchdog.round': { actions: 'onWatchdog' },
          'operator.switch': [
            { guard: ({ context, event }) => event.to === context.active, actions: { type: 'refuse', params: ({ event }) => ({ why: `${event.to} is already active` }) } },
            { guard: ({ context, event }) => !context.status[event.to], actions: { type: 'refuse', params: ({ event }) => ({ why: `no uplink named ${event.to}` }) } },
            {
              guard: ({ context, event }) => !context.status[event.to]!.ready,
              actions: { type: 'refuse', params: ({ context, event }) => ({ why: `${event.to} is not ready (${context.status[event.to]!.phase})` }) },
            },
            {
              // The operator's uplink is taken at once (it is ready) and pinned for policy.forced_hold_ms: the policy
              // then moves the tunnel off it only for a failure. An operator asking while the active is failing picks
              // where the failure sends the tunnel; the failed uplink is held down all the same.
              actions: enqueueActions(({ context, event, enqueue }) => {
                const now = clock(context);
                const forced = { to: event.to, at: now };
                const d = chooseUplink({ ...snapshot(context, now), forced }, context.policy, now);
                const failure = d.action === 'switch' && (d.rule === 'carrier-loss' || d.rule === 'blackhole') ? d : null;
                const text = `operator asked for ${event.to}${failure ? ` (${failure.why.text.split(' → ')[0]})` : ''}`;
                const decision: SwitchDecision = {
                  action: 'switch', from: context.active, to: event.to, rule: 'forced', operator: true,
                  why: { ...d.why, rule: 'forced', text: `${text} → ${event.to}` }, memory: d.action === 'switch' ? d.memory : { ...d.memory, belowSince: null, betterSince: {} },
                  ...(failure?.holdDown ? { holdDown: failure.holdDown } : {}),
                };
                enqueue.assign({ forced, decision, coolingDown: false });
              }),
            },
          ],
        },
        initial: 'watching',
        states: {
          watching: { always: { guard: 'activeMoved', target: 'resteering' } },
          // The active uplink's address changed (a new lease, a roam into another subnet): the outer packets' source
          // follows it. Not a switch: no record, a log line.
          resteering: {
            invoke: {
              src: 'resteer',
              input: ({ context }) => ({ to: context.status[context.active!]! }),
              onDone: {
                target: 'watching',
                actions: [
                  emit(({ context }) => ({ type: 'tunnel.resteered' as const, uplink: context.active!, from: context.steered?.address ?? null, to: context.status[context.active!]!.lease!.address })),
                  assign({ steered: ({ context }) => ({ uplink: context.active!, address: context.status[context.active!]!.lease!.address }) }),
                  'tellWatchdog',
                ],
              },
              onError: 'resteerFailed',
            },
          },
          resteerFailed: { after: { steerRetry: 'watching' } },
        },
      },
      switching: {
        on: { 'operator.switch': { actions: { type: 'refuse', params: { why: 'a switch is under way' } } } },
        initial: 'steering',
        states: {
          steering: {
            invoke: {
              src: 'steer',
              input: ({ context }) => ({ to: context.status[context.pending!.to]!, intent: recordOf(context.pending!, null) }),
              onDone: {
                target: 'confirming',
                actions: [
                  assign({
                    active: ({ context }) => context.pending!.to,
                    pending: ({ context }) => ({ ...context.pending!, steeredAt: deps.wallNow() }),
                    steered: ({ context }) => ({ uplink: context.pending!.to, address: context.status[context.pending!.to]?.lease?.address ?? '' }),
                    coolingDown: false,
                  }),
                  'tell',
                  'tellWatchdog',
                ],
              },
              onError: {
                target: '#arbiter.steady',
                actions: [
                  emit(({ context, event }) => ({ type: 'switch.refused' as const, to: context.pending!.to, why: `steering failed: ${String(event.error)}` })),
                  assign({ pending: null, coolingDown: true }),
                ],
              },
            },
          },
          confirming: {
            initial: 'asking',
            after: { confirmTimeout: { target: 'draining', actions: 'finish' } },
            on: {
              // The new path lost its carrier before it answered: recorded unconfirmed, and decided again at once.
              'link.changed': [
                { guard: 'activeLostCarrier', target: '#arbiter.steady', actions: ['forwardLink', 'recordCarrier', 'finish', 'afterDrain'] },
                { actions: ['forwardLink', 'recordCarrier'] },
              ],
            },
            states: {
              asking: {
                invoke: {
                  src: 'tunnelProbe',
                  onDone: { target: '#arbiter.switching.draining', actions: 'finish' },
                },
                after: { confirmRetry: { target: 'asking', reenter: true } },
              },
            },
          },
          draining: {
            invoke: { src: 'settle', input: ({ context }) => ({ to: context.status[context.active!]! }) },
            after: { drain: { target: '#arbiter.steady', actions: 'afterDrain' } },
            on: {
              'link.changed': [
                { guard: 'activeLostCarrier', target: '#arbiter.steady', actions: ['forwardLink', 'recordCarrier', 'afterDrain'] },
                { actions: ['forwardLink', 'recordCarrier'] },
              ],
            },
          },
        },
      },
    },
  });
}
