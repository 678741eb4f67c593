// Redundancy (pure): whether the tunnel's outer packets are also copied through a standby, through which one, and why.
// LTE carries copies only while its lte_budget has bytes left (its copies are counted against it: agent/start/copy.meter.ts).
import { inQuiet, isUsable, type ArbiterMemory, type ArbiterSnapshot, type UplinkView } from './choose.js';
import type { Policy } from './policy.js';
import { LOSS_WINDOW } from '../machines/probe.stats.js';

/** What the decision remembers between calls (the caller hands it back). */
export interface RedundancyMemory {
  /** The standby copies go through, null when none. */
  via: string | null;
  /** Since when copies are wanted (risk seen, or always), null while they are not. */
  since: number | null;
  /** Since when the risk has passed, while copies are still wanted (risk_off_ms of hysteresis). */
  clearSince: number | null;
}

export const NO_REDUNDANCY: Readonly<RedundancyMemory> = Object.freeze({ via: null, since: null, clearSince: null });

export interface RedundancyDecision {
  /** Copy through this uplink (null: no copies). */
  via: string | null;
  /** One line for people: why on (the risk, or the mode), or why off. */
  why: string;
  memory: RedundancyMemory;
}

/** Why the active is at risk (the first reason), or null: a Wi-Fi signal below risk_signal, probe loss at risk_loss,
 *  RTT at risk_rtt_ms, or its last two probes unanswered in a row while another path answered after the first of
 *  them was given up (HQ silent on every path loses every path's probes: copies cannot help, and with them flowing
 *  the active is judged on copyProof; 2026-12-03, lab far-end.test busy under the risk default: moved on HQ's silence),
 *  the first of the two not lost in a quiet spell (HQ coming back answers some path first).
 *  One unanswered probe is no risk: a realistic link loses one every hundred or so (copies for risk_off_ms after each),
 *  and while copies flow the active is dead only on two in a row (copyProof), so copies begun on one made a blackhole's
 *  switch wait for the second (2026-12-03, lab: failover-idle's switch at 2128 ms against 1.5 s with risk on). Two in a
 *  row are the proof copyProof asks: copies begun on them never delay the switch. */
export function riskOf(a: UplinkView, policy: Pick<Policy, 'risk_signal' | 'risk_loss' | 'risk_rtt_ms' | 'probe_interval_ms' | 'dead_idle_ms'>, now = 0, quiet: ArbiterMemory['quiet'] = [], others: UplinkView[] = []): string | null {
  if (a.kind === 'wifi' && a.signal !== null && a.signal < policy.risk_signal) return `${a.name} ${a.signal} dBm below risk_signal ${policy.risk_signal} dBm`;
  if (a.probe.loss >= policy.risk_loss && !farEndLoss(a, policy, now, quiet)) return `${a.name} probe loss ${Math.round(a.probe.loss * 100)}% at or above risk_loss ${Math.round(policy.risk_loss * 100)}%`;
  if (a.probe.rtt_ms !== null && a.probe.rtt_ms >= policy.risk_rtt_ms) return `${a.name} RTT ${Math.round(a.probe.rtt_ms)} ms at or above risk_rtt_ms ${policy.risk_rtt_ms} ms`;
  // Two in a row while another path answered since the run's first was given up: the active's path, not the far end.
  // Nor while the first of the last two was lost in a quiet spell: as HQ comes back another path may answer before the
  // active's next probe does (copies for risk_off_ms, from LTE's budget where it carries them).
  const f = a.probe.failing;
  if (f && f.last_at > f.since && !inQuiet(f.prev_at ?? f.since, quiet, policy, now) && others.some((u) => (u.probe.last_ok_at ?? -Infinity) > f.since)) return `${a.name} last two probes unanswered`;
  return null;
}

/**
 * The active's probe loss may be the far end's: a quiet spell (the concentrator heard on no path, ArbiterMemory.quiet)
 * is on, or ended within the loss window's span (its probes at the rest pace, probe_interval_ms). Those probes are not
 * the path's own (the loss rule leaves them out too: choose.ts ownLoss), and copies cannot help against HQ's silence.
 * 2026-12-03, lab (far-end.test with risk on): after every path was blackholed for 3 s, the active's loss window kept
 * 25 % for 20 s; copies ran, and the blackhole of the active alone that followed was found on copyProof (1.1 s) against
 * its 400 ms bound, or (idle) not in its 2 s at all.
 */
function farEndLoss(a: UplinkView, policy: Pick<Policy, 'probe_interval_ms'>, now: number, quiet: NonNullable<ArbiterMemory['quiet']>): boolean {
  const last = quiet.at(-1);
  if (!last) return false;
  return last.to === null || now - last.to < (a.probe.probes ?? LOSS_WINDOW) * policy.probe_interval_ms;
}

