// The arbiter's decision (pure): from a snapshot of the uplinks and the clock, stay or switch, and why.
import type { Policy } from './policy.js';

export type UplinkKind = 'wifi' | 'lte';
export type UplinkState = 'down' | 'scanning' | 'associating' | 'addressing' | 'probing' | 'standby' | 'active' | 'degraded' | 'hold-down';

export interface ProbeStats {
  /** Smoothed round trip of recent replies, null before the first. */
  rtt_ms: number | null;
  /** Fraction of recent probes lost, 0..1, over about the last 20 probes (a shorter window makes loss_max jumpy). */
  loss: number;
  /** When the last reply arrived (same clock as `now`), null if never. */
  last_ok_at: number | null;
}

/** One uplink as the arbiter sees it. */
export interface UplinkView {
  name: string;
  kind: UplinkKind;
  state: UplinkState;
  /** dBm: RSSI for Wi-Fi, RSRP for LTE (not comparable, and never compared). null when unknown. */
  signal: number | null;
  /** Associated (or registered), addressed and probed through its own path: it can take the tunnel now. */
  ready: boolean;
  carrier: boolean;
  probe: ProbeStats;
  /** Not to be taken before this time (set after it failed: the decision says until when). */
  holdDownUntil?: number | null;
  /** For the why. */
  ssid?: string;
  bssid?: string;
}

/** What the pure function remembers between calls: the caller stores the returned memory and hands it back. */
export interface ArbiterMemory {
  /** Since when the active Wi-Fi has been below switch_below, continuously. */
  belowSince: number | null;
  /** Per standby Wi-Fi: since when it has been better than the active by the hysteresis, continuously. */
  betterSince: Record<string, number>;
  /** Since when traffic has been flowing, continuously. */
  busySince: number | null;
}

export const EMPTY_MEMORY: Readonly<ArbiterMemory> = Object.freeze({ belowSince: null, betterSince: Object.freeze({}), busySince: null });

export interface ArbiterSnapshot {
  uplinks: UplinkView[];
  /** The uplink carrying the tunnel, null before the first choice. */
  active: string | null;
  /** When the active took the tunnel (the switch's confirmation). */
  activeSince: number | null;
  /** The tunnel's traffic on the active path: when an (authenticated) packet was last received and sent. */
  tunnel?: { last_rx_at: number | null; last_tx_at: number | null };
  /** An operator-forced switch (`roamlink switch UPLINK`) requested at `at`; it pins for policy.forced_hold_ms. */
  forced?: { to: string; at: number } | null;
  /** The memory returned by the previous call (EMPTY_MEMORY at start). */
  memory?: ArbiterMemory;
}

/** The rules, in priority order. */
export type Rule = 'initial' | 'carrier-loss' | 'blackhole' | 'forced' | 'loss' | 'lte-fallback' | 'signal' | 'better' | 'leave-lte';

export interface CandidateWhy {
  name: string;
  kind: UplinkKind;
  state: UplinkState;
  signal: number | null;
  rtt_ms: number | null;
  loss: number;
  ready: boolean;
  carrier: boolean;
  active: boolean;
  /** Could take the tunnel now (ready, carrier, probes fine, not held down). */
  usable: boolean;
  ssid?: string;
  bssid?: string;
  hold_down_until?: number;
}

export interface Why {
  /** The rule that fired; for a stay, the rule that held (`dwell`, `forced` pin) or `none`. */
  rule: Rule | 'dwell' | 'none';
  /** One line for people: `wlan0 -81 dBm below -75 dBm for 1200 ms; wlan1 -62 dBm ready`. */
  text: string;
  at: number;
  active: string | null;
  candidates: CandidateWhy[];
}

export type Decision =
  | { action: 'stay'; why: Why; memory: ArbiterMemory }
  | {
      action: 'switch';
      from: string | null;
      to: string;
      rule: Rule;
      why: Why;
      memory: ArbiterMemory;
      /** The uplink left because it failed, and until when not to take it again. */
      holdDown?: { uplink: string; until: number };
    };

