// The arbiter's pure helpers around the policy: uplink views and states, the tunnel's counters as times, roles and
// radio exclusions, the snapshot chooseUplink decides on.
import { activeProbeIntervalMs, type Policy } from '../policy/policy.js';
import { expectsReplies, fastApplies, fastDeadlineMs, othersAfterMs, suspectAfterMs, type ArbiterMemory, type ArbiterSnapshot, type Copying, type OtherHqAsk, type Rule, type UplinkState, type UplinkView } from '../policy/choose.js';
import type { UplinkReport, UplinkRole } from './uplink.machine.js';

/** Why a switch happened: the policy's rule, or the watchdog's finding (shared/reasons.ts, the one list). */
export type { SwitchReason } from '../../shared/reasons.js';

/** The tunnel's traffic as the arbiter tracks it from the interface's counters (monotonic ms). */
export interface TunnelSeen {
  rx: number | null;
  tx: number | null;
  /** When the counters were last read. */
  readAt: number | null;
  /** When rx (authenticated packets from the concentrator) and tx last grew. */
  last_rx_at: number | null;
  last_tx_at: number | null;
  /** Whether rx and tx grew at the last reading: the arbiter, told of readings only when their news changes, takes a
   *  counter that was moving to be moving still (tunnelAsOf). */
  rx_moving: boolean;
  tx_moving: boolean;
  /** Packets per ms that came back through the tunnel while they flowed (smoothed over the readings at which rx grew;
   *  kept through a silence: what the path carried before it). Absent until measured. */
  rx_rate?: number;
}

/** Smoothing gain of rx_rate per reading at which rx grew. */
export const RX_RATE_GAIN = 1 / 4;

/**
 * How often the agent reads the tunnel's counters (two sysfs reads, microseconds). A silence is seen at the first
 * reading after a whole interval without a packet, so the interval is most of what the fast check's first step costs:
 * at 50 ms, the lab's blackholes (1000 packets/s, realistic links) were first seen 80-110 ms after the fault; at 10 ms,
 * 20-30 ms (2026-12-03, agent timing lines). 100 readings a second; the arbiter hears only of those that bring news.
 */
export const COUNTER_INTERVAL_MS = 10;

/**
 * A gap between two readings longer than this is a stall (of the agent, or of wireguard-go and the kernel's queues
 * beside it), not a slow tick: what grew is dated at the later reading and a silence is not lengthened by the gap
 * (seeCounters). Never less than two intervals. Fixed, not a multiple of the interval: on a loaded machine a 10 ms timer
 * fires 15-30 ms late all the time, and such readings must still date a silence (taken as stalls, every late reading
 * moved the silence on by its gap, and neither rule fired while the load lasted).
 */
export const COUNTER_STALL_MS = 100;

/** The gap between readings up to which they count as regular (seeCounters): COUNTER_STALL_MS, or two intervals. */
export function regularGapMs(intervalMs: number): number {
  return Math.max(2 * intervalMs, COUNTER_STALL_MS);
}

export const NO_TUNNEL: Readonly<TunnelSeen> = Object.freeze({ rx: null, tx: null, readAt: null, last_rx_at: null, last_tx_at: null, rx_moving: false, tx_moving: false });

/**
 * The tunnel after a counter reading (null: the read failed). A counter that grew is dated at the PREVIOUS reading
 * when readings are regular (the packet came after it, so this is the earliest it can have been: failure detection
 * never waits on the polling), but at `now` after a pause longer than regularGapMs (an event loop that stalled must
 * not make a live path look silent); one that did not grow has its silence moved on by the pause.
 */
export function seeCounters(prev: TunnelSeen, c: { rx: number; tx: number } | null, now: number, intervalMs: number): TunnelSeen {
  if (!c) return { ...prev, readAt: now, rx_moving: false, tx_moving: false };
  const regular = prev.readAt !== null && now - prev.readAt <= regularGapMs(intervalMs);
  const at = regular ? prev.readAt! : now;
  const grew = (was: number | null, is: number) => was !== null && is !== was; // a reset (new interface) counts as life too
  const rxMoving = grew(prev.rx, c.rx);
  const txMoving = grew(prev.tx, c.tx);
  // After a pause, a counter that did not grow keeps the silence it had before the pause, not the pause itself: a
  // stalled machine (the agent, wireguard-go, the kernel's queues) saw nothing, which proves nothing about the path.
  const gap = regular || prev.readAt === null ? 0 : now - prev.readAt;
  const kept = (t: number | null) => (t === null ? null : t + gap);
  const out: TunnelSeen = {
    rx: c.rx,
    tx: c.tx,
    readAt: now,
    last_rx_at: rxMoving ? at : kept(prev.last_rx_at),
    last_tx_at: txMoving ? at : kept(prev.last_tx_at),
    rx_moving: rxMoving,
    tx_moving: txMoving,
  };
  // The rate the path carried: measured between regular readings only (a pause would understate it), kept otherwise.
  const rate = regular && rxMoving && c.rx > prev.rx! ? (c.rx - prev.rx!) / (now - prev.readAt!) : undefined;
  const rxRate = rate === undefined ? prev.rx_rate : prev.rx_rate === undefined ? rate : prev.rx_rate + RX_RATE_GAIN * (rate - prev.rx_rate);
  if (rxRate !== undefined) out.rx_rate = Math.round(rxRate * 1e4) / 1e4;
  return out;
}