/** The risk has passed: no risk, and a Wi-Fi's signal at risk_signal + hysteresis_db or above (no flapping around it). */
function clearOf(a: UplinkView, policy: Policy, now: number, quiet: ArbiterMemory['quiet'], others: UplinkView[]): boolean {
  if (riskOf(a, policy, now, quiet, others) !== null) return false;
  return !(a.kind === 'wifi' && a.signal !== null && a.signal < policy.risk_signal + policy.hysteresis_db);
}

/**
 * Why a standby cannot carry copies, or null when it can: it must be usable (ready, carrier, addressed, probes
 * answered, not held down); LTE also needs bytes left of today's lte_budget, which its copies spend like its standby
 * probes (an unknown budget is none: deny by default).
 */
export function whyNoCopies(u: UplinkView, policy: Policy, now: number): string | null {
  if (!isUsable(u, policy, now)) return `${u.name} ${u.state === 'hold-down' || (u.holdDownUntil ?? -Infinity) > now ? 'held down' : !u.ready ? 'not ready' : 'not usable'}`;
  if (u.kind === 'lte' && !(u.budget_left !== undefined && u.budget_left > 0)) return `${u.name} past its lte_budget`;
  return null;
}

export function canCarryCopies(u: UplinkView, policy: Policy, now: number): boolean {
  return whyNoCopies(u, policy, now) === null;
}

/**
 * The redundancy wanted now. Modes: off (never), always (while a standby can carry copies), risk (from the moment the
 * active is at risk until it has been clear for risk_off_ms, and at least risk_off_ms once on). The standby: a Wi-Fi
 * when one can (the one already carrying copies while it can, else the strongest), LTE within its lte_budget only when
 * none can; a standby that cannot (whyNoCopies) is never used.
 */
export function chooseRedundancy(snapshot: Pick<ArbiterSnapshot, 'uplinks' | 'active' | 'memory'>, policy: Policy, now: number, prev: RedundancyMemory = NO_REDUNDANCY): RedundancyDecision {
  const off = (why: string): RedundancyDecision => ({ via: null, why, memory: { ...NO_REDUNDANCY } });
  if (policy.redundancy === 'off') return off('redundancy off');
  const active = snapshot.uplinks.find((u) => u.name === snapshot.active);
  if (!active) return off('no active uplink');
  let since = prev.since;
  let clearSince: number | null = null;
  let why: string;
  if (policy.redundancy === 'always') {
    since ??= now;
    why = 'redundancy always';
  } else {
    const quiet = snapshot.memory?.quiet ?? [];
    const others = snapshot.uplinks.filter((u) => u !== active);
    const risk = riskOf(active, policy, now, quiet, others);
    if (risk !== null) {
      since ??= now;
      why = risk;
    } else if (since !== null && !clearOf(active, policy, now, quiet, others)) {
      why = `${active.name} not clear yet (signal below ${policy.risk_signal + policy.hysteresis_db} dBm)`;
    } else if (since !== null) {
      clearSince = prev.clearSince ?? now;
      const until = Math.max(clearSince, since) + policy.risk_off_ms;
      if (now >= until) return off(`${active.name} clear for ${now - clearSince} ms`);
      why = `${active.name} clear since ${now - clearSince} ms (off at risk_off_ms ${policy.risk_off_ms})`;
    } else {
      return off(`${active.name} not at risk`);
    }
  }
  const standbys = snapshot.uplinks.filter((u) => u !== active && canCarryCopies(u, policy, now));
  // Wi-Fi first (strongest, and the one already carrying copies while it can); LTE, costed, only when no Wi-Fi can.
  const wifis = standbys.filter((u) => u.kind === 'wifi');
  const pool = wifis.length > 0 ? wifis : standbys;
  const kept = pool.find((u) => u.name === prev.via);
  const best = kept ?? [...pool].sort((a, b) => (b.signal ?? -Infinity) - (a.signal ?? -Infinity) || (a.name < b.name ? -1 : 1))[0];
  const memory: RedundancyMemory = { via: best?.name ?? null, since, clearSince };
  if (best) {
    const cost = best.kind === 'lte' ? ` (LTE: ${Math.round(best.budget_left! / 1000)} kB of lte_budget left)` : '';
    return { via: best.name, why: `${why}: copies through ${best.name}${cost}`, memory };
  }
  const nots = snapshot.uplinks.filter((u) => u !== active).map((u) => whyNoCopies(u, policy, now)).filter((w) => w !== null);
  return { via: null, why: `${why}: no standby can carry copies${nots.length ? ` (${nots.join(', ')})` : ''}`, memory };
}
