// From the arbiter's SwitchRecord to the switch event the journal keeps, HQ stores and the agent logs (pure): one record of what the decision saw.
import type { SwitchRecord } from '../machines/arbiter.machine.js';
import type { WhyCandidate, WhyRecord } from '../../shared/wire/switch-event.js';
import type { NewSwitchEvent } from './journal.js';

export interface EventContext {
  vehicle: string;
  /** The site the vehicle is at (matched from the AP in use), when the record does not say. */
  site: string | null;
  /** The timeline of the arbiter's monotonic clock (shared/clock.ts): with decided_mono, what HQ corrects `at` by. */
  timeline?: string;
}

const finite = (x: number | null | undefined, min = -Infinity, max = Infinity): number | null =>
  typeof x === 'number' && Number.isFinite(x) && x >= min && x <= max ? x : null;
const round = (x: number | null, digits = 2): number | null => (x === null ? null : Math.round(x * 10 ** digits) / 10 ** digits);

/** The why as it is journaled and shipped: the decision's rule and line, its site and thresholds, every candidate as it saw them. */
export function whyRecordOf(r: SwitchRecord, site: string | null): WhyRecord | null {
  if (!r.why) return null;
  const seen = new Map(r.candidates.map((c) => [c.name, c]));
  const candidates = r.why.candidates.map((w): WhyCandidate => {
    const s = seen.get(w.name);
    return {
      name: w.name, kind: s?.kind ?? w.kind, phase: s?.phase ?? w.state, state: w.state,
      signal: finite(w.signal, -150, 0), rtt_ms: round(finite(w.rtt_ms, 0, 600_000)), loss: round(finite(w.loss, 0, 1), 4),
      ready: w.ready, carrier: w.carrier, active: w.active, usable: w.usable,
      ap: w.ssid !== undefined && w.bssid !== undefined ? { ssid: w.ssid, bssid: w.bssid } : (s?.ap ?? null),
    };
  });
  return { rule: r.why.rule, text: r.why.text.slice(0, 1000), operator: r.operator ?? false, site, policy: r.policy ?? null, candidates };
}

export function switchEventFrom(r: SwitchRecord, c: EventContext): NewSwitchEvent {
  const site = r.site ?? c.site;
  const why = whyRecordOf(r, site);
  return {
    id: r.id,
    vehicle: c.vehicle,
    at: new Date(r.decided_at).toISOString(),
    ...(c.timeline !== undefined && r.decided_mono !== undefined ? { mono: { timeline: c.timeline, ms: Math.max(0, Math.round(r.decided_mono * 1000) / 1000) } } : {}),
    from: r.from,
    to: r.to,
    reason: r.reason,
    why,
    ms_to_first_packet: finite(r.ms_to_first_packet, 0, 600_000),
    gap_ms: null,
    site,
    // The shorter form, from the same readings (older readers).
    candidates: why
      ? why.candidates.map((u) => ({ name: u.name, phase: u.phase, ready: u.ready, signal: u.signal, rtt_ms: u.rtt_ms, loss: u.loss, score: null }))
      : r.candidates.map((u) => ({ name: u.name, phase: u.phase, ready: u.ready, signal: finite(u.signal, -150, 0), rtt_ms: finite(u.rttMs, 0, 600_000), loss: finite(u.loss, 0, 1), score: null })),
  };
}
