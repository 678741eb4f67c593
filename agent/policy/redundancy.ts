// Redundancy (pure): whether the tunnel's outer packets are also copied through a standby, through which one, and why.
import { isUsable, type ArbiterSnapshot, type UplinkView } from './choose.js';
import type { Policy } from './policy.js';

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
 *  RTT at risk_rtt_ms, or its latest probes unanswered. */
export function riskOf(a: UplinkView, policy: Pick<Policy, 'risk_signal' | 'risk_loss' | 'risk_rtt_ms'>): string | null {
  if (a.kind === 'wifi' && a.signal !== null && a.signal < policy.risk_signal) return `${a.name} ${a.signal} dBm below risk_signal ${policy.risk_signal} dBm`;
  if (a.probe.loss >= policy.risk_loss) return `${a.name} probe loss ${Math.round(a.probe.loss * 100)}% at or above risk_loss ${Math.round(policy.risk_loss * 100)}%`;
  if (a.probe.rtt_ms !== null && a.probe.rtt_ms >= policy.risk_rtt_ms) return `${a.name} RTT ${Math.round(a.probe.rtt_ms)} ms at or above risk_rtt_ms ${policy.risk_rtt_ms} ms`;
  if (a.probe.failing) return `${a.name} probes unanswered`;
  return null;
}

/** The risk has passed: no risk, and a Wi-Fi's signal at risk_signal + hysteresis_db or above (no flapping around it). */
function clearOf(a: UplinkView, policy: Policy): boolean {
  if (riskOf(a, policy) !== null) return false;
  return !(a.kind === 'wifi' && a.signal !== null && a.signal < policy.risk_signal + policy.hysteresis_db);
}

/**
 * A standby that can carry copies: usable (ready, carrier, addressed, probes answered, not held down) and Wi-Fi. LTE
 * carries no copies (2026-12: its copies' bytes are not counted against lte_budget yet, so it is never used for them).
 */
export function canCarryCopies(u: UplinkView, policy: Policy, now: number): boolean {
  return u.kind === 'wifi' && isUsable(u, policy, now);
}

/**
 * The redundancy wanted now. Modes: off (never), always (while a standby can carry copies), risk (from the moment the
 * active is at risk until it has been clear for risk_off_ms, and at least risk_off_ms once on). The standby: the one
 * already carrying copies while it can, else the strongest that can.
 */
export function chooseRedundancy(snapshot: Pick<ArbiterSnapshot, 'uplinks' | 'active'>, policy: Policy, now: number, prev: RedundancyMemory = NO_REDUNDANCY): RedundancyDecision {
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
    const risk = riskOf(active, policy);
    if (risk !== null) {
      since ??= now;
      why = risk;
    } else if (since !== null && !clearOf(active, policy)) {
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
  const kept = standbys.find((u) => u.name === prev.via);
  const best = kept ?? [...standbys].sort((a, b) => (b.signal ?? -Infinity) - (a.signal ?? -Infinity) || (a.name < b.name ? -1 : 1))[0];
  const memory: RedundancyMemory = { via: best?.name ?? null, since, clearSince };
  return best ? { via: best.name, why: `${why}: copies through ${best.name}`, memory } : { via: null, why: `${why}: no standby can carry copies`, memory };
}
