// The arbiter's decision (pure): from a snapshot of the uplinks and the clock, stay or switch, and why.
import { activeProbeIntervalMs, type Policy } from './policy.js';
import { LOSS_WINDOW } from '../machines/probe.stats.js';
import type { SwitchReason } from '../../shared/reasons.js';

export type UplinkKind = 'wifi' | 'lte';
export type UplinkState = 'down' | 'scanning' | 'associating' | 'addressing' | 'probing' | 'standby' | 'active' | 'degraded' | 'hold-down';

export interface ProbeStats {
  /** Smoothed round trip of recent replies, null before the first. */
  rtt_ms: number | null;
  /** A low percentile of the recent round trips (probe.stats rttLowOf): the path's own, without the agent's delays
   *  (absent in older drives: rtt_ms stands in). */
  rtt_low_ms?: number;
  /** Fraction of recent probes lost, 0..1: those lost among the last 20 over 20, even while fewer have been sent (a
   *  shorter window makes loss_max jumpy; probe.stats lossOf). Older drives have it over those sent. */
  loss: number;
  /** How many probes the window holds (fewer than 20 at first). With `failing.lost_before`, it lets the decision
   *  take the probes lost while the far end was silent out of the path's own loss (absent in older drives). */
  probes?: number;
  /** When the last reply arrived (same clock as `now`), null if never. */
  last_ok_at: number | null;
  /** Present while the latest probes go unanswered: when the first and the latest of them were given up (a probe is
   *  given up when it times out, so up to the probe timeout after it was sent), and when the other lost probes of the
   *  loss window were; `prev_at`, when the run is two or more long and known, when the one before the latest was
   *  (drives do not record it). */
  failing?: { since: number; last_at: number; lost_before: number[]; prev_at?: number };
  /** When the probe now out was sent, while one is (its answer or its timeout is evidence still to come). */
  in_flight_since?: number;
  /** When the last answered probe was sent. */
  last_ok_sent_at?: number;
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
  /** LTE: bytes left of today's lte_budget (standby probes and redundant copies both spend it); absent when unknown. */
  budget_left?: number;
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
  /** Rule 3 found the far end (the concentrator) silent on every path: on which active, when the concentrator was
   *  last heard on any path, and since when the verdict holds. Absent otherwise. */
  farEnd?: { uplink: string; lastHeard: number; since: number };
  /** The concentrator was heard again on another path at `at` while the active was still silent: the active has
   *  dead_idle_ms from then (the far end's silence is not held against it). Until the active is heard or left. */
  farEndBack?: { uplink: string; at: number };
  /** These uplinks' probe loss counts probes lost while the far end was silent (the concentrator last heard at
   *  `lastHeard`): once they have answered again, those probes are not held against them (the active: the loss rule;
   *  the others: being usable): while their latest probe was answered, none of their loss is; while they fail again,
   *  only the probes lost outside quiet spells are (ownLoss). Each is dropped once it has answered again and its loss
   *  is under loss_max; kept across switches. */
  farEndLoss?: { uplinks: string[]; lastHeard: number };
  /** The latest spells (at most QUIET_KEPT) when the concentrator was heard on no path for dead_busy_ms or more: from
   *  its last answer before to its first answer after (null while it lasts). Probes lost then are not a path's own
   *  losses. Kept across switches. */
  quiet?: Array<{ from: number; to: number | null }>;
}

/** How many quiet spells the memory keeps (a flapping HQ link: the loss windows of LTE standbys span minutes). */
export const QUIET_KEPT = 4;

export const EMPTY_MEMORY: Readonly<ArbiterMemory> = Object.freeze({ belowSince: null, betterSince: Object.freeze({}), busySince: null });

export interface ArbiterSnapshot {
  uplinks: UplinkView[];
  /** The uplink carrying the tunnel, null before the first choice. */
  active: string | null;
  /** When the active took the tunnel (the switch's confirmation). */
  activeSince: number | null;
  /** The tunnel's traffic on the active path: when an (authenticated) packet was last received and sent. */
  tunnel?: { last_rx_at: number | null; last_tx_at: number | null; /** packets/ms while rx flowed */ rx_rate?: number };
  /** An operator-forced switch (`roamlink switch UPLINK`) requested at `at`; it pins for policy.forced_hold_ms. */
  forced?: { to: string; at: number } | null;
  /** The memory returned by the previous call (EMPTY_MEMORY at start). */
  memory?: ArbiterMemory;
  /** Copies of the outer packets go through a standby (redundancy.ts): the concentrator may answer through either
   *  path, so the tunnel's packets since they began prove neither; the active's life is its own probes. */
  copying?: Copying | null;
  /** With two HQs (concentrator.endpoints): the other HQ asked through the active's own path when the active went quiet
   *  (a witness ask, answered whatever VRRP says). Its answer says the active's path works: the silence is HQ's. */
  otherHq?: OtherHqAsk | null;
}