/**
 * The tunnel as of `now` (no later than the clock allows: decisionClock) from the last reading the arbiter heard of.
 * No news means the counters move as they did then: a counter that was growing grew at a reading since, at the
 * latest one interval before the last reading (as seeCounters dates it).
 */
export function tunnelAsOf(t: TunnelSeen, now: number, intervalMs: number): TunnelSeen {
  if (t.readAt === null || now <= t.readAt) return t;
  const since = now - 2 * intervalMs;
  return {
    ...t,
    last_rx_at: t.rx_moving ? Math.max(t.last_rx_at ?? since, since) : t.last_rx_at,
    last_tx_at: t.tx_moving ? Math.max(t.last_tx_at ?? since, since) : t.last_tx_at,
  };
}

/**
 * The counter reader's memory between readings: the tunnel as last read, how the last reading found the counters
 * (rx and tx grown or not; `unread` when the read failed), and when the arbiter was last told.
 */
export interface CounterWatch {
  seen: TunnelSeen;
  grew: string | null;
  toldAt: number | null;
}

export const NO_WATCH: Readonly<CounterWatch> = Object.freeze({ seen: NO_TUNNEL, grew: null, toldAt: null });

/**
 * One reading of the tunnel's counters, and whether the arbiter must hear of it. It must when the way the counters
 * move changes (traffic starts or stops, replies stop or resume), on every reading while packets go out and none come
 * back (a silence the blackhole rule is timing), and at least every `heartbeatMs` (ALIVE_HEARTBEAT_FACTOR times that
 * while replies come back). A tunnel in a steady state (both
 * ways flowing, or idle) costs the arbiter one event per heartbeat instead of one per reading: the counters are read
 * every few tens of ms so that a silence is dated to the reading, not to the heartbeat.
 */
/** While replies come back through the tunnel (rx moving) the path is proven alive and no silence rule can fire:
 *  the heartbeat is this many times longer then. */
export const ALIVE_HEARTBEAT_FACTOR = 4;

/** The heartbeat that applies after a reading: longer while rx moves. */
export function heartbeatFor(t: TunnelSeen, heartbeatMs: number): number {
  return t.rx_moving ? heartbeatMs * ALIVE_HEARTBEAT_FACTOR : heartbeatMs;
}

export function watchCounters(w: CounterWatch, c: { rx: number; tx: number } | null, now: number, intervalMs: number, heartbeatMs: number): { watch: CounterWatch; tell: boolean } {
  const seen = seeCounters(w.seen, c, now, intervalMs);
  const grew = c === null ? 'unread' : `${seen.rx_moving ? 'rx' : '-'}/${seen.tx_moving ? 'tx' : '-'}`;
  const tell = w.toldAt === null || grew !== w.grew || (seen.tx_moving && !seen.rx_moving) || c === null || now - w.toldAt >= heartbeatFor(seen, heartbeatMs);
  return { watch: { seen, grew, toldAt: tell ? now : w.toldAt }, tell };
}

/**
 * The time decisions are made at: now, but never more than a heartbeat and a counter interval past the reading the
 * arbiter last heard of (with heartbeatMs = intervalMs: two intervals). After a stall of the agent's event loop, the
 * first event handled may be a probe reply or a status, with the counters not read since: deciding at `now` would see
 * a silence the agent itself caused.
 */
export function decisionClock(now: number, t: TunnelSeen, intervalMs: number, heartbeatMs: number = intervalMs): number {
  return t.readAt === null ? now : Math.min(now, t.readAt + intervalMs + heartbeatFor(t, heartbeatMs));
}

/** Traffic flows: the tunnel sent a packet within the policy's busy window. */
export function isBusy(t: TunnelSeen, policy: Policy, now: number): boolean {
  return t.last_tx_at !== null && now - t.last_tx_at <= policy.busy_window_ms;
}