/*
 * Rules, first match wins:
 *  1. initial       no active uplink: take the best usable one (order below).
 *  2. carrier-loss  the active lost carrier: move at once, hold the old one down.
 *  3. blackhole     the active is silent (no probe reply, no tunnel packet) for dead_busy_ms while traffic flows
 *                   (counted from when it started flowing), or dead_idle_ms in any case: move, hold down.
 *  4. forced        the operator asked for an uplink: take it if it is ready; while it is active and the request is
 *                   younger than forced_hold_ms, only rules 2-3 move the tunnel.
 *  -- dwell: within dwell_ms of the last switch, nothing below fires (their timers keep running).
 *  5. loss          the active's probe loss is at least loss_max: move to the best usable, hold down.
 *  6. lte-fallback  the active Wi-Fi has been below switch_below for below_ms and no other Wi-Fi is usable at or
 *                   above switch_below: LTE (policy lte = fallback).
 *  7. signal        the active Wi-Fi has been below switch_below for below_ms and a usable Wi-Fi is at least
 *                   switch_below + hysteresis: take the strongest such.
 *  8. better        a usable Wi-Fi has been stronger than the active Wi-Fi by hysteresis for hold_ms.
 *  9. leave-lte     LTE is active and a usable Wi-Fi is at least switch_below + hysteresis (any usable Wi-Fi when
 *                   lte is last-resort or never).
 * Entering LTE below T and leaving it above T + H, and needing H for hold_ms between Wi-Fis, is what keeps a
 * signal that wanders around a threshold from flapping.
 * An uplink in hold-down is not usable, except as the last choice of rules 1-3 when nothing else is (2026-11: before,
 * a dead active stayed active while the only uplink that worked again sat out its hold-down).
 * Best usable, for rules 1-5: Wi-Fi at or above switch_below (strongest first, then lower RTT), then LTE when
 * lte = fallback, then weaker Wi-Fi, then LTE when lte = last-resort.
 */