/** The other HQ's probe echo asked through `via` (its own address) at `sent_at`; answered at `answered_at`, or given up
 *  (its timeout, or no way to send it) at `given_up_at`; both null while it is out. */
export interface OtherHqAsk {
  via: string;
  sent_at: number;
  answered_at: number | null;
  given_up_at: number | null;
}

/** Copies flowing: through which standby, since when (kept while they move to another standby), and the tunnel's last
 *  packet received when they began (null: none yet; absent: unknown, their start stands in). */
export interface Copying {
  via: string;
  since: number;
  rx_at?: number | null;
}

/** The rules (their words are the switch log's reasons, shared/reasons.ts; the watchdog's is the arbiter's own). */
export type Rule = Exclude<SwitchReason, 'watchdog'>;

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
  /** The rule that fired; for a stay, the rule that held (`far-end`, `dwell`, `forced` pin) or `none`. */
  rule: Rule | 'far-end' | 'dwell' | 'none';
  /** One line for people: `wlan0 -81 dBm below -75 dBm for 1200 ms; wlan1 -62 dBm ready`. */
  text: string;
  at: number;
  active: string | null;
  candidates: CandidateWhy[];
}

export type Decision =
  | {
      action: 'stay'; why: Why; memory: ArbiterMemory;
      /** When the active's silence (rule 3, counted from its last sign of life) passes its dead limit if nothing is
       *  heard before: the time to decide again with no new fact (the caller's timer). Absent with no active, and
       *  past the limit (while copies flow, the active's own probes bring the proof: copyProof). */
      wakeAt?: number;
    }
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
 *                   (counted from when it started flowing), or dead_idle_ms in any case: move (to a standby that has
 *                   not failed since the active was last heard, when there is one), hold down.
 *                   Fast check, while traffic flows both ways: the tunnel's packets stopped coming back for longer than
 *                   dead_packets take at the rate they came (suspectAfterMs), the active's own probe sent since then is
 *                   unanswered for dead_fast_ms (or 3 of its RTTs), and another path answered since then: dead now
 *                   (a path at 1000 packets/s: ~50-100 ms). A sender that pauses is not a dead path: its probe answers.
 *                   Only where replies are expected through the active (expectsReplies): no copies flowing, and the
 *                   vehicle still sending into the silence. While copies flow the active is dead on its own probes only
 *                   (copyProof).
 *     far-end       ...unless the concentrator is silent on every path: stay, hold nothing down (see farEndOf). When
 *                   another path hears it again first, the active has dead_idle_ms from then. An active not heard
 *                   since it took the tunnel is judged against dead_idle_ms too (its last probe may still be out).
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
  // Probes lost while the far end was silent are not the path's (ArbiterMemory.farEndLoss).
  const fel = prev.farEndLoss;
  const answeredSince = (u: UplinkView) => fel !== undefined && (u.probe.last_ok_at ?? -Infinity) > fel.lastHeard;
  const quiet = quietSpells(snapshot, snapshot.tunnel ?? { last_rx_at: null }, prev.quiet ?? [], policy, now);
  // Its loss as the rules judge it: after a far-end silence it has answered again since, without that silence's probes.
  const lossOf = (u: UplinkView) => (fel !== undefined && fel.uplinks.includes(u.name) && answeredSince(u) ? ownLoss(u.probe, quiet, policy, now) : u.probe.loss);
  const usableNow = (u: UplinkView) => isUsable({ ...u, probe: { ...u.probe, loss: lossOf(u) } }, policy, now);
  const usable = (u: UplinkView) => usableNow(u) && u !== active;
  const candidates = snapshot.uplinks.map((u) => describe(u, u === active, usableNow(u)));
  const seen = snapshot.tunnel ?? { last_rx_at: null, last_tx_at: null };
  const tunnel = snapshot.copying ? { ...seen, last_rx_at: rxBefore(seen.last_rx_at, snapshot.copying) } : seen;
  const busy = tunnel.last_tx_at !== null && now - tunnel.last_tx_at <= policy.busy_window_ms;

  // Memory for the next call, computed from this snapshot whatever the decision.
  const memory: ArbiterMemory = { belowSince: null, betterSince: {}, busySince: busy ? (prev.busySince ?? now) : null };
  if (fel) {
    // Each kept until it has answered since (no probe of the silence is still out) and its loss is under loss_max.
    const still = fel.uplinks.filter((n) => { const u = byName.get(n); return u !== undefined && (!answeredSince(u) || u.probe.loss >= policy.loss_max); });
    if (still.length > 0) memory.farEndLoss = { uplinks: still, lastHeard: fel.lastHeard };
  }
  if (quiet.length > 0) memory.quiet = quiet;
  const activeSignal = active?.kind === 'wifi' ? (active.signal ?? -Infinity) : null;
  if (active?.kind === 'wifi' && activeSignal! < policy.switch_below) memory.belowSince = prev.belowSince ?? now;
  if (activeSignal !== null) {
    for (const u of snapshot.uplinks) {
      if (u.kind === 'wifi' && usable(u) && (u.signal ?? -Infinity) >= activeSignal + policy.hysteresis_db) {
        memory.betterSince[u.name] = prev.betterSince[u.name] ?? now;
      }
    }
  }
  const afterSwitch: ArbiterMemory = {
    belowSince: null, betterSince: {}, busySince: memory.busySince,
    ...(memory.farEndLoss ? { farEndLoss: memory.farEndLoss } : {}), ...(memory.quiet ? { quiet: memory.quiet } : {}),
  };

  const why = (rule: Why['rule'], text: string): Why => ({ rule, text, at: now, active: active?.name ?? null, candidates });
  // Set by rule 3 while the active is silent but not yet past its limit: the stays below carry it (Decision.wakeAt).
  let wakeAt: number | undefined;
  const stay = (rule: Why['rule'], text: string): Decision => ({ action: 'stay', why: why(rule, text), memory, ...(wakeAt !== undefined ? { wakeAt } : {}) });
  const go = (rule: Rule, to: UplinkView, text: string, failed = false): Decision => {
    const d: Decision = { action: 'switch', from: active?.name ?? null, to: to.name, rule, why: why(rule, `${text} → ${label(to)}`), memory: afterSwitch };
    if (failed && active) d.holdDown = { uplink: active.name, until: now + policy.hold_down_ms };
    return d;
  };
  const others = snapshot.uplinks.filter(usable);
  // With no active, or an active that is gone (rules 1-3), an uplink in hold-down beats nothing: hold-down ranks a
  // failed uplink last, it must not keep the tunnel on a dead path when it is the only one that works again.
  const held = snapshot.uplinks.filter((u) => u !== active && !usable(u) && usableNow({ ...u, state: u.state === 'hold-down' ? 'standby' : u.state, holdDownUntil: null }));
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

  // 3. blackhole, unless it is the far end that went silent
  const heardAt = Math.max(active.probe.last_ok_at ?? -Infinity, tunnel.last_rx_at ?? -Infinity);
  const far = farEndOf(snapshot, active, heardAt, busy ? memory.busySince! : null, prev, quiet, policy, now);
  if (far.verdict) {
    memory.farEnd = { uplink: active.name, lastHeard: far.lastHeard, since: far.since };
    memory.farEndLoss = { uplinks: snapshot.uplinks.map((u) => u.name), lastHeard: far.lastHeard };
    return stay('far-end', far.text);
  }
  if (far.backAt !== null) memory.farEndBack = { uplink: active.name, at: far.backAt };
  if (far.waiting) return stay('far-end', far.waiting);
  const backAt = memory.farEndBack?.at ?? -Infinity;
  const aliveAt = Math.max(heardAt, snapshot.activeSince ?? -Infinity, backAt);
  const silentMs = now - aliveAt;
  // Probes go one at a time and a lost one is given up only at the probe timeout: an active not heard since it took
  // the tunnel (its probe sent at the standby pace may still be out) or since a far-end silence (its probe sent during
  // it) is judged against dead_idle_ms, from when it took the tunnel or the concentrator was heard again.
  const unproven = (snapshot.activeSince !== null && heardAt < snapshot.activeSince) || memory.farEndBack !== undefined;
  const busySilentMs = busy && !unproven ? now - Math.max(aliveAt, memory.busySince!) : 0;
  const fast = busy && !unproven && fastApplies(tunnel.last_rx_at, now, policy) ? fastDead(active, others, tunnel, !!snapshot.copying, aliveAt, policy, now) : null;
  if (fast) {
    const target = bestUsable(fast.answering, policy)!;
    return go('blackhole', target, fast.text, true);
  }
  // While copies flow, the concentrator answers through either path (the copy it authenticated last), so the tunnel's
  // silence proves nothing of the active's path: it is dead on its own probes' word only (copyProof).
  const proof = snapshot.copying ? copyProof(active.probe, busy ? policy.dead_busy_ms : policy.dead_idle_ms, now) : '';
  if ((busySilentMs > policy.dead_busy_ms || silentMs > policy.dead_idle_ms) && proof !== null) {
    const since = backAt === aliveAt ? ' since the concentrator answered again' : '';
    const text = (busySilentMs > policy.dead_busy_ms
      ? `${active.name} silent for ${fmtMs(busySilentMs)}${since} while traffic flows (limit ${policy.dead_busy_ms} ms)`
      : `${active.name} silent for ${fmtMs(silentMs)}${since} (limit ${policy.dead_idle_ms} ms)`) + proof;
    // A standby that has failed since the active was last heard may share its trouble: one that answers goes first.
    const answering = others.filter((u) => !(u.probe.failing && u.probe.failing.last_at > heardAt));
    const target = (answering.length < others.length ? bestUsable(answering, policy) : undefined) ?? best;
    return target ? go('blackhole', target, text, true) : stay('none', `${text}; nothing usable to move to`);
  }
  // Not past either limit yet: the first moment it would be, with nothing heard meanwhile (a limit is passed when the
  // silence is longer than it: one ms after). Idle, no other event need come by then (2026-12-04, lab: decided at the
  // next probe given up or counter heartbeat, up to 250 ms after the limit).
  if (Number.isFinite(aliveAt) && !(busySilentMs > policy.dead_busy_ms || silentMs > policy.dead_idle_ms)) {
    const idleAt = aliveAt + policy.dead_idle_ms + 1;
    wakeAt = busy && !unproven ? Math.min(idleAt, Math.max(aliveAt, memory.busySince!) + policy.dead_busy_ms + 1) : idleAt;
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

  // 5. loss (a silence in progress is the blackhole rule's to judge: it names the failure right; probes lost while the
  // far end was silent are not the active's: until it answered again none of its loss counts, then only its own)
  const deadLimit = busy ? policy.dead_busy_ms : policy.dead_idle_ms;
  const outageLoss = !!memory.farEndLoss?.uplinks.includes(active.name) && !answeredSince(active);
  const activeLoss = lossOf(active);
  if (activeLoss >= policy.loss_max && !outageLoss && Math.max(busySilentMs, busy ? 0 : silentMs) <= deadLimit / 2) {
    const outside = activeLoss < active.probe.loss ? ` outside far-end silences (${pct(active.probe.loss)} in all)` : '';
    const text = `${active.name} loses ${pct(activeLoss)} of probes${outside} (limit ${pct(policy.loss_max)})`;
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

/**
 * While copies flow, what proves the active's path dead (a silence alone does not): two of its own probes unanswered in
 * a row, the second given up too or out for half the dead limit. Returns the why's words for it, or null. Nothing is
 * lost meanwhile (the copies carry the tunnel), so one lost probe is not enough.
 * 2026-12-03, lab: the copies began while the active was probed at its 1 s rest pace; 432 ms later, with no probe even
 * sent, it was left on 'blackhole'. Then, at load 15, one probe of a healthy active given up (500 ms) did the same.
 */
export function copyProof(p: ProbeStats, deadLimitMs: number, now: number): string | null {
  const f = p.failing;
  if (!f) return null;
  if (f.last_at > f.since) return `, its last probes unanswered (the first given up ${fmtMs(now - f.since)} ago; copies flowing)`;
  if (p.in_flight_since !== undefined && p.in_flight_since >= f.since && now - p.in_flight_since >= deadLimitMs / 2) {
    return `, a probe given up ${fmtMs(now - f.since)} ago and the next unanswered for ${fmtMs(now - p.in_flight_since)} (copies flowing)`;
  }
  return null;
}

/** The tunnel's last packet as proof of the active's path: the last before the copies began. Not their start: a
 *  silence that began the copies (the active's probes failing) is not restarted by HQ answering through them
 *  (2026-12-03, lab: failover-idle's switch at 2128 ms against 1.5 s with redundancy risk). */
export function rxBefore(lastRxAt: number | null, copying: Copying): number | null {
  if (lastRxAt === null) return null;
  const before = copying.rx_at === undefined ? copying.since : copying.rx_at;
  return before === null ? null : Math.min(lastRxAt, before);
}

/** How long a silence of the tunnel's packets, at this rate (packets/ms), starts the fast check: the time dead_packets
 *  take; null when that is no shorter than dead_busy_ms (a slow path: the slow rule is as quick) or the rate is unknown. */
export function suspectAfterMs(rxRate: number | undefined, policy: Pick<Policy, 'dead_packets' | 'dead_busy_ms'>): number | null {
  if (policy.dead_packets === 0 || rxRate === undefined || !(rxRate > 0)) return null;
  const ms = policy.dead_packets / rxRate;
  return ms < policy.dead_busy_ms ? ms : null;
}

/**
 * The fast check judges the first dead_busy_ms of a silence of the tunnel's packets; past that the slow rules govern
 * (and the active's busy probe pace). Within it, an answer of the active's probe is its last sign of life: the check
 * starts again from there (one more probe of the active, out of pace, after dead_packets' time), so a sender that
 * pauses costs a probe every ~30 ms for dead_busy_ms, then the busy pace's.
 * 2026-12-03, lab at load 15: the tunnel's packets stopped (wireguard-go stalled) 40 ms before the blackhole landed;
 * the fast probe answered, and, judged only once per silence, the blackhole waited for the slow rule: found in 446 ms.
 */
export function fastApplies(lastRxAt: number | null, now: number, policy: Pick<Policy, 'dead_busy_ms'>): boolean {
  return lastRxAt !== null && now - lastRxAt <= policy.dead_busy_ms;
}

/**
 * The fast check judges the tunnel's silence only where replies are expected through the active: not while copies flow
 * (the concentrator answers through the copy it authenticated last, so the active's share of what comes back is
 * unknown), and only while the vehicle kept sending into the silence (a packet out at least half of `suspectMs` after
 * the last one came back: a sender that stopped expects nothing back).
 * Half, not the whole (as before 2026-12-04): both times are the counter readings' (a packet dated to the reading
 * before the one that counted it), so a packet sent as the silence reached suspectMs is dated up to a reading interval
 * earlier, and the whole cost the fast check one more reading: its probe went 41-48 ms after the last packet back
 * instead of about 30 (lab, 1000 packets/s, readings every 10 ms). A sender that stops sends nothing into the silence
 * either way; one that stops just after the replies costs a probe of the active (answered), not a switch.
 */
export function expectsReplies(t: { last_rx_at: number | null; last_tx_at: number | null }, copying: boolean, suspectMs: number): boolean {
  return !copying && t.last_rx_at !== null && t.last_tx_at !== null && t.last_tx_at - t.last_rx_at >= suspectMs / 2;
}

/**
 * How long the active's probe of the fast check may go unanswered: dead_fast_ms, or 3 of its RTTs when longer. The RTT
 * is the path's low one (rtt_low_ms), not the smoothed: the smoothed RTT is timed to when the agent's loop handled each
 * answer, so it grows with the machine's load, and the deadline with it (2026-12-04, lab at load 3.5, Wi-Fi RTTs of
 * 8-12 ms: a smoothed 17-25 ms made the deadline 51-76 ms instead of 40). A loaded agent's late handling of the active's
 * answer cannot fake a dead path: another path's answer counts only to a probe sent half the deadline later (fastDead).
 */
export function fastDeadlineMs(active: Pick<UplinkView, 'probe'>, policy: Pick<Policy, 'dead_fast_ms'>): number {
  return Math.max(policy.dead_fast_ms, 3 * (active.probe.rtt_low_ms ?? active.probe.rtt_ms ?? 0));
}

/**
 * When the others are asked, after the active's probe of the fast check went out: half its deadline (at least 1.5 of
 * its RTTs, 20 ms at the least). Only their answers to probes sent that late count (fastDead): the active's own answer,
 * were its path alive, would have reached the host before they were even sent, so an agent that stalls and then
 * handles every answer at once still handles the active's first (the kernel queues them in order). Half, not the
 * whole deadline (as before 2026-12-03): the verdict comes at the deadline rather than a standby's RTT after it.
 */
export function othersAfterMs(deadlineMs: number): number {
  return Math.ceil(deadlineMs / 2);
}

/**
 * The fast check of rule 3 (the active's last sign of life, `aliveAt`, is a tunnel packet): silent past suspectAfterMs,
 * its own probe sent since unanswered past max(dead_fast_ms, 3 RTTs), and another usable path answered a probe sent
 * othersAfterMs after the active's (standbysToAsk asks the active first, the others once its probe is that old).
 * Returns those that answered and the why, or null.
 */
function fastDead(active: UplinkView, others: UplinkView[], tunnel: NonNullable<ArbiterSnapshot['tunnel']>, copying: boolean, aliveAt: number, policy: Policy, now: number): { answering: UplinkView[]; text: string } | null {
  const rxRate = tunnel.rx_rate;
  const suspect = suspectAfterMs(rxRate, policy);
  if (suspect === null || now - aliveAt <= suspect || !expectsReplies(tunnel, copying, suspect)) return null;
  // Its probe sent since: still out (in_flight_since), or already given up (at most probe_timeout_ms after it was sent).
  const f = active.probe.failing;
  const sent = active.probe.in_flight_since ?? (f && f.last_at - policy.probe_timeout_ms >= aliveAt ? f.last_at - policy.probe_timeout_ms : undefined);
  if (sent === undefined || sent < aliveAt) return null;
  const deadline = fastDeadlineMs(active, policy);
  if (now - sent <= deadline && !(f && f.last_at >= aliveAt && active.probe.in_flight_since === undefined)) return null;
  // Another path's probe sent othersAfterMs after the active's, answered while the active's is not: an ordering that
  // load does not fake (a stalled machine delays both answers alike; the active's, sent first, would come first).
  const answering = others.filter((u) => !u.probe.failing && (u.probe.last_ok_sent_at ?? -Infinity) >= sent + othersAfterMs(deadline));
  if (answering.length === 0) return null;
  const pps = Math.round(rxRate! * 1000);
  return {
    answering,
    text: `${active.name} silent for ${fmtMs(now - aliveAt)} at ${pps} packets/s (fast check after ${fmtMs(suspect)}), its probe unanswered for ${fmtMs(now - sent)} (limit ${fmtMs(deadline)}) while ${answering.map((u) => u.name).join(', ')} ${answering.length === 1 ? 'answers' : 'answer'}`,
  };
}

/**
 * Is it the far end (the concentrator, or HQ's link) that went silent, rather than the active's path? The concentrator
 * answers probes through every uplink's own path, so when it restarts every path goes silent at once. The verdict:
 *  - the active is silent past its dead limit, counted as rule 3 does but from its last sign of life (probe reply or
 *    tunnel packet; the grace after a switch is no sign of life), and
 *  - no other path's latest probe was answered after that, or after the active took the tunnel when that is later (a
 *    new active's last answer dates from its standby pace), give or take one of the active's probe intervals (within
 *    which it may have gone silent with the far end): a standby that answers says the far end is up, and
 *  - at least one other path has failed after the concentrator was last heard on ANY path: its latest probe was given
 *    up after that, in a run of failures that began no earlier than dead_busy_ms before it, and it lost no other probe
 *    of its loss window but while nothing was heard on any path (a path failing since long before, or one that loses
 *    probes now and then, says nothing about the far end: its trouble is its own);
 *  or the verdict already held on this active and nothing has been heard on any path since (a witness that goes away
 *  does not end it). Witnesses are the other uplinks with carrier that have answered at some time, held-down included.
 *
 * Why it does not delay a blackhole of the active alone (but in one case, below): a standby whose latest probe since
 * the active went silent was answered rules the verdict out, and one not probed since is no evidence; so the move
 * happens exactly as before unless every standby probed since has failed, i.e. unless no path is known to work. Standbys are probed about once a second
 * (LTE at its budget's pace, seconds), so at the dead limit there usually is no standby probe since, and no verdict.
 * The one way a single-path blackhole is taken for the far end: a standby that lost nothing else lately loses, on its
 * own, the probe it sent around the time the active went silent, and no other path has answered since (simulated,
 * with standbys losing 5% of their probes: about 1% of such blackholes); the verdict then ends at the next answer of
 * any path (a Wi-Fi standby's next probe, about 1 s; LTE's budget pace at worst), and the active has dead_idle_ms
 * from then (its own probe of the silence may still be out).
 * Every other path is probed at once when the active has been silent for half its dead limit (standbysToAsk; LTE
 * within its budget). While such a probe is out (`in_flight_since`) and none has answered, the decision waits for it,
 * up to dead_idle_ms: an answer means move (at the dead limit, as before: a standby answers in its RTT), its timeout
 * means the far end (2026-11, before it: at the 1 s standby pace no standby probe could have failed by dead_busy_ms,
 * and the first decision of a far-end silence under traffic was a blackhole switch).
 * With two HQs, the other HQ is asked too, through the active's own path (standbysToAsk; its probe echo answers such a
 * witness ask whatever VRRP says): its answer is the verdict by itself, for it says the active's path works while our
 * HQ is silent on it. The one witness when no other uplink can answer (a single uplink, LTE's day budget spent, LTE
 * asked within min_interval_ms of the last ask): 2026-12, before it, such a silence was a blackhole switch to a path
 * no better, and the HQ failover, whose silence restarts with a new active, came late.
 * Caveats (2026-12): a standby that loses its urgent probe on its own (a lossy path) delays the move of a real
 * blackhole until some path answers again (its next probe, about 1 s). Probes lost while the concentrator's probe
 * responder restarts and WireGuard keeps the tunnel up count as the paths' own for their loss window (20 probes).
 * Two Wi-Fi radios behind one site's backhaul fail together: that is taken for the far end until LTE answers.
 *
 * When the verdict ends because another path heard the concentrator again while the active is still silent, `backAt`
 * says when: the active's silence then counts from it (against dead_idle_ms).
 */
function farEndOf(snapshot: ArbiterSnapshot, active: UplinkView, heardAt: number, busySince: number | null, prev: ArbiterMemory, quiet: NonNullable<ArbiterMemory['quiet']>, policy: Policy, now: number):
  { verdict: true; lastHeard: number; since: number; text: string } | { verdict: false; backAt: number | null; waiting?: string } {
  const was = prev.farEnd?.uplink === active.name ? prev.farEnd : undefined;
  const heard = (u: UplinkView) => u.probe.last_ok_at ?? -Infinity;
  const lastHeard = Math.max(heardAt, ...snapshot.uplinks.map(heard));
  let backAt = prev.farEndBack?.uplink === active.name && prev.farEndBack.at > heardAt ? prev.farEndBack.at : null;
  if (was && lastHeard > was.lastHeard) {
    // Heard again: normal judgement. Another path first, the active still silent: its silence restarts from then.
    if (heardAt <= was.lastHeard) backAt = Math.max(backAt ?? -Infinity, Math.min(...snapshot.uplinks.map(heard).filter((t) => t > was.lastHeard)));
    return { verdict: false, backAt };
  }
  const no = { verdict: false as const, backAt };
  if (!Number.isFinite(heardAt)) return no;
  const silentMs = now - heardAt;
  const busySilentMs = busySince !== null ? now - Math.max(heardAt, busySince) : 0;
  if (!(busySilentMs > policy.dead_busy_ms || silentMs > policy.dead_idle_ms)) return no;
  const witnesses = snapshot.uplinks.filter((u) => u !== active && u.carrier && u.probe.last_ok_at !== null);
  const answeredAfter = Math.max(heardAt, snapshot.activeSince ?? -Infinity) + activeProbeIntervalMs(policy, busySince !== null);
  if (witnesses.some((u) => !u.probe.failing && u.probe.last_ok_at! > answeredAfter)) return no;
  const held = was !== undefined && was.lastHeard === lastHeard;
  // The other HQ asked through the active itself during this silence (two HQs): its answer says the active's path
  // works and ours does not answer on it: the far end, whatever the other uplinks could say (none may: a single uplink,
  // LTE's day budget spent or asked within min_interval_ms). Its timeout says nothing (the path, or both HQs).
  const o = snapshot.otherHq;
  const otherAsk = o && o.via === active.name && o.sent_at >= heardAt ? o : null;
  if (otherAsk?.answered_at != null) {
    return {
      verdict: true,
      lastHeard,
      since: held ? was.since : now,
      text: `concentrator silent on every path: nothing heard for ${fmtMs(now - lastHeard)} (${active.name} silent for ${fmtMs(silentMs)}), while the other HQ answers through ${active.name} (${fmtMs(otherAsk.answered_at - otherAsk.sent_at)}): the path works; staying on ${active.name}, nothing held down`,
    };
  }
  const failed = witnesses.filter((u) => failedSince(u, lastHeard, quiet, policy, now)).map((u) => u.name);
  // A path probed at once when the active went quiet (standbysToAsk) and not answered yet: its answer says "move", its
  // timeout "far end". Waited for (not longer than dead_idle_ms), unless the verdict already holds. The other HQ's ask
  // through the active likewise (its answer says "far end"), but not longer than dead_busy_ms from when it went: sent at
  // half the dead limit, it has had that long, and a real blackhole of the only path that could answer is moved no more
  // than dead_busy_ms / 2 later for it.
  const pending = held ? [] : witnesses.filter((u) => u.probe.in_flight_since !== undefined && now - u.probe.in_flight_since <= policy.dead_idle_ms && !failed.includes(u.name)).map((u) => u.name);
  if (!held && otherAsk && otherAsk.given_up_at === null && now - otherAsk.sent_at <= policy.dead_busy_ms) pending.push(`the other HQ through ${active.name}`);
  if (pending.length > 0) {
    return { ...no, waiting: `${active.name} silent for ${fmtMs(silentMs)}; is it the far end? waiting for ${pending.join(', ')} probed at once${failed.length ? ` (${failed.join(', ')} failed)` : ''}` };
  }
  if (failed.length === 0 && !held) return no;
  const also = failed.length === 0 ? 'no path has answered since' : `${failed.join(', ')} ${failed.length === 1 ? 'fails' : 'fail'} too, none answers`;
  return {
    verdict: true,
    lastHeard,
    since: held ? was.since : now,
    text: `concentrator silent on every path: nothing heard for ${fmtMs(now - lastHeard)} (${active.name} silent for ${fmtMs(silentMs)}), ${also}; staying on ${active.name}, nothing held down`,
  };
}

/**
 * Its latest probe was given up after `t`, in a run of failures that began at most dead_busy_ms before `t`, on a path
 * that lost nothing else lately but during quiet spells (a path that loses probes now and then may lose one on its own
 * at any time). A probe lost in a spell is given up up to its timeout after the spell: dead_idle_ms of slack.
 */
function failedSince(u: UplinkView, t: number, quiet: NonNullable<ArbiterMemory['quiet']>, policy: Policy, now: number): boolean {
  const f = u.probe.failing;
  if (!f || !(f.last_at > t && f.since >= t - policy.dead_busy_ms)) return false;
  return f.lost_before.every((at) => inQuiet(at, quiet, policy, now));
}

/** A probe given up at `at` was lost in a quiet spell (given up up to dead_idle_ms after it: its timeout, and slack). */
export function inQuiet(at: number, quiet: NonNullable<ArbiterMemory['quiet']>, policy: Pick<Policy, 'dead_idle_ms'>, now: number): boolean {
  return quiet.some((q) => at >= q.from && at <= (q.to ?? now) + policy.dead_idle_ms);
}

/**
 * The path's own loss after a far-end silence, once it has answered again: none while its latest probe was answered;
 * while it fails again, its loss without the earlier probes lost in quiet spells (the run now failing counts whole).
 * Without the window's size (`probes`, absent in older drives) a failing path's loss counts whole, as before 2026-12.
 */
function ownLoss(p: ProbeStats, quiet: NonNullable<ArbiterMemory['quiet']>, policy: Policy, now: number): number {
  if (!p.failing) return 0;
  if (p.probes === undefined || p.probes === 0) return p.loss;
  const farLost = p.failing.lost_before.filter((at) => inQuiet(at, quiet, policy, now)).length;
  const over = Math.max(p.probes, LOSS_WINDOW);
  return Math.max(0, Math.round(p.loss * over) - farLost) / over;
}

/**
 * The quiet spells after this snapshot: the open one closes when anything is heard again (at the first answer after
 * it); a new one opens when nothing has been heard on any path (probe replies, tunnel packets) for dead_busy_ms.
 */
function quietSpells(snapshot: ArbiterSnapshot, tunnel: { last_rx_at: number | null }, prev: NonNullable<ArbiterMemory['quiet']>, policy: Policy, now: number): NonNullable<ArbiterMemory['quiet']> {
  const answers = [tunnel.last_rx_at ?? -Infinity, ...snapshot.uplinks.map((u) => u.probe.last_ok_at ?? -Infinity)];
  const lastHeard = Math.max(...answers);
  let spells = prev;
  const open = spells.at(-1)?.to === null ? spells.at(-1)! : null;
  if (open && lastHeard > open.from) spells = [...spells.slice(0, -1), { from: open.from, to: Math.min(...answers.filter((a) => a > open.from)) }];
  const last = spells.at(-1);
  if (Number.isFinite(lastHeard) && now - lastHeard >= policy.dead_busy_ms && last?.to !== null) {
    spells = [...spells, { from: lastHeard, to: null }].slice(-QUIET_KEPT);
  }
  return spells;
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