/**
 * When the tunnel's replies stop proving the active (isRxFlowing turns false), for the arbiter to wake then and put the
 * active back on its policy pace (rolesFor): null while they still come (the counter reader tells when they stop) or
 * are already past. Without it the active stayed on the rest pace (1 s) until the next event, and a silence judged from
 * the last reply reached dead_busy_ms with the active unprobed (2026-12-04 lab, failover-idle: 1 pps up and the agent's
 * own requests through the tunnel, a false 'blackhole' in 2 of 12 runs: no probe of the active for 551 ms).
 */
export function rxLapseAt(t: TunnelSeen, policy: Policy, now: number): number | null {
  if (t.rx_moving || !isRxFlowing(t, policy, now)) return null;
  return t.last_rx_at! + policy.busy_window_ms + 1;
}

/** Authenticated packets come back through the tunnel: they prove the active path alive, as probe replies do. */
export function isRxFlowing(t: TunnelSeen, policy: Policy, now: number): boolean {
  return t.last_rx_at !== null && now - t.last_rx_at <= policy.busy_window_ms;
}

export interface ViewContext {
  active: string | null;
  holdDown: Readonly<Record<string, number>>;
  policy: Policy;
  now: number;
}

/** The state names, from the uplink's report and the arbiter's roles. */
export function stateOf(u: UplinkReport, o: ViewContext): UplinkState {
  if (!u.carrier) {
    if (u.kind !== 'wifi' || u.radio === null) return 'down';
    return u.radio === 'associating' || (u.radio === 'idle' && u.ap !== null) ? 'associating' : 'scanning';
  }
  if (!u.lease) return 'addressing';
  const lossy = u.probe.loss >= o.policy.loss_max;
  if (u.name === o.active) {
    const weak = u.kind === 'wifi' && u.signal !== null && u.signal < o.policy.switch_below;
    return !u.ready || lossy || weak ? 'degraded' : 'active';
  }
  if ((o.holdDown[u.name] ?? -Infinity) > o.now) return 'hold-down';
  if (!u.addressed || !u.ready) return 'probing';
  return lossy ? 'degraded' : 'standby';
}

/** One uplink as chooseUplink sees it. */
export function viewOf(u: UplinkReport, o: ViewContext): UplinkView {
  const v: UplinkView = {
    name: u.name,
    // Ethernet is compared as Wi-Fi that is always strong (a cable has no signal to fade): it is never costed.
    kind: u.kind === 'lte' ? 'lte' : 'wifi',
    state: stateOf(u, o),
    signal: u.kind === 'ethernet' ? 0 : u.signal,
    ready: u.ready && u.addressed,
    carrier: u.carrier,
    probe: u.probe,
    holdDownUntil: o.holdDown[u.name] ?? null,
  };
  if (u.kind === 'lte' && u.budgetLeft !== undefined) v.budget_left = u.budgetLeft;
  if (u.ap) {
    v.ssid = u.ap.ssid;
    v.bssid = u.ap.bssid;
  }
  return v;
}

export interface SnapshotInput extends ViewContext {
  uplinks: readonly UplinkReport[];
  activeSince: number | null;
  tunnel: TunnelSeen;
  forced: { to: string; at: number } | null;
  memory: ArbiterMemory;
  copying?: Copying | null;
  otherHq?: OtherHqAsk | null;
}

export function snapshotOf(i: SnapshotInput): ArbiterSnapshot {
  return {
    uplinks: i.uplinks.map((u) => viewOf(u, i)),
    active: i.active,
    activeSince: i.activeSince,
    tunnel: { last_rx_at: i.tunnel.last_rx_at, last_tx_at: i.tunnel.last_tx_at, ...(i.tunnel.rx_rate !== undefined ? { rx_rate: i.tunnel.rx_rate } : {}) },
    forced: i.forced,
    memory: i.memory,
    ...(i.copying ? { copying: i.copying } : {}),
    ...(i.otherHq ? { otherHq: i.otherHq } : {}),
  };
}

export interface RoleMessage {
  role: UplinkRole;
  /** The active's probe interval: policy.activeProbeIntervalMs (its busy pace while traffic flows out and nothing comes
   *  back, its idle pace when nothing flows), or the standby pace while authenticated packets come back through the
   *  tunnel: they prove the path as well as probes do, and the moment they stop the pace is back to the policy's (the
   *  silence then counts from the last of them, so a slower pace before it does not delay or hasten a decision). */
  probeIntervalMs?: number;
  /** Wi-Fi: the BSSIDs this radio must leave to others. */
  exclude?: string[];
}

/**
 * What each uplink should be told: its role, the active's probe pace, and each radio's excluded APs. A radio that is
 * not active leaves the active radio's AP and the APs of lower-numbered standby radios to them (two radios on one AP
 * share its failures); every radio avoids the APs in hold-down.
 */