export function chooseUplink(snapshot: ArbiterSnapshot, policy: Policy, now: number): Decision {
  const prev = snapshot.memory ?? EMPTY_MEMORY;
  const byName = new Map(snapshot.uplinks.map((u) => [u.name, u]));
  const active = snapshot.active !== null ? byName.get(snapshot.active) : undefined;
  const usable = (u: UplinkView) => isUsable(u, policy, now) && u !== active;
  const candidates = snapshot.uplinks.map((u) => describe(u, u === active, isUsable(u, policy, now)));
  const tunnel = snapshot.tunnel ?? { last_rx_at: null, last_tx_at: null };
  const busy = tunnel.last_tx_at !== null && now - tunnel.last_tx_at <= policy.busy_window_ms;

  // Memory for the next call, computed from this snapshot whatever the decision.
  const memory: ArbiterMemory = { belowSince: null, betterSince: {}, busySince: busy ? (prev.busySince ?? now) : null };
  const activeSignal = active?.kind === 'wifi' ? (active.signal ?? -Infinity) : null;
  if (active?.kind === 'wifi' && activeSignal! < policy.switch_below) memory.belowSince = prev.belowSince ?? now;
  if (activeSignal !== null) {
    for (const u of snapshot.uplinks) {
      if (u.kind === 'wifi' && usable(u) && (u.signal ?? -Infinity) >= activeSignal + policy.hysteresis_db) {
        memory.betterSince[u.name] = prev.betterSince[u.name] ?? now;
      }
    }
  }
  const afterSwitch: ArbiterMemory = { belowSince: null, betterSince: {}, busySince: memory.busySince };

  const why = (rule: Why['rule'], text: string): Why => ({ rule, text, at: now, active: active?.name ?? null, candidates });
  const stay = (rule: Why['rule'], text: string): Decision => ({ action: 'stay', why: why(rule, text), memory });
  const go = (rule: Rule, to: UplinkView, text: string, failed = false): Decision => {
    const d: Decision = { action: 'switch', from: active?.name ?? null, to: to.name, rule, why: why(rule, `${text} → ${label(to)}`), memory: afterSwitch };
    if (failed && active) d.holdDown = { uplink: active.name, until: now + policy.hold_down_ms };
    return d;
  };
  const others = snapshot.uplinks.filter(usable);
  // With no active, or an active that is gone (rules 1-3), an uplink in hold-down beats nothing: hold-down ranks a
  // failed uplink last, it must not keep the tunnel on a dead path when it is the only one that works again.
  const held = snapshot.uplinks.filter((u) => u !== active && !usable(u) && isUsable({ ...u, state: u.state === 'hold-down' ? 'standby' : u.state, holdDownUntil: null }, policy, now));
  const bestFree = bestUsable(others, policy);
  const best = bestFree ?? bestUsable(held, policy);

  // 1. initial
  if (!active) {
    const missing = snapshot.active !== null ? `active ${snapshot.active} is unknown; ` : '';
    return best ? go('initial', best, `${missing}no active uplink`) : stay('none', `${missing}no active uplink and none usable`);
  }

  // 2. carrier-loss
  if (!active.carrier) {
    return best ? go('carrier-loss', best, `${active.name} lost carrier`, true) : stay('none', `${active.name} lost carrier; nothing usable to move to`);
  }

  // 3. blackhole
  const aliveAt = Math.max(active.probe.last_ok_at ?? -Infinity, tunnel.last_rx_at ?? -Infinity, snapshot.activeSince ?? -Infinity);
  const silentMs = now - aliveAt;
  const busySilentMs = busy ? now - Math.max(aliveAt, memory.busySince!) : 0;
  if (busySilentMs > policy.dead_busy_ms || silentMs > policy.dead_idle_ms) {
    const text = busySilentMs > policy.dead_busy_ms
      ? `${active.name} silent for ${fmtMs(busySilentMs)} while traffic flows (limit ${policy.dead_busy_ms} ms)`
      : `${active.name} silent for ${fmtMs(silentMs)} (limit ${policy.dead_idle_ms} ms)`;
    return best ? go('blackhole', best, text, true) : stay('none', `${text}; nothing usable to move to`);
  }

  // 4. forced
  const forced = snapshot.forced && now < snapshot.forced.at + policy.forced_hold_ms ? snapshot.forced : null;
  let forcedNote = '';
  if (forced) {
    if (forced.to === active.name) return stay('forced', `${active.name} pinned by operator until ${forced.at + policy.forced_hold_ms}`);
    const target = byName.get(forced.to);
    if (target && target.ready && target.carrier) return go('forced', target, `operator asked for ${forced.to}`);
    forcedNote = `; operator asked for ${forced.to}, which is ${target ? 'not ready' : 'unknown'}`;
  }

  // dwell
  const sinceSwitch = snapshot.activeSince === null ? Infinity : now - snapshot.activeSince;
  if (sinceSwitch < policy.dwell_ms) return stay('dwell', `${label(active)} active for ${fmtMs(sinceSwitch)} (dwell ${policy.dwell_ms} ms)${forcedNote}`);

  // 5. loss (a silence in progress is the blackhole rule's to judge: it names the failure right)
  const deadLimit = busy ? policy.dead_busy_ms : policy.dead_idle_ms;
  if (active.probe.loss >= policy.loss_max && Math.max(busySilentMs, busy ? 0 : silentMs) <= deadLimit / 2) {
    const text = `${active.name} loses ${pct(active.probe.loss)} of probes (limit ${pct(policy.loss_max)})`;
    return bestFree ? go('loss', bestFree, text, true) : stay('none', `${text}; nothing usable to move to${forcedNote}`);
  }

  const wifis = others.filter((u) => u.kind === 'wifi').sort(byWifiPreference);
  const strongEnough = policy.switch_below + policy.hysteresis_db;
  if (active.kind === 'wifi') {
    const belowFor = memory.belowSince === null ? 0 : now - memory.belowSince;
    const belowLong = memory.belowSince !== null && belowFor >= policy.below_ms;
    const belowText = `${label(active)} below ${policy.switch_below} dBm for ${fmtMs(belowFor)}`;
    // 6. lte-fallback
    if (belowLong && policy.lte === 'fallback' && !wifis.some((u) => sig(u) >= policy.switch_below)) {
      const lte = others.find((u) => u.kind === 'lte');
      if (lte) return go('lte-fallback', lte, `${belowText}; no other Wi-Fi at or above ${policy.switch_below} dBm`);
    }
    // 7. signal
    if (belowLong) {
      const target = wifis.find((u) => sig(u) >= strongEnough);
      if (target) return go('signal', target, belowText);
    }
    // 8. better
    const held = wifis.filter((u) => memory.betterSince[u.name] !== undefined && now - memory.betterSince[u.name]! >= policy.hold_ms);
    if (held[0]) {
      const t = held[0];
      return go('better', t, `${t.name} ${sig(t)} dBm beats ${label(active)} by ≥${policy.hysteresis_db} dB for ${fmtMs(now - memory.betterSince[t.name]!)}`);
    }
    return stay('none', `${label(active)} ${memory.belowSince !== null ? `below ${policy.switch_below} dBm for ${fmtMs(belowFor)}` : 'good'}${forcedNote}`);
  }

  // 9. leave-lte
  const leaveAt = policy.lte === 'fallback' ? strongEnough : -Infinity;
  const target = wifis.find((u) => sig(u) >= leaveAt);
  if (target) return go('leave-lte', target, `${active.name} is costed and ${target.name} ${sig(target)} dBm is good enough (≥${leaveAt} dBm)`);
  return stay('none', `${active.name} active; no Wi-Fi at or above ${strongEnough} dBm${forcedNote}`);
}

/** Could take the tunnel now: ready, carrier, last probes answered and loss under the limit, not held down. */
export function isUsable(u: UplinkView, policy: Policy, now: number): boolean {
  return (
    u.ready &&
    u.carrier &&
    u.state !== 'down' &&
    u.state !== 'hold-down' &&
    !(u.holdDownUntil != null && u.holdDownUntil > now) &&
    u.probe.last_ok_at !== null &&
    u.probe.loss < policy.loss_max
  );
}

function sig(u: UplinkView): number {
  return u.signal ?? -Infinity;
}

function byWifiPreference(a: UplinkView, b: UplinkView): number {
  return sig(b) - sig(a) || (a.probe.rtt_ms ?? Infinity) - (b.probe.rtt_ms ?? Infinity) || (a.name < b.name ? -1 : 1);
}

/** The best of the given usable uplinks for a failover (see the order above chooseUplink), or undefined. */
function bestUsable(usable: UplinkView[], policy: Policy): UplinkView | undefined {
  const wifis = usable.filter((u) => u.kind === 'wifi').sort(byWifiPreference);
  const lte = usable.find((u) => u.kind === 'lte');
  const good = wifis.filter((u) => sig(u) >= policy.switch_below);
  const weak = wifis.filter((u) => sig(u) < policy.switch_below);
  const order = [...good, ...(policy.lte === 'fallback' && lte ? [lte] : []), ...weak, ...(policy.lte === 'last-resort' && lte ? [lte] : [])];
  return order[0];
}

function describe(u: UplinkView, active: boolean, usable: boolean): CandidateWhy {
  const c: CandidateWhy = {
    name: u.name, kind: u.kind, state: u.state, signal: u.signal, rtt_ms: u.probe.rtt_ms, loss: u.probe.loss,
    ready: u.ready, carrier: u.carrier, active, usable,
  };
  if (u.ssid !== undefined) c.ssid = u.ssid;
  if (u.bssid !== undefined) c.bssid = u.bssid;
  if (u.holdDownUntil != null) c.hold_down_until = u.holdDownUntil;
  return c;
}

function label(u: UplinkView): string {
  const s = u.signal === null ? '' : ` ${u.signal} dBm`;
  const rtt = u.probe.rtt_ms === null ? '' : `, rtt ${Math.round(u.probe.rtt_ms)} ms`;
  return `${u.name}${s}${rtt}${u.probe.loss > 0 ? `, loss ${pct(u.probe.loss)}` : ''}`;
}

function fmtMs(ms: number): string {
  return Number.isFinite(ms) ? `${Math.round(ms)} ms` : 'ever';
}

function pct(x: number): string {
  return `${Math.round(x * 100)}%`;
}