export function rolesFor(i: { uplinks: readonly UplinkReport[]; active: string | null; holdDown: Readonly<Record<string, number>>; heldAps: Readonly<Record<string, number>>; now: number; busy: boolean; rxFlowing?: boolean; policy: Policy; restProbeMs?: number }): Record<string, RoleMessage> {
  const out: Record<string, RoleMessage> = {};
  const held = Object.entries(i.heldAps).filter(([, until]) => until > i.now).map(([b]) => b.toLowerCase());
  const active = i.uplinks.find((u) => u.name === i.active);
  for (const u of i.uplinks) {
    const role: UplinkRole = u.name === i.active ? 'active' : (i.holdDown[u.name] ?? -Infinity) > i.now ? 'hold-down' : 'standby';
    const m: RoleMessage = { role };
    if (role === 'active') m.probeIntervalMs = i.rxFlowing ? (i.restProbeMs ?? 1000) : activeProbeIntervalMs(i.policy, i.busy);
    if (u.kind === 'wifi') {
      const ex = new Set(held);
      if (role !== 'active') {
        if (active?.kind === 'wifi' && active.ap) ex.add(active.ap.bssid.toLowerCase());
        for (const o of i.uplinks) if (o.kind === 'wifi' && o.name !== i.active && o.slot < u.slot && o.ap) ex.add(o.ap.bssid.toLowerCase());
      }
      m.exclude = [...ex].sort();
    }
    out[u.name] = m;
  }
  return out;
}

/**
 * When the active goes quiet, every other uplink is probed at once (not at its standby pace), so that by the dead limit
 * chooseUplink can tell the concentrator silent on every path (the far end: stay) from the active alone silent (move).
 * Quiet: nothing heard on the active (probe reply, tunnel packet) for half its dead limit (dead_busy_ms while traffic
 * flows, dead_idle_ms when idle), or, while traffic flows at a rate where dead_packets take less than dead_busy_ms, for
 * that long (suspectAfterMs): then the active is asked too, for the fast check, and the others once its probe has been
 * out othersAfterMs (each time with a recheck: of the active's probe, then at its deadline). Asked once per silence: `askedFor` is the last sign of life they were asked about.
 * Returns the uplinks to ask (with carrier and an address; held-down ones too: they are witnesses) and the new
 * `askedFor`, or null when there is nothing to ask. `otherHq`: with the others, the other HQ (two HQs) is to be asked
 * through the active's own path (chooseUplink's far-end evidence when no other uplink can answer).
 */
export function standbysToAsk(i: { uplinks: readonly UplinkReport[]; active: string | null; tunnel: TunnelSeen; policy: Policy; now: number; askedFor: number | null; askedActiveFor?: number | null; copying?: boolean }):
  { ask: string[]; askedFor: number | null; askedActiveFor: number | null; recheckInMs?: number; otherHq?: true } | null {
  const a = i.uplinks.find((u) => u.name === i.active);
  if (!a) return null;
  const heardAt = Math.max(a.probe.last_ok_at ?? -Infinity, i.tunnel.last_rx_at ?? -Infinity);
  if (!Number.isFinite(heardAt)) return null;
  const busy = isBusy(i.tunnel, i.policy, i.now);
  const others = i.uplinks.filter((u) => u.name !== a.name && u.carrier && u.lease !== null).map((u) => u.name);
  // The fast check (chooseUplink's rule 3), for a silence that began with the tunnel's packets stopping: the active's
  // own probe first, then, once it has been out its deadline, the others (their answers must come after it).
  const suspect = busy && fastApplies(i.tunnel.last_rx_at, i.now, i.policy) ? suspectAfterMs(i.tunnel.rx_rate, i.policy) : null;
  if (suspect !== null && i.now - heardAt > suspect && expectsReplies(i.tunnel, i.copying ?? false, suspect)) {
    const deadline = fastDeadlineMs(a, i.policy);
    const othersAfter = othersAfterMs(deadline);
    if (i.askedActiveFor !== heardAt) return { ask: [a.name], askedFor: i.askedFor, askedActiveFor: heardAt, recheckInMs: othersAfter + 1 };
    const sent = a.probe.in_flight_since;
    if (i.askedFor !== heardAt && sent !== undefined && sent >= heardAt && i.now - sent >= othersAfter) {
      return { ask: others, askedFor: heardAt, askedActiveFor: heardAt, recheckInMs: Math.max(1, sent + deadline + 1 - i.now), otherHq: true };
    }
  }
  const limit = busy ? i.policy.dead_busy_ms : i.policy.dead_idle_ms;
  if (i.askedFor === heardAt || i.now - heardAt < limit / 2) return null;
  return { ask: others, askedFor: heardAt, askedActiveFor: i.askedActiveFor ?? null, otherHq: true };
}
